//! Settings of the distributed roles, layered by `figment`: the defaults below (servers on
//! 127.0.0.1), then a TOML file (`--config FILE` / `ERP_CONFIG`, optional), then the `ERP_*`
//! environment variables of [`KEYS`] on top.
//!
//! [`KEYS`] is the one list of settings: the environment layer reads it, `erp settings` prints
//! it as the table in docs/operations.md ("Settings"), and tests check that it names every
//! field of [`Settings`], that the docs carry it verbatim and that the committed example
//! `docs/erp.toml` sets every key. Tokens and URLs that may carry passwords are
//! [`SecretString`]s: `Debug` and `erp settings --show` print them redacted.

use anyhow::Context;
use command_api::ratelimit::RateLimit;
use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use infra::admission::AdmissionLimits;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use std::net::SocketAddr;
use std::path::Path;

#[path = "settings_keys.rs"]
mod keys;
pub use keys::{markdown_table, KEYS};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The public listener; each role has its own default ([`Role::default_bind`]).
    pub bind: Option<SocketAddr>,
    pub instance_id: Option<String>,
    pub cors_origins: Vec<String>,
    /// The command role's internal listener, for peers only (`/internal/log`).
    pub internal_bind: SocketAddr,
    pub advertised_url: Option<String>,
    #[serde(serialize_with = "redacted_option")]
    pub internal_token: Option<SecretString>,
    /// Addresses (IPs, CIDRs, host names) announced owners may have: the internal token is
    /// sent nowhere else.
    pub peer_allowlist: Vec<String>,
    pub rate_limit: RateLimits,
    pub admission: Admission,
    /// The command role answers 503 to a request still running after this many seconds.
    pub request_timeout_secs: u64,
    pub kafka: Kafka,
    pub auth: Auth,
    pub read_model: ReadModel,
    pub attachments: Attachments,
    pub projector: ProjectorSettings,
    pub notifier: NotifierSettings,
}

/// Bounds of the live-update role's connections (`notifier::NotifierConfig`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifierSettings {
    pub max_connections_per_user: usize,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        Self {
            max_connections_per_user: notifier::NotifierConfig::default().max_connections_per_user,
        }
    }
}

impl NotifierSettings {
    /// The notifier's configuration with these bounds.
    pub fn config(self) -> notifier::NotifierConfig {
        notifier::NotifierConfig {
            max_connections_per_user: self.max_connections_per_user,
            ..notifier::NotifierConfig::default()
        }
    }
}

/// Per-caller rate limits of the command API (`command_api::ratelimit::RateLimit`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    pub enabled: bool,
    pub burst: u32,
    pub per_second: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        let d = RateLimit::default();
        Self {
            enabled: d.enabled,
            burst: d.burst,
            per_second: d.per_second,
        }
    }
}

impl From<RateLimits> for RateLimit {
    fn from(r: RateLimits) -> Self {
        RateLimit {
            enabled: r.enabled,
            burst: r.burst,
            per_second: r.per_second,
        }
    }
}

/// Admission control of the API roles ([`infra::admission`]).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Admission {
    /// Each unset: as the log makes requests (I/O-bound on Kafka, CPU-bound on the embedded
    /// log), [`AdmissionLimits::default`] or [`AdmissionLimits::cpu_bound`].
    pub max_in_flight: Option<usize>,
    pub max_queue: Option<usize>,
    pub max_wait_ms: Option<u64>,
}

impl From<Admission> for AdmissionLimits {
    fn from(a: Admission) -> Self {
        a.limits(AdmissionLimits::default())
    }
}

impl Admission {
    /// These settings over `base`, the limits for how this role's requests spend their time.
    pub fn limits(self, base: AdmissionLimits) -> AdmissionLimits {
        AdmissionLimits {
            max_in_flight: self.max_in_flight.unwrap_or(base.max_in_flight),
            max_queue: self.max_queue.unwrap_or(base.max_queue),
            max_wait: self.max_wait_ms.map_or(base.max_wait, std::time::Duration::from_millis),
        }
    }
}

