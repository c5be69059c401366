//! How far a projection is behind the log — one definition for every role that reports it
//! (the projector's `/lag` and `/metrics`, the query API's `projectionLag`) — and the
//! read-your-writes wait for a position.

use super::{projections_of, Projection, StoreError};
use crate::eventlog::{Checkpoint, EventLog, EventLogError, Position};
use std::future::Future;
use std::time::{Duration, Instant};

/// One projection's distance from the log's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behind {
    pub projection: Projection,
    /// Commits in the log the projection has not applied.
    pub events: u64,
    /// Age of the oldest commit it has not applied; 0 when caught up.
    pub seconds: i64,
}

/// How far a projection stopped at `at` is behind the log now.
pub async fn behind(log: &dyn EventLog, projection: Projection, at: Checkpoint) -> Result<Behind, EventLogError> {
    let end = log.end_offsets(projection.stream_type()).await?;
    let events: u64 = end
        .iter()
        .map(|(p, e)| e.saturating_sub(at.get(p).copied().unwrap_or(0)))
        .sum();
    let mut seconds = 0;
    if events > 0 {
        let mut oldest = log.subscribe(projection.stream_type(), at).await?;
        if let Ok(batch) = oldest.next_batch(1, Duration::from_millis(200)).await {
            if let Some(first) = batch.first() {
                seconds = (chrono::Utc::now() - first.commit.recorded_at).num_seconds().max(0);
            }
        }
    }
    Ok(Behind {
        projection,
        events,
        seconds,
    })
}

/// Why a read-your-writes wait ended without its positions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{} has not reached {} within {} ms; retry, or read without the position", projection.name(), position.token(), waited.as_millis())]
    NotReached {
        projection: Projection,
        position: Position,
        waited: Duration,
    },
}

/// Waits until every projection of each position's stream type has applied it, polling the
/// stored checkpoints (`checkpoint`), or `timeout`.
pub async fn wait_for<F, Fut>(positions: &[Position], timeout: Duration, checkpoint: F) -> Result<(), WaitError>
where
    F: Fn(Projection) -> Fut,
    Fut: Future<Output = Result<Checkpoint, StoreError>>,
{
    let deadline = Instant::now() + timeout;
    for position in positions {
        for projection in projections_of(&position.stream_type) {
            while !position.reached_by(&checkpoint(projection).await?) {
                if Instant::now() >= deadline {
                    return Err(WaitError::NotReached {
                        projection,
                        position: position.clone(),
                        waited: timeout,
                    });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    Ok(())
}
