//! # query-api — GraphQL reads
//!
//! async-graphql over axum, answering what an e-approval user asks all day and what an
//! auditor asks: `me`, `inbox(box)` with counts, `approval(id)` with line, recipients,
//! comments and timeline, `approvals(filter)`, `approvalAsOf(id, at)` folded from the log,
//! the directory and org chart, leave, forms, `suggestLine`, `projectionStatus`, and Relay
//! `node(id)`.
//!
//! - **Authorisation.** Every resolver starts from the viewer (bearer JWT → employee read
//!   model). Documents pass the domain's own `ApprovalDocument::visible_to` on every path —
//!   single lookups, `node`, lists and time travel — and an invisible document is
//!   indistinguishable from a missing one.
//! - **Bounded.** Depth, complexity (lists weigh `first` or a realistic fan-out × their
//!   children) and alias limits, pages of at most 100, a scan budget for filtered lists,
//!   body/batch/query-length caps checked before execution. Every error carries
//!   `extensions.code` ([`error`]); store failures are logged and answered as `INTERNAL`
//!   without their text.
//! - **No N+1.** Employees and departments referenced from documents load through
//!   per-request DataLoaders.
//! - **Read your writes.** A command's position token in `x-erp-position` makes an
//!   authenticated request wait (bounded) until the projections have applied it, else
//!   `STALE_READ`.
//!
//! - **Measured.** Each operation is timed by its (bounded) name and outcome, each request by
//!   route (`infra::telemetry`); [`Stores::ready`] is the role's readiness.
//!
//! The SDL is committed as `query-api/schema.graphql`; a test fails when it drifts.

mod console;
mod content;
mod context;
mod cost;
pub mod error;
mod http;
mod ids;
mod lag;
mod operations;
mod paging;
mod parsed;
mod schema;
mod types;

pub use context::Stores;
pub use http::{router, QueryConfig, MAX_BATCH, MAX_BODY};
pub use paging::MAX_PAGE;
pub use schema::{sdl, Limits};
/// The enums the notifier's schema shares, so both SDLs name a status, a box and a
/// notification's reason alike.
pub use types::{ApprovalStatus, HrTopic, InboxBox, NotificationKind};
