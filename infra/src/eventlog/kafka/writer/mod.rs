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
//!    otherwise when the tail consumer has delivered everything before it. The wait is bounded
//!    by `append_timeout`: an append never hangs, it answers 503 and the commit's fate is left
//!    to R (a retry with the same command id gets the first answer). The broker's answer is
//!    handled on a task of its own, so the in-flight state is settled even when the caller has
//!    stopped waiting;
//! 3. **tails** its partitions continuously, so records of a stale writer are seen and judged
//!    by the same rule;
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
//! others are neither revoked nor restored again.

use super::super::chain::{Admission, Head, StreamHeads};
use super::super::codec::CommitRecord;
use super::super::health::{LogHealth, StuckStream, UnreadyPartition};
use super::super::{Appended, EventLogError, ExpectedVersion, NewCommit, Position, StreamRef};
use super::owners::{enqueue_announcement, OwnerHeads};
use super::{delivered, enqueue, unavailable, KafkaConfig};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use uuid::Uuid;

/// Command ids remembered per stream in the state topic. All are remembered while owned; a
/// new owner learns the older ones of a stream when it first reads that stream's history
/// (`KafkaLog::append_here` reads it before the first append of a stream it does not hold).
const RECENT_COMMANDS: usize = 32;

/// Records of a restoring partition held until its restore ends; past this the partition is
/// paused and read again from the first record not held.
const MAX_BUFFERED: usize = 10_000;

/// How long a failed restore waits before its first retry; each retry waits twice as long, up
/// to [`RESTORE_BACKOFF_MAX`].
const RESTORE_BACKOFF_FIRST: Duration = Duration::from_millis(200);
const RESTORE_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How long reading a partition of the state topic to its end may take.
const STATE_READ_TIMEOUT: Duration = Duration::from_secs(60);

type Key = (String, u32);

enum Decided {
    Record(CommitRecord, rdkafka::producer::DeliveryFuture),
    Wait(oneshot::Receiver<Answer>),
    Done(Answer),
}
type Answer = Result<Appended, EventLogError>;
type FoundCommand = Result<Option<Appended>, EventLogError>;

/// How long one partition restore took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub stream_type: String,
    pub partition: u32,
    pub streams_from_snapshot: usize,
    pub records_replayed: u64,
    pub took: Duration,
}

/// A stream's head as its owner last wrote it to the state topic. A writer that was paused
/// past its session (SIGSTOP, a long GC-like stall) may write its stale heads after the new
/// owner wrote newer ones, so the last record of a stream is not always its newest: a restore
/// takes the highest version per stream ([`NewestSnapshots`]), and `covered` says up to which
/// offset of the events partition the writer had applied rule R when it wrote this.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StreamSnapshot {
    version: u64,
    hash: String,
    commands: Vec<Appended>,
    #[serde(default)]
    covered: u64,
    /// Where the stream's first commit lies in the events partition, so an owner restored from
    /// snapshots reads a stream's history from there rather than from the partition's start.
    #[serde(default)]
    first_offset: Option<u64>,
}

/// The newest snapshot per stream of one state-topic partition, read in offset order.
#[derive(Debug, Default)]
struct NewestSnapshots {
    newest: HashMap<String, StreamSnapshot>,
    /// Streams whose last record is older than their newest: the restored owner writes the
    /// newest back, so compaction (which keeps the last record of a key) cannot lose it.
    stale_last: HashSet<String>,
}

impl NewestSnapshots {
    fn add(&mut self, stream_id: String, snapshot: StreamSnapshot) {
        match self.newest.get(&stream_id) {
            Some(kept) if kept.version > snapshot.version => {
                tracing::warn!(
                    stream_id,
                    kept = kept.version,
                    stale = snapshot.version,
                    "stale snapshot ignored"
                );
                self.stale_last.insert(stream_id);
            }
            _ => {
                self.stale_last.remove(&stream_id);
                self.newest.insert(stream_id, snapshot);
            }
        }
    }
}

/// What a restore read: heads and command ids, streams to write back, and where the tail of
/// the events partition starts (the group's committed offset) and ends (its high watermark).
struct Restored {
    snapshots: NewestSnapshots,
    start: u64,
    target: u64,
}

