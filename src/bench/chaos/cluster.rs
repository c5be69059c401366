//! The processes of the campaign and the faults done to them: each is a child process with its
//! output appended to `WORK_DIR/NAME.log`, signalled with kill(1).

use super::plan::Fault;
use crate::bench::harness::{login, wait_http};
use anyhow::Context;
use command_api::seed::DEV_KANG;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Command API slots beyond the steady instances: they join and leave.
const EXTRA: usize = 2;

/// Partitions per stream type of the cluster's topics (`ERP_KAFKA_PARTITIONS`).
const PARTITIONS: u32 = 6;

/// Whether a cluster of `instances` command instances can divide its partitions, each owning
/// some: one past the partition count would own none, and the cluster would never count as
/// steady ([`Cluster::await_steady`]).
pub(crate) fn fits(instances: usize) -> anyhow::Result<()> {
    let partitions = PARTITIONS as usize * infra::eventlog::streams::ALL.len();
    anyhow::ensure!(instances >= 1, "--instances counts must be at least 1");
    anyhow::ensure!(
        instances <= partitions,
        "{instances} command instances: the writer group divides {partitions} partitions, so the ones past that would own none"
    );
    Ok(())
}

/// What to start, and where.
pub(crate) struct Layout {
    pub work: PathBuf,
    /// First of the loopback ports used (about 40 from here).
    pub base_port: u16,
    pub broker: BrokerAt,
    /// The projector and the query API, when given their stores.
    pub read_side: Option<ReadSide>,
    /// Command API instances that run throughout.
    pub instances: usize,
}

pub(crate) enum BrokerAt {
    /// Start this broker binary (nisshi) on the sqlite engine, so it can be restarted.
    Spawn(PathBuf),
    /// Use a running broker, `host:port`.
    Running(String),
}

pub(crate) struct ReadSide {
    pub mysql: String,
    pub mongo: String,
    pub redis: String,
}

/// A child process, killed when dropped.
pub(crate) struct Proc {
    name: String,
    child: tokio::process::Child,
}

impl Proc {
    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self.child.id().context("process already ended")?;
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .context("running kill")?;
        anyhow::ensure!(status.success(), "kill -{signal} {} failed", self.name);
        Ok(())
    }

    async fn kill9(mut self) {
        let _ = self.signal("KILL");
        let _ = self.child.wait().await;
    }

    /// SIGTERM, and SIGKILL when it has not ended 15 s later.
    async fn terminate(mut self) {
        let _ = self.signal("TERM");
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            self.kill9().await;
        }
    }
}

pub(crate) struct Cluster {
    erp: PathBuf,
    work: PathBuf,
    broker_bin: Option<PathBuf>,
    steady: usize,
    ports: Ports,
    env: Vec<(String, String)>,
    broker: Option<Proc>,
    idp: Option<Proc>,
    commands: Vec<Option<Proc>>,
    projector: Option<Proc>,
    query: Option<Proc>,
    /// Public URLs of the command instances a load balancer would send to now.
    pub(crate) rotation: Arc<RwLock<Vec<String>>>,
}

#[derive(Clone, Copy)]
struct Ports {
    base: u16,
}

