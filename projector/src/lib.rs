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
//! projection; the approval views also on MongoDB. `Projector::replay` rebuilds one
//! projection into a shadow copy and swaps it in while the live projection keeps serving.
//!
//! ## Several instances ([`Projector::shared`])
//!
//! Instances writing the same stores share each projection's partitions through a consumer
//! group, `{group}.{projection}` (`EventLog::subscribe_shared`; on Kafka with the
//! cooperative-sticky assignor). Each partition is read by one instance at a time. A partition
//! an instance is given starts where the *store* says that projection stands on it — the store
//! commits positions with the rows, so the group's committed offsets (written too, for broker
//! tools) never decide anything. When partitions move (an instance joins or leaves) only the
//! moving ones change hands, each instance keeps its consumer and repositions in place, and
//! an instance finishes the batch it is writing before it lets a partition go. Should a
//! stalled instance still write a batch of a partition that has moved on, the store refuses
//! it: a follower's write checks and moves only the partitions its batch touches, at the
//! position it started from (`infra::readmodel::moved_partitions`), so no commit is applied
//! twice and no position goes back. The embedded log has one process and nothing to share:
//! there a projector reads every partition, as a single instance does.

use chrono::Utc;
use infra::bus::{Change, ChangeBus, LocalBus};
use infra::eventlog::{Checkpoint, Delivered, EventLog, EventLogError, Positions, Subscription};
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::ApprovalViews;
use infra::readmodel::Projection;
use infra::readmodel::{Shadow, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// Why a projection stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectorError {
    #[error("event log: {0}")]
    Log(#[from] EventLogError),
    #[error("read model: {0}")]
    Store(#[from] StoreError),
}

/// Runs the employee read-model projections.
#[derive(Clone)]
pub struct Projector {
    log: Arc<dyn EventLog>,
    store: SqlReadModel,
    views: Arc<dyn ApprovalViews>,
    bus: Arc<dyn ChangeBus>,
    skips: Arc<Mutex<SkipLog>>,
    work: Arc<Mutex<HashMap<&'static str, Work>>>,
    /// The consumer group base name when projections are shared with other instances.
    group: Option<String>,
    batch: usize,
    /// Commits per batch when catching up (rebuilds, restarts): larger than live batches,
    /// so a document's commits mostly fold in one transaction.
    catch_up_batch: usize,
}

/// Where the store says a projection stands: the start of each partition a shared
/// subscription is given.
struct StoredPositions {
    projector: Projector,
    projection: Projection,
}

#[async_trait::async_trait]
impl Positions for StoredPositions {
    async fn positions(&self) -> Result<Checkpoint, EventLogError> {
        self.projector.checkpoint(self.projection).await.map_err(|e| match e {
            ProjectorError::Log(e) => e,
            ProjectorError::Store(e) => EventLogError::Unavailable(format!("read model: {e}")),
        })
    }
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector").field("store", &self.store).finish()
    }
}

/// Commits per batch when catching up. Measured with `erp bench rebuild` (docs/performance.md):
/// past a few thousand the gain flattens while a bad commit's one-by-one fallback grows.
const CATCH_UP_BATCH: usize = 4_000;

impl Projector {
    /// The employee read model and the approval views both in `store` (the embedded default).
    pub fn new(log: Arc<dyn EventLog>, store: SqlReadModel) -> Self {
        let views: Arc<dyn ApprovalViews> = Arc::new(store.clone());
        Self {
            log,
            store,
            views,
            bus: Arc::new(LocalBus::default()),
            skips: Arc::new(Mutex::new(SkipLog::default())),
            work: Arc::new(Mutex::new(HashMap::new())),
            group: None,
            batch: 500,
            catch_up_batch: CATCH_UP_BATCH,
        }
    }

    /// Shares each projection's partitions with the other instances given the same `group`
    /// (which must write the same stores): projection `p` joins consumer group
    /// `{group}.{p}`. See the crate docs.
    pub fn shared(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// The consumer group a projection is shared through, when it is.
    pub fn group(&self, projection: Projection) -> Option<String> {
        self.group.as_ref().map(|g| format!("{g}.{}", projection.name()))
    }

    /// What this instance did for `projection` since it started.
    pub fn work(&self, projection: Projection) -> Work {
        self.work
            .lock()
            .ok()
            .and_then(|w| w.get(projection.name()).cloned())
            .unwrap_or_default()
    }

    fn tally(&self, projection: Projection, count: impl FnOnce(&mut Work)) {
        if let Ok(mut work) = self.work.lock() {
            count(work.entry(projection.name()).or_default());
        }
    }

    /// Smaller batches (tests exercise crashes between them).
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self.catch_up_batch = self.batch;
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

    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    pub fn views(&self) -> &Arc<dyn ApprovalViews> {
        &self.views
    }

    /// Publish live changes on this bus (Redis in the distributed deployment) instead of the
    /// in-process one.
    pub fn with_bus(mut self, bus: Arc<dyn ChangeBus>) -> Self {
        self.bus = bus;
        self
    }

    pub fn bus(&self) -> &Arc<dyn ChangeBus> {
        &self.bus
    }

    /// Changes as live projection commits them (never during replays).
    pub fn published(&self) -> broadcast::Receiver<Change> {
        self.bus.subscribe()
    }

    async fn checkpoint(&self, projection: Projection) -> Result<Checkpoint, ProjectorError> {
        Ok(match projection {
            Projection::Approvals => self.views.checkpoint().await?,
            other => self.store.checkpoint(other).await?,
        })
    }

    /// Applies a batch that starts at `from` (refused with `Moved` if the stored checkpoint
    /// is elsewhere: a replay swapped a copy in).
    async fn apply(
        &self,
        projection: Projection,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<usize, ProjectorError> {
        let started = Instant::now();
        // Opened before and closed after the batch: each commit's span lasts as long as the
        // batch it was applied in. Live batches only, and only when spans are exported: a
        // replay or rebuild would attach a span to every old trace (and crowd the exporter's
        // queue), and without an exporter nobody reads them.
        let spans = if notify && infra::telemetry::traces::exporting() {
            commit_spans(projection, batch)
        } else {
            Default::default()
        };
        let applied = match projection {
            Projection::Approvals => self.views.apply_from(from, batch, checkpoint, notify).await,
            other => self.store.apply_from(other, from, batch, checkpoint, notify).await,
        };
        let mut applied = match applied {
            Ok(applied) => applied,
            Err(e) => {
                for span in spans.values() {
                    span.record("otel.status_code", "error");
                }
                return Err(e.into());
            }
        };
        for change in &mut applied.published {
            if let Some(applying) = spans
                .get(change.position())
                .and_then(infra::telemetry::traces::traceparent_of)
            {
                change.continue_from(applying);
            }
        }
        drop(spans);
        metrics::histogram!("erp_projection_apply_duration_seconds", "projection" => projection.name())
            .record(infra::telemetry::metrics::seconds(started));
        metrics::counter!("erp_projection_applied_total", "projection" => projection.name())
            .increment(applied.applied as u64);
        self.tally(projection, |w| {
            w.applied += applied.applied as u64;
            w.unchanged += applied.skipped as u64;
        });
        if !applied.published.is_empty() {
            // After the commit: a change a crash keeps from the bus is still in the feed,
            // where resuming subscribers read it.
            if let Err(e) = self.bus.publish(&applied.published).await {
                tracing::warn!(error = %e, "changes committed but not published; subscribers resume from the feed");
            }
        }
        Ok(applied.applied)
    }

    /// Follows one projection until `stop` turns true.
    ///
    /// When a replay swaps a new copy in underneath, the next batch finds the stored
    /// checkpoint moved; the projection then follows on from the copy's checkpoint. A shared
    /// projection ([`Self::shared`]) repositions its partitions in place instead of
    /// subscribing again, and so it does after a failed batch, keeping its place in the group.
    pub async fn run(&self, projection: Projection, mut stop: watch::Receiver<bool>) -> Result<(), ProjectorError> {
        'subscribe: loop {
            let mut subscription = self.subscribe(projection).await?;
            let mut from = subscription.checkpoint().clone();
            // Set when the subscription was repositioned at the stored positions: its next
            // batch is empty and its checkpoint is then the store's.
            let mut repositioned = false;
            loop {
                if *stop.borrow() {
                    subscription.close().await;
                    return Ok(());
                }
                let next = tokio::select! {
                    batch = subscription.next_batch(self.batch, Duration::from_millis(200)) => batch,
                    _ = stop.changed() => {
                        subscription.close().await;
                        return Ok(());
                    }
                };
                self.note_partitions(projection, subscription.checkpoint());
                let batch = match next {
                    Ok(batch) => batch,
                    Err(e) => {
                        self.recover(projection, &mut *subscription, e.into(), &mut stop)
                            .await?;
                        repositioned = true;
                        continue;
                    }
                };
                let to = subscription.checkpoint().clone();
                if batch.is_empty() {
                    // Positions change without a batch when a shared subscription was given
                    // partitions or repositioned them (the store's positions: taken as they
                    // are), or when it stepped over records that are not commits on a
                    // partition it held: then the position past them is stored, as for a
                    // batch with nothing to apply, so the next batch starts where the store
                    // stands and lag and catch-up see the end.
                    // A plain subscription reads every partition (one it has not delivered
                    // from yet stands at 0); a shared one steps only on partitions it held.
                    let plain = self.group(projection).is_none();
                    let stepped = !repositioned
                        && to.iter().any(|(p, at)| match from.get(p) {
                            Some(held) => held < at,
                            None => plain && *at > 0,
                        });
                    repositioned = false;
                    if !stepped {
                        from = to;
                        continue;
                    }
                }
                repositioned = false;
                self.tally(projection, |w| w.delivered += batch.len() as u64);
                let outcome = match self.apply(projection, &from, &batch, &to, true).await {
                    Err(ProjectorError::Store(StoreError::Rejected(_) | StoreError::Corrupt(_))) => {
                        self.apply_one_by_one(projection, &from, &batch, true).await.map(|_| 0)
                    }
                    other => other,
                };
                match outcome {
                    Ok(_) => {}
                    Err(ProjectorError::Store(StoreError::Moved(why))) => {
                        if subscription.reposition().await? {
                            tracing::info!(projection = projection.name(), %why, "store moved; repositioning in place");
                            repositioned = true;
                            continue;
                        }
                        tracing::info!(projection = projection.name(), %why, "following a swapped-in copy");
                        continue 'subscribe;
                    }
                    Err(e) => {
                        self.recover(projection, &mut *subscription, e, &mut stop).await?;
                        repositioned = true;
                        continue;
                    }
                }
                from = to;
                subscription.applied(&from);
            }
        }
    }

    /// A plain subscription from the stored checkpoint, or a shared one positioned from it.
    async fn subscribe(&self, projection: Projection) -> Result<Box<dyn Subscription>, ProjectorError> {
        self.tally(projection, |w| w.subscriptions += 1);
        let stream_type = projection.stream_type();
        Ok(match self.group(projection) {
            Some(group) => {
                let positions = Arc::new(StoredPositions {
                    projector: self.clone(),
                    projection,
                });
                self.log.subscribe_shared(stream_type, &group, positions).await?
            }
            None => {
                let from = self.checkpoint(projection).await?;
                self.log.subscribe(stream_type, from).await?
            }
        })
    }

    /// After a batch failed (or could not be read): a shared subscription waits a moment and
    /// repositions at the stored positions, keeping its partitions; otherwise the error ends
    /// the run (and [`Self::spawn_all`] subscribes again).
    async fn recover(
        &self,
        projection: Projection,
        subscription: &mut dyn Subscription,
        error: ProjectorError,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), ProjectorError> {
        if self.group.is_none() || !subscription.reposition().await? {
            return Err(error);
        }
        tracing::warn!(projection = projection.name(), %error, "batch not applied; repositioning at the stored positions");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
        Ok(())
    }

    fn note_partitions(&self, projection: Projection, held: &Checkpoint) {
        let partitions: Vec<u32> = match self.group {
            Some(_) => held.keys().copied().collect(),
            None => (0..self.log.partitions()).collect(),
        };
        self.tally(projection, |w| {
            if w.partitions != partitions {
                w.partitions = partitions;
            }
        });
    }

    /// Applies a batch the store refused as a whole one commit at a time, stepping over (and
    /// recording) each commit that is refused on its own. The store being down is not a bad
    /// event: then even the step over fails, and the error stops the run for a retry.
    async fn apply_one_by_one(
        &self,
        projection: Projection,
        from: &Checkpoint,
        batch: &[Delivered],
        notify: bool,
    ) -> Result<Checkpoint, ProjectorError> {
        let mut at = from.clone();
        for delivered in batch {
            let mut next = at.clone();
            next.insert(delivered.partition, delivered.offset + 1);
            let single = std::slice::from_ref(delivered);
            let reason = match self.apply(projection, &at, single, &next, notify).await {
                Ok(_) => {
                    at = next;
                    continue;
                }
                Err(ProjectorError::Store(StoreError::Rejected(e))) => ("store_refused", e),
                Err(ProjectorError::Store(StoreError::Corrupt(e))) => ("undecodable", e),
                Err(e) => return Err(e),
            };
            self.apply(projection, &at, &[], &next, false).await?;
            tracing::error!(
                projection = projection.name(),
                stream = %delivered.commit.stream_id,
                version = delivered.commit.first_version,
                offset = delivered.offset,
                error = %reason.1,
                "stepped over a commit the projection cannot apply"
            );
            let skipped = Skipped {
                stream_id: delivered.commit.stream_id.clone(),
                first_version: delivered.commit.first_version,
                partition: delivered.partition,
                offset: delivered.offset,
                reason: reason.0,
                at: Utc::now(),
            };
            if let Ok(mut skips) = self.skips.lock() {
                *skips.counts.entry(projection.name()).or_default() += 1;
                skips.last.insert(projection.name(), skipped);
            }
            at = next;
        }
        Ok(at)
    }

    /// Starts every projection on its own task; each restarts after an error. The tasks end
    /// once `stop` turns true (shared ones after leaving their groups).
    pub fn spawn_all(&self, stop: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        Projection::ALL
            .into_iter()
            .map(|projection| {
                let this = self.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    while !*stop.borrow() {
                        if let Err(e) = this.run(projection, stop.clone()).await {
                            tracing::warn!(projection = projection.name(), error = %e, "projection stopped; restarting");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                })
            })
            .collect()
    }
}

mod replay;
mod report;
mod status;

pub use replay::{Diff, ReplayProgress, ReplayReport, TableDiff};
use report::SkipLog;
pub use report::{Lag, Skipped, Work};
pub use status::record_lag;

/// One `projection.apply` span per commit of a batch that carries a trace, continuing it, by
/// the commit's log position (the changes it causes name the same position).
fn commit_spans(projection: Projection, batch: &[Delivered]) -> std::collections::HashMap<String, tracing::Span> {
    batch
        .iter()
        .filter_map(|delivered| {
            let commit = &delivered.commit;
            let parent = infra::trace::TraceContext::parse(commit.traceparent.as_deref()?)?;
            let position = infra::eventlog::Position {
                stream_type: commit.stream_type.clone(),
                partition: delivered.partition,
                offset: delivered.offset,
            }
            .token();
            let span = tracing::info_span!(
                "projection.apply",
                projection = projection.name(),
                stream_id = %commit.stream_id,
                version = commit.last_version(),
                position = %position,
                trace_id = %parent.trace_id_hex(),
                correlation_id = %commit.correlation_id,
                otel.status_code = tracing::field::Empty,
            );
            infra::telemetry::traces::continue_trace(&span, &parent);
            Some((position, span))
        })
        .collect()
}
