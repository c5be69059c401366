//! Requests against one approval document. Every command names its actor and time; anything
//! a rule needs from outside the stream (form template, delegation, leave balance, document
//! number) is looked up by the caller and carried here.

use super::line::{ApprovalLine, LineRoster};
use crate::actor::Actor;
use crate::authority::Requirement;
use crate::form::{Body, FormTemplate};
use crate::ids::{ApprovalId, AttachmentId, CommentId};
use crate::line_rule::RuleRef;
use crate::numbering::DocumentNumber;
use crate::org::Delegation;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Attachment metadata. The bytes live in the attachment store under their SHA-256, which
/// the log keeps here, so a stored file can be checked against the document that names it
/// (`erp verify --attachments`). Documents from before uploads existed have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    /// 1..=255 characters.
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// SHA-256 of the content, 64 lowercase hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What the drafter writes: title, form body, attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub title: String,
    pub body: Body,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// Where a rejected document goes (반려 대상).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectTarget {
    /// Back to the drafter: the revision ends as 반려.
    Drafter,
    /// Back to the previous step, which decides again.
    PreviousStep,
}

/// Every action on a document (each term is in the glossary of `domain/src/lib.rs`).
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalCommand {
    /// 기안: create the document as a draft.
    Draft {
        id: ApprovalId,
        form: FormTemplate,
        content: Content,
        line: ApprovalLine,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 임시저장: save changes to a draft.
    SaveDraft {
        form: FormTemplate,
        content: Content,
        line: ApprovalLine,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Delete a draft that was never submitted.
    Discard { by: Actor, at: DateTime<Utc> },
    /// 상신: send the draft down its line.
    Submit {
        form: FormTemplate,
        rule: Option<RuleRef>,
        /// What the company's 전결 규정 requires of this line (`crate::authority::requirement`).
        authority: Requirement,
        /// The line's names as the org chart knows them.
        roster: LineRoster,
        /// Leave days available to this request (the balance less other pending holds),
        /// required for leave forms.
        leave_balance: Option<Decimal>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 승인, or 대결 when `proxy` carries an active delegation from the seat holder.
    Approve {
        comment: Option<String>,
        proxy: Option<Delegation>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 전결: approve as final by delegated authority, skipping the remaining steps.
    ApproveAsFinal {
        comment: Option<String>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 반려 (or, in an agreement group, a vote against).
    Reject {
        reason: String,
        to: RejectTarget,
        proxy: Option<Delegation>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 회수: the drafter takes the document back before any approver acted.
    Withdraw { by: Actor, at: DateTime<Utc> },
    /// 결재 취소: an approver takes back their approval before the next step acted.
    CancelApproval { by: Actor, at: DateTime<Utc> },
    /// 보류: the current approver holds the document.
    Hold {
        reason: String,
        proxy: Option<Delegation>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Release a hold.
    Release {
        proxy: Option<Delegation>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 재상신: resubmit a rejected or withdrawn document as the next revision.
    Resubmit {
        form: FormTemplate,
        content: Content,
        line: ApprovalLine,
        rule: Option<RuleRef>,
        authority: Requirement,
        roster: LineRoster,
        leave_balance: Option<Decimal>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 의견: a comment from a participant.
    Comment {
        id: CommentId,
        text: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Record the document number assigned by the numbering sequence after final approval.
    RecordNumber {
        number: DocumentNumber,
        by: Actor,
        at: DateTime<Utc>,
    },
}
