//! The change bus: what the approval projection publishes after each commit it applied, and
//! what notifiers deliver to subscribed connections.
//!
//! Two adapters behind one port: [`LocalBus`] (an in-process broadcast, the embedded default)
//! and [`RedisBus`] (Redis pub/sub, so that every notifier instance sees every change whichever
//! projector applied it). Subscribers read from a bounded local ring either way: a subscriber
//! that falls behind learns how many changes it missed (`Lagged`) and resynchronises; memory
//! never grows with a slow client.
//!
//! Redis may restart or fail over under a running system. The Redis bus then reconnects on
//! its own — the publisher on its next publish, the subscription with backoff — and counts
//! the interruption ([`ChangeBus::interruptions`]): what was published while the subscription
//! was down is lost, so a notifier tells its subscribers to resynchronise rather than leave
//! a silent gap.

use async_trait::async_trait;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

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
    /// Counts the times the bus may have lost changes on their way to subscribers (its
    /// subscription to a shared broker was interrupted); an in-process bus never does.
    fn interruptions(&self) -> watch::Receiver<u64> {
        watch::channel(0).1
    }
    /// Whether the bus answers now (readiness); an in-process bus always does.
    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
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
    client: redis::Client,
    /// The publishing connection; dropped when it fails, made again on the next publish.
    publisher: Arc<tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>>,
    channel: String,
    local: broadcast::Sender<Change>,
    interruptions: watch::Receiver<u64>,
    /// While any clone of the bus lives, its subscription task keeps (re)subscribing.
    _alive: Arc<()>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").field("channel", &self.channel).finish()
    }
}

fn bus_error(e: redis::RedisError) -> BusError {
    BusError(e.to_string())
}

/// Longest wait between attempts to subscribe again.
const RESUBSCRIBE_BACKOFF_MAX: Duration = Duration::from_secs(5);

impl RedisBus {
    /// Connects to `url` (`redis://127.0.0.1:6379`) and subscribes to `channel`; returns once
    /// the subscription is active, so nothing published afterwards is missed.
    pub async fn connect(url: &str, channel: &str) -> Result<Self, BusError> {
        let client = redis::Client::open(url).map_err(bus_error)?;
        let publisher = client.get_multiplexed_tokio_connection().await.map_err(bus_error)?;
        let pubsub = subscribed(&client, channel).await?;
        let local = broadcast::channel(RING).0;
        let (interrupted, interruptions) = watch::channel(0);
        let alive = Arc::new(());
        tokio::spawn(follow(
            client.clone(),
            channel.to_owned(),
            pubsub,
            local.clone(),
            interrupted,
            Arc::downgrade(&alive),
        ));
        Ok(Self {
            client,
            publisher: Arc::new(tokio::sync::Mutex::new(Some(publisher))),
            channel: channel.to_owned(),
            local,
            interruptions,
            _alive: alive,
        })
    }
}

async fn subscribed(client: &redis::Client, channel: &str) -> Result<redis::aio::PubSub, BusError> {
    let mut pubsub = client.get_async_pubsub().await.map_err(bus_error)?;
    pubsub.subscribe(channel).await.map_err(bus_error)?;
    Ok(pubsub)
}

/// Feeds the local ring from the subscription; when the subscription ends (Redis restarted,
/// the connection was killed), subscribes again with backoff and counts an interruption.
async fn follow(
    client: redis::Client,
    channel: String,
    first: redis::aio::PubSub,
    local: broadcast::Sender<Change>,
    interrupted: watch::Sender<u64>,
    alive: Weak<()>,
) {
    use futures::StreamExt;
    let mut pubsub = Some(first);
    loop {
        if let Some(subscription) = pubsub.take() {
            let mut messages = subscription.into_on_message();
            while let Some(message) = messages.next().await {
                match serde_json::from_slice::<Change>(message.get_payload_bytes()) {
                    Ok(change) => {
                        let _ = local.send(change);
                    }
                    Err(e) => tracing::warn!(error = %e, "undecodable change on the bus skipped"),
                }
            }
        }
        if alive.upgrade().is_none() {
            return;
        }
        tracing::warn!(channel, "redis subscription ended; subscribing again");
        let mut backoff = Duration::from_millis(100);
        while pubsub.is_none() {
            tokio::time::sleep(backoff).await;
            if alive.upgrade().is_none() {
                return;
            }
            match subscribed(&client, &channel).await {
                Ok(subscription) => {
                    tracing::info!(channel, "redis subscription restored; subscribers resynchronise");
                    pubsub = Some(subscription);
                    interrupted.send_modify(|n| *n += 1);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "redis still unavailable");
                    backoff = (backoff * 2).min(RESUBSCRIBE_BACKOFF_MAX);
                }
            }
        }
    }
}

#[async_trait]
impl ChangeBus for RedisBus {
    async fn publish(&self, changes: &[Change]) -> Result<(), BusError> {
        let payloads = changes
            .iter()
            .map(|change| serde_json::to_vec(change).map_err(|e| BusError(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let mut publisher = self.publisher.lock().await;
        let mut sent = 0;
        // A connection that failed is made again once: Redis restarted between publishes.
        for attempt in 0..2 {
            let connection = match publisher.as_mut() {
                Some(connection) => connection,
                None => publisher.insert(
                    self.client
                        .get_multiplexed_tokio_connection()
                        .await
                        .map_err(bus_error)?,
                ),
            };
            let mut failed = None;
            for payload in &payloads[sent..] {
                match redis::cmd("PUBLISH")
                    .arg(&self.channel)
                    .arg(payload)
                    .query_async::<i64>(connection)
                    .await
                {
                    Ok(_) => sent += 1,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            match failed {
                None => return Ok(()),
                Some(e) => {
                    *publisher = None;
                    if attempt == 1 {
                        return Err(bus_error(e));
                    }
                }
            }
        }
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.local.subscribe()
    }

    fn interruptions(&self) -> watch::Receiver<u64> {
        self.interruptions.clone()
    }

    /// A `PING` on the publishing connection (or a new one, when it failed).
    async fn ping(&self) -> Result<(), BusError> {
        let held = self.publisher.lock().await.clone();
        let mut connection = match held {
            Some(connection) => connection,
            None => self
                .client
                .get_multiplexed_tokio_connection()
                .await
                .map_err(bus_error)?,
        };
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(bus_error)?;
        Ok(())
    }
}
