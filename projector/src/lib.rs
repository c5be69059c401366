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

use chrono::{DateTime, Utc};
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

/// How far a projection is behind the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    pub projection: &'static str,
    /// Commits in the log the projection has not applied.
    pub events_behind: u64,
    /// Age of the oldest commit not applied yet; 0 when caught up.
    pub seconds_behind: i64,
    /// Commits this projector stepped over because the store refused them or they did not
    /// decode (since it started); the stream they belong to stops at the commit before.
    pub skipped: u64,
    /// The most recent of them.
    pub last_skipped: Option<Skipped>,
    /// Partitions this instance projects now: its share when projections are shared through
    /// a consumer group, otherwise every partition; none when it does not run the projection.
    pub partitions: Vec<u32>,
}

/// What one instance did for one projection since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Work {
    /// Partitions this instance projects now (see [`Lag::partitions`]).
    pub partitions: Vec<u32>,
    /// Commits read from the log and handed to the store.
    pub delivered: u64,
    /// Commits the store applied.
    pub applied: u64,
    /// Commits the store left as they were: already applied (a redelivery) or fenced by rule R.
    pub unchanged: u64,
    /// Times the projection subscribed to the log: once, unless an error or a replay's swap
    /// made a plain subscription start over (a shared one repositions in place instead).
    pub subscriptions: u64,
}

/// A commit a projection could not apply and stepped over, so one bad event never stalls
/// every other stream behind it. Its stream's later commits are then fenced by rule R (they
/// no longer follow on), so the read model shows that stream as it stood before; an operator
/// repairs it and replays the projection (`erp replay`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub stream_id: String,
    pub first_version: u64,
    pub partition: u32,
    pub offset: u64,
    /// `store_refused` (e.g. a value too long for its column) or `undecodable`; the full
    /// error goes to the log only (it may quote the data).
    pub reason: &'static str,
    pub at: DateTime<Utc>,
}

/// Skips per projection since start.
#[derive(Debug, Default)]
struct SkipLog {
    counts: HashMap<&'static str, u64>,
    last: HashMap<&'static str, Skipped>,
}

/// Where a replay (or a catch-up) stands, reported after every batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayProgress {
    pub projection: &'static str,
    /// Log records (commits) applied so far and in all.
    pub commits_done: u64,
    pub commits_total: u64,
    pub events_done: u64,
    pub elapsed: Duration,
}

impl ReplayProgress {
    /// Events per second so far.
    pub fn events_per_second(&self) -> f64 {
        self.events_done as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }

    /// Time left at the rate so far, once there is a rate.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.commits_done as f64 / self.elapsed.as_secs_f64().max(1e-3);
        (self.commits_done > 0 && rate > 0.0)
            .then(|| Duration::from_secs_f64(self.commits_total.saturating_sub(self.commits_done) as f64 / rate))
    }
}

/// How a live projection differs from a rebuild of the same log: rows the rebuild has and
/// the live copy lacks (`missing`), rows only the live copy has (`extra`), and rows in both
/// that differ (`different`), by table and key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub projection: &'static str,
    pub rows_compared: usize,
    pub tables: Vec<TableDiff>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableDiff {
    pub table: String,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
    pub different: Vec<String>,
}

impl Diff {
    pub fn between(projection: &'static str, rebuilt: &infra::readmodel::Dump, live: &infra::readmodel::Dump) -> Self {
        let mut diff = Diff {
            projection,
            ..Diff::default()
        };
        let empty = std::collections::BTreeMap::new();
        let tables: std::collections::BTreeSet<&String> = rebuilt.keys().chain(live.keys()).collect();
        for table in tables {
            let (r, l) = (rebuilt.get(table).unwrap_or(&empty), live.get(table).unwrap_or(&empty));
            diff.rows_compared += r.len().max(l.len());
            let t = TableDiff {
                table: table.clone(),
                missing: r.keys().filter(|k| !l.contains_key(*k)).cloned().collect(),
                extra: l.keys().filter(|k| !r.contains_key(*k)).cloned().collect(),
                different: r
                    .iter()
                    .filter(|(k, v)| l.get(*k).is_some_and(|lv| lv != *v))
                    .map(|(k, _)| k.clone())
                    .collect(),
            };
            if !(t.missing.is_empty() && t.extra.is_empty() && t.different.is_empty()) {
                diff.tables.push(t);
            }
        }
        diff
    }

    /// No row differs.
    pub fn is_clean(&self) -> bool {
        self.tables.is_empty()
    }
}

