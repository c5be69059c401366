import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Login } from "../src/pages/Login";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Login", () => {
  it("lists the demo users and logs in as the one clicked", async () => {
    const users = [{ id: "u1", name: "강개발", position: "사원", department: "플랫폼팀", roles: ["employee"] }];
    const fetch = vi.fn(async (url: string) =>
      url === "/auth/dev-users"
        ? new Response(JSON.stringify(users))
        : new Response(JSON.stringify({ token: "t0k" })),
    );
    vi.stubGlobal("fetch", fetch);
    const onLogin = vi.fn();
    render(<Login onLogin={onLogin} onLang={() => {}} />);
    const button = await screen.findByTestId("login-u1");
    expect(button.textContent).toContain("강개발");
    fireEvent.click(button);
    await waitFor(() => expect(onLogin).toHaveBeenCalledWith({ token: "t0k", employeeId: "u1", name: "강개발" }));
    expect(fetch).toHaveBeenCalledWith("/auth/dev-login", expect.objectContaining({ method: "POST" }));
  });
});
