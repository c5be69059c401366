//! The writer group's membership: the consumer that joins it, the rebalance callbacks — a
//! revoke drops the partitions' state at once, an assign opens a new generation for each
//! partition added and queues its restore — and the way back in after the group fenced this
//! instance out.
//!
//! Membership is static (`group.instance.id` is the instance id), so a writer that restarts
//! its consumer, or whose session a broker restart outlived, gets its partitions back without
//! a rebalance of everyone else. The price is a fatal error: when the broker gives the id to a
//! newer member (librdkafka's own rejoin after a session timeout, or a second process started
//! with the same id), the older consumer is fenced and never delivers again. The writer then
//! gives up every partition, as a revoke of all of them would, and joins with a new consumer.

use super::state::{GroupConsumer, Key, Note, OwnerContext, PartitionState, RestoreRound, Shared};
use crate::eventlog::kafka::support::{count_rebalance, unavailable};
use crate::eventlog::EventLogError;
use rdkafka::consumer::Consumer;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a writer fenced out of its group waits before it joins again. It also bounds how
/// fast two processes given the same instance id can fence each other in turn.
const REJOIN_PAUSE: Duration = Duration::from_secs(1);

/// Joins the writer group under this instance's static membership id, subscribed to every
/// events topic when the instance writes (one that does not still needs the consumer for its
/// restores' offset lookups).
pub(super) fn join(shared: &Arc<Shared>) -> Result<GroupConsumer, EventLogError> {
    let config = &shared.config;
    let consumer = config
        .consumer_config(&config.writer_group)
        .set("group.instance.id", &config.instance_id)
        // Incremental rebalances: a join or leave moves only the partitions that change
        // hands; the rest stay assigned, restored and serving.
        .set("partition.assignment.strategy", "cooperative-sticky")
        .create_with_context(OwnerContext {
            shared: shared.clone(),
            retired: AtomicBool::new(false),
        })
        .map_err(unavailable)?;
    // Wrapped before anything can fail, so that even then it is closed aside.
    let consumer = GroupConsumer(Some(consumer));
    if config.write {
        let topics: Vec<String> = config.stream_types.iter().map(|t| config.events_topic(t)).collect();
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topic_refs).map_err(unavailable)?;
    }
    Ok(consumer)
}

/// After the group fenced `fenced` out (a fatal error: it will never deliver again), gives up
/// every partition and joins with a new consumer, pausing [`REJOIN_PAUSE`] before each try.
/// The fenced consumer is retired first, so its close, wherever it runs, cannot revoke the
/// new consumer's partitions. `None` when the writer is stopped meanwhile.
pub(super) async fn rejoin(
    shared: &Arc<Shared>,
    fenced: &GroupConsumer,
    why: &str,
    stopped: &mut watch::Receiver<bool>,
) -> Option<GroupConsumer> {
    fenced.context().retired.store(true, Ordering::Release);
    tracing::error!(
        instance = %shared.config.instance_id,
        error = why,
        "writer fenced out of its group: giving up its partitions and joining again"
    );
    shared.revoke_all();
    if let Ok(mut assigned) = shared.assigned.lock() {
        assigned.clear();
    }
    loop {
        tokio::select! {
            _ = stopped.changed() => return None,
            _ = tokio::time::sleep(REJOIN_PAUSE) => {}
        }
        match join(shared) {
            Ok(consumer) => {
                count_rebalance(&shared.config.writer_group, "rejoined");
                return Some(consumer);
            }
            Err(e) => tracing::warn!(error = %e, "could not join the writer group again"),
        }
    }
}

impl Shared {
    /// Drops the state of each partition taken from this instance: its waiting appends get
    /// 503, its announcement is withdrawn, and restores of the current round never report
    /// (the next assignment starts a new round).
    pub(super) fn revoke(&self, keys: impl IntoIterator<Item = Key>) {
        if let Ok(mut states) = self.states.lock() {
            for key in keys {
                if let Some(state) = states.remove(&key) {
                    if let Ok(mut state) = state.lock() {
                        state.revoke();
                    }
                    let _ = self.notes.send(Note::Lost(key));
                }
            }
        }
        if let Ok(mut round) = self.round.lock() {
            *round = RestoreRound::default();
        }
    }

    /// Drops every partition's state, as a revoke of all of them would.
    pub(super) fn revoke_all(&self) {
        let held: Vec<Key> = self
            .states
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        self.revoke(held)
    }
}

impl ClientContext for OwnerContext {}

impl ConsumerContext for OwnerContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if self.retired.load(Ordering::Acquire) {
            return;
        }
        if let Rebalance::Revoke(tpl) = rebalance {
            let keys = tpl
                .elements()
                .into_iter()
                .filter_map(|element| self.shared.key_of(element.topic(), element.partition()));
            self.shared.revoke(keys);
            tracing::info!(instance = %self.shared.config.instance_id, revoked = tpl.count(), "partitions revoked");
            if tpl.count() > 0 {
                count_rebalance(&self.shared.config.writer_group, "revoked");
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if self.retired.load(Ordering::Acquire) {
            return;
        }
        if let Rebalance::Assign(tpl) = rebalance {
            // A partition paused by an earlier assignment's full restore buffer starts afresh.
            if let Err(e) = consumer.resume(tpl) {
                tracing::warn!(error = %e, "could not resume newly assigned partitions");
            }
            let Ok(mut states) = self.shared.states.lock() else {
                return;
            };
            let mut assigned = Vec::new();
            for element in tpl.elements() {
                if let Some(key) = self.shared.key_of(element.topic(), element.partition()) {
                    let held = states.get(&key).is_some_and(|s| s.lock().is_ok_and(|s| !s.revoked));
                    if held {
                        // Incremental assignments add partitions; one already held stays as is.
                        continue;
                    }
                    let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed) + 1;
                    let mut state = PartitionState::new(key.0.clone(), key.1);
                    state.generation = generation;
                    states.insert(key.clone(), Arc::new(Mutex::new(state)));
                    assigned.push((key, generation));
                }
            }
            tracing::info!(instance = %self.shared.config.instance_id, assigned = assigned.len(), "partitions assigned");
            if !assigned.is_empty() {
                count_rebalance(&self.shared.config.writer_group, "assigned");
            }
            if let Ok(mut round) = self.shared.round.lock() {
                if round.pending == 0 {
                    *round = RestoreRound {
                        started: Some(Instant::now()),
                        ..RestoreRound::default()
                    };
                }
                round.pending += assigned.len();
            }
            if let Ok(mut pending) = self.shared.assigned.lock() {
                pending.extend(assigned);
            }
        }
    }
}
