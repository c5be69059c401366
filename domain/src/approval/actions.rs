//! What a viewer may do to a document now: the actions whose command `decide` would accept
//! from them at this moment, as far as the document and the viewer decide it. Clients offer
//! exactly these instead of re-deriving the rules; the command side decides regardless (a
//! racing action can still be refused, and a request's own content — a reason, a body — is
//! checked when it arrives).
//!
//! Each answer asks the same checks `decide` runs (`seat`, `ensure_open`, `cancel_approval`,
//! …), so the two cannot drift apart.

use super::line::Step;
use super::state::{ApprovalDocument, Status};
use crate::actor::Actor;
use crate::org::Delegation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An action on a document, as a client offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 임시저장 (the drafter, on a draft).
    SaveDraft,
    /// 상신 (the drafter, on a draft).
    Submit,
    /// Delete a draft never submitted.
    Discard,
    /// 승인 in the viewer's seat of the current step (or, for [`ApprovalDocument::proxy_actions`],
    /// the principal's: 대결).
    Approve,
    /// 전결: the viewer holds 전결권 and sits in the current 결재 step.
    ApproveAsFinal,
    /// 반려 to the drafter (in an agreement group, a vote against).
    Reject,
    /// 반려 to the previous step, which then decides again.
    RejectToPreviousStep,
    /// 보류
    Hold,
    /// Release the viewer's own hold.
    Release,
    /// 회수: the drafter, before any approver acted.
    Withdraw,
    /// 결재 취소: the viewer's own agreement, before the next step acted.
    CancelApproval,
    /// 재상신 (the drafter, on a rejected or withdrawn document).
    Resubmit,
    /// 의견
    Comment,
}

impl ApprovalDocument {
    /// Everything `viewer` may do to this document in their own name at `at`.
    pub fn viewer_actions(&self, viewer: &Actor, at: DateTime<Utc>) -> BTreeSet<Action> {
        let mut out = self.seat_actions(viewer, None, at);
        if let Ok(seat) = self.seat(viewer, None, at) {
            let holds_authority = self.authority.as_ref().and_then(|a| a.final_approver) == Some(seat.member);
            if holds_authority && matches!(self.line.steps.get(seat.step), Some(Step::Approval { .. })) {
                out.insert(Action::ApproveAsFinal);
            }
        }
        if self.ensure_editable_draft(viewer).is_ok() {
            out.extend([Action::SaveDraft, Action::Submit, Action::Discard]);
        }
        if viewer.id == self.drafter && self.ensure_open().is_ok() && !self.any_action() {
            out.insert(Action::Withdraw);
        }
        if self.cancel_approval(viewer, at).is_ok() {
            out.insert(Action::CancelApproval);
        }
        if self.ensure_resubmittable(viewer).is_ok() {
            out.insert(Action::Resubmit);
        }
        if self.status != Status::Discarded && self.may_comment(viewer) && self.ensure_comment_room(viewer, at).is_ok()
        {
            out.insert(Action::Comment);
        }
        out
    }

    /// What `viewer` may do at `at` as proxy (대결) under `delegation`, in the seat of its
    /// principal: the seat's decisions only (전결권 is the holder's own, never a proxy's).
    pub fn proxy_actions(&self, viewer: &Actor, delegation: &Delegation, at: DateTime<Utc>) -> BTreeSet<Action> {
        self.seat_actions(viewer, Some(delegation), at)
    }

    /// The decisions of the seat `viewer` holds now (in person or as proxy), if any.
    fn seat_actions(&self, viewer: &Actor, proxy: Option<&Delegation>, at: DateTime<Utc>) -> BTreeSet<Action> {
        let mut out = BTreeSet::new();
        let Ok(seat) = self.seat(viewer, proxy, at) else {
            return out;
        };
        out.extend([Action::Approve, Action::Reject]);
        if seat.step > 0 {
            out.insert(Action::RejectToPreviousStep);
        }
        out.insert(if self.status == Status::OnHold {
            Action::Release
        } else {
            Action::Hold
        });
        out
    }
}
