//! What a chaos campaign is asked to do — its arguments and the faults it can inject — and
//! the request bound its clients hold the servers to. A leaf of the campaign's modules: the
//! cluster, the load and the checks all read it, and it reads none of them.

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
    pub(crate) fn name(self) -> &'static str {
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
