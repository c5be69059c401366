// Department work schedules: the form's strings to the command's body and back, the summary
// line, whose schedule a department follows, and HR's form sending it (or null) by PUT.
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Departments } from "../src/pages/admin/Departments";
import { inheritedFrom, scheduleBody, scheduleForm, scheduleSource, scheduleText, workDaysText } from "../src/pages/admin/Schedule";
import type { HrDepartment } from "../src/pages/admin/Manage";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const weekdays = ["mon", "tue", "wed", "thu", "fri"];
const standard = { start: "09:00", end: "18:00", breakMinutes: 60, coreStart: null, coreEnd: null, workDays: weekdays };
const flexible = { start: "10:00", end: "19:00", breakMinutes: 60, coreStart: "11:00", coreEnd: "16:00", workDays: weekdays };

const dept = (departmentId: string, parent: string | null, own: boolean, schedule = own ? flexible : standard): HrDepartment => ({
  departmentId,
  name: departmentId.toUpperCase(),
  code: departmentId,
  closed: false,
  version: 3,
  parent: parent ? { departmentId: parent, name: parent.toUpperCase() } : null,
  head: null,
  hasOwnSchedule: own,
  schedule,
});

describe("schedule form", () => {
  it("round-trips a schedule through the form into the command body", () => {
    expect(scheduleBody(scheduleForm(flexible))).toEqual({
      start: "10:00",
      end: "19:00",
      break_minutes: 60,
      core_start: "11:00",
      core_end: "16:00",
      work_days: weekdays,
    });
  });

  it("sends no core hours for empty core inputs, and the days in week order", () => {
    const form = { ...scheduleForm(standard), breakMinutes: " 30 ", workDays: ["sat", "mon", "wed"] };
    expect(scheduleBody(form)).toEqual({
      start: "09:00",
      end: "18:00",
      break_minutes: 30,
      core_start: null,
      core_end: null,
      work_days: ["mon", "wed", "sat"],
    });
  });

  it("has no body while a time or the break is missing", () => {
    expect(scheduleBody({ ...scheduleForm(standard), start: "" })).toBeNull();
    expect(scheduleBody({ ...scheduleForm(standard), breakMinutes: "" })).toBeNull();
    expect(scheduleBody({ ...scheduleForm(standard), breakMinutes: "-5" })).toBeNull();
  });
});

describe("schedule text", () => {
  it("reads as one line in either language", () => {
    expect(scheduleText(flexible, "ko")).toBe("10:00–19:00 · 휴게 60분 · 코어 11:00–16:00 · 월–금");
    expect(scheduleText(standard, "en")).toBe("09:00–18:00 · break 60 min · Mon–Fri");
  });

  it("spans runs of three days or more and lists the rest", () => {
    expect(workDaysText(["mon", "wed", "fri"], "ko")).toBe("월·수·금");
    expect(workDaysText(["sun", "mon", "tue", "wed", "sat"], "en")).toBe("Mon–Wed, Sat, Sun");
    expect(workDaysText(["sat", "sun"], "ko")).toBe("토·일");
  });
});

describe("whose schedule", () => {
  const hq = dept("hq", null, true);
  const mid = dept("mid", "hq", false, flexible);
  const team = dept("team", "mid", false, flexible);
  const alone = dept("alone", null, false);
  const all = [hq, mid, team, alone];

  it("is its own, the nearest ancestor's that sets one, or the standard day", () => {
    expect(inheritedFrom(team, all)).toBe(hq);
    expect(inheritedFrom(hq, all)).toBeNull();
    expect(scheduleSource(hq, all, "ko")).toBe("부서 자체 일정");
    expect(scheduleSource(team, all, "ko")).toBe("상위 부서 일정 (HQ)");
    expect(scheduleSource(alone, all, "en")).toBe("standard day");
  });

  it("does not loop on a cycle", () => {
    const a = dept("a", "b", false);
    const b = dept("b", "a", false);
    expect(inheritedFrom(a, [a, b])).toBeNull();
  });
});

describe("the schedule form on the departments screen", () => {
  const show = (departments: HrDepartment[], pick: string, onDone = () => {}) => {
    render(<Departments session={{ token: "t0k", employeeId: "hr", name: "이인사" }} people={[]} departments={departments} onDone={onDone} />);
    fireEvent.change(screen.getByTestId("dept-pick"), { target: { value: pick } });
  };

  it("shows the effective schedule and PUTs an edited one at the version shown", async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify({ version: 4 })));
    vi.stubGlobal("fetch", fetch);
    const onDone = vi.fn();
    show([dept("hq", null, true), dept("team", "hq", false, flexible)], "team", onDone);
    expect(screen.getByTestId("dept-schedule").textContent).toBe("근무 일정: 10:00–19:00 · 휴게 60분 · 코어 11:00–16:00 · 월–금 (상위 부서 일정 (HQ))");
    expect(screen.getByTestId("dept-schedule-reset")).toHaveProperty("disabled", true);
    fireEvent.change(screen.getByLabelText("종료 시각"), { target: { value: "18:30" } });
    fireEvent.change(screen.getByLabelText("코어 시작"), { target: { value: "" } });
    fireEvent.change(screen.getByLabelText("코어 종료"), { target: { value: "" } });
    fireEvent.click(screen.getByLabelText("금"));
    fireEvent.click(screen.getByTestId("dept-schedule-save"));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/api/departments/team/schedule");
    expect(init?.method).toBe("PUT");
    expect(new Headers(init?.headers).get("if-match")).toBe('"3"');
    expect(JSON.parse(String(init?.body))).toEqual({
      schedule: { start: "10:00", end: "18:30", break_minutes: 60, core_start: null, core_end: null, work_days: ["mon", "tue", "wed", "thu"] },
    });
  });

  it("returns its own schedule to the standard day with null, and shows a refusal", async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) =>
      new Response(JSON.stringify({ code: "not_hr_admin", detail: "HR admins only" }), { status: 403 }),
    );
    vi.stubGlobal("fetch", fetch);
    show([dept("hq", null, true)], "hq");
    expect(screen.getByTestId("dept-schedule-save")).toHaveProperty("disabled", true);
    fireEvent.click(screen.getByText("표준 근무로 되돌리기"));
    await waitFor(() => expect(screen.getByRole("status").textContent).toBe("실패: HR admins only"));
    expect(JSON.parse(String(fetch.mock.calls[0][1]?.body))).toEqual({ schedule: null });
  });
});
