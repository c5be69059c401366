//! Topics created by the application, and checked at start against the settings.

use super::config::KafkaConfig;
use super::support::unavailable;
use crate::eventlog::EventLogError;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use std::time::Duration;

pub(super) async fn create_topics(config: &KafkaConfig) -> Result<(), EventLogError> {
    let admin: AdminClient<DefaultClientContext> = config.base().create().map_err(unavailable)?;
    let names: Vec<String> = config
        .stream_types
        .iter()
        .flat_map(|t| [config.events_topic(t), config.state_topic(t)])
        .collect();
    let owners = config.owners_topic();
    // What `check_topics` requires of replicated topics, so a fresh cluster passes its own check.
    let min_insync = config.replication.clamp(1, 2).to_string();
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                config.partitions as i32,
                TopicReplication::Fixed(config.replication),
            )
            .set("cleanup.policy", "compact")
            .set("min.insync.replicas", &min_insync)
        })
        .chain(std::iter::once(
            NewTopic::new(&owners, 1, TopicReplication::Fixed(config.replication))
                .set("cleanup.policy", "compact")
                .set("min.insync.replicas", &min_insync),
        ))
        .collect();
    let results = admin
        .create_topics(
            &topics,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .map_err(unavailable)?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(EventLogError::Unavailable(format!("creating {topic}: {code}"))),
        }
    }
    Ok(())
}

/// What a topic must be for the log's rules to hold, checked at start against what the broker
/// has (topics may predate this instance, or have been created by hand): the partition count
/// this instance partitions streams by (another count would put one stream in two
/// partitions — two writers, a fork), `cleanup.policy=compact` (keys are unique per commit,
/// compaction then drops nothing; `delete` would drop history by age), and, where records
/// are replicated, `min.insync.replicas` of at least 2 (or `acks=all` acknowledges a write
/// only one broker holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicFacts {
    pub name: String,
    pub partitions: usize,
    pub cleanup_policy: Option<String>,
    pub min_insync_replicas: Option<u32>,
}

/// The mismatches between `facts` and what `config` needs, each a sentence an operator can act on.
pub fn topic_mismatches(config: &KafkaConfig, facts: &[TopicFacts]) -> Vec<String> {
    let owners = config.owners_topic();
    let mut problems = Vec::new();
    for topic in facts {
        let expected = if topic.name == owners {
            1
        } else {
            config.partitions as usize
        };
        if topic.partitions != expected {
            problems.push(format!(
                "topic {} has {} partitions but this instance partitions streams over {expected} \
                 (ERP_KAFKA_PARTITIONS must match the topics, or streams fork across partitions)",
                topic.name, topic.partitions
            ));
        }
        if topic.cleanup_policy.as_deref() != Some("compact") {
            problems.push(format!(
                "topic {} has cleanup.policy={} but the log needs compact (delete drops history)",
                topic.name,
                topic.cleanup_policy.as_deref().unwrap_or("unknown")
            ));
        }
        let needed = config.replication.clamp(1, 2) as u32;
        if topic.min_insync_replicas.is_some_and(|m| m < needed) {
            problems.push(format!(
                "topic {} has min.insync.replicas={} but with replication {} it needs at least {needed}",
                topic.name,
                topic.min_insync_replicas.unwrap_or(0),
                config.replication
            ));
        }
    }
    problems
}

/// Reads partition counts and configs of this instance's topics and refuses to run on any
/// mismatch ([`topic_mismatches`]).
pub(super) async fn check_topics(config: &KafkaConfig) -> Result<(), EventLogError> {
    use rdkafka::admin::ResourceSpecifier;
    let admin: AdminClient<DefaultClientContext> = config.base().create().map_err(unavailable)?;
    let mut names: Vec<String> = config
        .stream_types
        .iter()
        .flat_map(|t| [config.events_topic(t), config.state_topic(t)])
        .collect();
    names.push(config.owners_topic());
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(|e| EventLogError::Unavailable(format!("reading topic metadata from {}: {e}", config.brokers)))?;
    let specifiers: Vec<ResourceSpecifier<'_>> = names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
    let described = admin
        .describe_configs(
            &specifiers,
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .map_err(|e| EventLogError::Unavailable(format!("reading topic configs from {}: {e}", config.brokers)))?;
    let facts: Vec<TopicFacts> = names
        .iter()
        .zip(described)
        .map(|(name, config)| {
            let partitions = metadata
                .topics()
                .iter()
                .find(|t| t.name() == name)
                .map_or(0, |t| t.partitions().len());
            let entry = |key: &str| {
                config
                    .as_ref()
                    .ok()
                    .and_then(|c| c.get(key))
                    .and_then(|e| e.value.clone())
            };
            TopicFacts {
                name: name.clone(),
                partitions,
                cleanup_policy: entry("cleanup.policy"),
                min_insync_replicas: entry("min.insync.replicas").and_then(|v| v.parse().ok()),
            }
        })
        .collect();
    let problems = topic_mismatches(config, &facts);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(EventLogError::Misconfigured(problems.join("; ")))
    }
}
