//! Audit checks over the log itself: `erp verify` judges every record as stored — frame,
//! envelope, rule R continuity, hash chain, and that each payload still decodes as the
//! domain event it names — and reports each problem with stream, version and position.
//!
//! What the chain proves: an event altered, removed or reordered after it was written is
//! found, because every event's hash covers its content and its predecessor's hash. What it
//! does not prove on its own: a forger who rewrites a stream's *whole* tail with fresh hashes
//! is detected only against a stream head recorded elsewhere (an exported or printed head).
//!
//! Against Kafka, `erp verify --owners` also asks each partition's announced owner for the
//! heads it holds ([`OwnerHeadsCheck`]): an owner whose head for a stream is not the log's by
//! rule R refuses honest commands of that stream (409) or acknowledges commits every reader
//! fences, and the stream is reported as an `owner_head` problem.

use crate::eventlog::chain::{verify_links, Admission, ChainProblem, Head, Link, Span, StreamHeads};
use crate::eventlog::codec::{CommitRecord, GENESIS_HASH};
use crate::eventlog::embedded::RawRecord;
use crate::eventlog::kafka::owners::OwnerHeads;
use crate::eventlog::stored::StoredCommit;
use crate::eventlog::{partition_for, streams, Position, Upcasters};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

/// One thing wrong with the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// unreadable, envelope, version_gap, broken_link, hash_mismatch, schema, owner_head.
    pub kind: &'static str,
    pub stream_type: String,
    pub stream_id: Option<String>,
    pub version: Option<u64>,
    /// `type:partition:offset`.
    pub position: String,
    pub detail: String,
}

/// What a verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub records: u64,
    pub events: u64,
    /// Records later claims of an existing version (a writer that lost a race), and a stale
    /// writer's commits built on its own fenced ones: ignored by every reader under rule R,
    /// and not a problem. A commit at the next version linked to anything else is fenced by
    /// R too, but reported as a `broken_link`.
    pub fenced: u64,
    pub problems: Vec<Problem>,
}

/// Walks records one by one (in log order per partition) and accumulates a [`Report`].
#[derive(Debug, Default)]
pub struct Verifier {
    heads: StreamHeads,
    /// (stream id, last hash) of fenced commits: what a stale writer may have built on.
    fenced_tips: HashSet<(String, String)>,
    upcasters: Upcasters,
    /// Only this stream id, when set.
    only: Option<String>,
    /// Also decode every payload as its domain event.
    check_schema: bool,
    /// Reused for the canonical bytes of each event hashed.
    scratch: Vec<u8>,
    pub report: Report,
}

impl Verifier {
    pub fn new(only: Option<String>, check_schema: bool) -> Self {
        Self {
            only,
            check_schema,
            ..Self::default()
        }
    }

    pub fn visit(&mut self, stream_type: &str, partition: u32, raw: RawRecord) {
        let at = At {
            stream_type,
            partition,
            offset: raw.offset,
        };
        match raw.record {
            Ok(record) => self.visit_record(&at, &record),
            Err(why) => {
                self.report.records += 1;
                self.problem("unreadable", &at, None, None, why);
            }
        }
    }

