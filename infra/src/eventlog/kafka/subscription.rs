//! Plain subscriptions: assigned consumers read in batches.

use super::support::unavailable;
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::{Checkpoint, Delivered, DeliveredRecord, EventLogError, Subscription};
use async_trait::async_trait;
use rdkafka::consumer::StreamConsumer;
use rdkafka::Message;
use std::time::Duration;

/// A batch of up to `max` records, each made with `make` from its partition, offset and
/// stored bytes: `first`, then each record that arrives within 1 ms of the one before;
/// `checkpoint` moves past each. With `only_held`, records of partitions not in `checkpoint`
/// (taken away, still queued) are left out.
///
/// A record `make` cannot read (bytes that do not decode as a commit: anyone with broker
/// access can write them) is stepped over, logged and counted
/// (`erp_eventlog_unreadable_total`); `erp verify` names it. No reader can accept it, so
/// every reader's heads stay where they were. The checkpoint moves past it, so a reader that
/// waits for the log's end offsets (readiness, a replay's catch-up, lag) reaches them; a
/// batch may then be empty while a partition's position moved (a projection stores it:
/// `Projector::run`). Failing the batch instead lost the records gathered before it (the
/// consumer had moved past them), and a shared subscription, repositioned at its stored
/// positions, met the same record again for ever.
pub(super) async fn gather<C: rdkafka::consumer::ConsumerContext + 'static, T>(
    consumer: &StreamConsumer<C>,
    first: rdkafka::message::OwnedMessage,
    max: usize,
    checkpoint: &mut Checkpoint,
    only_held: bool,
    make: fn(u32, u64, &[u8]) -> Result<T, EventLogError>,
) -> Result<Vec<T>, EventLogError> {
    let mut batch = Vec::new();
    let mut next = Some(first);
    while let Some(message) = next.take() {
        let partition = message.partition() as u32;
        let offset = message.offset() as u64;
        if !only_held || checkpoint.contains_key(&partition) {
            match make(partition, offset, message.payload().unwrap_or_default()) {
                Ok(made) => batch.push(made),
                Err(e) => stepped_over(message.topic(), partition, offset, &e),
            }
            checkpoint.insert(partition, offset + 1);
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

/// Makes the count of `topic`'s unreadable records a series at zero as a reader starts on
/// it. A counter first written at its first increment appears at 1 (or more), and the alert's
/// `increase()` over a series that starts there reads 0: the first strays never raised it.
pub(super) fn count_unreadable_from_zero(topic: &str) {
    crate::telemetry::metrics::install();
    metrics::counter!("erp_eventlog_unreadable_total", "topic" => topic.to_owned()).increment(0);
}

/// Logs and counts a record of `topic` a reader could not read and stepped over.
pub(super) fn stepped_over(topic: &str, partition: u32, offset: u64, error: &EventLogError) {
    tracing::warn!(topic, partition, offset, error = %error, "unreadable record stepped over");
    metrics::counter!("erp_eventlog_unreadable_total", "topic" => topic.to_owned()).increment(1);
}

/// A record decoded ([`Subscription::next_batch`]).
pub(super) fn decoded(partition: u32, offset: u64, bytes: &[u8]) -> Result<Delivered, EventLogError> {
    Ok(Delivered {
        partition,
        offset,
        commit: CommitRecord::decode(bytes)?,
    })
}

/// A record as stored ([`Subscription::next_records`]).
fn stored(partition: u32, offset: u64, bytes: &[u8]) -> Result<DeliveredRecord, EventLogError> {
    Ok(DeliveredRecord {
        partition,
        offset,
        bytes: bytes.to_vec(),
    })
}

pub(super) struct KafkaSubscription {
    pub(super) consumer: StreamConsumer,
    pub(super) topic: String,
    pub(super) checkpoint: Checkpoint,
}

impl KafkaSubscription {
    /// The next batch, each record made with `make` ([`gather`]); empty after `wait`.
    async fn next_made<T>(
        &mut self,
        max: usize,
        wait: Duration,
        make: fn(u32, u64, &[u8]) -> Result<T, EventLogError>,
    ) -> Result<Vec<T>, EventLogError> {
        let first = match tokio::time::timeout(wait, self.consumer.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(message) => message.map_err(unavailable)?.detach(),
        };
        gather(&self.consumer, first, max, &mut self.checkpoint, false, make).await
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, EventLogError> {
        self.next_made(max, wait, decoded).await
    }

    async fn next_records(&mut self, max: usize, wait: Duration) -> Result<Vec<DeliveredRecord>, EventLogError> {
        self.next_made(max, wait, stored).await
    }

    fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    fn unreadable(&self, partition: u32, offset: u64, error: &EventLogError) {
        stepped_over(&self.topic, partition, offset, error);
    }
}