/// What a finished replay did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub projection: &'static str,
    /// Commits folded into the copy.
    pub commits: u64,
    /// Rows copied by the swap (0 where a pointer moved instead).
    pub rows_swapped: u64,
    pub took: Duration,
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
        let applied = match projection {
            Projection::Approvals => self.views.apply_from(from, batch, checkpoint, notify).await?,
            other => self.store.apply_from(other, from, batch, checkpoint, notify).await?,
        };
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
                        continue;
                    }
                };
                if batch.is_empty() {
                    // Positions change without a batch only when a shared subscription was
                    // given partitions or repositioned them.
                    from = subscription.checkpoint().clone();
                    continue;
                }
                self.tally(projection, |w| w.delivered += batch.len() as u64);
                let to = subscription.checkpoint().clone();
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
                            continue;
                        }
                        tracing::info!(projection = projection.name(), %why, "following a swapped-in copy");
                        continue 'subscribe;
                    }
                    Err(e) => {
                        self.recover(projection, &mut *subscription, e, &mut stop).await?;
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

    /// Applies everything up to the log's current end (rebuilds, tests, `erp replay`).
    pub async fn catch_up(&self, projection: Projection) -> Result<u64, ProjectorError> {
        self.catch_up_with(projection, false).await
    }

    /// As [`Self::catch_up`]; `notify` announces new feed entries (live catch-up after a
    /// restart) instead of staying silent (rebuilds).
    pub async fn catch_up_with(&self, projection: Projection, notify: bool) -> Result<u64, ProjectorError> {
        self.catch_up_reporting(projection, notify, None, &mut |_| {}).await
    }

    /// Applies up to `until` (the log's current end when `None`).
    async fn catch_up_reporting(
        &self,
        projection: Projection,
        notify: bool,
        until: Option<&Checkpoint>,
        progress: &mut (dyn FnMut(&ReplayProgress) + Send),
    ) -> Result<u64, ProjectorError> {
        let started = Instant::now();
        let end = match until {
            Some(until) => until.clone(),
            None => self.log.end_offsets(projection.stream_type()).await?,
        };
        let mut from = self.checkpoint(projection).await?;
        let at_start: u64 = from.values().sum();
        let mut subscription = self.log.subscribe(projection.stream_type(), from.clone()).await?;
        let mut report = ReplayProgress {
            projection: projection.name(),
            commits_done: 0,
            commits_total: end.values().sum::<u64>().saturating_sub(at_start),
            events_done: 0,
            elapsed: Duration::ZERO,
        };
        let mut applied = 0;
        while !reached(subscription.checkpoint(), &end) {
            let mut batch = subscription.next_batch(self.batch, Duration::from_millis(500)).await?;
            // Never past `end`: a diff compares with a copy that stopped exactly there.
            batch.retain(|d| end.get(&d.partition).is_some_and(|e| d.offset < *e));
            if batch.is_empty() {
                continue;
            }
            match self
                .apply(projection, &from, &batch, subscription.checkpoint(), notify)
                .await
            {
                Ok(n) => {
                    applied += n as u64;
                    from = subscription.checkpoint().clone();
                }
                Err(ProjectorError::Store(StoreError::Rejected(_) | StoreError::Corrupt(_))) => {
                    from = self.apply_one_by_one(projection, &from, &batch, notify).await?;
                }
                Err(e) => return Err(e),
            }
            report.commits_done = from.values().sum::<u64>().saturating_sub(at_start);
            report.events_done += batch.iter().map(|d| d.commit.events.len() as u64).sum::<u64>();
            report.elapsed = started.elapsed();
            progress(&report);
        }
        Ok(applied)
    }

    /// A copy over the same stores that announces nothing (its bus has no listeners): the
    /// base of replay shadows and diff scratch copies, which swap in their own stores.
    fn silent(&self) -> Self {
        Self {
            log: self.log.clone(),
            store: self.store.clone(),
            views: self.views.clone(),
            bus: Arc::new(LocalBus::default()),
            skips: Arc::new(Mutex::new(SkipLog::default())),
            work: Arc::new(Mutex::new(HashMap::new())),
            group: None,
            batch: self.batch,
        }
    }

    /// Rebuilds one projection from the whole log without taking it offline: replays into a
    /// shadow copy (announcing nothing), then swaps the copy in atomically. A live projector
    /// of the same store carries on from the copy's checkpoint (see [`Self::run`]).
    pub async fn replay(
        &self,
        projection: Projection,
        progress: &mut (dyn FnMut(&ReplayProgress) + Send),
    ) -> Result<ReplayReport, ProjectorError> {
        let started = Instant::now();
        let mut shadow = self.silent();
        let (handle, copy) = match projection {
            Projection::Approvals => {
                let (views, handle) = self.views.shadow().await?;
                shadow.views = views;
                (handle, None)
            }
            other => {
                let (store, handle) = self.store.shadow(other).await?;
                shadow.store = store.clone();
                (Shadow::Sql(handle), Some(store))
            }
        };
        let filled = shadow.catch_up_reporting(projection, false, None, progress).await;
        if let Some(store) = &copy {
            store.close().await;
        }
        let swapped = match filled {
            Ok(commits) => match (&handle, projection) {
                (Shadow::Sql(sql), p) if p != Projection::Approvals => {
                    self.store.swap_in(p, sql).await.map(|rows| (commits, rows))
                }
                (handle, _) => self.views.swap_in(handle).await.map(|rows| (commits, rows)),
            }
            .map_err(ProjectorError::from),
            Err(e) => Err(e),
        };
        let discarded = match projection {
            Projection::Approvals => self.views.discard(&handle).await,
            other => match &handle {
                Shadow::Sql(sql) => self.store.discard_shadow(sql).await,
                Shadow::Mongo(_) => Ok(()),
            }
            .map_err(|e| {
                tracing::warn!(projection = other.name(), error = %e, "shadow left behind");
                e
            }),
        };
        let (commits, rows_swapped) = swapped?;
        discarded?;
        Ok(ReplayReport {
            projection: projection.name(),
            commits,
            rows_swapped,
            took: started.elapsed(),
        })
    }

    /// Rebuilds `projection` from the log into a scratch copy, up to `until` or to where the
    /// live copy stands, and compares the two row by row. The scratch copy is removed after.
    pub async fn diff(
        &self,
        projection: Projection,
        until: Option<Checkpoint>,
        progress: &mut (dyn FnMut(&ReplayProgress) + Send),
    ) -> Result<Diff, ProjectorError> {
        let until = match until {
            Some(until) => until,
            None => self.checkpoint(projection).await?,
        };
        let mut scratch = self.silent();
        let handle = match projection {
            Projection::Approvals => {
                let (views, handle) = self.views.shadow().await?;
                scratch.views = views;
                handle
            }
            other => {
                let (store, handle) = self.store.shadow(other).await?;
                scratch.store = store;
                Shadow::Sql(handle)
            }
        };
        let compared = async {
            scratch
                .catch_up_reporting(projection, false, Some(&until), progress)
                .await?;
            let (rebuilt, live) = match projection {
                Projection::Approvals => (scratch.views.dump().await?, self.views.dump().await?),
                other => (scratch.store.dump(other).await?, self.store.dump(other).await?),
            };
            Ok::<_, ProjectorError>(Diff::between(projection.name(), &rebuilt, &live))
        }
        .await;
        if projection != Projection::Approvals {
            scratch.store.close().await;
        }
        let discarded = match (&handle, projection) {
            (Shadow::Sql(sql), p) if p != Projection::Approvals => self.store.discard_shadow(sql).await,
            (handle, _) => self.views.discard(handle).await,
        };
        let diff = compared?;
        discarded?;
        Ok(diff)
    }

    /// Lag of every projection.
    pub async fn lag(&self) -> Result<Vec<Lag>, ProjectorError> {
        let mut lags = Vec::new();
        for projection in Projection::ALL {
            let at = self.checkpoint(projection).await?;
            let behind = infra::readmodel::lag::behind(self.log.as_ref(), projection, at).await?;
            let (skipped, last_skipped) = self
                .skips
                .lock()
                .map(|s| {
                    (
                        s.counts.get(projection.name()).copied().unwrap_or(0),
                        s.last.get(projection.name()).cloned(),
                    )
                })
                .unwrap_or_default();
            lags.push(Lag {
                projection: projection.name(),
                events_behind: behind.events,
                seconds_behind: behind.seconds,
                skipped,
                last_skipped,
                partitions: self.work(projection).partitions,
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
    out.push_str("# HELP erp_projection_lag_seconds Age of the oldest commit a projection has not applied.\n# TYPE erp_projection_lag_seconds gauge\n");
    for lag in lags {
        out.push_str(&format!(
            "erp_projection_lag_seconds{{projection=\"{}\"}} {}\n",
            lag.projection,
            lag.seconds_behind.max(0)
        ));
    }
    out.push_str("# HELP erp_projection_skipped_total Commits a projection stepped over (refused or undecodable).\n# TYPE erp_projection_skipped_total counter\n");
    for lag in lags {
        out.push_str(&format!(
            "erp_projection_skipped_total{{projection=\"{}\"}} {}\n",
            lag.projection, lag.skipped
        ));
    }
    out.push_str("# HELP erp_projection_partitions Partitions this instance projects (its share of a shared projection).\n# TYPE erp_projection_partitions gauge\n");
    for lag in lags {
        out.push_str(&format!(
            "erp_projection_partitions{{projection=\"{}\"}} {}\n",
            lag.projection,
            lag.partitions.len()
        ));
    }
    out
}

fn reached(at: &Checkpoint, end: &Checkpoint) -> bool {
    end.iter().all(|(p, e)| at.get(p).copied().unwrap_or(0) >= *e)
}
