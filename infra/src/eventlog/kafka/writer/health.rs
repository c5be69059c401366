//! What an owner reports about its partitions: readiness, restores, and the heads it holds
//! compared with the log's (rule R) at intervals.

use super::state::{Key, LogHeads, Note, PartitionState, RestoreReport, Shared, STATE_READ_TIMEOUT};
use crate::eventlog::chain::StreamHeads;
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::health::{LogHealth, StuckStream, UnreadyPartition};
use crate::eventlog::kafka::config::KafkaConfig;
use crate::eventlog::kafka::owners::OwnerHeads;
use crate::eventlog::kafka::support::unavailable;
use crate::eventlog::kafka::writer::Writers;
use crate::eventlog::EventLogError;
use rdkafka::consumer::BaseConsumer;
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

impl Writers {
    /// What this instance knows to be wrong with the partitions it owns ([`LogHealth`]).
    pub(in super::super) fn health(&self) -> LogHealth {
        let bound = self.shared.config.not_ready_bound;
        let states: Vec<(Key, Arc<Mutex<PartitionState>>)> = self
            .shared
            .states
            .lock()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let stuck = self.shared.stuck.lock().map(|s| s.clone()).unwrap_or_default();
        let mut health = LogHealth {
            restore_failures_total: self.shared.restore_failures.load(Ordering::Relaxed),
            ..LogHealth::default()
        };
        for (key, state) in states {
            let Ok(s) = state.lock() else { continue };
            if s.revoked {
                continue;
            }
            if s.ready {
                health.partitions_owned += 1;
                if let Some((generation, streams)) = stuck.get(&key) {
                    if *generation == s.generation {
                        health.stuck_streams.extend(streams.iter().cloned());
                    }
                }
            } else if s.started.elapsed() >= bound {
                health.partitions_not_ready.push(UnreadyPartition {
                    stream_type: key.0.clone(),
                    partition: key.1,
                    assigned_secs: s.started.elapsed().as_secs(),
                    restore_failures: s.restore_failures,
                });
            }
        }
        health
            .partitions_not_ready
            .sort_by(|a, b| (&a.stream_type, a.partition).cmp(&(&b.stream_type, b.partition)));
        health
            .stuck_streams
            .sort_by(|a, b| (&a.stream_type, &a.stream_id).cmp(&(&b.stream_type, &b.stream_id)));
        health
    }

    /// The heads this instance holds for a partition it owns, and the offset they cover.
    pub(in super::super) fn heads(&self, stream_type: &str, partition: u32) -> Result<OwnerHeads, EventLogError> {
        let not_owned = || {
            EventLogError::Unavailable(format!(
                "partition {stream_type}/{partition} is not owned by this instance"
            ))
        };
        let state = self
            .shared
            .state(&(stream_type.to_owned(), partition))
            .ok_or_else(not_owned)?;
        let s = state
            .lock()
            .map_err(|_| EventLogError::Unavailable("partition state poisoned".into()))?;
        if !s.ready || s.revoked {
            return Err(not_owned());
        }
        Ok(OwnerHeads {
            instance_id: self.shared.config.instance_id.clone(),
            applied_to: s.next,
            heads: s
                .heads
                .iter()
                .filter(|(_, h)| h.version > 0)
                .map(|(id, h)| (id.clone(), (h.version, h.hash.clone())))
                .collect(),
        })
    }

    /// Compares the heads of every partition owned here with the heads the log holds by rule
    /// R, read from the partition's start (then only what was added since, for as long as the
    /// assignment lasts), and keeps what differs for [`Self::health`].
    pub(in super::super) async fn check_heads(&self) {
        let mut log_heads = self.shared.log_heads.lock().await;
        let states: Vec<(Key, Arc<Mutex<PartitionState>>)> = self
            .shared
            .states
            .lock()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        log_heads.retain(|key, _| states.iter().any(|(k, _)| k == key));
        if let Ok(mut found) = self.shared.stuck.lock() {
            found.retain(|key, _| states.iter().any(|(k, _)| k == key));
        }
        for (key, state) in states {
            let Some((generation, target)) = state
                .lock()
                .ok()
                .filter(|s| s.ready && !s.revoked)
                .map(|s| (s.generation, s.next))
            else {
                continue;
            };
            let read = log_heads
                .entry(key.clone())
                .or_insert_with(|| LogHeads::new(generation));
            if read.generation != generation {
                *read = LogHeads::new(generation);
            }
            if read.scanned_to < target {
                let (config, k, from) = (self.shared.config.clone(), key.clone(), read.scanned_to);
                let mut heads = std::mem::take(&mut read.heads);
                let scanned = tokio::task::spawn_blocking(move || {
                    let reached = scan_heads(&config, &k, &mut heads, from, target);
                    (heads, reached)
                })
                .await;
                let Ok((heads, reached)) = scanned else {
                    *read = LogHeads::new(generation);
                    continue;
                };
                read.heads = heads;
                match reached {
                    Ok(to) => read.scanned_to = to,
                    Err((to, e)) => {
                        read.scanned_to = to;
                        tracing::warn!(stream_type = %key.0, partition = key.1, error = %e, "head check could not read the partition");
                        continue;
                    }
                }
            }
            let Ok(s) = state.lock() else { continue };
            if s.generation != generation || s.revoked {
                continue;
            }
            let stuck = stuck_streams(&s, &read.heads, read.scanned_to);
            for stream in &stuck {
                tracing::error!(stream_type = %stream.stream_type, stream_id = %stream.stream_id, owner_version = stream.owner_version, log_version = stream.log_version, "stream head disagrees with the log");
            }
            if let Ok(mut found) = self.shared.stuck.lock() {
                found.insert(key, (generation, stuck));
            }
        }
    }
}

