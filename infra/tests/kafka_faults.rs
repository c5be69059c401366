//! Race and fault tests on the real broker: two writers that both believe they own every
//! partition (a split brain, the worst case of a stale writer), and kill -9 of the owner of
//! half the partitions under load.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use infra::eventlog::chain::{Admission, StreamHeads};
use infra::eventlog::{Checkpoint, EventLog, ExpectedVersion, NewCommit, StreamRef};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use uuid::Uuid;

/// Every record of the `doc` type, judged by rule R: accepted commit ids per stream, and the
/// number of fenced records.
async fn judged_history(log: &dyn EventLog) -> (BTreeMap<String, Vec<(u64, Uuid)>>, usize) {
    let end = log.end_offsets("doc").await.unwrap();
    let total: u64 = end.values().sum();
    let mut sub = log.subscribe("doc", Checkpoint::new()).await.unwrap();
    let mut heads: HashMap<u32, StreamHeads> = HashMap::new();
    let mut accepted: BTreeMap<String, Vec<(u64, Uuid)>> = BTreeMap::new();
    let (mut seen, mut fenced) = (0u64, 0usize);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen < total && tokio::time::Instant::now() < deadline {
        for d in sub.next_batch(500, Duration::from_millis(500)).await.unwrap() {
            seen += 1;
            match heads.entry(d.partition).or_default().admit(&d.commit) {
                Admission::Accepted => accepted
                    .entry(d.commit.stream_id.clone())
                    .or_default()
                    .push((d.commit.first_version, d.commit.commit_id)),
                Admission::Fenced { .. } => fenced += 1,
            }
        }
    }
    assert_eq!(seen, total, "read the whole log");
    (accepted, fenced)
}

/// Appends as a client must: an `Unavailable` answer (no word from the log within the append
/// timeout, as a loaded machine may give) leaves the commit's fate to rule R, so the same
/// command id is sent again until the log answers for it — at most four times.
async fn append_answered(
    log: &dyn EventLog,
    commit: NewCommit,
) -> Result<infra::eventlog::Appended, infra::eventlog::EventLogError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match log.append(commit.clone()).await {
            Err(infra::eventlog::EventLogError::Unavailable(why)) if tries < 4 => {
                println!("retrying {} after: {why}", commit.command_id);
            }
            answer => return answer,
        }
    }
}

