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

impl PartitionState {
    fn new(stream_type: String, partition: u32) -> Self {
        Self {
            stream_type,
            partition,
            generation: 0,
            restoring: true,
            buffered: Vec::new(),
            overflow_from: None,
            refilling: false,
            ready: false,
            revoked: false,
            next: 0,
            target: 0,
            started: Instant::now(),
            restore_failures: 0,
            replayed: 0,
            heads: StreamHeads::default(),
            commands: HashMap::new(),
            recent: HashMap::new(),
            dirty: HashSet::new(),
            inflight_heads: HashMap::new(),
            inflight_commands: HashMap::new(),
            early: HashMap::new(),
            waiting: HashMap::new(),
            cache: HashMap::new(),
            first_offsets: HashMap::new(),
        }
    }

    fn position(&self, offset: u64) -> Position {
        Position {
            stream_type: self.stream_type.clone(),
            partition: self.partition,
            offset,
        }
    }

    fn tentative_head(&self, stream_id: &str) -> Head {
        self.inflight_heads
            .get(stream_id)
            .map(|(h, _)| h.clone())
            .unwrap_or_else(|| self.heads.head(stream_id))
    }

    /// Whether memory holds the stream's history from version 1 (streams replayed from their
    /// start, read once since, or not begun), not only its head from a snapshot.
    fn holds_whole_history(&self, stream_id: &str) -> bool {
        self.ready
            && match self.cache.get(stream_id) {
                Some(commits) => commits.first().is_some_and(|(_, c)| c.first_version == 1),
                None => self.heads.version(stream_id) == 0,
            }
    }

    fn release_inflight(&mut self, record: &CommitRecord) {
        if let Some((_, count)) = self.inflight_heads.get_mut(&record.stream_id) {
            *count -= 1;
            if *count == 0 {
                self.inflight_heads.remove(&record.stream_id);
            }
        }
    }

    /// Applies rule R to the record at `offset` and settles whoever waits for it.
    fn apply(&mut self, offset: u64, record: CommitRecord) {
        if offset < self.next {
            return;
        }
        self.next = offset + 1;
        self.replayed += 1;
        let answer = match self.heads.admit(&record) {
            Admission::Accepted => {
                if record.first_version == 1 {
                    self.first_offsets.insert(record.stream_id.clone(), offset);
                }
                let appended = record.appended_at(self.position(offset));
                self.commands.insert(record.command_id, appended.clone());
                let recent = self.recent.entry(record.stream_id.clone()).or_default();
                recent.push_back(appended.clone());
                if recent.len() > RECENT_COMMANDS {
                    recent.pop_front();
                }
                self.dirty.insert(record.stream_id.clone());
                self.cache
                    .entry(record.stream_id.clone())
                    .or_default()
                    .push((offset, Arc::new(record.clone())));
                Ok(appended)
            }
            Admission::Fenced { head } => Err(EventLogError::Conflict {
                expected: ExpectedVersion::Exact(record.first_version.saturating_sub(1)),
                actual: head,
            }),
        };
        if let Some(retries) = self.inflight_commands.remove(&record.command_id) {
            self.release_inflight(&record);
            for retry in retries {
                let _ = retry.send(answer.clone().map(|a| Appended { duplicate: true, ..a }));
            }
            match self.waiting.remove(&offset) {
                Some(reply) => {
                    let _ = reply.send(answer);
                }
                None => {
                    self.early.insert(record.command_id, answer);
                }
            }
        }
        if !self.ready && !self.restoring && self.next >= self.target {
            self.ready = true;
        }
    }

    /// Takes a record the tail delivered: held while restoring (up to [`MAX_BUFFERED`]),
    /// otherwise judged by rule R at once.
    fn deliver(&mut self, offset: u64, record: CommitRecord) -> Delivery {
        if self.restoring {
            if self.overflow_from.is_some() {
                return Delivery::Held;
            }
            if self.buffered.len() >= MAX_BUFFERED {
                self.overflow_from = Some(offset);
                return Delivery::Overflowed;
            }
            self.buffered.push((offset, record));
            return Delivery::Held;
        }
        if self.refilling {
            if offset > self.next {
                return Delivery::Held;
            }
            if offset == self.next {
                self.refilling = false;
            }
        }
        let before = self.ready;
        self.apply(offset, record);
        if !before && self.ready {
            Delivery::BecameReady
        } else {
            Delivery::Applied
        }
    }

    /// Settles this writer's own record once the broker answered its produce: answers `reply`
    /// now when the record is judged or failed, otherwise when the tail reaches its offset.
    fn settle(&mut self, record: CommitRecord, produced: Result<u64, EventLogError>, reply: oneshot::Sender<Answer>) {
        let offset = match produced {
            Ok(offset) => offset,
            Err(e) => {
                // Possibly landed anyway: R will judge it when the tail reads it, and a
                // retry of this command id will then get the first answer.
                self.release_inflight(&record);
                if let Some(retries) = self.inflight_commands.remove(&record.command_id) {
                    for retry in retries {
                        let _ = retry.send(Err(e.clone()));
                    }
                }
                let _ = reply.send(Err(e));
                return;
            }
        };
        let answer = if let Some(answer) = self.early.remove(&record.command_id) {
            answer
        } else if self.revoked {
            Err(EventLogError::Unavailable(
                "partition moved to another writer; retry".into(),
            ))
        } else if offset == self.next && !self.restoring {
            let command_id = record.command_id;
            self.apply(offset, record);
            self.early
                .remove(&command_id)
                .unwrap_or_else(|| Err(EventLogError::Corrupt("own record was not judged at its offset".into())))
        } else {
            self.waiting.insert(offset, reply);
            return;
        };
        let _ = reply.send(answer);
    }

    fn revoke(&mut self) {
        self.revoked = true;
        let gone = || {
            Err(EventLogError::Unavailable(
                "partition moved to another writer; retry".into(),
            ))
        };
        for (_, reply) in self.waiting.drain() {
            let _ = reply.send(gone());
        }
        for (_, retries) in self.inflight_commands.drain() {
            for retry in retries {
                let _ = retry.send(gone());
            }
        }
    }
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

    /// What this instance knows to be wrong with the partitions it owns ([`LogHealth`]).
    pub(super) fn health(&self) -> LogHealth {
        let bound = self.shared.config.not_ready_bound;
        let states: Vec<(Key, Arc<Mutex<PartitionState>>)> = self
            .shared
            .states
            .lock()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let stuck = self.shared.stuck.lock().map(|s| s.clone()).unwrap_or_default();
        let mut health = LogHealth {
            restore_failures_total: self.shared.restore_failures.load(Ordering::Relaxed),
            ..LogHealth::default()
        };
        for (key, state) in states {
            let Ok(s) = state.lock() else { continue };
            if s.revoked {
                continue;
            }
            if s.ready {
                health.partitions_owned += 1;
                if let Some((generation, streams)) = stuck.get(&key) {
                    if *generation == s.generation {
                        health.stuck_streams.extend(streams.iter().cloned());
                    }
                }
            } else if s.started.elapsed() >= bound {
                health.partitions_not_ready.push(UnreadyPartition {
                    stream_type: key.0.clone(),
                    partition: key.1,
                    assigned_secs: s.started.elapsed().as_secs(),
                    restore_failures: s.restore_failures,
                });
            }
        }
        health
            .partitions_not_ready
            .sort_by(|a, b| (&a.stream_type, a.partition).cmp(&(&b.stream_type, b.partition)));
        health
            .stuck_streams
            .sort_by(|a, b| (&a.stream_type, &a.stream_id).cmp(&(&b.stream_type, &b.stream_id)));
        health
    }

