//! Rule R and chain verification. Every reader of a partition — writers restoring state,
//! projectors, `erp verify` — decides which commits count with [`StreamHeads::admit`], so all
//! of them agree on the history.
//!
//! R looks at a commit's version *and* its link: a commit is the stream's next one only if
//! its first version is `head + 1` and its first event's `prev_hash` is the head's hash.
//! Checking the version alone would let a commit built on another predecessor — a stale writer
//! chaining onto its own fenced commit, or a forged record — become history, forking the chain
//! that `erp verify` then reports as broken. Both inputs are stored fields read verbatim (no
//! hash is recomputed here), so every reader of every version decides alike.

use super::codec::{CommitRecord, GENESIS_HASH};

use std::collections::HashMap;

/// A stream's head: its last accepted version and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub version: u64,
    pub hash: String,
}

impl Head {
    /// Rule R's test: `commit` is the stream's next commit — it holds events, its first
    /// version is the next one and its first event links to this head's hash.
    pub fn is_followed_by(&self, commit: &CommitRecord) -> bool {
        self.is_followed_at(commit.span().as_ref())
    }

    /// [`Self::is_followed_by`] for a commit's span (`None`: a commit without events).
    pub fn is_followed_at(&self, span: Option<&Span<'_>>) -> bool {
        span.is_some_and(|s| s.first_version == self.version + 1 && s.first_prev_hash == self.hash)
    }
}

/// What rule R reads of a commit: where its events start and end in the stream's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<'a> {
    pub first_version: u64,
    pub first_prev_hash: &'a str,
    pub last_version: u64,
    pub last_hash: &'a str,
}

/// One event's place in its stream's chain, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    pub version: u64,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

impl<'a> Span<'a> {
    /// The span of a commit whose events (`links`) start at `first_version`, as rule R reads
    /// it: versions from the commit's `first_version` and its count of events, `None` when it
    /// has none.
    pub fn of(first_version: u64, links: &[Link<'a>]) -> Option<Self> {
        let (first, last) = (links.first()?, links.last()?);
        Some(Self {
            first_version,
            first_prev_hash: first.prev_hash,
            last_version: first_version + links.len() as u64 - 1,
            last_hash: last.hash,
        })
    }
}

/// What rule R and the verifier read of a decoded commit.
impl CommitRecord {
    /// Each event's place in the stream's chain.
    pub fn links(&self) -> Vec<Link<'_>> {
        self.events
            .iter()
            .map(|e| Link {
                version: e.version,
                prev_hash: &e.prev_hash,
                hash: &e.hash,
            })
            .collect()
    }

    /// Where the commit's events start and end in the stream's chain (`None`: no events).
    pub fn span(&self) -> Option<Span<'_>> {
        let (first, last) = (self.events.first()?, self.events.last()?);
        Some(Span {
            first_version: self.first_version,
            first_prev_hash: &first.prev_hash,
            last_version: self.last_version(),
            last_hash: &last.hash,
        })
    }
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
    /// A version already claimed, a gap, or a commit that does not link to the head's hash:
    /// ignored by every reader. `head` is the stream's version, unchanged.
    Fenced { head: u64 },
}

/// Heads of every stream seen in one partition. Looked up once or twice per record by every
/// reader, so hashed with foldhash (seeded per process) rather than SipHash.
#[derive(Debug, Clone, Default)]
pub struct StreamHeads {
    heads: HashMap<String, Head, foldhash::fast::RandomState>,
}

impl StreamHeads {
    pub fn head(&self, stream_id: &str) -> Head {
        self.heads.get(stream_id).cloned().unwrap_or_default()
    }

    /// A stream's head without copying it; `None` before its first commit.
    pub fn get(&self, stream_id: &str) -> Option<&Head> {
        self.heads.get(stream_id)
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

    /// Every stream's head, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Head)> {
        self.heads.iter()
    }

    /// Rule R: accept a commit iff it follows the head ([`Head::is_followed_by`]); then move
    /// the head.
    pub fn admit(&mut self, commit: &CommitRecord) -> Admission {
        self.admit_span(&commit.stream_id, commit.span())
    }

