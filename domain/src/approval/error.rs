//! Why an action on a document was refused. Each variant says the HTTP status it becomes.

use super::line::LineError;
use super::state::Status;
use crate::form::FormError;
use crate::ids::EmployeeId;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// 404
    #[error("document not found")]
    NotFound,
    /// 409
    #[error("document already exists")]
    AlreadyExists,
    /// 403: only the drafter may do this.
    #[error("only the drafter may do this")]
    NotDrafter,
    /// 409: the document is still a draft.
    #[error("document has not been submitted")]
    NotSubmitted,
    /// 409: only drafts can be edited, submitted or discarded.
    #[error("document is no longer a draft")]
    NotDraft,
    /// 409: terminal documents take no decision.
    #[error("document is {status:?} and takes no further decision")]
    Terminal { status: Status },
    /// 422: nobody approves their own document.
    #[error("the drafter cannot decide their own document")]
    SelfApproval,
    /// 403: only the current approver (or their active proxy) decides.
    #[error("{by} is not the current approver")]
    NotCurrentApprover { by: EmployeeId },
    /// 409: a decided seat is never decided again.
    #[error("{by} has already decided")]
    AlreadyDecided { by: EmployeeId },
    /// 422: one person decides in at most one seat per revision, in person or as proxy.
    #[error("{by} has already decided in another seat of this revision")]
    SecondSeat { by: EmployeeId },
    /// 403: the delegation does not cover this actor, seat holder and time.
    #[error("the delegation does not authorise this proxy decision")]
    ProxyNotAuthorised,
    /// 409: held by another approver.
    #[error("document is on hold by another approver")]
    HeldByOther,
    /// 409
    #[error("document is already on hold")]
    AlreadyOnHold,
    /// 409
    #[error("document is not on hold")]
    NotOnHold,
    /// 403: 전결 needs delegated authority on the current step.
    #[error("the current step has no delegated authority to approve as final")]
    NoFinalAuthority,
    /// 422
    #[error("there is no previous step to return the document to")]
    NoPreviousStep,
    /// 422
    #[error("a reason is required (1..=2000 characters)")]
    ReasonRequired,
    /// 409: 회수 only before any approver acted.
    #[error("an approver has already acted on this revision")]
    ApproverActed,
    /// 409: 결재 취소 only before the next step acted.
    #[error("the next step has already acted")]
    NextStepActed,
    /// 409
    #[error("there is no approval of yours to cancel")]
    NothingToCancel,
    /// 409: only rejected or withdrawn documents can be resubmitted.
    #[error("only a rejected or withdrawn document can be resubmitted")]
    NotResubmittable,
    /// 403: comments come from the drafter, line members, cc and receivers.
    #[error("only participants may comment")]
    NotParticipant,
    /// 429: too many comments on this document (ever, or by this person this hour).
    #[error("comment limit reached on this document")]
    CommentLimit { retry_after_secs: Option<u64> },
    /// 422: the form template given is not the version the document was drafted on.
    #[error("form version does not match the document")]
    FormMismatch,
    /// 422
    #[error(transparent)]
    InvalidBody(#[from] FormError),
    /// 422
    #[error(transparent)]
    InvalidLine(#[from] LineError),
    /// 422
    #[error("title must be 1..=150 characters")]
    InvalidTitle,
    /// 422
    #[error("comment must be 1..=2000 characters")]
    InvalidComment,
    /// 422: too many attachments, a bad name or a malformed content hash.
    #[error("attachments: at most 20, each named (1..=255 characters), at most 100 MiB, with a SHA-256 in hex")]
    InvalidAttachments,
    /// 422: a leave request beyond the balance.
    #[error("requested {requested} leave days but only {available} are available")]
    InsufficientLeave { requested: Decimal, available: Decimal },
    /// 422: the caller must supply the balance for a leave form.
    #[error("leave balance is required to submit a leave request")]
    LeaveBalanceRequired,
    /// 409
    #[error("document already has a number")]
    AlreadyNumbered,
    /// 409
    #[error("document is not finally approved")]
    NotApproved,
}

impl crate::Refusal for ApprovalError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use ApprovalError as E;
        match self {
            E::NotFound => (NotFound, "document_not_found"),
            E::AlreadyExists => (Conflict, "document_exists"),
            E::NotDrafter => (Forbidden, "not_drafter"),
            E::NotSubmitted => (Conflict, "not_submitted"),
            E::NotDraft => (Conflict, "not_draft"),
            E::Terminal { .. } => (Conflict, "document_closed"),
            E::SelfApproval => (Invalid, "self_approval"),
            E::NotCurrentApprover { .. } => (Forbidden, "not_current_approver"),
            E::AlreadyDecided { .. } => (Conflict, "already_decided"),
            E::SecondSeat { .. } => (Invalid, "one_seat_per_person"),
            E::ProxyNotAuthorised => (Forbidden, "proxy_not_authorised"),
            E::HeldByOther => (Conflict, "held_by_other"),
            E::AlreadyOnHold => (Conflict, "already_on_hold"),
            E::NotOnHold => (Conflict, "not_on_hold"),
            E::NoFinalAuthority => (Forbidden, "no_final_authority"),
            E::NoPreviousStep => (Invalid, "no_previous_step"),
            E::ReasonRequired => (Invalid, "reason_required"),
            E::ApproverActed => (Conflict, "approver_acted"),
            E::NextStepActed => (Conflict, "next_step_acted"),
            E::NothingToCancel => (Conflict, "nothing_to_cancel"),
            E::NotResubmittable => (Conflict, "not_resubmittable"),
            E::NotParticipant => (Forbidden, "not_participant"),
            E::FormMismatch => (Invalid, "form_mismatch"),
            E::CommentLimit { .. } => (Limited, "comment_limit"),
            E::InvalidBody(_) => (Invalid, "invalid_body"),
            E::InvalidLine(_) => (Invalid, "invalid_line"),
            E::InvalidTitle => (Invalid, "invalid_title"),
            E::InvalidComment => (Invalid, "invalid_comment"),
            E::InvalidAttachments => (Invalid, "invalid_attachments"),
            E::InsufficientLeave { .. } => (Invalid, "insufficient_leave"),
            E::LeaveBalanceRequired => (Invalid, "leave_balance_required"),
            E::AlreadyNumbered => (Conflict, "already_numbered"),
            E::NotApproved => (Conflict, "not_approved"),
        }
    }
}
