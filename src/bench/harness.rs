//! What the benches share: a command API in this process or `erp up` as a child process,
//! dev login, waiting for a server to answer, and the open-loop driver that times one rate.
//! A leaf: it uses no other bench module, so every bench (and the chaos campaign) can use it.

use anyhow::Context;
use command_api::seed::{demo_policy, seed_if_empty};
use command_api::{AuthState, Settings};
use infra::auth::LocalSigner;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
use infra::eventlog::{streams, EventLog, Upcasters};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Partitions of each topic the benches' in-process Kafka log makes.
pub(crate) const BENCH_PARTITIONS: u32 = 6;

/// A command API in this process on a fresh embedded log (or on `kafka`), the demo company
/// seeded, rate limits off: its URL, the log's directory and what it runs on.
pub(crate) async fn start_server(
    kafka: Option<String>,
) -> anyhow::Result<(String, Option<tempfile::TempDir>, &'static str)> {
    let kafka_log = kafka.is_some();
    let (log, dir, label): (Arc<dyn EventLog>, _, _) = match kafka {
        Some(brokers) => {
            let mut config = KafkaConfig::local(
                brokers,
                format!("bench{}", uuid::Uuid::now_v7().simple()),
                &streams::ALL,
            );
            config.partitions = BENCH_PARTITIONS;
            let log = KafkaLog::connect(config, Upcasters::default())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            while log.owned_partitions().len() < BENCH_PARTITIONS as usize * streams::ALL.len() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (Arc::new(log), None, "kafka (in-process server)")
        }
        None => {
            let dir = tempfile::tempdir_in(".").context("temp dir for the bench log")?;
            let log = EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default())?;
            (Arc::new(log), Some(dir), "embedded log (in-process server)")
        }
    };
    let signer = LocalSigner::from_seed(&[9; 32], "erp-embedded", "erp");
    let auth = AuthState {
        verifier: signer.verifier(),
        signer: Some(signer),
    };
    let settings = Settings {
        dev_login: true,
        policy: demo_policy(),
        rate_limit: command_api::ratelimit::RateLimit {
            enabled: false,
            ..Default::default()
        },
        admission: bench_admission(kafka_log)?,
        // Attachments beside the embedded log, removed with it; none on a broker (uploads
        // answer 503 there), which the command benches do not send.
        attachments: dir.as_ref().map(|d| {
            Arc::new(infra::attachments::DirStore::new(d.path().join("attachments")))
                as Arc<dyn infra::attachments::AttachmentStore>
        }),
        ..Settings::default()
    };
    println!(
        "admission: {} running, {} waiting at most {} ms (ERP_ADMISSION_* as for the roles)",
        settings.admission.max_in_flight,
        settings.admission.max_queue,
        settings.admission.max_wait.as_millis()
    );
    let (state, router) = command_api::build(log, auth, settings);
    seed_if_empty(&state)
        .await
        .map_err(|e| anyhow::anyhow!("seeding: {}", e.detail))?;
    let app = command_api::Application::bind("127.0.0.1:0".parse()?, router)
        .await?
        .with_front_thread();
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Ok((url, dir, label))
}

/// The admission limits a role on this log would have (`erp up`'s CPU-bound ones on the
/// embedded log) under the roles' own settings (`ERP_ADMISSION_*` set them), so one build can
/// compare sizes.
fn bench_admission(kafka_log: bool) -> anyhow::Result<infra::admission::AdmissionLimits> {
    let base = if kafka_log {
        infra::admission::AdmissionLimits::default()
    } else {
        infra::admission::AdmissionLimits::cpu_bound()
    };
    Ok(crate::settings::Settings::load(None)?.admission.limits(base))
}

