//! Process managers: pure reactions of the ERP to approval events. The runtime feeds each
//! approval event (with the document state after it) here and issues the returned commands,
//! each idempotent so that redelivery is harmless.
//!
//! - Final approval → assign a document number in the (prefix, year) sequence.
//! - Number assigned → record it on the document.
//! - Final approval of a leave document → debit the drafter's leave ledger (which consumes
//!   the hold its 상신 placed).
//! - 반려 to the drafter, 회수 or discard of a leave document → release its hold.
//! - Final approval of a 근태 정정 document → replace the drafter's work day's shifts with
//!   the one it asked for (the stamped check-ins stay in the log).
//! - A quest verified with a leave reward → accrue the reward in the employee's ledger, keyed
//!   by quest and employee so that a replayed event credits once ([`on_quest_event`]).

use crate::actor::Actor;
use crate::approval::{ApprovalCommand, ApprovalDocument, ApprovalEvent, Status};
use crate::attendance::AttendanceCommand;
use crate::form::{FormKind, FormTemplate};
use crate::leave::AccrualBasis;
use crate::leave::LeaveCommand;
use crate::numbering::{NumberCommand, NumberEvent, SequenceKey};
use crate::quest::{reward_key, Quest, QuestEvent};
use chrono::{Datelike, FixedOffset, Months};

/// A command another aggregate must receive because of an approval event.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowUp {
    Number(NumberCommand),
    Leave(LeaveCommand),
    /// A 근태 정정 document's correction, applied to the drafter's day.
    Attendance(AttendanceCommand),
}

/// The wire types of the approval events [`on_approval_event`] may answer with a follow-up:
/// a reader of the log decodes only these (every other event is answered with none).
/// [`follows_up`] says the same of a decoded event; a test holds the two together.
pub const APPROVAL_EVENTS_FOLLOWED_UP: [&str; 6] = [
    "approval.approved",
    "approval.proxy_approved",
    "approval.approved_as_final",
    "approval.rejected",
    "approval.withdrawn",
    "approval.draft_discarded",
];

/// Whether [`on_approval_event`] may answer `event` with a follow-up.
pub fn follows_up(event: &ApprovalEvent) -> bool {
    matches!(
        event,
        ApprovalEvent::Approved { .. }
            | ApprovalEvent::ProxyApproved { .. }
            | ApprovalEvent::ApprovedAsFinal { .. }
            | ApprovalEvent::Rejected { .. }
            | ApprovalEvent::Withdrawn { .. }
            | ApprovalEvent::DraftDiscarded { .. }
    )
}

/// Reactions to `event`, given the document state after it and the document's form.
/// `company_offset` is the company's time zone (KST is +09:00): the numbering year is the
/// local year of final approval.
pub fn on_approval_event(
    after: &ApprovalDocument,
    event: &ApprovalEvent,
    form: &FormTemplate,
    company_offset: FixedOffset,
) -> Vec<FollowUp> {
    if form.form_ref() != after.form {
        return Vec::new();
    }
    let ends_request = matches!(
        event,
        ApprovalEvent::Rejected { .. } | ApprovalEvent::Withdrawn { .. } | ApprovalEvent::DraftDiscarded { .. }
    ) && matches!(after.status, Status::Rejected | Status::Withdrawn | Status::Discarded);
    if ends_request && form.kind == FormKind::Leave {
        return vec![FollowUp::Leave(LeaveCommand::Release {
            employee: after.drafter,
            document: after.id,
            // A discarded draft was never submitted: its only possible hold is revision 1's.
            revision: after.revision.max(1),
            by: event.actor(),
            at: event.at(),
        })];
    }
    let completes = matches!(
        event,
        ApprovalEvent::Approved { .. } | ApprovalEvent::ProxyApproved { .. } | ApprovalEvent::ApprovedAsFinal { .. }
    ) && after.status == Status::Approved;
    if !completes {
        return Vec::new();
    }
    let at = event.at();
    let mut follow_ups = vec![FollowUp::Number(NumberCommand::Assign {
        key: SequenceKey {
            prefix: form.prefix.clone(),
            year: at.with_timezone(&company_offset).year(),
        },
        document: after.id,
        by: event.actor(),
        at,
    })];
    if let Some((day, shift)) = form.correction(&after.content.body, company_offset) {
        let reason = match after.content.body.get("reason") {
            Some(crate::form::FieldValue::Text(reason)) => reason.clone(),
            _ => after.content.title.clone(),
        };
        follow_ups.push(FollowUp::Attendance(AttendanceCommand::Correct {
            employee: after.drafter,
            day,
            shifts: vec![shift],
            document: after.id,
            document_approved: true,
            on_final_approval: true,
            // The runtime gives the drafter's department's schedule.
            schedule: None,
            reason,
            by: Actor::employee(event.actor()),
            at,
        }));
    }
    if let (FormKind::Leave, Some(days)) = (form.kind, after.leave_days) {
        follow_ups.push(FollowUp::Leave(LeaveCommand::Debit {
            employee: after.drafter,
            document: after.id,
            days,
            by: event.actor(),
            at,
        }));
    }
    follow_ups
}

/// The document command that records an assigned number.
pub fn on_number_assigned(event: &NumberEvent) -> (crate::ids::ApprovalId, ApprovalCommand) {
    let NumberEvent::NumberAssigned {
        number,
        document,
        by,
        at,
    } = event;
    (
        *document,
        ApprovalCommand::RecordNumber {
            number: number.clone(),
            by: Actor::employee(*by),
            at: *at,
        },
    )
}

/// Reactions to a quest event, given the quest state after it. A leave reward becomes an
/// accrual usable for a year from the company-local day of verification (a company policy:
/// the Act says nothing of rewards); points credit nothing here.
pub fn on_quest_event(after: &Quest, event: &QuestEvent, company_offset: FixedOffset) -> Vec<FollowUp> {
    let (
        Some(quest),
        QuestEvent::Verified {
            employee, reward, at, ..
        },
    ) = (after.posted(), event)
    else {
        return Vec::new();
    };
    let Some(days) = reward.leave_days() else {
        return Vec::new();
    };
    let earned_on = at.with_timezone(&company_offset).date_naive();
    let Some(expires_on) = earned_on.checked_add_months(Months::new(12)).and_then(|d| d.pred_opt()) else {
        return Vec::new();
    };
    vec![FollowUp::Leave(LeaveCommand::Accrue {
        employee: *employee,
        key: reward_key(quest.id, *employee),
        basis: AccrualBasis::Reward,
        days,
        expires_on,
        at: *at,
    })]
}
