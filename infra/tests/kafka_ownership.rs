//! Partition ownership on the real broker: rebalances that move only what they must.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use infra::eventlog::kafka::KafkaLog;
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
    let before = [(owned(&a), a.restore_reports().len()), (owned(&b), b.restore_reports().len())];

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
