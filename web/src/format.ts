// Pure helpers the screens share (and the unit tests check): times, and the conversions
// between what the query API shows (typed GraphQL objects) and what the command API takes
// (its OpenAPI request bodies). Which actions a viewer may take is not decided here: the
// query API serves it (`viewerActions`, `proxyActions`), computed by the domain.
import type { Schema } from "./api";
import { graphql } from "./gql";
import type { FieldType, FieldValuePartsFragment, LinePartsFragment, NotificationKind } from "./gql/graphql";

/** The approval line as the command API takes it. */
export type Line = Schema<"LineDto">;
export type LineStep = Schema<"StepDto">;

/** The instants of a timeline, oldest first, for the "as of" slider. */
export function instants(timeline: { at: string }[]): string[] {
  return [...new Set(timeline.map((t) => t.at))].sort();
}

/** `2026-11-26T09:05:00+00:00` → `2026-11-26 18:05` in the viewer's zone. */
export function shortTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A field value as the query API shows it (the `FieldValue` union). */
export const FieldValueFragment = graphql(`
  fragment FieldValueParts on FieldValue {
    __typename
    ... on TextValue { text }
    ... on NumberValue { number }
    ... on MoneyValue { amount }
    ... on DateValue { date }
    ... on DateRangeValue { start end }
    ... on SelectValue { option }
    ... on LineItemsValue { items { description quantity unitPrice } }
  }
`);
type ShownValue = FieldValuePartsFragment;

/** A body field's value as the command API takes it (`ContentDto.body`). */
export type CommandValue = string | { start: string; end: string } | { description: string; quantity: string; unit_price: string }[];

export function valueForCommand(value: ShownValue): CommandValue {
  switch (value.__typename) {
    case "TextValue":
      return value.text;
    case "NumberValue":
      return value.number;
    case "MoneyValue":
      return value.amount;
    case "DateValue":
      return value.date;
    case "DateRangeValue":
      return { start: value.start, end: value.end };
    case "SelectValue":
      return value.option;
    case "LineItemsValue":
      return value.items.map((i) => ({ description: i.description, quantity: i.quantity, unit_price: i.unitPrice }));
  }
}

/** A body as the command API takes it (`{key: value}`), from the fields the query API shows. */
export function bodyForCommand(body: { key: string; value: ShownValue }[]): Record<string, CommandValue> {
  return Object.fromEntries(body.map((f) => [f.key, valueForCommand(f.value)]));
}

/** A field value as the document shows it. */
export function valueText(value: ShownValue): string {
  switch (value.__typename) {
    case "TextValue":
      return value.text;
    case "NumberValue":
      return value.number;
    case "MoneyValue":
      return Number(value.amount).toLocaleString();
    case "DateValue":
      return value.date;
    case "DateRangeValue":
      return `${value.start} ~ ${value.end}`;
    case "SelectValue":
      return value.option;
    case "LineItemsValue":
      return value.items.map((i) => `${i.description} × ${i.quantity} @ ${i.unitPrice}`).join(", ");
  }
}

/** A line as the query API shows it (the `ApprovalLine` object). */
export const LineFragment = graphql(`
  fragment LineParts on ApprovalLine {
    steps {
      __typename
      ... on LineApproval { approverId }
      ... on LineAgreement { memberIds quorum }
    }
    ccIds
    receiverIds
  }
`);
type ShownLine = LinePartsFragment;

/** A line as the command API takes it. 전결권 is left out: the company's rules grant it at
 * 상신, so a suggested line or the last revision's grant is not sent back (재상신). */
export function lineForCommand(line: ShownLine): Line {
  return {
    steps: line.steps.map((s): LineStep =>
      s.__typename === "LineApproval"
        ? { kind: "approval", approver: s.approverId }
        : {
            kind: "agreement",
            members: s.memberIds,
            quorum: s.quorum == null ? { type: "all" } : { type: "at_least", m: s.quorum },
          },
    ),
    cc: line.ccIds,
    receivers: line.receiverIds,
  };
}

/** Members of a step, in order. */
export function stepMembers(step: LineStep): string[] {
  return step.kind === "approval" ? (step.approver ? [step.approver] : []) : (step.members ?? []);
}

/** Adds `who` as the last 결재 step, unless already on the line (a person decides once). */
export function addApprover(line: Line, who: string): Line {
  const steps = line.steps ?? [];
  if (steps.some((s) => stepMembers(s).includes(who))) return line;
  return { ...line, steps: [...steps, { kind: "approval", approver: who }], cc: (line.cc ?? []).filter((c) => c !== who) };
}

export function removeStep(line: Line, index: number): Line {
  return { ...line, steps: (line.steps ?? []).filter((_, i) => i !== index) };
}

/** Adds `who` to 참조 unless they already decide on the line or are cc'd. */
export function addCc(line: Line, who: string): Line {
  const cc = line.cc ?? [];
  if (cc.includes(who) || (line.steps ?? []).some((s) => stepMembers(s).includes(who))) return line;
  return { ...line, cc: [...cc, who] };
}

/** The value a field's input holds, as the command API takes it. */
export function fieldValue(type: FieldType, raw: string): CommandValue {
  if (type === "DATE_RANGE") {
    const [start = "", end = ""] = raw.split("~").map((s) => s.trim());
    return { start, end };
  }
  if (type === "LINE_ITEMS") {
    return raw
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => {
        const [description = "", quantity = "", unit_price = ""] = l.split(",").map((s) => s.trim());
        return { description, quantity, unit_price };
      });
  }
  return raw;
}

/** Where a notification links to: its document, or for an HR notice (no document) the page
 * that shows its subject — the quests, the leave balance (조직·휴가) or the attendance. */
export function noticeHref(notice: { kind: NotificationKind; documentId?: string | null }): string {
  switch (notice.kind) {
    case "QUEST_ACCEPTED":
    case "QUEST_SUBMITTED":
    case "QUEST_VERIFIED":
    case "QUEST_RETURNED":
    case "QUEST_CANCELLED":
      return "#/quests";
    case "LEAVE_USE_PROMOTION":
      return "#/admin";
    case "WEEKLY_HOURS_WARNING":
      return "#/attendance";
    case "APPROVAL_REQUESTED":
    case "APPROVED":
    case "CC_ADDED":
    case "COMMENTED":
    case "HELD":
    case "REJECTED":
    case "RETURNED":
    case "WITHDRAWN":
      return notice.documentId ? `#/doc/${notice.documentId}` : "#/inbox/PENDING";
  }
}

/** A file size for people: bytes, KB or MB (1024-based, one decimal). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
