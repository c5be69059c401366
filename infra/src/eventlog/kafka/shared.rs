//! Shared subscriptions: the members of a consumer group divide the partitions of one events
//! topic between them ([`super::super::EventLog::subscribe_shared`]).
//!
//! The group uses the cooperative-sticky assignor, so a member joining or leaving moves only
//! the partitions that change hands: the others stay where they are and keep being read all
//! through the rebalance. Each member keeps one consumer for as long as it runs; nothing is
//! re-created when partitions move.
//!
//! **Where a partition starts.** The group's committed offsets are not trusted: the reader's
//! own store commits its position atomically with its rows, so it alone knows where it
//! stands. When the group gives this member partitions, librdkafka's rebalance callback only
//! notes them and returns without assigning them to the consumer (librdkafka waits for that
//! call and keeps heartbeating meanwhile). The next batch asks the reader's [`Positions`]
//! where each one stands and assigns them at exactly those offsets, then returns an empty
//! batch so the caller sees the new positions in [`Subscription::checkpoint`] before any
//! record of them arrives.
//!
//! **When a partition is taken away.** Rebalance callbacks run only while the consumer is
//! polled, that is inside `next_batch`, never while the caller applies a batch: the batch
//! in progress is finished first (the group waits for this member's revocation before it
//! gives the partition to another). Records of a revoked partition gathered in the same call
//! are dropped and the partition leaves the checkpoint. Should a member stall past its
//! session and lose partitions while still writing, the store's per-partition position check
//! refuses its late batch (see `infra::readmodel`).
//!
//! Committed offsets are still written, after the reader says it has applied a batch
//! ([`Subscription::applied`], at most once a second), so broker tools show the group's lag.

use super::super::{Checkpoint, Delivered, EventLogError, Positions, Subscription};
use super::config::KafkaConfig;
use super::subscription::{decoded, gather};
use super::support::{count_rebalance, unavailable};
use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol, StreamConsumer};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How often applied positions are committed to the group at most.
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// How long leaving the group may take on close.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the group decided since the subscription last looked.
#[derive(Debug, Default)]
struct Changes {
    /// Given to this member, waiting to be positioned and assigned to the consumer.
    pending: BTreeSet<u32>,
    /// Taken away.
    revoked: BTreeSet<u32>,
    /// The group fell back to the eager protocol: every rebalance takes all partitions back
    /// and gives the whole new share (`assign`, not `incremental_assign`).
    eager: bool,
    /// Closing: assignments are taken as they come, nothing more is read.
    closing: bool,
}

struct Membership {
    topic: String,
    group: String,
    changes: Mutex<Changes>,
    changed: Notify,
}

/// Receives the group's decisions inside `recv`.
struct MemberContext(Arc<Membership>);

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let membership = &self.0;
        let eager = !matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
        let partitions: Vec<u32> = tpl
            .elements_for_topic(&membership.topic)
            .iter()
            .map(|e| e.partition() as u32)
            .collect();
        let Ok(mut changes) = membership.changes.lock() else {
            return;
        };
        changes.eager = eager;
        if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if changes.closing || partitions.is_empty() {
                // Nothing to position (an empty share must still be acknowledged).
                let done = if eager {
                    consumer.assign(tpl)
                } else {
                    consumer.incremental_assign(tpl)
                };
                if let Err(e) = done {
                    tracing::warn!(group = %membership.group, error = %e, "could not take an assignment");
                }
            } else {
                // Positioned from the reader's store by the next batch, which assigns them.
                tracing::info!(group = %membership.group, ?partitions, "partitions given");
                count_rebalance(&membership.group, "assigned");
                changes.pending.extend(partitions);
                membership.changed.notify_one();
            }
            return;
        }
        // Revoked (or lost, or a rebalance error, which librdkafka also ends by unassigning).
        if err != RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
            tracing::warn!(group = %membership.group, error = ?err, "rebalance error; giving the partitions up");
        }
        let mut held = TopicPartitionList::new();
        for p in &partitions {
            // One still waiting to be positioned was never assigned to the consumer.
            if !changes.pending.remove(p) {
                held.add_partition(&membership.topic, *p as i32);
            }
        }
        let done = if eager {
            consumer.unassign()
        } else {
            consumer.incremental_unassign(&held)
        };
        if let Err(e) = done {
            tracing::warn!(group = %membership.group, error = %e, "could not give partitions up");
        }
        tracing::info!(group = %membership.group, ?partitions, "partitions taken away");
        if !partitions.is_empty() {
            count_rebalance(&membership.group, "revoked");
        }
        changes.revoked.extend(partitions);
        membership.changed.notify_one();
    }
}

