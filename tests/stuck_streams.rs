//! A stuck stream as an operator sees it, on the Kafka log: the command API's `/readyz` and
//! `/metrics`, and `erp verify --owners`, first on a healthy instance, then on one restored
//! from a snapshot two versions ahead of the log (a head no reader agrees with: it refuses
//! every honest expected version, and accepts its own commits that every reader fences).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use command_api::seed::DEV_KANG;
use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
use infra::eventlog::{partition_for, streams, EventLog, StreamRef, Upcasters};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "peer-secret";
const PARTITIONS: u32 = 3;

/// One command-API instance: the public router with `/metrics`, and the internal listener
/// its owner announcements point at.
struct Instance {
    log: KafkaLog,
    state: command_api::AppState,
    base: String,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
}

async fn serve(router: axum::Router, port: u16) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let app = command_api::Application::bind(format!("127.0.0.1:{port}").parse().unwrap(), router)
        .await
        .unwrap();
    let port = app.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    (port, stop)
}

async fn instance(prefix: &str) -> Instance {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let internal_port = probe.local_addr().unwrap().port();
    drop(probe);
    let mut config = KafkaConfig::local(kafka(), prefix, &streams::ALL);
    config.partitions = PARTITIONS;
    config.snapshot_interval = Duration::from_millis(500);
    config.advertised_url = Some(format!("http://127.0.0.1:{internal_port}"));
    config.internal_token = Some(TOKEN.into());
    config.announce_interval = Duration::from_millis(500);
    config.head_check_interval = Duration::from_millis(300);
    let log = KafkaLog::connect(config, Upcasters::default()).await.unwrap();
    let every = PARTITIONS as usize * streams::ALL.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while log.owned_partitions().len() < every {
        assert!(tokio::time::Instant::now() < deadline, "never owned every partition");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signer = infra::auth::LocalSigner::from_seed(&[42; 32], "erp-embedded", "erp");
    let auth = command_api::AuthState {
        verifier: signer.verifier(),
        signer: Some(signer),
    };
    let settings = command_api::Settings {
        policy: command_api::seed::demo_policy(),
        internal_token: Some(TOKEN.into()),
        ..Default::default()
    };
    let (state, router) = command_api::build(Arc::new(log.clone()), auth, settings);
    let (_, internal) = serve(command_api::internal_router(&state).unwrap(), internal_port).await;
    let (port, public) = serve(router.merge(command_api::metrics_router(&state)), 0).await;
    Instance {
        log,
        state,
        base: format!("http://127.0.0.1:{port}"),
        stops: vec![internal, public],
    }
}

impl Instance {
    async fn stop(self) {
        self.log.shutdown().await;
        for stop in self.stops {
            let _ = stop.send(());
        }
    }

    async fn get(&self, path: &str) -> (reqwest::StatusCode, String) {
        let response = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Waits until the owners topic names this instance for every partition (what `erp
    /// verify --owners` reads).
    async fn announced(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let every = || {
            streams::ALL.iter().all(|t| {
                (0..PARTITIONS).all(|p| {
                    self.log.announced_owner(t, p).is_some_and(|o| {
                        self.log.owned_partitions().contains(&((*t).to_owned(), p)) && !o.url.is_empty()
                    })
                })
            })
        };
        while !every() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never announced every partition"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn kafka() -> String {
    std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| panic!("ERP_TEST_KAFKA is not set: run scripts/test"))
}

/// `erp verify --owners [extra]` against the log of `prefix`, as an operator with the
/// cluster's settings runs it.
async fn verify_owners(prefix: &str, extra: &[&str]) -> Output {
    let (brokers, prefix) = (kafka(), prefix.to_owned());
    let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_erp"))
            .args(["verify", "--owners"])
            .args(extra)
            .env("ERP_KAFKA_BROKERS", brokers)
            .env("ERP_KAFKA_PREFIX", prefix)
            .env("ERP_KAFKA_PARTITIONS", PARTITIONS.to_string())
            .env("ERP_INTERNAL_TOKEN", TOKEN)
            .env("ERP_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn gauge(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} in\n{metrics}"))
}

/// Writes a head for `stream` on its state partition, as a snapshot that lies would.
async fn forge_snapshot(prefix: &str, stream: &StreamRef, version: u64) {
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .create()
        .unwrap();
    let payload = serde_json::json!({ "version": version, "hash": "forged", "commands": [], "covered": 0 });
    producer
        .send(
            rdkafka::producer::FutureRecord::to(&format!("{prefix}.{}.state", stream.stream_type))
                .partition(partition_for(&stream.stream_id, PARTITIONS) as i32)
                .key(&stream.stream_id)
                .payload(&serde_json::to_vec(&payload).unwrap()),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_metrics_and_verify_pass_a_healthy_owner_and_name_a_stuck_stream() {
    let prefix = format!("stuck{}", uuid::Uuid::now_v7().simple());
    let healthy = instance(&prefix).await;
    command_api::seed::seed_if_empty(&healthy.state)
        .await
        .map_err(|e| e.detail)
        .unwrap();
    healthy.announced().await;
    tokio::time::sleep(Duration::from_millis(1_000)).await; // head checks over the seeded log
    let (status, body) = healthy.get("/readyz").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let (_, metrics) = healthy.get("/metrics").await;
    assert_eq!(gauge(&metrics, "erp_eventlog_stuck_streams"), 0);
    assert_eq!(
        gauge(&metrics, "erp_eventlog_partitions_owned"),
        u64::from(PARTITIONS) * streams::ALL.len() as u64
    );
    let verified = verify_owners(&prefix, &[]).await;
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    let partitions = u64::from(PARTITIONS) * streams::ALL.len() as u64;
    assert!(
        text(&verified).contains(&format!("comparing the heads of {partitions} partitions")),
        "{}",
        text(&verified)
    );

    let kang = StreamRef::new(streams::EMPLOYEE, DEV_KANG.to_string());
    let version = healthy.log.read_stream(&kang).await.unwrap().len() as u64;
    assert!(version > 0, "the demo company has {kang}");
    healthy.stop().await;
    forge_snapshot(&prefix, &kang, version + 2).await;

    let stuck = instance(&prefix).await;
    stuck.announced().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    // A new instance is first unready while its org directory catches up; wait for the fault.
    let body = loop {
        let (status, body) = stuck.get("/readyz").await;
        if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && body.contains("log_faults") {
            break body;
        }
        assert!(tokio::time::Instant::now() < deadline, "still ready: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "log_faults", "{body}");
    assert_eq!(body["stuck_streams"][0]["stream_id"], kang.stream_id, "{body}");
    assert_eq!(body["stuck_streams"][0]["owner_version"], version + 2, "{body}");
    assert_eq!(body["stuck_streams"][0]["log_version"], version, "{body}");
    assert!(body["detail"].as_str().unwrap().contains(&kang.to_string()), "{body}");
    let (_, metrics) = stuck.get("/metrics").await;
    assert_eq!(gauge(&metrics, "erp_eventlog_stuck_streams"), 1);

    let verified = verify_owners(&prefix, &[]).await;
    assert_eq!(verified.status.code(), Some(1), "{}", text(&verified));
    let out = text(&verified);
    println!("erp verify --owners on a stuck stream:\n{out}");
    let named = out
        .lines()
        .find(|l| l.starts_with("owner_head"))
        .unwrap_or_else(|| panic!("no owner_head problem in\n{out}"));
    assert!(named.contains(&kang.to_string()), "{named}");
    assert!(named.contains(&format!("version {}", version + 2)), "{named}");
    let one = verify_owners(&prefix, &["--stream", &kang.to_string()]).await;
    assert_eq!(one.status.code(), Some(1), "{}", text(&one));
    assert!(
        text(&one).contains("comparing the heads of 1 partitions"),
        "{}",
        text(&one)
    );
    stuck.stop().await;
}
