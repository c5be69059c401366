import { describe, expect, it } from "vitest";
import { calendarRows, monthDays } from "../src/pages/attendance/Calendar";

describe("the team leave calendar", () => {
  it("has every day of the month, leap years included", () => {
    expect(monthDays("2026-02")).toHaveLength(28);
    expect(monthDays("2028-02")).toHaveLength(29);
    expect(monthDays("2026-03")[30]).toBe("2026-03-31");
  });

  it("marks each member's days on leave, an approved request over a pending one, and clips to the month", () => {
    const days = monthDays("2026-03");
    const rows = calendarRows(days, [
      { employeeId: "a", employeeName: "김", start: "2026-03-10", end: "2026-03-11", state: "PENDING" },
      { employeeId: "a", employeeName: "김", start: "2026-03-11", end: "2026-03-11", state: "APPROVED" },
      { employeeId: "e", employeeName: "윤", start: "2026-03-30", end: "2026-04-02", state: "APPROVED" },
    ]);
    expect(rows.map((r) => r.name)).toEqual(["김", "윤"]);
    expect(rows[0].cells.slice(8, 12)).toEqual([null, "PENDING", "APPROVED", null]);
    expect(rows[1].cells.filter(Boolean)).toHaveLength(2);
  });
});