    /// As [`Self::visit`], for a record's stored bytes: judged as stored ([`StoredCommit`]),
    /// without decoding it into a [`CommitRecord`] unless something is wrong with it.
    pub fn visit_stored(&mut self, stream_type: &str, partition: u32, offset: u64, bytes: &[u8]) {
        let at = At {
            stream_type,
            partition,
            offset,
        };
        // The fast way only when every event's hash is its stored bytes' (see `stored`);
        // anything else is judged the usual way, decoded, so its verdict is the canonical one.
        let mut scratch = std::mem::take(&mut self.scratch);
        let stored = StoredCommit::parse(bytes)
            .filter(|_| self.upcasters.is_empty())
            .filter(|s| s.events.iter().all(|e| s.intact(e, &mut scratch)));
        self.scratch = scratch;
        let Some(stored) = stored else {
            return match CommitRecord::decode(bytes) {
                Ok(record) => self.visit_record(&at, &record),
                Err(e) => {
                    self.report.records += 1;
                    self.problem("unreadable", &at, None, None, e.to_string());
                }
            };
        };
        let (stream_type, stream_id) = (stored.stream_type(), stored.stream_id());
        let links: Vec<Link<'_>> = stored
            .events
            .iter()
            .map(|e| Link {
                version: e.version,
                prev_hash: &e.prev_hash,
                hash: &e.hash,
            })
            .collect();
        let seen = Seen {
            stream_type: &stream_type,
            stream_id: &stream_id,
            first_version: stored.first_version,
            has_command_id: stored.has_command_id(),
            links: &links,
        };
        let accepted = self.judge(&at, &seen, |_| true);
        if accepted && self.check_schema {
            for event in &stored.events {
                let mut payload = serde_json::Deserializer::from_str(event.payload());
                let decoded = decode_domain(&stream_type, &mut payload).and_then(|()| payload.end());
                self.check_payload(
                    &at,
                    &stream_id,
                    event.version,
                    event.schema_version,
                    &event.event_type(),
                    decoded,
                );
            }
        }
    }

    fn visit_record(&mut self, at: &At<'_>, record: &CommitRecord) {
        let links = record.links();
        let seen = Seen {
            stream_type: &record.stream_type,
            stream_id: &record.stream_id,
            first_version: record.first_version,
            has_command_id: !record.command_id.is_nil(),
            links: &links,
        };
        let accepted = self.judge(at, &seen, |i| {
            record.hash_of(&record.events[i]) == record.events[i].hash
        });
        if accepted && self.check_schema {
            self.check_payloads(record, at);
        }
    }

    /// Judges one commit: envelope, rule R continuity, links and hashes (`intact(i)`: the
    /// `i`th event's stored hash matches its content). True when it was accepted, so its
    /// payloads are history.
    fn judge(&mut self, at: &At<'_>, seen: &Seen<'_>, intact: impl FnMut(usize) -> bool) -> bool {
        if self.only.as_deref().is_some_and(|o| o != seen.stream_id) {
            return false;
        }
        self.report.records += 1;
        self.report.events += seen.links.len() as u64;
        let stream_id = || Some(seen.stream_id.to_owned());
        if seen.stream_type != at.stream_type || seen.links.is_empty() || !seen.has_command_id {
            let why = if seen.stream_type != at.stream_type {
                format!(
                    "record of stream type {:?} stored under {:?}",
                    seen.stream_type, at.stream_type
                )
            } else if seen.links.is_empty() {
                "a commit without events".to_owned()
            } else {
                "a commit without a command id".to_owned()
            };
            self.problem("envelope", at, stream_id(), Some(seen.first_version), why);
            return false;
        }
        let span = Span::of(seen.first_version, seen.links);
        let before = self.heads.get(seen.stream_id);
        let head_version = before.map_or(0, |h| h.version);
        if seen.first_version != head_version + 1 {
            if seen.first_version > head_version + 1 {
                self.problem(
                    "version_gap",
                    at,
                    stream_id(),
                    Some(seen.first_version),
                    format!(
                        "version {} follows version {head_version}: a record is missing or out of order",
                        seen.first_version
                    ),
                );
            } else {
                self.fence(seen.stream_id, span);
            }
            return false;
        }
        let problems = match before {
            Some(before) => verify_links(seen.links, before, intact),
            None => verify_links(seen.links, &Head::default(), intact),
        };
        let accepted = self.heads.admit_span(seen.stream_id, span) == Admission::Accepted;
        let on_a_fenced_commit = || {
            span.is_some_and(|s| {
                self.fenced_tips
                    .contains(&(seen.stream_id.to_owned(), s.first_prev_hash.to_owned()))
            })
        };
        if !accepted && on_a_fenced_commit() {
            self.fence(seen.stream_id, span);
            return false;
        }
        for problem in problems {
            let (kind, version, detail) = match problem {
                ChainProblem::BrokenLink {
                    version,
                    expected,
                    found,
                } => (
                    "broken_link",
                    version,
                    format!("prev_hash {found} is not the previous event's hash {expected}"),
                ),
                ChainProblem::HashMismatch { version } => (
                    "hash_mismatch",
                    version,
                    "the stored hash does not match the event's content: altered after writing".to_owned(),
                ),
                ChainProblem::VersionGap { expected, found } => (
                    "version_gap",
                    found,
                    format!("event version {found} inside a commit where {expected} was due"),
                ),
            };
            self.problem(kind, at, stream_id(), Some(version), detail);
        }
        accepted
    }