/// One owned partition.
struct PartitionState {
    stream_type: String,
    partition: u32,
    /// Which assignment of the partition this state belongs to: a restore started for an
    /// earlier assignment (revoked and given back while it ran) must not overwrite it.
    generation: u64,
    restoring: bool,
    /// Records the tail delivered while restoring, at most [`MAX_BUFFERED`].
    buffered: Vec<(u64, CommitRecord)>,
    /// The first record dropped because `buffered` was full (the partition is then paused).
    overflow_from: Option<u64>,
    /// After an overflow, until the tail delivers `next` again: records beyond it were
    /// fetched before the tail was sent back, and are dropped rather than applied over a gap.
    refilling: bool,
    ready: bool,
    revoked: bool,
    next: u64,
    target: u64,
    /// When the partition was assigned.
    started: Instant,
    /// Failed restores of this assignment.
    restore_failures: u64,
    replayed: u64,
    heads: StreamHeads,
    commands: HashMap<Uuid, Appended>,
    recent: HashMap<String, VecDeque<Appended>>,
    dirty: HashSet<String>,
    /// Tentative heads including this writer's produced-but-unjudged commits.
    inflight_heads: HashMap<String, (Head, usize)>,
    /// Own commands in flight → retries waiting for the first answer.
    inflight_commands: HashMap<Uuid, Vec<oneshot::Sender<Answer>>>,
    /// Own commits judged by the tail before their produce ack arrived.
    early: HashMap<Uuid, Answer>,
    /// Own commits acked at an offset beyond `next`, waiting for the tail.
    waiting: HashMap<u64, oneshot::Sender<Answer>>,
    cache: HashMap<String, Vec<(u64, Arc<CommitRecord>)>>,
    /// Offset of each known stream's first commit (see [`StreamSnapshot::first_offset`]).
    first_offsets: HashMap<String, u64>,
}

/// What became of a record the tail delivered.
#[derive(Debug, PartialEq, Eq)]
enum Delivery {
    /// Held (or dropped, to be read again) until the restore ends.
    Held,
    /// The buffer is full: pause the partition until the restore ends.
    Overflowed,
    Applied,
    /// Applied, and the partition caught up with its restore target.
    BecameReady,
}

type States = Mutex<HashMap<Key, Arc<Mutex<PartitionState>>>>;

/// What the writer tells its announcer ([`announce`]).
#[derive(Debug)]
enum Note {
    /// Restored and ready here: announce it.
    Owned(Key),
    /// Revoked: withdraw its announcement.
    Lost(Key),
}

struct Shared {
    config: Arc<KafkaConfig>,
    /// To the announcer, in the order ownership changed.
    notes: mpsc::UnboundedSender<Note>,
    states: States,
    changed: Notify,
    /// Partitions assigned and not yet being restored, with their assignment's generation.
    assigned: Mutex<Vec<(Key, u64)>>,
    generations: AtomicU64,
    reports: Mutex<Vec<RestoreReport>>,
    restore_failures: AtomicU64,
    /// What the last head check found per partition, for the assignment it checked.
    stuck: Mutex<HashMap<Key, (u64, Vec<StuckStream>)>>,
    /// The head check's own reading of each owned partition; one check at a time.
    log_heads: tokio::sync::Mutex<HashMap<Key, LogHeads>>,
    /// The restores of the current assignment round, summed up in one INFO line when the
    /// last one finishes (each partition's own line is DEBUG).
    round: Mutex<RestoreRound>,
}

/// Restores assigned in one rebalance round and how far they are.
#[derive(Debug, Default)]
struct RestoreRound {
    pending: usize,
    restored: usize,
    replayed: u64,
    started: Option<Instant>,
}

impl Shared {
    fn new(config: Arc<KafkaConfig>) -> (Arc<Self>, mpsc::UnboundedReceiver<Note>) {
        let (notes, received) = mpsc::unbounded_channel();
        let shared = Arc::new(Self {
            config,
            notes,
            states: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            assigned: Mutex::new(Vec::new()),
            generations: AtomicU64::new(0),
            reports: Mutex::new(Vec::new()),
            restore_failures: AtomicU64::new(0),
            stuck: Mutex::new(HashMap::new()),
            log_heads: tokio::sync::Mutex::new(HashMap::new()),
            round: Mutex::new(RestoreRound::default()),
        });
        (shared, received)
    }

    /// Partitions owned here, restored and not revoked.
    fn ready_keys(&self) -> Vec<Key> {
        let Ok(states) = self.states.lock() else {
            return Vec::new();
        };
        let mut keys: Vec<Key> = states
            .iter()
            .filter(|(_, s)| s.lock().is_ok_and(|s| s.ready && !s.revoked))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    }

    fn key_of(&self, topic: &str, partition: i32) -> Option<Key> {
        Some((self.config.stream_type_of(topic)?, partition as u32))
    }

    fn state(&self, key: &Key) -> Option<Arc<Mutex<PartitionState>>> {
        self.states.lock().ok()?.get(key).cloned()
    }
}

/// Receives the group's assignment decisions. The group rebalances cooperatively
/// (`cooperative-sticky`): a `Revoke` lists only the partitions taken from this instance and an
/// `Assign` only those added, so every other partition keeps its state, restored and serving.
struct OwnerContext {
    shared: Arc<Shared>,
}

