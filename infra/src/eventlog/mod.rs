//! # The event log: the system of record
//!
//! One port, [`EventLog`], with two adapters: [`kafka::KafkaLog`] (topics per stream type on a
//! Kafka-protocol broker, through `rdkafka`) and [`embedded::EmbeddedLog`] (segmented files on
//! local disk, for `erp up`). Both give the same guarantees, checked by one contract suite.
//!
//! ## What a record is
//!
//! One log record per command commit, holding 1..n events of one stream ([`codec::CommitRecord`]):
//! a commit is atomic by construction — a reader sees all of its events or none. Each event
//! carries its envelope (event id as UUIDv7, stream type and id, version, recorded-at, actor,
//! command, correlation and causation ids, schema version) and a per-stream hash chain
//! (`prev_hash`, `hash` = SHA-256 over the canonical bytes of the envelope and payload).
//! The envelope only grows, and readers ignore fields they do not know, so old and new
//! binaries judge the same records alike during a rolling upgrade; an added field is not
//! covered by the hash (see [`codec`]).
//!
//! ## The acceptance rule (how optimistic concurrency works without conditional append)
//!
//! Kafka has no conditional append and, on the broker we test with, no transactions. Streams
//! are partitioned by stream id, so one stream lives in one partition, in order. Within a
//! partition every reader applies the same rule, [`chain::StreamHeads::admit`]:
//!
//! > **R.** Walk the partition in offset order, keeping each stream's head (version, hash).
//! > A commit whose first version is `head + 1` *and* whose first `prev_hash` is the head's
//! > hash is *accepted* and moves the head. Any other commit (a version already claimed, a
//! > gap, or a link to another predecessor) is *fenced*: every reader ignores it.
//!
//! Writers: one writer instance per partition, assigned through the consumer-group protocol.
//! The writer checks the expected version against its heads, produces the commit, and
//! acknowledges only once it has applied R up to the commit's own offset — from its own
//! produce acknowledgements when offsets are contiguous with what it has applied, otherwise
//! from reading the partition back. Proof sketch:
//!
//! 1. *At most one commit per (stream, version) is accepted, and history is one chain.* R
//!    accepts a commit only at `head + 1` and then moves the head past it, so a second claim of
//!    that version arrives at a higher offset and sees `head ≥ version`: fenced. A commit built
//!    on anything but the head (a stale writer's next commit on top of its own fenced one, a
//!    forged record) fails the link check: fenced too, so accepted commits always chain. All
//!    readers see the same partition order and the same stored fields, so all agree.
//! 2. *A stale writer is harmless.* After a rebalance two instances may briefly both believe
//!    they own a partition. Each acknowledges only commits that R accepted at their offset, so
//!    a client is never told "ok" for a fenced commit; the loser answers 409 with the current
//!    version, exactly as for an ordinary conflict.
//! 3. *Acknowledged means durable.* Produce uses `acks=all` with the idempotent producer; the
//!    acknowledgement waits for the broker's ack *and* for R. The embedded log fsyncs before it
//!    acknowledges. A commit that was not acknowledged is either wholly in the log (then R
//!    decides it, identically for all readers) or wholly absent.
//! 4. *Idempotency.* A command id already accepted for the stream returns the first result
//!    and appends nothing; the writer restores recent command ids with the heads.
//!
//! Record keys are `stream_id@first_version#commit_id`, unique per commit, so topic compaction
//! (`cleanup.policy=compact`) never removes history. The compacted per-type state topic holds
//! per-stream heads keyed by stream id, from which a new owner restores quickly.

pub mod chain;
pub mod codec;
pub mod embedded;
mod forwarding;
pub mod glance;
pub mod health;
pub mod kafka;
pub mod stored;
pub mod streams;
mod types;
mod upcast;

pub use codec::{Delivered, DeliveredRecord};
pub use forwarding::{Forwarded, ForwardedAnswer, OwnerHeads};
pub use types::*;
pub use upcast::{Upcaster, Upcasters};

use async_trait::async_trait;

