//! # The Kafka adapter
//!
//! Topics per stream type: `{prefix}.{type}.events` (the log) and `{prefix}.{type}.state` (per
//! stream heads, keyed by stream id), both created by the application with
//! `cleanup.policy=compact`. Records are keyed `stream@version#commit` (unique per commit, so
//! compaction removes nothing) and sent to an explicit partition, [`super::partition_for`], so
//! a stream stays in one partition, in order. The producer is idempotent with `acks=all`.
//! Topics that already exist are checked at start ([`topic_mismatches`]): another partition
//! count, a cleanup policy other than `compact` or too few in-sync replicas make the instance
//! refuse to start, naming the topic and the setting, rather than fork streams.
//!
//! Writes go through [`writer`]: each instance joins the writer consumer group; the group
//! protocol assigns each partition to one instance, which restores heads and recent command
//! ids (state topic, then the tail of the events topic), checks expected versions, and
//! acknowledges a commit only after rule R accepted it at its offset (see the module docs of
//! [`super`]). Reads (`read_stream`, subscriptions) use plain assigned consumers, except
//! shared subscriptions ([`shared`]): readers that divide the partitions among the members of
//! a consumer group, each partition positioned where the reader's own store says it stands.
//! Each owner announces what it owns on `{prefix}.owners` ([`owners`]) so other instances
//! forward commands to it, and checks its heads against the log ([`KafkaLog::check_heads`],
//! reported by [`EventLog::health`]).

pub mod owners;
mod shared;
mod writer;

pub use writer::RestoreReport;

use super::codec::{headers, CommitRecord};
use super::{
    partition_for, Appended, Checkpoint, Delivered, EventLog, EventLogError, NewCommit, Position, Positions,
    RecordedEvent, StreamRef, Subscription, Upcasters,
};
use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;
use writer::Writers;

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
    pub peers: owners::Peers,
    /// Join the writer group and own partitions. Readers (projectors, audit tools) set false:
    /// they subscribe and read but never write.
    pub write: bool,
    /// How often an owner announces its partitions again; an announcement not refreshed for
    /// [`owners::LEASE_INTERVALS`] intervals is ignored.
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
            peers: owners::Peers::loopback(),
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

    fn stream_type_of(&self, topic: &str) -> Option<String> {
        topic
            .strip_prefix(&format!("{}.", self.prefix))?
            .strip_suffix(".events")
            .map(str::to_owned)
    }

    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.instance_id)
            .set("allow.auto.create.topics", "false");
        config
    }

    fn consumer_config(&self, group: &str) -> ClientConfig {
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

fn unavailable(e: KafkaError) -> EventLogError {
    EventLogError::Unavailable(e.to_string())
}

/// The Kafka event log. Cloning shares the instance.
#[derive(Clone)]
pub struct KafkaLog {
    config: Arc<KafkaConfig>,
    producer: FutureProducer,
    upcasters: Upcasters,
    writers: Arc<Writers>,
    owners: Arc<owners::Owners>,
    forwarder: owners::Forwarder,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog").field("config", &self.config).finish()
    }
}

impl KafkaLog {
    /// Creates the topics if needed, joins the writer group and starts the writer task.
    pub async fn connect(config: KafkaConfig, upcasters: Upcasters) -> Result<Self, EventLogError> {
        let config = Arc::new(config);
        create_topics(&config).await?;
        check_topics(&config).await?;
        let producer: FutureProducer = config
            .base()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("message.timeout.ms", "10000")
            .create()
            .map_err(unavailable)?;
        let writers = Writers::start(config.clone(), producer.clone())?;
        let owners = owners::Owners::follow(&config)?;
        Ok(Self {
            producer,
            upcasters,
            writers,
            owners,
            forwarder: owners::Forwarder::new(config.internal_token.clone(), config.peers.clone()),
            config,
        })
    }

    /// Partitions of each stream type this instance currently owns and has restored.
    pub fn owned_partitions(&self) -> Vec<(String, u32)> {
        self.writers.owned()
    }

    /// The owner this instance has heard announced for a partition.
    pub fn announced_owner(&self, stream_type: &str, partition: u32) -> Option<owners::Owner> {
        self.owners.get(stream_type, partition)
    }

