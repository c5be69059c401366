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

use clap::Subcommand;

pub use commands::Mix;

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Open-loop load: drafts and comments (or check-ins and check-outs), one append each.
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
        /// What to send.
        #[arg(long, value_enum, default_value_t = Mix::Approvals)]
        mix: Mix,
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
        /// Hire this many employees and spread the connections over them (with as many as
        /// connections, each connection is an employee of its own, as in an office); 0 spreads
        /// them over five demo employees, so one approval reaches a fifth of them.
        #[arg(long, default_value_t = 0)]
        employees: usize,
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
    /// The monthly attendance report of one department of `employees` members (a month of
    /// work days each), from the employee read model: p50/p99 beside a primary-key read.
    Report {
        #[arg(long, default_value_t = 1_000)]
        employees: usize,
        /// Also measure on this MySQL/MariaDB database (`mysql://user:pass@host:port/db`).
        #[arg(long)]
        mysql: Option<String>,
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
pub(crate) mod harness;
pub(crate) mod live;
mod queries;
mod rebuild;
mod report;

pub async fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Commands {
            url,
            kafka,
            instances,
            mix,
            rates,
            seconds,
        } => match (kafka, instances.is_empty()) {
            (Some(brokers), false) if url.is_none() => {
                commands::spread_commands(&brokers, &instances, mix, &rates, seconds).await
            }
            (kafka, _) => commands::commands(url, kafka, mix, &rates, seconds).await,
        },
        Bench::Queries { url, rates, seconds } => queries::queries(url, &rates, seconds).await,
        Bench::Live {
            connections,
            samples,
            employees,
        } => live::run(connections, samples, employees).await,
        Bench::Verify { events } => rebuild::verify(events).await,
        Bench::Report { employees, mysql } => report::run(employees, mysql).await,
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
