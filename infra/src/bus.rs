//! The change bus: what the approval projection publishes after each commit it applied, and
//! what notifiers deliver to subscribed connections.
//!
//! Two adapters behind one port: [`LocalBus`] (an in-process broadcast, the embedded default)
//! and [`RedisBus`] (Redis pub/sub, so that every notifier instance sees every change whichever
//! projector applied it). Subscribers read from a bounded local ring either way: a subscriber
//! that falls behind learns how many changes it missed (`Lagged`) and resynchronises; memory
//! never grows with a slow client.

use async_trait::async_trait;
use tokio::sync::broadcast;

/// Changes a local subscriber may fall behind by before it must resynchronise.
pub const RING: usize = 4096;

pub use crate::readmodel::fold::Change;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change bus unavailable: {0}")]
pub struct BusError(pub String);

/// Publish after commit; subscribe to everything published anywhere.
#[async_trait]
pub trait ChangeBus: Send + Sync {
    async fn publish(&self, changes: &[Change]) -> Result<(), BusError>;
    fn subscribe(&self) -> broadcast::Receiver<Change>;
}

/// In-process bus for the embedded default.
#[derive(Debug, Clone)]
pub struct LocalBus {
    sender: broadcast::Sender<Change>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(RING).0,
        }
    }
}

#[async_trait]
impl ChangeBus for LocalBus {
    async fn publish(&self, changes: &[Change]) -> Result<(), BusError> {
        for change in changes {
            // No subscriber yet is not an error: nobody is listening.
            let _ = self.sender.send(change.clone());
        }
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }
}

/// Redis pub/sub on one channel; a background task feeds a local ring.
#[derive(Clone)]
pub struct RedisBus {
    publisher: redis::aio::MultiplexedConnection,
    channel: String,
    local: broadcast::Sender<Change>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").field("channel", &self.channel).finish()
    }
}

impl RedisBus {
    /// Connects to `url` (`redis://127.0.0.1:6379`) and subscribes to `channel`; returns once
    /// the subscription is active, so nothing published afterwards is missed.
    pub async fn connect(url: &str, channel: &str) -> Result<Self, BusError> {
        let unavailable = |e: redis::RedisError| BusError(e.to_string());
        let client = redis::Client::open(url).map_err(unavailable)?;
        let publisher = client.get_multiplexed_tokio_connection().await.map_err(unavailable)?;
        let mut pubsub = client.get_async_pubsub().await.map_err(unavailable)?;
        pubsub.subscribe(channel).await.map_err(unavailable)?;
        let local = broadcast::channel(RING).0;
        let forward = local.clone();
        tokio::spawn(async move {
            use futures::StreamExt;
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let payload: Vec<u8> = message.get_payload_bytes().to_vec();
                match serde_json::from_slice::<Change>(&payload) {
                    Ok(change) => {
                        let _ = forward.send(change);
                    }
                    Err(e) => tracing::warn!(error = %e, "undecodable change on the bus skipped"),
                }
            }
            tracing::warn!("redis subscription ended");
        });
        Ok(Self {
            publisher,
            channel: channel.to_owned(),
            local,
        })
    }
}

#[async_trait]
impl ChangeBus for RedisBus {
    async fn publish(&self, changes: &[Change]) -> Result<(), BusError> {
        let mut connection = self.publisher.clone();
        for change in changes {
            let payload = serde_json::to_vec(change).map_err(|e| BusError(e.to_string()))?;
            redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(payload)
                .query_async::<i64>(&mut connection)
                .await
                .map_err(|e| BusError(e.to_string()))?;
        }
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.local.subscribe()
    }
}
