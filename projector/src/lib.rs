//! # projector — the read side
//!
//! Each projection follows one stream type of the event log from its stored checkpoint and
//! writes batches into its read model; the store commits rows, per-stream guards and the
//! checkpoint in one transaction (see `infra::readmodel`), so a crash anywhere leaves either a
//! whole batch or nothing, and a redelivered commit changes nothing.
//!
//! Built (`infra::readmodel::sql`, MySQL/MariaDB or SQLite through one code path): the
//! employee read model (employees, departments, delegations, leave balances and ledger) and
//! the approval views (document, timeline, inbox boxes, notification feed), with lag per
//! projection. Next: the MongoDB adapter for the approval views, shadow rebuild with swap.

use chrono::{DateTime, Utc};
use infra::eventlog::{Checkpoint, Delivered, EventLog, EventLogError};
use infra::readmodel::sql::{Projection, SqlReadModel};
use infra::readmodel::StoreError;
use infra::readmodel::{ApprovalViews, Published};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Why a projection stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectorError {
    #[error("event log: {0}")]
    Log(#[from] EventLogError),
    #[error("read model: {0}")]
    Store(#[from] StoreError),
}

/// How far a projection is behind the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    pub projection: &'static str,
    /// Commits in the log the projection has not applied.
    pub events_behind: u64,
    /// Age of the newest applied commit when behind; 0 when caught up.
    pub seconds_behind: i64,
}

/// Runs the employee read-model projections.
#[derive(Clone)]
pub struct Projector {
    log: Arc<dyn EventLog>,
    store: SqlReadModel,
    views: Arc<dyn ApprovalViews>,
    published: broadcast::Sender<Published>,
    last_applied: Arc<Mutex<HashMap<&'static str, DateTime<Utc>>>>,
    batch: usize,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector").field("store", &self.store).finish()
    }
}

impl Projector {
    /// The employee read model and the approval views both in `store` (the embedded default).
    pub fn new(log: Arc<dyn EventLog>, store: SqlReadModel) -> Self {
        let views: Arc<dyn ApprovalViews> = Arc::new(store.clone());
        Self {
            log,
            store,
            views,
            published: broadcast::channel(4096).0,
            last_applied: Arc::new(Mutex::new(HashMap::new())),
            batch: 500,
        }
    }

    /// Smaller batches (tests exercise crashes between them).
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The approval views in another store (MongoDB in the distributed deployment).
    pub fn with_views(mut self, views: Arc<dyn ApprovalViews>) -> Self {
        self.views = views;
        self
    }

    pub fn store(&self) -> &SqlReadModel {
        &self.store
    }

    pub fn views(&self) -> &Arc<dyn ApprovalViews> {
        &self.views
    }

    /// New notification feed entries as live projection writes them (never during replays).
    pub fn published(&self) -> broadcast::Receiver<Published> {
        self.published.subscribe()
    }

    async fn checkpoint(&self, projection: Projection) -> Result<Checkpoint, ProjectorError> {
        Ok(match projection {
            Projection::Approvals => self.views.checkpoint().await?,
            other => self.store.checkpoint(other).await?,
        })
    }

    async fn apply(
        &self,
        projection: Projection,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<usize, ProjectorError> {
        let applied = match projection {
            Projection::Approvals => self.views.apply(batch, checkpoint, notify).await?,
            other => self.store.apply_with(other, batch, checkpoint, notify).await?,
        };
        for entry in applied.published {
            let _ = self.published.send(entry);
        }
        Ok(applied.applied)
    }

    /// Follows one projection until `stop` turns true.
    pub async fn run(&self, projection: Projection, mut stop: watch::Receiver<bool>) -> Result<(), ProjectorError> {
        let from = self.checkpoint(projection).await?;
        let mut subscription = self.log.subscribe(projection.stream_type(), from).await?;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let batch = tokio::select! {
                batch = subscription.next_batch(self.batch, Duration::from_millis(200)) => batch?,
                _ = stop.changed() => return Ok(()),
            };
            if batch.is_empty() {
                continue;
            }
            let newest = batch.iter().map(|d| d.commit.recorded_at).max();
            self.apply(projection, &batch, subscription.checkpoint(), true).await?;
            if let (Some(newest), Ok(mut last)) = (newest, self.last_applied.lock()) {
                last.insert(projection.name(), newest);
            }
        }
    }

