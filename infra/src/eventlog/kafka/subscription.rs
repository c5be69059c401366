//! Plain subscriptions: assigned consumers read in batches.

use super::support::unavailable;
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::{Checkpoint, Delivered, EventLogError, Subscription};
use async_trait::async_trait;
use rdkafka::consumer::StreamConsumer;
use rdkafka::Message;
use std::time::Duration;

/// A batch of up to `max` records: `first`, then each record that arrives within 1 ms of the
/// one before; `checkpoint` moves past each. With `only_held`, records of partitions not in
/// `checkpoint` (taken away, still queued) are left out.
pub(super) async fn gather<C: rdkafka::consumer::ConsumerContext + 'static>(
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

pub(super) struct KafkaSubscription {
    pub(super) consumer: StreamConsumer,
    pub(super) checkpoint: Checkpoint,
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
