// HR's employee screen: pick someone, change one thing at the version shown, read the
// server's refusal in the status line.
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Provider, type Client } from "urql";
import { fromValue } from "wonka";
import { People } from "../src/pages/admin/People";
import type { HrDepartment, HrEmployee } from "../src/pages/admin/Manage";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const session = { token: "t0k", employeeId: "hr", name: "이인사" };
const schedule = { start: "09:00", end: "18:00", breakMinutes: 60, coreStart: null, coreEnd: null, workDays: ["mon", "tue", "wed", "thu", "fri"] };
const departments: HrDepartment[] = [
  { departmentId: "fin", name: "재무팀", code: "FIN", closed: false, version: 2, parent: null, head: null, hasOwnSchedule: false, schedule },
  { departmentId: "sales", name: "영업팀", code: "SALES", closed: false, version: 2, parent: null, head: null, hasOwnSchedule: false, schedule },
];
const lim: HrEmployee = {
  employeeId: "e1",
  name: "임재무",
  email: "lim@demo.erp",
  positionTitle: "사원",
  rank: 2,
  roles: ["employee"],
  active: true,
  version: 4,
  department: { departmentId: "fin", name: "재무팀" },
  manager: null,
};
// The hire-date form reads the leave entitlement; the client answers at once.
const client = {
  executeQuery: () => fromValue({ data: { leaveEntitlement: { employeeId: "e1", hireDate: null } } }),
} as unknown as Client;

function show(people: HrEmployee[], onDone = () => {}) {
  render(
    <Provider value={client}>
      <People session={session} people={people} departments={departments} onDone={onDone} />
    </Provider>,
  );
  fireEvent.change(screen.getByTestId("people-pick"), { target: { value: people[0].employeeId } });
}

describe("People", () => {
  it("transfers the picked employee by PUT at the version shown", async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify({ version: 5, position: "employee:0:9" })));
    vi.stubGlobal("fetch", fetch);
    const onDone = vi.fn();
    show([lim], onDone);
    expect(screen.getByTestId("people-department").textContent).toBe("재무팀");
    fireEvent.change(screen.getByTestId("people-transfer-department"), { target: { value: "sales" } });
    fireEvent.click(screen.getByTestId("people-transfer"));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/api/employees/e1/department");
    expect(init?.method).toBe("PUT");
    expect(new Headers(init?.headers).get("if-match")).toBe('"4"');
    expect(JSON.parse(String(init?.body))).toEqual({ department: "sales" });
    expect(screen.getByRole("status").textContent).toBe("처리되었습니다");
  });

  it("shows the server's refusal and does not refresh", async () => {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ code: "conflict", detail: "stale version" }), { status: 409 }));
    const onDone = vi.fn();
    show([lim], onDone);
    fireEvent.change(screen.getByTestId("people-position-title"), { target: { value: "대리" } });
    fireEvent.click(screen.getByTestId("people-position-save"));
    await waitFor(() => expect(screen.getByRole("status").textContent).toBe("실패: stale version"));
    expect(onDone).not.toHaveBeenCalled();
  });

  it("deactivates only after a second click, and offers no changes to someone deactivated", async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify({ version: 5 })));
    vi.stubGlobal("fetch", fetch);
    show([lim]);
    fireEvent.click(screen.getByTestId("people-deactivate"));
    expect(fetch).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId("people-deactivate-confirm"));
    await waitFor(() => expect(fetch).toHaveBeenCalledWith("/api/employees/e1/deactivate", expect.objectContaining({ method: "POST" })));
    cleanup();
    show([{ ...lim, active: false }]);
    expect(screen.getByTestId("people-status").textContent).toBe("비활성");
    expect(screen.queryByTestId("people-transfer")).toBeNull();
    expect(screen.queryByTestId("people-deactivate")).toBeNull();
  });
});
