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

use super::chain::{Admission, Head, StreamHeads};
use super::codec::CommitRecord;
use super::{
    Appended, Checkpoint, Delivered, EventLog, EventLogError, NewCommit, Position, RecordedEvent, StreamRef,
    Subscription, Upcasters,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

const FRAME_HEADER: usize = 8;
/// A single commit record may not exceed this (guards recovery against garbage lengths).
const MAX_RECORD_BYTES: u32 = 16 * 1024 * 1024;

/// Tuning of the embedded log.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Start a new segment once the active one reaches this size.
    pub segment_bytes: u64,
    /// Most appends one group commit takes.
    pub max_batch: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            segment_bytes: 64 * 1024 * 1024,
            max_batch: 512,
        }
    }
}

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

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
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
        let upcasters = self.upcasters.clone();
        let stream = stream.clone();
        tokio::task::spawn_blocking(move || {
            let offsets = topic
                .read_index()?
                .streams
                .get(&stream.stream_id)
                .cloned()
                .unwrap_or_default();
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

type Answer = Result<Appended, EventLogError>;
type Reply = oneshot::Sender<Answer>;

struct Request {
    commit: NewCommit,
    /// `erp import`: this exact record (hashes, times, versions as exported), written
    /// verbatim without the expected-version check; readers apply rule R to it as to any.
    verbatim: Option<Box<CommitRecord>>,
    reply: Reply,
}

#[derive(Debug, Clone, Copy)]
struct Loc {
    segment: usize,
    pos: u64,
    len: u32,
}

/// A commit decided in this batch, waiting for the write: where its answer goes, the record,
/// its offset and location.
struct Planned {
    answer_at: usize,
    record: CommitRecord,
    offset: u64,
    loc: Loc,
}

#[derive(Default)]
struct Index {
    records: Vec<Loc>,
    streams: HashMap<String, Vec<u64>>,
    heads: StreamHeads,
    commands: HashMap<Uuid, Appended>,
}

/// One stream type's files, index and writer.
struct Topic {
    name: String,
    dir: PathBuf,
    segments: RwLock<Vec<Arc<File>>>,
    index: RwLock<Index>,
    end: watch::Sender<u64>,
    requests: mpsc::Sender<Request>,
}

impl Topic {
    fn open(name: &str, dir: PathBuf, options: EmbeddedOptions) -> Result<Arc<Self>, EventLogError> {
        create_dir_durably(&dir)?;
        let mut bases = segment_bases(&dir)?;
        if bases.is_empty() {
            File::create(segment_path(&dir, 0))?.sync_all()?;
            sync_dir(&dir)?;
            bases.push(0);
        }
        let mut index = Index::default();
        let mut files = Vec::new();
        let last = bases.len() - 1;
        for (segment, base) in bases.iter().enumerate() {
            if *base != index.records.len() as u64 {
                return Err(EventLogError::Corrupt(format!(
                    "{name}: segment {base} does not start at offset {}",
                    index.records.len()
                )));
            }
            let path = segment_path(&dir, *base);
            recover_segment(name, &path, segment, segment == last, &mut index)?;
            files.push(Arc::new(File::open(&path)?));
        }
        let (requests, receiver) = mpsc::channel(options.max_batch * 4);
        let (end, _) = watch::channel(index.records.len() as u64);
        let topic = Arc::new(Topic {
            name: name.to_owned(),
            dir,
            segments: RwLock::new(files),
            index: RwLock::new(index),
            end,
            requests,
        });
        let writer = Writer::new(topic.clone(), options, *bases.last().unwrap_or(&0))?;
        std::thread::Builder::new()
            .name(format!("log-{name}"))
            .spawn(move || writer.run(receiver))?;
        Ok(topic)
    }

    fn position(&self, offset: u64) -> Position {
        Position {
            stream_type: self.name.clone(),
            partition: 0,
            offset,
        }
    }

    fn read_index(&self) -> Result<std::sync::RwLockReadGuard<'_, Index>, EventLogError> {
        self.index
            .read()
            .map_err(|_| EventLogError::Unavailable("index poisoned".into()))
    }

    fn read(&self, offset: u64) -> Result<CommitRecord, EventLogError> {
        let loc = *self
            .read_index()?
            .records
            .get(offset as usize)
            .ok_or_else(|| EventLogError::Corrupt(format!("{}: no record at offset {offset}", self.name)))?;
        let file = self
            .segments
            .read()
            .map_err(|_| EventLogError::Unavailable("segments poisoned".into()))?
            .get(loc.segment)
            .cloned()
            .ok_or_else(|| EventLogError::Corrupt(format!("{}: missing segment", self.name)))?;
        let mut buf = vec![0u8; loc.len as usize];
        file.read_exact_at(&mut buf, loc.pos + FRAME_HEADER as u64)?;
        CommitRecord::decode(&buf)
    }
}

/// The single writer of one topic, on its own thread.
struct Writer {
    topic: Arc<Topic>,
    options: EmbeddedOptions,
    file: File,
    size: u64,
}

impl Writer {
    fn new(topic: Arc<Topic>, options: EmbeddedOptions, base: u64) -> Result<Self, EventLogError> {
        let file = OpenOptions::new().append(true).open(segment_path(&topic.dir, base))?;
        let size = file.metadata()?.len();
        Ok(Self {
            topic,
            options,
            file,
            size,
        })
    }

    fn run(mut self, mut receiver: mpsc::Receiver<Request>) {
        while let Some(first) = receiver.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < self.options.max_batch {
                match receiver.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
    }

    /// Decides, writes, syncs and answers one group of appends.
    fn commit_batch(&mut self, batch: Vec<Request>) {
        let mut answers: Vec<(Reply, Answer)> = Vec::with_capacity(batch.len());
        let mut planned: Vec<Planned> = Vec::new();
        let mut bytes = Vec::new();
        if let Err(e) = self.roll_if_full() {
            for request in batch {
                let _ = request.reply.send(Err(e.clone()));
            }
            return;
        }
        let segment = self.topic.segments.read().map(|s| s.len() - 1).unwrap_or(0);
        let Ok(index) = self.topic.read_index() else { return };
        let mut next_offset = index.records.len() as u64;
        let mut overlay: HashMap<String, Head> = HashMap::new();
        let mut batch_commands: HashMap<Uuid, usize> = HashMap::new();
        let now = chrono::Utc::now();
        for request in batch {
            if let Some(record) = request.verbatim {
                let encoded = match encode_bounded(&record) {
                    Ok(encoded) => encoded,
                    Err(e) => {
                        answers.push((request.reply, Err(e)));
                        continue;
                    }
                };
                let head = overlay
                    .get(&record.stream_id)
                    .cloned()
                    .unwrap_or_else(|| index.heads.head(&record.stream_id));
                if head.is_followed_by(&record) {
                    overlay.insert(
                        record.stream_id.clone(),
                        Head {
                            version: record.last_version(),
                            hash: record.last_hash().to_owned(),
                        },
                    );
                }
                let loc = self.frame(segment, &mut bytes, &encoded);
                planned.push(Planned {
                    answer_at: answers.len(),
                    record: *record,
                    offset: next_offset,
                    loc,
                });
                answers.push((request.reply, Err(EventLogError::Unavailable("pending".into()))));
                next_offset += 1;
                continue;
            }
            let commit = &request.commit;
            let first_answer = index.commands.get(&commit.command_id).cloned().or_else(|| {
                batch_commands
                    .get(&commit.command_id)
                    .map(|i| answer_for(&self.topic, &planned[*i].record, planned[*i].offset))
            });
            if let Some(first) = first_answer {
                let answer = if first.stream == commit.stream {
                    Ok(Appended {
                        duplicate: true,
                        ..first
                    })
                } else {
                    Err(EventLogError::CommandIdReused(commit.command_id))
                };
                answers.push((request.reply, answer));
                continue;
            }
            let head = overlay
                .get(&commit.stream.stream_id)
                .cloned()
                .unwrap_or_else(|| index.heads.head(&commit.stream.stream_id));
            if !commit.expected.admits(head.version) {
                answers.push((
                    request.reply,
                    Err(EventLogError::Conflict {
                        expected: commit.expected,
                        actual: head.version,
                    }),
                ));
                continue;
            }
            let record = CommitRecord::build(commit, head.version, &head.hash, now);
            let encoded = match encode_bounded(&record) {
                Ok(encoded) => encoded,
                Err(e) => {
                    answers.push((request.reply, Err(e)));
                    continue;
                }
            };
            overlay.insert(
                commit.stream.stream_id.clone(),
                Head {
                    version: record.last_version(),
                    hash: record.last_hash().to_owned(),
                },
            );
            let loc = self.frame(segment, &mut bytes, &encoded);
            batch_commands.insert(commit.command_id, planned.len());
            planned.push(Planned {
                answer_at: answers.len(),
                record,
                offset: next_offset,
                loc,
            });
            answers.push((request.reply, Err(EventLogError::Unavailable("pending".into()))));
            next_offset += 1;
        }
        drop(index);

        if !planned.is_empty() {
            if let Err(e) = self.write_synced(&bytes) {
                tracing::error!(topic = %self.topic.name, error = %e, "embedded log write failed");
                for (reply, _) in answers {
                    let _ = reply.send(Err(EventLogError::Unavailable(format!("write failed: {e}"))));
                }
                return;
            }
            let Ok(mut index) = self.topic.index.write() else {
                return;
            };
            for Planned {
                answer_at,
                record,
                offset,
                loc,
            } in &planned
            {
                let offset = *offset;
                debug_assert_eq!(offset, index.records.len() as u64);
                index.records.push(*loc);
                if index.heads.admit(record) == Admission::Accepted {
                    index.streams.entry(record.stream_id.clone()).or_default().push(offset);
                }
                let appended = answer_for(&self.topic, record, offset);
                index.commands.insert(record.command_id, appended.clone());
                answers[*answer_at].1 = Ok(appended);
            }
            drop(index);
            self.topic.end.send_replace(next_offset);
        }
        for (reply, answer) in answers {
            let _ = reply.send(answer);
        }
    }

    /// Adds one record's frame (length, CRC, bytes) to the batch being written; returns
    /// where it will be once the batch is.
    fn frame(&self, segment: usize, bytes: &mut Vec<u8>, encoded: &[u8]) -> Loc {
        let loc = Loc {
            segment,
            pos: self.size + bytes.len() as u64,
            len: encoded.len() as u32,
        };
        bytes.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(encoded).to_le_bytes());
        bytes.extend_from_slice(encoded);
        loc
    }

    /// Appends and syncs; on failure cuts the file back so no refused bytes remain.
    fn write_synced(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let result = self.file.write_all(bytes).and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.size += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.size);
                Err(e)
            }
        }
    }

    fn roll_if_full(&mut self) -> Result<(), EventLogError> {
        if self.size < self.options.segment_bytes {
            return Ok(());
        }
        let base = self.topic.read_index()?.records.len() as u64;
        let path = segment_path(&self.topic.dir, base);
        let file = OpenOptions::new().create_new(true).append(true).open(&path)?;
        file.sync_all()?;
        sync_dir(&self.topic.dir)?;
        let reader = Arc::new(File::open(&path)?);
        self.topic
            .segments
            .write()
            .map_err(|_| EventLogError::Unavailable("segments poisoned".into()))?
            .push(reader);
        self.file = file;
        self.size = 0;
        Ok(())
    }
}

