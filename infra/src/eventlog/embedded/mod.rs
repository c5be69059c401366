//! # The embedded log: segmented append-only files on local disk
//!
//! Used by `erp up`. One directory per stream type, one partition, segments named by their
//! first offset (`00000000000000000000.log`). Each record is framed as
//! `[len: u32 LE][crc32: u32 LE][commit JSON]`.
//!
//! - **Group commit**: one writer thread per stream type takes every append waiting in its
//!   queue, checks them in order against the stream heads (rule R can never fence here: the
//!   writer is the only one), writes them with one `write` and one `fdatasync`, then answers
//!   all of them. Many concurrent appends share one flush.
//! - **Durability**: an append is acknowledged only after its bytes are synced. A failed write
//!   is cut back to the previous end, so the log never keeps a commit that was refused.
//! - **Recovery**: on open, every segment is scanned. A torn tail of the last segment — a
//!   damaged frame followed by nothing but zeros, which is all a crash mid-write can leave (a
//!   partial frame, or file space whose data never reached the disk) — is truncated: nothing
//!   in it was acknowledged, since acknowledgement waits for the sync. A damaged frame followed
//!   by anything else may sit before acknowledged commits (a flipped bit, a bad block): the log
//!   refuses to open, naming segment, byte and offset, and changes nothing. An empty frame is
//!   damage too (no record is empty, and zeros pass the checksum: the CRC-32 of nothing is 0).
//! - **Repair** is explicit: [`plan_repair`] lists what cutting the log at its first damaged
//!   frame drops (that frame and every later one of its stream type: offsets are positions),
//!   [`apply_repair`] does it with the log closed, keeping the cut bytes beside the segment
//!   (`erp repair-log --data-dir D [--yes]`).
//! - **Directories**: a new topic directory (and the log directory) is made durable by
//!   syncing its parent, as new segments are by syncing the topic directory.
//! - **Index**: offset → (segment, file position), stream id → offsets, heads and command ids
//!   are rebuilt in memory on open.

use super::codec::CommitRecord;
use super::{
    Appended, Checkpoint, Delivered, DeliveredRecord, EventLog, EventLogError, NewCommit, RecordedEvent, StreamRef,
    Subscription, Upcasters,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

/// The embedded event log: one [`Topic`] per stream type under a data directory.
pub struct EmbeddedLog {
    dir: PathBuf,
    options: EmbeddedOptions,
    upcasters: Upcasters,
    topics: Mutex<HashMap<String, Arc<Topic>>>,
    /// Held exclusively while open: a second process would truncate what it took for a torn
    /// tail while the first is still writing it.
    _lock: fs::File,
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog").field("dir", &self.dir).finish()
    }
}

impl EmbeddedLog {
    /// Opens (or creates) a log under `dir`, recovering every stream type found there.
    pub fn open(
        dir: impl Into<PathBuf>,
        options: EmbeddedOptions,
        upcasters: Upcasters,
    ) -> Result<Self, EventLogError> {
        let dir = dir.into();
        create_dir_durably(&dir)?;
        let lock = lock_exclusively(&dir)?;
        let log = Self {
            dir,
            options,
            upcasters,
            topics: Mutex::new(HashMap::new()),
            _lock: lock,
        };
        for entry in fs::read_dir(&log.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                if let Some(name) = entry.file_name().to_str() {
                    log.topic(name)?;
                }
            }
        }
        Ok(log)
    }

    /// Writes an exported record verbatim (backup restore, moving logs): hashes, versions and
    /// times stay as they were, so `erp verify` judges the original. The record lands at the
    /// end of its stream type's topic; rule R applies to it like to any record.
    pub async fn import(&self, record: CommitRecord) -> Result<Appended, EventLogError> {
        let topic = self.topic(&record.stream_type)?;
        let (reply, answer) = oneshot::channel();
        let placeholder = NewCommit {
            stream: record.stream(),
            expected: crate::eventlog::ExpectedVersion::Any,
            command_id: record.command_id,
            correlation_id: record.correlation_id,
            causation_id: record.causation_id,
            actor: record.actor.clone(),
            traceparent: record.traceparent.clone(),
            events: Vec::new(),
        };
        topic
            .requests
            .send(Request {
                commit: placeholder,
                verbatim: Some(Box::new(record)),
                reply,
            })
            .await
            .map_err(|_| EventLogError::Unavailable("embedded log writer stopped".into()))?;
        answer
            .await
            .map_err(|_| EventLogError::Unavailable("embedded log writer stopped".into()))?
    }

    /// Stream types present in the log.
    pub fn stream_types(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .topics
            .lock()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    fn topic(&self, stream_type: &str) -> Result<Arc<Topic>, EventLogError> {
        let valid = !stream_type.is_empty()
            && stream_type.len() <= 64
            && stream_type
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(EventLogError::Codec(format!("invalid stream type {stream_type:?}")));
        }
        let mut topics = self
            .topics
            .lock()
            .map_err(|_| EventLogError::Unavailable("topic table poisoned".into()))?;
        if let Some(topic) = topics.get(stream_type) {
            return Ok(topic.clone());
        }
        let topic = Topic::open(stream_type, self.dir.join(stream_type), self.options.clone())?;
        topics.insert(stream_type.to_owned(), topic.clone());
        Ok(topic)
    }
}