    /// How long each partition restore took, latest first.
    pub fn restore_reports(&self) -> Vec<RestoreReport> {
        self.writers.reports()
    }

    /// Compares the heads of every partition owned here with the log's now, rather than at
    /// the next `head_check_interval`; [`EventLog::health`] then reports what differs.
    pub async fn check_heads(&self) {
        self.writers.check_heads().await;
    }

    /// The owners announced now, read from the owners topic to its end. Blocking.
    pub fn read_announced_owners(
        &self,
    ) -> Result<std::collections::BTreeMap<(String, u32), owners::Owner>, EventLogError> {
        Ok(owners::read_owners(&self.config)?.live(owners::Now::system()))
    }

    /// The heads `owner` holds for one of its partitions, asked over its internal listener.
    pub async fn ask_owner_heads(
        &self,
        owner: &owners::Owner,
        stream_type: &str,
        partition: u32,
    ) -> Result<owners::OwnerHeads, EventLogError> {
        let request = owners::Forwarded::Heads {
            stream_type: stream_type.to_owned(),
            partition,
        };
        match self.forward(owner, request).await? {
            owners::ForwardedAnswer::Heads { result } => result,
            _ => Err(EventLogError::Unavailable("owner answered another request".into())),
        }
    }

    /// Leaves the writer group (partitions move to other instances) and flushes the producer.
    pub async fn shutdown(&self) {
        self.writers.stop().await;
        let producer = self.producer.clone();
        let _ =
            tokio::task::spawn_blocking(move || rdkafka::producer::Producer::flush(&producer, Duration::from_secs(5)))
                .await;
    }

    fn reader(&self) -> Result<BaseConsumer, EventLogError> {
        self.config
            .consumer_config(&format!("{}.readers", self.config.prefix))
            .create()
            .map_err(unavailable)
    }

    /// Every record of a stream type, partition by partition, as stored (audit tooling:
    /// `erp verify`, `erp export`). Blocking; run it off the async workers.
    pub fn scan_raw(
        &self,
        stream_type: &str,
        mut visit: impl FnMut(u32, crate::eventlog::embedded::RawRecord),
    ) -> Result<(), EventLogError> {
        for partition in 0..self.config.partitions {
            self.scan_partition(stream_type, partition, 0, |offset, _, payload| {
                let record = CommitRecord::decode(payload).map_err(|e| e.to_string());
                visit(partition, crate::eventlog::embedded::RawRecord { offset, record });
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Reads one partition of an events topic from `from` (or its beginning) to its current
    /// end, and returns that end (the high watermark read up to).
    fn scan_partition(
        &self,
        stream_type: &str,
        partition: u32,
        from: u64,
        mut visit: impl FnMut(u64, &[u8], &[u8]) -> Result<(), EventLogError>,
    ) -> Result<u64, EventLogError> {
        let topic = self.config.events_topic(stream_type);
        let consumer = self.reader()?;
        let (low, high) = consumer
            .fetch_watermarks(&topic, partition as i32, Duration::from_secs(10))
            .map_err(unavailable)?;
        let low = low.max(from as i64);
        if high <= low {
            return Ok(high.max(0) as u64);
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, partition as i32, Offset::Offset(low))
            .map_err(unavailable)?;
        consumer.assign(&tpl).map_err(unavailable)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if std::time::Instant::now() > deadline {
                return Err(EventLogError::Unavailable(format!(
                    "timed out reading {topic}/{partition}"
                )));
            }
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = message.map_err(unavailable)?;
            let offset = message.offset();
            visit(
                offset as u64,
                message.key().unwrap_or_default(),
                message.payload().unwrap_or_default(),
            )?;
            if offset + 1 >= high {
                return Ok(high as u64);
            }
        }
    }
}

async fn create_topics(config: &KafkaConfig) -> Result<(), EventLogError> {
    let admin: AdminClient<DefaultClientContext> = config.base().create().map_err(unavailable)?;
    let names: Vec<String> = config
        .stream_types
        .iter()
        .flat_map(|t| [config.events_topic(t), config.state_topic(t)])
        .collect();
    let owners = config.owners_topic();
    // What `check_topics` requires of replicated topics, so a fresh cluster passes its own check.
    let min_insync = config.replication.clamp(1, 2).to_string();
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                config.partitions as i32,
                TopicReplication::Fixed(config.replication),
            )
            .set("cleanup.policy", "compact")
            .set("min.insync.replicas", &min_insync)
        })
        .chain(std::iter::once(
            NewTopic::new(&owners, 1, TopicReplication::Fixed(config.replication))
                .set("cleanup.policy", "compact")
                .set("min.insync.replicas", &min_insync),
        ))
        .collect();
    let results = admin
        .create_topics(
            &topics,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .map_err(unavailable)?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(EventLogError::Unavailable(format!("creating {topic}: {code}"))),
        }
    }
    Ok(())
}