    /// The heads this instance holds for a partition it owns, and the offset they cover.
    pub(super) fn heads(&self, stream_type: &str, partition: u32) -> Result<OwnerHeads, EventLogError> {
        let not_owned = || {
            EventLogError::Unavailable(format!(
                "partition {stream_type}/{partition} is not owned by this instance"
            ))
        };
        let state = self
            .shared
            .state(&(stream_type.to_owned(), partition))
            .ok_or_else(not_owned)?;
        let s = state
            .lock()
            .map_err(|_| EventLogError::Unavailable("partition state poisoned".into()))?;
        if !s.ready || s.revoked {
            return Err(not_owned());
        }
        Ok(OwnerHeads {
            instance_id: self.shared.config.instance_id.clone(),
            applied_to: s.next,
            heads: s
                .heads
                .iter()
                .filter(|(_, h)| h.version > 0)
                .map(|(id, h)| (id.clone(), (h.version, h.hash.clone())))
                .collect(),
        })
    }

    /// Compares the heads of every partition owned here with the heads the log holds by rule
    /// R, read from the partition's start (then only what was added since, for as long as the
    /// assignment lasts), and keeps what differs for [`Self::health`].
    pub(super) async fn check_heads(&self) {
        let mut log_heads = self.shared.log_heads.lock().await;
        let states: Vec<(Key, Arc<Mutex<PartitionState>>)> = self
            .shared
            .states
            .lock()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        log_heads.retain(|key, _| states.iter().any(|(k, _)| k == key));
        if let Ok(mut found) = self.shared.stuck.lock() {
            found.retain(|key, _| states.iter().any(|(k, _)| k == key));
        }
        for (key, state) in states {
            let Some((generation, target)) = state
                .lock()
                .ok()
                .filter(|s| s.ready && !s.revoked)
                .map(|s| (s.generation, s.next))
            else {
                continue;
            };
            let read = log_heads
                .entry(key.clone())
                .or_insert_with(|| LogHeads::new(generation));
            if read.generation != generation {
                *read = LogHeads::new(generation);
            }
            if read.scanned_to < target {
                let (config, k, from) = (self.shared.config.clone(), key.clone(), read.scanned_to);
                let mut heads = std::mem::take(&mut read.heads);
                let scanned = tokio::task::spawn_blocking(move || {
                    let reached = scan_heads(&config, &k, &mut heads, from, target);
                    (heads, reached)
                })
                .await;
                let Ok((heads, reached)) = scanned else {
                    *read = LogHeads::new(generation);
                    continue;
                };
                read.heads = heads;
                match reached {
                    Ok(to) => read.scanned_to = to,
                    Err((to, e)) => {
                        read.scanned_to = to;
                        tracing::warn!(stream_type = %key.0, partition = key.1, error = %e, "head check could not read the partition");
                        continue;
                    }
                }
            }
            let Ok(s) = state.lock() else { continue };
            if s.generation != generation || s.revoked {
                continue;
            }
            let stuck = stuck_streams(&s, &read.heads, read.scanned_to);
            for stream in &stuck {
                tracing::error!(stream_type = %stream.stream_type, stream_id = %stream.stream_id, owner_version = stream.owner_version, log_version = stream.log_version, "stream head disagrees with the log");
            }
            if let Ok(mut found) = self.shared.stuck.lock() {
                found.insert(key, (generation, stuck));
            }
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

    /// A stream's full accepted history from memory, when this instance has all of it.
    pub(super) fn cached_stream(&self, stream: &StreamRef, partition: u32) -> Option<Vec<(u64, Arc<CommitRecord>)>> {
        let state = self.shared.state(&(stream.stream_type.clone(), partition))?;
        let state = state.lock().ok()?;
        state
            .holds_whole_history(&stream.stream_id)
            .then(|| state.cache.get(&stream.stream_id).cloned().unwrap_or_default())
    }

    /// Whether this owner holds a stream's whole history, and so every command id it ever
    /// accepted. An unowned or restoring partition holds nothing yet.
    pub(super) fn holds_history(&self, stream: &StreamRef, partition: u32) -> bool {
        self.shared
            .state(&(stream.stream_type.clone(), partition))
            .is_some_and(|state| state.lock().is_ok_and(|s| s.holds_whole_history(&stream.stream_id)))
    }

    /// Joins a stream's accepted history, read from the partition below `high`, with what the
    /// tail applied from `high` on, and keeps it in memory when it is the whole history up to
    /// this owner's head (an owner restored from snapshots holds only heads, so every older
    /// stream is read once, then served from memory). Returns the history to serve: the joined
    /// one when this owner has applied the partition up to `high`, otherwise what was read.
    pub(super) fn adopt_read(
        &self,
        stream: &StreamRef,
        partition: u32,
        read: Vec<(u64, Arc<CommitRecord>)>,
        high: u64,
    ) -> Vec<(u64, Arc<CommitRecord>)> {
        let Some(state) = self.shared.state(&(stream.stream_type.clone(), partition)) else {
            return read;
        };
        let Ok(mut s) = state.lock() else { return read };
        if !s.ready || s.revoked || s.next < high {
            return read;
        }
        let applied = s.cache.get(&stream.stream_id).map(Vec::as_slice).unwrap_or_default();
        let joined = join_history(read, applied, high);
        if is_whole_history(&joined, s.heads.version(&stream.stream_id)) {
            if let Some((offset, _)) = joined.first() {
                if !s.first_offsets.contains_key(&stream.stream_id) {
                    // Written with the stream's next snapshot, for the next owner's reads.
                    s.first_offsets.insert(stream.stream_id.clone(), *offset);
                    s.dirty.insert(stream.stream_id.clone());
                }
            }
            // Every command id of the stream is known from here on, not only the recent ones
            // the snapshot carried.
            for (offset, record) in &joined {
                let appended = record.appended_at(s.position(*offset));
                s.commands.entry(record.command_id).or_insert(appended);
            }
            s.cache.insert(stream.stream_id.clone(), joined.clone());
        }
        joined
    }

    /// Where a stream's first commit lies in its partition, when this instance knows.
    pub(super) fn first_offset(&self, stream: &StreamRef, partition: u32) -> Option<u64> {
        let state = self.shared.state(&(stream.stream_type.clone(), partition))?;
        let offset = state.lock().ok()?.first_offsets.get(&stream.stream_id).copied();
        offset
    }

    /// The first answer to a command id, from the owner's restored command ids.
    pub(super) async fn find_command(&self, stream: &StreamRef, partition: u32, command_id: Uuid) -> FoundCommand {
        let state = self.owned_state(&(stream.stream_type.clone(), partition)).await?;
        let s = state
            .lock()
            .map_err(|_| EventLogError::Unavailable("partition state poisoned".into()))?;
        Ok(s.commands
            .get(&command_id)
            .filter(|a| a.stream == *stream)
            .map(|a| Appended {
                duplicate: true,
                ..a.clone()
            }))
    }

    /// Waits until this instance owns and has restored the partition.
    async fn owned_state(&self, key: &Key) -> Result<Arc<Mutex<PartitionState>>, EventLogError> {
        let deadline = Instant::now() + self.shared.config.ownership_wait;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(state) = self.shared.state(key) {
                if state.lock().map(|s| s.ready).unwrap_or(false) {
                    return Ok(state);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(EventLogError::Unavailable(format!(
                    "partition {}/{} is not owned by this instance",
                    key.0, key.1
                )));
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }

    /// Appends one commit. Ends within `ownership_wait` (to own the partition) plus
    /// `append_timeout` (for the answer): past that it answers `Unavailable`, and the commit,
    /// if it lands, is judged by R like any other — a retry with the same command id then
    /// gets its first answer.
    pub(super) async fn append(&self, partition: u32, commit: NewCommit, headers: OwnedHeaders) -> Answer {
        let key = (commit.stream.stream_type.clone(), partition);
        let state = self.owned_state(&key).await?;
        let topic = self.shared.config.events_topic(&key.0);
        let answer = match self.decide(&state, &commit, &topic, partition, headers)? {
            Decided::Record(record, delivery) => {
                // Settled on a task of its own, so the in-flight state is cleared even when
                // this caller stops waiting (timeout, client gone).
                let (reply, answer) = oneshot::channel();
                tokio::spawn(async move {
                    let produced = delivered(delivery).await;
                    if let Ok(mut s) = state.lock() {
                        s.settle(record, produced, reply);
                    }
                });
                answer
            }
            Decided::Wait(answer) => answer,
            Decided::Done(answer) => return answer,
        };
        let wait = self.shared.config.append_timeout;
        match tokio::time::timeout(wait, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(EventLogError::Unavailable("writer stopped".into())),
            Err(_) => Err(EventLogError::Unavailable(format!(
                "no answer from the log within {wait:?}; retry with the same command id"
            ))),
        }
    }

    /// Checks idempotency and the expected version, reserves the next version and enqueues the
    /// record, all under the partition lock so partition order follows version order.
    fn decide(
        &self,
        state: &Mutex<PartitionState>,
        commit: &NewCommit,
        topic: &str,
        partition: u32,
        headers: OwnedHeaders,
    ) -> Result<Decided, EventLogError> {
        let mut s = state
            .lock()
            .map_err(|_| EventLogError::Unavailable("partition state poisoned".into()))?;
        if s.revoked {
            return Err(EventLogError::Unavailable(
                "partition moved to another writer; retry".into(),
            ));
        }
        if let Some(first) = s.commands.get(&commit.command_id) {
            return Ok(Decided::Done(if first.stream == commit.stream {
                Ok(Appended {
                    duplicate: true,
                    ..first.clone()
                })
            } else {
                Err(EventLogError::CommandIdReused(commit.command_id))
            }));
        }
        if let Some(retries) = s.inflight_commands.get_mut(&commit.command_id) {
            // Retries that gave up (append timeout) leave their sender behind until the produce
            // settles; a client retrying in a loop must not grow the list meanwhile.
            retries.retain(|waiting| !waiting.is_closed());
            let (tx, rx) = oneshot::channel();
            retries.push(tx);
            return Ok(Decided::Wait(rx));
        }
        let head = s.tentative_head(&commit.stream.stream_id);
        if !commit.expected.admits(head.version) {
            return Err(EventLogError::Conflict {
                expected: commit.expected,
                actual: head.version,
            });
        }
        let record = CommitRecord::build(commit, head.version, &head.hash, chrono::Utc::now());
        let delivery = enqueue(&self.producer, topic, partition, &record, headers)?;
        let count = s.inflight_heads.get(&commit.stream.stream_id).map_or(0, |(_, c)| *c);
        s.inflight_heads.insert(
            commit.stream.stream_id.clone(),
            (
                Head {
                    version: record.last_version(),
                    hash: record.last_hash().to_owned(),
                },
                count + 1,
            ),
        );
        s.inflight_commands.insert(commit.command_id, Vec::new());
        Ok(Decided::Record(record, delivery))
    }
}

/// A stream's commits read from the log below `high`, then those the tail applied from `high`
/// on (the tail may also hold some below `high`: the read has them already).
fn join_history(
    mut read: Vec<(u64, Arc<CommitRecord>)>,
    applied: &[(u64, Arc<CommitRecord>)],
    high: u64,
) -> Vec<(u64, Arc<CommitRecord>)> {
    read.retain(|(offset, _)| *offset < high);
    read.extend(applied.iter().filter(|(offset, _)| *offset >= high).cloned());
    read
}

/// Whether commits are one unbroken run of versions from 1 up to `head`.
fn is_whole_history(commits: &[(u64, Arc<CommitRecord>)], head: u64) -> bool {
    let mut next = 1;
    for (_, commit) in commits {
        if commit.first_version != next {
            return false;
        }
        next = commit.last_version() + 1;
    }
    next - 1 == head
}

/// The writer's event loop: tails owned partitions, restores new ones, snapshots, and leaves
/// the group on stop.
async fn drive(
    consumer: Arc<GroupConsumer>,
    shared: Arc<Shared>,
    producer: FutureProducer,
    mut stopped: watch::Receiver<bool>,
) {
    let mut snapshot_tick = tokio::time::interval(shared.config.snapshot_interval);
    let mut poll_tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        let assigned: Vec<(Key, u64)> = shared
            .assigned
            .lock()
            .map(|mut a| a.drain(..).collect())
            .unwrap_or_default();
        for (key, generation) in assigned {
            tokio::spawn(restore(consumer.clone(), shared.clone(), key, generation));
        }
        tokio::select! {
            _ = stopped.changed() => break,
            _ = poll_tick.tick() => {}
            _ = snapshot_tick.tick() => {
                snapshot(&consumer, &shared, &producer).await;
            }
            message = consumer.recv() => match message {
                Ok(message) => {
                    let Some(key) = shared.key_of(message.topic(), message.partition()) else { continue };
                    let Some(state) = shared.state(&key) else { continue };
                    let offset = message.offset() as u64;
                    let record = match CommitRecord::decode(message.payload().unwrap_or_default()) {
                        Ok(record) => record,
                        Err(e) => {
                            tracing::error!(topic = message.topic(), offset, error = %e, "undecodable record skipped by R");
                            if let Ok(mut s) = state.lock() { s.next = s.next.max(offset + 1); }
                            continue;
                        }
                    };
                    let delivery = match state.lock() {
                        Ok(mut s) => s.deliver(offset, record),
                        Err(_) => Delivery::Held,
                    };
                    match delivery {
                        Delivery::BecameReady => report(&shared, &state),
                        Delivery::Overflowed => {
                            let mut tpl = TopicPartitionList::new();
                            tpl.add_partition(message.topic(), message.partition());
                            if let Err(e) = consumer.pause(&tpl) {
                                tracing::error!(error = %e, "could not pause a partition whose restore buffer is full");
                            }
                        }
                        Delivery::Held | Delivery::Applied => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "writer consumer error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    snapshot(&consumer, &shared, &producer).await;
    consumer.unsubscribe();
    // Let the revoke callback run and the leave reach the broker.
    let _ = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await;
    if let Ok(mut states) = shared.states.lock() {
        for (_, state) in states.drain() {
            if let Ok(mut s) = state.lock() {
                s.revoke();
            }
        }
    }
}

fn report(shared: &Shared, state: &Mutex<PartitionState>) {
    let Ok(s) = state.lock() else { return };
    let report = RestoreReport {
        stream_type: s.stream_type.clone(),
        partition: s.partition,
        streams_from_snapshot: s.heads.len(),
        records_replayed: s.replayed,
        took: s.started.elapsed(),
    };
    tracing::info!(stream_type = %report.stream_type, partition = report.partition, took_ms = report.took.as_millis() as u64, replayed = report.records_replayed, "partition restored");
    let _ = shared
        .notes
        .send(Note::Owned((report.stream_type.clone(), report.partition)));
    if let Ok(mut reports) = shared.reports.lock() {
        reports.insert(0, report);
    }
    shared.changed.notify_waiters();
}

/// Announces the partitions this instance owns on the owners topic, and keeps announcing
/// them every `announce_interval` (an announcement is a lease, see [`super::owners`]);
/// withdraws a partition's announcement as soon as it is revoked, and all of them when the
/// writer stops (or is dropped). One task, so records reach the topic in the order ownership
/// changed.
async fn announce(
    shared: Arc<Shared>,
    producer: FutureProducer,
    mut notes: mpsc::UnboundedReceiver<Note>,
    mut stopped: watch::Receiver<bool>,
) {
    let config = shared.config.clone();
    let mut refresh = tokio::time::interval(config.announce_interval);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut announced: HashSet<Key> = HashSet::new();
    loop {
        let (owned, lost, stop) = tokio::select! {
            note = notes.recv() => match note {
                // Ready, unless revoked since (its withdrawal is then already queued).
                Some(Note::Owned(key)) => (shared.ready_keys().into_iter().filter(|k| *k == key).collect(), Vec::new(), false),
                Some(Note::Lost(key)) => (Vec::new(), vec![key], false),
                None => (Vec::new(), announced.drain().collect(), true),
            },
            _ = stopped.changed() => (Vec::new(), announced.drain().collect(), true),
            _ = refresh.tick() => (shared.ready_keys(), Vec::new(), false),
        };
        let mut sent = Vec::new();
        for key in owned {
            sent.extend(enqueue_announcement(&config, &producer, &key, true));
            announced.insert(key);
        }
        for key in lost {
            sent.extend(enqueue_announcement(&config, &producer, &key, false));
            announced.remove(&key);
        }
        let acked = tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(sent)).await;
        match acked {
            Err(_) => tracing::warn!("owner announcements not acknowledged within 5 s"),
            Ok(results) => {
                for result in results {
                    if !matches!(result, Ok(Ok(_))) {
                        tracing::warn!(?result, "owner announcement not written");
                    }
                }
            }
        }
        if stop {
            return;
        }
    }
}

/// Runs [`Writers::check_heads`] every `head_check_interval` until the writer stops or is
/// dropped.
async fn check_heads_periodically(writers: std::sync::Weak<Writers>, mut stopped: watch::Receiver<bool>) {
    let Some(interval) = writers.upgrade().map(|w| w.shared.config.head_check_interval) else {
        return;
    };
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let Some(writers) = writers.upgrade() else { return };
        writers.check_heads().await;
    }
}

/// The heads of one partition by rule R over its records from the start up to `scanned_to`,
/// as the head check read them for one assignment.
#[derive(Debug, Default)]
struct LogHeads {
    generation: u64,
    scanned_to: u64,
    heads: StreamHeads,
}

impl LogHeads {
    fn new(generation: u64) -> Self {
        Self {
            generation,
            ..Self::default()
        }
    }
}

/// Applies rule R to the records of the events partition from `from` up to `to` (excluded).
/// Returns `to`, or how far it got and why it stopped. Blocking.
fn scan_heads(
    config: &KafkaConfig,
    (stream_type, partition): &Key,
    heads: &mut StreamHeads,
    from: u64,
    to: u64,
) -> Result<u64, (u64, EventLogError)> {
    let topic = config.events_topic(stream_type);
    let reader: BaseConsumer = config
        .consumer_config(&format!("{}.readers", config.prefix))
        .create()
        .map_err(|e| (from, unavailable(e)))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, *partition as i32, Offset::Offset(from as i64))
        .and_then(|()| reader.assign(&tpl))
        .map_err(|e| (from, unavailable(e)))?;
    let mut reached = from;
    let deadline = Instant::now() + STATE_READ_TIMEOUT;
    while reached < to {
        if Instant::now() > deadline {
            return Err((
                reached,
                EventLogError::Unavailable(format!("read {topic}/{partition} only to {reached} of {to}")),
            ));
        }
        let Some(message) = reader.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.map_err(|e| (reached, unavailable(e)))?;
        let offset = message.offset() as u64;
        if offset >= to {
            break;
        }
        if let Ok(record) = CommitRecord::decode(message.payload().unwrap_or_default()) {
            heads.admit(&record);
        }
        reached = offset + 1;
    }
    Ok(to)
}

/// Streams whose head in the owner's `state` differs from `log`, the heads the log holds by
/// rule R below offset `at`. A stream the owner moved at or after `at` is left for the next
/// check: its two heads are of different moments.
fn stuck_streams(state: &PartitionState, log: &StreamHeads, at: u64) -> Vec<StuckStream> {
    let moved_since = |id: &str| {
        state
            .cache
            .get(id)
            .and_then(|commits| commits.last())
            .is_some_and(|(offset, _)| *offset >= at)
    };
    let ids: BTreeSet<&String> = state.heads.iter().chain(log.iter()).map(|(id, _)| id).collect();
    ids.into_iter()
        .filter(|id| !moved_since(id))
        .filter_map(|id| {
            let (mine, theirs) = (state.heads.head(id), log.head(id));
            (mine != theirs).then(|| StuckStream {
                stream_type: state.stream_type.clone(),
                partition: state.partition,
                stream_id: id.clone(),
                owner_version: mine.version,
                log_version: theirs.version,
                at_offset: at,
            })
        })
        .collect()
}

/// Restores one newly assigned partition ([`load`]), retrying with backoff until it succeeds
/// or the assignment is no longer current.
async fn restore(consumer: Arc<GroupConsumer>, shared: Arc<Shared>, key: Key, generation: u64) {
    let finished = restore_with(&shared, &key, generation, RESTORE_BACKOFF_FIRST, {
        let (consumer, config, key) = (consumer.clone(), shared.config.clone(), key.clone());
        move || load(&consumer, &config, &key)
    })
    .await;
    if let Some(Finished {
        refill_from: Some(offset),
        ..
    }) = finished
    {
        // The buffer overflowed while restoring: the partition was paused at `offset`; read
        // it again from there.
        let topic = shared.config.events_topic(&key.0);
        let resumed = tokio::task::spawn_blocking(move || {
            consumer
                .seek(
                    &topic,
                    key.1 as i32,
                    Offset::Offset(offset as i64),
                    Duration::from_secs(10),
                )
                .and_then(|()| {
                    let mut tpl = TopicPartitionList::new();
                    tpl.add_partition(&topic, key.1 as i32);
                    consumer.resume(&tpl)
                })
        })
        .await;
        if !matches!(resumed, Ok(Ok(()))) {
            tracing::error!(?resumed, offset, "could not resume a partition paused while restoring");
        }
    }
}

/// Runs `load` until it succeeds and [`finish_restore`] applies it, waiting `backoff` (then
/// twice as long each time, up to [`RESTORE_BACKOFF_MAX`]) after each failure. Gives up as
/// soon as the assignment `generation` is no longer the partition's current one.
async fn restore_with<F>(
    shared: &Arc<Shared>,
    key: &Key,
    generation: u64,
    mut backoff: Duration,
    load: F,
) -> Option<Finished>
where
    F: Fn() -> Result<Restored, EventLogError> + Clone + Send + 'static,
{
    loop {
        let current = shared
            .state(key)
            .is_some_and(|s| s.lock().is_ok_and(|s| restore_is_current(&s, generation)));
        if !current {
            return None;
        }
        let loaded = tokio::task::spawn_blocking(load.clone())
            .await
            .unwrap_or_else(|e| Err(EventLogError::Unavailable(format!("restore task failed: {e}"))));
        match loaded {
            Ok(restored) => return finish_restore(shared, key, generation, restored),
            Err(e) => {
                shared.restore_failures.fetch_add(1, Ordering::Relaxed);
                if let Some(state) = shared.state(key) {
                    if let Ok(mut s) = state.lock() {
                        s.restore_failures += 1;
                    }
                }
                tracing::error!(stream_type = %key.0, partition = key.1, error = %e, retry_in_ms = backoff.as_millis() as u64, "restore failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RESTORE_BACKOFF_MAX);
            }
        }
    }
}

/// Whether a restore started for assignment `generation` may still apply to this state: the
/// partition was not revoked (and perhaps given back, with a newer generation) meanwhile, and
/// no other restore has applied.
fn restore_is_current(state: &PartitionState, generation: u64) -> bool {
    state.generation == generation && state.restoring && !state.revoked
}

/// How a restore ended.
#[derive(Debug, PartialEq, Eq)]
struct Finished {
    ready: bool,
    /// The first record dropped because the buffer was full: the tail reads again from here.
    refill_from: Option<u64>,
}

/// Applies a restore to the partition's state, unless the state belongs to another
/// assignment than the one the restore was started for: then the restore is dropped (`None`)
/// and the current assignment's own restore applies.
fn finish_restore(shared: &Shared, key: &Key, generation: u64, restored: Restored) -> Option<Finished> {
    let state = shared.state(key)?;
    let finished = {
        let mut s = state.lock().ok()?;
        if !restore_is_current(&s, generation) {
            tracing::info!(stream_type = %key.0, partition = key.1, generation, current = s.generation, "restore of an earlier assignment dropped");
            return None;
        }
        let Restored {
            snapshots,
            start,
            target,
        } = restored;
        for (stream_id, snapshot) in snapshots.newest {
            if let Some(offset) = snapshot.first_offset {
                s.first_offsets.insert(stream_id.clone(), offset);
            }
            s.heads.restore(
                stream_id.clone(),
                Head {
                    version: snapshot.version,
                    hash: snapshot.hash,
                },
            );
            for appended in snapshot.commands {
                s.recent
                    .entry(stream_id.clone())
                    .or_default()
                    .push_back(appended.clone());
                s.commands.insert(appended.command_id, appended);
            }
        }
        s.dirty.extend(snapshots.stale_last);
        s.next = start;
        s.target = target;
        s.restoring = false;
        let buffered = std::mem::take(&mut s.buffered);
        for (offset, record) in buffered {
            s.apply(offset, record);
        }
        let refill_from = s.overflow_from.take();
        if let Some(offset) = refill_from {
            s.refilling = true;
            s.target = s.target.max(offset + 1);
        }
        if s.next >= s.target {
            s.ready = true;
        }
        Finished {
            ready: s.ready,
            refill_from,
        }
    };
    if finished.ready {
        report(shared, &state);
    }
    Some(finished)
}

/// Reads what a restore needs: the group's committed offset and the high watermark of the
/// events partition, and the newest snapshot per stream from the whole state partition.
/// Blocking.
fn load(consumer: &GroupConsumer, config: &KafkaConfig, key: &Key) -> Result<Restored, EventLogError> {
    let (stream_type, partition) = key;
    let events_topic = config.events_topic(stream_type);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&events_topic, *partition as i32);
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .map_err(unavailable)?;
    let start = committed
        .elements()
        .first()
        .and_then(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(o as u64),
            _ => None,
        })
        .unwrap_or(0);
    let (_, high) = consumer
        .fetch_watermarks(&events_topic, *partition as i32, Duration::from_secs(10))
        .map_err(unavailable)?;
    let reader: BaseConsumer = config
        .consumer_config(&format!("{}.restore", config.prefix))
        .create()
        .map_err(unavailable)?;
    let state_topic = config.state_topic(stream_type);
    let (low, state_high) = reader
        .fetch_watermarks(&state_topic, *partition as i32, Duration::from_secs(10))
        .map_err(unavailable)?;
    let snapshots = read_state(
        &reader,
        &state_topic,
        *partition,
        (low, state_high),
        Instant::now() + STATE_READ_TIMEOUT,
    )?;
    Ok(Restored {
        snapshots,
        start,
        target: high.max(0) as u64,
    })
}

/// Reads one partition of the state topic from `low` up to `high`, or fails: a restore from
/// part of the snapshots would take every stream not read for a new one (version 0), and
/// acknowledge commits every reader then fences.
fn read_state(
    reader: &BaseConsumer,
    topic: &str,
    partition: u32,
    (low, high): (i64, i64),
    deadline: Instant,
) -> Result<NewestSnapshots, EventLogError> {
    let mut snapshots = NewestSnapshots::default();
    if high <= low {
        return Ok(snapshots);
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition as i32, Offset::Offset(low))
        .map_err(unavailable)?;
    reader.assign(&tpl).map_err(unavailable)?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(EventLogError::Unavailable(format!(
                "read {topic}/{partition} only in part (to {high}) before the deadline"
            )));
        }
        let Some(message) = reader.poll(left.min(Duration::from_millis(200))) else {
            continue;
        };
        let message = message.map_err(unavailable)?;
        if let (Some(key), Some(payload)) = (message.key(), message.payload()) {
            match serde_json::from_slice::<StreamSnapshot>(payload) {
                Ok(snapshot) => snapshots.add(String::from_utf8_lossy(key).into_owned(), snapshot),
                Err(e) => tracing::warn!(topic, offset = message.offset(), error = %e, "unreadable snapshot skipped"),
            }
        }
        if message.offset() + 1 >= high {
            return Ok(snapshots);
        }
    }
}

/// Writes dirty heads to the state topic, then commits the group offsets they cover.
async fn snapshot(consumer: &Arc<GroupConsumer>, shared: &Arc<Shared>, producer: &FutureProducer) {
    let states: Vec<_> = shared
        .states
        .lock()
        .map(|s| s.values().cloned().collect())
        .unwrap_or_default();
    let mut commit = TopicPartitionList::new();
    for state in states {
        let (stream_type, partition, next, dirty) = {
            let Ok(mut s) = state.lock() else { continue };
            if !s.ready || s.revoked || s.dirty.is_empty() {
                continue;
            }
            let dirty: Vec<_> = std::mem::take(&mut s.dirty)
                .into_iter()
                .map(|stream_id| {
                    let head = s.heads.head(&stream_id);
                    let first_offset = s.first_offsets.get(&stream_id).copied();
                    let commands = s
                        .recent
                        .get(&stream_id)
                        .map(|r| r.iter().cloned().collect())
                        .unwrap_or_default();
                    (
                        stream_id,
                        StreamSnapshot {
                            version: head.version,
                            hash: head.hash,
                            commands,
                            covered: s.next,
                            first_offset,
                        },
                    )
                })
                .collect();
            (s.stream_type.clone(), s.partition, s.next, dirty)
        };
        let topic = shared.config.state_topic(&stream_type);
        let mut ok = true;
        for (stream_id, snapshot) in &dirty {
            let Ok(payload) = serde_json::to_vec(snapshot) else {
                continue;
            };
            let sent = producer
                .send(
                    FutureRecord::to(&topic)
                        .partition(partition as i32)
                        .key(stream_id)
                        .payload(&payload),
                    Duration::from_secs(10),
                )
                .await;
            ok &= sent.is_ok();
        }
        if ok {
            let _ = commit.add_partition_offset(
                &shared.config.events_topic(&stream_type),
                partition as i32,
                Offset::Offset(next as i64),
            );
        } else if let Ok(mut s) = state.lock() {
            s.dirty.extend(dirty.into_iter().map(|(id, _)| id));
        }
    }
    if commit.count() > 0 {
        let consumer = consumer.clone();
        let committed = tokio::task::spawn_blocking(move || consumer.commit(&commit, CommitMode::Sync)).await;
        if !matches!(committed, Ok(Ok(()))) {
            // Likely no longer a member of the current generation (paused past the session):
            // the snapshots just written may be stale, which restores tolerate by taking the
            // newest head per stream.
            tracing::warn!(instance = %shared.config.instance_id, result = ?committed, "offset commit after snapshot failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::{NewEvent, StreamRef};
    use rdkafka::ClientConfig;

    /// Writers whose broker never answers (nothing listens at the address) and that own
    /// partition 0 of `doc` as if restored: every produce waits until `message_timeout`.
    fn writers_without_a_broker(message_timeout: Duration) -> Arc<Writers> {
        let mut config = KafkaConfig::local("127.0.0.1:9", "t", &["doc"]);
        config.partitions = 1;
        config.write = false;
        config.append_timeout = Duration::from_millis(300);
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("message.timeout.ms", message_timeout.as_millis().to_string())
            .create()
            .unwrap();
        let writers = Writers::start(Arc::new(config), producer).unwrap();
        let mut state = PartitionState::new("doc".into(), 0);
        state.restoring = false;
        state.ready = true;
        writers
            .shared
            .states
            .lock()
            .unwrap()
            .insert(("doc".into(), 0), Arc::new(Mutex::new(state)));
        writers
    }

    fn new_commit() -> NewCommit {
        NewCommit {
            stream: StreamRef::new("doc", "doc-1"),
            expected: ExpectedVersion::NoStream,
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: None,
            traceparent: None,
            events: vec![NewEvent {
                event_type: "doc.noted".into(),
                schema_version: 1,
                payload: serde_json::json!({}),
            }],
        }
    }

    /// One stream's chain of single-event commits, at the given offsets.
    fn chain_at(offsets: &[u64]) -> Vec<(u64, Arc<CommitRecord>)> {
        let mut head = Head::default();
        offsets
            .iter()
            .map(|offset| {
                let record = CommitRecord::build(&new_commit(), head.version, &head.hash, chrono::Utc::now());
                head = Head {
                    version: record.last_version(),
                    hash: record.last_hash().to_owned(),
                };
                (*offset, Arc::new(record))
            })
            .collect()
    }

    fn versions(commits: &[(u64, Arc<CommitRecord>)]) -> Vec<u64> {
        commits.iter().map(|(_, c)| c.first_version).collect()
    }

    #[test]
    fn a_stream_read_from_the_log_is_joined_with_what_the_tail_applied_after_the_read() {
        let chain = chain_at(&[1, 3, 5, 7, 9]);
        // Read below offset 6; the tail, restored at offset 4, applied offsets 5, 7 and 9.
        let read = chain[..3].to_vec();
        let applied = chain[2..].to_vec();
        let joined = join_history(read, &applied, 6);
        assert_eq!(versions(&joined), vec![1, 2, 3, 4, 5]);
        assert!(is_whole_history(&joined, 5));
    }

    #[test]
    fn a_history_with_a_gap_or_short_of_the_head_is_not_whole() {
        let chain = chain_at(&[1, 2, 3, 4]);
        assert!(is_whole_history(&chain, 4));
        assert!(!is_whole_history(&chain, 5), "short of the head");
        assert!(!is_whole_history(&chain[1..], 4), "does not start at version 1");
        let gap: Vec<_> = [chain[0].clone(), chain[2].clone(), chain[3].clone()].to_vec();
        assert!(!is_whole_history(&gap, 4), "a version missing");
        assert!(is_whole_history(&[], 0), "a stream that does not exist");
    }

    fn shared_with(state: PartitionState) -> Arc<Shared> {
        let mut config = KafkaConfig::local("127.0.0.1:9", "t", &["doc"]);
        config.partitions = 1;
        let (shared, _) = Shared::new(Arc::new(config));
        replace_state(&shared, state);
        shared
    }

    fn replace_state(shared: &Shared, state: PartitionState) {
        shared
            .states
            .lock()
            .unwrap()
            .insert(("doc".into(), 0), Arc::new(Mutex::new(state)));
    }

    fn assignment(generation: u64) -> PartitionState {
        let mut state = PartitionState::new("doc".into(), 0);
        state.generation = generation;
        state
    }

    fn restored(version: u64, start: u64, target: u64) -> Restored {
        let mut snapshots = NewestSnapshots::default();
        snapshots.add("doc-1".into(), snapshot(version));
        Restored {
            snapshots,
            start,
            target,
        }
    }

    fn snapshot(version: u64) -> StreamSnapshot {
        StreamSnapshot {
            version,
            hash: format!("h{version}"),
            commands: Vec::new(),
            covered: 0,
            first_offset: None,
        }
    }

    fn key() -> Key {
        ("doc".into(), 0)
    }

    fn read(shared: &Shared, f: impl FnOnce(&PartitionState) -> u64) -> u64 {
        f(&shared.state(&key()).unwrap().lock().unwrap())
    }

    /// Revoked and given back while its first restore runs: whichever restore ends last, the
    /// state is the one the current assignment restored.
    #[test]
    fn a_restore_of_an_earlier_assignment_does_not_overwrite_the_current_one() {
        let shared = shared_with(assignment(2));
        let current = finish_restore(&shared, &key(), 2, restored(5, 15, 15));
        assert_eq!(
            current,
            Some(Finished {
                ready: true,
                refill_from: None
            })
        );
        assert_eq!(finish_restore(&shared, &key(), 1, restored(3, 10, 20)), None);
        assert_eq!(read(&shared, |s| s.heads.version("doc-1")), 5, "head wound back");
        assert_eq!(read(&shared, |s| s.next), 15, "tail wound back");
        assert_eq!(read(&shared, |s| u64::from(s.ready)), 1);

        let shared = shared_with(assignment(2));
        assert_eq!(finish_restore(&shared, &key(), 1, restored(3, 10, 20)), None);
        assert_eq!(read(&shared, |s| u64::from(s.restoring)), 1, "still restoring");
        assert!(finish_restore(&shared, &key(), 2, restored(5, 15, 15)).is_some());
        assert_eq!(read(&shared, |s| s.heads.version("doc-1")), 5);
    }

    #[test]
    fn an_owner_knows_where_each_stream_begins_from_its_tail_and_from_snapshots() {
        let shared = shared_with(assignment(1));
        let mut snapshots = NewestSnapshots::default();
        snapshots.add(
            "doc-2".into(),
            StreamSnapshot {
                first_offset: Some(3),
                ..snapshot(4)
            },
        );
        let restored = Restored {
            snapshots,
            start: 7,
            target: 7,
        };
        assert!(finish_restore(&shared, &key(), 1, restored).is_some());
        let state = shared.state(&key()).unwrap();
        let mut s = state.lock().unwrap();
        let first = chain_at(&[7]).remove(0).1;
        assert_eq!(s.deliver(7, (*first).clone()), Delivery::Applied);
        assert_eq!(s.first_offsets.get("doc-1"), Some(&7));
        assert_eq!(s.first_offsets.get("doc-2"), Some(&3));
    }

    #[test]
    fn the_newest_snapshot_of_a_stream_wins_in_whatever_order_they_were_written() {
        let mut snapshots = NewestSnapshots::default();
        snapshots.add("doc-1".into(), snapshot(5));
        snapshots.add("doc-1".into(), snapshot(10));
        snapshots.add("doc-1".into(), snapshot(5)); // a paused old owner, written last
        assert_eq!(snapshots.newest["doc-1"].version, 10);
        assert!(snapshots.stale_last.contains("doc-1"), "the newest is written back");
        snapshots.add("doc-1".into(), snapshot(11));
        assert_eq!(snapshots.newest["doc-1"].version, 11);
        assert!(snapshots.stale_last.is_empty());
    }

    #[test]
    fn a_restore_that_found_a_stale_snapshot_last_writes_the_newest_back() {
        let shared = shared_with(assignment(1));
        let mut snapshots = NewestSnapshots::default();
        snapshots.add("doc-1".into(), snapshot(10));
        snapshots.add("doc-1".into(), snapshot(5));
        let restored = Restored {
            snapshots,
            start: 0,
            target: 0,
        };
        assert!(finish_restore(&shared, &key(), 1, restored).is_some());
        let state = shared.state(&key()).unwrap();
        let s = state.lock().unwrap();
        assert_eq!(s.heads.version("doc-1"), 10);
        assert!(s.dirty.contains("doc-1"));
    }

    /// A broker that accepts the connection and never answers stalls the read like a slow
    /// one: reading the state topic must then fail, not count what it read as the whole.
    #[test]
    fn a_state_partition_read_only_in_part_is_a_failed_restore() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let reader: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", silent.local_addr().unwrap().to_string())
            .set("group.id", "t.restore")
            .create()
            .unwrap();
        let started = Instant::now();
        let read = read_state(
            &reader,
            "t.doc.state",
            0,
            (0, 5),
            Instant::now() + Duration::from_millis(300),
        );
        assert!(matches!(read, Err(EventLogError::Unavailable(_))), "{read:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_failed_restore_is_retried_until_it_loads() {
        let shared = shared_with(assignment(1));
        let attempts = Arc::new(AtomicU64::new(0));
        let load = {
            let attempts = attempts.clone();
            move || {
                if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(EventLogError::Unavailable("state topic leader moving".into()))
                } else {
                    Ok(restored(4, 0, 0))
                }
            }
        };
        let finished = tokio::time::timeout(
            Duration::from_secs(5),
            restore_with(&shared, &key(), 1, Duration::from_millis(10), load),
        )
        .await
        .expect("retries are bounded by backoff, not endless");
        assert_eq!(finished.map(|f| f.ready), Some(true));
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
        assert_eq!(read(&shared, |s| s.heads.version("doc-1")), 4);
    }

    #[tokio::test]
    async fn a_failing_restore_stops_retrying_once_its_assignment_is_gone() {
        let shared = shared_with(assignment(1));
        let retrying = tokio::spawn({
            let shared = shared.clone();
            async move {
                restore_with(&shared, &key(), 1, Duration::from_millis(10), || {
                    Err(EventLogError::Unavailable("down".into()))
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        replace_state(&shared, assignment(2));
        let ended = tokio::time::timeout(Duration::from_secs(5), retrying).await;
        assert!(matches!(ended, Ok(Ok(None))), "{ended:?}");
    }

    /// The tail keeps delivering while a restore runs; past the bound the partition pauses and
    /// the records not held are read again, never applied over a gap.
    #[test]
    fn a_restoring_partition_holds_a_bounded_number_of_records_and_reads_the_rest_again() {
        let shared = shared_with(assignment(1));
        let record = CommitRecord::build(&new_commit(), 0, "", chrono::Utc::now());
        let total = MAX_BUFFERED as u64 + 5;
        let state = shared.state(&key()).unwrap();
        {
            let mut s = state.lock().unwrap();
            for offset in 0..total {
                let expected = if offset == MAX_BUFFERED as u64 {
                    Delivery::Overflowed
                } else {
                    Delivery::Held
                };
                assert_eq!(s.deliver(offset, record.clone()), expected, "offset {offset}");
            }
            assert_eq!(s.buffered.len(), MAX_BUFFERED);
        }
        let finished = finish_restore(&shared, &key(), 1, restored(0, 0, total)).unwrap();
        assert_eq!(
            finished,
            Finished {
                ready: false,
                refill_from: Some(MAX_BUFFERED as u64)
            }
        );
        let mut s = state.lock().unwrap();
        assert_eq!(
            s.deliver(total - 1, record.clone()),
            Delivery::Held,
            "fetched before the pause: dropped"
        );
        assert_eq!(s.next, MAX_BUFFERED as u64);
        for offset in MAX_BUFFERED as u64..total - 1 {
            assert_eq!(s.deliver(offset, record.clone()), Delivery::Applied);
        }
        assert_eq!(s.deliver(total - 1, record), Delivery::BecameReady);
        assert_eq!(s.next, total);
    }

    /// A commit of `stream_id` following `head`.
    fn next_commit(stream_id: &str, head: &Head) -> CommitRecord {
        let mut commit = new_commit();
        commit.stream = StreamRef::new("doc", stream_id);
        CommitRecord::build(&commit, head.version, &head.hash, chrono::Utc::now())
    }

    /// The heads rule R gives `records`, read from the partition's start.
    fn heads_by_r(records: &[CommitRecord]) -> StreamHeads {
        let mut heads = StreamHeads::default();
        for record in records {
            heads.admit(record);
        }
        heads
    }

    /// An owner restored from a snapshot that lies (here: two versions ahead of the log)
    /// accepts its own next commits that every reader fences; the head check names the stream.
    #[test]
    fn a_head_that_disagrees_with_the_log_is_a_stuck_stream() {
        let first = next_commit("doc-1", &Head::default());
        let second = next_commit(
            "doc-1",
            &Head {
                version: 1,
                hash: first.last_hash().to_owned(),
            },
        );
        let other = next_commit("doc-2", &Head::default());
        let log = heads_by_r(&[first.clone(), other.clone(), second.clone()]);

        let mut state = assignment(1);
        state.ready = true;
        state.restoring = false;
        state.next = 3;
        state.heads = log.clone();
        assert!(stuck_streams(&state, &log, 3).is_empty(), "healthy: the same heads");

        state.heads.restore(
            "doc-1".into(),
            Head {
                version: 4,
                hash: "forged".into(),
            },
        );
        let stuck = stuck_streams(&state, &log, 3);
        assert_eq!(stuck.len(), 1, "{stuck:?}");
        assert_eq!(
            (
                stuck[0].stream_id.as_str(),
                stuck[0].owner_version,
                stuck[0].log_version
            ),
            ("doc-1", 4, 2)
        );

        let mut unknown = assignment(1);
        unknown.heads = heads_by_r(&[other]);
        let stuck = stuck_streams(&unknown, &log, 3);
        assert_eq!(
            stuck.iter().map(|s| s.stream_id.as_str()).collect::<Vec<_>>(),
            ["doc-1"],
            "a stream the owner counts as new"
        );
    }

    /// The owner moved a stream after the offset the check read to: its two heads are of
    /// different moments, so the stream waits for the next check.
    #[test]
    fn a_stream_moved_after_the_checked_offset_is_not_stuck() {
        let first = next_commit("doc-1", &Head::default());
        let log = heads_by_r(std::slice::from_ref(&first));
        let mut state = assignment(1);
        state.restoring = false;
        state.apply(0, first.clone());
        let second = next_commit("doc-1", &state.heads.head("doc-1"));
        state.apply(1, second);
        assert_eq!(state.heads.version("doc-1"), 2);
        assert!(stuck_streams(&state, &log, 1).is_empty());
    }

    #[tokio::test]
    async fn a_partition_assigned_and_not_ready_past_the_bound_is_reported_with_its_failed_restores() {
        let writers = writers_without_a_broker(Duration::from_secs(1));
        let bound = writers.shared.config.not_ready_bound;
        let mut stalled = PartitionState::new("doc".into(), 0);
        stalled.started = Instant::now().checked_sub(bound + Duration::from_secs(1)).unwrap();
        stalled.restore_failures = 4;
        writers
            .shared
            .states
            .lock()
            .unwrap()
            .insert(("doc".into(), 0), Arc::new(Mutex::new(stalled)));
        let health = writers.health();
        assert_eq!(health.partitions_not_ready.len(), 1, "{health:?}");
        assert_eq!(health.partitions_not_ready[0].restore_failures, 4);
        assert!(!health.is_healthy());

        let fresh = PartitionState::new("doc".into(), 0);
        writers
            .shared
            .states
            .lock()
            .unwrap()
            .insert(("doc".into(), 0), Arc::new(Mutex::new(fresh)));
        assert!(writers.health().is_healthy(), "restoring, within the bound");
        writers.stop().await;
    }

    #[tokio::test]
    async fn failed_restores_are_counted_for_the_partition_and_in_total() {
        let shared = shared_with(assignment(1));
        let attempts = Arc::new(AtomicU64::new(0));
        let load = {
            let attempts = attempts.clone();
            move || {
                if attempts.fetch_add(1, Ordering::SeqCst) < 3 {
                    Err(EventLogError::Unavailable("state topic leader moving".into()))
                } else {
                    Ok(restored(1, 0, 0))
                }
            }
        };
        restore_with(&shared, &key(), 1, Duration::from_millis(1), load).await;
        assert_eq!(shared.restore_failures.load(Ordering::Relaxed), 3);
        assert_eq!(read(&shared, |s| s.restore_failures), 3);
    }

    #[tokio::test]
    async fn an_append_and_its_retry_end_unavailable_within_the_append_timeout_when_no_answer_comes() {
        let writers = writers_without_a_broker(Duration::from_secs(120));
        let commit = new_commit();
        let first = tokio::spawn({
            let (writers, commit) = (writers.clone(), commit.clone());
            async move { writers.append(0, commit, OwnedHeaders::new()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let retry = tokio::spawn({
            let writers = writers.clone();
            async move { writers.append(0, commit, OwnedHeaders::new()).await }
        });
        for attempt in [first, retry] {
            let answer = tokio::time::timeout(Duration::from_secs(5), attempt)
                .await
                .expect("an append waited without bound")
                .unwrap();
            assert!(matches!(answer, Err(EventLogError::Unavailable(_))), "{answer:?}");
        }
        writers.stop().await;
    }

    /// A client that disconnects drops its append mid-flight; the produce still fails or lands
    /// later and must settle the in-flight state, or retries of that command wait forever and
    /// the stream's tentative head stays on a version that never came.
    #[tokio::test]
    async fn an_append_abandoned_by_its_caller_still_settles_its_in_flight_state() {
        let writers = writers_without_a_broker(Duration::from_millis(800));
        let commit = new_commit();
        let abandoned = tokio::time::timeout(
            Duration::from_millis(100),
            writers.append(0, commit, OwnedHeaders::new()),
        )
        .await;
        assert!(abandoned.is_err(), "still in flight when its caller left");
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let state = writers.shared.state(&("doc".into(), 0)).unwrap();
        {
            let s = state.lock().unwrap();
            assert!(
                s.inflight_commands.is_empty(),
                "a retry would wait for an answer that never comes"
            );
            assert!(
                s.inflight_heads.is_empty(),
                "the tentative head stayed on a failed commit"
            );
        }
        writers.stop().await;
    }
}
