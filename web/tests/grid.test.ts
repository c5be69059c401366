import { describe, expect, it } from "vitest";
import { grid, stampText, type GridInput } from "../src/grid";

const person = (name: string, positionTitle: string) => ({ name, positionTitle });
const base: GridInput = {
  drafter: person("강개발", "사원"),
  draftedAt: "2026-12-01T00:00:00Z",
  submittedAt: "2026-12-01T01:00:00Z",
  steps: [
    { index: 0, kind: "APPROVAL", state: "CURRENT", members: [{ employeeId: "lead", employee: person("정팀장", "팀장") }] },
    {
      index: 1,
      kind: "AGREEMENT",
      state: "UPCOMING",
      members: [
        { employeeId: "fin", employee: person("임재무", "과장") },
        { employeeId: "ops", employee: person("오운영", "대리") },
      ],
    },
    { index: 2, kind: "APPROVAL", state: "UPCOMING", members: [{ employeeId: "head", employee: person("최개발", "본부장") }] },
  ],
  timeline: [
    { action: "approval.drafted", actorId: "kang", at: "2026-12-01T00:00:00Z" },
    { action: "approval.submitted", actorId: "kang", at: "2026-12-01T01:00:00Z" },
  ],
};

describe("결재란", () => {
  it("puts the drafter first, then each 결재 seat; 합의 seats go to their own row", () => {
    const { approvals, agreements } = grid(base);
    expect(approvals.map((s) => [s.title, s.name, s.state])).toEqual([
      ["사원", "강개발", "drafted"],
      ["팀장", "정팀장", "current"],
      ["본부장", "최개발", "waiting"],
    ]);
    expect(agreements.map((s) => [s.name, s.state])).toEqual([
      ["임재무", "waiting"],
      ["오운영", "waiting"],
    ]);
    expect(approvals[0].at).toBe("2026-12-01T01:00:00Z");
  });

  it("stamps a decided seat with its date, marks 전결, and strikes the seats it passed over", () => {
    const doc: GridInput = {
      ...base,
      steps: [
        {
          ...base.steps[0],
          state: "DONE",
          members: [
            {
              employeeId: "lead",
              employee: person("정팀장", "팀장"),
              decision: { verdict: "AGREE", proxy: false, finalAuthority: true, at: "2026-12-02T00:00:00Z" },
            },
          ],
        },
        { ...base.steps[1], state: "SKIPPED" },
        { ...base.steps[2], state: "SKIPPED" },
      ],
    };
    const { approvals, agreements } = grid(doc);
    expect(approvals[1]).toMatchObject({ state: "approved", mark: "전결", at: "2026-12-02T00:00:00Z" });
    expect(stampText(approvals[1])).toBe("정팀장");
    expect(approvals[2].state).toBe("skipped");
    expect(agreements.every((s) => s.state === "skipped")).toBe(true);
  });

  it("writes 대결 and the proxy's name in the seat a proxy decided", () => {
    const doc: GridInput = {
      ...base,
      steps: [
        {
          ...base.steps[0],
          state: "DONE",
          members: [
            {
              employeeId: "lead",
              employee: person("정팀장", "팀장"),
              decision: { verdict: "AGREE", proxy: true, finalAuthority: false, at: "2026-12-02T00:00:00Z", by: { name: "윤개발" } },
            },
          ],
        },
      ],
    };
    const seat = grid(doc).approvals[1];
    expect(seat).toMatchObject({ mark: "대결", proxy: "윤개발", name: "정팀장" });
    expect(stampText(seat)).toBe("윤개발");
  });

  it("stamps 반려 in the rejecting seat of this round only; a resubmission clears it", () => {
    const rejectedRound: GridInput = {
      ...base,
      steps: base.steps.map((s) => ({ ...s, state: "NOT_REACHED" as const })),
      timeline: [...base.timeline, { action: "approval.rejected", actorId: "lead", at: "2026-12-02T00:00:00Z" }],
    };
    const seat = grid(rejectedRound).approvals[1];
    expect(seat).toMatchObject({ state: "rejected", at: "2026-12-02T00:00:00Z" });
    expect(stampText(seat)).toBe("반려");
    expect(grid(rejectedRound).approvals[2].state).toBe("notReached");
    const resubmitted: GridInput = {
      ...base,
      timeline: [...rejectedRound.timeline, { action: "approval.resubmitted", actorId: "kang", at: "2026-12-03T00:00:00Z" }],
    };
    expect(grid(resubmitted).approvals[1].state).toBe("current");
  });

  it("says 반대 for an agreement seat that disagreed", () => {
    const doc: GridInput = {
      ...base,
      steps: [
        base.steps[0],
        {
          ...base.steps[1],
          members: [
            {
              employeeId: "fin",
              employee: person("임재무", "과장"),
              decision: { verdict: "DISAGREE", proxy: false, finalAuthority: false, at: "2026-12-02T00:00:00Z" },
            },
          ],
        },
      ],
    };
    const seat = grid(doc).agreements[0];
    expect(seat.state).toBe("disagreed");
    expect(stampText(seat)).toBe("반대");
  });
});
