//! Rule R and chain verification. Every reader of a partition — writers restoring state,
//! projectors, `erp verify` — decides which commits count with [`StreamHeads::admit`], so all
//! of them agree on the history.

use super::codec::{CommitRecord, GENESIS_HASH};
use std::collections::HashMap;

/// A stream's head: its last accepted version and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub version: u64,
    pub hash: String,
}

impl Default for Head {
    fn default() -> Self {
        Self {
            version: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// Outcome of rule R for one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// First claim of the next version: part of history.
    Accepted,
    /// A version already claimed (or a gap): ignored by every reader.
    Fenced { head: u64 },
}

/// Heads of every stream seen in one partition.
#[derive(Debug, Clone, Default)]
pub struct StreamHeads {
    heads: HashMap<String, Head>,
}

impl StreamHeads {
    pub fn head(&self, stream_id: &str) -> Head {
        self.heads.get(stream_id).cloned().unwrap_or_default()
    }

    pub fn version(&self, stream_id: &str) -> u64 {
        self.heads.get(stream_id).map_or(0, |h| h.version)
    }

    /// Sets a head restored from a snapshot.
    pub fn restore(&mut self, stream_id: String, head: Head) {
        self.heads.insert(stream_id, head);
    }

    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Rule R: accept a commit iff its first version is the head's next; then move the head.
    pub fn admit(&mut self, commit: &CommitRecord) -> Admission {
        let head = self.heads.entry(commit.stream_id.clone()).or_default();
        if commit.events.is_empty() || commit.first_version != head.version + 1 {
            return Admission::Fenced { head: head.version };
        }
        head.version = commit.last_version();
        head.hash = commit.last_hash().to_owned();
        Admission::Accepted
    }
}

/// A problem found in an accepted commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// An event's `prev_hash` is not the previous event's hash: a record was removed,
    /// reordered or altered before this one.
    BrokenLink {
        version: u64,
        expected: String,
        found: String,
    },
    /// The stored hash does not match the event's content: the event was altered.
    HashMismatch { version: u64 },
    /// Versions inside the commit are not consecutive.
    VersionGap { expected: u64, found: u64 },
}

/// Checks one commit against the stream head it was accepted on.
pub fn verify_commit(commit: &CommitRecord, previous: &Head) -> Vec<ChainProblem> {
    let mut problems = Vec::new();
    let mut expected_prev = previous.hash.clone();
    let mut expected_version = previous.version + 1;
    for event in &commit.events {
        if event.version != expected_version {
            problems.push(ChainProblem::VersionGap {
                expected: expected_version,
                found: event.version,
            });
        }
        if event.prev_hash != expected_prev {
            problems.push(ChainProblem::BrokenLink {
                version: event.version,
                expected: expected_prev.clone(),
                found: event.prev_hash.clone(),
            });
        }
        if commit.hash_of(event) != event.hash {
            problems.push(ChainProblem::HashMismatch { version: event.version });
        }
        expected_prev = event.hash.clone();
        expected_version = event.version + 1;
    }
    problems
}
