//! Several projector instances sharing one projection through a consumer group, on the real
//! broker and MariaDB (`scripts/test` starts both): partitions split when an instance joins
//! and move back when it leaves, each positioned at the store's checkpoint, every commit
//! applied exactly once, and the read model ends equal to a single instance's.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::Utc;
use domain::ids::{DepartmentId, EmployeeId};
use domain::org::{EmployeeEvent, Position};
use domain::Role;
use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
use infra::eventlog::{streams, EventLog, ExpectedVersion, NewCommit, NewEvent, StreamRef, Upcasters};
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::Projection;
use projector::{Projector, Work};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

const PARTITIONS: u32 = 6;
const P: Projection = Projection::Employees;

fn brokers() -> String {
    std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| {
        panic!("ERP_TEST_KAFKA is not set: run scripts/test, or `source scripts/services; start_kafka`")
    })
}

/// A log on a fresh prefix: the writer (which owns partitions) or a reader (as `erp projector`).
async fn kafka(prefix: &str, write: bool) -> Arc<dyn EventLog> {
    let mut config = KafkaConfig::local(brokers(), prefix, &[streams::EMPLOYEE]);
    config.partitions = PARTITIONS;
    config.write = write;
    Arc::new(KafkaLog::connect(config, Upcasters::default()).await.unwrap())
}

fn employee(n: u128) -> Uuid {
    Uuid::from_u128(0x5000_0000 + n)
}

async fn append(log: &dyn EventLog, id: Uuid, version: u64, event: EmployeeEvent) {
    let commit = NewCommit {
        stream: StreamRef::new(streams::EMPLOYEE, id.to_string()),
        expected: ExpectedVersion::Exact(version),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: None,
        traceparent: None,
        events: vec![NewEvent::from_domain(&event).unwrap()],
    };
    log.append(commit).await.unwrap();
}

/// Registers employees `range` (one commit each).
async fn register(log: &dyn EventLog, range: std::ops::RangeInclusive<u128>) -> u64 {
    let hr = EmployeeId(Uuid::from_u128(1));
    let mut commits = 0;
    for n in range {
        let id = EmployeeId(employee(n));
        let event = EmployeeEvent::Registered {
            id,
            name: format!("직원{n}"),
            email: format!("e{n}@demo.erp"),
            department: DepartmentId(Uuid::from_u128(900 + n % 3)),
            position: Position {
                title: "사원".into(),
                rank: (n % 5) as u8,
            },
            manager: Some(hr),
            roles: [Role::Employee].into(),
            by: hr,
            at: Utc::now(),
        };
        append(log, id.0, 0, event).await;
        commits += 1;
    }
    commits
}

/// Moves employees `range` (registered before) to another department: a second commit of
/// each stream, which only applies on top of the first.
async fn transfer(log: &dyn EventLog, range: std::ops::RangeInclusive<u128>) -> u64 {
    let mut commits = 0;
    for n in range {
        let event = EmployeeEvent::DepartmentChanged {
            department: DepartmentId(Uuid::from_u128(999)),
            by: EmployeeId(Uuid::from_u128(1)),
            at: Utc::now(),
        };
        append(log, employee(n), 1, event).await;
        commits += 1;
    }
    commits
}

