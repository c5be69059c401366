//! The adapter's settings and the client configurations built from them.

use super::peers::Peers;
use rdkafka::config::ClientConfig;
use std::time::Duration;

/// Settings of the Kafka adapter.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port,...`
    pub brokers: String,
    /// Topic and group name prefix, e.g. `erp`.
    pub prefix: String,
    /// Partitions per events topic (fixed once created: partitioning depends on it).
    pub partitions: u32,
    pub replication: i32,
    /// Stream types whose topics this instance creates and writes.
    pub stream_types: Vec<String>,
    /// Identifies this instance in logs and in the writer group (static membership).
    pub instance_id: String,
    /// The consumer group whose protocol assigns partition ownership.
    pub writer_group: String,
    /// How long a fetch waits for data; end-to-end latency follows it.
    pub fetch_wait_ms: u32,
    /// How long an append waits for its partition to be owned and restored here.
    pub ownership_wait: Duration,
    /// How long an append waits, once its partition is owned here, for its commit to be
    /// acknowledged and judged by rule R; then it answers `Unavailable` (503), and a retry with
    /// the same command id gets the first answer once there is one.
    pub append_timeout: Duration,
    /// How often dirty stream heads are written to the state topic.
    pub snapshot_interval: Duration,
    /// This instance's internal listener as other instances reach it; announced for the
    /// partitions it owns so they can forward commands here. Without it, requests for
    /// partitions owned elsewhere wait for ownership and then answer 503.
    pub advertised_url: Option<String>,
    /// Shared secret other instances present on forwarded requests (empty counts as none).
    pub internal_token: Option<String>,
    /// Where announced owners may be: forwarding (and the token) goes nowhere else.
    pub peers: Peers,
    /// Join the writer group and own partitions. Readers (projectors, audit tools) set false:
    /// they subscribe and read but never write.
    pub write: bool,
    /// How often an owner announces its partitions again; an announcement not refreshed for
    /// [`super::owners::LEASE_INTERVALS`] intervals is ignored.
    pub announce_interval: Duration,
    /// How often an owner compares its stream heads with the log's (zero: never).
    pub head_check_interval: Duration,
    /// How long a partition may stay assigned and not ready before it counts as a fault.
    pub not_ready_bound: Duration,
}

impl KafkaConfig {
    pub fn local(brokers: impl Into<String>, prefix: impl Into<String>, stream_types: &[&str]) -> Self {
        let prefix = prefix.into();
        Self {
            brokers: brokers.into(),
            writer_group: format!("{prefix}.writers"),
            prefix,
            partitions: 6,
            replication: 1,
            stream_types: stream_types.iter().map(|s| (*s).to_owned()).collect(),
            instance_id: format!("erp-{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            fetch_wait_ms: 10,
            ownership_wait: Duration::from_secs(15),
            append_timeout: Duration::from_secs(10),
            snapshot_interval: Duration::from_secs(2),
            advertised_url: None,
            internal_token: None,
            peers: Peers::loopback(),
            write: true,
            announce_interval: Duration::from_secs(5),
            head_check_interval: Duration::from_secs(30),
            not_ready_bound: Duration::from_secs(60),
        }
    }

    pub fn events_topic(&self, stream_type: &str) -> String {
        format!("{}.{}.events", self.prefix, stream_type)
    }

    pub fn state_topic(&self, stream_type: &str) -> String {
        format!("{}.{}.state", self.prefix, stream_type)
    }

    pub fn owners_topic(&self) -> String {
        format!("{}.owners", self.prefix)
    }

    pub(super) fn stream_type_of(&self, topic: &str) -> Option<String> {
        topic
            .strip_prefix(&format!("{}.", self.prefix))?
            .strip_suffix(".events")
            .map(str::to_owned)
    }

    pub(super) fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.instance_id)
            .set("allow.auto.create.topics", "false");
        config
    }

    pub(super) fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", self.fetch_wait_ms.to_string())
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            .set("enable.partition.eof", "false");
        config
    }
}
