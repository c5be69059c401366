// 결재란: the approval grid a Korean document carries at its top right — one box per seat,
// drafter first, each with the holder's position and name, a stamp once they decided, and the
// date. 합의 seats get a row of their own; 전결 and 대결 are written in the box that used them,
// and seats passed over by a 전결 are struck through. Worked out here from what the document
// query answers, so the view and the print view draw the same grid.

export type SeatState =
  | "drafted"
  | "approved"
  | "agreed"
  | "disagreed"
  | "rejected"
  | "current"
  | "waiting"
  | "skipped"
  | "notReached";

export type Seat = {
  key: string;
  /** 직위, or 기안 for the drafter's box when they have none. */
  title: string;
  name: string;
  state: SeatState;
  /** 전결 (decided as final) or 대결 (a proxy decided in the seat). */
  mark?: "전결" | "대결";
  /** Who stamped for the seat holder (대결). */
  proxy?: string;
  at?: string;
};

type Person = { name: string; positionTitle?: string | null } | null | undefined;

export type GridInput = {
  drafter?: Person;
  draftedAt: string;
  submittedAt?: string | null;
  steps: {
    index: number;
    kind: "APPROVAL" | "AGREEMENT";
    state: "DONE" | "CURRENT" | "UPCOMING" | "SKIPPED" | "NOT_REACHED";
    members: {
      employeeId: string;
      employee?: Person;
      decision?: {
        verdict: "AGREE" | "DISAGREE";
        proxy: boolean;
        finalAuthority: boolean;
        at: string;
        by?: { name: string } | null;
      } | null;
    }[];
  }[];
  timeline: { action: string; actorId: string; at: string }[];
};

/** The rejection of the current round, if the document was rejected in it: who and when. */
function rejection(timeline: GridInput["timeline"]): { actorId: string; at: string } | undefined {
  let found: { actorId: string; at: string } | undefined;
  for (const e of timeline) {
    if (e.action === "approval.submitted" || e.action === "approval.resubmitted") found = undefined;
    if (e.action === "approval.rejected") found = { actorId: e.actorId, at: e.at };
  }
  return found;
}

/** The 결재 row (drafter, then each 결재 step's approver) and the 합의 row. */
export function grid(doc: GridInput): { approvals: Seat[]; agreements: Seat[] } {
  const rejected = rejection(doc.timeline);
  const drafter: Seat = {
    key: "drafter",
    title: doc.drafter?.positionTitle || "기안",
    name: doc.drafter?.name ?? "",
    state: "drafted",
    at: doc.submittedAt ?? doc.draftedAt,
  };
  const approvals: Seat[] = [drafter];
  const agreements: Seat[] = [];
  for (const step of doc.steps) {
    for (const m of step.members) {
      const d = m.decision;
      let state: SeatState;
      if (d) state = step.kind === "AGREEMENT" ? (d.verdict === "AGREE" ? "agreed" : "disagreed") : "approved";
      else if (rejected && rejected.actorId === m.employeeId) state = "rejected";
      else if (step.state === "CURRENT") state = "current";
      else if (step.state === "SKIPPED") state = "skipped";
      else if (step.state === "NOT_REACHED") state = "notReached";
      else state = "waiting";
      const seat: Seat = {
        key: `${step.index}:${m.employeeId}`,
        title: m.employee?.positionTitle || "",
        name: m.employee?.name ?? "",
        state,
        at: d?.at ?? (state === "rejected" ? rejected?.at : undefined),
      };
      if (d?.finalAuthority) seat.mark = "전결";
      else if (d?.proxy) seat.mark = "대결";
      if (d?.proxy) seat.proxy = d.by?.name ?? "";
      (step.kind === "AGREEMENT" ? agreements : approvals).push(seat);
    }
  }
  return { approvals, agreements };
}

/** What a seat's stamp says: the name in a seal once decided, 반려 when rejected. */
export function stampText(seat: Seat): string | undefined {
  switch (seat.state) {
    case "drafted":
    case "approved":
    case "agreed":
      return seat.proxy || seat.name;
    case "disagreed":
      return "반대";
    case "rejected":
      return "반려";
    default:
      return undefined;
  }
}