    /// Starts every projection on its own task; each restarts after an error.
    pub fn spawn_all(&self, stop: watch::Receiver<bool>) {
        for projection in Projection::ALL {
            let this = self.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                while !*stop.borrow() {
                    if let Err(e) = this.run(projection, stop.clone()).await {
                        tracing::warn!(projection = projection.name(), error = %e, "projection stopped; restarting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            });
        }
    }

    /// Applies everything up to the log's current end (rebuilds, tests, `erp replay`).
    pub async fn catch_up(&self, projection: Projection) -> Result<u64, ProjectorError> {
        self.catch_up_with(projection, false).await
    }

    /// As [`Self::catch_up`]; `notify` announces new feed entries (live catch-up after a
    /// restart) instead of staying silent (rebuilds).
    pub async fn catch_up_with(&self, projection: Projection, notify: bool) -> Result<u64, ProjectorError> {
        let end = self.log.end_offsets(projection.stream_type()).await?;
        let mut subscription = self
            .log
            .subscribe(projection.stream_type(), self.checkpoint(projection).await?)
            .await?;
        let mut applied = 0;
        while !reached(subscription.checkpoint(), &end) {
            let batch = subscription.next_batch(self.batch, Duration::from_millis(500)).await?;
            if batch.is_empty() {
                continue;
            }
            applied += self
                .apply(projection, &batch, subscription.checkpoint(), notify)
                .await? as u64;
        }
        Ok(applied)
    }

    /// Lag of every projection.
    pub async fn lag(&self) -> Result<Vec<Lag>, ProjectorError> {
        let mut lags = Vec::new();
        for projection in Projection::ALL {
            let end = self.log.end_offsets(projection.stream_type()).await?;
            let at = self.checkpoint(projection).await?;
            let behind: u64 = end
                .iter()
                .map(|(p, e)| e.saturating_sub(at.get(p).copied().unwrap_or(0)))
                .sum();
            let newest = self
                .last_applied
                .lock()
                .ok()
                .and_then(|l| l.get(projection.name()).copied());
            let seconds = match (behind, newest) {
                (0, _) => 0,
                (_, Some(t)) => (Utc::now() - t).num_seconds().max(0),
                (_, None) => -1,
            };
            lags.push(Lag {
                projection: projection.name(),
                events_behind: behind,
                seconds_behind: seconds,
            });
        }
        Ok(lags)
    }
}

/// Prometheus text exposition of projection lag.
pub fn lag_metrics(lags: &[Lag]) -> String {
    let mut out = String::from(
        "# HELP erp_projection_lag_events Commits in the log a projection has not applied.\n# TYPE erp_projection_lag_events gauge\n",
    );
    for lag in lags {
        out.push_str(&format!(
            "erp_projection_lag_events{{projection=\"{}\"}} {}\n",
            lag.projection, lag.events_behind
        ));
    }
    out.push_str("# HELP erp_projection_lag_seconds Age of the newest applied commit while behind.\n# TYPE erp_projection_lag_seconds gauge\n");
    for lag in lags {
        out.push_str(&format!(
            "erp_projection_lag_seconds{{projection=\"{}\"}} {}\n",
            lag.projection,
            lag.seconds_behind.max(0)
        ));
    }
    out
}

fn reached(at: &Checkpoint, end: &Checkpoint) -> bool {
    end.iter().all(|(p, e)| at.get(p).copied().unwrap_or(0) >= *e)
}
