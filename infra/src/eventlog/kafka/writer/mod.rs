//! Partition ownership and the single writer per partition.
//!
//! Every instance joins the writer consumer group `{prefix}.writers` on all events topics. The
//! group protocol assigns each partition to exactly one live member; that member:
//!
//! 1. **restores** the partition: stream heads and recent command ids from the state topic,
//!    then the tail of the events topic from the group's committed offset up to the high
//!    watermark seen at assignment. The state partition is read to its end or the restore
//!    fails — heads not read would count as new streams (version 0) — and a failed restore is
//!    retried with backoff for as long as the assignment lasts. Each assignment has a
//!    generation: a partition revoked and given back while its first restore runs gets a new
//!    one, and a restore applies only to the generation it was started for, so an older restore
//!    never winds heads back. Records the tail delivers meanwhile are held, up to
//!    `MAX_BUFFERED`; past that the partition is paused and read again from the first record
//!    not held, never applied over a gap;
//! 2. **writes**: checks the expected version against its heads (plus its own in-flight
//!    commits), produces, and answers once rule R has been applied at the commit's offset — at
//!    once when the offset is the next one it expected (no foreign record can sit between),
//!    otherwise once every offset before it is judged — by the tail, or by this writer's own
//!    earlier commits settling (delivery reports race, so the report for n + 1 often comes
//!    first). The wait is bounded
//!    by `append_timeout`: an append never hangs, it answers 503 and the commit's fate is left
//!    to R (a retry with the same command id gets the first answer). The broker's answer is
//!    handled on a task of its own, so the in-flight state is settled even when the caller has
//!    stopped waiting. Each record is answered with its own judgement, kept by commit id: a
//!    retry is a record of its own, and one fenced after its command was accepted is told that
//!    acceptance, a duplicate;
//! 3. **tails** its partitions continuously, so records of a stale writer are seen and judged
//!    by the same rule; a record that does not decode is taken in its place like any other
//!    (held while restoring), moving the position and accepting nothing;
//! 4. **announces** each partition it has restored on the owners topic, again every
//!    `announce_interval` while it owns it (an announcement is a lease, see [`super::owners`]),
//!    and withdraws it when the partition is revoked or the writer stops;
//! 5. **snapshots** dirty heads to the compacted state topic and only then commits the group
//!    offset, so a committed offset is always covered by the state topic. A writer paused past
//!    its session (SIGSTOP) may write its stale heads after the new owner wrote newer ones and
//!    before it learns it was revoked, so the last snapshot of a stream is not always its
//!    newest: a restore takes the highest version per stream, and writes that head back when a
//!    stale one came last, so compaction (which keeps a key's last record) keeps the newest;
//! 6. **checks** its heads against the log every `head_check_interval`: it reads each owned
//!    partition by rule R from the start (once per assignment, then only what was added) and
//!    compares, at the offset it has applied up to, every stream's head with its own. A stream
//!    that differs is stuck — a head from a snapshot that lies answers 409 to every honest
//!    expected version and accepts its owner's commits that every reader fences — and is
//!    reported with partitions assigned but not ready past `not_ready_bound` and failed
//!    restores ([`LogHealth`], the command API's `/readyz` and `/metrics`).
//!
//! The owner serves every stream of its partitions: from memory when it holds the whole
//! history (streams it replayed from version 1, or read once before), otherwise read from the
//! partition with rule R and joined with what its tail applied since. Snapshots record where
//! each stream's first commit lies, so that read starts there, not at the partition's start.
//!
//! When the group takes a partition away, the state is dropped at once and waiting appends get
//! 503: their records, if they landed, are judged by R like any other, and a retry with the same
//! command id on the new owner returns the first result. The group rebalances cooperatively
//! (`cooperative-sticky`): a join or leave moves only the partitions that change hands, so the
//! others are neither revoked nor restored again. A writer the group fences out (membership is
//! static, and the broker gave its id to a newer member) gives up every partition the same way
//! and joins again with a new consumer ([`rebalance`]).

use super::config::KafkaConfig;
use crate::eventlog::EventLogError;
use health::check_heads_periodically;
use rdkafka::producer::FutureProducer;
use state::Shared;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tasks::{announce, drive};
use tokio::sync::watch;

impl Writers {
    pub(super) fn start(config: Arc<KafkaConfig>, producer: FutureProducer) -> Result<Arc<Self>, EventLogError> {
        let (shared, notes) = Shared::new(config.clone());
        let consumer = rebalance::join(&shared)?;
        if config.write {
            // What the group divides, so that the sum of what the instances own can be
            // compared with it (ErpNoPartitionOwner).
            metrics::gauge!("erp_eventlog_partitions_total")
                .set(f64::from(config.partitions) * config.stream_types.len() as f64);
        }
        let (stop, stopped) = watch::channel(false);
        let writers = Arc::new(Self {
            shared: shared.clone(),
            producer: producer.clone(),
            stop,
            task: Mutex::new(None),
            announcer: Mutex::new(Some(tokio::spawn(announce(
                shared.clone(),
                producer.clone(),
                notes,
                stopped.clone(),
            )))),
        });
        if config.write && !config.head_check_interval.is_zero() {
            tokio::spawn(check_heads_periodically(Arc::downgrade(&writers), stopped.clone()));
        }
        let task = tokio::spawn(drive(Arc::new(consumer), shared, producer, stopped));
        if let Ok(mut slot) = writers.task.lock() {
            *slot = Some(task);
        }
        Ok(writers)
    }

    /// Withdraws this instance's announcements (bounded: a broker that does not answer
    /// leaves them to expire) and leaves the group.
    pub(super) async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        let announcer = self.announcer.lock().ok().and_then(|mut t| t.take());
        if let Some(announcer) = announcer {
            let _ = tokio::time::timeout(Duration::from_secs(5), announcer).await;
        }
    }

    /// Whether this instance owns the partition and has restored it.
    pub(super) fn owns(&self, stream_type: &str, partition: u32) -> bool {
        self.shared
            .state(&(stream_type.to_owned(), partition))
            .is_some_and(|s| s.lock().map(|s| s.ready && !s.revoked).unwrap_or(false))
    }

    /// Whether the group gave this instance the partition (restored or still restoring) and has
    /// not taken it away: its writes are this instance's to make, once restored.
    pub(super) fn holds(&self, stream_type: &str, partition: u32) -> bool {
        self.shared
            .state(&(stream_type.to_owned(), partition))
            .is_some_and(|s| s.lock().map(|s| !s.revoked).unwrap_or(false))
    }

    pub(super) fn owned(&self) -> Vec<(String, u32)> {
        let Ok(states) = self.shared.states.lock() else {
            return Vec::new();
        };
        let mut owned: Vec<_> = states
            .iter()
            .filter(|(_, s)| s.lock().map(|s| s.ready).unwrap_or(false))
            .map(|(k, _)| k.clone())
            .collect();
        owned.sort();
        owned
    }

    pub(super) fn reports(&self) -> Vec<RestoreReport> {
        self.shared.reports.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

mod append;
mod health;
mod partition;
mod rebalance;
mod restore;
mod state;
mod tasks;
#[cfg(test)]
mod tests;

pub use state::RestoreReport;
pub(super) use state::Writers;