async fn wait_owning(log: &infra::eventlog::kafka::KafkaLog, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while log.owned_partitions().len() < count {
        assert!(tokio::time::Instant::now() < deadline, "never owned {count} partitions");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_racing_for_every_version_never_both_win() {
    let prefix = fresh_prefix();
    // Different groups: both instances own every partition at once.
    let a = Arc::new(kafka_with(&prefix, Some(&format!("{prefix}.a"))).await);
    let b = Arc::new(kafka_with(&prefix, Some(&format!("{prefix}.b"))).await);
    wait_owning(&a, 6).await;
    wait_owning(&b, 6).await;

    let streams: Vec<StreamRef> = (0..12).map(|i| stream(&format!("race-{i}"))).collect();
    let rounds = 6u64;
    let mut acked: BTreeMap<String, Vec<(u64, Uuid)>> = BTreeMap::new();
    let mut conflicts = 0;
    for round in 0..rounds {
        let mut races = Vec::new();
        for s in &streams {
            for writer in [a.clone(), b.clone()] {
                let s = s.clone();
                races.push(tokio::spawn(async move {
                    let c = commit(&s, ExpectedVersion::Exact(round), vec![event(round)]);
                    (s, append_answered(&*writer, c).await)
                }));
            }
        }
        let mut winners: BTreeMap<String, usize> = BTreeMap::new();
        for race in races {
            let (s, result) = race.await.unwrap();
            match result {
                Ok(appended) => {
                    *winners.entry(s.stream_id.clone()).or_default() += 1;
                    acked
                        .entry(s.stream_id)
                        .or_default()
                        .push((appended.first_version, appended.commit_id));
                }
                Err(infra::eventlog::EventLogError::Conflict { .. }) => conflicts += 1,
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        for s in &streams {
            assert_eq!(
                winners.get(&s.stream_id),
                Some(&1),
                "round {round}: exactly one writer wins {s}"
            );
        }
    }
    assert_eq!(conflicts, streams.len() * rounds as usize);

    let reader = kafka_with(&prefix, Some(&format!("{prefix}.reader"))).await;
    let (accepted, fenced) = judged_history(&reader).await;
    println!(
        "split brain: {} acknowledged, {conflicts} refused, {fenced} fenced records in the log",
        acked.values().map(Vec::len).sum::<usize>()
    );
    assert_eq!(
        accepted, acked,
        "readers see exactly the acknowledged commits, one per version"
    );
    for s in &streams {
        let versions: Vec<u64> = a.read_stream(s).await.unwrap().iter().map(|e| e.version).collect();
        assert_eq!(versions, (1..=rounds).collect::<Vec<_>>());
        let from_b: Vec<Uuid> = b.read_stream(s).await.unwrap().iter().map(|e| e.commit_id).collect();
        let from_a: Vec<Uuid> = a.read_stream(s).await.unwrap().iter().map(|e| e.commit_id).collect();
        assert_eq!(from_a, from_b, "both writers agree on the history");
    }
    for log in [a, b] {
        log.shutdown().await;
    }
    reader.shutdown().await;
}

/// Child mode for the failover test: appends to streams of the partitions it owns and prints
/// one `ACK stream version commit_id partition` line per acknowledged commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by failover_after_kill_9_loses_no_acknowledged_commit"]
async fn child_writer() {
    let Ok(prefix) = std::env::var("ERP_CHILD_PREFIX") else {
        return;
    };
    let log = kafka_with(&prefix, None).await;
    let streams: Vec<StreamRef> = (0..30).map(|i| stream(&format!("load-{i}"))).collect();
    loop {
        let owned: BTreeSet<u32> = log
            .owned_partitions()
            .into_iter()
            .filter(|(t, _)| t == "doc")
            .map(|(_, p)| p)
            .collect();
        let mine: Vec<&StreamRef> = streams
            .iter()
            .filter(|s| owned.contains(&infra::eventlog::partition_for(&s.stream_id, 3)))
            .collect();
        if mine.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let batch: Vec<_> = mine
            .iter()
            .map(|s| {
                let log = log.clone();
                let s = (*s).clone();
                tokio::spawn(async move {
                    let result = log
                        .append(commit(&s, ExpectedVersion::Any, vec![event(0), event(1)]))
                        .await;
                    (s, result)
                })
            })
            .collect();
        for task in batch {
            if let Ok((s, Ok(a))) = task.await {
                println!(
                    "ACK {} {} {} {}",
                    s.stream_id, a.first_version, a.commit_id, a.position.partition
                );
            }
        }
    }
}

/// Acknowledgements a child printed: stream, version, commit id, partition.
type Acks = Arc<Mutex<Vec<(String, u64, Uuid, u32)>>>;

fn spawn_child(prefix: &str) -> tokio::process::Child {
    tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ERP_CHILD_PREFIX", prefix)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn collect_acks(child: &mut tokio::process::Child, into: Acks) {
    let stdout = child.stdout.take().unwrap();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let ["ACK", stream, version, commit, partition] = parts[..] {
                into.lock().unwrap().push((
                    stream.to_owned(),
                    version.parse().unwrap(),
                    commit.parse().unwrap(),
                    partition.parse().unwrap(),
                ));
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_after_kill_9_loses_no_acknowledged_commit() {
    let prefix = fresh_prefix();
    let acks_a = Arc::new(Mutex::new(Vec::new()));
    let acks_b = Arc::new(Mutex::new(Vec::new()));
    let mut a = spawn_child(&prefix);
    collect_acks(&mut a, acks_a.clone());
    let wait_for = |acks: Acks, n: usize| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while acks.lock().unwrap().len() < n {
            assert!(tokio::time::Instant::now() < deadline, "child made no progress");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    wait_for(acks_a.clone(), 50).await;
    let mut b = spawn_child(&prefix);
    collect_acks(&mut b, acks_b.clone());
    wait_for(acks_b.clone(), 50).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    a.start_kill().unwrap(); // SIGKILL: no leave, no flush
    let _ = a.wait().await;
    let killed_partitions: BTreeSet<u32> = acks_a.lock().unwrap().iter().map(|a| a.3).collect();
    let b_before = acks_b.lock().unwrap().len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let took_over = acks_b.lock().unwrap()[b_before..]
            .iter()
            .any(|a| killed_partitions.contains(&a.3));
        if took_over {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the survivor never took over the killed writer's partitions"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.start_kill().unwrap();
    let _ = b.wait().await;

    let reader = kafka_with(&prefix, Some(&format!("{prefix}.reader"))).await;
    let (accepted, fenced) = judged_history(&reader).await;
    let accepted_ids: BTreeMap<Uuid, (String, u64)> = accepted
        .iter()
        .flat_map(|(s, v)| v.iter().map(move |(ver, id)| (*id, (s.clone(), *ver))))
        .collect();
    let all_acks: Vec<_> = acks_a
        .lock()
        .unwrap()
        .iter()
        .chain(acks_b.lock().unwrap().iter())
        .cloned()
        .collect();
    for (stream, version, commit, _) in &all_acks {
        assert_eq!(
            accepted_ids.get(commit),
            Some(&(stream.clone(), *version)),
            "acknowledged commit {commit} is in the log once, as acknowledged"
        );
    }
    for (stream, versions) in &accepted {
        let expected: Vec<u64> = (0..versions.len() as u64).map(|i| 1 + 2 * i).collect();
        assert_eq!(
            versions.iter().map(|v| v.0).collect::<Vec<_>>(),
            expected,
            "{stream} has no gap"
        );
    }
    println!(
        "failover: {} acknowledged, {} accepted, {fenced} fenced",
        all_acks.len(),
        accepted_ids.len()
    );
    reader.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_writer_restores_heads_and_command_ids_from_the_state_topic() {
    let prefix = fresh_prefix();
    let first = sole_owner(&prefix).await;
    let s = stream("restart-1");
    let mut commits = Vec::new();
    for v in 0..10 {
        let c = commit(&s, ExpectedVersion::Exact(v), vec![event(v)]);
        commits.push((c.clone(), first.append(c).await.unwrap()));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await; // a snapshot interval or two
    first.shutdown().await;

    let second = sole_owner(&prefix).await;
    let reports = second.restore_reports();
    assert!(
        reports.iter().any(|r| r.streams_from_snapshot > 0),
        "restored from the state topic: {reports:?}"
    );
    println!("restore: {reports:?}");
    let (old_command, first_answer) = &commits[3];
    let retry = second.append(old_command.clone()).await.unwrap();
    assert!(retry.duplicate, "an old command id is still known after restart");
    assert_eq!(retry.commit_id, first_answer.commit_id);
    let next = second
        .append(commit(&s, ExpectedVersion::Exact(10), vec![event(10)]))
        .await
        .unwrap();
    assert_eq!(next.first_version, 11);
    let stale = second
        .append(commit(&s, ExpectedVersion::Exact(3), vec![event(3)]))
        .await;
    assert_eq!(
        stale,
        Err(infra::eventlog::EventLogError::Conflict {
            expected: ExpectedVersion::Exact(3),
            actual: 11
        })
    );
    second.shutdown().await;

    // Topics are created compacted by the application.
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    for topic in [format!("{prefix}.doc.events"), format!("{prefix}.doc.state")] {
        let described = admin
            .describe_configs([&ResourceSpecifier::Topic(&topic)], &AdminOptions::new())
            .await
            .unwrap();
        let resource = described.into_iter().next().unwrap().unwrap();
        let policy = resource.get("cleanup.policy").and_then(|e| e.value.clone());
        assert_eq!(policy.as_deref(), Some("compact"), "{topic}");
    }
}

/// The state topic carries only each stream's recent command ids; a retry of any command the
/// log ever acknowledged still gets its first answer from a new owner, as on the embedded log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_of_a_command_acknowledged_long_before_a_handover_gets_its_first_answer() {
    let prefix = fresh_prefix();
    let first = sole_owner(&prefix).await;
    let s = stream("old-retry-1");
    let mut commits = Vec::new();
    for v in 0..40 {
        let c = commit(&s, ExpectedVersion::Exact(v), vec![event(v)]);
        commits.push((c.clone(), first.append(c).await.unwrap()));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await; // a snapshot interval or two
    first.shutdown().await;

    let second = sole_owner(&prefix).await;
    let (oldest, first_answer) = &commits[0];
    let found = second.find_command(&s, oldest.command_id).await.unwrap();
    assert_eq!(
        found.map(|a| a.commit_id),
        Some(first_answer.commit_id),
        "found after handover"
    );
    let retry = second.append(oldest.clone()).await.unwrap();
    assert!(
        retry.duplicate,
        "the first command's retry is a duplicate, not a conflict"
    );
    assert_eq!((retry.commit_id, retry.first_version), (first_answer.commit_id, 1));
    // And straight after a handover, before anything read the stream.
    second.shutdown().await;
    let third = sole_owner(&prefix).await;
    let (second_oldest, its_answer) = &commits[1];
    let retry = third.append(second_oldest.clone()).await.unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.commit_id, its_answer.commit_id);
    let next = third
        .append(commit(&s, ExpectedVersion::Exact(40), vec![event(40)]))
        .await
        .unwrap();
    assert_eq!(next.first_version, 41);
    third.shutdown().await;
}

/// An instance started with another partition count would put a stream in two partitions
/// (two writers, a fork): it refuses to start and says which topic and which setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_another_partition_count_refuses_to_start() {
    let prefix = fresh_prefix();
    let first = kafka_with(&prefix, None).await;
    first.shutdown().await;
    let mut config = infra::eventlog::kafka::KafkaConfig::local(kafka_brokers(), &prefix, TYPES);
    config.partitions = 5;
    let refused = infra::eventlog::kafka::KafkaLog::connect(config, upcasters()).await;
    let Err(infra::eventlog::EventLogError::Misconfigured(why)) = refused else {
        panic!("expected a misconfiguration, got {:?}", refused.map(|_| ()));
    };
    assert!(why.contains(&format!("{prefix}.doc.events")), "{why}");
    assert!(why.contains("ERP_KAFKA_PARTITIONS"), "{why}");
}

/// A topic someone created with `cleanup.policy=delete` would lose history by age.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_topic_that_is_not_compacted_is_refused() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let prefix = fresh_prefix();
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    let topic = format!("{prefix}.doc.events");
    admin
        .create_topics(
            [&NewTopic::new(&topic, 3, TopicReplication::Fixed(1)).set("cleanup.policy", "delete")],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    let mut config = infra::eventlog::kafka::KafkaConfig::local(kafka_brokers(), &prefix, TYPES);
    config.partitions = 3;
    let refused = infra::eventlog::kafka::KafkaLog::connect(config, upcasters()).await;
    let Err(infra::eventlog::EventLogError::Misconfigured(why)) = refused else {
        panic!("expected a misconfiguration, got {:?}", refused.map(|_| ()));
    };
    assert!(why.contains(&topic) && why.contains("cleanup.policy=delete"), "{why}");
}

#[test]
fn replicated_topics_need_two_in_sync_replicas() {
    use infra::eventlog::kafka::{topic_mismatches, KafkaConfig, TopicFacts};
    let mut config = KafkaConfig::local("b:9092", "erp", TYPES);
    config.partitions = 3;
    config.replication = 3;
    let fact = |min| TopicFacts {
        name: "erp.doc.events".into(),
        partitions: 3,
        cleanup_policy: Some("compact".into()),
        min_insync_replicas: Some(min),
    };
    assert_eq!(topic_mismatches(&config, &[fact(2)]), Vec::<String>::new());
    let problems = topic_mismatches(&config, &[fact(1)]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("min.insync.replicas=1"));
    config.replication = 1;
    assert!(topic_mismatches(&config, &[fact(1)]).is_empty());
}

/// Anyone who can write to the broker can announce an owner URL. An instance whose peers live
/// elsewhere never forwards a command — and so never sends its token — to an announced address
/// outside its peer allowlist, even one a real cluster member announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_announced_outside_the_peer_allowlist_never_receives_the_token() {
    use infra::eventlog::kafka::owners::Peers;
    use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
    let prefix = fresh_prefix();
    let rogue = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rogue_url = format!("http://{}", rogue.local_addr().unwrap());
    let contacted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = contacted.clone();
    tokio::spawn(async move {
        if rogue.accept().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let config = |advertised: Option<String>, peers: Peers| {
        let mut config = KafkaConfig::local(kafka_brokers(), &prefix, TYPES);
        config.partitions = 3;
        config.advertised_url = advertised;
        config.internal_token = Some("peer-secret".into());
        config.peers = peers;
        config
    };
    let cluster = Peers::parse(&["10.0.0.0/8".into()], false).unwrap();
    let a = KafkaLog::connect(config(None, cluster), upcasters()).await.unwrap();
    let b = KafkaLog::connect(config(Some(rogue_url), Peers::loopback()), upcasters())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let b_partition = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never owned and announced a partition"
        );
        let announced = b.owned_partitions().into_iter().find(|(t, p)| {
            t == "doc" && a.announced_owner(t, *p).is_some() && !a.owned_partitions().contains(&(t.clone(), *p))
        });
        if let Some((_, p)) = announced {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let id = (0..)
        .map(|i| format!("rogue-{i}"))
        .find(|id| infra::eventlog::partition_for(id, 3) == b_partition)
        .unwrap();
    let refused = a
        .append(commit(&stream(&id), ExpectedVersion::Any, vec![event(0)]))
        .await;
    assert!(
        matches!(&refused, Err(infra::eventlog::EventLogError::Unavailable(m)) if m.contains("allowlist")),
        "{refused:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !contacted.load(std::sync::atomic::Ordering::SeqCst),
        "the announced address was contacted"
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// Writes `payload` under `key` to a state partition, as a paused old owner would on waking.
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

/// Writes a record under `key` on partition `partition` of the doc events topic, as anyone
/// with broker access can: the fault tests' record that is not a commit.
async fn write_stray(prefix: &str, partition: u32, key: &str, payload: &[u8]) {
    write_state_record(&format!("{prefix}.doc.events"), partition as i32, key, payload).await;
}

/// A writer on `prefix` that owns every partition (the only one running).
async fn sole_owner(prefix: &str) -> infra::eventlog::kafka::KafkaLog {
    let log = kafka_with(prefix, None).await;
    wait_owning(&log, 6).await;
    log
}

/// The records of one key in one partition of a topic, in offset order, as stored.
fn payloads_of_key(topic: &str, partition: i32, key: &str) -> Vec<Vec<u8>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Message, Offset, TopicPartitionList};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", format!("{topic}.test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let (low, high) = consumer
        .fetch_watermarks(topic, partition, Duration::from_secs(10))
        .unwrap();
    let mut found = Vec::new();
    if high <= low {
        return found;
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(low)).unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert!(std::time::Instant::now() < deadline, "could not read {topic}");
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.unwrap();
        if message.key() == Some(key.as_bytes()) {
            found.push(message.payload().unwrap_or_default().to_vec());
        }
        if message.offset() + 1 >= high {
            return found;
        }
    }
}

async fn forwarded_read(log: &infra::eventlog::kafka::KafkaLog, s: &StreamRef) -> Vec<u64> {
    use infra::eventlog::kafka::owners::{Forwarded, ForwardedAnswer};
    match log.serve_forwarded(Forwarded::ReadStream { stream: s.clone() }).await {
        ForwardedAnswer::Stream { result } => result
            .expect("the owner serves every stream of its partitions")
            .iter()
            .map(|e| e.version)
            .collect(),
        other => panic!("answered another request: {other:?}"),
    }
}

/// After any join or leave the owner restores heads from snapshots, so the history of older
/// streams is not in its memory; a read another instance forwards must still get all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_restored_from_snapshots_serves_forwarded_reads_of_streams_it_never_replayed() {
    let prefix = fresh_prefix();
    let first = sole_owner(&prefix).await;
    let s = stream("employee-7");
    for v in 0..5 {
        first
            .append(commit(&s, ExpectedVersion::Exact(v), vec![event(v)]))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await; // snapshotted and committed
    first.shutdown().await;

    let second = sole_owner(&prefix).await;
    assert_eq!(forwarded_read(&second, &s).await, (1..=5).collect::<Vec<_>>());
    second
        .append(commit(&s, ExpectedVersion::Exact(5), vec![event(5)]))
        .await
        .unwrap();
    assert_eq!(
        forwarded_read(&second, &s).await,
        (1..=6).collect::<Vec<_>>(),
        "a stream read from the partition stays whole as it grows"
    );
    assert!(
        forwarded_read(&second, &stream("nobody-yet")).await.is_empty(),
        "a stream that does not exist is empty, not unavailable"
    );
    second.shutdown().await;
}

/// An old owner paused (SIGSTOP) past its session timeout writes the heads it held when it
/// resumes, after the new owner wrote newer ones. The next owner must not wind the stream
/// back to the stale head (every later commit would be fenced: 409 forever), and the newest
/// head must end up written last, so compaction keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_snapshot_from_a_paused_old_owner_does_not_wind_a_stream_back() {
    let prefix = fresh_prefix();
    let s = stream("paused-1");
    let state_topic = format!("{prefix}.doc.state");
    let partition = infra::eventlog::partition_for(&s.stream_id, 3) as i32;

    let first = sole_owner(&prefix).await;
    for v in 0..5 {
        first
            .append(commit(&s, ExpectedVersion::Exact(v), vec![event(v)]))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let topic = state_topic.clone();
    let stale = tokio::task::spawn_blocking(move || payloads_of_key(&topic, partition, "paused-1"))
        .await
        .unwrap()
        .pop()
        .expect("the head at version 5 was snapshotted");
    for v in 5..10 {
        first
            .append(commit(&s, ExpectedVersion::Exact(v), vec![event(v)]))
            .await
            .unwrap();
    }
    first.shutdown().await;

    // The paused owner wakes up and writes what it held: the head at version 5.
    write_state_record(&state_topic, partition, "paused-1", &stale).await;

    let second = sole_owner(&prefix).await;
    let next = second
        .append(commit(&s, ExpectedVersion::Exact(10), vec![event(10)]))
        .await
        .expect("the stream continues from its newest head");
    assert_eq!(next.first_version, 11);
    second.shutdown().await;
}

/// The newest head of a stream must be the last record of its key in the state topic, or
/// compaction keeps a stale one; a restore that finds a stale record written last writes the
/// newest head back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_that_finds_a_stale_snapshot_written_last_writes_the_newest_head_back() {
    let prefix = fresh_prefix();
    let s = stream("paused-2");
    let state_topic = format!("{prefix}.doc.state");
    let partition = infra::eventlog::partition_for(&s.stream_id, 3) as i32;
    let last_version = |topic: String| async move {
        let written = tokio::task::spawn_blocking(move || payloads_of_key(&topic, partition, "paused-2"))
            .await
            .unwrap();
        let last: serde_json::Value = serde_json::from_slice(written.last().unwrap()).unwrap();
        last["version"].as_u64().unwrap()
    };

    let first = sole_owner(&prefix).await;
    for v in 0..3 {
        first
            .append(commit(&s, ExpectedVersion::Exact(v), vec![event(v)]))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let topic = state_topic.clone();
    let stale = tokio::task::spawn_blocking(move || payloads_of_key(&topic, partition, "paused-2"))
        .await
        .unwrap()
        .pop()
        .unwrap();
    for v in 3..6 {
        first
            .append(commit(&s, ExpectedVersion::Exact(v), vec![event(v)]))
            .await
            .unwrap();
    }
    first.shutdown().await;
    write_state_record(&state_topic, partition, "paused-2", &stale).await;
    assert_eq!(last_version(state_topic.clone()).await, 3);

    let second = sole_owner(&prefix).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // a snapshot interval or two
    assert_eq!(
        last_version(state_topic.clone()).await,
        6,
        "the newest head is written back after the stale one"
    );
    second.shutdown().await;
}

/// A restore that fails (here: the state topic is gone while partitions move) is retried with
/// backoff; it used to be logged once and the partition stayed assigned but never ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_that_fails_is_retried_until_the_partition_is_ready() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let prefix = fresh_prefix();
    let first = kafka_with(&prefix, None).await;
    let second = kafka_with(&prefix, None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while first.owned_partitions().is_empty()
        || second.owned_partitions().is_empty()
        || first.owned_partitions().len() + second.owned_partitions().len() < 6
    {
        assert!(tokio::time::Instant::now() < deadline, "partitions never split");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    let state_topic = format!("{prefix}.doc.state");
    for result in admin
        .delete_topics(&[&state_topic], &AdminOptions::new())
        .await
        .unwrap()
    {
        result.unwrap();
    }
    second.shutdown().await; // a rebalance: the first restores the second's partitions, and fails
    tokio::time::sleep(Duration::from_secs(2)).await;
    for result in admin
        .create_topics(
            [&NewTopic::new(&state_topic, 3, TopicReplication::Fixed(1)).set("cleanup.policy", "compact")],
            &AdminOptions::new(),
        )
        .await
        .unwrap()
    {
        result.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while first.owned_partitions().len() < 6 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "partitions whose restore failed never became ready: {:?}",
            first.owned_partitions()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.shutdown().await;
}

/// Starts a shared subscription at the beginning of every partition.
struct FromTheStart;

#[async_trait::async_trait]
impl infra::eventlog::Positions for FromTheStart {
    async fn positions(&self) -> Result<Checkpoint, infra::eventlog::EventLogError> {
        Ok(Checkpoint::new())
    }
}

/// Every commit a subscription delivers until `count` arrived (bounded), each batch
/// answered without an error.
async fn delivered(sub: &mut dyn infra::eventlog::Subscription, count: usize) -> Vec<(u32, u64, u64)> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.len() < count && tokio::time::Instant::now() < deadline {
        let batch = sub
            .next_batch(100, Duration::from_millis(200))
            .await
            .expect("a batch is delivered, the unreadable record stepped over");
        seen.extend(batch.iter().map(|d| (d.partition, d.offset, d.commit.first_version)));
    }
    seen
}

/// A writer on a fresh prefix that owns every partition, and stream `id` there with its first
/// commit: the start of the stray-record tests.
struct FirstCommit {
    prefix: String,
    log: infra::eventlog::kafka::KafkaLog,
    stream: StreamRef,
    appended: infra::eventlog::Appended,
    partition: u32,
}

async fn first_commit(id: &str) -> FirstCommit {
    let prefix = fresh_prefix();
    let log = kafka_with(&prefix, None).await;
    let stream = stream(id);
    let appended = log
        .append(commit(&stream, ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .unwrap();
    let partition = infra::eventlog::partition_for(&stream.stream_id, log.partitions());
    FirstCommit {
        prefix,
        log,
        stream,
        appended,
        partition,
    }
}

/// A record that does not decode, last in its partition when the partition's next owner
/// restores it: the owner's position moves past it as past any record, and the partition
/// becomes ready. The tail used to step over it without telling the partition, which then
/// waited for a record that would never come: every append to it answered 503 until another
/// writer wrote there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_whose_last_record_does_not_decode_is_restored_and_written_to() {
    let FirstCommit {
        prefix,
        log: first,
        stream: s,
        partition,
        ..
    } = first_commit("doc-stray-last").await;
    first.shutdown().await;
    write_stray(&prefix, partition, "stray", b"not a commit").await;

    let second = sole_owner(&prefix).await;
    let next = second
        .append(commit(&s, ExpectedVersion::Exact(1), vec![event(2)]))
        .await
        .unwrap();
    assert_eq!(next.first_version, 2);
    second.shutdown().await;
}

/// A record that does not decode, keyed like a stream's commits (`<stream id>@…`): a read of
/// the stream from the log steps over it like any reader. It used to fail the read, and with
/// it every command on that stream at an owner that had to read the stream first (one
/// restored from snapshots).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_keyed_like_a_stream_that_does_not_decode_leaves_the_stream_readable_and_writable() {
    let FirstCommit {
        prefix,
        log: first,
        stream: s,
        partition,
        ..
    } = first_commit("doc-keyed-stray").await;
    write_stray(
        &prefix,
        partition,
        &format!("{}@{}", s.stream_id, Uuid::now_v7()),
        b"not a commit",
    )
    .await;
    first
        .append(commit(&s, ExpectedVersion::Exact(1), vec![event(2)]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await; // a snapshot interval or two
    first.shutdown().await;

    let second = sole_owner(&prefix).await;
    let versions: Vec<u64> = second
        .read_stream(&s)
        .await
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, vec![1, 2]);
    let next = second
        .append(commit(&s, ExpectedVersion::Exact(2), vec![event(3)]))
        .await
        .unwrap();
    assert_eq!(next.first_version, 3);
    second.shutdown().await;
}

/// A record on an events topic that does not decode as a commit (anyone with broker access
/// can write one) is stepped over by plain and shared subscriptions alike, and the commits
/// before and after it in its partition are delivered. A subscription used to fail the whole
/// batch on it: the commits gathered before it were already consumed, so a plain
/// subscription lost them, and a projection's shared one, repositioned at its stored
/// positions, met the same record again for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_does_not_decode_is_stepped_over_and_the_commits_around_it_are_delivered() {
    let FirstCommit {
        prefix,
        log,
        stream: s,
        appended: first,
        partition,
    } = first_commit("doc-stray").await;
    write_stray(&prefix, partition, "stray", b"{\"not\": \"a commit\"}").await;
    let second = log
        .append(commit(&s, ExpectedVersion::Exact(1), vec![event(2)]))
        .await
        .unwrap();
    assert_eq!(
        second.position.offset,
        first.position.offset + 2,
        "the stray record lies between them"
    );

    let mut plain = log.subscribe("doc", Checkpoint::new()).await.unwrap();
    let seen = delivered(&mut *plain, 2).await;
    assert_eq!(
        seen,
        vec![
            (partition, first.position.offset, 1),
            (partition, second.position.offset, 2)
        ]
    );
    assert_eq!(plain.checkpoint().get(&partition), Some(&(second.position.offset + 1)));
    // A stray record last in its partition: the position moves past it, so whoever waits for
    // the log's end (readiness, a replay's catch-up, lag) gets there.
    write_stray(&prefix, partition, "stray", b"not a commit").await;
    let end = log.end_offsets("doc").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while plain.checkpoint().get(&partition) != end.get(&partition) && tokio::time::Instant::now() < deadline {
        assert!(plain
            .next_batch(100, Duration::from_millis(200))
            .await
            .unwrap()
            .is_empty());
    }
    assert_eq!(plain.checkpoint().get(&partition), end.get(&partition));

    let mut shared = log
        .subscribe_shared("doc", &format!("{prefix}-readers"), Arc::new(FromTheStart))
        .await
        .unwrap();
    let seen = delivered(&mut *shared, 2).await;
    assert_eq!(seen.iter().map(|d| d.2).collect::<Vec<_>>(), vec![1, 2]);
    shared.close().await;
    log.shutdown().await;
}

/// A writer fenced out of its group — the broker gave its static membership id to another
/// member, as it does when a broker restart outlives the writer's session — joins the group
/// again with a new consumer and owns its partitions again. Its consumer used to stay fenced
/// for ever: the instance owned nothing for the rest of its life and served only by
/// forwarding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_fenced_out_of_its_group_joins_again_and_owns_its_partitions() {
    let prefix = fresh_prefix();
    let config = kafka_config(&prefix);
    let (group, instance_id) = (config.writer_group.clone(), config.instance_id.clone());
    let topics: Vec<String> = TYPES.iter().map(|t| config.events_topic(t)).collect();
    let log = infra::eventlog::kafka::KafkaLog::connect(config, upcasters())
        .await
        .unwrap();
    wait_owning(&log, 6).await;

    // An impostor with the writer's membership id takes its place in the group, and stays
    // until the writer takes the place back (the broker then fences the impostor).
    let impostor = tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", kafka_brokers())
            .set("group.id", &group)
            .set("group.instance.id", &instance_id)
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500")
            .create()
            .unwrap();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            let _ = consumer.poll(Duration::from_millis(100));
            if consumer.client().fatal_error().is_some() {
                return true;
            }
        }
        false
    });
    // Fenced, the writer stops claiming the partitions the impostor was given.
    let mut let_go = false;
    while !impostor.is_finished() {
        let_go |= log.owned_partitions().is_empty();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(let_go, "the fenced writer went on claiming its partitions");
    assert!(
        impostor.await.unwrap(),
        "the fenced writer never joined its group again (the impostor kept its place)"
    );
    wait_owning(&log, 6).await;
    let s = stream("doc-after-fence");
    let appended = log
        .append(commit(&s, ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .unwrap();
    assert_eq!(appended.first_version, 1);
    log.shutdown().await;
}