/// A dev-login bearer token for `who`.
pub(crate) async fn login(http: &reqwest::Client, url: &str, who: uuid::Uuid) -> anyhow::Result<String> {
    let reply: serde_json::Value = http
        .post(format!("{url}/auth/dev-login"))
        .json(&json!({ "employee_id": who }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    reply["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the dev-login answer")
}

/// One rate's result.
pub(crate) struct Row {
    pub(crate) rate: u32,
    pub(crate) sent: usize,
    /// Answered 2xx (and, for GraphQL, without `errors`).
    pub(crate) ok: usize,
    /// Refused as overload: 503 or 429 (with `Retry-After`).
    pub(crate) shed: usize,
    /// Latency of the successful answers.
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) p999: Duration,
    /// Latency of the refusals: how fast an overloaded server says so.
    pub(crate) shed_p99: Duration,
    /// Successful answers per second.
    pub(crate) achieved: f64,
    /// Requests that waited a millisecond or more in the generator between their scheduled
    /// time and their send — for a connection ([`CONNECTIONS`]) or for the generator's own
    /// threads — and the p99 of those waits: time inside the latencies above that the server
    /// did not spend.
    pub(crate) queued: usize,
    pub(crate) queued_p99: Duration,
}

impl Row {
    /// The columns every open-loop table shares: rate, sent, ok, shed, p50, p99, p99.9 (ms)
    /// and held per second.
    pub(crate) fn columns(&self) -> String {
        format!(
            "{:>7} {:>7} {:>7} {:>7} {:>10.2} {:>10.2} {:>10.2} {:>10.0}",
            self.rate,
            self.sent,
            self.ok,
            self.shed,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.p999.as_secs_f64() * 1e3,
            self.achieved
        )
    }

    /// A line to print under the row when requests waited in the generator before their send.
    pub(crate) fn queue_note(&self) -> Option<String> {
        (self.queued > 0).then(|| {
            format!(
                "        ({} requests waited 1 ms or more in the generator before their send ({CONNECTIONS} connections), p99 {:.2} ms)",
                self.queued,
                self.queued_p99.as_secs_f64() * 1e3
            )
        })
    }
}

/// How long a refusal asks the client to wait (`Retry-After` in seconds), at most `cap`;
/// `otherwise` when it does not say.
pub(crate) fn told_to_wait(response: &reqwest::Response, otherwise: Duration, cap: Duration) -> Duration {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map_or(otherwise, |s| Duration::from_secs(s).min(cap))
}

/// The load generator's HTTP client: it keeps every connection it opens for the next request,
/// up to [`CONNECTIONS`] per server — as many as it ever has busy at once ([`one_rate`]), so
/// none is closed for being one too many. With a lower cap (512), every connection over it was
/// closed as its answer arrived; once answers slowed down under overload, the generator opened
/// new ones for the next requests and closed them again, and on this box the kernel's search
/// for a free port among twenty thousand TIME_WAIT sockets took most of the generator's time
/// — a collapse of the client's own, which the bench then reported as the server's.
pub(crate) fn load_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build()
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Shed,
    Failed,
}

/// How many requests the generator has in flight at most to each server, as an ingress or
/// load balancer keeps a bounded pool of connections to each instance it fronts. A request
/// scheduled while all are busy waits, and the wait counts in its latency (open loop); a row
/// says how many waited ([`Row::queue_note`]). Without a bound, a moment's stall under
/// overload had the generator open thousands of connections at once, and setting them up took
/// the cores the server needed.
pub(crate) const CONNECTIONS: usize = 1024;