/// What a topic must be for the log's rules to hold, checked at start against what the broker
/// has (topics may predate this instance, or have been created by hand): the partition count
/// this instance partitions streams by (another count would put one stream in two
/// partitions — two writers, a fork), `cleanup.policy=compact` (keys are unique per commit,
/// compaction then drops nothing; `delete` would drop history by age), and, where records
/// are replicated, `min.insync.replicas` of at least 2 (or `acks=all` acknowledges a write
/// only one broker holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicFacts {
    pub name: String,
    pub partitions: usize,
    pub cleanup_policy: Option<String>,
    pub min_insync_replicas: Option<u32>,
}

/// The mismatches between `facts` and what `config` needs, each a sentence an operator can act on.
pub fn topic_mismatches(config: &KafkaConfig, facts: &[TopicFacts]) -> Vec<String> {
    let owners = config.owners_topic();
    let mut problems = Vec::new();
    for topic in facts {
        let expected = if topic.name == owners {
            1
        } else {
            config.partitions as usize
        };
        if topic.partitions != expected {
            problems.push(format!(
                "topic {} has {} partitions but this instance partitions streams over {expected} \
                 (ERP_KAFKA_PARTITIONS must match the topics, or streams fork across partitions)",
                topic.name, topic.partitions
            ));
        }
        if topic.cleanup_policy.as_deref() != Some("compact") {
            problems.push(format!(
                "topic {} has cleanup.policy={} but the log needs compact (delete drops history)",
                topic.name,
                topic.cleanup_policy.as_deref().unwrap_or("unknown")
            ));
        }
        let needed = config.replication.clamp(1, 2) as u32;
        if topic.min_insync_replicas.is_some_and(|m| m < needed) {
            problems.push(format!(
                "topic {} has min.insync.replicas={} but with replication {} it needs at least {needed}",
                topic.name,
                topic.min_insync_replicas.unwrap_or(0),
                config.replication
            ));
        }
    }
    problems
}

/// Reads partition counts and configs of this instance's topics and refuses to run on any
/// mismatch ([`topic_mismatches`]).
async fn check_topics(config: &KafkaConfig) -> Result<(), EventLogError> {
    use rdkafka::admin::ResourceSpecifier;
    let admin: AdminClient<DefaultClientContext> = config.base().create().map_err(unavailable)?;
    let mut names: Vec<String> = config
        .stream_types
        .iter()
        .flat_map(|t| [config.events_topic(t), config.state_topic(t)])
        .collect();
    names.push(config.owners_topic());
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(|e| EventLogError::Unavailable(format!("reading topic metadata from {}: {e}", config.brokers)))?;
    let specifiers: Vec<ResourceSpecifier<'_>> = names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
    let described = admin
        .describe_configs(
            &specifiers,
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .map_err(|e| EventLogError::Unavailable(format!("reading topic configs from {}: {e}", config.brokers)))?;
    let facts: Vec<TopicFacts> = names
        .iter()
        .zip(described)
        .map(|(name, config)| {
            let partitions = metadata
                .topics()
                .iter()
                .find(|t| t.name() == name)
                .map_or(0, |t| t.partitions().len());
            let entry = |key: &str| {
                config
                    .as_ref()
                    .ok()
                    .and_then(|c| c.get(key))
                    .and_then(|e| e.value.clone())
            };
            TopicFacts {
                name: name.clone(),
                partitions,
                cleanup_policy: entry("cleanup.policy"),
                min_insync_replicas: entry("min.insync.replicas").and_then(|v| v.parse().ok()),
            }
        })
        .collect();
    let problems = topic_mismatches(config, &facts);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(EventLogError::Misconfigured(problems.join("; ")))
    }
}

