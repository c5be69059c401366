//! Who sees a document where: the boxes of the e-approval inbox (결재함), who may see it at
//! all, and whom an event notifies. Pure functions of the folded document, so the read models,
//! the query API and the notifier apply one rule.

use super::event::ApprovalEvent;
use super::state::{ApprovalDocument, Status};
use crate::actor::{Actor, Role};
use crate::ids::{DepartmentId, EmployeeId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An inbox box (결재함).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inbox {
    /// 대기: waiting for my decision.
    Pending,
    /// 예정: I am on a later step.
    Upcoming,
    /// 진행: mine or decided by me, still in progress.
    InProgress,
    /// 완료: finished documents I drafted or decided.
    Completed,
    /// 반려: my documents that were rejected.
    Rejected,
    /// 참조: I am cc.
    Cc,
    /// 수신: my department receives it.
    Received,
    /// 임시저장: my drafts and withdrawn documents.
    Drafts,
}

impl Inbox {
    pub const ALL: [Inbox; 8] = [
        Inbox::Pending,
        Inbox::Upcoming,
        Inbox::InProgress,
        Inbox::Completed,
        Inbox::Rejected,
        Inbox::Cc,
        Inbox::Received,
        Inbox::Drafts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Inbox::Pending => "pending",
            Inbox::Upcoming => "upcoming",
            Inbox::InProgress => "in_progress",
            Inbox::Completed => "completed",
            Inbox::Rejected => "rejected",
            Inbox::Cc => "cc",
            Inbox::Received => "received",
            Inbox::Drafts => "drafts",
        }
    }
}

/// Whose inbox: an employee's, or a receiving department's (shared by its members).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Principal {
    Employee(EmployeeId),
    Department(DepartmentId),
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Employee(id) => write!(f, "emp:{id}"),
            Principal::Department(id) => write!(f, "dept:{id}"),
        }
    }
}

impl ApprovalDocument {
    /// Every (principal, box) the document appears in now.
    pub fn boxes(&self) -> Vec<(Principal, Inbox)> {
        let emp = Principal::Employee;
        let mut out = Vec::new();
        let deciders = || {
            self.steps
                .iter()
                .flat_map(|p| p.decisions.iter())
                .map(|d| d.member)
                .collect::<Vec<_>>()
        };
        match self.status {
            Status::Discarded => return out,
            Status::Draft | Status::Withdrawn => out.push((emp(self.drafter), Inbox::Drafts)),
            Status::InProgress | Status::OnHold => {
                out.push((emp(self.drafter), Inbox::InProgress));
                let current = self.current_approvers();
                for who in &current {
                    out.push((emp(*who), Inbox::Pending));
                }
                for step in self.line.steps.iter().skip(self.current + 1) {
                    for who in step.members() {
                        out.push((emp(*who), Inbox::Upcoming));
                    }
                }
                for who in deciders() {
                    if !current.contains(&who) {
                        out.push((emp(who), Inbox::InProgress));
                    }
                }
            }
            Status::Approved => {
                out.push((emp(self.drafter), Inbox::Completed));
                for who in deciders() {
                    out.push((emp(who), Inbox::Completed));
                }
                for department in &self.line.receivers {
                    out.push((Principal::Department(*department), Inbox::Received));
                }
            }
            Status::Rejected => {
                out.push((emp(self.drafter), Inbox::Rejected));
                for who in deciders() {
                    out.push((emp(who), Inbox::Completed));
                }
            }
        }
        if !matches!(self.status, Status::Draft | Status::Withdrawn) {
            for who in &self.line.cc {
                out.push((emp(*who), Inbox::Cc));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether the proxy (대결자) of `principal` may see this document: once submitted, when
    /// the line seats the principal — the seat the proxy may take. Nothing else of the
    /// principal's (drafts, cc, department mail) passes to the proxy.
    pub fn visible_to_proxy_of(&self, principal: crate::ids::EmployeeId) -> bool {
        !matches!(self.status, Status::Draft | Status::Discarded)
            && self.line.steps.iter().any(|s| s.members().contains(&principal))
    }

    /// Whether a signed-in employee may see this document: by [`Self::visible_to`] as
    /// themselves, or by [`Self::visible_to_proxy_of`] as the proxy of anyone in `acting_for`
    /// (the principals whose delegations to them are open now). The read side's one rule:
    /// queries and live updates both ask it.
    pub fn visible_to_signed_in(&self, actor: &Actor, acting_for: &[crate::ids::EmployeeId]) -> bool {
        self.visible_to(actor) || acting_for.iter().any(|p| self.visible_to_proxy_of(*p))
    }

    /// Whether `actor` may see this document: the drafter always; once submitted, line
    /// members, cc, members of receiving departments, HR admins and auditors.
    pub fn visible_to(&self, actor: &Actor) -> bool {
        actor.id == self.drafter
            || (self.status != Status::Draft
                && self.status != Status::Discarded
                && (self.line.involves(actor.id)
                    || actor.department.is_some_and(|d| self.line.receivers.contains(&d))
                    || actor.has(Role::HrAdmin)
                    || actor.has(Role::Auditor)))
    }
}

/// Why someone is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// 결재 요청: it is your turn.
    ApprovalRequested,
    /// 참조: you were put in cc.
    CcAdded,
    /// 완료: your document was finally approved.
    Approved,
    /// 반려: your document was rejected.
    Rejected,
    /// Returned to you (rejected to the previous step).
    Returned,
    /// 보류: your document was put on hold.
    Held,
    /// 회수: a document waiting for you was withdrawn.
    Withdrawn,
    /// 의견: a new comment on a document you are involved in.
    Commented,
}

/// Who an event notifies, given who was a current approver before it and the document after
/// it: all a notice reads of the document before, so a fold need not copy the whole document
/// for every event.
pub fn notices_after(
    was_current: &[EmployeeId],
    event: &ApprovalEvent,
    after: &ApprovalDocument,
) -> Vec<(EmployeeId, Notice)> {
    use ApprovalEvent as E;
    let actor = event.actor();
    let newly_current = || {
        after
            .current_approvers()
            .into_iter()
            .filter(|who| !was_current.contains(who))
    };
    let mut out: Vec<(EmployeeId, Notice)> = match event {
        E::Submitted { .. } | E::Resubmitted { .. } => newly_current()
            .map(|who| (who, Notice::ApprovalRequested))
            .chain(after.line.cc.iter().map(|who| (*who, Notice::CcAdded)))
            .collect(),
        E::Approved { .. } | E::ProxyApproved { .. } | E::ApprovedAsFinal { .. } | E::ApprovalCancelled { .. } => {
            if after.status == Status::Approved {
                vec![(after.drafter, Notice::Approved)]
            } else {
                newly_current().map(|who| (who, Notice::ApprovalRequested)).collect()
            }
        }
        E::Rejected { .. } if after.status == Status::Rejected => vec![(after.drafter, Notice::Rejected)],
        E::Rejected { .. } => newly_current().map(|who| (who, Notice::Returned)).collect(),
        E::Held { .. } => vec![(after.drafter, Notice::Held)],
        E::Withdrawn { .. } => was_current.iter().map(|who| (*who, Notice::Withdrawn)).collect(),
        E::Commented { .. } => std::iter::once(after.drafter)
            .chain(after.line.deciders())
            .map(|who| (who, Notice::Commented))
            .collect(),
        _ => Vec::new(),
    };
    out.retain(|(who, _)| *who != actor);
    out.sort_by_key(|(who, n)| (*who, *n as u8));
    out.dedup();
    out
}