/// How `erp projector` instances divide the work.
#[derive(Debug, Clone, Deserialize, Serialize)]
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

/// The read side's stores. The URLs may carry passwords: secrets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadModel {
    #[serde(serialize_with = "redacted")]
    pub mysql_url: SecretString,
    #[serde(serialize_with = "redacted")]
    pub mongo_url: SecretString,
    pub mongo_database: String,
    /// The change bus between projector and notifiers.
    #[serde(serialize_with = "redacted")]
    pub redis_url: SecretString,
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kafka {
    pub brokers: String,
    pub prefix: String,
    pub partitions: u32,
    pub replication: i32,
    /// How long an append waits for the broker's acknowledgement before it answers 503.
    pub append_timeout_ms: u64,
    /// How long a role waits for the brokers at start before it gives up, naming them.
    pub connect_timeout_ms: u64,
    /// The longest a fetch waits for data (`fetch.wait.max.ms`).
    pub fetch_wait_ms: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
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

/// 첨부파일: the largest upload and the scan hook. The content is kept in the data directory
/// (`erp up`) or in GridFS on the read side's MongoDB (the distributed roles).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Attachments {
    pub max_bytes: usize,
    pub scan_command: Vec<String>,
}

impl Default for Attachments {
    fn default() -> Self {
        Self {
            max_bytes: command_api::routes::attachments::DEFAULT_MAX_BYTES,
            scan_command: Vec::new(),
        }
    }
}

impl Attachments {
    /// The scan hook as the command API takes it: none when no command is set.
    pub fn scan(&self) -> Option<Vec<String>> {
        (!self.scan_command.is_empty()).then(|| self.scan_command.clone())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: None,
            instance_id: None,
            cors_origins: vec!["http://localhost:5173".into()],
            internal_bind: SocketAddr::from(([127, 0, 0, 1], 8091)),
            advertised_url: None,
            internal_token: None,
            peer_allowlist: Vec::new(),
            rate_limit: RateLimits::default(),
            admission: Admission::default(),
            request_timeout_secs: 30,
            kafka: Kafka::default(),
            auth: Auth::default(),
            read_model: ReadModel::default(),
            attachments: Attachments::default(),
            projector: ProjectorSettings::default(),
            notifier: NotifierSettings::default(),
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
            connect_timeout_ms: 15_000,
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

fn redacted<S: Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

fn redacted_option<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("[redacted]"),
        None => s.serialize_none(),
    }
}

/// The environment layer: each variable of [`KEYS`] that is set and not empty, as a string
/// (lists split at commas). Strings stay strings — `ERP_INSTANCE_ID=7` is the id "7" — and
/// `extract_lossy` reads numbers and booleans out of them where the field wants one.
struct EnvVars<F>(F);

