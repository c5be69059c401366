//! Small pieces every part of the Kafka adapter uses.

use super::super::EventLogError;
use rdkafka::error::KafkaError;

/// A broker or client failure, as the log reports it: unavailable, with the client's reason.
pub(super) fn unavailable(e: KafkaError) -> EventLogError {
    EventLogError::Unavailable(e.to_string())
}

/// Counts one change of a consumer group's assignment on this instance.
pub(super) fn count_rebalance(group: &str, change: &'static str) {
    metrics::counter!("erp_eventlog_rebalances_total", "group" => group.to_owned(), "change" => change).increment(1);
}
