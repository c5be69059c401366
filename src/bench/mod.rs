//! `erp bench commands`: open-loop load on the command API. Requests start on a fixed
//! schedule whether or not earlier ones finished, and latency is measured from the scheduled
//! start, so queueing shows up as latency (no coordinated omission). Prints p50/p99/p99.9 per
//! rate and the highest rate held with p99 ≤ 50 ms.
//!
//! By default it starts its own server in-process on a fresh embedded log; `--kafka` starts
//! it on a broker instead, `--url` drives a server that is already running (with dev login).
//!
//! `erp bench queries` does the same for the GraphQL API (`approval(id)`, `inbox`), against a
//! child `erp up` on a free port unless `--url` names one.
//!
//! The in-process servers run without per-caller rate limits: these benches load the server
//! from two accounts on purpose. `erp bench fuzz` ([`fuzz`]) sends random and
//! mutated requests to every command route and fails on any panic or 5xx.

use anyhow::Context;
use clap::Subcommand;
use command_api::seed::{demo_policy, seed_if_empty};
use command_api::{AuthState, Settings};
use infra::auth::LocalSigner;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
use infra::eventlog::{streams, EventLog, Upcasters};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Open-loop load: drafts and comments, one append each.
    Commands {
        /// Drive a running server (with dev login) instead of starting one.
        #[arg(long)]
        url: Option<String>,
        /// Start the server on this Kafka broker instead of an embedded log.
        #[arg(long)]
        kafka: Option<String>,
        /// With --kafka: run `erp command-api` child processes instead, this many at a time
        /// (e.g. `1,3`), requests spread round robin over all of them (so with 3 instances
        /// two thirds reach a non-owner and are forwarded), beside the raw produce latency of
        /// the same broker.
        #[arg(long, value_delimiter = ',', requires = "kafka")]
        instances: Vec<usize>,
        /// Rates to try, requests per second.
        #[arg(long, value_delimiter = ',', default_value = "100,250,500,1000,1500,2000")]
        rates: Vec<u32>,
        /// Seconds per rate.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Open-loop load on the GraphQL API: `approval(id)` and `inbox(box: PENDING)` at fixed
    /// rates, printing throughput and p50/p99 per query and rate.
    Queries {
        /// Drive a running `erp up` instead of starting one (a child process on a free port).
        #[arg(long)]
        url: Option<String>,
        #[arg(long, value_delimiter = ',', default_value = "250,500,1000,2000")]
        rates: Vec<u32>,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Hold N subscribed graphql-ws connections on a child `erp up`; print server memory per
    /// connection and command → push latency p50/p99.
    Live {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// Approvals timed on the probe connection.
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// Random and mutated requests to every route of an in-process command API; prints the
    /// status histogram and fails (exit 2) on any panic, 5xx or dropped connection.
    Fuzz {
        #[arg(long, default_value_t = 100_000)]
        requests: usize,
        /// The same seed sends the same requests.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Fill an embedded log with approval traffic and time `erp verify`'s checks over it.
    Verify {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
    },
    /// Fill an embedded log with approval traffic and rebuild the approval views into each
    /// store, printing events/s.
    Rebuild {
        /// Events in the log (5 per document).
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Also rebuild into this MySQL/MariaDB database (`mysql://user:pass@host:port/db`).
        #[arg(long)]
        mysql: Option<String>,
        /// Events for the MySQL run (a prefix of the same traffic).
        #[arg(long, default_value_t = 1_000_000)]
        mysql_events: u64,
        /// Also rebuild into this MongoDB-wire server (`mongodb://host:port`).
        #[arg(long)]
        mongo: Option<String>,
        /// Events for the MongoDB run.
        #[arg(long, default_value_t = 1_000_000)]
        mongo_events: u64,
    },
}

pub mod chaos;
mod commands;
mod fuzz;
pub(crate) mod live;
mod queries;
mod rebuild;

pub async fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Commands {
            url,
            kafka,
            instances,
            rates,
            seconds,
        } => match (kafka, instances.is_empty()) {
            (Some(brokers), false) if url.is_none() => {
                commands::spread_commands(&brokers, &instances, &rates, seconds).await
            }
            (kafka, _) => commands::commands(url, kafka, &rates, seconds).await,
        },
        Bench::Queries { url, rates, seconds } => queries::queries(url, &rates, seconds).await,
        Bench::Live { connections, samples } => live::run(connections, samples).await,
        Bench::Verify { events } => rebuild::verify(events).await,
        Bench::Fuzz {
            requests,
            seed,
            concurrency,
        } => fuzz::run(requests, seed, concurrency).await,
        Bench::Rebuild {
            events,
            mysql,
            mysql_events,
            mongo,
            mongo_events,
        } => rebuild::run(events, mysql, mongo, mysql_events, mongo_events).await,
    }
}

pub(crate) async fn start_server(
    kafka: Option<String>,
) -> anyhow::Result<(String, Option<tempfile::TempDir>, &'static str)> {
    let (log, dir, label): (Arc<dyn EventLog>, _, _) = match kafka {
        Some(brokers) => {
            let mut config = KafkaConfig::local(
                brokers,
                format!("bench{}", uuid::Uuid::now_v7().simple()),
                &streams::ALL,
            );
            config.partitions = 6;
            let log = KafkaLog::connect(config, Upcasters::default())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            while log.owned_partitions().len() < 6 * streams::ALL.len() {
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
        ..Settings::default()
    };
    let (state, router) = command_api::build(log, auth, settings);
    seed_if_empty(&state)
        .await
        .map_err(|e| anyhow::anyhow!("seeding: {}", e.detail))?;
    let app = command_api::Application::bind("127.0.0.1:0".parse()?, router).await?;
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Ok((url, dir, label))
}

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

pub(crate) struct Row {
    rate: u32,
    sent: usize,
    /// Answered 2xx (and, for GraphQL, without `errors`).
    ok: usize,
    /// Refused as overload: 503 or 429 (with `Retry-After`).
    shed: usize,
    /// Latency of the successful answers.
    p50: Duration,
    p99: Duration,
    p999: Duration,
    /// Latency of the refusals: how fast an overloaded server says so.
    shed_p99: Duration,
    /// Successful answers per second.
    achieved: f64,
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Shed,
    Failed,
}

/// Runs `rate` requests per second for `seconds`, open loop; `request(i)` builds the i-th.
pub(crate) async fn one_rate(rate: u32, seconds: u64, request: impl Fn(usize) -> reqwest::RequestBuilder) -> Row {
    let total = (rate as u64 * seconds) as usize;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let latencies = latencies.clone();
        let request = request(i);
        tasks.push(tokio::spawn(async move {
            let outcome = match request.send().await {
                // A GraphQL answer with `errors` is a failure even under HTTP 200.
                Ok(r) if r.status().is_success() => match r.bytes().await {
                    Ok(body) if !body.windows(9).any(|w| w == b"\"errors\":") => Outcome::Ok,
                    _ => Outcome::Failed,
                },
                Ok(r) if matches!(r.status().as_u16(), 429 | 503) && r.headers().contains_key("retry-after") => {
                    Outcome::Shed
                }
                _ => Outcome::Failed,
            };
            if let Ok(mut l) = latencies.lock() {
                l.push((scheduled.elapsed(), outcome));
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let wall = start.elapsed();
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
    }
}

/// `erp up` as a child process on a free port, killed on drop.
pub(crate) struct ChildServer {
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl ChildServer {
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

pub(crate) async fn start_up_child() -> anyhow::Result<(String, ChildServer)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = tempfile::tempdir()?;
    let child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["up", "--port", &port.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("ERP_LOG", "warn")
        .env("ERP_RATE_LIMIT_ENABLED", "false")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting erp up")?;
    let server = ChildServer { child, _dir: dir };
    let url = format!("http://127.0.0.1:{port}");
    chaos::cluster::wait_http(&format!("{url}/healthz"), Duration::from_secs(30)).await?;
    Ok((url, server))
}