    /// A stream's head by rule R over the records visited so far.
    pub fn head(&self, stream_id: &str) -> Head {
        self.heads.head(stream_id)
    }

    fn fence(&mut self, stream_id: &str, span: Option<Span<'_>>) {
        self.report.fenced += 1;
        let tip = span.map_or(GENESIS_HASH, |s| s.last_hash);
        self.fenced_tips.insert((stream_id.to_owned(), tip.to_owned()));
    }

    fn check_payloads(&mut self, record: &CommitRecord, at: &At<'_>) {
        let position = at.position();
        let events = match record.to_recorded(&position, &self.upcasters) {
            Ok(events) => events,
            Err(e) => {
                let version = Some(record.first_version);
                self.problem("schema", at, Some(record.stream_id.clone()), version, e.to_string());
                return;
            }
        };
        for event in events {
            let decoded = decode_domain(&record.stream_type, &event.payload);
            self.check_payload(
                at,
                &record.stream_id,
                event.version,
                event.schema_version,
                &event.event_type,
                decoded,
            );
        }
    }

    /// Reports a payload at schema version 0, or one that did not decode as its domain event.
    fn check_payload(
        &mut self,
        at: &At<'_>,
        stream_id: &str,
        version: u64,
        schema_version: u16,
        event_type: &str,
        decoded: Result<(), serde_json::Error>,
    ) {
        let why = if schema_version == 0 {
            "schema version 0".to_owned()
        } else if let Err(e) = decoded {
            format!("{event_type} does not decode as its domain event: {e}")
        } else {
            return;
        };
        self.problem("schema", at, Some(stream_id.to_owned()), Some(version), why);
    }

    fn problem(
        &mut self,
        kind: &'static str,
        at: &At<'_>,
        stream_id: Option<String>,
        version: Option<u64>,
        detail: String,
    ) {
        self.report.problems.push(Problem {
            kind,
            stream_type: at.stream_type.to_owned(),
            stream_id,
            version,
            position: at.position().token(),
            detail,
        });
    }
}

/// Where a record is: stream type, partition, offset.
struct At<'a> {
    stream_type: &'a str,
    partition: u32,
    offset: u64,
}

impl At<'_> {
    fn position(&self) -> Position {
        Position {
            stream_type: self.stream_type.to_owned(),
            partition: self.partition,
            offset: self.offset,
        }
    }
}

/// What the verifier reads of a commit, decoded or borrowed from its stored bytes.
struct Seen<'a> {
    stream_type: &'a str,
    stream_id: &'a str,
    first_version: u64,
    has_command_id: bool,
    links: &'a [Link<'a>],
}

/// Compares the heads the owners of a stream type's partitions hold with the heads the log
/// holds by rule R, each partition at the offset its owner had applied up to when asked: feed
/// it every record before the [`Verifier`] visits it ([`Self::before`]), then
/// [`Self::finish`]. Owners must be asked before the log is read, so the read reaches their
/// offsets.
#[derive(Debug)]
pub struct OwnerHeadsCheck {
    stream_type: String,
    partitions: u32,
    only: Option<String>,
    pending: BTreeMap<u32, OwnerHeads>,
    problems: Vec<Problem>,
}

impl OwnerHeadsCheck {
    /// `owners`: partition → what its owner answered. `only`: one stream id, as the verifier's.
    pub fn new(stream_type: &str, partitions: u32, only: Option<String>, owners: BTreeMap<u32, OwnerHeads>) -> Self {
        Self {
            stream_type: stream_type.to_owned(),
            partitions,
            only,
            pending: owners,
            problems: Vec::new(),
        }
    }

