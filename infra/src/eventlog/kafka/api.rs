//! [`EventLog`] over [`KafkaLog`]: each operation routed to the partition's owner, and the
//! forwarded requests an owner answers.

use super::log::{KafkaLog, WriterSearch};
use super::subscription::KafkaSubscription;
use super::support::unavailable;
use crate::eventlog::kafka::{owners, shared};
use crate::eventlog::{
    partition_for, Appended, Checkpoint, EventLog, EventLogError, NewCommit, Positions, RecordedEvent, StreamRef,
    Subscription,
};
use async_trait::async_trait;
use rdkafka::consumer::Consumer;
use rdkafka::consumer::StreamConsumer;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;

/// How long a non-owner waits for the owner's answer to "which version is this stream at?"
/// before it reads the stream instead.
const VERSION_QUESTION_WAIT: Duration = Duration::from_secs(1);

#[async_trait]
impl EventLog for KafkaLog {
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        let started = std::time::Instant::now();
        let answer = self.append_anywhere(commit).await;
        crate::eventlog::observe_append("kafka", started, &answer);
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

    /// Told by the partition's owner from its heads — this instance, or the owner asked over
    /// `/internal/log` (a small answer, where a read would send the whole history) — so a
    /// command folds a state kept at that version instead of reading the stream. `None` when
    /// the owner cannot say (not restored, moved, unreachable): the command reads as before.
    async fn stream_version(&self, stream: &StreamRef) -> Result<Option<u64>, EventLogError> {
        let partition = partition_for(&stream.stream_id, self.config.partitions);
        if let Some(owner) = self.remote_owner(&stream.stream_type, partition) {
            let asked = owners::Forwarded::StreamVersion { stream: stream.clone() };
            // Briefly: an owner that does not answer this small question at once is asked for
            // the stream next, which waits the forwarding bound itself.
            return Ok(
                match tokio::time::timeout(VERSION_QUESTION_WAIT, self.forward(&owner, asked)).await {
                    Ok(Ok(owners::ForwardedAnswer::Version { result: Ok(version) })) => version,
                    _ => None,
                },
            );
        }
        Ok(self.writers.accepted_version(stream, partition))
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
        super::subscription::count_unreadable_from_zero(&topic);
        Ok(Box::new(KafkaSubscription {
            consumer,
            topic,
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

    fn health(&self) -> crate::eventlog::health::LogHealth {
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
            Forwarded::StreamVersion { stream } => {
                let partition = partition_for(&stream.stream_id, self.config.partitions);
                ForwardedAnswer::Version {
                    result: Ok(self.writers.accepted_version(&stream, partition)),
                }
            }
            Forwarded::Heads { stream_type, partition } => ForwardedAnswer::Heads {
                result: self.writers.heads(&stream_type, partition),
            },
        }
    }
}