/// The event log port: append with optimistic concurrency and idempotency, read one stream,
/// subscribe from a position.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends one commit atomically, if the stream is at `expected` and the command id is new.
    /// A retried command id returns the first result with `duplicate = true`.
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError>;

    /// The first answer to a command id on a stream, if the log has accepted it. Lets the
    /// command side answer a retry before deciding again against a newer state.
    async fn find_command(&self, stream: &StreamRef, command_id: uuid::Uuid)
        -> Result<Option<Appended>, EventLogError>;

    /// Every accepted event of one stream, in version order, upcast to current schemas.
    async fn read_stream(&self, stream: &StreamRef) -> Result<Vec<RecordedEvent>, EventLogError>;

    /// The stream's version (its last accepted event's; 0 before its first), when this log
    /// knows it without reading the stream — the embedded log's index does. `None` when only
    /// a read would tell: a caller keeping folded state then reads, as it would without one.
    async fn stream_version(&self, _stream: &StreamRef) -> Result<Option<u64>, EventLogError> {
        Ok(None)
    }

    /// Commits of one stream type from `from` (partition → next offset; missing partitions
    /// start at the beginning). The subscription yields every record in offset order,
    /// including fenced ones, tagged so readers can apply rule R (see [`chain`]).
    async fn subscribe(&self, stream_type: &str, from: Checkpoint) -> Result<Box<dyn Subscription>, EventLogError>;

    /// Commits of one stream type, read by every member of `group` together: each partition
    /// is read by one member at a time, and each partition a member is given starts at the
    /// position `positions` answers for it (the reader's own store, not the log, says where
    /// it stands). A partition taken away is no longer delivered from the next batch on; the
    /// batch being applied when that happens is the member's to finish.
    ///
    /// A log read by one process (the embedded log) has no one to share with: the default
    /// subscribes to every partition from `positions`, as [`Self::subscribe`] does.
    async fn subscribe_shared(
        &self,
        stream_type: &str,
        group: &str,
        positions: std::sync::Arc<dyn Positions>,
    ) -> Result<Box<dyn Subscription>, EventLogError> {
        let _ = group;
        let from = positions.positions().await?;
        self.subscribe(stream_type, from).await
    }

    /// The end of each partition of a stream type (next offset to be written), for lag.
    async fn end_offsets(&self, stream_type: &str) -> Result<Checkpoint, EventLogError>;

    /// Partition count of a stream type.
    fn partitions(&self) -> u32;

    /// Answers a request another instance forwarded here because this instance owns the
    /// stream's partition. Never forwards again. The embedded log has no peers.
    async fn serve_forwarded(&self, request: Forwarded) -> ForwardedAnswer {
        match request {
            Forwarded::Append { commit } => ForwardedAnswer::Appended {
                result: self.append(commit).await,
            },
            Forwarded::FindCommand { stream, command_id } => ForwardedAnswer::Found {
                result: self.find_command(&stream, command_id).await,
            },
            Forwarded::ReadStream { stream } => ForwardedAnswer::Stream {
                result: self.read_stream(&stream).await,
            },
            Forwarded::StreamVersion { stream } => ForwardedAnswer::Version {
                result: self.stream_version(&stream).await,
            },
            Forwarded::Heads { .. } => ForwardedAnswer::Heads {
                result: Err(EventLogError::Unavailable("this log has no partition owners".into())),
            },
        }
    }

    /// Faults an operator must see (partitions that never become ready, streams whose head
    /// here disagrees with the log). Cheap: reports what the log's own checks found.
    fn health(&self) -> health::LogHealth {
        health::LogHealth::default()
    }
}

/// A live feed of commits.
#[async_trait]
pub trait Subscription: Send {
    /// Waits for at most `max` next commits (at least one), or returns an empty batch after
    /// `wait` if nothing arrived.
    async fn next_batch(&mut self, max: usize, wait: std::time::Duration) -> Result<Vec<Delivered>, EventLogError>;

    /// [`Self::next_batch`] with each record as its stored bytes, not decoded: for a reader
    /// that acts on few of the records it is given and decodes only those (a
    /// [`glance::Glance`]), where decoding every record whole would cost more than the acting.
    /// The default decodes and encodes again; an adapter that holds the bytes gives them.
    async fn next_records(
        &mut self,
        max: usize,
        wait: std::time::Duration,
    ) -> Result<Vec<DeliveredRecord>, EventLogError> {
        self.next_batch(max, wait)
            .await?
            .into_iter()
            .map(|d| {
                Ok(DeliveredRecord {
                    partition: d.partition,
                    offset: d.offset,
                    bytes: d.commit.encode()?,
                })
            })
            .collect()
    }

    /// The position after the last delivered commit of each partition. A shared subscription
    /// holds the partitions it reads now, and nothing else.
    fn checkpoint(&self) -> &Checkpoint;

    /// A record given as stored bytes ([`Self::next_records`]) that the reader could not read,
    /// and steps over: reported as the subscription reports one it steps over itself (logged;
    /// on Kafka counted in `erp_eventlog_unreadable_total` under its topic), so the alert on
    /// stray records fires from every reader of them.
    fn unreadable(&self, partition: u32, offset: u64, error: &EventLogError) {
        tracing::warn!(partition, offset, error = %error, "unreadable record stepped over");
    }

    /// The reader has durably applied everything up to `at`. A shared subscription commits it
    /// to its group, so broker tools show the group's lag; correctness never depends on it.
    fn applied(&mut self, at: &Checkpoint) {
        let _ = at;
    }

    /// Asks the reader's store again where each partition held stands, and reads on from
    /// there: after a write was refused because the store had moved, or failed. Returns false
    /// when this subscription cannot (a plain one): the caller subscribes again.
    ///
    /// A shared subscription does it in place, keeping its partitions: its next batch is empty
    /// and [`Self::checkpoint`] then says where each partition was positioned.
    async fn reposition(&mut self) -> Result<bool, EventLogError> {
        Ok(false)
    }

    /// Stops reading. A shared subscription leaves its group now, so its partitions move to
    /// the other members at once rather than when its session times out.
    async fn close(&mut self) {}
}

/// Where a shared subscription starts the partitions it is given: the reader's own record of
/// how far it got ([`EventLog::subscribe_shared`]).
#[async_trait]
pub trait Positions: Send + Sync {
    /// The next offset of each partition (partitions absent start at the beginning).
    async fn positions(&self) -> Result<Checkpoint, EventLogError>;
}

/// Records one append's duration under `log` (`kafka`, `embedded`) and its result: `ok`
/// (also a retried command id answered with its first result), `conflict` (the expected
/// version or a reused command id refused), `unavailable` (retry), or `error`.
pub(crate) fn observe_append(log: &'static str, started: std::time::Instant, answer: &Result<Appended, EventLogError>) {
    let result = match answer {
        Ok(_) => "ok",
        Err(EventLogError::Conflict { .. } | EventLogError::CommandIdReused(_)) => "conflict",
        Err(EventLogError::Unavailable(_)) => "unavailable",
        Err(_) => "error",
    };
    metrics::histogram!("erp_eventlog_append_duration_seconds", "log" => log, "result" => result)
        .record(crate::telemetry::metrics::seconds(started));
}

/// Stable partitioning: CRC-32 of the stream id modulo the partition count. Every writer and
/// reader uses this one function, so a stream always lives in one partition.
pub fn partition_for(stream_id: &str, partitions: u32) -> u32 {
    crc32fast::hash(stream_id.as_bytes()) % partitions.max(1)
}
