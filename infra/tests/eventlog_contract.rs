//! One contract suite for the event-log port, instantiated for every adapter: the embedded
//! log on a temporary directory and the Kafka adapter on the real broker started by
//! `scripts/test`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use infra::eventlog::chain::{verify_commit, Admission, ChainProblem, Head, StreamHeads};
use infra::eventlog::codec::CommitRecord;
use infra::eventlog::{Checkpoint, EventLog, EventLogError, ExpectedVersion, NewEvent, StreamRef};
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// Reads every record of a stream type from the beginning until `count` commits arrived.
async fn read_all(log: &dyn EventLog, stream_type: &str, count: usize) -> Vec<CommitRecord> {
    let mut sub = log.subscribe(stream_type, Checkpoint::new()).await.unwrap();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while out.len() < count && tokio::time::Instant::now() < deadline {
        out.extend(
            sub.next_batch(100, Duration::from_millis(500))
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.commit),
        );
    }
    out
}

/// A subscription gives each record as its stored bytes too, at the same place, and the
/// bytes decode to the commit it delivers decoded; a glance at them reads the same chain.
pub async fn a_subscription_gives_records_as_stored_bytes_that_decode_to_its_commits(log: Arc<dyn EventLog>) {
    let (a, b) = (stream("doc-a"), stream("doc-b"));
    log.append(commit(&a, ExpectedVersion::NoStream, vec![event(1), event(2)]))
        .await
        .unwrap();
    log.append(commit(&b, ExpectedVersion::NoStream, vec![event(3)]))
        .await
        .unwrap();
    log.append(commit(&a, ExpectedVersion::Exact(2), vec![event(4)]))
        .await
        .unwrap();
    let mut decoded = log.subscribe(a.stream_type.as_str(), Checkpoint::new()).await.unwrap();
    let mut stored = log.subscribe(a.stream_type.as_str(), Checkpoint::new()).await.unwrap();
    let (mut commits, mut records) = (Vec::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while (commits.len() < 3 || records.len() < 3) && tokio::time::Instant::now() < deadline {
        commits.extend(decoded.next_batch(100, Duration::from_millis(200)).await.unwrap());
        records.extend(stored.next_records(100, Duration::from_millis(200)).await.unwrap());
    }
    assert_eq!(records.len(), 3);
    let place = |p: u32, o: u64| (p, o);
    commits.sort_by_key(|d| place(d.partition, d.offset));
    records.sort_by_key(|r| place(r.partition, r.offset));
    let mut heads = StreamHeads::default();
    for (d, r) in commits.iter().zip(&records) {
        assert_eq!((d.partition, d.offset), (r.partition, r.offset));
        assert_eq!(CommitRecord::decode(&r.bytes).unwrap(), d.commit);
        let glance = infra::eventlog::glance::Glance::read(&r.bytes).unwrap();
        assert_eq!(glance.span(), d.commit.span());
        assert_eq!(
            heads.admit_span(&glance.stream_id(), glance.span()),
            Admission::Accepted
        );
    }
    assert_eq!(
        stored.checkpoint(),
        decoded.checkpoint(),
        "both moved past every record"
    );
}

pub async fn appended_events_read_back_in_order_with_their_envelope(log: Arc<dyn EventLog>) {
    let s = stream("doc-1");
    let first = log
        .append(commit(&s, ExpectedVersion::NoStream, vec![event(1), event(2)]))
        .await
        .unwrap();
    assert_eq!(
        (first.first_version, first.last_version, first.duplicate),
        (1, 2, false)
    );
    let second = log
        .append(commit(&s, ExpectedVersion::Exact(2), vec![event(3)]))
        .await
        .unwrap();
    assert_eq!(second.first_version, 3);
    let events = log.read_stream(&s).await.unwrap();
    assert_eq!(events.iter().map(|e| e.version).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(
        events
            .iter()
            .map(|e| e.payload["n"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let e = &events[0];
    assert_eq!(e.event_id.get_version_num(), 7, "event ids are UUIDv7");
    assert_eq!(
        (e.event_type.as_str(), e.schema_version, e.actor.as_deref()),
        ("doc.noted", 1, Some("tester"))
    );
    assert_eq!(events[1].prev_hash, events[0].hash);
    assert_eq!(events[0].commit_id, events[1].commit_id, "one commit, one record");
    assert_ne!(events[1].commit_id, events[2].commit_id);
    assert_eq!(events[2].position, second.position);
    assert!(log.read_stream(&stream("nobody")).await.unwrap().is_empty());
}

pub async fn a_stale_expected_version_conflicts_with_the_current_version(log: Arc<dyn EventLog>) {
    let s = stream("doc-2");
    log.append(commit(&s, ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .unwrap();
    let stale = log.append(commit(&s, ExpectedVersion::NoStream, vec![event(2)])).await;
    assert_eq!(
        stale,
        Err(EventLogError::Conflict {
            expected: ExpectedVersion::NoStream,
            actual: 1
        })
    );
    let stale = log.append(commit(&s, ExpectedVersion::Exact(5), vec![event(2)])).await;
    assert_eq!(
        stale,
        Err(EventLogError::Conflict {
            expected: ExpectedVersion::Exact(5),
            actual: 1
        })
    );
    assert_eq!(
        log.read_stream(&s).await.unwrap().len(),
        1,
        "a conflict appends nothing"
    );
}

pub async fn a_retried_command_returns_the_first_result_and_appends_nothing(log: Arc<dyn EventLog>) {
    let s = stream("doc-3");
    let c = commit(&s, ExpectedVersion::NoStream, vec![event(1)]);
    let first = log.append(c.clone()).await.unwrap();
    let retry = log.append(c.clone()).await.unwrap();
    assert!(retry.duplicate);
    assert_eq!(
        (retry.commit_id, retry.first_version, &retry.position),
        (first.commit_id, first.first_version, &first.position)
    );
    assert_eq!(log.read_stream(&s).await.unwrap().len(), 1);
    let found = log
        .find_command(&s, c.command_id)
        .await
        .unwrap()
        .expect("known command");
    assert_eq!((found.commit_id, found.duplicate), (first.commit_id, true));
    assert_eq!(log.find_command(&s, uuid::Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(log.find_command(&stream("other"), c.command_id).await.unwrap(), None);
    let mut elsewhere = c;
    elsewhere.stream = stream("doc-3b");
    assert_eq!(
        log.append(elsewhere.clone()).await,
        Err(EventLogError::CommandIdReused(elsewhere.command_id))
    );
}

pub async fn concurrent_retries_of_one_command_append_it_once(log: Arc<dyn EventLog>) {
    let s = stream("doc-3c");
    let c = commit(&s, ExpectedVersion::Any, vec![event(1)]);
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn({
                let log = log.clone();
                let c = c.clone();
                async move { log.append(c).await }
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for attempt in attempts {
        ids.insert(attempt.await.unwrap().unwrap().commit_id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(log.read_stream(&s).await.unwrap().len(), 1);
}

pub async fn empty_commits_are_refused(log: Arc<dyn EventLog>) {
    let s = stream("doc-4");
    assert_eq!(
        log.append(commit(&s, ExpectedVersion::Any, vec![])).await,
        Err(EventLogError::EmptyOrHugeCommit)
    );
}

pub async fn concurrent_appends_keep_each_stream_gap_free_and_in_order(log: Arc<dyn EventLog>) {
    let streams: Vec<StreamRef> = (0..4).map(|i| stream(&format!("doc-order-{i}"))).collect();
    let mut tasks = Vec::new();
    for s in &streams {
        for n in 0..25u64 {
            let log = log.clone();
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                log.append(commit(&s, ExpectedVersion::Any, vec![event(n)])).await
            }));
        }
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for s in &streams {
        let events = log.read_stream(s).await.unwrap();
        assert_eq!(
            events.iter().map(|e| e.version).collect::<Vec<_>>(),
            (1..=25).collect::<Vec<_>>()
        );
        for pair in events.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash, "chain links in order");
            assert!(pair[0].position.offset < pair[1].position.offset);
        }
    }
}

pub async fn a_subscription_resumes_from_its_checkpoint_and_sees_new_commits(log: Arc<dyn EventLog>) {
    let s = stream("doc-5");
    for n in 0..6 {
        log.append(commit(&s, ExpectedVersion::Exact(n), vec![event(n)]))
            .await
            .unwrap();
    }
    let mut sub = log.subscribe("doc", Checkpoint::new()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.extend(sub.next_batch(3 - seen.len(), Duration::from_secs(5)).await.unwrap());
    }
    let checkpoint = sub.checkpoint().clone();
    drop(sub);
    let mut resumed = log.subscribe("doc", checkpoint).await.unwrap();
    let mut rest = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while rest.len() < 3 && tokio::time::Instant::now() < deadline {
        rest.extend(resumed.next_batch(10, Duration::from_millis(500)).await.unwrap());
    }
    let versions: Vec<u64> = seen.iter().chain(&rest).map(|d| d.commit.first_version).collect();
    assert_eq!(
        versions,
        vec![1, 2, 3, 4, 5, 6],
        "no gap, no duplicate across the resume"
    );
    let live = log
        .append(commit(&s, ExpectedVersion::Exact(6), vec![event(7)]))
        .await
        .unwrap();
    let mut next = Vec::new();
    while next.is_empty() {
        next = resumed.next_batch(10, Duration::from_secs(10)).await.unwrap();
    }
    assert_eq!(next[0].commit.first_version, 7);
    assert_eq!(
        (next[0].partition, next[0].offset),
        (live.position.partition, live.position.offset)
    );
    assert!(live.position.reached_by(resumed.checkpoint()));
    let end = log.end_offsets("doc").await.unwrap();
    assert_eq!(end.get(&live.position.partition), Some(&(live.position.offset + 1)));
}

pub async fn tampering_with_or_removing_a_record_breaks_the_chain(log: Arc<dyn EventLog>) {
    let s = stream("doc-6");
    for n in 0..3 {
        log.append(commit(&s, ExpectedVersion::Exact(n), vec![event(n)]))
            .await
            .unwrap();
    }
    let commits = read_all(&*log, "doc", 3).await;
    assert_eq!(commits.len(), 3);
    let verify = |commits: &[CommitRecord]| {
        let mut heads = StreamHeads::default();
        let mut problems = Vec::new();
        for c in commits {
            let before = heads.head(&c.stream_id);
            problems.extend(verify_commit(c, &before));
            heads.admit(c);
        }
        problems
    };
    assert!(verify(&commits).is_empty(), "an untouched log verifies");
    let mut tampered = commits.clone();
    tampered[1].events[0].payload["text"] = "forged".into();
    assert_eq!(verify(&tampered), vec![ChainProblem::HashMismatch { version: 2 }]);
    let mut removed = commits.clone();
    removed.remove(1);
    removed[1].first_version = 2;
    removed[1].events[0].version = 2;
    let problems = verify(&removed);
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, ChainProblem::BrokenLink { version: 2, .. })),
        "{problems:?}"
    );
    let mut heads = StreamHeads::default();
    let admitted: Vec<Admission> = removed.iter().map(|c| heads.admit(c)).collect();
    assert_eq!(
        admitted,
        vec![Admission::Accepted, Admission::Fenced { head: 1 }],
        "readers fence a record that does not link to the one before it"
    );
    let _ = Head::default();
}

/// Writes a record into the log exactly as given, past every check a writer makes: what a
/// forger, a stale writer or a writer of another version could leave in the log.
pub type Forge = Arc<dyn Fn(CommitRecord) -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

pub async fn a_commit_that_does_not_link_to_the_head_is_fenced_like_a_stale_writers(
    log: Arc<dyn EventLog>,
    forge: Forge,
) {
    let s = stream("doc-fork");
    let first = log
        .append(commit(&s, ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .unwrap();
    // The right next version, on a predecessor that is not the stream's head: a fork.
    let fork = CommitRecord::build(
        &commit(&s, ExpectedVersion::Any, vec![event(2)]),
        1,
        &"f".repeat(64),
        chrono::Utc::now(),
    );
    forge(fork.clone()).await;
    let second = log
        .append(commit(&s, ExpectedVersion::Exact(1), vec![event(3)]))
        .await
        .expect("the fork claimed no version");
    assert_eq!(second.first_version, 2);
    let events = log.read_stream(&s).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.commit_id).collect::<Vec<_>>(),
        vec![first.commit_id, second.commit_id]
    );
    assert_eq!(events[1].prev_hash, events[0].hash);
    let mut heads = StreamHeads::default();
    let judged: Vec<(uuid::Uuid, Admission)> = read_all(&*log, "doc", 3)
        .await
        .iter()
        .filter(|c| c.stream_id == s.stream_id)
        .map(|c| (c.commit_id, heads.admit(c)))
        .collect();
    assert_eq!(
        judged,
        vec![
            (first.commit_id, Admission::Accepted),
            (fork.commit_id, Admission::Fenced { head: 1 }),
            (second.commit_id, Admission::Accepted),
        ],
        "a subscriber judges the log as the writer did"
    );
}

/// A stream's version is told without reading the stream (where the log can: the embedded
/// log's index, the Kafka partition's owner once it has restored the partition) and follows
/// every accepted commit — an append here or one another writer put on the log — so a state
/// folded at a version is used only while the stream is still there.
pub async fn a_stream_version_is_told_without_a_read_and_follows_every_accepted_commit(
    log: Arc<dyn EventLog>,
    forge: Forge,
) {
    let s = stream("doc-version");
    assert_eq!(told(&*log, &s, |v| v.is_some()).await, Some(0), "never written");
    log.append(commit(&s, ExpectedVersion::NoStream, vec![event(1), event(2)]))
        .await
        .unwrap();
    assert_eq!(log.stream_version(&s).await.unwrap(), Some(2));
    log.append(commit(&s, ExpectedVersion::NoStream, vec![event(3)]))
        .await
        .expect_err("a stale expected version");
    assert_eq!(
        log.stream_version(&s).await.unwrap(),
        Some(2),
        "a conflict moves nothing"
    );
    let head = log.read_stream(&s).await.unwrap().last().unwrap().hash.clone();
    let elsewhere = CommitRecord::build(
        &commit(&s, ExpectedVersion::Any, vec![event(3)]),
        2,
        &head,
        chrono::Utc::now(),
    );
    forge(elsewhere).await;
    assert_eq!(
        told(&*log, &s, |v| v == Some(3)).await,
        Some(3),
        "another writer's commit moves the version"
    );
    assert_eq!(log.read_stream(&s).await.unwrap().len(), 3);
}

/// The stream's version once `wanted` holds of it, or the last one told after ten seconds.
async fn told(log: &dyn EventLog, s: &StreamRef, wanted: impl Fn(Option<u64>) -> bool) -> Option<u64> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let version = log.stream_version(s).await.unwrap();
        if wanted(version) || std::time::Instant::now() > deadline {
            return version;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn old_schema_versions_are_upcast_on_read(log: Arc<dyn EventLog>) {
    let s = StreamRef::new("legacy", "old-1");
    let old = NewEvent {
        event_type: "legacy.renamed".into(),
        schema_version: 1,
        payload: serde_json::json!({ "name": "옛 제목" }),
    };
    log.append(commit(&s, ExpectedVersion::NoStream, vec![old]))
        .await
        .unwrap();
    let events = log.read_stream(&s).await.unwrap();
    assert_eq!((events[0].stored_schema_version, events[0].schema_version), (1, 2));
    assert_eq!(events[0].payload, serde_json::json!({ "title": "옛 제목" }));
}

macro_rules! contract_suite {
    ($adapter:ident, $open:expr) => {
        mod $adapter {
            use super::*;

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let (log, _forge, _guard) = $open.await;
                        super::$name(log).await;
                    }
                };
                ($name:ident, forge) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let (log, forge, _guard) = $open.await;
                        super::$name(log, forge).await;
                    }
                };
            }

            case!(appended_events_read_back_in_order_with_their_envelope);
            case!(a_subscription_gives_records_as_stored_bytes_that_decode_to_its_commits);
            case!(a_stale_expected_version_conflicts_with_the_current_version);
            case!(a_retried_command_returns_the_first_result_and_appends_nothing);
            case!(concurrent_retries_of_one_command_append_it_once);
            case!(empty_commits_are_refused);
            case!(concurrent_appends_keep_each_stream_gap_free_and_in_order);
            case!(a_subscription_resumes_from_its_checkpoint_and_sees_new_commits);
            case!(tampering_with_or_removing_a_record_breaks_the_chain);
            case!(old_schema_versions_are_upcast_on_read);
            case!(
                a_stream_version_is_told_without_a_read_and_follows_every_accepted_commit,
                forge
            );
            case!(
                a_commit_that_does_not_link_to_the_head_is_fenced_like_a_stale_writers,
                forge
            );
        }
    };
}

async fn open_embedded() -> (Arc<dyn EventLog>, Forge, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let log = embedded_at(dir.path());
    let importer = log.clone();
    let forge: Forge = Arc::new(move |record| {
        let log = importer.clone();
        Box::pin(async move {
            log.import(record).await.unwrap();
        })
    });
    (log as Arc<dyn EventLog>, forge, dir)
}

async fn open_kafka() -> (Arc<dyn EventLog>, Forge, ()) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let prefix = fresh_prefix();
    let log = Arc::new(kafka_with(&prefix, None).await);
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    let partitions = log.partitions();
    let forge: Forge = Arc::new(move |record: CommitRecord| {
        let (producer, topic) = (producer.clone(), format!("{prefix}.{}.events", record.stream_type));
        Box::pin(async move {
            let partition = infra::eventlog::partition_for(&record.stream_id, partitions);
            let payload = record.encode().unwrap();
            producer
                .send(
                    FutureRecord::to(&topic)
                        .partition(partition as i32)
                        .key(&record.key())
                        .payload(&payload),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
        })
    });
    (log as Arc<dyn EventLog>, forge, ())
}

contract_suite!(embedded, open_embedded());
contract_suite!(kafka, open_kafka());
