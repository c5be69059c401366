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
mod plan;

pub use plan::ChaosArgs;

use anyhow::Context;
use std::time::Duration;

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
