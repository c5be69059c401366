//! The owner's background tasks: the tail that applies rule R to each delivered record, the
//! announcer of owned partitions, and the snapshotter that covers each committed offset.

use super::health::report;
use super::rebalance::rejoin;
use super::restore::restore;
use super::state::{Delivery, GroupConsumer, Key, Note, Shared, StreamSnapshot};
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::kafka::owners::enqueue_announcement;
use rdkafka::consumer::CommitMode;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The writer's event loop: tails owned partitions, restores new ones, snapshots, joins the
/// group again when it was fenced out, and leaves the group on stop.
pub(super) async fn drive(
    mut consumer: Arc<GroupConsumer>,
    shared: Arc<Shared>,
    producer: FutureProducer,
    mut stopped: watch::Receiver<bool>,
) {
    let mut snapshot_tick = tokio::time::interval(shared.config.snapshot_interval);
    let mut poll_tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        let assigned: Vec<(Key, u64)> = shared
            .assigned
            .lock()
            .map(|mut a| a.drain(..).collect())
            .unwrap_or_default();
        for (key, generation) in assigned {
            tokio::spawn(restore(consumer.clone(), shared.clone(), key, generation));
        }
        tokio::select! {
            _ = stopped.changed() => break,
            _ = poll_tick.tick() => {}
            _ = snapshot_tick.tick() => {
                snapshot(&consumer, &shared, &producer).await;
            }
            message = consumer.recv() => match message {
                Ok(message) => {
                    let Some(key) = shared.key_of(message.topic(), message.partition()) else { continue };
                    let Some(state) = shared.state(&key) else { continue };
                    let offset = message.offset() as u64;
                    let record = match CommitRecord::decode(message.payload().unwrap_or_default()) {
                        Ok(record) => Some(record),
                        Err(e) => {
                            tracing::error!(topic = message.topic(), offset, error = %e, "undecodable record stepped over by R");
                            None
                        }
                    };
                    let delivery = match (state.lock(), record) {
                        (Ok(mut s), Some(record)) => s.deliver(offset, record),
                        (Ok(mut s), None) => s.step_over(offset),
                        (Err(_), _) => Delivery::Held,
                    };
                    match delivery {
                        Delivery::BecameReady => report(&shared, &state),
                        Delivery::Overflowed => {
                            let mut tpl = TopicPartitionList::new();
                            tpl.add_partition(message.topic(), message.partition());
                            if let Err(e) = consumer.pause(&tpl) {
                                tracing::error!(error = %e, "could not pause a partition whose restore buffer is full");
                            }
                        }
                        Delivery::Held | Delivery::Applied => {}
                    }
                }
                Err(e) => match consumer.client().fatal_error() {
                    Some((_, why)) => match rejoin(&shared, &consumer, &why, &mut stopped).await {
                        Some(rejoined) => consumer = Arc::new(rejoined),
                        None => break,
                    },
                    None => {
                        tracing::warn!(error = %e, "writer consumer error");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
            }
        }
    }
    snapshot(&consumer, &shared, &producer).await;
    consumer.unsubscribe();
    // Let the revoke callback run and the leave reach the broker.
    let _ = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await;
    shared.revoke_all();
}

/// Announces the partitions this instance owns on the owners topic, and keeps announcing
/// them every `announce_interval` (an announcement is a lease, see [`super::owners`]);
/// withdraws a partition's announcement as soon as it is revoked, and all of them when the
/// writer stops (or is dropped). One task, so records reach the topic in the order ownership
/// changed.
pub(super) async fn announce(
    shared: Arc<Shared>,
    producer: FutureProducer,
    mut notes: mpsc::UnboundedReceiver<Note>,
    mut stopped: watch::Receiver<bool>,
) {
    let config = shared.config.clone();
    let mut refresh = tokio::time::interval(config.announce_interval);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut announced: HashSet<Key> = HashSet::new();
    loop {
        let (owned, lost, stop) = tokio::select! {
            note = notes.recv() => match note {
                // Ready, unless revoked since (its withdrawal is then already queued).
                Some(Note::Owned(key)) => (shared.ready_keys().into_iter().filter(|k| *k == key).collect(), Vec::new(), false),
                Some(Note::Lost(key)) => (Vec::new(), vec![key], false),
                None => (Vec::new(), announced.drain().collect(), true),
            },
            _ = stopped.changed() => (Vec::new(), announced.drain().collect(), true),
            _ = refresh.tick() => (shared.ready_keys(), Vec::new(), false),
        };
        let mut sent = Vec::new();
        for key in owned {
            sent.extend(enqueue_announcement(&config, &producer, &key, true));
            announced.insert(key);
        }
        for key in lost {
            sent.extend(enqueue_announcement(&config, &producer, &key, false));
            announced.remove(&key);
        }
        let acked = tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(sent)).await;
        match acked {
            Err(_) => tracing::warn!("owner announcements not acknowledged within 5 s"),
            Ok(results) => {
                for result in results {
                    if !matches!(result, Ok(Ok(_))) {
                        tracing::warn!(?result, "owner announcement not written");
                    }
                }
            }
        }
        if stop {
            return;
        }
    }
}