    /// Before `verifier` visits the record at `offset` of `partition`: once the read reaches
    /// the owner's offset, its partition is compared.
    pub fn before(&mut self, partition: u32, offset: u64, verifier: &Verifier) {
        if self.pending.get(&partition).is_some_and(|o| offset >= o.applied_to) {
            if let Some(owner) = self.pending.remove(&partition) {
                self.compare(partition, &owner, verifier);
            }
        }
    }

    /// After the whole read: compares the partitions whose owner had applied all of it.
    pub fn finish(mut self, verifier: &Verifier) -> Vec<Problem> {
        for (partition, owner) in std::mem::take(&mut self.pending) {
            self.compare(partition, &owner, verifier);
        }
        self.problems
    }

    fn compare(&mut self, partition: u32, owner: &OwnerHeads, verifier: &Verifier) {
        let wanted =
            |id: &String| self.only.as_ref().is_none_or(|o| o == id) && partition_for(id, self.partitions) == partition;
        let ids: BTreeSet<String> = owner
            .heads
            .keys()
            .chain(verifier.heads.iter().map(|(id, _)| id))
            .filter(|id| wanted(id))
            .cloned()
            .collect();
        for id in ids {
            let (held, logged) = (owner.head(&id), verifier.head(&id));
            if held == logged {
                continue;
            }
            let short = |h: &str| h.chars().take(12).collect::<String>();
            self.problems.push(Problem {
                kind: "owner_head",
                stream_type: self.stream_type.clone(),
                detail: format!(
                    "owner {} holds version {} ({}) but the log holds version {} ({}) by rule R",
                    owner.instance_id,
                    held.version,
                    short(&held.hash),
                    logged.version,
                    short(&logged.hash)
                ),
                stream_id: Some(id),
                version: Some(held.version),
                position: Position {
                    stream_type: self.stream_type.clone(),
                    partition,
                    offset: owner.applied_to,
                }
                .token(),
            });
        }
    }
}

/// Decodes a payload as the domain event of its stream type (unknown types pass), from a
/// `Value` or straight from its stored JSON.
fn decode_domain<'de, D: serde::Deserializer<'de, Error = serde_json::Error>>(
    stream_type: &str,
    payload: D,
) -> Result<(), serde_json::Error> {
    use serde::de::IgnoredAny;
    use serde::Deserialize;
    fn as_<'de, T: Deserialize<'de>, D: serde::Deserializer<'de, Error = serde_json::Error>>(
        payload: D,
    ) -> Result<(), serde_json::Error> {
        T::deserialize(payload).map(|_| ())
    }
    match stream_type {
        streams::APPROVAL => as_::<domain::approval::ApprovalEvent, _>(payload),
        streams::EMPLOYEE => as_::<domain::org::EmployeeEvent, _>(payload),
        streams::DEPARTMENT => as_::<domain::org::DepartmentEvent, _>(payload),
        streams::DELEGATION => as_::<domain::org::DelegationEvent, _>(payload),
        streams::LEAVE => as_::<domain::leave::LeaveEvent, _>(payload),
        streams::NUMBERING => as_::<domain::numbering::NumberEvent, _>(payload),
        streams::POLICY => as_::<domain::authority::AuthorityEvent, _>(payload),
        streams::ATTENDANCE => as_::<domain::attendance::AttendanceEvent, _>(payload),
        streams::QUEST => as_::<domain::quest::QuestEvent, _>(payload),
        streams::FEED => as_::<domain::feed::FeedEvent, _>(payload),
        _ => as_::<IgnoredAny, _>(payload),
    }
}

/// The stream id of an encoded record, read without decoding it (the encoder writes
/// `"stream_id":"…"` near the start).
fn stream_id_of(bytes: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"\"stream_id\":\"";
    // Built once: building a finder costs more than a search over a record's first bytes.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(KEY));
    let window = &bytes[..bytes.len().min(512)];
    let start = FINDER.find(window)? + KEY.len();
    let len = bytes[start..].iter().position(|b| *b == b'"')?;
    Some(&bytes[start..start + len])
}