impl EmbeddedLog {
    /// Hands a commit to its stream type's writer and waits for the answer.
    async fn append_now(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        if commit.events.is_empty() || commit.events.len() > 1000 {
            return Err(EventLogError::EmptyOrHugeCommit);
        }
        let topic = self.topic(&commit.stream.stream_type)?;
        let (reply, answer) = oneshot::channel();
        topic
            .requests
            .send(Request {
                commit,
                verbatim: None,
                reply,
            })
            .await
            .map_err(|_| EventLogError::Unavailable("embedded log writer stopped".into()))?;
        answer
            .await
            .map_err(|_| EventLogError::Unavailable("embedded log writer stopped".into()))?
    }
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        let started = std::time::Instant::now();
        let answer = self.append_now(commit).await;
        super::observe_append("embedded", started, &answer);
        answer
    }

    async fn find_command(&self, stream: &StreamRef, command_id: Uuid) -> Result<Option<Appended>, EventLogError> {
        let topic = self.topic(&stream.stream_type)?;
        let found = topic
            .read_index()?
            .commands
            .get(&command_id)
            .filter(|a| a.stream == *stream)
            .cloned();
        Ok(found.map(|a| Appended { duplicate: true, ..a }))
    }

    async fn read_stream(&self, stream: &StreamRef) -> Result<Vec<RecordedEvent>, EventLogError> {
        let topic = self.topic(&stream.stream_type)?;
        let offsets = topic
            .read_index()?
            .streams
            .get(&stream.stream_id)
            .cloned()
            .unwrap_or_default();
        // A stream not yet written (every draft's first command) is answered here: only reading
        // its records from the segment files is work for a blocking thread.
        if offsets.is_empty() {
            return Ok(Vec::new());
        }
        let upcasters = self.upcasters.clone();
        tokio::task::spawn_blocking(move || {
            let mut events = Vec::new();
            for offset in offsets {
                let record = topic.read(offset)?;
                events.extend(record.to_recorded(&topic.position(offset), &upcasters)?);
            }
            Ok(events)
        })
        .await
        .map_err(|e| EventLogError::Unavailable(e.to_string()))?
    }

    async fn stream_version(&self, stream: &StreamRef) -> Result<Option<u64>, EventLogError> {
        let topic = self.topic(&stream.stream_type)?;
        let version = topic.read_index()?.heads.version(&stream.stream_id);
        Ok(Some(version))
    }

    async fn subscribe(&self, stream_type: &str, from: Checkpoint) -> Result<Box<dyn Subscription>, EventLogError> {
        let topic = self.topic(stream_type)?;
        let next = from.get(&0).copied().unwrap_or(0);
        let end = topic.end.subscribe();
        Ok(Box::new(EmbeddedSubscription {
            topic,
            next,
            end,
            checkpoint: [(0, next)].into(),
        }))
    }

    async fn end_offsets(&self, stream_type: &str) -> Result<Checkpoint, EventLogError> {
        let topic = self.topic(stream_type)?;
        let end = *topic.end.borrow();
        Ok([(0, end)].into())
    }

    fn partitions(&self) -> u32 {
        1
    }
}

struct EmbeddedSubscription {
    topic: Arc<Topic>,
    next: u64,
    end: watch::Receiver<u64>,
    checkpoint: Checkpoint,
}

impl EmbeddedSubscription {
    /// Waits (at most `wait`) for records past the position, then reads up to `max` of them
    /// off the runtime, each with `read`, and moves the position past them.
    async fn next_read<T: Send + 'static>(
        &mut self,
        max: usize,
        wait: Duration,
        read: fn(&Topic, u64) -> Result<T, EventLogError>,
    ) -> Result<Vec<(u64, T)>, EventLogError> {
        let mut end = *self.end.borrow_and_update();
        if self.next >= end {
            match tokio::time::timeout(wait, self.end.changed()).await {
                Ok(Ok(())) => end = *self.end.borrow_and_update(),
                Ok(Err(_)) => return Err(EventLogError::Unavailable("embedded log closed".into())),
                Err(_) => return Ok(Vec::new()),
            }
        }
        let (from, to) = (self.next, end.min(self.next + max.max(1) as u64));
        let topic = self.topic.clone();
        let read = tokio::task::spawn_blocking(move || {
            (from..to)
                .map(|offset| Ok((offset, read(&topic, offset)?)))
                .collect::<Result<Vec<_>, EventLogError>>()
        })
        .await
        .map_err(|e| EventLogError::Unavailable(e.to_string()))??;
        self.next = to;
        self.checkpoint.insert(0, to);
        Ok(read)
    }
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, EventLogError> {
        let read = self.next_read(max, wait, Topic::read).await?;
        Ok(read
            .into_iter()
            .map(|(offset, commit)| Delivered {
                partition: 0,
                offset,
                commit,
            })
            .collect())
    }

    async fn next_records(&mut self, max: usize, wait: Duration) -> Result<Vec<DeliveredRecord>, EventLogError> {
        let read = self.next_read(max, wait, Topic::read_bytes).await?;
        Ok(read
            .into_iter()
            .map(|(offset, bytes)| DeliveredRecord {
                partition: 0,
                offset,
                bytes,
            })
            .collect())
    }

    fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}

mod audit;
mod index;
mod segments;
mod writer;

pub use audit::*;
use segments::*;
pub use writer::EmbeddedOptions;
use writer::*;
