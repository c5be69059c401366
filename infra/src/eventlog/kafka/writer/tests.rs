//! The writer's unit tests: brokers that never answer, restores that race.

use super::append::{is_whole_history, join_history};
use super::health::*;
use super::restore::*;
use super::state::*;
use crate::eventlog::chain::{Head, StreamHeads};
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::kafka::config::KafkaConfig;
use crate::eventlog::{EventLogError, ExpectedVersion, NewCommit};
use crate::eventlog::{NewEvent, StreamRef};
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Writers whose broker never answers (nothing listens at the address) and that own
/// partition 0 of `doc` as if restored: every produce waits until `message_timeout`.
fn writers_without_a_broker(message_timeout: Duration) -> Arc<Writers> {
    let mut config = KafkaConfig::local("127.0.0.1:9", "t", &["doc"]);
    config.partitions = 1;
    config.write = false;
    config.append_timeout = Duration::from_millis(300);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:9")
        .set("message.timeout.ms", message_timeout.as_millis().to_string())
        .create()
        .unwrap();
    let writers = Writers::start(Arc::new(config), producer).unwrap();
    let mut state = PartitionState::new("doc".into(), 0);
    state.restoring = false;
    state.ready = true;
    writers
        .shared
        .states
        .lock()
        .unwrap()
        .insert(("doc".into(), 0), Arc::new(Mutex::new(state)));
    writers
}

fn new_commit() -> NewCommit {
    NewCommit {
        stream: StreamRef::new("doc", "doc-1"),
        expected: ExpectedVersion::NoStream,
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: None,
        traceparent: None,
        events: vec![NewEvent {
            event_type: "doc.noted".into(),
            schema_version: 1,
            payload: serde_json::json!({}),
        }],
    }
}

/// One stream's chain of single-event commits, at the given offsets.
fn chain_at(offsets: &[u64]) -> Vec<(u64, Arc<CommitRecord>)> {
    let mut head = Head::default();
    offsets
        .iter()
        .map(|offset| {
            let record = CommitRecord::build(&new_commit(), head.version, &head.hash, chrono::Utc::now());
            head = Head {
                version: record.last_version(),
                hash: record.last_hash().to_owned(),
            };
            (*offset, Arc::new(record))
        })
        .collect()
}

fn versions(commits: &[(u64, Arc<CommitRecord>)]) -> Vec<u64> {
    commits.iter().map(|(_, c)| c.first_version).collect()
}

#[test]
fn a_stream_read_from_the_log_is_joined_with_what_the_tail_applied_after_the_read() {
    let chain = chain_at(&[1, 3, 5, 7, 9]);
    // Read below offset 6; the tail, restored at offset 4, applied offsets 5, 7 and 9.
    let read = chain[..3].to_vec();
    let applied = chain[2..].to_vec();
    let joined = join_history(read, &applied, 6);
    assert_eq!(versions(&joined), vec![1, 2, 3, 4, 5]);
    assert!(is_whole_history(&joined, 5));
}

#[test]
fn a_history_with_a_gap_or_short_of_the_head_is_not_whole() {
    let chain = chain_at(&[1, 2, 3, 4]);
    assert!(is_whole_history(&chain, 4));
    assert!(!is_whole_history(&chain, 5), "short of the head");
    assert!(!is_whole_history(&chain[1..], 4), "does not start at version 1");
    let gap: Vec<_> = [chain[0].clone(), chain[2].clone(), chain[3].clone()].to_vec();
    assert!(!is_whole_history(&gap, 4), "a version missing");
    assert!(is_whole_history(&[], 0), "a stream that does not exist");
}

fn shared_with(state: PartitionState) -> Arc<Shared> {
    let mut config = KafkaConfig::local("127.0.0.1:9", "t", &["doc"]);
    config.partitions = 1;
    let (shared, _) = Shared::new(Arc::new(config));
    replace_state(&shared, state);
    shared
}

fn replace_state(shared: &Shared, state: PartitionState) {
    shared
        .states
        .lock()
        .unwrap()
        .insert(("doc".into(), 0), Arc::new(Mutex::new(state)));
}

fn assignment(generation: u64) -> PartitionState {
    let mut state = PartitionState::new("doc".into(), 0);
    state.generation = generation;
    state
}

