//! # The Kafka adapter
//!
//! Topics per stream type: `{prefix}.{type}.events` (the log) and `{prefix}.{type}.state` (per
//! stream heads, keyed by stream id), both created by the application with
//! `cleanup.policy=compact`. Records are keyed `stream@version#commit` (unique per commit, so
//! compaction removes nothing) and sent to an explicit partition, [`super::partition_for`], so
//! a stream stays in one partition, in order. The producer is idempotent with `acks=all`.
//! Topics that already exist are checked at start ([`topic_mismatches`]): another partition
//! count, a cleanup policy other than `compact` or too few in-sync replicas make the instance
//! refuse to start, naming the topic and the setting, rather than fork streams.
//!
//! Writes go through [`writer`]: each instance joins the writer consumer group; the group
//! protocol assigns each partition to one instance, which restores heads and recent command
//! ids (state topic, then the tail of the events topic), checks expected versions, and
//! acknowledges a commit only after rule R accepted it at its offset (see the module docs of
//! [`super`]). Reads (`read_stream`, subscriptions) use plain assigned consumers, except
//! shared subscriptions ([`shared`]): readers that divide the partitions among the members of
//! a consumer group, each partition positioned where the reader's own store says it stands.
//! Each owner announces what it owns on `{prefix}.owners` ([`owners`]) so other instances
//! forward commands to it, and checks its heads against the log ([`KafkaLog::check_heads`],
//! reported by [`EventLog::health`](super::EventLog::health)).

mod api;
mod config;
mod log;
pub mod owners;
mod peers;
mod records;
mod shared;
mod subscription;
mod support;
mod topics;
mod writer;

pub use config::KafkaConfig;
pub use log::KafkaLog;
pub use topics::{topic_mismatches, TopicFacts};
pub use writer::RestoreReport;
