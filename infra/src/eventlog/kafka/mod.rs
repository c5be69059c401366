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

/// Counts one change of a consumer group's assignment on this instance.
fn count_rebalance(group: &str, change: &'static str) {
    metrics::counter!("erp_eventlog_rebalances_total", "group" => group.to_owned(), "change" => change).increment(1);
}

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

#[async_trait]
impl EventLog for KafkaLog {
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        let started = std::time::Instant::now();
        let answer = self.append_anywhere(commit).await;
        super::observe_append("kafka", started, &answer);
        answer
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

mod config;
mod records;
mod routing;
mod subscription;
mod topics;

pub use config::KafkaConfig;
use records::*;
use routing::*;
use subscription::*;
use topics::*;
pub use topics::{topic_mismatches, TopicFacts};
