//! Restoring a partition on assignment: state topic, then the events tail, per generation.

use super::health::report;
use super::state::{
    GroupConsumer, Key, NewestSnapshots, PartitionState, Restored, Shared, StreamSnapshot, RESTORE_BACKOFF_FIRST,
    RESTORE_BACKOFF_MAX, STATE_READ_TIMEOUT,
};
use crate::eventlog::chain::Head;
use crate::eventlog::kafka::config::KafkaConfig;
use crate::eventlog::kafka::support::unavailable;
use crate::eventlog::EventLogError;
use rdkafka::consumer::BaseConsumer;
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Restores one newly assigned partition ([`load`]), retrying with backoff until it succeeds
/// or the assignment is no longer current.
pub(super) async fn restore(consumer: Arc<GroupConsumer>, shared: Arc<Shared>, key: Key, generation: u64) {
    let finished = restore_with(&shared, &key, generation, RESTORE_BACKOFF_FIRST, {
        let (consumer, config, key) = (consumer.clone(), shared.config.clone(), key.clone());
        move || load(&consumer, &config, &key)
    })
    .await;
    if let Some(Finished {
        refill_from: Some(offset),
        ..
    }) = finished
    {
        // The buffer overflowed while restoring: the partition was paused at `offset`; read
        // it again from there.
        let topic = shared.config.events_topic(&key.0);
        let resumed = tokio::task::spawn_blocking(move || {
            consumer
                .seek(
                    &topic,
                    key.1 as i32,
                    Offset::Offset(offset as i64),
                    Duration::from_secs(10),
                )
                .and_then(|()| {
                    let mut tpl = TopicPartitionList::new();
                    tpl.add_partition(&topic, key.1 as i32);
                    consumer.resume(&tpl)
                })
        })
        .await;
        if !matches!(resumed, Ok(Ok(()))) {
            tracing::error!(?resumed, offset, "could not resume a partition paused while restoring");
        }
    }
}

/// Runs `load` until it succeeds and [`finish_restore`] applies it, waiting `backoff` (then
/// twice as long each time, up to [`RESTORE_BACKOFF_MAX`]) after each failure. Gives up as
/// soon as the assignment `generation` is no longer the partition's current one.
pub(super) async fn restore_with<F>(
    shared: &Arc<Shared>,
    key: &Key,
    generation: u64,
    mut backoff: Duration,
    load: F,
) -> Option<Finished>
where
    F: Fn() -> Result<Restored, EventLogError> + Clone + Send + 'static,
{
    loop {
        let current = shared
            .state(key)
            .is_some_and(|s| s.lock().is_ok_and(|s| restore_is_current(&s, generation)));
        if !current {
            return None;
        }
        let loaded = tokio::task::spawn_blocking(load.clone())
            .await
            .unwrap_or_else(|e| Err(EventLogError::Unavailable(format!("restore task failed: {e}"))));
        match loaded {
            Ok(restored) => return finish_restore(shared, key, generation, restored),
            Err(e) => {
                shared.restore_failures.fetch_add(1, Ordering::Relaxed);
                // The assignment's own count (the health report's): a newer assignment of the
                // partition did not fail.
                if let Some(state) = shared.state(key) {
                    if let Ok(mut s) = state.lock() {
                        if s.generation == generation {
                            s.restore_failures += 1;
                        }
                    }
                }
                tracing::error!(stream_type = %key.0, partition = key.1, error = %e, retry_in_ms = backoff.as_millis() as u64, "restore failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RESTORE_BACKOFF_MAX);
            }
        }
    }
}

/// Whether a restore started for assignment `generation` may still apply to this state: the
/// partition was not revoked (and perhaps given back, with a newer generation) meanwhile, and
/// no other restore has applied.
pub(super) fn restore_is_current(state: &PartitionState, generation: u64) -> bool {
    state.generation == generation && state.restoring && !state.revoked
}

/// How a restore ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Finished {
    pub(super) ready: bool,
    /// The first record dropped because the buffer was full: the tail reads again from here.
    pub(super) refill_from: Option<u64>,
}