fn restored(version: u64, start: u64, target: u64) -> Restored {
    let mut snapshots = NewestSnapshots::default();
    snapshots.add("doc-1".into(), snapshot(version));
    Restored {
        snapshots,
        start,
        target,
    }
}

fn snapshot(version: u64) -> StreamSnapshot {
    StreamSnapshot {
        version,
        hash: format!("h{version}"),
        commands: Vec::new(),
        covered: 0,
        first_offset: None,
    }
}

fn key() -> Key {
    ("doc".into(), 0)
}

fn read(shared: &Shared, f: impl FnOnce(&PartitionState) -> u64) -> u64 {
    f(&shared.state(&key()).unwrap().lock().unwrap())
}

/// Revoked and given back while its first restore runs: whichever restore ends last, the
/// state is the one the current assignment restored.
#[test]
fn a_restore_of_an_earlier_assignment_does_not_overwrite_the_current_one() {
    let shared = shared_with(assignment(2));
    let current = finish_restore(&shared, &key(), 2, restored(5, 15, 15));
    assert_eq!(
        current,
        Some(Finished {
            ready: true,
            refill_from: None
        })
    );
    assert_eq!(finish_restore(&shared, &key(), 1, restored(3, 10, 20)), None);
    assert_eq!(read(&shared, |s| s.heads.version("doc-1")), 5, "head wound back");
    assert_eq!(read(&shared, |s| s.next), 15, "tail wound back");
    assert_eq!(read(&shared, |s| u64::from(s.ready)), 1);

    let shared = shared_with(assignment(2));
    assert_eq!(finish_restore(&shared, &key(), 1, restored(3, 10, 20)), None);
    assert_eq!(read(&shared, |s| u64::from(s.restoring)), 1, "still restoring");
    assert!(finish_restore(&shared, &key(), 2, restored(5, 15, 15)).is_some());
    assert_eq!(read(&shared, |s| s.heads.version("doc-1")), 5);
}

#[test]
fn an_owner_knows_where_each_stream_begins_from_its_tail_and_from_snapshots() {
    let shared = shared_with(assignment(1));
    let mut snapshots = NewestSnapshots::default();
    snapshots.add(
        "doc-2".into(),
        StreamSnapshot {
            first_offset: Some(3),
            ..snapshot(4)
        },
    );
    let restored = Restored {
        snapshots,
        start: 7,
        target: 7,
    };
    assert!(finish_restore(&shared, &key(), 1, restored).is_some());
    let state = shared.state(&key()).unwrap();
    let mut s = state.lock().unwrap();
    let first = chain_at(&[7]).remove(0).1;
    assert_eq!(s.deliver(7, (*first).clone()), Delivery::Applied);
    assert_eq!(s.first_offsets.get("doc-1"), Some(&7));
    assert_eq!(s.first_offsets.get("doc-2"), Some(&3));
}

#[test]
fn the_newest_snapshot_of_a_stream_wins_in_whatever_order_they_were_written() {
    let mut snapshots = NewestSnapshots::default();
    snapshots.add("doc-1".into(), snapshot(5));
    snapshots.add("doc-1".into(), snapshot(10));
    snapshots.add("doc-1".into(), snapshot(5)); // a paused old owner, written last
    assert_eq!(snapshots.newest["doc-1"].version, 10);
    assert!(snapshots.stale_last.contains("doc-1"), "the newest is written back");
    snapshots.add("doc-1".into(), snapshot(11));
    assert_eq!(snapshots.newest["doc-1"].version, 11);
    assert!(snapshots.stale_last.is_empty());
}

#[test]
fn a_restore_that_found_a_stale_snapshot_last_writes_the_newest_back() {
    let shared = shared_with(assignment(1));
    let mut snapshots = NewestSnapshots::default();
    snapshots.add("doc-1".into(), snapshot(10));
    snapshots.add("doc-1".into(), snapshot(5));
    let restored = Restored {
        snapshots,
        start: 0,
        target: 0,
    };
    assert!(finish_restore(&shared, &key(), 1, restored).is_some());
    let state = shared.state(&key()).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.heads.version("doc-1"), 10);
    assert!(s.dirty.contains("doc-1"));
}

