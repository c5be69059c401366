//! The folds: what one commit changes in the read models, as typed rows, whatever store
//! writes them. A fold starts from the stream's stored state (its guard row) and returns the
//! new state beside the rows — so a projection never reads its own rows back to update them.
//!
//! - [`approval`]: documents, timelines, inbox boxes, notification feeds, and the [`Change`]s
//!   the approval projection publishes to live subscribers.
//! - [`org`]: employees, departments, delegations, leave balances and the leave ledger.

pub mod approval;
pub mod org;

pub use super::change::Change;
pub use approval::{document_rows, fold_approval_events, ApprovalEvents, DocumentRows};
pub use org::{fold_org, OrgFold, OrgRow};

use super::StoreError;
use domain::Aggregate;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What every change published for a commit says of its cause: the commit's log position
/// token (`type:partition:offset`), correlation id and trace id.
struct Cause {
    position: String,
    correlation_id: String,
    trace_id: Option<String>,
}

impl Cause {
    fn of(delivered: &crate::eventlog::Delivered) -> Self {
        let commit = &delivered.commit;
        Self {
            position: crate::eventlog::Position {
                stream_type: commit.stream_type.clone(),
                partition: delivered.partition,
                offset: delivered.offset,
            }
            .token(),
            correlation_id: commit.correlation_id.to_string(),
            trace_id: crate::trace::trace_id_of(commit.traceparent.as_deref()),
        }
    }
}

fn corrupt(e: impl ToString) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The aggregate a stream's stored state holds (the default before its first commit).
pub(crate) fn restore<A: DeserializeOwned + Default>(state: Option<&str>) -> Result<A, StoreError> {
    state.map_or_else(|| Ok(A::default()), |json| serde_json::from_str(json).map_err(corrupt))
}

/// A stored payload as its domain event, read in place (not from a copy of its tree).
pub(crate) fn decode<E: DeserializeOwned>(payload: &serde_json::Value) -> Result<E, StoreError> {
    E::deserialize(payload).map_err(corrupt)
}

/// Evolves an aggregate by a commit's events (as stored payloads).
fn evolve<A>(aggregate: &mut A, payloads: &[&serde_json::Value]) -> Result<(), StoreError>
where
    A: Aggregate,
    A::Event: DeserializeOwned,
{
    for payload in payloads {
        let event: A::Event = decode(payload)?;
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