/// Applies a restore to the partition's state, unless the state belongs to another
/// assignment than the one the restore was started for: then the restore is dropped (`None`)
/// and the current assignment's own restore applies.
pub(super) fn finish_restore(shared: &Shared, key: &Key, generation: u64, restored: Restored) -> Option<Finished> {
    let state = shared.state(key)?;
    let finished = {
        let mut s = state.lock().ok()?;
        if !restore_is_current(&s, generation) {
            tracing::info!(stream_type = %key.0, partition = key.1, generation, current = s.generation, "restore of an earlier assignment dropped");
            return None;
        }
        let Restored {
            snapshots,
            start,
            target,
        } = restored;
        for (stream_id, snapshot) in snapshots.newest {
            if let Some(offset) = snapshot.first_offset {
                s.first_offsets.insert(stream_id.clone(), offset);
            }
            s.heads.restore(
                stream_id.clone(),
                Head {
                    version: snapshot.version,
                    hash: snapshot.hash,
                },
            );
            for appended in snapshot.commands {
                s.recent
                    .entry(stream_id.clone())
                    .or_default()
                    .push_back(appended.clone());
                s.commands.insert(appended.command_id, appended);
            }
        }
        s.dirty.extend(snapshots.stale_last);
        s.next = start;
        // Past the records dropped from a full buffer, whatever end the restore read: the
        // replay below must not make the partition ready before the refill has read them.
        let refill_from = s.overflow_from.take();
        s.target = refill_from.map_or(target, |offset| target.max(offset + 1));
        s.restoring = false;
        let buffered = std::mem::take(&mut s.buffered);
        for (offset, record) in buffered {
            s.apply(offset, record);
        }
        if refill_from.is_some() {
            s.refilling = true;
        }
        if s.next >= s.target {
            s.ready = true;
        }
        Finished {
            ready: s.ready,
            refill_from,
        }
    };
    if finished.ready {
        report(shared, &state);
    }
    Some(finished)
}

/// Reads what a restore needs: the group's committed offset and the high watermark of the
/// events partition, and the newest snapshot per stream from the whole state partition.
/// Blocking.
pub(super) fn load(consumer: &GroupConsumer, config: &KafkaConfig, key: &Key) -> Result<Restored, EventLogError> {
    let (stream_type, partition) = key;
    let events_topic = config.events_topic(stream_type);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&events_topic, *partition as i32);
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .map_err(unavailable)?;
    let start = committed
        .elements()
        .first()
        .and_then(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(o as u64),
            _ => None,
        })
        .unwrap_or(0);
    let (_, high) = consumer
        .fetch_watermarks(&events_topic, *partition as i32, Duration::from_secs(10))
        .map_err(unavailable)?;
    let reader: BaseConsumer = config
        .consumer_config(&format!("{}.restore", config.prefix))
        .create()
        .map_err(unavailable)?;
    let state_topic = config.state_topic(stream_type);
    let (low, state_high) = reader
        .fetch_watermarks(&state_topic, *partition as i32, Duration::from_secs(10))
        .map_err(unavailable)?;
    let snapshots = read_state(
        &reader,
        &state_topic,
        *partition,
        (low, state_high),
        Instant::now() + STATE_READ_TIMEOUT,
    )?;
    Ok(Restored {
        snapshots,
        start,
        target: high.max(0) as u64,
    })
}

/// Reads one partition of the state topic from `low` up to `high`, or fails: a restore from
/// part of the snapshots would take every stream not read for a new one (version 0), and
/// acknowledge commits every reader then fences.
pub(super) fn read_state(
    reader: &BaseConsumer,
    topic: &str,
    partition: u32,
    (low, high): (i64, i64),
    deadline: Instant,
) -> Result<NewestSnapshots, EventLogError> {
    let mut snapshots = NewestSnapshots::default();
    if high <= low {
        return Ok(snapshots);
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition as i32, Offset::Offset(low))
        .map_err(unavailable)?;
    reader.assign(&tpl).map_err(unavailable)?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(EventLogError::Unavailable(format!(
                "read {topic}/{partition} only in part (to {high}) before the deadline"
            )));
        }
        let Some(message) = reader.poll(left.min(Duration::from_millis(200))) else {
            continue;
        };
        let message = message.map_err(unavailable)?;
        if let (Some(key), Some(payload)) = (message.key(), message.payload()) {
            match serde_json::from_slice::<StreamSnapshot>(payload) {
                Ok(snapshot) => snapshots.add(String::from_utf8_lossy(key).into_owned(), snapshot),
                Err(e) => tracing::warn!(topic, offset = message.offset(), error = %e, "unreadable snapshot skipped"),
            }
        }
        if message.offset() + 1 >= high {
            return Ok(snapshots);
        }
    }
}