/// One `erp projector` instance running the employee projection, shared through `group`.
struct Instance {
    projector: Projector,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Instance {
    async fn start(prefix: &str, store: SqlReadModel, group: &str) -> Self {
        let projector = Projector::new(kafka(prefix, false).await, store)
            .shared(group)
            .with_batch(25);
        let (stop, stopped) = watch::channel(false);
        let task = {
            let projector = projector.clone();
            tokio::spawn(async move { projector.run(P, stopped).await.unwrap() })
        };
        Self { projector, stop, task }
    }

    fn work(&self) -> Work {
        self.projector.work(P)
    }

    /// Shuts down as `erp projector` does: finishes its batch and leaves the group.
    async fn leave(self) -> Work {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("the instance stops")
            .unwrap();
        self.projector.work(P)
    }
}

async fn until(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// Whether the store's employee projection has applied everything in the log.
async fn caught_up(log: &dyn EventLog, store: &SqlReadModel) -> bool {
    let end = log.end_offsets(streams::EMPLOYEE).await.unwrap();
    let at = store.checkpoint(P).await.unwrap();
    end.iter().all(|(p, e)| at.get(p).copied().unwrap_or(0) >= *e)
}

/// Waits (at most 10 s) until the instances' tally reaches `written`. An instance counts a
/// batch once its transaction has committed, so the store's checkpoint (what [`caught_up`]
/// reads) can be ahead of the tally for a moment; the assertions that follow judge the
/// counts, more or fewer than written alike.
async fn counted(written: u64, tally: impl Fn() -> u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tally() < written && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn all() -> Vec<u32> {
    (0..PARTITIONS).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projectors_share_the_partitions_through_a_join_and_a_leave() {
    let prefix = support::fresh_prefix();
    let group = format!("{prefix}.projector");
    let writer = kafka(&prefix, true).await;
    let store = support::mariadb_store().await;
    let mut written = register(&*writer, 1..=60).await;

    // A alone projects every partition.
    let a = Instance::start(&prefix, store.clone(), &group).await;
    until("A to project the first 60", Duration::from_secs(60), async || {
        caught_up(&*writer, &store).await
    })
    .await;
    counted(written, || a.work().applied).await;
    assert_eq!(a.work().partitions, all());
    assert_eq!(store.employees().await.unwrap().len(), 60);
    let a_alone = a.work();
    assert_eq!((a_alone.applied, a_alone.unchanged), (written, 0), "{a_alone:?}");

    // B joins while commits keep coming: the partitions split, each instance keeps its consumer.
    let more = tokio::spawn({
        let writer = writer.clone();
        async move { register(&*writer, 61..=120).await + transfer(&*writer, 1..=30).await }
    });
    let b = Instance::start(&prefix, store.clone(), &group).await;
    let split = until("the partitions to split", Duration::from_secs(60), async || {
        let (pa, pb) = (a.work().partitions, b.work().partitions);
        let union: BTreeSet<u32> = pa.iter().chain(&pb).copied().collect();
        !pa.is_empty()
            && !pb.is_empty()
            && pa.len() + pb.len() == PARTITIONS as usize
            && union.len() == PARTITIONS as usize
    })
    .await;
    println!(
        "split {:?} / {:?} {} ms after B started",
        a.work().partitions,
        b.work().partitions,
        split.as_millis()
    );
    written += more.await.unwrap();
    let b_partitions = b.work().partitions;
    // More after the split, on every partition.
    written += register(&*writer, 121..=160).await + transfer(&*writer, 31..=60).await;
    until("both to project everything", Duration::from_secs(60), async || {
        caught_up(&*writer, &store).await
    })
    .await;
    counted(written, || a.work().applied + b.work().applied).await;
    let (wa, wb) = (a.work(), b.work());
    println!("after the join: A {wa:?}, B {wb:?}");
    assert!(wa.applied > a_alone.applied, "A progressed after the split: {wa:?}");
    assert!(wb.applied > 0, "B progressed: {wb:?}");
    assert_eq!(
        wa.applied + wb.applied,
        written,
        "every commit applied once: {wa:?} {wb:?}"
    );
    assert_eq!(wa.unchanged + wb.unchanged, 0, "nothing reached the store twice");
    assert_eq!(
        wa.delivered + wb.delivered,
        written,
        "no partition was read again from an earlier position"
    );
    assert_eq!(
        (wa.subscriptions, wb.subscriptions),
        (1, 1),
        "repositioned in place, never rejoined"
    );
    assert_eq!(store.employees().await.unwrap().len(), 160);

    // A leaves: B takes A's partitions from the stored checkpoints.
    let more = tokio::spawn({
        let writer = writer.clone();
        async move { register(&*writer, 161..=200).await + transfer(&*writer, 61..=100).await }
    });
    let a_final = a.leave().await;
    let took_over = until("B to hold every partition", Duration::from_secs(60), async || {
        b.work().partitions == all()
    })
    .await;
    println!(
        "B held every partition {} ms after A left (B had {b_partitions:?})",
        took_over.as_millis()
    );
    written += more.await.unwrap();
    written += register(&*writer, 201..=220).await + transfer(&*writer, 101..=120).await;
    until("B to project everything", Duration::from_secs(60), async || {
        caught_up(&*writer, &store).await
    })
    .await;
    counted(written, || a_final.applied + b.work().applied).await;
    let wb = b.work();
    println!("after the leave: A {a_final:?}, B {wb:?}");
    assert_eq!(
        a_final.applied + wb.applied,
        written,
        "every commit applied once: {a_final:?} {wb:?}"
    );
    assert_eq!(a_final.unchanged + wb.unchanged, 0, "nothing reached the store twice");
    assert_eq!(
        a_final.delivered + wb.delivered,
        written,
        "B read A's partitions from where A stopped"
    );
    assert_eq!(wb.subscriptions, 1);
    b.leave().await;

    // Equal to what one instance projects from the whole log.
    let single = support::mariadb_store().await;
    let one = Projector::new(kafka(&prefix, false).await, single.clone());
    one.catch_up(P).await.unwrap();
    assert_eq!(single.employees().await.unwrap().len(), 220);
    assert_eq!(store.checksum().await.unwrap(), single.checksum().await.unwrap());
    assert_eq!(store.checkpoint(P).await.unwrap(), single.checkpoint(P).await.unwrap());
    println!("{written} commits over {PARTITIONS} partitions, each applied once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_given_to_an_instance_start_at_the_stored_checkpoint() {
    let prefix = support::fresh_prefix();
    let group = format!("{prefix}.projector");
    let writer = kafka(&prefix, true).await;
    let store = support::mariadb_store().await;
    register(&*writer, 1..=40).await;
    // Projected without the group: it has no committed offsets, only the store knows where
    // the projection stands.
    Projector::new(kafka(&prefix, false).await, store.clone())
        .catch_up(P)
        .await
        .unwrap();
    let stored = store.checkpoint(P).await.unwrap();
    let mut new = register(&*writer, 41..=50).await + transfer(&*writer, 1..=5).await;

    // A joins alone and is given every partition.
    let a = Instance::start(&prefix, store.clone(), &group).await;
    let took = until("A to project the new commits", Duration::from_secs(60), async || {
        caught_up(&*writer, &store).await
    })
    .await;
    let wa = a.work();
    println!("stored {stored:?}; A read {wa:?} in {} ms", took.as_millis());
    assert_eq!(wa.partitions, all());
    assert_eq!(
        wa.delivered, new,
        "every partition started at the stored checkpoint, not at the beginning"
    );

    // B joins: the partitions moving from A to B start where A's last batch left the store.
    let b = Instance::start(&prefix, store.clone(), &group).await;
    until("the partitions to split", Duration::from_secs(60), async || {
        !b.work().partitions.is_empty() && a.work().partitions.len() < PARTITIONS as usize
    })
    .await;
    new += register(&*writer, 51..=70).await + transfer(&*writer, 6..=25).await;
    until("both to project the new commits", Duration::from_secs(60), async || {
        caught_up(&*writer, &store).await
    })
    .await;
    let (pa, pb): (BTreeSet<u32>, BTreeSet<u32>) = (
        a.work().partitions.into_iter().collect(),
        b.work().partitions.into_iter().collect(),
    );
    let (wa, wb) = (a.leave().await, b.leave().await);
    println!("after B joined: A {wa:?}, B {wb:?}");
    assert!(
        pa.is_disjoint(&pb) && pa.len() + pb.len() == PARTITIONS as usize,
        "{pa:?} {pb:?}"
    );
    assert!(wb.delivered > 0);
    assert_eq!(wa.delivered + wb.delivered, new, "B started at A's stored positions");
    assert_eq!((wa.applied + wb.applied, wa.unchanged + wb.unchanged), (new, 0));
    assert_eq!(store.employees().await.unwrap().len(), 70);
}

/// A record on the topic that does not decode as a commit is stepped over without the
/// projection losing its place. When a batch held nothing but such a record, the subscription
/// moved its position past it while the store kept the one before: the projection never
/// showed as caught up, and the next commit's batch started past the stored position, was
/// refused as if another instance had moved the projection, and the projection subscribed
/// again from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_is_not_a_commit_is_stepped_over_without_starting_over() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let prefix = support::fresh_prefix();
    let writer = kafka(&prefix, true).await;
    let store = support::mariadb_store().await;
    register(&*writer, 1..=3).await;
    let projector = Projector::new(kafka(&prefix, false).await, store.clone()).with_batch(25);
    let (stop, stopped) = watch::channel(false);
    let task = {
        let projector = projector.clone();
        tokio::spawn(async move { projector.run(P, stopped).await.unwrap() })
    };
    until(
        "the first commits to be projected",
        Duration::from_secs(30),
        async || caught_up(&*writer, &store).await,
    )
    .await;
    let partition = infra::eventlog::partition_for(&employee(4).to_string(), PARTITIONS);
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::to(&format!("{prefix}.{}.events", streams::EMPLOYEE))
                .partition(partition as i32)
                .key("stray")
                .payload("not a commit"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    // Read on its own, in a batch of nothing else: the position past it is stored, so the
    // projection is caught up with the log's end.
    until(
        "the position past the stray to be stored",
        Duration::from_secs(30),
        async || caught_up(&*writer, &store).await,
    )
    .await;
    register(&*writer, 4..=4).await;
    until(
        "the commit after it to be projected",
        Duration::from_secs(30),
        async || store.employees().await.unwrap().len() == 4,
    )
    .await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("the projector stops")
        .unwrap();
    assert_eq!(projector.work(P).subscriptions, 1, "{:?}", projector.work(P));
}
