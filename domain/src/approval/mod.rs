//! The approval document aggregate (결재 문서): one event stream per document, from 기안
//! (draft) to a terminal 완료 (approved), 반려 (rejected) or 회수 (withdrawn) — and, through
//! 재상신 (resubmit), on to the next revision in the same stream.
//!
//! - [`line`]: the approval line (결재선) and its steps.
//! - [`command`], [`event`], [`error`]: the vocabulary of requests, facts and refusals.
//! - [`state`]: the folded document (`evolve`) and the step bookkeeping.
//! - [`decide`]: the rules (`decide`), one function per action.
//! - [`actions`]: which of those actions a viewer may take now, by the same checks.

pub mod actions;
pub mod command;
pub mod decide;
pub mod error;
pub mod event;
pub mod inbox;
pub mod line;
pub mod state;

pub use actions::Action;
pub use command::{ApprovalCommand, Attachment, Content, RejectTarget};
pub use error::ApprovalError;
pub use event::ApprovalEvent;
pub use inbox::{notices_after, Inbox, Notice, Principal};
pub use line::{ApprovalLine, LineError, LineRoster, Quorum, Step};
pub use state::{Approval, ApprovalDocument, Comment, Decision, Status, StepProgress, Verdict};
