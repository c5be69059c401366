//! A partition's state on its owner: heads, in-flight commits, recent command ids, the tail
//! applied so far, and how a delivered or produced record changes them.

use super::state::{Answer, Delivery, PartitionState, MAX_BUFFERED, RECENT_COMMANDS};
use crate::eventlog::chain::{Admission, Head, StreamHeads};
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::{Appended, EventLogError, ExpectedVersion, Position};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

impl PartitionState {
    pub(super) fn new(stream_type: String, partition: u32) -> Self {
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
            inflight_commits: HashSet::new(),
            early: HashMap::new(),
            waiting: HashMap::new(),
            cache: HashMap::new(),
            first_offsets: HashMap::new(),
        }
    }

    pub(super) fn position(&self, offset: u64) -> Position {
        Position {
            stream_type: self.stream_type.clone(),
            partition: self.partition,
            offset,
        }
    }

    pub(super) fn tentative_head(&self, stream_id: &str) -> Head {
        self.inflight_heads
            .get(stream_id)
            .map(|(h, _)| h.clone())
            .unwrap_or_else(|| self.heads.head(stream_id))
    }

    /// Whether memory holds the stream's history from version 1 (streams replayed from their
    /// start, read once since, or not begun), not only its head from a snapshot.
    pub(super) fn holds_whole_history(&self, stream_id: &str) -> bool {
        self.ready
            && match self.cache.get(stream_id) {
                Some(commits) => commits.first().is_some_and(|(_, c)| c.first_version == 1),
                None => self.heads.version(stream_id) == 0,
            }
    }

    /// Marks an own record as produced and not yet judged: the stream's tentative head moves
    /// past it, and retries of its command id wait for its answer.
    pub(super) fn begin(&mut self, record: &CommitRecord) {
        let count = self.inflight_heads.get(&record.stream_id).map_or(0, |(_, c)| *c);
        let head = Head {
            version: record.last_version(),
            hash: record.last_hash().to_owned(),
        };
        self.inflight_heads.insert(record.stream_id.clone(), (head, count + 1));
        self.inflight_commands.insert(record.command_id, Vec::new());
        self.inflight_commits.insert(record.commit_id);
    }

    pub(super) fn release_inflight(&mut self, record: &CommitRecord) {
        if let Some((_, count)) = self.inflight_heads.get_mut(&record.stream_id) {
            *count -= 1;
            if *count == 0 {
                self.inflight_heads.remove(&record.stream_id);
            }
        }
    }

    /// Applies rule R to the record at `offset` and settles whoever waits for it, then every
    /// own commit acked at the offsets that follow without a gap: the broker placed them
    /// there, so nothing the tail could deliver sits between, and their answers need not wait
    /// for the tail's next fetch (delivery reports are settled on tasks of their own, so the
    /// commit at `n + 1` is often settled before the one at `n`).
    ///
    /// `None` is a record that did not decode: no reader accepts it, so it moves no head, but
    /// the partition's position moves past it as past any record.
    pub(super) fn apply(&mut self, offset: u64, record: Option<CommitRecord>) {
        let reply = self.waiting.remove(&offset).map(|(_, reply)| reply);
        self.judge(offset, record, reply);
        while !self.restoring {
            let Some((record, reply)) = self.waiting.remove(&self.next) else {
                break;
            };
            self.judge(self.next, Some(record), Some(reply));
        }
    }

    /// Rule R at `offset`: the answer goes to `reply` (this writer's caller waiting for that
    /// offset), else, for an own commit whose produce has not been settled yet, to `early`
    /// under its commit id. A record fenced after its command was accepted (a retry whose first
    /// record landed though its produce reported a failure) is answered with that acceptance,
    /// a duplicate: the command is in the log, once.
    fn judge(&mut self, offset: u64, record: Option<CommitRecord>, reply: Option<oneshot::Sender<Answer>>) {
        if offset < self.next {
            return;
        }
        self.next = offset + 1;
        self.replayed += 1;
        if let Some(record) = record {
            self.rule_r(offset, record, reply);
        }
        if !self.ready && !self.restoring && self.next >= self.target {
            self.ready = true;
        }
    }

    /// Rule R for the decoded record at `offset`, answered as [`Self::judge`] says.
    fn rule_r(&mut self, offset: u64, record: CommitRecord, reply: Option<oneshot::Sender<Answer>>) {
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
            Admission::Fenced { head } => match self.commands.get(&record.command_id) {
                Some(first) if first.stream.stream_id == record.stream_id => Ok(Appended {
                    duplicate: true,
                    ..first.clone()
                }),
                _ => Err(EventLogError::Conflict {
                    expected: ExpectedVersion::Exact(record.first_version.saturating_sub(1)),
                    actual: head,
                }),
            },
        };
        let own = self.inflight_commits.remove(&record.commit_id);
        if own {
            self.release_inflight(&record);
            for retry in self.inflight_commands.remove(&record.command_id).unwrap_or_default() {
                let _ = retry.send(answer.clone().map(|a| Appended { duplicate: true, ..a }));
            }
        }
        match reply {
            Some(reply) => {
                let _ = reply.send(answer);
            }
            None if own => {
                self.early.insert(record.commit_id, answer);
            }
            None => {}
        }
    }

    /// Takes a record the tail delivered: held while restoring (up to [`MAX_BUFFERED`]),
    /// otherwise judged by rule R at once.
    pub(super) fn deliver(&mut self, offset: u64, record: CommitRecord) -> Delivery {
        self.take(offset, Some(record))
    }

    /// Takes a record the tail could not decode, in its place among the others: held while
    /// restoring, dropped while refilling past `next` (it is read again), otherwise stepped
    /// over — the position moves past it, and a partition whose last record it is becomes
    /// ready as with any last record.
    pub(super) fn step_over(&mut self, offset: u64) -> Delivery {
        self.take(offset, None)
    }

    fn take(&mut self, offset: u64, record: Option<CommitRecord>) -> Delivery {
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
    /// now when the record is judged or failed, otherwise once every offset before its own is.
    pub(super) fn settle(
        &mut self,
        record: CommitRecord,
        produced: Result<u64, EventLogError>,
        reply: oneshot::Sender<Answer>,
    ) {
        let offset = match produced {
            Ok(offset) => offset,
            Err(e) => {
                // Possibly landed anyway: R will judge it when the tail reads it, and a
                // retry of this command id will then get the first answer. A judgement the
                // tail already made stands over the report.
                let answer = match self.early.remove(&record.commit_id) {
                    Some(judged) => judged,
                    None => {
                        let answer = Err(e);
                        self.give_up(&record, &answer);
                        answer
                    }
                };
                let _ = reply.send(answer);
                return;
            }
        };
        let answer = if let Some(answer) = self.early.remove(&record.commit_id) {
            answer
        } else if self.revoked {
            Err(EventLogError::Unavailable(
                "partition moved to another writer; retry".into(),
            ))
        } else if offset == self.next && !self.restoring {
            let commit_id = record.commit_id;
            self.apply(offset, Some(record));
            self.early
                .remove(&commit_id)
                .unwrap_or_else(|| Err(EventLogError::Corrupt("own record was not judged at its offset".into())))
        } else if offset < self.next && !self.restoring {
            // The tail passed this offset without a judgement for this record: it could not
            // read it back. None will come, so the caller is told now and the record stops
            // counting toward its stream's tentative head.
            let answer = Err(EventLogError::Corrupt(format!(
                "own record at offset {offset} was read back as no commit"
            )));
            self.give_up(&record, &answer);
            answer
        } else {
            self.waiting.insert(offset, (record, reply));
            return;
        };
        let _ = reply.send(answer);
    }

    /// Gives up on an own record no judgement will come for here: it stops counting toward its
    /// stream's tentative head, and the retries of its command waiting on it are told `answer`.
    fn give_up(&mut self, record: &CommitRecord, answer: &Answer) {
        if self.inflight_commits.remove(&record.commit_id) {
            self.release_inflight(record);
        }
        for retry in self.inflight_commands.remove(&record.command_id).unwrap_or_default() {
            let _ = retry.send(answer.clone());
        }
    }

    pub(super) fn revoke(&mut self) {
        self.revoked = true;
        let gone = || {
            Err(EventLogError::Unavailable(
                "partition moved to another writer; retry".into(),
            ))
        };
        for (_, (_, reply)) in self.waiting.drain() {
            let _ = reply.send(gone());
        }
        for (_, retries) in self.inflight_commands.drain() {
            for retry in retries {
                let _ = retry.send(gone());
            }
        }
    }
}
