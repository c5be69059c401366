//! Append benchmark: latency p50/p99 and throughput at several concurrencies, for the embedded
//! log and the Kafka adapter, beside their floors — a raw idempotent rdkafka producer on the
//! same broker and a raw write+fdatasync loop on the same disk.
//!
//! Run: `scripts/bench-eventlog` (starts a broker), or with `ERP_BENCH_KAFKA=host:port`
//! `cargo bench -p infra --bench eventlog`.

use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
use infra::eventlog::{EventLog, ExpectedVersion, NewCommit, NewEvent, StreamRef, Upcasters};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const CONCURRENCY: [usize; 3] = [1, 8, 64];

fn payload() -> serde_json::Value {
    // About 500 bytes on the wire, like an approval decision with a comment.
    serde_json::json!({ "type": "approval.approved", "step": 1, "comment": "확인했습니다. ".repeat(20), "by": Uuid::now_v7(), "at": "2026-03-03T09:00:00Z" })
}

struct Figures {
    p50: Duration,
    p99: Duration,
    per_sec: f64,
}

fn figures(mut latencies: Vec<Duration>, wall: Duration) -> Figures {
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        p50: at(0.50),
        p99: at(0.99),
        per_sec: latencies.len() as f64 / wall.as_secs_f64(),
    }
}

fn print(name: &str, concurrency: usize, f: &Figures) {
    println!(
        "{name:<28} c={concurrency:<3} p50 {:>8.3} ms   p99 {:>8.3} ms   {:>9.0} appends/s",
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.per_sec
    );
}

/// Runs `op(task, i)` `total` times over `concurrency` tasks, each task in sequence, and
/// measures each call.
async fn concurrently<F, Fut>(concurrency: usize, total: usize, op: F) -> Figures
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let per_task = total / concurrency;
    let op = Arc::new(op);
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_task);
                for i in 0..per_task {
                    let began = Instant::now();
                    op(t, i).await;
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    figures(all, start.elapsed())
}

/// `total` appends spread over `concurrency` tasks, each on its own stream with expected versions.
async fn drive_log(log: Arc<dyn EventLog>, concurrency: usize, total: usize, stream_type: &str) -> Figures {
    let run = Uuid::now_v7().simple().to_string();
    let stream_type = stream_type.to_owned();
    concurrently(concurrency, total, move |t, v| {
        let log = log.clone();
        let commit = NewCommit {
            stream: StreamRef::new(stream_type.clone(), format!("bench-{run}-{t}")),
            expected: ExpectedVersion::Exact(v as u64),
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: Some("bench".into()),
            traceparent: None,
            events: vec![NewEvent {
                event_type: "approval.approved".into(),
                schema_version: 1,
                payload: payload(),
            }],
        };
        async move {
            log.append(commit).await.expect("append");
        }
    })
    .await
}

async fn drive_raw_producer(brokers: &str, topic: &str, concurrency: usize, total: usize) -> Figures {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "0")
        .create()
        .expect("producer");
    let body = Arc::new(serde_json::to_vec(&payload()).expect("json"));
    let topic = topic.to_owned();
    concurrently(concurrency, total, move |t, i| {
        let (producer, body, topic) = (producer.clone(), body.clone(), topic.clone());
        async move {
            let key = format!("raw-{t}-{i}");
            producer
                .send(
                    FutureRecord::to(&topic)
                        .partition((t % 6) as i32)
                        .key(&key)
                        .payload(body.as_slice()),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(e, _)| e)
                .expect("produce");
        }
    })
    .await
}

fn raw_fsync_loop(dir: &std::path::Path, total: usize) -> Figures {
    let mut file = std::fs::File::create(dir.join("fsync.bench")).expect("create");
    let body = vec![b'x'; 500];
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(total);
    for _ in 0..total {
        let began = Instant::now();
        file.write_all(&body).expect("write");
        file.sync_data().expect("fdatasync");
        latencies.push(began.elapsed());
    }
    figures(latencies, start.elapsed())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: usize = std::env::var("ERP_BENCH_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000);
    let dir = tempfile::tempdir_in(std::env::var("ERP_BENCH_DIR").unwrap_or_else(|_| ".".into())).expect("tempdir");
    println!("event log append benchmark: {total} appends per row, 1 event (~500 B) per commit\n");

    println!("-- embedded log (group-commit fdatasync) vs raw write+fdatasync on the same disk");
    print(
        "raw write+fdatasync loop",
        1,
        &raw_fsync_loop(dir.path(), total.min(2_000)),
    );
    let embedded: Arc<dyn EventLog> = Arc::new(
        EmbeddedLog::open(dir.path().join("log"), EmbeddedOptions::default(), Upcasters::default()).expect("open"),
    );
    for c in CONCURRENCY {
        print(
            "embedded log",
            c,
            &drive_log(embedded.clone(), c, total, "approval").await,
        );
    }

    let Ok(brokers) = std::env::var("ERP_BENCH_KAFKA") else {
        println!("\n(ERP_BENCH_KAFKA not set: Kafka rows skipped; scripts/bench-eventlog starts a broker)");
        return;
    };
    println!("\n-- Kafka adapter vs raw idempotent acks=all producer on the same broker ({brokers})");
    let prefix = format!("bench{}", Uuid::now_v7().simple());
    let config = KafkaConfig::local(brokers.clone(), prefix.clone(), &["approval"]);
    let topic = config.events_topic("approval");
    let kafka = KafkaLog::connect(config, Upcasters::default()).await.expect("connect");
    while kafka.owned_partitions().len() < 6 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for c in CONCURRENCY {
        print(
            "raw rdkafka producer",
            c,
            &drive_raw_producer(&brokers, &topic, c, total).await,
        );
    }
    let log: Arc<dyn EventLog> = Arc::new(kafka.clone());
    for c in CONCURRENCY {
        print("kafka adapter", c, &drive_log(log.clone(), c, total, "approval").await);
    }
    kafka.shutdown().await;
}
