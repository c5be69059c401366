//! Faults of the log an operator must see, from where they arise: the owner of a partition.
//!
//! A partition that stays assigned but never becomes ready (its restore keeps failing) answers
//! 503 to every command of its streams; a stream whose head in the owner's memory is not the
//! head the log holds by rule R answers 409 forever, or — worse — its owner acknowledges
//! commits every reader fences. Neither shows in a liveness probe, so the command API reports
//! them in `/readyz` (503 naming the partitions and streams) and `/metrics` ([`LogHealth::record`]).
//!
//! The embedded log has one writer that judges every record as it appends it: it is always
//! healthy.

use serde::{Deserialize, Serialize};

/// What the log's owner knows to be wrong right now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHealth {
    /// Partitions this instance owns and has restored.
    pub partitions_owned: usize,
    /// Partitions assigned here and still not ready past the bound.
    pub partitions_not_ready: Vec<UnreadyPartition>,
    /// Streams whose head here disagrees with the log's.
    pub stuck_streams: Vec<StuckStream>,
    /// Failed restore attempts since start.
    pub restore_failures_total: u64,
}

/// A partition assigned to this instance that has not become ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadyPartition {
    pub stream_type: String,
    pub partition: u32,
    /// Seconds since it was assigned.
    pub assigned_secs: u64,
    /// Failed restores of this assignment.
    pub restore_failures: u64,
}

/// A stream whose owner holds another head than the log does by rule R.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckStream {
    pub stream_type: String,
    pub partition: u32,
    pub stream_id: String,
    /// The version the owner holds (and checks expected versions against).
    pub owner_version: u64,
    /// The version the log holds.
    pub log_version: u64,
    /// The log offset up to which both were compared.
    pub at_offset: u64,
}

impl LogHealth {
    pub fn is_healthy(&self) -> bool {
        self.partitions_not_ready.is_empty() && self.stuck_streams.is_empty()
    }

    /// One sentence per fault, naming the partition or stream.
    pub fn faults(&self) -> Vec<String> {
        let unready = self.partitions_not_ready.iter().map(|p| {
            format!(
                "partition {}/{} assigned {} s ago is not ready ({} failed restores)",
                p.stream_type, p.partition, p.assigned_secs, p.restore_failures
            )
        });
        let stuck = self.stuck_streams.iter().map(|s| {
            format!(
                "stream {}/{} (partition {}) is at version {} here but at {} in the log (offset {})",
                s.stream_type, s.stream_id, s.partition, s.owner_version, s.log_version, s.at_offset
            )
        });
        unready.chain(stuck).collect()
    }

    /// Sets the log's gauges (`erp_eventlog_partitions_owned`, `…_partitions_not_ready`,
    /// `…_stuck_streams`) and the restore failure counter to these facts: run before each
    /// scrape of the command role's `/metrics`.
    pub fn record(&self) {
        crate::telemetry::metrics::install();
        metrics::gauge!("erp_eventlog_partitions_owned").set(self.partitions_owned as f64);
        metrics::gauge!("erp_eventlog_partitions_not_ready").set(self.partitions_not_ready.len() as f64);
        metrics::gauge!("erp_eventlog_stuck_streams").set(self.stuck_streams.len() as f64);
        metrics::counter!("erp_eventlog_restore_failures_total").absolute(self.restore_failures_total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_name_the_partition_and_the_stream_and_count_in_the_metrics() {
        let health = LogHealth {
            partitions_owned: 3,
            partitions_not_ready: vec![UnreadyPartition {
                stream_type: "approval".into(),
                partition: 4,
                assigned_secs: 90,
                restore_failures: 7,
            }],
            stuck_streams: vec![StuckStream {
                stream_type: "approval".into(),
                partition: 2,
                stream_id: "doc-9".into(),
                owner_version: 12,
                log_version: 10,
                at_offset: 55,
            }],
            restore_failures_total: 7,
        };
        assert!(!health.is_healthy());
        let faults = health.faults().join("\n");
        assert!(faults.contains("approval/4"), "{faults}");
        assert!(faults.contains("approval/doc-9") && faults.contains("12") && faults.contains("10"));
        health.record();
        let text = crate::telemetry::metrics::render();
        for line in [
            "erp_eventlog_partitions_owned 3",
            "erp_eventlog_partitions_not_ready 1",
            "erp_eventlog_stuck_streams 1",
            "erp_eventlog_restore_failures_total 7",
            "# TYPE erp_eventlog_restore_failures_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(LogHealth::default().is_healthy());
    }
}
