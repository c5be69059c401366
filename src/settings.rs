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
//! | `advertised_url` | `ERP_ADVERTISED_URL` | none (no forwarding to this instance) |
//! | `internal_token` | `ERP_INTERNAL_TOKEN` | none |
//! | `auth.jwks_url` | `ERP_JWKS_URL` | `http://127.0.0.1:8080/.well-known/jwks.json` |
//! | `auth.issuer` | `ERP_JWT_ISSUER` | `erp-embedded` |
//! | `auth.audience` | `ERP_JWT_AUDIENCE` | `erp` |
//! | `read_model.mysql_url` | `ERP_MYSQL_URL` | `mysql://erp:erp@127.0.0.1:3306/erp` |
//! | `read_model.mongo_url` | `ERP_MONGO_URL` | `mongodb://127.0.0.1:27017` |
//! | `read_model.mongo_database` | `ERP_MONGO_DB` | `erp` |
//! | `read_model.redis_url` | `ERP_REDIS_URL` | `redis://127.0.0.1:6379` |
//! | `read_model.redis_channel` | `ERP_REDIS_CHANNEL` | `erp.changes` |

use anyhow::Context;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub bind: SocketAddr,
    pub instance_id: Option<String>,
    pub cors_origins: Vec<String>,
    pub advertised_url: Option<String>,
    pub internal_token: Option<String>,
    pub kafka: Kafka,
    pub auth: Auth,
    pub read_model: ReadModel,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    pub jwks_url: String,
    pub issuer: String,
    pub audience: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            instance_id: None,
            cors_origins: vec!["http://localhost:5173".into()],
            advertised_url: None,
            internal_token: None,
            kafka: Kafka::default(),
            auth: Auth::default(),
            read_model: ReadModel::default(),
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
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            jwks_url: "http://127.0.0.1:8080/.well-known/jwks.json".into(),
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
        if let Some(v) = env("ERP_JWKS_URL") {
            settings.auth.jwks_url = v;
        }
        if let Some(v) = env("ERP_JWT_ISSUER") {
            settings.auth.issuer = v;
        }
        if let Some(v) = env("ERP_JWT_AUDIENCE") {
            settings.auth.audience = v;
        }
        Ok(settings)
    }
}
