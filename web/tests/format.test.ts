import { describe, expect, it } from "vitest";
import { addApprover, addCc, bodyForCommand, fieldValue, instants, lineForCommand, noticeHref, removeStep, valueText, type Line } from "../src/format";
import { boxLabels, dictionaries, noticeLabels, statusLabels } from "../src/i18n";

describe("resubmit", () => {
  it("sends the stored body back as the command API takes it", () => {
    expect(
      bodyForCommand([
        { key: "content", value: { __typename: "TextValue", text: "본문" } },
        { key: "period", value: { __typename: "DateRangeValue", start: "2026-12-01", end: "2026-12-03" } },
        { key: "amount", value: { __typename: "MoneyValue", amount: "120000" } },
        { key: "items", value: { __typename: "LineItemsValue", items: [{ description: "모니터", quantity: "2", unitPrice: "300000" }] } },
      ]),
    ).toEqual({
      content: "본문",
      period: { start: "2026-12-01", end: "2026-12-03" },
      amount: "120000",
      items: [{ description: "모니터", quantity: "2", unit_price: "300000" }],
    });
  });

  it("sends the line again without the 전결권 the last revision was granted", () => {
    expect(
      lineForCommand({
        steps: [
          { __typename: "LineApproval", approverId: "a" },
          { __typename: "LineAgreement", memberIds: ["b", "c"], quorum: null },
          { __typename: "LineAgreement", memberIds: ["d", "e"], quorum: 1 },
        ],
        ccIds: ["f"],
        receiverIds: ["g"],
      }),
    ).toEqual({
      steps: [
        { kind: "approval", approver: "a" },
        { kind: "agreement", members: ["b", "c"], quorum: { type: "all" } },
        { kind: "agreement", members: ["d", "e"], quorum: { type: "at_least", m: 1 } },
      ],
      cc: ["f"],
      receivers: ["g"],
    });
  });
});

describe("valueText", () => {
  it("shows every field type as text", () => {
    expect(valueText({ __typename: "DateRangeValue", start: "2026-12-01", end: "2026-12-03" })).toBe("2026-12-01 ~ 2026-12-03");
    expect(valueText({ __typename: "SelectValue", option: "연차" })).toBe("연차");
    expect(valueText({ __typename: "LineItemsValue", items: [{ description: "키보드", quantity: "1", unitPrice: "50000" }] })).toBe(
      "키보드 × 1 @ 50000",
    );
  });
});

describe("instants", () => {
  it("lists each moment once, oldest first", () => {
    expect(instants([{ at: "2026-01-02" }, { at: "2026-01-01" }, { at: "2026-01-02" }])).toEqual(["2026-01-01", "2026-01-02"]);
  });
});

describe("fieldValue", () => {
  it("shapes date ranges and line items as the command API takes them", () => {
    expect(fieldValue("DATE_RANGE", "2026-12-01 ~ 2026-12-03")).toEqual({ start: "2026-12-01", end: "2026-12-03" });
    expect(fieldValue("LINE_ITEMS", "모니터, 2, 300000\n\n키보드,1,50000")).toEqual([
      { description: "모니터", quantity: "2", unit_price: "300000" },
      { description: "키보드", quantity: "1", unit_price: "50000" },
    ]);
    expect(fieldValue("TEXT", "본문")).toBe("본문");
  });
});

describe("i18n", () => {
  it("names every box and status in both languages", () => {
    expect(Object.keys(boxLabels.en).sort()).toEqual(Object.keys(boxLabels.ko).sort());
    expect(Object.keys(statusLabels.en).sort()).toEqual(Object.keys(statusLabels.ko).sort());
    expect(Object.keys(dictionaries.en).sort()).toEqual(Object.keys(dictionaries.ko).sort());
    expect(Object.keys(noticeLabels.en).sort()).toEqual(Object.keys(noticeLabels.ko).sort());
  });
});

describe("line editing", () => {
  const base: Line = { steps: [{ kind: "approval", approver: "lead" }], cc: [], receivers: [] };
  it("adds approvers once, and cc only for people not deciding", () => {
    const two = addApprover(base, "head");
    expect((two.steps ?? []).map((s) => s.approver)).toEqual(["lead", "head"]);
    expect(addApprover(two, "lead")).toBe(two);
    expect(addCc(two, "head")).toBe(two);
    expect(addCc(two, "finance").cc).toEqual(["finance"]);
    expect(addApprover(addCc(two, "finance"), "finance").cc).toEqual([]);
  });
  it("removes a step", () => {
    expect(removeStep(addApprover(base, "head"), 0).steps).toEqual([{ kind: "approval", approver: "head" }]);
  });
});

describe("notification links", () => {
  it("goes to the document, or for an HR notice to the page showing its subject", () => {
    expect(noticeHref({ kind: "APPROVAL_REQUESTED", documentId: "doc-1" })).toBe("#/doc/doc-1");
    expect(noticeHref({ kind: "QUEST_SUBMITTED", documentId: null })).toBe("#/quests");
    expect(noticeHref({ kind: "LEAVE_USE_PROMOTION", documentId: null })).toBe("#/admin");
    expect(noticeHref({ kind: "WEEKLY_HOURS_WARNING", documentId: null })).toBe("#/attendance");
  });
});
