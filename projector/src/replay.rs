//! Rebuilding a projection: catching up to the log's end, replaying into a shadow copy that
//! is swapped in while the live projection keeps serving, and diffing a fresh rebuild
//! against the live rows (`erp replay`).

use super::*;

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

impl Projector {
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
    pub(super) async fn catch_up_reporting(
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
        let subscription = self.log.subscribe(projection.stream_type(), from.clone()).await?;
        let mut report = ReplayProgress {
            projection: projection.name(),
            commits_done: 0,
            commits_total: end.values().sum::<u64>().saturating_sub(at_start),
            events_done: 0,
            elapsed: Duration::ZERO,
        };
        let mut applied = 0;
        // The next batch is read (and decoded) while this one is written: one batch ahead.
        let mut ahead = ReadAhead::start(subscription, self.catch_up_batch, end.clone());
        while let Some(next) = ahead.batches.recv().await {
            let (batch, checkpoint) = next?;
            match self.apply(projection, &from, &batch, &checkpoint, notify).await {
                Ok(n) => {
                    applied += n as u64;
                    from = checkpoint;
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
        // The channel also closes when the reading task dies: that is not the end of the log.
        ahead.finished().await?;
        Ok(applied)
    }

    /// A copy over the same stores that announces nothing (its bus has no listeners): the
    /// base of replay shadows and diff scratch copies, which swap in their own stores.
    pub(super) fn silent(&self) -> Self {
        Self {
            log: self.log.clone(),
            store: self.store.clone(),
            views: self.views.clone(),
            bus: Arc::new(LocalBus::default()),
            skips: Arc::new(Mutex::new(SkipLog::default())),
            work: Arc::new(Mutex::new(HashMap::new())),
            group: None,
            batch: self.batch,
            catch_up_batch: self.catch_up_batch,
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
}

/// Batches of at most `max` commits up to `end` (never past it: a diff compares with a copy
/// that stopped exactly there), each with the checkpoint after it, read by a task of their
/// own one batch ahead of the reader. The channel ends after `end`, or after an error; the
/// task is stopped when this is dropped (a caller that returns early leaves nothing behind).
struct ReadAhead {
    batches: tokio::sync::mpsc::Receiver<Result<(Vec<Delivered>, Checkpoint), ProjectorError>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReadAhead {
    fn start(mut subscription: Box<dyn Subscription>, max: usize, end: Checkpoint) -> Self {
        let (tx, batches) = tokio::sync::mpsc::channel(1);
        let task = tokio::spawn(async move {
            while !reached(subscription.checkpoint(), &end) {
                let next = subscription
                    .next_batch(max, Duration::from_millis(500))
                    .await
                    .map_err(ProjectorError::from)
                    .map(|mut batch| {
                        batch.retain(|d| end.get(&d.partition).is_some_and(|e| d.offset < *e));
                        (batch, subscription.checkpoint().clone())
                    });
                let failed = next.is_err();
                match next {
                    Ok((batch, _)) if batch.is_empty() => continue,
                    next => {
                        if tx.send(next).await.is_err() || failed {
                            return;
                        }
                    }
                }
            }
        });
        Self { batches, task }
    }

    /// After the channel closed: an error unless the task read up to the end.
    async fn finished(&mut self) -> Result<(), ProjectorError> {
        (&mut self.task).await.map_err(|e| {
            ProjectorError::Log(infra::eventlog::EventLogError::Unavailable(format!(
                "reading ahead: {e}"
            )))
        })
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) fn reached(at: &Checkpoint, end: &Checkpoint) -> bool {
    end.iter().all(|(p, e)| at.get(p).copied().unwrap_or(0) >= *e)
}
