//! Facts about one approval document. Each action is its own event with a stable type name
//! (`approval.*`); every event names its actor (`by`) and time (`at`).

use super::command::{Content, RejectTarget};
use super::line::ApprovalLine;
use crate::aggregate::EventType;
use crate::authority::AuthorityDecision;
use crate::form::FormRef;
use crate::ids::{ApprovalId, CommentId, DelegationId, EmployeeId};
use crate::line_rule::RuleRef;
use crate::numbering::DocumentNumber;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ApprovalEvent {
    /// 기안
    #[serde(rename = "approval.drafted")]
    Drafted {
        id: ApprovalId,
        drafter: EmployeeId,
        form: FormRef,
        content: Content,
        line: ApprovalLine,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 임시저장
    #[serde(rename = "approval.draft_saved")]
    DraftSaved {
        content: Content,
        line: ApprovalLine,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// A never-submitted draft was deleted.
    #[serde(rename = "approval.draft_discarded")]
    DraftDiscarded { by: EmployeeId, at: DateTime<Utc> },
    /// 상신 (revision 1).
    #[serde(rename = "approval.submitted")]
    Submitted {
        rule: Option<RuleRef>,
        /// The 전결 규정 row the line was checked against and who holds 전결권 (absent on
        /// documents submitted before the table existed: they have no 전결권 at all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authority: Option<AuthorityDecision>,
        amount: Option<Decimal>,
        leave_days: Option<Decimal>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 승인 (or 합의 agreement) by the seat holder.
    #[serde(rename = "approval.approved")]
    Approved {
        step: usize,
        comment: Option<String>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 대결: approved by a proxy on behalf of the absent seat holder.
    #[serde(rename = "approval.proxy_approved")]
    ProxyApproved {
        step: usize,
        on_behalf_of: EmployeeId,
        delegation: DelegationId,
        comment: Option<String>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 전결: approved as final by delegated authority; remaining steps are skipped.
    #[serde(rename = "approval.approved_as_final")]
    ApprovedAsFinal {
        step: usize,
        skipped: Vec<usize>,
        comment: Option<String>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// A vote against in an agreement group whose quorum is still reachable.
    #[serde(rename = "approval.disagreed")]
    Disagreed {
        step: usize,
        reason: String,
        on_behalf_of: Option<EmployeeId>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 반려
    #[serde(rename = "approval.rejected")]
    Rejected {
        step: usize,
        to: RejectTarget,
        reason: String,
        on_behalf_of: Option<EmployeeId>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 회수
    #[serde(rename = "approval.withdrawn")]
    Withdrawn { by: EmployeeId, at: DateTime<Utc> },
    /// 결재 취소
    #[serde(rename = "approval.approval_cancelled")]
    ApprovalCancelled {
        step: usize,
        member: EmployeeId,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 보류
    #[serde(rename = "approval.held")]
    Held {
        step: usize,
        member: EmployeeId,
        reason: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 보류 해제
    #[serde(rename = "approval.released")]
    Released {
        step: usize,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 재상신: the next revision, with its own content and line.
    #[serde(rename = "approval.resubmitted")]
    Resubmitted {
        revision: u32,
        content: Content,
        line: ApprovalLine,
        rule: Option<RuleRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authority: Option<AuthorityDecision>,
        amount: Option<Decimal>,
        leave_days: Option<Decimal>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 의견
    #[serde(rename = "approval.commented")]
    Commented {
        comment_id: CommentId,
        text: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// 문서번호 부여
    #[serde(rename = "approval.numbered")]
    Numbered {
        number: DocumentNumber,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
}

impl ApprovalEvent {
    /// Who caused the event.
    pub fn actor(&self) -> EmployeeId {
        self.stamp().0
    }

    /// When the event happened (business time).
    pub fn at(&self) -> DateTime<Utc> {
        self.stamp().1
    }

    /// Raises the event's time to `floor` when it is earlier: times never go backwards
    /// within a stream, whatever the clock of the instance that decided it said.
    pub(crate) fn not_before(&mut self, floor: DateTime<Utc>) {
        use ApprovalEvent as E;
        let at = match self {
            E::Drafted { at, .. }
            | E::DraftSaved { at, .. }
            | E::DraftDiscarded { at, .. }
            | E::Submitted { at, .. }
            | E::Approved { at, .. }
            | E::ProxyApproved { at, .. }
            | E::ApprovedAsFinal { at, .. }
            | E::Disagreed { at, .. }
            | E::Rejected { at, .. }
            | E::Withdrawn { at, .. }
            | E::ApprovalCancelled { at, .. }
            | E::Held { at, .. }
            | E::Released { at, .. }
            | E::Resubmitted { at, .. }
            | E::Commented { at, .. }
            | E::Numbered { at, .. } => at,
        };
        *at = (*at).max(floor);
    }

    fn stamp(&self) -> (EmployeeId, DateTime<Utc>) {
        use ApprovalEvent as E;
        match self {
            E::Drafted { by, at, .. }
            | E::DraftSaved { by, at, .. }
            | E::DraftDiscarded { by, at }
            | E::Submitted { by, at, .. }
            | E::Approved { by, at, .. }
            | E::ProxyApproved { by, at, .. }
            | E::ApprovedAsFinal { by, at, .. }
            | E::Disagreed { by, at, .. }
            | E::Rejected { by, at, .. }
            | E::Withdrawn { by, at }
            | E::ApprovalCancelled { by, at, .. }
            | E::Held { by, at, .. }
            | E::Released { by, at, .. }
            | E::Resubmitted { by, at, .. }
            | E::Commented { by, at, .. }
            | E::Numbered { by, at, .. } => (*by, *at),
        }
    }
}

impl EventType for ApprovalEvent {
    fn event_type(&self) -> &'static str {
        use ApprovalEvent as E;
        match self {
            E::Drafted { .. } => "approval.drafted",
            E::DraftSaved { .. } => "approval.draft_saved",
            E::DraftDiscarded { .. } => "approval.draft_discarded",
            E::Submitted { .. } => "approval.submitted",
            E::Approved { .. } => "approval.approved",
            E::ProxyApproved { .. } => "approval.proxy_approved",
            E::ApprovedAsFinal { .. } => "approval.approved_as_final",
            E::Disagreed { .. } => "approval.disagreed",
            E::Rejected { .. } => "approval.rejected",
            E::Withdrawn { .. } => "approval.withdrawn",
            E::ApprovalCancelled { .. } => "approval.approval_cancelled",
            E::Held { .. } => "approval.held",
            E::Released { .. } => "approval.released",
            E::Resubmitted { .. } => "approval.resubmitted",
            E::Commented { .. } => "approval.commented",
            E::Numbered { .. } => "approval.numbered",
        }
    }
}
