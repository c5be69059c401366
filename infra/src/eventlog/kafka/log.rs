//! The Kafka log's instance: connecting (topics, writer group, owner table), and where a
//! request is served — this instance's writers, or the announced owner it is forwarded to —
//! with the reads and appends an owner serves from its own writers.

use super::config::KafkaConfig;
use super::records::record_headers;
use super::support::unavailable;
use super::topics::{check_topics, create_topics};
use super::writer::RestoreReport;
use super::writer::Writers;
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::kafka::owners;
use crate::eventlog::{
    partition_for, Appended, EventLogError, NewCommit, Position, RecordedEvent, StreamRef, Upcasters,
};
use rdkafka::consumer::BaseConsumer;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureProducer;
use rdkafka::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;

/// The Kafka event log. Cloning shares the instance.
#[derive(Clone)]
pub struct KafkaLog {
    pub(super) config: Arc<KafkaConfig>,
    pub(super) producer: FutureProducer,
    pub(super) upcasters: Upcasters,
    pub(super) writers: Arc<Writers>,
    pub(super) owners: Arc<owners::Owners>,
    pub(super) forwarder: owners::Forwarder,
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
    /// the next `head_check_interval`; [`EventLog::health`](crate::eventlog::EventLog::health) then reports what differs.
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

    pub(super) fn reader(&self) -> Result<BaseConsumer, EventLogError> {
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
    pub(super) fn scan_partition(
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

/// One request's search for the instance that writes a partition: until when it may wait,
/// and the announcement whose owner already answered that it does not hold the partition (a
/// stale announcement: refused at once there, so the sender waits for the next one instead of
/// answering 503 while the current owner's announcement is on its way).
pub(super) struct WriterSearch {
    deadline: tokio::time::Instant,
    refused: Option<u64>,
}

impl WriterSearch {
    pub(super) fn new(wait: Duration) -> Self {
        Self {
            deadline: tokio::time::Instant::now() + wait,
            refused: None,
        }
    }

    pub(super) fn refused_by(&mut self, (_, heard): (owners::Owner, u64)) {
        self.refused = Some(heard);
    }
}

impl KafkaLog {
    /// Appends here when this instance holds the stream's partition, else on its announced
    /// owner ([`EventLog::append`], which times it).
    pub(super) async fn append_anywhere(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
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

    /// Where a write to a partition goes: `None` when this instance holds the partition (or
    /// cannot forward), else its announced owner and which announcement named it. While the
    /// partition is between owners — revoked from one, not yet restored and announced by the
    /// next — or announced only by an owner that already refused it, it waits for either, up
    /// to the search's deadline, rather than betting on a partition the group never gave here.
    pub(super) async fn writer_of(
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
    pub(super) fn remote_owner(&self, stream_type: &str, partition: u32) -> Option<owners::Owner> {
        self.remote_announcement(stream_type, partition).map(|(owner, _)| owner)
    }

    /// [`Self::remote_owner`] with which record of the owners topic announced it.
    pub(super) fn remote_announcement(&self, stream_type: &str, partition: u32) -> Option<(owners::Owner, u64)> {
        if self.writers.owns(stream_type, partition) {
            return None;
        }
        self.owners
            .announcement(stream_type, partition)
            .filter(|(o, _)| o.instance_id != self.config.instance_id)
    }

    pub(super) async fn forward(
        &self,
        owner: &owners::Owner,
        request: owners::Forwarded,
    ) -> Result<owners::ForwardedAnswer, EventLogError> {
        let kind = request.kind();
        let answer = self.forwarder.forward(owner, &request).await;
        let result = match &answer {
            Ok(owners::ForwardedAnswer::NotOwner { .. }) => "not_owner",
            Ok(_) => "ok",
            Err(_) => "error",
        };
        metrics::counter!("erp_eventlog_forwarded_total", "request" => kind, "result" => result).increment(1);
        answer
    }

    /// A stream's whole history without forwarding: from the writer's memory when it holds all
    /// of it, otherwise read from the partition up to its end with rule R (and kept in memory
    /// when this instance owns the partition, so the next read is served from there).
    pub(super) async fn read_here(
        &self,
        stream: &StreamRef,
        partition: u32,
    ) -> Result<Vec<RecordedEvent>, EventLogError> {
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
    pub(super) async fn append_here(&self, partition: u32, commit: NewCommit) -> Result<Appended, EventLogError> {
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
    pub(super) async fn find_command_here(
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
    pub(super) async fn find_in_history(
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
    pub(super) async fn history_here(
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
                    let mut heads = super::super::chain::StreamHeads::default();
                    let mut read = Vec::new();
                    let high = this.scan_partition(&wanted.stream_type, partition, from, |offset, key, payload| {
                        if !key.starts_with(prefix.as_bytes()) {
                            return Ok(());
                        }
                        // Anyone with broker access can write a record under any key: one that
                        // does not decode is no commit of this stream, stepped over as every
                        // subscription steps over it.
                        let record = match CommitRecord::decode(payload) {
                            Ok(record) => record,
                            Err(e) => {
                                tracing::warn!(stream_id = wanted.stream_id, offset, error = %e, "undecodable record keyed like the stream stepped over");
                                return Ok(());
                            }
                        };
                        if record.stream_id == wanted.stream_id
                            && heads.admit(&record) == super::super::chain::Admission::Accepted
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

    pub(super) fn position(&self, stream_type: &str, partition: u32, offset: u64) -> Position {
        Position {
            stream_type: stream_type.to_owned(),
            partition,
            offset,
        }
    }
}