fn record_headers(commit: &NewCommit) -> OwnedHeaders {
    let command = commit.command_id.to_string();
    let correlation = commit.correlation_id.to_string();
    let mut h = OwnedHeaders::new()
        .insert(Header {
            key: headers::STREAM_TYPE,
            value: Some(commit.stream.stream_type.as_str()),
        })
        .insert(Header {
            key: headers::STREAM_ID,
            value: Some(commit.stream.stream_id.as_str()),
        })
        .insert(Header {
            key: headers::COMMAND_ID,
            value: Some(command.as_str()),
        })
        .insert(Header {
            key: headers::CORRELATION_ID,
            value: Some(correlation.as_str()),
        });
    if let Some(trace) = &commit.traceparent {
        h = h.insert(Header {
            key: headers::TRACEPARENT,
            value: Some(trace.as_str()),
        });
    }
    h
}

/// Enqueues one record for its partition without waiting. Callers enqueue under the partition
/// lock, so records reach the partition in the order their versions were assigned.
fn enqueue(
    producer: &FutureProducer,
    topic: &str,
    partition: u32,
    record: &CommitRecord,
    headers: OwnedHeaders,
) -> Result<DeliveryFuture, EventLogError> {
    let payload = record.encode()?;
    let key = record.key();
    producer
        .send_result(
            FutureRecord::to(topic)
                .partition(partition as i32)
                .key(&key)
                .payload(&payload)
                .headers(headers),
        )
        .map_err(|(e, _)| unavailable(e))
}

/// Waits for the broker's acknowledgement; returns the offset the record landed at.
async fn delivered(delivery: DeliveryFuture) -> Result<u64, EventLogError> {
    match delivery.await {
        Ok(Ok(delivery)) => Ok(delivery.offset as u64),
        Ok(Err((e, _))) => Err(unavailable(e)),
        Err(_) => Err(EventLogError::Unavailable("producer dropped the record".into())),
    }
}

