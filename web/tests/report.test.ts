import { describe, expect, it } from "vitest";
import { reportCsv } from "../src/pages/attendance/Report";

describe("the monthly report as CSV", () => {
  it("has a header row, quotes text (doubling quotes inside) and leaves numbers bare, CRLF line ends", () => {
    const row = {
      employeeId: "e1",
      employeeName: '김 "기안"',
      workDays: 22,
      daysPresent: 2,
      absentDays: 20,
      lateDays: 1,
      lateMinutes: 20,
      earlyLeaveDays: 0,
      earlyLeaveMinutes: 0,
      regularMinutes: 940,
      overtimeMinutes: 60,
      nightMinutes: 0,
    };
    const csv = reportCsv(["이름", "근무일"], [row]);
    expect(csv).toBe('"이름","근무일"\r\n"김 ""기안""",22,2,20,1,20,0,0,940,60,0\r\n');
  });
});