    /// [`Self::admit`] for a commit's span (`None`: a commit without events).
    pub fn admit_span(&mut self, stream_id: &str, span: Option<Span<'_>>) -> Admission {
        let head = match self.heads.get_mut(stream_id) {
            Some(head) => head,
            None => self.heads.entry(stream_id.to_owned()).or_default(),
        };
        match span {
            Some(span) if head.is_followed_at(Some(&span)) => {
                head.version = span.last_version;
                head.hash.clear();
                head.hash.push_str(span.last_hash);
                Admission::Accepted
            }
            _ => Admission::Fenced { head: head.version },
        }
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
    verify_links(&commit.links(), previous, |i| {
        commit.hash_of(&commit.events[i]) == commit.events[i].hash
    })
}

/// Checks a commit's links against the stream head it was accepted on; `intact(i)` says
/// whether the `i`th event's stored hash matches its content.
pub fn verify_links(links: &[Link<'_>], previous: &Head, mut intact: impl FnMut(usize) -> bool) -> Vec<ChainProblem> {
    let mut problems = Vec::new();
    let mut expected_prev = previous.hash.as_str();
    let mut expected_version = previous.version + 1;
    for (i, link) in links.iter().enumerate() {
        if link.version != expected_version {
            problems.push(ChainProblem::VersionGap {
                expected: expected_version,
                found: link.version,
            });
        }
        if link.prev_hash != expected_prev {
            problems.push(ChainProblem::BrokenLink {
                version: link.version,
                expected: expected_prev.to_owned(),
                found: link.prev_hash.to_owned(),
            });
        }
        if !intact(i) {
            problems.push(ChainProblem::HashMismatch { version: link.version });
        }
        expected_prev = link.hash;
        expected_version = link.version + 1;
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::{ExpectedVersion, NewCommit, NewEvent, StreamRef};
    use chrono::Utc;
    use uuid::Uuid;

    fn commit_on(head: &Head) -> CommitRecord {
        let commit = NewCommit {
            stream: StreamRef::new("doc", "doc-1"),
            expected: ExpectedVersion::Any,
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: None,
            traceparent: None,
            events: vec![NewEvent {
                event_type: "doc.noted".into(),
                schema_version: 1,
                payload: serde_json::json!({ "n": head.version }),
            }],
        };
        CommitRecord::build(&commit, head.version, &head.hash, Utc::now())
    }

    fn head_after(record: &CommitRecord) -> Head {
        Head {
            version: record.last_version(),
            hash: record.last_hash().to_owned(),
        }
    }

    #[test]
    fn a_commit_at_the_next_version_whose_prev_hash_is_not_the_heads_hash_is_fenced() {
        let mut heads = StreamHeads::default();
        let first = commit_on(&Head::default());
        assert_eq!(heads.admit(&first), Admission::Accepted);
        let forged = commit_on(&Head {
            version: 1,
            hash: "f".repeat(64),
        });
        assert_eq!(heads.admit(&forged), Admission::Fenced { head: 1 });
        assert_eq!(
            heads.head("doc-1"),
            head_after(&first),
            "a fenced commit does not move the head"
        );
        let linked = commit_on(&head_after(&first));
        assert_eq!(heads.admit(&linked), Admission::Accepted);
    }

    /// A stale writer keeps building on its own commits: after its version 2 lost the race, its
    /// version 3 links to that fenced commit. Every reader fences it, so no history forks.
    #[test]
    fn a_stale_writers_commit_chained_onto_its_own_fenced_commit_is_fenced_by_every_reader() {
        let v1 = commit_on(&Head::default());
        let winner = commit_on(&head_after(&v1));
        let loser = commit_on(&head_after(&v1));
        let loser_next = commit_on(&head_after(&loser));
        let log = [&v1, &winner, &loser, &loser_next];
        let judged = |log: &[&CommitRecord]| {
            let mut heads = StreamHeads::default();
            let admissions: Vec<Admission> = log.iter().map(|c| heads.admit(c)).collect();
            (admissions, heads.head("doc-1"))
        };
        let (admissions, head) = judged(&log);
        assert_eq!(
            admissions,
            vec![
                Admission::Accepted,
                Admission::Accepted,
                Admission::Fenced { head: 2 },
                Admission::Fenced { head: 2 },
            ]
        );
        assert_eq!(head, head_after(&winner));
        assert_eq!(judged(&log), (admissions, head), "every reader decides the same");
    }
}