/// A broker that accepts the connection and never answers stalls the read like a slow
/// one: reading the state topic must then fail, not count what it read as the whole.
#[test]
fn a_state_partition_read_only_in_part_is_a_failed_restore() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", silent.local_addr().unwrap().to_string())
        .set("group.id", "t.restore")
        .create()
        .unwrap();
    let started = Instant::now();
    let read = read_state(
        &reader,
        "t.doc.state",
        0,
        (0, 5),
        Instant::now() + Duration::from_millis(300),
    );
    assert!(matches!(read, Err(EventLogError::Unavailable(_))), "{read:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_failed_restore_is_retried_until_it_loads() {
    let shared = shared_with(assignment(1));
    let attempts = Arc::new(AtomicU64::new(0));
    let load = {
        let attempts = attempts.clone();
        move || {
            if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(EventLogError::Unavailable("state topic leader moving".into()))
            } else {
                Ok(restored(4, 0, 0))
            }
        }
    };
    let finished = tokio::time::timeout(
        Duration::from_secs(5),
        restore_with(&shared, &key(), 1, Duration::from_millis(10), load),
    )
    .await
    .expect("retries are bounded by backoff, not endless");
    assert_eq!(finished.map(|f| f.ready), Some(true));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(read(&shared, |s| s.heads.version("doc-1")), 4);
}

