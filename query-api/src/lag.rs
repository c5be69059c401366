//! Projection lag and read-your-writes waits as the query API serves them; what lag means and
//! how a wait polls are `infra::readmodel::lag`'s, shared with the projector.

use crate::context::Stores;
use crate::error::{self, coded};
use crate::types::ProjectionLag;
use infra::eventlog::{Checkpoint, Position};
use infra::readmodel::lag::{self, WaitError};
use infra::readmodel::{Projection, StoreError};
use std::time::Duration;

async fn checkpoint(stores: &Stores, projection: Projection) -> Result<Checkpoint, StoreError> {
    match projection {
        Projection::Approvals => stores.views.checkpoint().await,
        other => stores.org.checkpoint(other).await,
    }
}

/// Commits behind and the age of the oldest unapplied one, per projection.
pub async fn lags(stores: &Stores) -> async_graphql::Result<Vec<ProjectionLag>> {
    let mut out = Vec::new();
    for projection in Projection::ALL {
        let at = checkpoint(stores, projection).await.map_err(error::store)?;
        let behind = lag::behind(stores.log.as_ref(), projection, at)
            .await
            .map_err(|e| error::internal("event log failed", e))?;
        out.push(ProjectionLag {
            projection: projection.name().to_owned(),
            events_behind: behind.events,
            seconds_behind: behind.seconds,
        });
    }
    Ok(out)
}

/// Waits until every projection of each position's stream type has applied it, or `timeout`.
pub async fn wait_for(stores: &Stores, positions: &[Position], timeout: Duration) -> async_graphql::Result<()> {
    lag::wait_for(positions, timeout, |projection| checkpoint(stores, projection))
        .await
        .map_err(|e| match e {
            WaitError::Store(e) => error::store(e),
            stale @ WaitError::NotReached { .. } => coded(error::STALE_READ, stale.to_string()),
        })
}
