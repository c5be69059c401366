// The attendance page shows times and days in the company's zone (KST), whatever the
// browser's own zone.
import { describe, expect, it } from "vitest";
import { kstDate, kstTime } from "../src/pages/Attendance";

describe("attendance times", () => {
  it("a UTC evening is the next morning's date in KST", () => {
    expect(kstDate(new Date("2026-03-02T23:55:00Z"))).toBe("2026-03-03");
    expect(kstDate(new Date("2026-03-03T14:59:00Z"))).toBe("2026-03-03");
    expect(kstDate(new Date("2026-03-03T15:00:00Z"))).toBe("2026-03-04");
  });

  it("a check-in time reads as KST hours and minutes", () => {
    expect(kstTime("2026-03-03T00:10:00+00:00")).toBe("09:10");
    expect(kstTime("2026-03-03T13:30:00Z")).toBe("22:30");
    expect(kstTime(null)).toBe("");
  });
});