/// Runs `rate` requests per second for `seconds`, open loop, at most [`CONNECTIONS`] at once
/// to each server; `request(i)` builds the i-th.
pub(crate) async fn one_rate(rate: u32, seconds: u64, request: impl Fn(usize) -> reqwest::RequestBuilder) -> Row {
    let slots: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>> = Mutex::new(HashMap::new());
    let waits = Arc::new(Mutex::new(Vec::new()));
    let mut row = open_loop(rate, seconds, |i, scheduled| {
        let (client, request) = request(i).build_split();
        let server = request
            .as_ref()
            .map(|r| r.url().authority().to_owned())
            .unwrap_or_default();
        let slot = slots
            .lock()
            .map(|mut s| {
                s.entry(server)
                    .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(CONNECTIONS)))
                    .clone()
            })
            .ok();
        let waits = waits.clone();
        async move {
            let (Some(slot), Ok(request)) = (slot, request) else {
                return Outcome::Failed;
            };
            let Ok(_connection) = slot.acquire_owned().await else {
                return Outcome::Failed;
            };
            let waited = scheduled.elapsed();
            if waited >= Duration::from_millis(1) {
                if let Ok(mut w) = waits.lock() {
                    w.push(waited);
                }
            }
            // Every answer is read to its end while the connection is held, so the connection
            // goes back to the pool rather than being closed with a body unread.
            match client.execute(request).await {
                Ok(r) => {
                    let (status, told) = (r.status(), r.headers().contains_key("retry-after"));
                    match r.bytes().await {
                        // A GraphQL answer with `errors` is a failure even under HTTP 200.
                        Ok(body) if status.is_success() && !body.windows(9).any(|w| w == b"\"errors\":") => Outcome::Ok,
                        Ok(_) if matches!(status.as_u16(), 429 | 503) && told => Outcome::Shed,
                        _ => Outcome::Failed,
                    }
                }
                Err(_) => Outcome::Failed,
            }
        }
    })
    .await;
    let mut waits = waits.lock().map(|w| w.clone()).unwrap_or_default();
    waits.sort();
    row.queued = waits.len();
    row.queued_p99 = waits
        .get(((waits.len() as f64 * 0.99) as usize).min(waits.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default();
    row
}

/// Runs `rate` operations per second for `seconds`, open loop: `start(i, scheduled)` begins the i-th at
/// its scheduled time whether or not earlier ones have ended, and its latency counts from
/// that time. HTTP requests ([`one_rate`]) and a floor's raw operations share it, so their
/// rows compare.
pub(crate) async fn open_loop<F>(rate: u32, seconds: u64, start: impl Fn(usize, Instant) -> F) -> Row
where
    F: std::future::Future<Output = Outcome> + Send + 'static,
{
    let total = (rate as u64 * seconds) as usize;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let began = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = began + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let latencies = latencies.clone();
        let operation = start(i, scheduled);
        tasks.push(tokio::spawn(async move {
            let outcome = operation.await;
            if let Ok(mut l) = latencies.lock() {
                l.push((scheduled.elapsed(), outcome));
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let wall = began.elapsed();
    let all = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let sorted = |want: Outcome| {
        let mut d: Vec<Duration> = all.iter().filter(|(_, o)| *o == want).map(|(d, _)| *d).collect();
        d.sort();
        d
    };
    let (ok, shed) = (sorted(Outcome::Ok), sorted(Outcome::Shed));
    let at = |d: &[Duration], q: f64| {
        d.get(((d.len() as f64 * q) as usize).min(d.len().saturating_sub(1)))
            .copied()
            .unwrap_or(Duration::ZERO)
    };
    Row {
        rate,
        sent: all.len(),
        ok: ok.len(),
        shed: shed.len(),
        p50: at(&ok, 0.5),
        p99: at(&ok, 0.99),
        p999: at(&ok, 0.999),
        shed_p99: at(&shed, 0.99),
        achieved: ok.len() as f64 / wall.as_secs_f64(),
        queued: 0,
        queued_p99: Duration::ZERO,
    }
}

/// The HTTP floor of this box: the same open-loop generator against an axum route that only
/// answers, in the same process — what the machine, the loopback and the client cost before
/// any command is decided.
pub(crate) async fn hello_floor(rates: &[u32], seconds: u64) -> anyhow::Result<()> {
    let app = axum::Router::new().route("/", axum::routing::post(|| async { "{}" }));
    let listener = command_api::edge::listen("127.0.0.1:0".parse()?)?;
    let url = format!("http://127.0.0.1:{}/", listener.local_addr()?.port());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let rates = rates.to_vec();
    on_generator_runtime(async move {
        let http = load_client()?;
        println!("\nfloor, same run: axum hello-world, same generator");
        for rate in rates {
            let row = one_rate(rate, seconds, |_| http.post(&url).body("{}")).await;
            println!("{}", row.columns());
            row.queue_note().into_iter().for_each(|note| println!("{note}"));
        }
        Ok(())
    })
    .await
}

/// Runs the load generator on a runtime of its own, as a client in another process would
/// be: on the in-process server's runtime, each send and each read of an answer waited
/// behind the server's work, and that wait counted in every latency the bench printed.
pub(crate) async fn on_generator_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-generator")
            .enable_all()
            .build()?
            .block_on(work)
    })
    .await?
}

/// The read model's floor: `count` reads of one employee row by primary key, one after
/// another on one read-only connection to the SQLite file at `db` and one prepared
/// statement, all on one (blocking) thread with no hand-off per read, as the store's keyed
/// reads run — what a query costs before HTTP, GraphQL and sign-in. Returns (p50, p99, reads
/// per second).
pub(crate) async fn primary_key_floor(db: &std::path::Path, count: usize) -> anyhow::Result<(Duration, Duration, f64)> {
    let db = db.to_owned();
    tokio::task::spawn_blocking(move || {
        let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM employees")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        anyhow::ensure!(!ids.is_empty(), "no employees in {}", db.display());
        let mut read = conn.prepare("SELECT id, name, email, department, active FROM employees WHERE id = ?")?;
        let mut took = Vec::with_capacity(count);
        let started = Instant::now();
        for i in 0..count {
            let one = Instant::now();
            let row: (String, String, String, Option<String>, i64) = read
                .query_row([&ids[i % ids.len()]], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .context("a seeded employee is missing")?;
            std::hint::black_box(row);
            took.push(one.elapsed());
        }
        let rate = count as f64 / started.elapsed().as_secs_f64();
        took.sort();
        Ok((took[count / 2], took[(count * 99 / 100).min(count - 1)], rate))
    })
    .await?
}

/// `erp up` as a child process on a free port, killed on drop.
pub(crate) struct ChildServer {
    child: tokio::process::Child,
    dir: tempfile::TempDir,
}

impl ChildServer {
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Its data directory (the log, `read.db`, keys).
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Starts `erp up` as a child on a free port and waits until it answers.
pub(crate) async fn start_up_child(settings: &[(&str, &str)]) -> anyhow::Result<(String, ChildServer)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = tempfile::tempdir()?;
    let child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["up", "--port", &port.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("ERP_LOG", "warn")
        .env("ERP_RATE_LIMIT_ENABLED", "false")
        .envs(settings.iter().copied())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting erp up")?;
    let server = ChildServer { child, dir };
    let url = format!("http://127.0.0.1:{port}");
    wait_http(&format!("{url}/healthz"), Duration::from_secs(30)).await?;
    Ok((url, server))
}

/// Polls `url` until it answers 2xx, for up to `within`.
pub(crate) async fn wait_http(url: &str, within: Duration) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let deadline = Instant::now() + within;
    loop {
        if http.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{url} did not answer within {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
