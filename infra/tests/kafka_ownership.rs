//! Partition ownership on the real broker: rebalances that move only what they must, and
//! owner announcements that are refreshed while an owner lives and stop attracting forwards
//! once it is gone.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
use infra::eventlog::{EventLog, EventLogError, ExpectedVersion};
use std::collections::BTreeSet;
use std::time::Duration;
use support::*;

type Owned = BTreeSet<(String, u32)>;

fn owned(log: &KafkaLog) -> Owned {
    log.owned_partitions().into_iter().collect()
}

/// Waits until `logs` together own every partition (3 of each type), each at least one.
async fn wait_split(logs: &[&KafkaLog], what: &str) {
    let total = 3 * TYPES.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let counts: Vec<usize> = logs.iter().map(|l| l.owned_partitions().len()).collect();
        if counts.iter().sum::<usize>() == total && counts.iter().all(|c| *c > 0) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With eager rebalancing every join revoked every partition of every member, which then
/// restored all of them again from the state topic; cooperative rebalancing moves only the
/// partitions the newcomer takes, and the others keep serving from memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_third_instance_joining_leaves_the_partitions_that_stay_with_their_owner_unrestored() {
    let prefix = fresh_prefix();
    let a = kafka_with(&prefix, None).await;
    let b = kafka_with(&prefix, None).await;
    wait_split(&[&a, &b], "partitions never split between two instances").await;
    tokio::time::sleep(Duration::from_secs(1)).await; // no rebalance in progress
    let before = [
        (owned(&a), a.restore_reports().len()),
        (owned(&b), b.restore_reports().len()),
    ];

    let c = kafka_with(&prefix, None).await;
    wait_split(&[&a, &b, &c], "the third instance never got its share").await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    for (log, (owned_before, reports_before)) in [&a, &b].into_iter().zip(before) {
        let now = owned(log);
        assert!(
            now.is_subset(&owned_before),
            "an existing member gained partitions on a join: {now:?} ⊄ {owned_before:?}"
        );
        assert_eq!(
            log.restore_reports().len(),
            reports_before,
            "partitions that stayed ({now:?}) were restored again: {:?}",
            log.restore_reports()
        );
    }
    assert!(!owned(&c).is_empty());
    for log in [a, b, c] {
        log.shutdown().await;
    }
}

/// An instance of `prefix` that announces `advertised` for what it owns, refreshed every
/// `interval` (so its announcements expire `3 × interval` after it stops).
fn announcing(prefix: &str, advertised: &str, interval: Duration) -> KafkaConfig {
    let mut config = KafkaConfig::local(kafka_brokers(), prefix, TYPES);
    config.partitions = 3;
    config.snapshot_interval = Duration::from_millis(500);
    config.advertised_url = Some(advertised.to_owned());
    config.internal_token = Some("peer-secret".into());
    config.announce_interval = interval;
    config
}

/// An instance that reads and forwards but owns nothing, and gives up waiting for ownership
/// quickly.
async fn observer(prefix: &str) -> KafkaLog {
    let mut config = announcing(prefix, "http://127.0.0.1:9", Duration::from_secs(5));
    config.advertised_url = None;
    config.write = false;
    config.ownership_wait = Duration::from_millis(200);
    KafkaLog::connect(config, upcasters()).await.unwrap()
}

fn all_partitions() -> Vec<(String, u32)> {
    TYPES
        .iter()
        .flat_map(|t| (0..3).map(move |p| ((*t).to_owned(), p)))
        .collect()
}

/// Child mode for the expiry test: owns every partition, announcing a dead address every
/// 300 ms, until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by an_announcement_that_is_no_longer_refreshed_stops_attracting_forwards"]
async fn child_owner() {
    let Ok(prefix) = std::env::var("ERP_CHILD_PREFIX") else {
        return;
    };
    let config = announcing(&prefix, "http://127.0.0.1:9", Duration::from_millis(300));
    let _log = KafkaLog::connect(config, upcasters()).await.unwrap();
    std::future::pending::<()>().await;
}

/// A killed owner cannot withdraw its announcements. They used to hold forever, so every
/// other instance kept forwarding that partition's commands to a dead address; now they lapse
/// a lease after the last refresh, while a live owner's are refreshed and never lapse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announcement_that_is_no_longer_refreshed_stops_attracting_forwards() {
    let prefix = fresh_prefix();
    let observer = observer(&prefix).await;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_owner", "--ignored", "--nocapture", "--test-threads=1"])
        .env("ERP_CHILD_PREFIX", &prefix)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let announced = |log: &KafkaLog| {
        all_partitions()
            .into_iter()
            .filter(|(t, p)| log.announced_owner(t, *p).is_some())
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while announced(&observer) < all_partitions().len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the child never announced every partition"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // three leases: held only by refreshes
    assert_eq!(
        announced(&observer),
        all_partitions().len(),
        "a live owner's announcements lapsed"
    );

    child.start_kill().unwrap(); // SIGKILL: nothing withdrawn
    let _ = child.wait().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while announced(&observer) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a dead owner's announcements still hold: {:?}",
            all_partitions()
                .iter()
                .filter_map(|(t, p)| observer.announced_owner(t, *p))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = observer
        .append(commit(&stream("after-death"), ExpectedVersion::Any, vec![event(0)]))
        .await;
    assert!(
        matches!(&refused, Err(EventLogError::Unavailable(m)) if !m.contains("forwarding")),
        "{refused:?}"
    );
    observer.shutdown().await;
}