/// Frames dealt to one worker: the segment they lie in, shared, and each frame's offset with
/// its range in it (or why it is unreadable). Frames are not copied.
#[derive(Default)]
struct Chunk {
    segment: Option<Arc<Vec<u8>>>,
    frames: Vec<(u64, Result<std::ops::Range<usize>, String>)>,
}

/// Frames per chunk.
const CHUNK_FRAMES: usize = 1024;

/// Verifies one stream type of an embedded log on `threads` threads: frames are read in
/// order and dealt to workers by stream id, so each stream is still judged in order by one
/// worker. `progress` sees the records read so far now and then.
pub fn verify_embedded(
    log_dir: &std::path::Path,
    stream_type: &str,
    only: Option<String>,
    check_schema: bool,
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, crate::eventlog::EventLogError> {
    use std::sync::mpsc::sync_channel;
    let threads = threads.max(1);
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        // Judged chunks come back to be filled again: fresh megabyte buffers cost a page
        // fault per page.
        let (recycle, recycled) = std::sync::mpsc::channel::<Chunk>();
        for _ in 0..threads {
            let (tx, rx) = sync_channel::<Chunk>(8);
            senders.push(tx);
            let only = only.clone();
            let recycle = recycle.clone();
            workers.push(scope.spawn(move || {
                let mut verifier = Verifier::new(only, check_schema);
                for mut chunk in rx {
                    let segment = chunk.segment.take().unwrap_or_default();
                    for (offset, frame) in chunk.frames.drain(..) {
                        match frame {
                            Ok(range) => verifier.visit_stored(stream_type, 0, offset, &segment[range]),
                            Err(why) => verifier.visit(
                                stream_type,
                                0,
                                RawRecord {
                                    offset,
                                    record: Err(why),
                                },
                            ),
                        }
                    }
                    drop(segment);
                    let _ = recycle.send(chunk);
                }
                verifier.report
            }));
        }
        let mut chunks: Vec<Chunk> = (0..threads).map(|_| Chunk::default()).collect();
        let mut records = 0u64;
        let scanned = crate::eventlog::embedded::scan_shared(log_dir, stream_type, |segment, offset, frame| {
            let worker = match &frame {
                Ok(range) => {
                    stream_id_of(&segment[range.clone()]).map_or(0, |id| crc32fast::hash(id) as usize % threads)
                }
                Err(_) => 0,
            };
            let chunk = &mut chunks[worker];
            if !chunk.segment.as_ref().is_some_and(|s| Arc::ptr_eq(s, segment)) {
                if !chunk.frames.is_empty() {
                    let empty = recycled.try_recv().unwrap_or_default();
                    let _ = senders[worker].send(std::mem::replace(chunk, empty));
                }
                chunk.segment = Some(segment.clone());
            }
            chunk.frames.push((offset, frame));
            if chunk.frames.len() == CHUNK_FRAMES {
                let empty = recycled.try_recv().unwrap_or_default();
                let _ = senders[worker].send(std::mem::replace(chunk, empty));
            }
            records += 1;
            if records.is_multiple_of(65_536) {
                progress(records);
            }
        });
        for (worker, chunk) in chunks.into_iter().enumerate() {
            let _ = senders[worker].send(chunk);
        }
        drop(senders);
        let mut report = Report::default();
        for worker in workers {
            let part = worker.join().unwrap_or_default();
            report.records += part.records;
            report.events += part.events;
            report.fenced += part.fenced;
            report.problems.extend(part.problems);
        }
        report.problems.sort_by_key(|p| position_order(&p.position));
        scanned.map(|()| report)
    })
}

/// (partition, offset) of a position token, for listing problems in log order.
fn position_order(token: &str) -> (u64, u64) {
    let mut parts = token.rsplitn(3, ':');
    let offset = parts.next().and_then(|o| o.parse().ok()).unwrap_or(0);
    let partition = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (partition, offset)
}
