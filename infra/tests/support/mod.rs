//! Test support: adapters to run the contract suite against, and commit builders.
#![allow(dead_code)]

use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
use infra::eventlog::{ExpectedVersion, NewCommit, NewEvent, StreamRef, Upcasters};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const TYPES: &[&str] = &["doc", "legacy"];

/// The broker started by `scripts/test` (see `scripts/services`). Kafka tests never fall back
/// to a mock: without a broker they fail and say how to get one.
pub fn kafka_brokers() -> String {
    std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| {
        panic!("ERP_TEST_KAFKA is not set: run scripts/test, or `source scripts/services; start_kafka` first")
    })
}

/// A fresh topic prefix per test, so tests share one broker without seeing each other.
pub fn fresh_prefix() -> String {
    format!("t{}", Uuid::now_v7().simple())
}

pub fn upcasters() -> Upcasters {
    // `legacy.renamed` v1 had `name`; v2 calls it `title`.
    Upcasters::default().register("legacy.renamed", 1, |mut payload| {
        let name = payload
            .get_mut("name")
            .map(serde_json::Value::take)
            .ok_or("missing name")?;
        let object = payload.as_object_mut().ok_or("not an object")?;
        object.remove("name");
        object.insert("title".into(), name);
        Ok(payload)
    })
}

pub struct Embedded {
    pub dir: tempfile::TempDir,
}

pub fn embedded_at(dir: &std::path::Path) -> Arc<EmbeddedLog> {
    Arc::new(EmbeddedLog::open(dir, EmbeddedOptions::default(), upcasters()).expect("open embedded log"))
}

/// The tests' log configuration on `prefix`: three partitions per type, snapshots twice a
/// second.
pub fn kafka_config(prefix: &str) -> KafkaConfig {
    let mut config = KafkaConfig::local(kafka_brokers(), prefix, TYPES);
    config.partitions = 3;
    config.snapshot_interval = Duration::from_millis(500);
    config
}

pub async fn kafka_with(prefix: &str, group: Option<&str>) -> KafkaLog {
    let mut config = kafka_config(prefix);
    if let Some(group) = group {
        config.writer_group = group.to_owned();
    }
    KafkaLog::connect(config, upcasters()).await.expect("connect to kafka")
}

pub fn stream(id: &str) -> StreamRef {
    StreamRef::new("doc", id)
}

pub fn event(n: u64) -> NewEvent {
    NewEvent {
        event_type: "doc.noted".into(),
        schema_version: 1,
        payload: serde_json::json!({ "n": n, "text": "메모" }),
    }
}

pub fn commit(stream: &StreamRef, expected: ExpectedVersion, events: Vec<NewEvent>) -> NewCommit {
    NewCommit {
        stream: stream.clone(),
        expected,
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: Some("tester".into()),
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        events,
    }
}
