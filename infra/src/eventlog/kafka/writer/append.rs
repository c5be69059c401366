//! Appends and the reads an owner serves from its partitions' state.

use super::state::{Answer, Decided, FoundCommand, Key, PartitionState};
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::kafka::records::{delivered, enqueue};
use crate::eventlog::kafka::writer::Writers;
use crate::eventlog::{Appended, EventLogError, NewCommit, StreamRef};
use rdkafka::message::OwnedHeaders;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use uuid::Uuid;

impl Writers {
    /// A stream's full accepted history from memory, when this instance has all of it.
    pub(in super::super) fn cached_stream(
        &self,
        stream: &StreamRef,
        partition: u32,
    ) -> Option<Vec<(u64, Arc<CommitRecord>)>> {
        let state = self.shared.state(&(stream.stream_type.clone(), partition))?;
        let state = state.lock().ok()?;
        state
            .holds_whole_history(&stream.stream_id)
            .then(|| state.cache.get(&stream.stream_id).cloned().unwrap_or_default())
    }

    /// A stream's accepted version as this owner holds it, without reading the stream: its
    /// head, once the partition is owned here and restored (the heads then cover every stream
    /// of the partition, so one never written is at 0). As fresh as the history this owner
    /// serves from memory: a commit another writer put on the partition moves it once the
    /// tail has applied it, and an append decided on an older version is refused as a
    /// conflict either way. `None` for a partition not owned here, or not yet restored.
    pub(in super::super) fn accepted_version(&self, stream: &StreamRef, partition: u32) -> Option<u64> {
        let state = self.shared.state(&(stream.stream_type.clone(), partition))?;
        let s = state.lock().ok()?;
        (s.ready && !s.revoked).then(|| s.heads.version(&stream.stream_id))
    }

    /// Whether this owner holds a stream's whole history, and so every command id it ever
    /// accepted. An unowned or restoring partition holds nothing yet.
    pub(in super::super) fn holds_history(&self, stream: &StreamRef, partition: u32) -> bool {
        self.shared
            .state(&(stream.stream_type.clone(), partition))
            .is_some_and(|state| state.lock().is_ok_and(|s| s.holds_whole_history(&stream.stream_id)))
    }

    /// Joins a stream's accepted history, read from the partition below `high`, with what the
    /// tail applied from `high` on, and keeps it in memory when it is the whole history up to
    /// this owner's head (an owner restored from snapshots holds only heads, so every older
    /// stream is read once, then served from memory). Returns the history to serve: the joined
    /// one when this owner has applied the partition up to `high`, otherwise what was read.
    pub(in super::super) fn adopt_read(
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
    pub(in super::super) fn first_offset(&self, stream: &StreamRef, partition: u32) -> Option<u64> {
        let state = self.shared.state(&(stream.stream_type.clone(), partition))?;
        let offset = state.lock().ok()?.first_offsets.get(&stream.stream_id).copied();
        offset
    }

    /// The first answer to a command id, from the owner's restored command ids.
    pub(in super::super) async fn find_command(
        &self,
        stream: &StreamRef,
        partition: u32,
        command_id: Uuid,
    ) -> FoundCommand {
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
    pub(super) async fn owned_state(&self, key: &Key) -> Result<Arc<Mutex<PartitionState>>, EventLogError> {
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
    pub(in super::super) async fn append(&self, partition: u32, commit: NewCommit, headers: OwnedHeaders) -> Answer {
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
    pub(super) fn decide(
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
        s.begin(&record);
        Ok(Decided::Record(record, delivery))
    }
}

/// A stream's commits read from the log below `high`, then those the tail applied from `high`
/// on (the tail may also hold some below `high`: the read has them already).
pub(super) fn join_history(
    mut read: Vec<(u64, Arc<CommitRecord>)>,
    applied: &[(u64, Arc<CommitRecord>)],
    high: u64,
) -> Vec<(u64, Arc<CommitRecord>)> {
    read.retain(|(offset, _)| *offset < high);
    read.extend(applied.iter().filter(|(offset, _)| *offset >= high).cloned());
    read
}

/// Whether commits are one unbroken run of versions from 1 up to `head`.
pub(super) fn is_whole_history(commits: &[(u64, Arc<CommitRecord>)], head: u64) -> bool {
    let mut next = 1;
    for (_, commit) in commits {
        if commit.first_version != next {
            return false;
        }
        next = commit.last_version() + 1;
    }
    next - 1 == head
}