/// The group member's consumer, closed on a thread of its own when dropped: librdkafka's
/// close runs a final rebalance and leaves the group, which may take a while, and must not
/// hold up the async worker that drops the subscription.
struct Member(Option<StreamConsumer<MemberContext>>);

impl std::ops::Deref for Member {
    type Target = StreamConsumer<MemberContext>;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("the consumer is only taken by drop")
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(consumer) = self.0.take() {
            if let Ok(mut changes) = consumer.context().0.changes.lock() {
                changes.closing = true;
            }
            let closing = std::thread::Builder::new()
                .name("kafka-close".into())
                .spawn(move || drop(consumer));
            if let Err(e) = closing {
                tracing::warn!(error = %e, "could not close a group reader aside");
            }
        }
    }
}

/// A subscription whose partitions the group's members share.
pub(super) struct SharedSubscription {
    consumer: Arc<Member>,
    membership: Arc<Membership>,
    positions: Arc<dyn Positions>,
    /// The partitions held and positioned, each at the offset after its last delivered record.
    checkpoint: Checkpoint,
    /// Ask the store again where every held partition stands before the next batch.
    reposition: bool,
    /// Applied positions not yet committed to the group.
    uncommitted: Option<Checkpoint>,
    committed_at: Instant,
}

impl SharedSubscription {
    /// Joins `group` on the events topic of `stream_type`.
    pub(super) fn join(
        config: &KafkaConfig,
        stream_type: &str,
        group: &str,
        positions: Arc<dyn Positions>,
    ) -> Result<Self, EventLogError> {
        let topic = config.events_topic(stream_type);
        let membership = Arc::new(Membership {
            topic: topic.clone(),
            group: group.to_owned(),
            changes: Mutex::new(Changes::default()),
            changed: Notify::new(),
        });
        // Dynamic membership: a member that stops leaves at once and its partitions move then,
        // not after its session times out.
        let consumer: StreamConsumer<MemberContext> = config
            .consumer_config(group)
            .set("partition.assignment.strategy", "cooperative-sticky")
            .create_with_context(MemberContext(membership.clone()))
            .map_err(unavailable)?;
        consumer.subscribe(&[topic.as_str()]).map_err(unavailable)?;
        super::subscription::count_unreadable_from_zero(&topic);
        Ok(Self {
            consumer: Arc::new(Member(Some(consumer))),
            membership,
            positions,
            checkpoint: Checkpoint::new(),
            reposition: false,
            uncommitted: None,
            committed_at: Instant::now(),
        })
    }

    fn changes(&self) -> Result<std::sync::MutexGuard<'_, Changes>, EventLogError> {
        self.membership
            .changes
            .lock()
            .map_err(|_| EventLogError::Unavailable("group membership poisoned".into()))
    }

    /// Forgets partitions taken away, positions those given (and, when asked to, those held)
    /// at the reader's stored positions. Returns whether the partitions held or their
    /// positions changed.
    ///
    /// Partitions given stay noted until they are assigned, so a batch dropped half-way (the
    /// caller stopping) leaves them for [`Subscription::close`]; no rebalance callback can run
    /// meanwhile, as the consumer is not polled here.
    async fn settle(&mut self) -> Result<bool, EventLogError> {
        let (pending, revoked, eager) = {
            let mut changes = self.changes()?;
            (
                changes.pending.clone(),
                std::mem::take(&mut changes.revoked),
                changes.eager,
            )
        };
        for p in &revoked {
            self.checkpoint.remove(p);
        }
        if pending.is_empty() && !self.reposition {
            return Ok(!revoked.is_empty());
        }
        // On failure asked again on the next batch; the group waits for the assignment meanwhile.
        let stored = self.positions.positions().await?;
        let at = |p: &u32| stored.get(p).copied().unwrap_or(0);
        if self.reposition {
            let moved: Vec<(u32, u64)> = self
                .checkpoint
                .iter()
                .filter(|(p, next)| !pending.contains(p) && at(p) != **next)
                .map(|(p, _)| (*p, at(p)))
                .collect();
            for (partition, offset) in moved {
                let (consumer, topic) = (self.consumer.clone(), self.membership.topic.clone());
                tokio::task::spawn_blocking(move || {
                    consumer.seek(
                        &topic,
                        partition as i32,
                        Offset::Offset(offset as i64),
                        Duration::from_secs(10),
                    )
                })
                .await
                .map_err(|e| EventLogError::Unavailable(e.to_string()))?
                .map_err(unavailable)?;
                tracing::info!(group = %self.membership.group, partition, offset, "partition repositioned at the stored position");
                self.checkpoint.insert(partition, offset);
            }
            self.reposition = false;
        }
        if !pending.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for p in &pending {
                tpl.add_partition_offset(&self.membership.topic, *p as i32, Offset::Offset(at(p) as i64))
                    .map_err(unavailable)?;
            }
            let assigned = if eager {
                self.consumer.assign(&tpl)
            } else {
                self.consumer.incremental_assign(&tpl)
            };
            assigned.map_err(unavailable)?;
            self.changes()?.pending.retain(|p| !pending.contains(p));
            for p in &pending {
                self.checkpoint.insert(*p, at(p));
            }
            let positioned: Vec<(u32, u64)> = pending.iter().map(|p| (*p, at(p))).collect();
            tracing::info!(group = %self.membership.group, ?positioned, "partitions positioned at the stored positions");
        }
        Ok(true)
    }

    fn commit(&mut self) {
        let Some(at) = self.uncommitted.take() else { return };
        let mut tpl = TopicPartitionList::new();
        for (p, next) in at.iter().filter(|(p, _)| self.checkpoint.contains_key(p)) {
            if tpl
                .add_partition_offset(&self.membership.topic, *p as i32, Offset::Offset(*next as i64))
                .is_err()
            {
                return;
            }
        }
        if tpl.count() > 0 {
            if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
                tracing::debug!(group = %self.membership.group, error = %e, "could not commit the group's offsets");
            }
        }
        self.committed_at = Instant::now();
    }
}

