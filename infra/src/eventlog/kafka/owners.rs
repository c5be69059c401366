//! Who owns which partition, for instances that receive a command for a stream they do not
//! own. Each owner announces `type/partition → {instance, url}` on the compacted
//! `{prefix}.owners` topic when it has restored a partition; every instance tails that topic.
//! A non-owner forwards the append (and the reads that need the owner's state) to the owner's
//! internal endpoint; the owner still checks the expected version, so forwarding adds a hop,
//! never a second writer.

use super::{unavailable, KafkaConfig};
use crate::eventlog::{Appended, EventLogError, NewCommit, RecordedEvent, StreamRef};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Header carrying the cluster-internal shared secret.
pub const INTERNAL_TOKEN_HEADER: &str = "x-erp-internal-token";

/// An owner announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub instance_id: String,
    pub url: String,
}

/// The owners map, kept current from the owners topic.
#[derive(Debug, Default)]
pub struct Owners {
    map: RwLock<HashMap<(String, u32), Owner>>,
}

impl Owners {
    pub fn get(&self, stream_type: &str, partition: u32) -> Option<Owner> {
        self.map.read().ok()?.get(&(stream_type.to_owned(), partition)).cloned()
    }

    /// Starts tailing the owners topic.
    pub(super) fn follow(config: &KafkaConfig) -> Result<Arc<Self>, EventLogError> {
        let owners = Arc::new(Self::default());
        let consumer: StreamConsumer = config
            .consumer_config(&format!("{}.owners-readers", config.prefix))
            .create()
            .map_err(unavailable)?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&config.owners_topic(), 0, Offset::Beginning)
            .map_err(unavailable)?;
        consumer.assign(&tpl).map_err(unavailable)?;
        let map = owners.clone();
        tokio::spawn(async move {
            loop {
                match consumer.recv().await {
                    Ok(message) => {
                        let key = message.key().and_then(|k| std::str::from_utf8(k).ok()).and_then(|k| {
                            let (t, p) = k.rsplit_once('/')?;
                            Some((t.to_owned(), p.parse::<u32>().ok()?))
                        });
                        let owner = message.payload().and_then(|p| serde_json::from_slice::<Owner>(p).ok());
                        if let (Some(key), Some(owner), Ok(mut m)) = (key, owner, map.map.write()) {
                            m.insert(key, owner);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "owners topic read failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(owners)
    }
}

/// Announces that this instance owns a partition.
pub(super) async fn announce(config: &KafkaConfig, producer: &FutureProducer, stream_type: &str, partition: u32) {
    let Some(url) = &config.advertised_url else { return };
    let owner = Owner {
        instance_id: config.instance_id.clone(),
        url: url.clone(),
    };
    let Ok(payload) = serde_json::to_vec(&owner) else {
        return;
    };
    let key = format!("{stream_type}/{partition}");
    let sent = producer
        .send(
            FutureRecord::to(&config.owners_topic())
                .partition(0)
                .key(&key)
                .payload(&payload),
            Duration::from_secs(5),
        )
        .await;
    match sent {
        Err((e, _)) => tracing::warn!(error = %e, key, "could not announce partition ownership"),
        Ok(_) => tracing::debug!(key, "announced partition ownership"),
    }
}

/// What a forwarded request asks the owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Forwarded {
    Append { commit: NewCommit },
    FindCommand { stream: StreamRef, command_id: uuid::Uuid },
    ReadStream { stream: StreamRef },
}

/// The owner's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum ForwardedAnswer {
    Appended {
        result: Result<Appended, EventLogError>,
    },
    Found {
        result: Result<Option<Appended>, EventLogError>,
    },
    Stream {
        result: Result<Vec<RecordedEvent>, EventLogError>,
    },
}

/// Sends a request to the owner's `/internal/log` endpoint.
pub(super) async fn forward(
    http: &reqwest::Client,
    owner: &Owner,
    token: Option<&str>,
    request: &Forwarded,
) -> Result<ForwardedAnswer, EventLogError> {
    let mut call = http
        .post(format!("{}/internal/log", owner.url.trim_end_matches('/')))
        .json(request)
        .timeout(Duration::from_secs(20));
    if let Some(token) = token {
        call = call.header(INTERNAL_TOKEN_HEADER, token);
    }
    let response = call
        .send()
        .await
        .map_err(|e| EventLogError::Unavailable(format!("forwarding to {}: {e}", owner.instance_id)))?;
    if !response.status().is_success() {
        return Err(EventLogError::Unavailable(format!(
            "owner {} answered {}",
            owner.instance_id,
            response.status()
        )));
    }
    response
        .json()
        .await
        .map_err(|e| EventLogError::Unavailable(format!("owner {} answer: {e}", owner.instance_id)))
}