#[async_trait]
impl EventLog for KafkaLog {
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        if commit.events.is_empty() || commit.events.len() > 1000 {
            return Err(EventLogError::EmptyOrHugeCommit);
        }
        if !self.config.stream_types.contains(&commit.stream.stream_type) {
            return Err(EventLogError::Codec(format!(
                "unknown stream type {:?}",
                commit.stream.stream_type
            )));
        }
        let partition = partition_for(&commit.stream.stream_id, self.config.partitions);
        let mut writer = WriterSearch::new(self.config.ownership_wait);
        loop {
            let Some(owner) = self.writer_of(&commit.stream.stream_type, partition, &writer).await? else {
                return self.append_here(partition, commit).await;
            };
            let request = owners::Forwarded::Append { commit: commit.clone() };
            match self.forward(&owner.0, request).await? {
                owners::ForwardedAnswer::Appended { result } => return result,
                owners::ForwardedAnswer::NotOwner { .. } => writer.refused_by(owner),
                _ => return Err(EventLogError::Unavailable("owner answered another request".into())),
            }
        }
    }

    async fn find_command(
        &self,
        stream: &StreamRef,
        command_id: uuid::Uuid,
    ) -> Result<Option<Appended>, EventLogError> {
        let partition = partition_for(&stream.stream_id, self.config.partitions);
        let mut writer = WriterSearch::new(self.config.ownership_wait);
        loop {
            let Some(owner) = self.writer_of(&stream.stream_type, partition, &writer).await? else {
                return self.find_command_here(stream, partition, command_id).await;
            };
            let request = owners::Forwarded::FindCommand {
                stream: stream.clone(),
                command_id,
            };
            match self.forward(&owner.0, request).await? {
                owners::ForwardedAnswer::Found { result } => return result,
                owners::ForwardedAnswer::NotOwner { .. } => writer.refused_by(owner),
                _ => return Err(EventLogError::Unavailable("owner answered another request".into())),
            }
        }
    }

    async fn read_stream(&self, stream: &StreamRef) -> Result<Vec<RecordedEvent>, EventLogError> {
        let partition = partition_for(&stream.stream_id, self.config.partitions);
        if let Some(owner) = self.remote_owner(&stream.stream_type, partition) {
            if let Ok(owners::ForwardedAnswer::Stream { result }) = self
                .forward(&owner, owners::Forwarded::ReadStream { stream: stream.clone() })
                .await
            {
                return result;
            }
        }
        self.read_here(stream, partition).await
    }

    async fn subscribe(&self, stream_type: &str, from: Checkpoint) -> Result<Box<dyn Subscription>, EventLogError> {
        let topic = self.config.events_topic(stream_type);
        let consumer: StreamConsumer = self
            .config
            .consumer_config(&format!("{}.subscribers", self.config.prefix))
            .create()
            .map_err(unavailable)?;
        let mut tpl = TopicPartitionList::new();
        for partition in 0..self.config.partitions {
            let offset = from
                .get(&partition)
                .map_or(Offset::Beginning, |o| Offset::Offset(*o as i64));
            tpl.add_partition_offset(&topic, partition as i32, offset)
                .map_err(unavailable)?;
        }
        consumer.assign(&tpl).map_err(unavailable)?;
        Ok(Box::new(KafkaSubscription {
            consumer,
            checkpoint: from,
        }))
    }

    async fn subscribe_shared(
        &self,
        stream_type: &str,
        group: &str,
        positions: Arc<dyn Positions>,
    ) -> Result<Box<dyn Subscription>, EventLogError> {
        Ok(Box::new(shared::SharedSubscription::join(
            &self.config,
            stream_type,
            group,
            positions,
        )?))
    }

    async fn end_offsets(&self, stream_type: &str) -> Result<Checkpoint, EventLogError> {
        let this = self.clone();
        let topic = self.config.events_topic(stream_type);
        tokio::task::spawn_blocking(move || {
            let consumer = this.reader()?;
            (0..this.config.partitions)
                .map(|p| {
                    let (_, high) = consumer
                        .fetch_watermarks(&topic, p as i32, Duration::from_secs(10))
                        .map_err(unavailable)?;
                    Ok((p, high.max(0) as u64))
                })
                .collect()
        })
        .await
        .map_err(|e| EventLogError::Unavailable(e.to_string()))?
    }

    fn partitions(&self) -> u32 {
        self.config.partitions
    }

    fn health(&self) -> super::health::LogHealth {
        self.writers.health()
    }

    async fn serve_forwarded(&self, request: owners::Forwarded) -> owners::ForwardedAnswer {
        use owners::{Forwarded, ForwardedAnswer};
        // Served from this instance's own writers only: a request is forwarded at most once.
        match request {
            Forwarded::Append { commit } => {
                let partition = partition_for(&commit.stream.stream_id, self.config.partitions);
                if !self.writers.holds(&commit.stream.stream_type, partition) {
                    return ForwardedAnswer::NotOwner { partition };
                }
                ForwardedAnswer::Appended {
                    result: self.append_here(partition, commit).await,
                }
            }
            Forwarded::FindCommand { stream, command_id } => {
                let partition = partition_for(&stream.stream_id, self.config.partitions);
                if !self.writers.holds(&stream.stream_type, partition) {
                    return ForwardedAnswer::NotOwner { partition };
                }
                ForwardedAnswer::Found {
                    result: self.find_command_here(&stream, partition, command_id).await,
                }
            }
            Forwarded::ReadStream { stream } => {
                let partition = partition_for(&stream.stream_id, self.config.partitions);
                ForwardedAnswer::Stream {
                    result: self.read_here(&stream, partition).await,
                }
            }
            Forwarded::Heads { stream_type, partition } => ForwardedAnswer::Heads {
                result: self.writers.heads(&stream_type, partition),
            },
        }
    }
}

