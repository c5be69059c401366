//! Who owns which partition, for instances that receive a command for a stream they do not
//! own. Each owner announces `type/partition → {instance, url}` on the compacted
//! `{prefix}.owners` topic when it has restored a partition; every instance tails that topic.
//! A non-owner forwards the append (and the reads that need the owner's state) to the owner's
//! internal endpoint; the owner still checks the expected version, so forwarding adds a hop,
//! never a second writer.
//!
//! The owners topic is not authenticated: anyone who can write to the broker can announce any
//! URL. So the [`Forwarder`] sends the cluster's shared token only to a URL on the
//! [`Peers`] allowlist, and the owner compares tokens with [`token_matches`] (constant time,
//! an empty token never matches).

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

/// Whether `presented` is the cluster's token. Compares SHA-256 digests in constant time, so
/// timing tells neither the token nor its length; an empty token on either side never matches.
pub fn token_matches(expected: &str, presented: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    if expected.is_empty() || presented.is_empty() {
        return false;
    }
    let (a, b) = (
        Sha256::digest(expected.as_bytes()),
        Sha256::digest(presented.as_bytes()),
    );
    a.as_slice().ct_eq(b.as_slice()).into()
}

/// The addresses peers may be reached at: the only ones the internal token is sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers {
    networks: Vec<ipnet::IpNet>,
    names: Vec<String>,
}

impl Peers {
    /// Loopback only: peers on the same machine (tests, one-machine try-outs).
    pub fn loopback() -> Self {
        Self::parse(&[], true).unwrap_or_default()
    }

    /// From entries like `10.0.0.0/16`, `10.0.3.7`, `fd00::/8` or a host name (matched exactly),
    /// plus the loopback networks when `loopback` is set.
    pub fn parse(entries: &[String], loopback: bool) -> Result<Self, String> {
        let mut peers = Self::default();
        if loopback {
            peers.networks.extend(
                ["127.0.0.0/8", "::1/128"]
                    .iter()
                    .filter_map(|n| n.parse::<ipnet::IpNet>().ok()),
            );
        }
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                peers.networks.push(net);
            } else if let Ok(ip) = entry.parse::<std::net::IpAddr>() {
                peers.networks.push(ipnet::IpNet::from(ip));
            } else if entry.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                peers.names.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "peer allowlist entry {entry:?} is not an address, a CIDR or a host name"
                ));
            }
        }
        Ok(peers)
    }

    /// Whether `url` names a peer: http(s), no credentials, a host on the allowlist.
    pub fn permits(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let host = url.host_str().unwrap_or_default();
        match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            Ok(ip) => self.networks.iter().any(|n| n.contains(&ip)),
            Err(_) => self.names.iter().any(|n| n.eq_ignore_ascii_case(host)),
        }
    }
}

/// Sends forwarded requests to owners, with the token, only at addresses on the allowlist.
#[derive(Debug, Clone)]
pub struct Forwarder {
    http: reqwest::Client,
    token: Option<String>,
    peers: Peers,
}

impl Forwarder {
    /// `token` is the cluster's shared secret; an empty one counts as none.
    pub fn new(token: Option<String>, peers: Peers) -> Self {
        Self {
            http: reqwest::Client::new(),
            token: token.filter(|t| !t.is_empty()),
            peers,
        }
    }

    /// Sends a request to the owner's `/internal/log` endpoint. Refused before anything is
    /// sent when there is no token or the announced URL is not a peer's.
    pub async fn forward(&self, owner: &Owner, request: &Forwarded) -> Result<ForwardedAnswer, EventLogError> {
        let Some(token) = &self.token else {
            return Err(EventLogError::Unavailable(format!(
                "owner {} is another instance and this one has no internal token to forward with",
                owner.instance_id
            )));
        };
        if !self.peers.permits(&owner.url) {
            tracing::warn!(owner = %owner.instance_id, url = %owner.url, "owner announced an address outside the peer allowlist; not forwarding");
            return Err(EventLogError::Unavailable(format!(
                "owner {} announced {}, which is not on the peer allowlist",
                owner.instance_id, owner.url
            )));
        }
        let response = self
            .http
            .post(format!("{}/internal/log", owner.url.trim_end_matches('/')))
            .json(request)
            .header(INTERNAL_TOKEN_HEADER, token)
            .timeout(Duration::from_secs(20))
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
}