/// The writer-group consumer, closed on a thread of its own when the last handle goes.
///
/// librdkafka's close runs a final rebalance whose `assign` can wait forever on a group that
/// is still joining (seen when a log is dropped right after `connect`); a close on the
/// dropping thread would then hang a tokio runtime's shutdown. Closing aside keeps every drop
/// prompt, and process exit ends a close that never returns.
struct GroupConsumer(Option<StreamConsumer<OwnerContext>>);

impl std::ops::Deref for GroupConsumer {
    type Target = StreamConsumer<OwnerContext>;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("the consumer is only taken by drop")
    }
}

impl Drop for GroupConsumer {
    fn drop(&mut self) {
        if let Some(consumer) = self.0.take() {
            let closing = std::thread::Builder::new()
                .name("kafka-close".into())
                .spawn(move || drop(consumer));
            if let Err(e) = closing {
                tracing::warn!(error = %e, "could not close the writer consumer aside");
            }
        }
    }
}

impl ClientContext for OwnerContext {}

impl ConsumerContext for OwnerContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let Ok(mut states) = self.shared.states.lock() else {
                return;
            };
            for element in tpl.elements() {
                if let Some(key) = self.shared.key_of(element.topic(), element.partition()) {
                    if let Some(state) = states.remove(&key) {
                        if let Ok(mut state) = state.lock() {
                            state.revoke();
                        }
                        let _ = self.shared.notes.send(Note::Lost(key));
                    }
                }
            }
            tracing::info!(instance = %self.shared.config.instance_id, revoked = tpl.count(), "partitions revoked");
            if tpl.count() > 0 {
                super::count_rebalance(&self.shared.config.writer_group, "revoked");
            }
            // Restores of revoked partitions never report: the next assignment starts a new round.
            if let Ok(mut round) = self.shared.round.lock() {
                *round = RestoreRound::default();
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            // A partition paused by an earlier assignment's full restore buffer starts afresh.
            if let Err(e) = consumer.resume(tpl) {
                tracing::warn!(error = %e, "could not resume newly assigned partitions");
            }
            let Ok(mut states) = self.shared.states.lock() else {
                return;
            };
            let mut assigned = Vec::new();
            for element in tpl.elements() {
                if let Some(key) = self.shared.key_of(element.topic(), element.partition()) {
                    let held = states.get(&key).is_some_and(|s| s.lock().is_ok_and(|s| !s.revoked));
                    if held {
                        // Incremental assignments add partitions; one already held stays as is.
                        continue;
                    }
                    let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed) + 1;
                    let mut state = PartitionState::new(key.0.clone(), key.1);
                    state.generation = generation;
                    states.insert(key.clone(), Arc::new(Mutex::new(state)));
                    assigned.push((key, generation));
                }
            }
            tracing::info!(instance = %self.shared.config.instance_id, assigned = assigned.len(), "partitions assigned");
            if !assigned.is_empty() {
                super::count_rebalance(&self.shared.config.writer_group, "assigned");
            }
            if let Ok(mut round) = self.shared.round.lock() {
                if round.pending == 0 {
                    *round = RestoreRound {
                        started: Some(Instant::now()),
                        ..RestoreRound::default()
                    };
                }
                round.pending += assigned.len();
            }
            if let Ok(mut pending) = self.shared.assigned.lock() {
                pending.extend(assigned);
            }
        }
    }
}

/// The writers of this instance.
pub(super) struct Writers {
    shared: Arc<Shared>,
    producer: FutureProducer,
    stop: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    announcer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Writers {
    pub(super) fn start(config: Arc<KafkaConfig>, producer: FutureProducer) -> Result<Arc<Self>, EventLogError> {
        let (shared, notes) = Shared::new(config.clone());
        let consumer: StreamConsumer<OwnerContext> = config
            .consumer_config(&config.writer_group)
            .set("group.instance.id", &config.instance_id)
            // Incremental rebalances: a join or leave moves only the partitions that change
            // hands; the rest stay assigned, restored and serving.
            .set("partition.assignment.strategy", "cooperative-sticky")
            .create_with_context(OwnerContext { shared: shared.clone() })
            .map_err(unavailable)?;
        let topics: Vec<String> = config.stream_types.iter().map(|t| config.events_topic(t)).collect();
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        if config.write {
            consumer.subscribe(&topic_refs).map_err(unavailable)?;
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
        let task = tokio::spawn(drive(
            Arc::new(GroupConsumer(Some(consumer))),
            shared,
            producer,
            stopped,
        ));
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
mod restore;
mod tasks;
#[cfg(test)]
mod tests;

use health::*;
use restore::*;
use tasks::*;
