// Pure helpers the screens share (and the unit tests check).
import type { ApprovalStep, StepState } from "./gql/schema";

/** Which actions the viewer may offer on a document right now (the server decides anyway). */
export function actionsFor(
  doc: { status: string; drafterId: string; steps: Pick<ApprovalStep, "state" | "finalAuthority" | "members">[] },
  me: string,
): string[] {
  const current = doc.steps.find((s) => s.state === ("CURRENT" as StepState));
  const mine = current?.members.find((m) => m.employeeId === me && !m.decision);
  const out: string[] = [];
  if ((doc.status === "IN_PROGRESS" || doc.status === "ON_HOLD") && mine) {
    out.push("approve", "reject");
    if (current?.finalAuthority) out.push("approveFinal");
    out.push(doc.status === "ON_HOLD" ? "release" : "hold");
  }
  const decidedByMe = doc.steps.some((s) => s.members.some((m) => m.employeeId === me && m.decision));
  if (doc.status === "IN_PROGRESS" && decidedByMe) out.push("cancelApproval");
  const anyDecision = doc.steps.some((s) => s.members.some((m) => m.decision));
  if (doc.status === "IN_PROGRESS" && doc.drafterId === me && !anyDecision) out.push("withdraw");
  if ((doc.status === "REJECTED" || doc.status === "WITHDRAWN") && doc.drafterId === me) out.push("resubmit");
  if (doc.status !== "DRAFT" && doc.status !== "DISCARDED") out.push("comment");
  return out;
}

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

/** A stored body (`{key: {type, value}}`) as the command API takes it (`{key: value}`). */
export function bodyForCommand(body: Record<string, { value?: unknown } | unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, v && typeof v === "object" && "value" in v ? (v as { value: unknown }).value : v]),
  );
}

/** Seats of the current step the viewer may take as proxy (대결): undecided seats whose holder
 * named the viewer in a delegation that is open now. */
export function proxySeats(
  steps: Pick<ApprovalStep, "state" | "members">[],
  delegations: { delegationId: string; principalId: string }[],
): { delegationId: string; principalId: string }[] {
  const current = steps.find((s) => s.state === ("CURRENT" as StepState));
  if (!current) return [];
  return delegations.filter((d) => current.members.some((m) => m.employeeId === d.principalId && !m.decision));
}

/** The approval line as the command API takes it (`ApprovalLine` of the domain). */
export type LineStep =
  | { kind: "approval"; approver: string; final_authority?: boolean }
  | { kind: "agreement"; members: string[]; quorum: unknown };
export type Line = { steps: LineStep[]; cc: string[]; receivers: string[] };

/** A document's line as the drafter sends it again (재상신): 전결권 is the company's rules'
 * to grant at 상신, so the flag the last revision was granted is left out. */
export function lineForResubmit(line: Line): Line {
  return {
    ...line,
    steps: line.steps.map((s) => (s.kind === "approval" ? { kind: "approval", approver: s.approver } : s)),
  };
}

/** Members of a step, in order. */
export function stepMembers(step: LineStep): string[] {
  return step.kind === "approval" ? [step.approver] : step.members;
}

/** Adds `who` as the last 결재 step, unless already on the line (a person decides once). */
export function addApprover(line: Line, who: string): Line {
  if (line.steps.some((s) => stepMembers(s).includes(who))) return line;
  return { ...line, steps: [...line.steps, { kind: "approval", approver: who }], cc: line.cc.filter((c) => c !== who) };
}

export function removeStep(line: Line, index: number): Line {
  return { ...line, steps: line.steps.filter((_, i) => i !== index) };
}

/** Adds `who` to 참조 unless they already decide on the line or are cc'd. */
export function addCc(line: Line, who: string): Line {
  if (line.cc.includes(who) || line.steps.some((s) => stepMembers(s).includes(who))) return line;
  return { ...line, cc: [...line.cc, who] };
}
