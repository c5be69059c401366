//! The writer group's rebalance callbacks: a revoke drops the partitions' state at once, an
//! assign opens a new generation for each partition added and queues its restore.

use super::state::{Note, OwnerContext, PartitionState, RestoreRound};
use crate::eventlog::kafka::support::count_rebalance;
use rdkafka::consumer::Consumer;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

impl ClientContext for OwnerContext {}

impl ConsumerContext for OwnerContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let Ok(mut states) = self.shared.states.lock() else {
                return;
            };
            for element in tpl.elements() {
                if let Some(key) = self.shared.key_of(element.topic(), element.partition()) {
                    if let Some(state) = states.remove(&key) {
                        if let Ok(mut state) = state.lock() {
                            state.revoke();
                        }
                        let _ = self.shared.notes.send(Note::Lost(key));
                    }
                }
            }
            tracing::info!(instance = %self.shared.config.instance_id, revoked = tpl.count(), "partitions revoked");
            if tpl.count() > 0 {
                count_rebalance(&self.shared.config.writer_group, "revoked");
            }
            // Restores of revoked partitions never report: the next assignment starts a new round.
            if let Ok(mut round) = self.shared.round.lock() {
                *round = RestoreRound::default();
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
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
