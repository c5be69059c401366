//! What a writer holds: each owned partition's state, the table shared by the writer's
//! tasks, the snapshots a restore reads, and the writer-group consumer.

use crate::eventlog::chain::{Head, StreamHeads};
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::health::StuckStream;
use crate::eventlog::kafka::config::KafkaConfig;
use crate::eventlog::{Appended, EventLogError};
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use uuid::Uuid;

/// Command ids remembered per stream in the state topic. All are remembered while owned; a
/// new owner learns the older ones of a stream when it first reads that stream's history
/// (`KafkaLog::append_here` reads it before the first append of a stream it does not hold).
pub(super) const RECENT_COMMANDS: usize = 32;

/// Records of a restoring partition held until its restore ends; past this the partition is
/// paused and read again from the first record not held.
pub(super) const MAX_BUFFERED: usize = 10_000;

/// How long a failed restore waits before its first retry; each retry waits twice as long, up
/// to [`RESTORE_BACKOFF_MAX`].
pub(super) const RESTORE_BACKOFF_FIRST: Duration = Duration::from_millis(200);
pub(super) const RESTORE_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How long reading a partition of the state topic to its end may take.
pub(super) const STATE_READ_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) type Key = (String, u32);

pub(super) enum Decided {
    Record(CommitRecord, rdkafka::producer::DeliveryFuture),
    Wait(oneshot::Receiver<Answer>),
    Done(Answer),
}
pub(super) type Answer = Result<Appended, EventLogError>;
pub(super) type FoundCommand = Result<Option<Appended>, EventLogError>;

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
pub(super) struct StreamSnapshot {
    pub(super) version: u64,
    pub(super) hash: String,
    pub(super) commands: Vec<Appended>,
    #[serde(default)]
    pub(super) covered: u64,
    /// Where the stream's first commit lies in the events partition, so an owner restored from
    /// snapshots reads a stream's history from there rather than from the partition's start.
    #[serde(default)]
    pub(super) first_offset: Option<u64>,
}

/// The newest snapshot per stream of one state-topic partition, read in offset order.
#[derive(Debug, Default)]
pub(super) struct NewestSnapshots {
    pub(super) newest: HashMap<String, StreamSnapshot>,
    /// Streams whose last record is older than their newest: the restored owner writes the
    /// newest back, so compaction (which keeps the last record of a key) cannot lose it.
    pub(super) stale_last: HashSet<String>,
}

