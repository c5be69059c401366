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

use crate::eventlog::chain::{verify_commit, Admission, ChainProblem, Head, StreamHeads};
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::embedded::RawRecord;
use crate::eventlog::kafka::owners::OwnerHeads;
use crate::eventlog::{partition_for, streams, Position, Upcasters};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};

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
        let position = Position {
            stream_type: stream_type.to_owned(),
            partition,
            offset: raw.offset,
        };
        let record = match raw.record {
            Ok(record) => record,
            Err(why) => {
                self.report.records += 1;
                self.problem("unreadable", &position, None, None, why);
                return;
            }
        };
        if self.only.as_ref().is_some_and(|o| *o != record.stream_id) {
            return;
        }
        self.report.records += 1;
        self.report.events += record.events.len() as u64;
        let stream_id = Some(record.stream_id.clone());
        if record.stream_type != stream_type || record.events.is_empty() || record.command_id.is_nil() {
            let why = if record.stream_type != stream_type {
                format!(
                    "record of stream type {:?} stored under {stream_type:?}",
                    record.stream_type
                )
            } else if record.events.is_empty() {
                "a commit without events".to_owned()
            } else {
                "a commit without a command id".to_owned()
            };
            self.problem("envelope", &position, stream_id, Some(record.first_version), why);
            return;
        }
        let before = self.heads.head(&record.stream_id);
        if record.first_version != before.version + 1 {
            if record.first_version > before.version + 1 {
                self.problem(
                    "version_gap",
                    &position,
                    stream_id,
                    Some(record.first_version),
                    format!(
                        "version {} follows version {}: a record is missing or out of order",
                        record.first_version, before.version
                    ),
                );
            } else {
                self.fence(&record);
            }
            return;
        }
        let problems = verify_commit(&record, &before);
        let accepted = self.heads.admit(&record) == Admission::Accepted;
        let on_a_fenced_commit = || {
            self.fenced_tips
                .contains(&(record.stream_id.clone(), record.first_prev_hash().to_owned()))
        };
        if !accepted && on_a_fenced_commit() {
            self.fence(&record);
            return;
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
            self.problem(kind, &position, stream_id.clone(), Some(version), detail);
        }
        if accepted && self.check_schema {
            self.check_payloads(&record, &position);
        }
    }

    /// A stream's head by rule R over the records visited so far.
    pub fn head(&self, stream_id: &str) -> Head {
        self.heads.head(stream_id)
    }

    fn fence(&mut self, record: &CommitRecord) {
        self.report.fenced += 1;
        self.fenced_tips
            .insert((record.stream_id.clone(), record.last_hash().to_owned()));
    }

    fn check_payloads(&mut self, record: &CommitRecord, position: &Position) {
        let events = match record.to_recorded(position, &self.upcasters) {
            Ok(events) => events,
            Err(e) => {
                let version = Some(record.first_version);
                self.problem(
                    "schema",
                    position,
                    Some(record.stream_id.clone()),
                    version,
                    e.to_string(),
                );
                return;
            }
        };
        for event in events {
            if event.schema_version == 0 {
                let why = "schema version 0".to_owned();
                self.problem(
                    "schema",
                    position,
                    Some(record.stream_id.clone()),
                    Some(event.version),
                    why,
                );
                continue;
            }
            if let Err(e) = decode_domain(&record.stream_type, &event.payload) {
                let why = format!("{} does not decode as its domain event: {e}", event.event_type);
                self.problem(
                    "schema",
                    position,
                    Some(record.stream_id.clone()),
                    Some(event.version),
                    why,
                );
            }
        }
    }

    fn problem(
        &mut self,
        kind: &'static str,
        position: &Position,
        stream_id: Option<String>,
        version: Option<u64>,
        detail: String,
    ) {
        self.report.problems.push(Problem {
            kind,
            stream_type: position.stream_type.clone(),
            stream_id,
            version,
            position: position.token(),
            detail,
        });
    }
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

/// Decodes a payload as the domain event of its stream type (unknown types pass).
fn decode_domain(stream_type: &str, payload: &serde_json::Value) -> Result<(), serde_json::Error> {
    use serde::de::IgnoredAny;
    fn as_<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<(), serde_json::Error> {
        T::deserialize(v).map(|_| ())
    }
    match stream_type {
        streams::APPROVAL => as_::<domain::approval::ApprovalEvent>(payload),
        streams::EMPLOYEE => as_::<domain::org::EmployeeEvent>(payload),
        streams::DEPARTMENT => as_::<domain::org::DepartmentEvent>(payload),
        streams::DELEGATION => as_::<domain::org::DelegationEvent>(payload),
        streams::LEAVE => as_::<domain::leave::LeaveEvent>(payload),
        streams::NUMBERING => as_::<domain::numbering::NumberEvent>(payload),
        streams::POLICY => as_::<domain::authority::AuthorityEvent>(payload),
        streams::ATTENDANCE => as_::<domain::attendance::AttendanceEvent>(payload),
        streams::QUEST => as_::<domain::quest::QuestEvent>(payload),
        _ => as_::<IgnoredAny>(payload),
    }
}

/// The stream id of an encoded record, read without decoding it (the encoder writes
/// `"stream_id":"…"` near the start).
fn stream_id_of(bytes: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"\"stream_id\":\"";
    let window = &bytes[..bytes.len().min(512)];
    let start = window.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = bytes[start..].iter().position(|b| *b == b'"')?;
    Some(&bytes[start..start + len])
}

/// Frames dealt to one worker: (offset, bytes or why unreadable).
type Chunk = Vec<(u64, Result<Vec<u8>, String>)>;

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
        for _ in 0..threads {
            let (tx, rx) = sync_channel::<Chunk>(8);
            senders.push(tx);
            let only = only.clone();
            workers.push(scope.spawn(move || {
                let mut verifier = Verifier::new(only, check_schema);
                for chunk in rx {
                    for (offset, frame) in chunk {
                        let record = frame.and_then(|b| CommitRecord::decode(&b).map_err(|e| e.to_string()));
                        verifier.visit(stream_type, 0, RawRecord { offset, record });
                    }
                }
                verifier.report
            }));
        }
        let mut chunks: Vec<Chunk> = vec![Vec::with_capacity(256); threads];
        let mut records = 0u64;
        let scanned = crate::eventlog::embedded::scan_frames(log_dir, stream_type, |offset, frame| {
            let worker = match &frame {
                Ok(bytes) => stream_id_of(bytes).map_or(0, |id| crc32fast::hash(id) as usize % threads),
                Err(_) => 0,
            };
            chunks[worker].push((offset, frame.map(<[u8]>::to_vec)));
            if chunks[worker].len() == 256 {
                let full = std::mem::replace(&mut chunks[worker], Vec::with_capacity(256));
                let _ = senders[worker].send(full);
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
