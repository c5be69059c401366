//! The writer thread of one stream type: the in-memory index, group commit (one write and
//! one `fdatasync` for every append waiting), and cutting back a write that failed.

use super::super::chain::{Admission, Head};
use super::super::codec::CommitRecord;
use super::super::{Appended, EventLogError, NewCommit, Position};
use super::index::{Index, Loc};
use super::segments::{
    create_dir_durably, encode_bounded, push_frame, recover_segment, segment_bases, segment_path, sync_dir,
    FRAME_HEADER,
};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

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

pub(super) type Answer = Result<Appended, EventLogError>;
pub(super) type Reply = oneshot::Sender<Answer>;

pub(super) struct Request {
    pub(super) commit: NewCommit,
    /// `erp import`: this exact record (hashes, times, versions as exported), written
    /// verbatim without the expected-version check; readers apply rule R to it as to any.
    pub(super) verbatim: Option<Box<CommitRecord>>,
    pub(super) reply: Reply,
}

/// A commit decided in this batch, waiting for the write: where its answer goes, the record,
/// its offset and location.
pub(super) struct Planned {
    pub(super) answer_at: usize,
    pub(super) record: CommitRecord,
    pub(super) offset: u64,
    pub(super) loc: Loc,
}

/// One stream type's files, index and writer.
pub(super) struct Topic {
    pub(super) name: String,
    pub(super) dir: PathBuf,
    pub(super) segments: RwLock<Vec<Arc<File>>>,
    pub(super) index: RwLock<Index>,
    pub(super) end: watch::Sender<u64>,
    pub(super) requests: mpsc::Sender<Request>,
}

impl Topic {
    pub(super) fn open(name: &str, dir: PathBuf, options: EmbeddedOptions) -> Result<Arc<Self>, EventLogError> {
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

    pub(super) fn position(&self, offset: u64) -> Position {
        Position {
            stream_type: self.name.clone(),
            partition: 0,
            offset,
        }
    }

    pub(super) fn read_index(&self) -> Result<std::sync::RwLockReadGuard<'_, Index>, EventLogError> {
        self.index
            .read()
            .map_err(|_| EventLogError::Unavailable("index poisoned".into()))
    }

    pub(super) fn read(&self, offset: u64) -> Result<CommitRecord, EventLogError> {
        CommitRecord::decode(&self.read_bytes(offset)?)
    }

    /// The record at `offset` as stored (the frame's body, without its header).
    pub(super) fn read_bytes(&self, offset: u64) -> Result<Vec<u8>, EventLogError> {
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
        Ok(buf)
    }
}

/// The single writer of one topic, on its own thread.
pub(super) struct Writer {
    pub(super) topic: Arc<Topic>,
    pub(super) options: EmbeddedOptions,
    pub(super) file: File,
    pub(super) size: u64,
}

impl Writer {
    pub(super) fn new(topic: Arc<Topic>, options: EmbeddedOptions, base: u64) -> Result<Self, EventLogError> {
        let file = OpenOptions::new().append(true).open(segment_path(&topic.dir, base))?;
        let size = file.metadata()?.len();
        Ok(Self {
            topic,
            options,
            file,
            size,
        })
    }

    pub(super) fn run(mut self, mut receiver: mpsc::Receiver<Request>) {
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
    pub(super) fn commit_batch(&mut self, batch: Vec<Request>) {
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
    pub(super) fn frame(&self, segment: usize, bytes: &mut Vec<u8>, encoded: &[u8]) -> Loc {
        let loc = Loc {
            segment,
            pos: self.size + bytes.len() as u64,
            len: encoded.len() as u32,
        };
        push_frame(bytes, encoded);
        loc
    }

    /// Appends and syncs; on failure cuts the file back so no refused bytes remain.
    pub(super) fn write_synced(&mut self, bytes: &[u8]) -> std::io::Result<()> {
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

    pub(super) fn roll_if_full(&mut self) -> Result<(), EventLogError> {
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

pub(super) fn answer_for(topic: &Topic, record: &CommitRecord, offset: u64) -> Appended {
    record.appended_at(topic.position(offset))
}