impl Ports {
    fn idp(self) -> u16 {
        self.base
    }
    fn broker(self) -> u16 {
        self.base + 1
    }
    fn projector(self) -> u16 {
        self.base + 2
    }
    fn query(self) -> u16 {
        self.base + 3
    }
    fn command(self, slot: usize) -> u16 {
        self.base + 10 + slot as u16
    }
    fn internal(self, slot: usize) -> u16 {
        self.base + 30 + slot as u16
    }
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

impl Cluster {
    pub(crate) async fn start(layout: Layout) -> anyhow::Result<Self> {
        fits(layout.instances)?;
        let ports = Ports { base: layout.base_port };
        let run = uuid::Uuid::now_v7().simple().to_string();
        let prefix = format!("chaos{}", &run[run.len() - 8..]);
        let (broker_bin, brokers) = match layout.broker {
            BrokerAt::Spawn(bin) => (Some(bin), format!("127.0.0.1:{}", ports.broker())),
            BrokerAt::Running(brokers) => (None, brokers),
        };
        let mut env: Vec<(String, String)> = [
            ("ERP_LOG", "warn,erp=info,infra=info"),
            ("NO_COLOR", "1"),
            ("ERP_KAFKA_BROKERS", &brokers),
            ("ERP_KAFKA_PREFIX", &prefix),
            ("ERP_KAFKA_PARTITIONS", &PARTITIONS.to_string()),
            ("ERP_INTERNAL_TOKEN", &format!("chaos-{run}")),
            ("ERP_JWKS_URL", &format!("{}/.well-known/jwks.json", url(ports.idp()))),
            ("ERP_RATE_LIMIT_ENABLED", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if broker_bin.is_some() {
            // The restartable broker keeps records in sqlite, where every fetch is a query:
            // idle consumers polling every 10 ms would load it more than the traffic does.
            env.push(("ERP_KAFKA_FETCH_WAIT_MS".to_owned(), "50".to_owned()));
        }
        if let Some(read) = &layout.read_side {
            for (k, v) in [
                ("ERP_MYSQL_URL", read.mysql.clone()),
                ("ERP_MONGO_URL", read.mongo.clone()),
                ("ERP_MONGO_DB", prefix.clone()),
                ("ERP_REDIS_URL", read.redis.clone()),
                ("ERP_REDIS_CHANNEL", format!("{prefix}.changes")),
            ] {
                env.push((k.to_owned(), v));
            }
        }
        let mut cluster = Self {
            erp: std::env::current_exe()?,
            work: std::fs::canonicalize(&layout.work)?,
            broker_bin,
            steady: layout.instances,
            ports,
            env,
            broker: None,
            idp: None,
            commands: (0..layout.instances + EXTRA).map(|_| None).collect(),
            projector: None,
            query: None,
            rotation: Arc::default(),
        };
        println!(
            "== starting: {}identity provider, {} command API(s){} (prefix {prefix})",
            if cluster.broker_bin.is_some() { "broker, " } else { "" },
            layout.instances,
            if layout.read_side.is_some() {
                ", projector, query API"
            } else {
                ""
            },
        );
        if cluster.broker_bin.is_some() {
            cluster.start_broker().await?;
        }
        cluster.start_idp().await?;
        cluster.start_command(0, true).await?;
        for slot in 1..layout.instances {
            cluster.start_command(slot, false).await?;
        }
        if layout.read_side.is_some() {
            cluster.start_projector().await?;
            let query = cluster.spawn("query-api", &["query-api"], &[("ERP_BIND", bind(ports.query()))])?;
            cluster.query = Some(query);
            wait_http(&format!("{}/healthz", url(ports.query())), Duration::from_secs(60)).await?;
        }
        cluster.await_steady(Duration::from_secs(90)).await?;
        Ok(cluster)
    }

    pub(crate) fn idp_url(&self) -> String {
        url(self.ports.idp())
    }

    pub(crate) fn query_url(&self) -> String {
        url(self.ports.query())
    }

    pub(crate) fn projector_url(&self) -> String {
        url(self.ports.projector())
    }

    /// Public URLs of the instances that run throughout.
    pub(crate) fn steady_urls(&self) -> Vec<String> {
        (0..self.steady).map(|slot| url(self.ports.command(slot))).collect()
    }

    /// The environment the roles run with, for `erp verify`, `export` and `replay`.
    pub(crate) fn env(&self) -> &[(String, String)] {
        &self.env
    }

    pub(crate) fn erp(&self) -> &std::path::Path {
        &self.erp
    }

    fn spawn(&self, name: &str, args: &[&str], extra: &[(&str, String)]) -> anyhow::Result<Proc> {
        self.spawn_program(name, &self.erp, args, extra)
    }

    fn spawn_program(
        &self,
        name: &str,
        program: &std::path::Path,
        args: &[&str],
        extra: &[(&str, String)],
    ) -> anyhow::Result<Proc> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.work.join(format!("{name}.log")))?;
        let child = tokio::process::Command::new(program)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(&self.work)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        Ok(Proc {
            name: name.to_owned(),
            child,
        })
    }

    /// The broker on the sqlite engine: what it acknowledged survives its restart.
    async fn start_broker(&mut self) -> anyhow::Result<()> {
        let listener = format!("tcp://127.0.0.1:{}", self.ports.broker());
        let bin = self
            .broker_bin
            .clone()
            .context("this campaign uses a broker it did not start")?;
        let broker = self.spawn_program(
            "broker",
            &bin,
            &[
                "broker",
                "--listener-url",
                &listener,
                "--advertised-listener-url",
                &listener,
                "--storage-engine",
                "sqlite://broker.db",
                "--group-initial-rebalance-delay",
                "0s",
                "--silent",
            ],
            &[],
        )?;
        self.broker = Some(broker);
        wait_tcp(self.ports.broker(), Duration::from_secs(30)).await
    }