pub(super) fn report(shared: &Shared, state: &Mutex<PartitionState>) {
    let Ok(s) = state.lock() else { return };
    let report = RestoreReport {
        stream_type: s.stream_type.clone(),
        partition: s.partition,
        streams_from_snapshot: s.heads.len(),
        records_replayed: s.replayed,
        took: s.started.elapsed(),
    };
    tracing::debug!(stream_type = %report.stream_type, partition = report.partition, took_ms = report.took.as_millis() as u64, replayed = report.records_replayed, "partition restored");
    if let Ok(mut round) = shared.round.lock() {
        round.restored += 1;
        round.replayed += report.records_replayed;
        round.pending = round.pending.saturating_sub(1);
        if round.pending == 0 && round.restored > 0 {
            let took_ms = round.started.map_or(0, |t| t.elapsed().as_millis() as u64);
            tracing::info!(instance = %shared.config.instance_id, partitions = round.restored, replayed = round.replayed, took_ms, "partitions restored");
            round.restored = 0;
            round.replayed = 0;
        }
    }
    let _ = shared
        .notes
        .send(Note::Owned((report.stream_type.clone(), report.partition)));
    if let Ok(mut reports) = shared.reports.lock() {
        reports.insert(0, report);
    }
    shared.changed.notify_waiters();
}

/// Runs [`Writers::check_heads`] every `head_check_interval` until the writer stops or is
/// dropped.
pub(super) async fn check_heads_periodically(writers: std::sync::Weak<Writers>, mut stopped: watch::Receiver<bool>) {
    let Some(interval) = writers.upgrade().map(|w| w.shared.config.head_check_interval) else {
        return;
    };
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let Some(writers) = writers.upgrade() else { return };
        writers.check_heads().await;
    }
}

/// Applies rule R to the records of the events partition from `from` up to `to` (excluded).
/// Returns `to`, or how far it got and why it stopped. Blocking.
pub(super) fn scan_heads(
    config: &KafkaConfig,
    (stream_type, partition): &Key,
    heads: &mut StreamHeads,
    from: u64,
    to: u64,
) -> Result<u64, (u64, EventLogError)> {
    let topic = config.events_topic(stream_type);
    let reader: BaseConsumer = config
        .consumer_config(&format!("{}.readers", config.prefix))
        .create()
        .map_err(|e| (from, unavailable(e)))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, *partition as i32, Offset::Offset(from as i64))
        .and_then(|()| reader.assign(&tpl))
        .map_err(|e| (from, unavailable(e)))?;
    let mut reached = from;
    let deadline = Instant::now() + STATE_READ_TIMEOUT;
    while reached < to {
        if Instant::now() > deadline {
            return Err((
                reached,
                EventLogError::Unavailable(format!("read {topic}/{partition} only to {reached} of {to}")),
            ));
        }
        let Some(message) = reader.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.map_err(|e| (reached, unavailable(e)))?;
        let offset = message.offset() as u64;
        if offset >= to {
            break;
        }
        if let Ok(record) = CommitRecord::decode(message.payload().unwrap_or_default()) {
            heads.admit(&record);
        }
        reached = offset + 1;
    }
    Ok(to)
}

/// Streams whose head in the owner's `state` differs from `log`, the heads the log holds by
/// rule R below offset `at`. A stream the owner moved at or after `at` is left for the next
/// check: its two heads are of different moments.
pub(super) fn stuck_streams(state: &PartitionState, log: &StreamHeads, at: u64) -> Vec<StuckStream> {
    let moved_since = |id: &str| {
        state
            .cache
            .get(id)
            .and_then(|commits| commits.last())
            .is_some_and(|(offset, _)| *offset >= at)
    };
    let ids: BTreeSet<&String> = state.heads.iter().chain(log.iter()).map(|(id, _)| id).collect();
    ids.into_iter()
        .filter(|id| !moved_since(id))
        .filter_map(|id| {
            let (mine, theirs) = (state.heads.head(id), log.head(id));
            (mine != theirs).then(|| StuckStream {
                stream_type: state.stream_type.clone(),
                partition: state.partition,
                stream_id: id.clone(),
                owner_version: mine.version,
                log_version: theirs.version,
                at_offset: at,
            })
        })
        .collect()
}
