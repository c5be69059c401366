//! Projection lag and read-your-writes waits, from the stored checkpoints and the log's ends.

use crate::context::Stores;
use crate::error::{self, coded};
use crate::types::ProjectionLag;
use infra::eventlog::{Checkpoint, Position};
use infra::readmodel::sql::Projection;
use std::time::{Duration, Instant};

async fn checkpoint(stores: &Stores, projection: Projection) -> async_graphql::Result<Checkpoint> {
    match projection {
        Projection::Approvals => stores.views.checkpoint().await,
        other => stores.org.checkpoint(other).await,
    }
    .map_err(error::store)
}

/// Commits behind and the age of the oldest unapplied one, per projection.
pub async fn lags(stores: &Stores) -> async_graphql::Result<Vec<ProjectionLag>> {
    let mut out = Vec::new();
    for projection in Projection::ALL {
        let at = checkpoint(stores, projection).await?;
        let end = stores
            .log
            .end_offsets(projection.stream_type())
            .await
            .map_err(|e| error::internal("event log failed", e))?;
        let behind: u64 = end
            .iter()
            .map(|(p, e)| e.saturating_sub(at.get(p).copied().unwrap_or(0)))
            .sum();
        let mut seconds = 0;
        if behind > 0 {
            let mut sub = stores
                .log
                .subscribe(projection.stream_type(), at)
                .await
                .map_err(|e| error::internal("event log failed", e))?;
            if let Ok(batch) = sub.next_batch(1, Duration::from_millis(200)).await {
                if let Some(oldest) = batch.first() {
                    seconds = (chrono::Utc::now() - oldest.commit.recorded_at).num_seconds().max(0);
                }
            }
        }
        out.push(ProjectionLag {
            projection: projection.name().to_owned(),
            events_behind: behind,
            seconds_behind: seconds,
        });
    }
    Ok(out)
}

/// Waits until every projection of each position's stream type has applied it, or `timeout`.
pub async fn wait_for(stores: &Stores, positions: &[Position], timeout: Duration) -> async_graphql::Result<()> {
    let deadline = Instant::now() + timeout;
    for position in positions {
        for projection in crate::schema::projections_of(&position.stream_type) {
            loop {
                if position.reached_by(&checkpoint(stores, projection).await?) {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(coded(
                        error::STALE_READ,
                        format!(
                            "{} has not reached {} within {} ms; retry, or read without the position",
                            projection.name(),
                            position.token(),
                            timeout.as_millis()
                        ),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    Ok(())
}