#[tokio::test]
async fn a_failing_restore_stops_retrying_once_its_assignment_is_gone() {
    let shared = shared_with(assignment(1));
    let retrying = tokio::spawn({
        let shared = shared.clone();
        async move {
            restore_with(&shared, &key(), 1, Duration::from_millis(10), || {
                Err(EventLogError::Unavailable("down".into()))
            })
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    replace_state(&shared, assignment(2));
    let ended = tokio::time::timeout(Duration::from_secs(5), retrying).await;
    assert!(matches!(ended, Ok(Ok(None))), "{ended:?}");
}

/// The tail keeps delivering while a restore runs; past the bound the partition pauses and
/// the records not held are read again, never applied over a gap.
#[test]
fn a_restoring_partition_holds_a_bounded_number_of_records_and_reads_the_rest_again() {
    let shared = shared_with(assignment(1));
    let record = CommitRecord::build(&new_commit(), 0, "", chrono::Utc::now());
    let total = MAX_BUFFERED as u64 + 5;
    let state = shared.state(&key()).unwrap();
    {
        let mut s = state.lock().unwrap();
        for offset in 0..total {
            let expected = if offset == MAX_BUFFERED as u64 {
                Delivery::Overflowed
            } else {
                Delivery::Held
            };
            assert_eq!(s.deliver(offset, record.clone()), expected, "offset {offset}");
        }
        assert_eq!(s.buffered.len(), MAX_BUFFERED);
    }
    let finished = finish_restore(&shared, &key(), 1, restored(0, 0, total)).unwrap();
    assert_eq!(
        finished,
        Finished {
            ready: false,
            refill_from: Some(MAX_BUFFERED as u64)
        }
    );
    let mut s = state.lock().unwrap();
    assert_eq!(
        s.deliver(total - 1, record.clone()),
        Delivery::Held,
        "fetched before the pause: dropped"
    );
    assert_eq!(s.next, MAX_BUFFERED as u64);
    for offset in MAX_BUFFERED as u64..total - 1 {
        assert_eq!(s.deliver(offset, record.clone()), Delivery::Applied);
    }
    assert_eq!(s.deliver(total - 1, record), Delivery::BecameReady);
    assert_eq!(s.next, total);
}

/// A commit of `stream_id` following `head`.
fn next_commit(stream_id: &str, head: &Head) -> CommitRecord {
    let mut commit = new_commit();
    commit.stream = StreamRef::new("doc", stream_id);
    CommitRecord::build(&commit, head.version, &head.hash, chrono::Utc::now())
}

/// The heads rule R gives `records`, read from the partition's start.
fn heads_by_r(records: &[CommitRecord]) -> StreamHeads {
    let mut heads = StreamHeads::default();
    for record in records {
        heads.admit(record);
    }
    heads
}

/// An owner restored from a snapshot that lies (here: two versions ahead of the log)
/// accepts its own next commits that every reader fences; the head check names the stream.
#[test]
fn a_head_that_disagrees_with_the_log_is_a_stuck_stream() {
    let first = next_commit("doc-1", &Head::default());
    let second = next_commit(
        "doc-1",
        &Head {
            version: 1,
            hash: first.last_hash().to_owned(),
        },
    );
    let other = next_commit("doc-2", &Head::default());
    let log = heads_by_r(&[first.clone(), other.clone(), second.clone()]);

    let mut state = assignment(1);
    state.ready = true;
    state.restoring = false;
    state.next = 3;
    state.heads = log.clone();
    assert!(stuck_streams(&state, &log, 3).is_empty(), "healthy: the same heads");

    state.heads.restore(
        "doc-1".into(),
        Head {
            version: 4,
            hash: "forged".into(),
        },
    );
    let stuck = stuck_streams(&state, &log, 3);
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!(
        (
            stuck[0].stream_id.as_str(),
            stuck[0].owner_version,
            stuck[0].log_version
        ),
        ("doc-1", 4, 2)
    );

    let mut unknown = assignment(1);
    unknown.heads = heads_by_r(&[other]);
    let stuck = stuck_streams(&unknown, &log, 3);
    assert_eq!(
        stuck.iter().map(|s| s.stream_id.as_str()).collect::<Vec<_>>(),
        ["doc-1"],
        "a stream the owner counts as new"
    );
}

/// The owner moved a stream after the offset the check read to: its two heads are of
/// different moments, so the stream waits for the next check.
#[test]
fn a_stream_moved_after_the_checked_offset_is_not_stuck() {
    let first = next_commit("doc-1", &Head::default());
    let log = heads_by_r(std::slice::from_ref(&first));
    let mut state = assignment(1);
    state.restoring = false;
    state.apply(0, Some(first.clone()));
    let second = next_commit("doc-1", &state.heads.head("doc-1"));
    state.apply(1, Some(second));
    assert_eq!(state.heads.version("doc-1"), 2);
    assert!(stuck_streams(&state, &log, 1).is_empty());
}

#[tokio::test]
async fn a_partition_assigned_and_not_ready_past_the_bound_is_reported_with_its_failed_restores() {
    let writers = writers_without_a_broker(Duration::from_secs(1));
    let bound = writers.shared.config.not_ready_bound;
    let mut stalled = PartitionState::new("doc".into(), 0);
    stalled.started = Instant::now().checked_sub(bound + Duration::from_secs(1)).unwrap();
    stalled.restore_failures = 4;
    writers
        .shared
        .states
        .lock()
        .unwrap()
        .insert(("doc".into(), 0), Arc::new(Mutex::new(stalled)));
    let health = writers.health();
    assert_eq!(health.partitions_not_ready.len(), 1, "{health:?}");
    assert_eq!(health.partitions_not_ready[0].restore_failures, 4);
    assert!(!health.is_healthy());

    let fresh = PartitionState::new("doc".into(), 0);
    writers
        .shared
        .states
        .lock()
        .unwrap()
        .insert(("doc".into(), 0), Arc::new(Mutex::new(fresh)));
    assert!(writers.health().is_healthy(), "restoring, within the bound");
    writers.stop().await;
}

#[tokio::test]
async fn failed_restores_are_counted_for_the_partition_and_in_total() {
    let shared = shared_with(assignment(1));
    let attempts = Arc::new(AtomicU64::new(0));
    let load = {
        let attempts = attempts.clone();
        move || {
            if attempts.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(EventLogError::Unavailable("state topic leader moving".into()))
            } else {
                Ok(restored(1, 0, 0))
            }
        }
    };
    restore_with(&shared, &key(), 1, Duration::from_millis(1), load).await;
    assert_eq!(shared.restore_failures.load(Ordering::Relaxed), 3);
    assert_eq!(read(&shared, |s| s.restore_failures), 3);
}

/// A restore that fails after its partition was revoked and given back (or after the writer
/// joined its group again) is the old assignment's failure: the new one's count, which the
/// health report shows for a partition not ready, stays its own.
#[tokio::test]
async fn a_restore_failing_for_an_old_assignment_is_not_counted_against_the_new_one() {
    let shared = shared_with(assignment(1));
    let load = {
        let shared = shared.clone();
        move || {
            replace_state(&shared, assignment(2));
            Err(EventLogError::Unavailable("broker restarting".into()))
        }
    };
    let ended = tokio::time::timeout(
        Duration::from_secs(5),
        restore_with(&shared, &key(), 1, Duration::from_millis(1), load),
    )
    .await;
    assert_eq!(ended, Ok(None), "the old assignment's restore gives up");
    assert_eq!(
        shared.restore_failures.load(Ordering::Relaxed),
        1,
        "a failed restore all the same"
    );
    assert_eq!(read(&shared, |s| s.generation), 2);
    assert_eq!(read(&shared, |s| s.restore_failures), 0);
}

#[tokio::test]
async fn an_append_and_its_retry_end_unavailable_within_the_append_timeout_when_no_answer_comes() {
    let writers = writers_without_a_broker(Duration::from_secs(120));
    let commit = new_commit();
    let first = tokio::spawn({
        let (writers, commit) = (writers.clone(), commit.clone());
        async move { writers.append(0, commit, OwnedHeaders::new()).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let retry = tokio::spawn({
        let writers = writers.clone();
        async move { writers.append(0, commit, OwnedHeaders::new()).await }
    });
    for attempt in [first, retry] {
        let answer = tokio::time::timeout(Duration::from_secs(5), attempt)
            .await
            .expect("an append waited without bound")
            .unwrap();
        assert!(matches!(answer, Err(EventLogError::Unavailable(_))), "{answer:?}");
    }
    writers.stop().await;
}

/// A client that disconnects drops its append mid-flight; the produce still fails or lands
/// later and must settle the in-flight state, or retries of that command wait forever and
/// the stream's tentative head stays on a version that never came.
#[tokio::test]
async fn an_append_abandoned_by_its_caller_still_settles_its_in_flight_state() {
    let writers = writers_without_a_broker(Duration::from_millis(800));
    let commit = new_commit();
    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        writers.append(0, commit, OwnedHeaders::new()),
    )
    .await;
    assert!(abandoned.is_err(), "still in flight when its caller left");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let state = writers.shared.state(&("doc".into(), 0)).unwrap();
    {
        let s = state.lock().unwrap();
        assert!(
            s.inflight_commands.is_empty(),
            "a retry would wait for an answer that never comes"
        );
        assert!(
            s.inflight_heads.is_empty(),
            "the tentative head stayed on a failed commit"
        );
    }
    writers.stop().await;
}

/// A restored partition of "doc" whose next offset to judge is `next`.
fn ready_at(next: u64) -> PartitionState {
    let mut state = PartitionState::new("doc".into(), 0);
    state.restoring = false;
    state.ready = true;
    state.next = next;
    state
}

/// Delivery reports are settled on tasks of their own, so the broker's answer for offset 11
/// may be handled before the one for offset 10. Once 10 is judged, 11 is this writer's own
/// record with nothing between: it is answered then, not after the tail's next fetch.
#[test]
fn an_own_commit_settled_before_the_one_before_it_is_answered_when_that_one_is() {
    let mut state = ready_at(10);
    let first = next_commit("doc-a", &Head::default());
    let second = next_commit("doc-b", &Head::default());
    for record in [&first, &second] {
        state.begin(record);
    }
    let (second_reply, mut second_answer) = tokio::sync::oneshot::channel();
    state.settle(second, Ok(11), second_reply);
    assert!(second_answer.try_recv().is_err(), "offset 10 is not judged yet");
    let (first_reply, mut first_answer) = tokio::sync::oneshot::channel();
    state.settle(first, Ok(10), first_reply);
    let first = first_answer.try_recv().expect("answered").expect("accepted");
    let second = second_answer
        .try_recv()
        .expect("answered without the tail")
        .expect("accepted");
    assert_eq!((first.position.offset, second.position.offset), (10, 11));
    assert_eq!(state.next, 12);
    assert!(state.waiting.is_empty());
}

/// A retry produced while the first record's produce had reported a failure, though that
/// record landed: the tail accepts the first under the command id, and the retry's own record
/// is answered as a duplicate of it, not as the commit it appended.
#[test]
fn a_retry_answered_by_the_first_record_of_its_command_is_a_duplicate() {
    let mut state = ready_at(10);
    let first = next_commit("doc-a", &Head::default());
    let mut retry = first.clone();
    retry.commit_id = uuid::Uuid::now_v7();
    state.begin(&retry);
    state.deliver(10, first.clone());
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    state.settle(retry, Ok(11), reply);
    let answer = answer.try_recv().expect("answered").expect("the command is in the log");
    assert_eq!(
        (answer.commit_id, answer.position.offset, answer.duplicate),
        (first.commit_id, 10, true)
    );
}

/// An own record produced, whose produce then reported a failure (it may have landed anyway).
fn produce_failed(state: &mut PartitionState, record: &CommitRecord) {
    state.begin(record);
    let (reply, _failed) = tokio::sync::oneshot::channel();
    state.settle(
        record.clone(),
        Err(EventLogError::Unavailable("timed out".into())),
        reply,
    );
}

/// The first record of a command fenced (another writer's commit took its version), its retry
/// accepted: the retry's caller gets its own commit, not the first record's conflict.
#[test]
fn a_retry_accepted_after_its_first_record_was_fenced_is_answered_with_its_own_commit() {
    let mut state = ready_at(10);
    let other = next_commit("doc-a", &Head::default());
    let first = next_commit("doc-a", &Head::default());
    produce_failed(&mut state, &first);
    let after_other = Head {
        version: 1,
        hash: other.last_hash().to_owned(),
    };
    let mut retry = next_commit("doc-a", &after_other);
    retry.command_id = first.command_id;
    state.begin(&retry);
    state.deliver(10, other);
    state.deliver(11, first);
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    state.settle(retry.clone(), Ok(12), reply);
    let answer = answer.try_recv().expect("answered").expect("the retry was accepted");
    assert_eq!(
        (answer.commit_id, answer.position.offset, answer.duplicate),
        (retry.commit_id, 12, false)
    );
    assert!(state.early.is_empty());
}

/// A retry acked past the next offset waits for the records before it; when the first record
/// of its command is accepted there, the retry's own record is fenced and its caller is told
/// the command's acceptance, a duplicate — not left without an answer.
#[test]
fn a_retry_acked_past_the_next_offset_is_answered_when_the_first_record_is_judged() {
    let mut state = ready_at(10);
    let first = next_commit("doc-a", &Head::default());
    produce_failed(&mut state, &first);
    let mut retry = next_commit("doc-a", &Head::default());
    retry.command_id = first.command_id;
    state.begin(&retry);
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    state.settle(retry, Ok(11), reply);
    assert!(answer.try_recv().is_err(), "offset 10 is not judged yet");
    state.deliver(10, first.clone());
    let answer = answer.try_recv().expect("answered").expect("the command is in the log");
    assert_eq!(
        (answer.commit_id, answer.position.offset, answer.duplicate),
        (first.commit_id, 10, true)
    );
    assert_eq!(state.next, 12);
    assert!(state.early.is_empty() && state.waiting.is_empty() && state.inflight_heads.is_empty());
}

/// The tail may judge an own record before the broker's report for it arrives, and the report
/// may then be a failure (a timeout after the record landed): the judgement stands.
#[test]
fn a_record_judged_before_its_produce_reported_a_failure_is_answered_with_the_judgement() {
    let mut state = ready_at(10);
    let record = next_commit("doc-a", &Head::default());
    state.begin(&record);
    state.deliver(10, record.clone());
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    state.settle(
        record.clone(),
        Err(EventLogError::Unavailable("timed out".into())),
        reply,
    );
    let answer = answer.try_recv().expect("answered").expect("the record is in the log");
    assert_eq!((answer.commit_id, answer.duplicate), (record.commit_id, false));
    assert!(state.early.is_empty());
}

/// Refilling after an overflow, the tail may still hand over records fetched past `next`
/// before it was sent back: one that does not decode is dropped with them, not stepped over
/// past the records before it, which rule R has yet to judge.
#[test]
fn an_undecodable_record_fetched_past_a_refill_is_read_again_in_its_place() {
    let mut state = ready_at(10);
    state.refilling = true;
    assert_eq!(state.step_over(12), Delivery::Held);
    assert_eq!(state.next, 10);
    let record = next_commit("doc-a", &Head::default());
    assert_eq!(state.deliver(10, record.clone()), Delivery::Applied);
    assert_eq!(state.step_over(11), Delivery::Applied);
    assert_eq!((state.next, state.heads.version("doc-a")), (12, 1));
}

/// A record that does not decode, held while restoring, moves the position in its place when
/// the restore ends: last in the partition, it makes the partition ready.
#[test]
fn an_undecodable_record_last_in_a_restored_partition_makes_it_ready() {
    let shared = shared_with(assignment(1));
    {
        let state = shared.state(&key()).unwrap();
        let mut s = state.lock().unwrap();
        assert_eq!(s.deliver(5, next_commit("doc-a", &Head::default())), Delivery::Held);
        assert_eq!(s.step_over(6), Delivery::Held);
    }
    finish_restore(&shared, &key(), 1, restored(0, 5, 7)).expect("current assignment");
    assert_eq!(read(&shared, |s| s.next), 7);
    assert_eq!(read(&shared, |s| u64::from(s.ready)), 1);
}

/// Records keep arriving while a restore runs, so the buffer can overflow past the end the
/// restore read: the partition is not ready (nor announced) until the refill has read the
/// records it dropped, whatever that end was.
#[test]
fn a_restore_that_overflowed_past_its_target_is_not_ready_until_the_refill_ends() {
    let shared = shared_with(assignment(1));
    let record = CommitRecord::build(&new_commit(), 0, "", chrono::Utc::now());
    let state = shared.state(&key()).unwrap();
    {
        let mut s = state.lock().unwrap();
        for offset in 0..=MAX_BUFFERED as u64 {
            s.deliver(offset, record.clone());
        }
    }
    let finished = finish_restore(&shared, &key(), 1, restored(0, 0, 100)).unwrap();
    assert_eq!(
        finished,
        Finished {
            ready: false,
            refill_from: Some(MAX_BUFFERED as u64)
        }
    );
    assert!(!state.lock().unwrap().ready);
}

/// The tail passed this writer's own record before its acknowledgement came and could not
/// read it back (the writer's own encoding would have to be broken): no judgement will come
/// for that offset, so the caller is told at once and the record's in-flight marks are
/// released — the stream's next append is decided on its accepted head, not refused behind a
/// record that never counted.
#[test]
fn an_own_record_the_tail_could_not_read_back_is_answered_and_released() {
    let mut state = ready_at(10);
    let record = next_commit("doc-a", &Head::default());
    state.begin(&record);
    assert_eq!(state.step_over(10), Delivery::Applied);
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    state.settle(record.clone(), Ok(10), reply);
    assert!(matches!(answer.try_recv(), Ok(Err(EventLogError::Corrupt(_)))));
    assert!(state.waiting.is_empty() && state.inflight_heads.is_empty() && state.inflight_commits.is_empty());
    assert_eq!(state.tentative_head("doc-a").version, 0);
}

/// The callbacks of a consumer the group fenced out, once a new one took its place, touch
/// nothing: the partitions' states are by then the new consumer's. A live one's revoke drops
/// the state and withdraws the announcement.
#[test]
fn a_retired_consumers_revoke_leaves_the_new_consumers_partitions_alone() {
    use rdkafka::consumer::{ConsumerContext, Rebalance};
    let shared = shared_with(assignment(2));
    let context = |retired: bool| OwnerContext {
        shared: shared.clone(),
        retired: std::sync::atomic::AtomicBool::new(retired),
    };
    // The callbacks are given the consumer they run on; they read only their own context.
    let consumer: BaseConsumer<OwnerContext> = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:9")
        .set("group.id", "t.writers")
        .create_with_context(context(false))
        .unwrap();
    let mut revoked = rdkafka::TopicPartitionList::new();
    revoked.add_partition("t.doc.events", 0);
    context(true).pre_rebalance(&consumer, &Rebalance::Revoke(&revoked));
    assert_eq!(read(&shared, |s| s.generation), 2, "kept");
    context(false).pre_rebalance(&consumer, &Rebalance::Revoke(&revoked));
    assert!(shared.state(&key()).is_none(), "revoked");
}
