//! Settings of the distributed roles: a TOML file (optional) overlaid by `ERP_*` environment
//! variables, with defaults for servers on 127.0.0.1.
//!
//! | key | env | default |
//! |---|---|---|
//! | `bind` | `ERP_BIND` | `127.0.0.1:8081` |
//! | `instance_id` | `ERP_INSTANCE_ID` | random |
//! | `cors_origins` | `ERP_CORS_ORIGINS` (comma-separated) | `http://localhost:5173` |
//! | `kafka.brokers` | `ERP_KAFKA_BROKERS` | `127.0.0.1:9092` |
//! | `kafka.prefix` | `ERP_KAFKA_PREFIX` | `erp` |
//! | `kafka.partitions` | `ERP_KAFKA_PARTITIONS` | `12` |
//! | `kafka.replication` | `ERP_KAFKA_REPLICATION` | `1` |
//! | `kafka.append_timeout_ms` | `ERP_KAFKA_APPEND_TIMEOUT_MS` | `10000`: an append not acknowledged by then answers 503 |
//! | `kafka.fetch_wait_ms` | `ERP_KAFKA_FETCH_WAIT_MS` | `10`: the longest a fetch waits for data (brokers that do not wake a waiting fetch on new data make it the floor of end-to-end latency; every idle consumer sends a fetch this often) |
//! | `request_timeout_secs` | `ERP_REQUEST_TIMEOUT_SECS` | `30`: command-api answers 503 past it; keep it above ownership wait (15 s) + append timeout |
//! | `internal_bind` | `ERP_INTERNAL_BIND` | `127.0.0.1:8091` (command-api: peers' `/internal/log`) |
//! | `advertised_url` | `ERP_ADVERTISED_URL` | none (no forwarding to this instance); the internal listener's URL |
//! | `internal_token` | `ERP_INTERNAL_TOKEN` | none (no internal listener); must not be empty |
//! | `peer_allowlist` | `ERP_PEER_ALLOWLIST` (comma-separated) | none; loopback too when `internal_bind` is loopback |
//! | `rate_limit.enabled` | `ERP_RATE_LIMIT_ENABLED` | `true` |
//! | `rate_limit.burst` | `ERP_RATE_LIMIT_BURST` | `200` requests per caller |
//! | `rate_limit.per_second` | `ERP_RATE_LIMIT_PER_SECOND` | `50` requests per caller |
//! | `auth.jwks_url` | `ERP_JWKS_URL` | none: required by command-api, query-api, notifier; https unless loopback |
//! | `auth.jwks_refresh_secs` | `ERP_JWKS_REFRESH_SECS` | `300` |
//! | `auth.issuer` | `ERP_JWT_ISSUER` | `erp-embedded` |
//! | `auth.audience` | `ERP_JWT_AUDIENCE` | `erp` |
//! | `read_model.mysql_url` | `ERP_MYSQL_URL` | `mysql://erp:erp@127.0.0.1:3306/erp` |
//! | `read_model.mongo_url` | `ERP_MONGO_URL` | `mongodb://127.0.0.1:27017` |
//! | `read_model.mongo_database` | `ERP_MONGO_DB` | `erp` |
//! | `read_model.redis_url` | `ERP_REDIS_URL` | `redis://127.0.0.1:6379` |
//! | `read_model.redis_channel` | `ERP_REDIS_CHANNEL` | `erp.changes` |
//! | `projector.shared` | `ERP_PROJECTOR_SHARED` | `true`: `erp projector` instances share each projection's partitions through a consumer group |
//! | `projector.group` | `ERP_PROJECTOR_GROUP` | `{kafka.prefix}.projector`; projection `p` joins `{group}.{p}`. Instances writing *other* stores need another group |

use anyhow::Context;
use command_api::ratelimit::RateLimit;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub bind: SocketAddr,
    pub instance_id: Option<String>,
    pub cors_origins: Vec<String>,
    /// The command role's internal listener, for peers only (`/internal/log`).
    pub internal_bind: SocketAddr,
    pub advertised_url: Option<String>,
    pub internal_token: Option<String>,
    /// Addresses (IPs, CIDRs, host names) announced owners may have: the internal token is
    /// sent nowhere else.
    pub peer_allowlist: Vec<String>,
    pub rate_limit: RateLimit,
    /// The command role answers 503 to a request still running after this many seconds.
    pub request_timeout_secs: u64,
    pub kafka: Kafka,
    pub auth: Auth,
    pub read_model: ReadModel,
    pub projector: ProjectorSettings,
}

/// How `erp projector` instances divide the work.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectorSettings {
    /// Share each projection's partitions with the other instances of the group (each
    /// partition projected by one of them at a time, positioned from the stores). Off, every
    /// instance projects every partition: run one instance only then.
    pub shared: bool,
    /// The consumer group base name; `{kafka.prefix}.projector` when unset. It names one set
    /// of read-model stores: instances writing other stores from the same Kafka must use
    /// another, or they would split the partitions with these.
    pub group: Option<String>,
}

