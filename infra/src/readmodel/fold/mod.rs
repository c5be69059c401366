//! The folds: what one commit changes in the read models, as typed rows, whatever store
//! writes them. A fold starts from the stream's stored state (its guard row) and returns the
//! new state beside the rows — so a projection never reads its own rows back to update them.
//!
//! - [`approval`]: documents, timelines, inbox boxes, notification feeds, and the [`Change`]s
//!   the approval projection publishes to live subscribers.
//! - [`org`]: employees, departments, delegations, leave balances and the leave ledger.

pub mod approval;
pub mod org;

pub use approval::{fold_approval, ApprovalFold};
pub use org::{fold_org, OrgFold, OrgRow};

use super::rows::FeedEntry;
use super::StoreError;
use domain::Aggregate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One change, after its projection committed it: what the change bus carries to notifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A new entry of one recipient's notification feed.
    Notification {
        /// Employee id.
        recipient: String,
        entry: FeedEntry,
        /// Log position token of the commit (`type:partition:offset`).
        position: String,
        correlation_id: String,
    },
    /// A document changed.
    Document {
        doc: String,
        version: u64,
        /// Event types of the commit, in order.
        events: Vec<String>,
        position: String,
        correlation_id: String,
        /// Inbox principals (`emp:…`, `dept:…`) whose boxes held or now hold the document.
        boxes: Vec<String>,
        /// The folded document after the commit (visibility is decided on it by the domain).
        document: serde_json::Value,
    },
}

fn corrupt(e: impl ToString) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The aggregate a stream's stored state holds (the default before its first commit).
fn restore<A: DeserializeOwned + Default>(state: Option<&str>) -> Result<A, StoreError> {
    state.map_or_else(|| Ok(A::default()), |json| serde_json::from_str(json).map_err(corrupt))
}

/// Evolves an aggregate by a commit's events (as stored payloads).
fn evolve<A>(aggregate: &mut A, payloads: &[&serde_json::Value]) -> Result<(), StoreError>
where
    A: Aggregate,
    A::Event: DeserializeOwned,
{
    for payload in payloads {
        let event: A::Event = serde_json::from_value((*payload).clone()).map_err(corrupt)?;
        aggregate.evolve(&event);
    }
    Ok(())
}

/// A serde enum's name (`snake_case` variants), as the read models store it.
fn name_of(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