    async fn start_idp(&mut self) -> anyhow::Result<()> {
        let idp = self.spawn(
            "idp",
            &["up", "--port", &self.ports.idp().to_string(), "--data-dir", "idp-data"],
            &[],
        )?;
        self.idp = Some(idp);
        wait_http(&format!("{}/healthz", self.idp_url()), Duration::from_secs(60)).await
    }

    async fn start_command(&mut self, slot: usize, seed: bool) -> anyhow::Result<()> {
        let name = format!("command-{}", slot + 1);
        let mut args = vec!["command-api"];
        if seed {
            args.push("--seed-demo");
        }
        let extra = [
            ("ERP_BIND", bind(self.ports.command(slot))),
            ("ERP_INTERNAL_BIND", bind(self.ports.internal(slot))),
            ("ERP_ADVERTISED_URL", url(self.ports.internal(slot))),
            ("ERP_INSTANCE_ID", name.clone()),
        ];
        let proc = self.spawn(&name, &args, &extra)?;
        self.commands[slot] = Some(proc);
        let public = url(self.ports.command(slot));
        wait_http(&format!("{public}/healthz"), Duration::from_secs(60)).await?;
        self.enter_rotation(&public);
        Ok(())
    }

    async fn start_projector(&mut self) -> anyhow::Result<()> {
        let projector = self.spawn(
            "projector",
            &["projector"],
            &[("ERP_BIND", bind(self.ports.projector()))],
        )?;
        self.projector = Some(projector);
        wait_http(&format!("{}/healthz", self.projector_url()), Duration::from_secs(60)).await
    }

    fn enter_rotation(&self, public: &str) {
        if let Ok(mut rotation) = self.rotation.write() {
            if !rotation.iter().any(|u| u == public) {
                rotation.push(public.to_owned());
            }
        }
    }

    /// What a load balancer's health check does once an instance stops answering.
    fn leave_rotation(&self, slot: usize) {
        let public = url(self.ports.command(slot));
        if let Ok(mut rotation) = self.rotation.write() {
            rotation.retain(|u| *u != public);
        }
    }