/// An owner that stops withdraws its announcements before it leaves; they used to hold until
/// another owner announced, and until then every command for those partitions was forwarded
/// to the stopped instance. (A lone owner here, so no successor's announcement can hide a
/// missing withdrawal.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_that_stops_withdraws_its_announcements_at_once() {
    let prefix = fresh_prefix();
    let observer = observer(&prefix).await;
    // A lease far longer than the test: only a withdrawal can remove an announcement.
    let config = announcing(&prefix, "http://127.0.0.1:9/a", Duration::from_secs(60));
    let a = KafkaLog::connect(config, upcasters()).await.unwrap();
    let announced = |log: &KafkaLog| {
        all_partitions()
            .into_iter()
            .filter(|(t, p)| log.announced_owner(t, *p).is_some())
            .collect::<Vec<_>>()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while announced(&observer).len() < all_partitions().len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "A never announced every partition"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    a.shutdown().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = announced(&observer);
    assert!(still.is_empty(), "still announced by the stopped instance: {still:?}");
    observer.shutdown().await;
}

/// Writes `payload` under `key` to a state partition, as a faulty (or forged) snapshot would.
async fn write_state_record(state_topic: &str, partition: i32, key: &str, payload: &[u8]) {
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    producer
        .send(
            rdkafka::producer::FutureRecord::to(state_topic)
                .partition(partition)
                .key(key)
                .payload(payload),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
}

async fn wait_owning(log: &KafkaLog, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while log.owned_partitions().len() < count {
        assert!(tokio::time::Instant::now() < deadline, "never owned {count} partitions");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A snapshot ahead of the log (a bug, or a forged record on the state topic) gives the next
/// owner a head no reader agrees with: it refuses every honest expected version and accepts
/// its own commits that every reader fences. Nothing showed it; the owner's head check
/// compares its heads with the log's by rule R and names the stream, and the owner answers a
/// peer's (or `erp verify`'s) request for its heads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_restored_ahead_of_the_log_reports_the_stream_as_stuck() {
    use infra::eventlog::kafka::owners::{Forwarded, ForwardedAnswer};
    let prefix = fresh_prefix();
    let s = stream("stuck-1");
    let partition = infra::eventlog::partition_for(&s.stream_id, 3);
    let first = kafka_with(&prefix, None).await;
    wait_owning(&first, 6).await;
    for v in 0..3 {
        first
            .append(commit(&s, ExpectedVersion::Exact(v), vec![event(v)]))
            .await
            .unwrap();
    }
    first.check_heads().await;
    let health = first.health();
    assert!(health.is_healthy(), "{health:?}");
    assert_eq!(health.partitions_owned, 6);
    tokio::time::sleep(Duration::from_millis(1_500)).await; // snapshotted and committed
    first.shutdown().await;

    let forged = serde_json::json!({ "version": 5, "hash": "forged", "commands": [], "covered": 0 });
    write_state_record(
        &format!("{prefix}.doc.state"),
        partition as i32,
        &s.stream_id,
        &serde_json::to_vec(&forged).unwrap(),
    )
    .await;
    let second = kafka_with(&prefix, None).await;
    wait_owning(&second, 6).await;
    second.check_heads().await;
    let health = second.health();
    assert_eq!(
        health
            .stuck_streams
            .iter()
            .map(|s| (s.stream_id.as_str(), s.partition, s.owner_version, s.log_version))
            .collect::<Vec<_>>(),
        [(s.stream_id.as_str(), partition, 5, 3)],
        "{health:?}"
    );
    let heads = second
        .serve_forwarded(Forwarded::Heads {
            stream_type: "doc".into(),
            partition,
        })
        .await;
    let ForwardedAnswer::Heads { result: Ok(heads) } = heads else {
        panic!("{heads:?}");
    };
    assert_eq!(heads.head(&s.stream_id).version, 5);
    second.shutdown().await;
}

/// A write forwarded on a stale announcement to an instance the group has not given the
/// partition is answered at once (not the owner), not after waiting for a partition that is
/// not coming; the sender then waits for the current owner's announcement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_forwarded_to_an_instance_that_does_not_hold_the_partition_is_refused_at_once() {
    let prefix = fresh_prefix();
    let mut config = infra::eventlog::kafka::KafkaConfig::local(kafka_brokers(), &prefix, TYPES);
    config.partitions = 3;
    config.write = false;
    config.ownership_wait = Duration::from_secs(10);
    let bystander = infra::eventlog::kafka::KafkaLog::connect(config, upcasters())
        .await
        .unwrap();
    let s = stream("stale-forward-1");
    let began = std::time::Instant::now();
    let answer = bystander
        .serve_forwarded(infra::eventlog::kafka::owners::Forwarded::Append {
            commit: commit(&s, ExpectedVersion::Exact(0), vec![event(0)]),
        })
        .await;
    let took = began.elapsed();
    match answer {
        infra::eventlog::kafka::owners::ForwardedAnswer::NotOwner { partition } => {
            assert_eq!(partition, infra::eventlog::partition_for(&s.stream_id, 3))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    bystander.shutdown().await;
}