impl<F: Fn(&str) -> Option<String>> Provider for EnvVars<F> {
    fn metadata(&self) -> Metadata {
        Metadata::named("ERP_* environment variables")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for k in KEYS {
            let Some(raw) = (self.0)(k.env).filter(|v| !v.is_empty()) else {
                continue;
            };
            let value = if k.list {
                Value::from(
                    raw.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>(),
                )
            } else {
                Value::from(raw)
            };
            let nested = figment::util::nest(k.key, value)
                .into_dict()
                .ok_or_else(|| figment::Error::from(format!("{}: not a key path", k.key)))?;
            dict = merge(dict, nested);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// `b` over `a`, dictionaries merged key by key.
fn merge(mut a: Dict, b: Dict) -> Dict {
    for (k, v) in b {
        let v = match (a.remove(&k), v) {
            (Some(Value::Dict(_, old)), Value::Dict(tag, new)) => Value::Dict(tag, merge(old, new)),
            (_, v) => v,
        };
        a.insert(k, v);
    }
    a
}

/// A long-running distributed role, for its default port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    CommandApi,
    Projector,
    QueryApi,
    Notifier,
}

impl Role {
    #[cfg(test)]
    pub const ALL: [Role; 4] = [Role::CommandApi, Role::Projector, Role::QueryApi, Role::Notifier];

    /// Where the role listens unless `bind` says otherwise: one port per role, so two roles
    /// on one host (or beside `erp up` on 8080 and command-api's internal 8091) do not collide.
    pub fn default_bind(self) -> SocketAddr {
        let port = match self {
            Role::CommandApi => 8081,
            Role::Projector => 8082,
            Role::QueryApi => 8083,
            Role::Notifier => 8084,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

impl Settings {
    /// Where `role` listens: `bind` if set, else the role's own default port.
    pub fn bind_for(&self, role: Role) -> SocketAddr {
        self.bind.unwrap_or_else(|| role.default_bind())
    }

    /// Defaults, then the file (if any), then environment variables on top.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_from(file, |key| std::env::var(key).ok())
    }

    /// As [`Settings::load`], with the environment read through `env`.
    pub fn load_from(file: Option<&Path>, env: impl Fn(&str) -> Option<String> + 'static) -> anyhow::Result<Self> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            anyhow::ensure!(path.is_file(), "no settings file at {}", path.display());
            figment = figment.merge(Toml::file_exact(path));
        }
        let env = std::sync::Arc::new(env);
        let lookup = env.clone();
        let settings: Settings = figment
            .merge(EnvVars(move |k: &str| lookup(k)))
            .extract_lossy()
            .map_err(|e| {
                // Name what the operator wrote: `ERP_X=value`, or the key in the file.
                let named = e.into_iter().map(|e| {
                    let key = e.path.join(".");
                    let from_env = e.metadata.as_ref().is_some_and(|m| m.name.starts_with("ERP_"));
                    match KEYS.iter().find(|k| k.key == key) {
                        Some(k) if from_env => {
                            format!("{}={}: {}", k.env, env(k.env).unwrap_or_default(), e.kind)
                        }
                        _ => format!("{key}: {}", e.kind),
                    }
                });
                anyhow::anyhow!("{}", named.collect::<Vec<_>>().join("; "))
            })
            .context("reading the settings (see docs/operations.md, \"Settings\")")?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.kafka.append_timeout_ms > 0 && self.kafka.connect_timeout_ms > 0 && self.request_timeout_secs > 0,
            "kafka.append_timeout_ms, kafka.connect_timeout_ms and request_timeout_secs must be positive"
        );
        anyhow::ensure!(
            self.projector.group.as_deref().is_none_or(|g| !g.trim().is_empty()),
            "projector.group must not be empty"
        );
        anyhow::ensure!(
            self.notifier.max_connections_per_user > 0,
            "notifier.max_connections_per_user must be positive"
        );
        anyhow::ensure!(
            self.admission.max_in_flight != Some(0),
            "admission.max_in_flight must be positive"
        );
        anyhow::ensure!(
            self.rate_limit.burst > 0 && self.rate_limit.per_second > 0,
            "rate limits must be positive (turn them off with rate_limit.enabled = false)"
        );
        Ok(())
    }

    /// The internal token, refused when set but empty.
    pub fn internal_token(&self) -> anyhow::Result<Option<String>> {
        match self.internal_token.as_ref().map(|t| t.expose_secret().to_owned()) {
            Some(t) if t.is_empty() => {
                anyhow::bail!("internal_token (ERP_INTERNAL_TOKEN) is empty: set a long random secret, or unset it")
            }
            token => Ok(token),
        }
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
    pub fn jwks_url(&self) -> anyhow::Result<&str> {
        let url = self.auth.jwks_url.as_deref().context(
            "no JWKS URL: set auth.jwks_url in the settings file or ERP_JWKS_URL to the identity provider's \
             key set (https; http only on loopback)",
        )?;
        infra::auth::check_jwks_url(url)?;
        Ok(url)
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