/// Writes dirty heads to the state topic, then commits the group offsets they cover.
pub(super) async fn snapshot(consumer: &Arc<GroupConsumer>, shared: &Arc<Shared>, producer: &FutureProducer) {
    let states: Vec<_> = shared
        .states
        .lock()
        .map(|s| s.values().cloned().collect())
        .unwrap_or_default();
    let mut commit = TopicPartitionList::new();
    for state in states {
        let (stream_type, partition, next, dirty) = {
            let Ok(mut s) = state.lock() else { continue };
            if !s.ready || s.revoked || s.dirty.is_empty() {
                continue;
            }
            let dirty: Vec<_> = std::mem::take(&mut s.dirty)
                .into_iter()
                .map(|stream_id| {
                    let head = s.heads.head(&stream_id);
                    let first_offset = s.first_offsets.get(&stream_id).copied();
                    let commands = s
                        .recent
                        .get(&stream_id)
                        .map(|r| r.iter().cloned().collect())
                        .unwrap_or_default();
                    (
                        stream_id,
                        StreamSnapshot {
                            version: head.version,
                            hash: head.hash,
                            commands,
                            covered: s.next,
                            first_offset,
                        },
                    )
                })
                .collect();
            (s.stream_type.clone(), s.partition, s.next, dirty)
        };
        let topic = shared.config.state_topic(&stream_type);
        // All of a partition's snapshots in flight at once, so the producer batches them: one
        // round trip per batch, not per stream (a busy partition dirties thousands of streams
        // between ticks, and the tail is not read while this runs).
        let sends = dirty.iter().filter_map(|(stream_id, snapshot)| {
            let payload = serde_json::to_vec(snapshot).ok()?;
            let topic = &topic;
            Some(async move {
                producer
                    .send(
                        FutureRecord::to(topic)
                            .partition(partition as i32)
                            .key(stream_id)
                            .payload(&payload),
                        Duration::from_secs(10),
                    )
                    .await
            })
        });
        let ok = futures::future::join_all(sends).await.iter().all(Result::is_ok);
        if ok {
            let _ = commit.add_partition_offset(
                &shared.config.events_topic(&stream_type),
                partition as i32,
                Offset::Offset(next as i64),
            );
        } else if let Ok(mut s) = state.lock() {
            s.dirty.extend(dirty.into_iter().map(|(id, _)| id));
        }
    }
    if commit.count() > 0 {
        let consumer = consumer.clone();
        let committed = tokio::task::spawn_blocking(move || consumer.commit(&commit, CommitMode::Sync)).await;
        if !matches!(committed, Ok(Ok(()))) {
            // Likely no longer a member of the current generation (paused past the session):
            // the snapshots just written may be stale, which restores tolerate by taking the
            // newest head per stream.
            tracing::warn!(instance = %shared.config.instance_id, result = ?committed, "offset commit after snapshot failed");
        }
    }
}