impl Default for ProjectorSettings {
    fn default() -> Self {
        Self {
            shared: true,
            group: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadModel {
    pub mysql_url: String,
    pub mongo_url: String,
    pub mongo_database: String,
    /// The change bus between projector and notifiers.
    pub redis_url: String,
    pub redis_channel: String,
}

impl Default for ReadModel {
    fn default() -> Self {
        Self {
            mysql_url: "mysql://erp:erp@127.0.0.1:3306/erp".into(),
            mongo_url: "mongodb://127.0.0.1:27017".into(),
            mongo_database: "erp".into(),
            redis_url: "redis://127.0.0.1:6379".into(),
            redis_channel: "erp.changes".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kafka {
    pub brokers: String,
    pub prefix: String,
    pub partitions: u32,
    pub replication: i32,
    /// How long an append waits for the broker's acknowledgement before it answers 503.
    pub append_timeout_ms: u64,
    /// The longest a fetch waits for data (`fetch.wait.max.ms`).
    pub fetch_wait_ms: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// The identity provider's key set. No default: a role that checks tokens must be told
    /// whose keys to trust.
    pub jwks_url: Option<String>,
    /// How often the key set is fetched again (a withdrawn key stops verifying then).
    pub jwks_refresh_secs: u64,
    pub issuer: String,
    pub audience: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            instance_id: None,
            cors_origins: vec!["http://localhost:5173".into()],
            internal_bind: SocketAddr::from(([127, 0, 0, 1], 8091)),
            advertised_url: None,
            internal_token: None,
            peer_allowlist: Vec::new(),
            rate_limit: RateLimit::default(),
            request_timeout_secs: 30,
            kafka: Kafka::default(),
            auth: Auth::default(),
            read_model: ReadModel::default(),
            projector: ProjectorSettings::default(),
        }
    }
}

impl Default for Kafka {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            prefix: "erp".into(),
            partitions: 12,
            replication: 1,
            append_timeout_ms: 10_000,
            fetch_wait_ms: 10,
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            jwks_url: None,
            jwks_refresh_secs: 300,
            issuer: "erp-embedded".into(),
            audience: "erp".into(),
        }
    }
}

impl Settings {
    /// File first (if any), then environment variables on top.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut settings = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Settings::default(),
        };
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("ERP_BIND") {
            settings.bind = v.parse().with_context(|| format!("ERP_BIND={v} is not host:port"))?;
        }
        if let Some(v) = env("ERP_INSTANCE_ID") {
            settings.instance_id = Some(v);
        }
        if let Some(v) = env("ERP_CORS_ORIGINS") {
            settings.cors_origins = v.split(',').map(|s| s.trim().to_owned()).collect();
        }
        if let Some(v) = env("ERP_INTERNAL_BIND") {
            settings.internal_bind = v
                .parse()
                .with_context(|| format!("ERP_INTERNAL_BIND={v} is not host:port"))?;
        }
        if let Some(v) = env("ERP_PEER_ALLOWLIST") {
            settings.peer_allowlist = v.split(',').map(|s| s.trim().to_owned()).collect();
        }
        settings.rate_limit = rate_limit_from_env(settings.rate_limit)?;
        if let Some(v) = env("ERP_ADVERTISED_URL") {
            settings.advertised_url = Some(v);
        }
        if let Some(v) = env("ERP_INTERNAL_TOKEN") {
            settings.internal_token = Some(v);
        }
        if let Some(v) = env("ERP_KAFKA_BROKERS") {
            settings.kafka.brokers = v;
        }
        if let Some(v) = env("ERP_KAFKA_PREFIX") {
            settings.kafka.prefix = v;
        }
        if let Some(v) = env("ERP_KAFKA_PARTITIONS") {
            settings.kafka.partitions = v.parse().with_context(|| format!("ERP_KAFKA_PARTITIONS={v}"))?;
        }
        if let Some(v) = env("ERP_KAFKA_REPLICATION") {
            settings.kafka.replication = v.parse().with_context(|| format!("ERP_KAFKA_REPLICATION={v}"))?;
        }
        if let Some(v) = env("ERP_KAFKA_APPEND_TIMEOUT_MS") {
            settings.kafka.append_timeout_ms = v.parse().with_context(|| format!("ERP_KAFKA_APPEND_TIMEOUT_MS={v}"))?;
        }
        if let Some(v) = env("ERP_KAFKA_FETCH_WAIT_MS") {
            settings.kafka.fetch_wait_ms = v.parse().with_context(|| format!("ERP_KAFKA_FETCH_WAIT_MS={v}"))?;
        }
        if let Some(v) = env("ERP_REQUEST_TIMEOUT_SECS") {
            settings.request_timeout_secs = v.parse().with_context(|| format!("ERP_REQUEST_TIMEOUT_SECS={v}"))?;
        }
        anyhow::ensure!(
            settings.kafka.append_timeout_ms > 0 && settings.request_timeout_secs > 0,
            "kafka.append_timeout_ms and request_timeout_secs must be positive"
        );
        if let Some(v) = env("ERP_MYSQL_URL") {
            settings.read_model.mysql_url = v;
        }
        if let Some(v) = env("ERP_MONGO_URL") {
            settings.read_model.mongo_url = v;
        }
        if let Some(v) = env("ERP_MONGO_DB") {
            settings.read_model.mongo_database = v;
        }
        if let Some(v) = env("ERP_REDIS_URL") {
            settings.read_model.redis_url = v;
        }
        if let Some(v) = env("ERP_REDIS_CHANNEL") {
            settings.read_model.redis_channel = v;
        }
        if let Some(v) = env("ERP_PROJECTOR_SHARED") {
            settings.projector.shared = v
                .parse()
                .with_context(|| format!("ERP_PROJECTOR_SHARED={v} is not true or false"))?;
        }
        if let Some(v) = env("ERP_PROJECTOR_GROUP") {
            settings.projector.group = Some(v);
        }
        anyhow::ensure!(
            settings.projector.group.as_deref().is_none_or(|g| !g.trim().is_empty()),
            "projector.group must not be empty"
        );
        if let Some(v) = env("ERP_JWKS_URL") {
            settings.auth.jwks_url = Some(v);
        }
        if let Some(v) = env("ERP_JWKS_REFRESH_SECS") {
            settings.auth.jwks_refresh_secs = v.parse().with_context(|| format!("ERP_JWKS_REFRESH_SECS={v}"))?;
        }
        if let Some(v) = env("ERP_JWT_ISSUER") {
            settings.auth.issuer = v;
        }
        if let Some(v) = env("ERP_JWT_AUDIENCE") {
            settings.auth.audience = v;
        }
        Ok(settings)
    }