/// One request's search for the instance that writes a partition: until when it may wait,
/// and the announcement whose owner already answered that it does not hold the partition (a
/// stale announcement: refused at once there, so the sender waits for the next one instead of
/// answering 503 while the current owner's announcement is on its way).
struct WriterSearch {
    deadline: tokio::time::Instant,
    refused: Option<u64>,
}

impl WriterSearch {
    fn new(wait: Duration) -> Self {
        Self {
            deadline: tokio::time::Instant::now() + wait,
            refused: None,
        }
    }

    fn refused_by(&mut self, (_, heard): (owners::Owner, u64)) {
        self.refused = Some(heard);
    }
}

impl KafkaLog {
    /// Where a write to a partition goes: `None` when this instance holds the partition (or
    /// cannot forward), else its announced owner and which announcement named it. While the
    /// partition is between owners — revoked from one, not yet restored and announced by the
    /// next — or announced only by an owner that already refused it, it waits for either, up
    /// to the search's deadline, rather than betting on a partition the group never gave here.
    async fn writer_of(
        &self,
        stream_type: &str,
        partition: u32,
        search: &WriterSearch,
    ) -> Result<Option<(owners::Owner, u64)>, EventLogError> {
        loop {
            if self.writers.holds(stream_type, partition) || self.config.internal_token.is_none() {
                return Ok(None);
            }
            if let Some(owner) = self
                .remote_announcement(stream_type, partition)
                .filter(|(_, heard)| search.refused != Some(*heard))
            {
                return Ok(Some(owner));
            }
            if tokio::time::Instant::now() >= search.deadline {
                return Err(EventLogError::Unavailable(format!(
                    "no instance owns {stream_type}/{partition} yet; retry"
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The announced owner of a partition, when it is another instance and this one does not
    /// own the partition itself.
    fn remote_owner(&self, stream_type: &str, partition: u32) -> Option<owners::Owner> {
        self.remote_announcement(stream_type, partition).map(|(owner, _)| owner)
    }

    /// [`Self::remote_owner`] with which record of the owners topic announced it.
    fn remote_announcement(&self, stream_type: &str, partition: u32) -> Option<(owners::Owner, u64)> {
        if self.writers.owns(stream_type, partition) {
            return None;
        }
        self.owners
            .announcement(stream_type, partition)
            .filter(|(o, _)| o.instance_id != self.config.instance_id)
    }

    async fn forward(
        &self,
        owner: &owners::Owner,
        request: owners::Forwarded,
    ) -> Result<owners::ForwardedAnswer, EventLogError> {
        self.forwarder.forward(owner, &request).await
    }

    /// A stream's whole history without forwarding: from the writer's memory when it holds all
    /// of it, otherwise read from the partition up to its end with rule R (and kept in memory
    /// when this instance owns the partition, so the next read is served from there).
    async fn read_here(&self, stream: &StreamRef, partition: u32) -> Result<Vec<RecordedEvent>, EventLogError> {
        let commits = self.history_here(stream, partition).await?;
        commits
            .iter()
            .map(|(offset, record)| {
                record.to_recorded(&self.position(&stream.stream_type, partition, *offset), &self.upcasters)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.into_iter().flatten().collect())
    }

    /// Appends on this instance's writer. A command id is answered with its first result
    /// however long ago it was acknowledged, as on the embedded log: an owner restored from
    /// snapshots remembers only each stream's recent command ids, so when it does not hold a
    /// stream's whole history it reads it once (then keeps it) and looks there first.
    async fn append_here(&self, partition: u32, commit: NewCommit) -> Result<Appended, EventLogError> {
        if let Some(first) = self
            .find_in_history(&commit.stream, partition, commit.command_id)
            .await?
        {
            return Ok(first);
        }
        let headers = record_headers(&commit);
        self.writers.append(partition, commit, headers).await
    }

    /// The first answer to a command id: from the writer's memory, else from the stream's
    /// history (see [`Self::append_here`]).
    async fn find_command_here(
        &self,
        stream: &StreamRef,
        partition: u32,
        command_id: uuid::Uuid,
    ) -> Result<Option<Appended>, EventLogError> {
        if let Some(found) = self.writers.find_command(stream, partition, command_id).await? {
            return Ok(Some(found));
        }
        self.find_in_history(stream, partition, command_id).await
    }

    /// Looks a command id up in the stream's accepted history when the writer does not hold
    /// that history in memory (what it holds, it has checked already). Commits the tail applies
    /// after the read are in the writer's memory, so the two together cover the whole log.
    async fn find_in_history(
        &self,
        stream: &StreamRef,
        partition: u32,
        command_id: uuid::Uuid,
    ) -> Result<Option<Appended>, EventLogError> {
        if self.writers.holds_history(stream, partition) {
            return Ok(None);
        }
        let history = self.history_here(stream, partition).await?;
        Ok(history
            .iter()
            .find(|(_, record)| record.command_id == command_id)
            .map(|(offset, record)| Appended {
                duplicate: true,
                ..record.appended_at(self.position(&stream.stream_type, partition, *offset))
            }))
    }

    /// A stream's accepted commits with their offsets; see [`Self::read_here`].
    async fn history_here(
        &self,
        stream: &StreamRef,
        partition: u32,
    ) -> Result<Vec<(u64, Arc<CommitRecord>)>, EventLogError> {
        Ok(match self.writers.cached_stream(stream, partition) {
            Some(cached) => cached,
            None => {
                let this = self.clone();
                let wanted = stream.clone();
                let from = self.writers.first_offset(stream, partition).unwrap_or(0);
                let (read, high) = tokio::task::spawn_blocking(move || {
                    let prefix = format!("{}@", wanted.stream_id);
                    let mut heads = super::chain::StreamHeads::default();
                    let mut read = Vec::new();
                    let high = this.scan_partition(&wanted.stream_type, partition, from, |offset, key, payload| {
                        if !key.starts_with(prefix.as_bytes()) {
                            return Ok(());
                        }
                        let record = CommitRecord::decode(payload)?;
                        if record.stream_id == wanted.stream_id
                            && heads.admit(&record) == super::chain::Admission::Accepted
                        {
                            read.push((offset, Arc::new(record)));
                        }
                        Ok(())
                    })?;
                    Ok::<_, EventLogError>((read, high))
                })
                .await
                .map_err(|e| EventLogError::Unavailable(e.to_string()))??;
                self.writers.adopt_read(stream, partition, read, high)
            }
        })
    }

    fn position(&self, stream_type: &str, partition: u32, offset: u64) -> Position {
        Position {
            stream_type: stream_type.to_owned(),
            partition,
            offset,
        }
    }
}

/// A batch of up to `max` records: `first`, then each record that arrives within 1 ms of the
/// one before; `checkpoint` moves past each. With `only_held`, records of partitions not in
/// `checkpoint` (taken away, still queued) are left out.
async fn gather<C: rdkafka::consumer::ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    first: rdkafka::message::OwnedMessage,
    max: usize,
    checkpoint: &mut Checkpoint,
    only_held: bool,
) -> Result<Vec<Delivered>, EventLogError> {
    let mut batch = Vec::new();
    let mut next = Some(first);
    while let Some(message) = next.take() {
        let partition = message.partition() as u32;
        let offset = message.offset() as u64;
        if !only_held || checkpoint.contains_key(&partition) {
            let commit = CommitRecord::decode(message.payload().unwrap_or_default())?;
            checkpoint.insert(partition, offset + 1);
            batch.push(Delivered {
                partition,
                offset,
                commit,
            });
        }
        if batch.len() >= max {
            break;
        }
        if let Ok(Ok(m)) = tokio::time::timeout(Duration::from_millis(1), consumer.recv()).await {
            next = Some(m.detach());
        }
    }
    Ok(batch)
}

struct KafkaSubscription {
    consumer: StreamConsumer,
    checkpoint: Checkpoint,
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, EventLogError> {
        let first = match tokio::time::timeout(wait, self.consumer.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(message) => message.map_err(unavailable)?.detach(),
        };
        gather(&self.consumer, first, max, &mut self.checkpoint, false).await
    }

    fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}