#[async_trait]
impl Subscription for SharedSubscription {
    async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, EventLogError> {
        if self.settle().await? {
            return Ok(Vec::new());
        }
        let first = tokio::select! {
            // The group moved partitions: settle them before reading on.
            _ = self.membership.changed.notified() => None,
            message = tokio::time::timeout(wait, self.consumer.recv()) => match message {
                Err(_) => None,
                Ok(message) => Some(message.map_err(unavailable)?.detach()),
            },
        };
        let Some(first) = first else {
            self.commit();
            return Ok(Vec::new());
        };
        // Only partitions held (a record of one taken away may still be queued).
        let mut batch = gather(&self.consumer, first, max, &mut self.checkpoint, true, decoded).await?;
        // Taken away while gathering: not this member's to apply any more.
        let revoked = self.changes()?.revoked.clone();
        if !revoked.is_empty() {
            batch.retain(|d| !revoked.contains(&d.partition));
            for p in &revoked {
                self.checkpoint.remove(p);
            }
        }
        Ok(batch)
    }

    fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    fn unreadable(&self, partition: u32, offset: u64, error: &EventLogError) {
        super::subscription::stepped_over(&self.membership.topic, partition, offset, error);
    }

    fn applied(&mut self, at: &Checkpoint) {
        self.uncommitted = Some(at.clone());
        if self.committed_at.elapsed() >= COMMIT_INTERVAL {
            self.commit();
        }
    }

    async fn reposition(&mut self) -> Result<bool, EventLogError> {
        self.reposition = true;
        self.uncommitted = None;
        Ok(true)
    }

    async fn close(&mut self) {
        let pending = match self.changes() {
            Ok(mut changes) => {
                changes.closing = true;
                std::mem::take(&mut changes.pending)
            }
            Err(_) => return,
        };
        if !pending.is_empty() {
            // Taken as they are (never read), so the group's round completes and the leave follows.
            let mut tpl = TopicPartitionList::new();
            for p in &pending {
                tpl.add_partition(&self.membership.topic, *p as i32);
            }
            let eager = self.changes().map(|c| c.eager).unwrap_or(false);
            let taken = if eager {
                self.consumer.assign(&tpl)
            } else {
                self.consumer.incremental_assign(&tpl)
            };
            if let Err(e) = taken {
                tracing::debug!(group = %self.membership.group, error = %e, "could not take the last assignment");
            }
        }
        self.commit();
        self.consumer.unsubscribe();
        // Serve the revocation (the callback gives the partitions up), after which librdkafka
        // sends the leave.
        let deadline = Instant::now() + LEAVE_TIMEOUT;
        while Instant::now() < deadline {
            let gone = self
                .changes()
                .map(|c| self.checkpoint.keys().all(|p| c.revoked.contains(p)))
                .unwrap_or(true);
            if gone {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), self.consumer.recv()).await;
        }
        self.checkpoint.clear();
        tracing::info!(group = %self.membership.group, "left the group");
    }
}
