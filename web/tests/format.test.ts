import { describe, expect, it } from "vitest";
import { actionsFor, addApprover, addCc, bodyForCommand, instants, lineForResubmit, proxySeats, removeStep } from "../src/format";
import { fieldValue } from "../src/pages/Compose";
import { boxLabels, dictionaries, statusLabels } from "../src/i18n";

const me = "me";
const step = (state: string, members: { employeeId: string; decision?: object | null }[], finalAuthority = false) =>
  ({ state, finalAuthority, members }) as never;

describe("actionsFor", () => {
  it("offers decisions only to the current approver who has not decided", () => {
    const doc = { status: "IN_PROGRESS", drafterId: "d", steps: [step("CURRENT", [{ employeeId: me }], true)] };
    expect(actionsFor(doc, me)).toEqual(["approve", "reject", "approveFinal", "hold", "comment"]);
    expect(actionsFor(doc, "other")).toEqual(["comment"]);
  });

  it("lets the drafter withdraw before anyone acted, not after", () => {
    const untouched = { status: "IN_PROGRESS", drafterId: me, steps: [step("CURRENT", [{ employeeId: "a" }])] };
    expect(actionsFor(untouched, me)).toContain("withdraw");
    const decided = { status: "IN_PROGRESS", drafterId: me, steps: [step("DONE", [{ employeeId: "a", decision: {} }]), step("CURRENT", [{ employeeId: "b" }])] };
    expect(actionsFor(decided, me)).not.toContain("withdraw");
  });

  it("lets an approver cancel their approval while the document is in progress", () => {
    const doc = { status: "IN_PROGRESS", drafterId: "d", steps: [step("DONE", [{ employeeId: me, decision: {} }]), step("CURRENT", [{ employeeId: "b" }])] };
    expect(actionsFor(doc, me)).toEqual(["cancelApproval", "comment"]);
  });

  it("offers release instead of hold on a held document, nothing on a finished one but comments", () => {
    const held = { status: "ON_HOLD", drafterId: "d", steps: [step("CURRENT", [{ employeeId: me }])] };
    expect(actionsFor(held, me)).toContain("release");
    const done = { status: "APPROVED", drafterId: me, steps: [step("DONE", [{ employeeId: "a", decision: {} }])] };
    expect(actionsFor(done, me)).toEqual(["comment"]);
  });
});

describe("resubmit", () => {
  it("is the drafter's on a rejected or withdrawn document, with the stored body as the API takes it", () => {
    const rejected = { status: "REJECTED", drafterId: me, steps: [step("NOT_REACHED", [{ employeeId: "a", decision: {} }])] };
    expect(actionsFor(rejected, me)).toContain("resubmit");
    expect(actionsFor(rejected, "a")).not.toContain("resubmit");
    expect(bodyForCommand({ content: { type: "text", value: "본문" }, period: { type: "date_range", value: { start: "a", end: "b" } } })).toEqual({
      content: "본문",
      period: { start: "a", end: "b" },
    });
  });

  it("sends the line again without the 전결권 the last revision was granted", () => {
    const granted = {
      steps: [
        { kind: "approval" as const, approver: "a", final_authority: true },
        { kind: "agreement" as const, members: ["b"], quorum: { type: "all" } },
      ],
      cc: ["c"],
      receivers: [],
    };
    expect(lineForResubmit(granted)).toEqual({
      steps: [{ kind: "approval", approver: "a" }, { kind: "agreement", members: ["b"], quorum: { type: "all" } }],
      cc: ["c"],
      receivers: [],
    });
  });
});

describe("proxySeats", () => {
  it("offers 대결 only for an undecided seat of the current step held by a principal who named me", () => {
    const steps = [step("DONE", [{ employeeId: "a", decision: {} }]), step("CURRENT", [{ employeeId: "b" }, { employeeId: "c", decision: {} }])];
    const delegations = [
      { delegationId: "d1", principalId: "a" },
      { delegationId: "d2", principalId: "b" },
      { delegationId: "d3", principalId: "c" },
    ];
    expect(proxySeats(steps, delegations)).toEqual([{ delegationId: "d2", principalId: "b" }]);
    expect(proxySeats([step("DONE", [{ employeeId: "b" }])], delegations)).toEqual([]);
  });
});

describe("instants", () => {
  it("lists each moment once, oldest first", () => {
    expect(instants([{ at: "2026-01-02" }, { at: "2026-01-01" }, { at: "2026-01-02" }])).toEqual(["2026-01-01", "2026-01-02"]);
  });
});

describe("fieldValue", () => {
  it("shapes date ranges and line items as the command API takes them", () => {
    expect(fieldValue("date_range", "2026-12-01 ~ 2026-12-03")).toEqual({ start: "2026-12-01", end: "2026-12-03" });
    expect(fieldValue("line_items", "모니터, 2, 300000\n\n키보드,1,50000")).toEqual([
      { description: "모니터", quantity: "2", unit_price: "300000" },
      { description: "키보드", quantity: "1", unit_price: "50000" },
    ]);
    expect(fieldValue("text", "본문")).toBe("본문");
  });
});

describe("i18n", () => {
  it("names every box and status in both languages", () => {
    expect(Object.keys(boxLabels.en).sort()).toEqual(Object.keys(boxLabels.ko).sort());
    expect(Object.keys(statusLabels.en).sort()).toEqual(Object.keys(statusLabels.ko).sort());
    expect(Object.keys(dictionaries.en).sort()).toEqual(Object.keys(dictionaries.ko).sort());
  });
});

describe("line editing", () => {
  const base = { steps: [{ kind: "approval" as const, approver: "lead" }], cc: [], receivers: [] };
  it("adds approvers once, and cc only for people not deciding", () => {
    const two = addApprover(base, "head");
    expect(two.steps.map((s) => (s.kind === "approval" ? s.approver : ""))).toEqual(["lead", "head"]);
    expect(addApprover(two, "lead")).toBe(two);
    expect(addCc(two, "head")).toBe(two);
    expect(addCc(two, "finance").cc).toEqual(["finance"]);
    expect(addApprover(addCc(two, "finance"), "finance").cc).toEqual([]);
  });
  it("removes a step", () => {
    expect(removeStep(addApprover(base, "head"), 0).steps).toEqual([{ kind: "approval", approver: "head" }]);
  });
});
