//! `erp chaos`: the fault campaign of the distributed command side, on real processes.
//!
//! It starts a Kafka-protocol broker on a persistent engine (so that it can be restarted), an
//! identity provider (`erp up`, for its JWKS and dev login), three `erp command-api`
//! instances, the projector and the query API on the MariaDB, MongoDB-wire and Redis servers it
//! is given ([`cluster`]). Then it drives open-loop load ([`load`]): documents are drafted,
//! commented, submitted and decided on a fixed schedule, every command with an
//! Idempotency-Key, spread over all instances so that most requests are forwarded to the
//! owner of their stream; a quarter of the documents are decided by a race of 승인 and 반려
//! sent at once to two instances. Each phase injects one fault while the load runs:
//!
//! | phase | fault |
//! |---|---|
//! | `baseline` | none |
//! | `kill-9` | an instance killed, restarted half-way (it joins again) |
//! | `pause` | an instance stopped (SIGSTOP) past the group session, then continued |
//! | `join-leave` | two instances join at once, and leave at once half-way |
//! | `broker` | the broker killed and restarted on its data |
//! | `projector` | the projector killed, restarted half-way |
//!
//! A client retries what it could not confirm (refused connection, timeout, 503) with the same
//! key on the next instance, as a real one would; a command counts as acknowledged when an
//! attempt answered 2xx. After the last phase the load stops and [`checks`] asks of the result:
//! every acknowledged command is in `erp export` at its version under its command id; no
//! command id was applied twice; each race has exactly one winner; every instance answers
//! every document at the log's version and accepts a write to it (no stream stuck at 409/503);
//! no attempt outlived the request bound; document numbers are unique and gap-free; `erp
//! verify` and `erp replay diff` exit 0. It prints one table row per fault and exits 1 when
//! any check fails.

mod checks;
pub(crate) mod cluster;
mod load;

use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// The Kafka-protocol broker binary (nisshi), started and restarted by the campaign.
    #[arg(long, env = "ERP_CHAOS_BROKER")]
    pub broker_bin: PathBuf,
    /// A MySQL/MariaDB database for the projector (`mysql://user:pass@host:port/db`, must exist).
    #[arg(long)]
    pub mysql: String,
    /// A MongoDB(-wire) server (`mongodb://host:port`).
    #[arg(long)]
    pub mongo: String,
    /// A Redis server (`redis://host:port`).
    #[arg(long)]
    pub redis: String,
    /// Where logs and the broker's data go.
    #[arg(long)]
    pub work_dir: PathBuf,
    /// Seconds of load per phase.
    #[arg(long, default_value_t = 30)]
    pub phase_seconds: u64,
    /// Documents started per second (each is 4–5 commands).
    #[arg(long, default_value_t = 4)]
    pub rate: u32,
    /// Phases to run, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "baseline,kill-9,pause,join-leave,broker,projector"
    )]
    pub faults: Vec<Fault>,
    /// First of the loopback ports the campaign uses (about 40 from here).
    #[arg(long, default_value_t = 29_500)]
    pub base_port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    Baseline,
    #[value(name = "kill-9")]
    Kill9,
    Pause,
    JoinLeave,
    Broker,
    Projector,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Baseline => "baseline",
            Fault::Kill9 => "kill-9",
            Fault::Pause => "pause",
            Fault::JoinLeave => "join-leave",
            Fault::Broker => "broker",
            Fault::Projector => "projector",
        }
    }
}

/// The command API's request bound (`request_timeout_secs`) plus slack: an attempt with no
/// answer by then hung.
pub(crate) const REQUEST_BOUND: Duration = Duration::from_secs(35);

pub async fn run(args: ChaosArgs) -> anyhow::Result<bool> {
    std::fs::create_dir_all(&args.work_dir).with_context(|| format!("creating {}", args.work_dir.display()))?;
    let mut cluster = cluster::Cluster::start(cluster::Layout {
        work: args.work_dir.clone(),
        base_port: args.base_port,
        broker: cluster::BrokerAt::Spawn(args.broker_bin.clone()),
        read_side: Some(cluster::ReadSide {
            mysql: args.mysql.clone(),
            mongo: args.mongo.clone(),
            redis: args.redis.clone(),
        }),
        instances: 3,
    })
    .await?;
    let outcome = campaign(&args, &mut cluster).await;
    cluster.stop_all().await;
    outcome
}

async fn campaign(args: &ChaosArgs, cluster: &mut cluster::Cluster) -> anyhow::Result<bool> {
    let driver = load::Driver::new(cluster).await?;
    let phase_length = Duration::from_secs(args.phase_seconds);
    for (index, &fault) in args.faults.iter().enumerate() {
        println!("== phase {}: {} ({} s)", index + 1, fault.name(), args.phase_seconds);
        let load = driver.run_phase(index, args.rate, phase_length);
        let inject = cluster.inject(fault, phase_length);
        let (sent, injected) = tokio::join!(load, inject);
        injected.with_context(|| format!("injecting {}", fault.name()))?;
        println!("   {sent} documents started");
    }
    println!("== settling: waiting for every started document's commands to end");
    driver.finish().await;
    cluster.await_steady(Duration::from_secs(90)).await?;
    let report = checks::run(args, cluster, &driver).await?;
    report.print(&args.faults);
    Ok(report.passed())
}
