import { describe, expect, it } from "vitest";
import { signedInFrom } from "../src/api";

const fragment = "#/signed-in?token=a.b.c&id=00000000-0000-7000-8000-000000000106&name=%EA%B0%95%EA%B0%9C%EB%B0%9C&app=tab-value-0123456789";

describe("back from the identity provider", () => {
  it("takes the session from the fragment when it carries this tab's value, decoding the name", () => {
    expect(signedInFrom(fragment, "tab-value-0123456789")).toEqual({
      token: "a.b.c",
      employeeId: "00000000-0000-7000-8000-000000000106",
      name: "강개발",
    });
  });

  it("refuses a fragment this tab did not ask for: another value, none kept, or no token", () => {
    expect(signedInFrom(fragment, "another-tab-value-0000")).toBeNull();
    expect(signedInFrom(fragment, null)).toBeNull();
    expect(signedInFrom("#/signed-in?id=x&name=y&app=tab-value-0123456789", "tab-value-0123456789")).toBeNull();
    expect(signedInFrom("#/inbox/PENDING", "tab-value-0123456789")).toBeNull();
  });
});
