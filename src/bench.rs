//! `erp bench commands`: drives a running command API open-loop (requests start on a fixed
//! schedule whether or not earlier ones finished, so queueing shows up as latency) and
//! prints p50/p99/p99.9 per rate and the highest rate held with p99 ≤ 50 ms.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Open-loop load against `erp up` (or a command API with dev login).
    Commands {
        /// Base URL of the API.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Rates to try, requests per second.
        #[arg(long, value_delimiter = ',', default_value = "100,250,500,1000,2000")]
        rates: Vec<u32>,
        /// Seconds per rate.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

pub async fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Commands { url, rates, seconds } => commands(&url, &rates, seconds).await,
    }
}

async fn commands(_url: &str, _rates: &[u32], _seconds: u64) -> anyhow::Result<()> {
    anyhow::bail!("not wired yet")
}