impl NewestSnapshots {
    pub(super) fn add(&mut self, stream_id: String, snapshot: StreamSnapshot) {
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
pub(super) struct Restored {
    pub(super) snapshots: NewestSnapshots,
    pub(super) start: u64,
    pub(super) target: u64,
}

/// One owned partition.
pub(super) struct PartitionState {
    pub(super) stream_type: String,
    pub(super) partition: u32,
    /// Which assignment of the partition this state belongs to: a restore started for an
    /// earlier assignment (revoked and given back while it ran) must not overwrite it.
    pub(super) generation: u64,
    pub(super) restoring: bool,
    /// Records the tail delivered while restoring, at most [`MAX_BUFFERED`] (`None`: one that
    /// did not decode, stepped over in its place).
    pub(super) buffered: Vec<(u64, Option<CommitRecord>)>,
    /// The first record dropped because `buffered` was full (the partition is then paused).
    pub(super) overflow_from: Option<u64>,
    /// After an overflow, until the tail delivers `next` again: records beyond it were
    /// fetched before the tail was sent back, and are dropped rather than applied over a gap.
    pub(super) refilling: bool,
    pub(super) ready: bool,
    pub(super) revoked: bool,
    pub(super) next: u64,
    pub(super) target: u64,
    /// When the partition was assigned.
    pub(super) started: Instant,
    /// Failed restores of this assignment.
    pub(super) restore_failures: u64,
    pub(super) replayed: u64,
    pub(super) heads: StreamHeads,
    pub(super) commands: HashMap<Uuid, Appended>,
    pub(super) recent: HashMap<String, VecDeque<Appended>>,
    pub(super) dirty: HashSet<String>,
    /// Tentative heads including this writer's produced-but-unjudged commits.
    pub(super) inflight_heads: HashMap<String, (Head, usize)>,
    /// Own commands in flight → retries waiting for the first answer.
    pub(super) inflight_commands: HashMap<Uuid, Vec<oneshot::Sender<Answer>>>,
    /// Own records produced and not yet judged, by commit id: a command's retry is a record
    /// of its own, and each record's caller gets that record's answer.
    pub(super) inflight_commits: HashSet<Uuid>,
    /// Own records judged by the tail before their produce ack arrived, by commit id.
    pub(super) early: HashMap<Uuid, Answer>,
    /// Own commits acked at an offset beyond `next`, with their records: judged as soon as
    /// every offset before theirs is (by the tail, or by an own commit settling), never later.
    pub(super) waiting: HashMap<u64, (CommitRecord, oneshot::Sender<Answer>)>,
    pub(super) cache: HashMap<String, Vec<(u64, Arc<CommitRecord>)>>,
    /// Offset of each known stream's first commit (see [`StreamSnapshot::first_offset`]).
    pub(super) first_offsets: HashMap<String, u64>,
}

/// What became of a record the tail delivered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Delivery {
    /// Held (or dropped, to be read again) until the restore ends.
    Held,
    /// The buffer is full: pause the partition until the restore ends.
    Overflowed,
    Applied,
    /// Applied, and the partition caught up with its restore target.
    BecameReady,
}

pub(super) type States = Mutex<HashMap<Key, Arc<Mutex<PartitionState>>>>;

/// What the writer tells its announcer ([`announce`]).
#[derive(Debug)]
pub(super) enum Note {
    /// Restored and ready here: announce it.
    Owned(Key),
    /// Revoked: withdraw its announcement.
    Lost(Key),
}

pub(super) struct Shared {
    pub(super) config: Arc<KafkaConfig>,
    /// To the announcer, in the order ownership changed.
    pub(super) notes: mpsc::UnboundedSender<Note>,
    pub(super) states: States,
    pub(super) changed: Notify,
    /// Partitions assigned and not yet being restored, with their assignment's generation.
    pub(super) assigned: Mutex<Vec<(Key, u64)>>,
    pub(super) generations: AtomicU64,
    pub(super) reports: Mutex<Vec<RestoreReport>>,
    pub(super) restore_failures: AtomicU64,
    /// What the last head check found per partition, for the assignment it checked.
    pub(super) stuck: Mutex<HashMap<Key, (u64, Vec<StuckStream>)>>,
    /// The head check's own reading of each owned partition; one check at a time.
    pub(super) log_heads: tokio::sync::Mutex<HashMap<Key, LogHeads>>,
    /// The restores of the current assignment round, summed up in one INFO line when the
    /// last one finishes (each partition's own line is DEBUG).
    pub(super) round: Mutex<RestoreRound>,
}

/// Restores assigned in one rebalance round and how far they are.
#[derive(Debug, Default)]
pub(super) struct RestoreRound {
    pub(super) pending: usize,
    pub(super) restored: usize,
    pub(super) replayed: u64,
    pub(super) started: Option<Instant>,
}

impl Shared {
    pub(super) fn new(config: Arc<KafkaConfig>) -> (Arc<Self>, mpsc::UnboundedReceiver<Note>) {
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
    pub(super) fn ready_keys(&self) -> Vec<Key> {
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

    pub(super) fn key_of(&self, topic: &str, partition: i32) -> Option<Key> {
        Some((self.config.stream_type_of(topic)?, partition as u32))
    }

    pub(super) fn state(&self, key: &Key) -> Option<Arc<Mutex<PartitionState>>> {
        self.states.lock().ok()?.get(key).cloned()
    }
}

/// Receives the group's assignment decisions. The group rebalances cooperatively
/// (`cooperative-sticky`): a `Revoke` lists only the partitions taken from this instance and an
/// `Assign` only those added, so every other partition keeps its state, restored and serving.
pub(super) struct OwnerContext {
    pub(super) shared: Arc<Shared>,
    /// Set when the group fenced this consumer out and a new one took its place: whatever
    /// its close still calls back about belongs to the old membership, and the partitions'
    /// states (by then the new consumer's) are not its to touch.
    pub(super) retired: std::sync::atomic::AtomicBool,
}

/// The writer-group consumer, closed on a thread of its own when the last handle goes.
///
/// librdkafka's close runs a final rebalance whose `assign` can wait forever on a group that
/// is still joining (seen when a log is dropped right after `connect`); a close on the
/// dropping thread would then hang a tokio runtime's shutdown. Closing aside keeps every drop
/// prompt, and process exit ends a close that never returns. (A consumer the group fenced out
/// closes at once: librdkafka refuses its close with the fatal error and calls nothing back.)
pub(super) struct GroupConsumer(pub(super) Option<StreamConsumer<OwnerContext>>);

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

/// The writers of this instance.
pub(in crate::eventlog::kafka) struct Writers {
    pub(super) shared: Arc<Shared>,
    pub(super) producer: FutureProducer,
    pub(super) stop: watch::Sender<bool>,
    pub(super) task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pub(super) announcer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The heads of one partition by rule R over its records from the start up to `scanned_to`,
/// as the head check read them for one assignment.
#[derive(Debug, Default)]
pub(super) struct LogHeads {
    pub(super) generation: u64,
    pub(super) scanned_to: u64,
    pub(super) heads: StreamHeads,
}

impl LogHeads {
    pub(super) fn new(generation: u64) -> Self {
        Self {
            generation,
            ..Self::default()
        }
    }
}