    /// Injects `fault` during a phase of `length`; returns once the fault is over.
    pub(crate) async fn inject(&mut self, fault: Fault, length: Duration) -> anyhow::Result<()> {
        let settle = length / 6;
        let half = length / 2;
        tokio::time::sleep(settle).await;
        match fault {
            Fault::Baseline => {}
            Fault::Kill9 => {
                let victim = 1.min(self.steady - 1);
                println!("   kill -9 command-{}", victim + 1);
                if let Some(proc) = self.commands[victim].take() {
                    proc.kill9().await;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                self.leave_rotation(victim);
                tokio::time::sleep(half.saturating_sub(settle)).await;
                println!("   command-{} restarted", victim + 1);
                self.start_command(victim, false).await?;
            }
            Fault::Pause => {
                let victim = 2.min(self.steady - 1);
                // Past the writer group's session timeout (6 s): its partitions move while it sleeps.
                let paused = Duration::from_secs(10);
                println!("   SIGSTOP command-{} for {} s", victim + 1, paused.as_secs());
                if let Some(proc) = &self.commands[victim] {
                    proc.signal("STOP")?;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                self.leave_rotation(victim);
                tokio::time::sleep(paused - Duration::from_secs(1)).await;
                if let Some(proc) = &self.commands[victim] {
                    proc.signal("CONT")?;
                }
                println!("   SIGCONT command-{}", victim + 1);
                self.enter_rotation(&url(self.ports.command(victim)));
            }
            Fault::JoinLeave => {
                println!("   command-4 and command-5 join");
                let (a, b) = (self.steady, self.steady + 1);
                self.start_command(a, false).await?;
                self.start_command(b, false).await?;
                tokio::time::sleep(half.saturating_sub(settle)).await;
                println!("   command-4 and command-5 leave");
                self.leave_rotation(a);
                self.leave_rotation(b);
                let (pa, pb) = (self.commands[a].take(), self.commands[b].take());
                tokio::join!(
                    async {
                        if let Some(p) = pa {
                            p.terminate().await;
                        }
                    },
                    async {
                        if let Some(p) = pb {
                            p.terminate().await;
                        }
                    }
                );
            }
            Fault::Broker => {
                println!("   kill -9 broker");
                if let Some(proc) = self.broker.take() {
                    proc.kill9().await;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
                println!("   broker restarted");
                self.start_broker().await?;
            }
            Fault::Projector => {
                println!("   kill -9 projector");
                if let Some(proc) = self.projector.take() {
                    proc.kill9().await;
                }
                tokio::time::sleep(half.saturating_sub(settle)).await;
                println!("   projector restarted");
                self.start_projector().await?;
            }
        }
        Ok(())
    }

    /// Waits until every steady instance answers a signed-in request (`/api/me` loads the
    /// caller's stream, so it needs that stream's owner) and the steady instances have divided
    /// the partitions: together they own every one, each restored, and each owns its share. On
    /// a fresh cluster the first instance to join owns them all for a moment, and a load begun
    /// then meets the handover's 503s and counts them as refusals; after the faults, an
    /// instance that owns nothing was fenced out of the writer group and never came back.
    pub(crate) async fn await_steady(&self, within: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        let token = login(&http, &self.idp_url(), DEV_KANG.0).await?;
        let deadline = Instant::now() + within;
        for public in self.steady_urls() {
            loop {
                let answer = http.get(format!("{public}/api/me")).bearer_auth(&token).send().await;
                if answer.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "{public} did not answer /api/me within {within:?}"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        loop {
            let mut owned = Vec::new();
            for public in self.steady_urls() {
                owned.push(ownership(&http, &public).await);
            }
            if divided(&owned) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the steady instances did not divide the partitions within {within:?}: {owned:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub(crate) async fn stop_all(&mut self) {
        let mut all: Vec<Proc> = self.commands.iter_mut().filter_map(Option::take).collect();
        all.extend(self.projector.take());
        all.extend(self.query.take());
        all.extend(self.idp.take());
        futures::future::join_all(all.into_iter().map(Proc::terminate)).await;
        if let Some(broker) = self.broker.take() {
            broker.terminate().await;
        }
    }
}

/// What one instance's `/metrics` says it owns: partitions owned and restored, partitions
/// there are, partitions assigned and not ready. `None` while it does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ownership {
    owned: u64,
    total: u64,
    not_ready: u64,
}

async fn ownership(http: &reqwest::Client, public: &str) -> Option<Ownership> {
    let text = http
        .get(format!("{public}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let gauge = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
            .map(|v| v as u64)
    };
    Some(Ownership {
        owned: gauge("erp_eventlog_partitions_owned")?,
        total: gauge("erp_eventlog_partitions_total")?,
        not_ready: gauge("erp_eventlog_partitions_not_ready")?,
    })
}

/// Whether the instances, all answering, own every partition between them, each its share
/// (there are more partitions than instances), none waiting on a restore.
fn divided(instances: &[Option<Ownership>]) -> bool {
    let Some(all) = instances.iter().copied().collect::<Option<Vec<_>>>() else {
        return false;
    };
    let total = all.first().map_or(0, |o| o.total);
    total > 0
        && all.iter().all(|o| o.total == total && o.owned > 0 && o.not_ready == 0)
        && all.iter().map(|o| o.owned).sum::<u64>() == total
}

fn bind(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

async fn wait_tcp(port: u16, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "nothing listened on 127.0.0.1:{port} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{divided, Ownership};

    fn owns(owned: u64, not_ready: u64) -> Option<Ownership> {
        Some(Ownership {
            owned,
            total: 42,
            not_ready,
        })
    }

    #[test]
    fn the_partitions_are_divided_once_the_instances_own_all_of_them_restored() {
        assert!(divided(&[owns(21, 0), owns(21, 0)]));
        assert!(
            !divided(&[owns(42, 0), owns(0, 0)]),
            "the first to join holds them all, or the other was fenced out"
        );
        assert!(
            !divided(&[owns(20, 0), owns(21, 0)]),
            "one partition is still restoring"
        );
        assert!(!divided(&[owns(21, 1), owns(21, 0)]), "a partition is stuck restoring");
        assert!(!divided(&[owns(42, 0), None]), "an instance does not answer");
        assert!(!divided(&[]));
    }
}