fn answer_for(topic: &Topic, record: &CommitRecord, offset: u64) -> Appended {
    record.appended_at(topic.position(offset))
}

struct EmbeddedSubscription {
    topic: Arc<Topic>,
    next: u64,
    end: watch::Receiver<u64>,
    checkpoint: Checkpoint,
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, EventLogError> {
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
        let delivered = tokio::task::spawn_blocking(move || {
            (from..to)
                .map(|offset| {
                    Ok(Delivered {
                        partition: 0,
                        offset,
                        commit: topic.read(offset)?,
                    })
                })
                .collect::<Result<Vec<_>, EventLogError>>()
        })
        .await
        .map_err(|e| EventLogError::Unavailable(e.to_string()))??;
        self.next = to;
        self.checkpoint.insert(0, to);
        Ok(delivered)
    }

    fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}

fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

fn segment_bases(dir: &Path) -> Result<Vec<u64>, EventLogError> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(base) = name.strip_suffix(".log").and_then(|b| b.parse::<u64>().ok()) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` (and missing parents) so that it survives a crash: a new directory's entry
/// is durable only once its parent directory is synced.
fn create_dir_durably(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_durably(parent)?;
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Scans one segment into the index; truncates a torn tail of the last segment and refuses
/// any other damage.
fn recover_segment(
    name: &str,
    path: &Path,
    segment: usize,
    is_last: bool,
    index: &mut Index,
) -> Result<(), EventLogError> {
    let data = fs::read(path)?;
    let mut pos = 0usize;
    loop {
        let (body, end) = match frame_at(&data, pos) {
            Frame::End => return Ok(()),
            Frame::Whole { body, end } => (body, end),
            Frame::Damaged(why) if is_last && is_torn_tail(&data, pos) => {
                tracing::warn!(topic = name, segment = %path.display(), at = pos, dropped = data.len() - pos, why, "truncating torn tail");
                let file = OpenOptions::new().write(true).open(path)?;
                file.set_len(pos as u64)?;
                file.sync_all()?;
                return Ok(());
            }
            Frame::Damaged(why) => {
                return Err(EventLogError::Corrupt(format!(
                    "{name}: damaged frame ({why}) at byte {pos} of {}, record offset {}; {} bytes follow it, \
                     which may hold acknowledged commits. Nothing was changed: `erp repair-log` lists \
                     what a repair would drop",
                    path.display(),
                    index.records.len(),
                    data.len() - pos
                )))
            }
        };
        let offset = index.records.len() as u64;
        let record = CommitRecord::decode(body).map_err(|e| {
            EventLogError::Corrupt(format!(
                "{name}: record offset {offset} at byte {pos} of {} does not decode: {e}",
                path.display()
            ))
        })?;
        index.records.push(Loc {
            segment,
            pos: pos as u64,
            len: body.len() as u32,
        });
        if index.heads.admit(&record) == Admission::Accepted {
            index.streams.entry(record.stream_id.clone()).or_default().push(offset);
            let position = Position {
                stream_type: name.to_owned(),
                partition: 0,
                offset,
            };
            index.commands.insert(record.command_id, record.appended_at(position));
        }
        pos = end;
    }
}

/// What is at a byte position of a segment.
enum Frame<'a> {
    /// The segment ends here.
    End,
    /// A whole frame whose checksum matches: its body, and where the next frame starts.
    Whole { body: &'a [u8], end: usize },
    /// No valid frame: why not.
    Damaged(&'static str),
}

fn frame_at(data: &[u8], pos: usize) -> Frame<'_> {
    let Some(rest) = data.get(pos..).filter(|rest| !rest.is_empty()) else {
        return Frame::End;
    };
    let Some((header, rest)) = rest.split_first_chunk::<FRAME_HEADER>() else {
        return Frame::Damaged("torn frame header");
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    // An empty frame is never written (a record is never empty), and zeros would pass the
    // checksum: the CRC-32 of nothing is 0.
    if len == 0 {
        return Frame::Damaged("empty frame");
    }
    if len > MAX_RECORD_BYTES {
        return Frame::Damaged("length beyond the largest record");
    }
    let Some(body) = rest.get(..len as usize) else {
        return Frame::Damaged("frame runs past the end of the segment");
    };
    if crc32fast::hash(body) != crc {
        return Frame::Damaged("checksum mismatch");
    }
    Frame::Whole {
        body,
        end: pos + FRAME_HEADER + body.len(),
    }
}

/// Whether damage at `pos` is what a crash mid-write leaves at the end of the last segment:
/// part of a frame, then nothing but zeros (space the file grew by whose data never reached
/// the disk). A damaged frame followed by anything else is corruption.
fn is_torn_tail(data: &[u8], pos: usize) -> bool {
    let rest = &data[pos..];
    let zeros = |bytes: &[u8]| bytes.iter().all(|b| *b == 0);
    let Some(header) = rest.first_chunk::<4>() else {
        return true;
    };
    let len = u32::from_le_bytes(*header);
    let claimed_end = FRAME_HEADER.saturating_add(len as usize).min(rest.len());
    zeros(rest) || (len <= MAX_RECORD_BYTES && zeros(&rest[claimed_end..]))
}

/// A record's bytes, refused when larger than a frame may be.
fn encode_bounded(record: &CommitRecord) -> Result<Vec<u8>, EventLogError> {
    let encoded = record.encode()?;
    if encoded.len() > MAX_RECORD_BYTES as usize {
        return Err(EventLogError::Codec("commit larger than 16 MiB".into()));
    }
    Ok(encoded)
}

/// One record as stored, before any interpretation: its offset in the topic and either the
/// decoded record or why it could not be read (damaged frame, undecodable bytes).
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub offset: u64,
    pub record: Result<CommitRecord, String>,
}

/// Takes the log directory's lock, held while the returned file is open.
fn lock_exclusively(dir: &Path) -> Result<File, EventLogError> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))?;
    if let Err(e) = lock.try_lock() {
        return Err(EventLogError::Unavailable(format!(
            "the log in {} is open in another process (is `erp up` running?): {e}",
            dir.display()
        )));
    }
    Ok(lock)
}

/// Reads every frame of one stream type of an embedded log directory, read-only and without
/// the log's lock (so `erp verify` can run beside `erp up`). Frames that fail their CRC or do
/// not decode are reported, not repaired; scanning stops at a damaged frame (its length
/// cannot be trusted).
pub fn scan_topic(log_dir: &Path, stream_type: &str, mut visit: impl FnMut(RawRecord)) -> Result<(), EventLogError> {
    scan_frames(log_dir, stream_type, |offset, frame| {
        let record = frame.and_then(|bytes| CommitRecord::decode(bytes).map_err(|e| e.to_string()));
        visit(RawRecord { offset, record });
    })
}

/// As [`scan_topic`], handing over each frame's bytes undecoded (so decoding can be spread
/// over threads).
pub fn scan_frames(
    log_dir: &Path,
    stream_type: &str,
    mut visit: impl FnMut(u64, Result<&[u8], String>),
) -> Result<(), EventLogError> {
    let dir = log_dir.join(stream_type);
    let mut offset = 0u64;
    for base in segment_bases(&dir)? {
        let path = segment_path(&dir, base);
        let data = fs::read(&path)?;
        let mut pos = 0usize;
        loop {
            match frame_at(&data, pos) {
                Frame::End => break,
                Frame::Whole { body, end } => {
                    visit(offset, Ok(body));
                    offset += 1;
                    pos = end;
                }
                Frame::Damaged(why) => {
                    visit(
                        offset,
                        Err(format!("damaged frame ({why}) at byte {pos} of {}", path.display())),
                    );
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Stream types (topic directories) of an embedded log directory.
pub fn topics(log_dir: &Path) -> Result<Vec<String>, EventLogError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(log_dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// What a repair would drop of one frame: the commit it holds, as far as it can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedCommit {
    pub stream_id: String,
    pub first_version: u64,
    pub last_version: u64,
    pub commit_id: Uuid,
}

/// One frame a repair would drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedFrame {
    pub offset: u64,
    pub segment: PathBuf,
    pub byte: u64,
    /// The commit in the frame, or why it cannot be read.
    pub commit: Result<DroppedCommit, String>,
}

/// How [`apply_repair`] would repair one stream type: cut its log at the first damaged frame.
/// Offsets are positions, so every frame after the damaged one goes too; the cut bytes are
/// kept aside, never deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRepair {
    pub stream_type: String,
    /// The segment holding the damaged frame, and the byte the frame starts at.
    pub segment: PathBuf,
    pub byte: u64,
    /// The damaged frame's offset: the end of the log after the repair.
    pub offset: u64,
    /// What is wrong with the frame.
    pub why: String,
    /// The damaged frame and every frame after it, in offset order.
    pub dropped: Vec<DroppedFrame>,
    /// Bytes that could not be split into frames (a damaged length hides where the next
    /// frame starts); 0 when every dropped frame is listed.
    pub unframed_bytes: u64,
    /// Segments after the damaged one, dropped whole (renamed to `*.log.cut`).
    pub later_segments: Vec<PathBuf>,
    /// Where the bytes cut from the damaged segment are kept.
    pub saved_to: PathBuf,
}

/// Plans the repair of an embedded log directory, changing nothing: for each stream type
/// whose log would not open because of a damaged frame, what cutting it there drops. A torn
/// tail is not listed: opening the log truncates it by itself.
pub fn plan_repair(log_dir: &Path) -> Result<Vec<TopicRepair>, EventLogError> {
    let mut plan = Vec::new();
    for stream_type in topics(log_dir)? {
        if let Some(repair) = plan_topic_repair(log_dir, &stream_type)? {
            plan.push(repair);
        }
    }
    Ok(plan)
}

fn plan_topic_repair(log_dir: &Path, stream_type: &str) -> Result<Option<TopicRepair>, EventLogError> {
    let dir = log_dir.join(stream_type);
    let bases = segment_bases(&dir)?;
    let mut offset = 0u64;
    for (i, base) in bases.iter().enumerate() {
        let path = segment_path(&dir, *base);
        let data = fs::read(&path)?;
        let mut pos = 0usize;
        let why = loop {
            match frame_at(&data, pos) {
                Frame::End => break None,
                Frame::Whole { end, .. } => {
                    offset += 1;
                    pos = end;
                }
                Frame::Damaged(why) => break Some(why),
            }
        };
        let Some(why) = why else { continue };
        let later = &bases[i + 1..];
        if later.is_empty() && is_torn_tail(&data, pos) {
            return Ok(None);
        }
        let mut dropped = Vec::new();
        let mut unframed_bytes = frames_from(&data, pos, offset, &path, &mut dropped);
        for base in later {
            let later_path = segment_path(&dir, *base);
            unframed_bytes += frames_from(&fs::read(&later_path)?, 0, *base, &later_path, &mut dropped);
        }
        let saved_to = dir.join(format!("{base:020}.log.cut-at-{pos}"));
        return Ok(Some(TopicRepair {
            stream_type: stream_type.to_owned(),
            segment: path,
            byte: pos as u64,
            offset,
            why: why.to_owned(),
            dropped,
            unframed_bytes,
            later_segments: later.iter().map(|b| segment_path(&dir, *b)).collect(),
            saved_to,
        }));
    }
    Ok(None)
}

/// Lists the frames of a segment from byte `pos` (numbered from `offset`) into `out`. A
/// damaged frame is stepped over when its length leads to a whole frame (or the end), as
/// after a flipped bit in its body; otherwise the rest cannot be split into frames and its
/// size is returned.
fn frames_from(data: &[u8], mut pos: usize, mut offset: u64, path: &Path, out: &mut Vec<DroppedFrame>) -> u64 {
    loop {
        let (commit, next) = match frame_at(data, pos) {
            Frame::End => return 0,
            Frame::Whole { body, end } => {
                let commit = CommitRecord::decode(body)
                    .map(|r| DroppedCommit {
                        first_version: r.first_version,
                        last_version: r.last_version(),
                        stream_id: r.stream_id,
                        commit_id: r.commit_id,
                    })
                    .map_err(|e| format!("does not decode: {e}"));
                (commit, end)
            }
            Frame::Damaged(why) => {
                let next = data
                    .get(pos..pos + 4)
                    .and_then(|len| len.try_into().ok())
                    .map(|len| pos + FRAME_HEADER + u32::from_le_bytes(len) as usize)
                    .filter(|next| {
                        *next <= data.len() && matches!(frame_at(data, *next), Frame::End | Frame::Whole { .. })
                    });
                match next {
                    Some(next) if next > pos + FRAME_HEADER => (Err(why.to_owned()), next),
                    _ => {
                        out.push(DroppedFrame {
                            offset,
                            segment: path.to_owned(),
                            byte: pos as u64,
                            commit: Err(format!("{why}; where the frames after it start is unknown")),
                        });
                        return (data.len() - pos) as u64;
                    }
                }
            }
        };
        out.push(DroppedFrame {
            offset,
            segment: path.to_owned(),
            byte: pos as u64,
            commit,
        });
        offset += 1;
        pos = next;
    }
}

/// Carries out a plan from [`plan_repair`], with the log closed (it takes the log's lock), and
/// only if planning again gives the same plan. For each stream type: keeps the cut bytes in
/// `saved_to`, renames later segments to `*.log.cut`, then truncates the damaged segment.
/// Projections that read past a cut must be rebuilt: the offsets will be used again.
pub fn apply_repair(log_dir: &Path, plan: &[TopicRepair]) -> Result<(), EventLogError> {
    let _lock = lock_exclusively(log_dir)?;
    if plan_repair(log_dir)? != plan {
        return Err(EventLogError::Unavailable(
            "the log changed since this repair was planned; plan it again".into(),
        ));
    }
    for repair in plan {
        let data = fs::read(&repair.segment)?;
        let cut = data.get(repair.byte as usize..).unwrap_or_default();
        keep_aside(&repair.saved_to, cut)?;
        for later in &repair.later_segments {
            fs::rename(later, later.with_extension("log.cut"))?;
        }
        if let Some(dir) = repair.segment.parent() {
            sync_dir(dir)?;
        }
        let file = OpenOptions::new().write(true).open(&repair.segment)?;
        file.set_len(repair.byte)?;
        file.sync_all()?;
        tracing::warn!(stream_type = %repair.stream_type, segment = %repair.segment.display(), byte = repair.byte,
                       dropped = repair.dropped.len(), saved_to = %repair.saved_to.display(), "log repaired");
    }
    Ok(())
}

/// Writes `bytes` to a new file, durably. A file already holding exactly these bytes (a repair
/// interrupted after saving them) is kept as it is.
fn keep_aside(path: &Path, bytes: &[u8]) -> Result<(), EventLogError> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut file) => {
            file.write_all(bytes)?;
            file.sync_all()?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && fs::read(path)? == bytes => Ok(()),
        Err(e) => Err(EventLogError::Io(format!(
            "keeping the cut bytes in {}: {e}",
            path.display()
        ))),
    }
}
