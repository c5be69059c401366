import { describe, expect, it } from "vitest";
import { signedInFrom } from "../src/api";

describe("back from the identity provider", () => {
  it("takes the session from the fragment, decoding the name", () => {
    expect(signedInFrom("#/signed-in?token=a.b.c&id=00000000-0000-7000-8000-000000000106&name=%EA%B0%95%EA%B0%9C%EB%B0%9C")).toEqual({
      token: "a.b.c",
      employeeId: "00000000-0000-7000-8000-000000000106",
      name: "강개발",
    });
  });

  it("ignores any other fragment, and one without a token", () => {
    expect(signedInFrom("#/inbox/PENDING")).toBeNull();
    expect(signedInFrom("#/signed-in?id=x&name=y")).toBeNull();
  });
});