    /// The consumer group `erp projector` shares its projections through, unless sharing is off.
    pub fn projector_group(&self) -> Option<String> {
        self.projector.shared.then(|| {
            self.projector
                .group
                .clone()
                .unwrap_or_else(|| format!("{}.projector", self.kafka.prefix))
        })
    }

    /// The JWKS URL the token-checking roles need, checked before anything is connected:
    /// present, and https unless on loopback.
    /// The Kafka adapter's settings for every role: writers (`write`) own partitions; readers
    /// (projector, audit tools) only read.
    pub fn kafka_config(&self, write: bool) -> infra::eventlog::kafka::KafkaConfig {
        let mut kafka = infra::eventlog::kafka::KafkaConfig::local(
            &self.kafka.brokers,
            &self.kafka.prefix,
            &infra::eventlog::streams::ALL,
        );
        kafka.partitions = self.kafka.partitions;
        kafka.replication = self.kafka.replication;
        kafka.append_timeout = std::time::Duration::from_millis(self.kafka.append_timeout_ms);
        kafka.fetch_wait_ms = self.kafka.fetch_wait_ms;
        kafka.write = write;
        if let Some(id) = &self.instance_id {
            kafka.instance_id = id.clone();
        }
        kafka
    }

    pub fn jwks_url(&self) -> anyhow::Result<&str> {
        let url = self.auth.jwks_url.as_deref().context(
            "no JWKS URL: set auth.jwks_url in the settings file or ERP_JWKS_URL to the identity provider's \
             key set (https; http only on loopback)",
        )?;
        infra::auth::check_jwks_url(url)?;
        Ok(url)
    }

    /// A verifier over the identity provider's key set, refreshed on the configured interval.
    pub async fn verifier(&self) -> anyhow::Result<infra::auth::Verifier> {
        let refresh = std::time::Duration::from_secs(self.auth.jwks_refresh_secs.max(1));
        infra::auth::Verifier::remote(self.jwks_url()?, &self.auth.issuer, &self.auth.audience, refresh)
            .await
            .map_err(|e| anyhow::anyhow!("loading the JWKS: {e}"))
    }
}

/// `ERP_RATE_LIMIT_*` over `base` (also read by `erp up`, which has no settings file).
pub fn rate_limit_from_env(mut base: RateLimit) -> anyhow::Result<RateLimit> {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    if let Some(v) = env("ERP_RATE_LIMIT_ENABLED") {
        base.enabled = v
            .parse()
            .with_context(|| format!("ERP_RATE_LIMIT_ENABLED={v} is not true or false"))?;
    }
    if let Some(v) = env("ERP_RATE_LIMIT_BURST") {
        base.burst = v.parse().with_context(|| format!("ERP_RATE_LIMIT_BURST={v}"))?;
    }
    if let Some(v) = env("ERP_RATE_LIMIT_PER_SECOND") {
        base.per_second = v.parse().with_context(|| format!("ERP_RATE_LIMIT_PER_SECOND={v}"))?;
    }
    anyhow::ensure!(
        base.burst > 0 && base.per_second > 0,
        "rate limits must be positive (turn them off with rate_limit.enabled = false)"
    );
    Ok(base)
}
