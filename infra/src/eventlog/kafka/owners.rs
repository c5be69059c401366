//! Who owns which partition, for instances that receive a command for a stream they do not
//! own. Each owner announces `type/partition → {instance, url}` on the compacted
//! `{prefix}.owners` topic when it has restored a partition; every instance tails that topic.
//! A non-owner forwards the append (and the reads that need the owner's state) to the owner's
//! internal endpoint; the owner still checks the expected version, so forwarding adds a hop,
//! never a second writer.
//!
//! An announcement is a lease, not a fact: the owner writes it again every
//! `announce_interval`, stamped with its clock and a lease of [`LEASE_INTERVALS`] intervals,
//! and a reader ignores it once the lease ran out — by the owner's stamp, and by the reader's
//! own clock since it last heard it, so an owner whose clock runs ahead cannot keep a dead
//! announcement alive ([`OwnersTable`]). A killed instance thus stops attracting forwards
//! within a lease; clocks must agree to well within a lease (NTP). An owner that loses a
//! partition (revoked, or stopping) withdraws its announcement at once; a withdrawal removes
//! only the withdrawing instance's own announcement, so one that arrives after the next
//! owner announced is harmless. Announcements of earlier versions carry no lease and are kept
//! until replaced, as those versions did.
//!
//! A sender can still act on an announcement that is stale (the withdrawal not yet heard). The
//! instance it names then answers [`ForwardedAnswer::NotOwner`] at once, having done nothing,
//! and the sender waits — within the same bound — for a newer announcement of the partition
//! rather than failing the request.
//!
//! Peers also ask an owner for its heads of a partition ([`Forwarded::Heads`]): `erp verify
//! --owners` compares them with the heads the log holds by rule R.
//!
//! The owners topic is not authenticated: anyone who can write to the broker can announce any
//! URL. So the [`Forwarder`] sends the cluster's shared token only to a URL on the
//! [`Peers`] allowlist, and the owner compares tokens with [`token_matches`] (constant time,
//! an empty token never matches).

use super::config::KafkaConfig;
pub use super::peers::Peers;
use super::support::unavailable;
pub use crate::eventlog::forwarding::{Forwarded, ForwardedAnswer, OwnerHeads};
use crate::eventlog::EventLogError;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Header carrying the cluster-internal shared secret.
pub const INTERNAL_TOKEN_HEADER: &str = "x-erp-internal-token";

/// How many refresh intervals an announcement stays valid without being written again.
pub const LEASE_INTERVALS: u32 = 3;

/// An announced owner: where to forward requests for its partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub instance_id: String,
    pub url: String,
}

/// What an owner writes on the owners topic under `type/partition`. Readers of earlier
/// versions read it as an [`Owner`] (they ignore the fields they do not know).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub instance_id: String,
    /// Empty in a withdrawal.
    pub url: String,
    /// When the owner wrote it, in milliseconds since the Unix epoch by its clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
    /// How long it holds without a refresh, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_ms: Option<u64>,
    /// The instance no longer owns the partition.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
}

impl Announcement {
    /// `instance_id` owns the partition, reachable at `url`, for `lease` from `at_ms`.
    pub fn owned(instance_id: &str, url: &str, at_ms: i64, lease: Duration) -> Self {
        Self {
            instance_id: instance_id.to_owned(),
            url: url.to_owned(),
            at_ms: Some(at_ms),
            lease_ms: Some(lease.as_millis() as u64),
            withdrawn: false,
        }
    }

    /// `instance_id` no longer owns the partition.
    pub fn withdrawn(instance_id: &str, at_ms: i64) -> Self {
        Self {
            instance_id: instance_id.to_owned(),
            url: String::new(),
            at_ms: Some(at_ms),
            lease_ms: None,
            withdrawn: true,
        }
    }
}

/// A moment by both clocks an announcement's lease is judged by: the wall clock (compared
/// with the owner's stamp) and this process's monotonic clock (time since it was heard).
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub wall_ms: i64,
    pub mono: Instant,
}

impl Now {
    pub fn system() -> Self {
        Self {
            wall_ms: chrono::Utc::now().timestamp_millis(),
            mono: Instant::now(),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    owner: Owner,
    /// Which record of the topic this is (counted as applied): a sender refused by the owner
    /// it names skips it, and retries on the next announcement, even the same instance's.
    heard: u64,
    /// Valid before both: the owner's stamp plus its lease, and when it was heard plus the
    /// lease. None for announcements without a lease (earlier versions).
    expires: Option<(i64, Instant)>,
}

/// The owners the topic announced, as of the records applied so far, in topic order.
#[derive(Debug, Clone, Default)]
pub struct OwnersTable {
    entries: HashMap<(String, u32), Entry>,
    applied: u64,
}

impl OwnersTable {
    /// Applies one record of the owners topic, heard at `now`.
    pub fn apply(&mut self, stream_type: &str, partition: u32, announcement: Announcement, now: Now) {
        let key = (stream_type.to_owned(), partition);
        self.applied += 1;
        if announcement.withdrawn {
            if self
                .entries
                .get(&key)
                .is_some_and(|e| e.owner.instance_id == announcement.instance_id)
            {
                self.entries.remove(&key);
            }
            return;
        }
        let expires = match (announcement.at_ms, announcement.lease_ms) {
            (Some(at), Some(lease)) => Some((
                at.saturating_add(i64::try_from(lease).unwrap_or(i64::MAX)),
                now.mono + Duration::from_millis(lease),
            )),
            _ => None,
        };
        let owner = Owner {
            instance_id: announcement.instance_id,
            url: announcement.url,
        };
        let heard = self.applied;
        self.entries.insert(key, Entry { owner, heard, expires });
    }

    /// The partition's owner, unless its announcement was withdrawn or its lease ran out.
    pub fn get(&self, stream_type: &str, partition: u32, now: Now) -> Option<Owner> {
        self.announcement(stream_type, partition, now).map(|(owner, _)| owner)
    }

    /// The partition's live announcement: its owner and which record announced it.
    pub fn announcement(&self, stream_type: &str, partition: u32, now: Now) -> Option<(Owner, u64)> {
        let entry = self.entries.get(&(stream_type.to_owned(), partition))?;
        entry.is_live(now).then(|| (entry.owner.clone(), entry.heard))
    }

    /// Every partition with a live announcement, in order.
    pub fn live(&self, now: Now) -> BTreeMap<(String, u32), Owner> {
        self.entries
            .iter()
            .filter(|(_, e)| e.is_live(now))
            .map(|(k, e)| (k.clone(), e.owner.clone()))
            .collect()
    }
}

impl Entry {
    fn is_live(&self, now: Now) -> bool {
        self.expires
            .is_none_or(|(wall, mono)| now.wall_ms < wall && now.mono < mono)
    }
}

/// The `type/partition` key and the announcement of one owners-topic record, if it is one.
fn parse(message: &BorrowedMessage<'_>) -> Option<(String, u32, Announcement)> {
    let key = std::str::from_utf8(message.key()?).ok()?;
    let (stream_type, partition) = key.rsplit_once('/')?;
    let announcement = serde_json::from_slice(message.payload()?).ok()?;
    Some((stream_type.to_owned(), partition.parse().ok()?, announcement))
}

/// The owners map, kept current from the owners topic.
#[derive(Debug, Default)]
pub struct Owners {
    table: RwLock<OwnersTable>,
}

impl Owners {
    pub fn get(&self, stream_type: &str, partition: u32) -> Option<Owner> {
        self.table.read().ok()?.get(stream_type, partition, Now::system())
    }

    /// The partition's live announcement and which record announced it.
    pub fn announcement(&self, stream_type: &str, partition: u32) -> Option<(Owner, u64)> {
        self.table
            .read()
            .ok()?
            .announcement(stream_type, partition, Now::system())
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
                        if let (Some((t, p, announcement)), Ok(mut table)) = (parse(&message), map.table.write()) {
                            table.apply(&t, p, announcement, Now::system());
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

/// Reads the owners topic to its current end: the owners announced now (`erp verify`).
/// Blocking.
pub(super) fn read_owners(config: &KafkaConfig) -> Result<OwnersTable, EventLogError> {
    let topic = config.owners_topic();
    let consumer: BaseConsumer = config
        .consumer_config(&format!("{}.owners-readers", config.prefix))
        .create()
        .map_err(unavailable)?;
    let mut table = OwnersTable::default();
    let (low, high) = consumer
        .fetch_watermarks(&topic, 0, Duration::from_secs(10))
        .map_err(unavailable)?;
    if high <= low {
        return Ok(table);
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(low))
        .map_err(unavailable)?;
    consumer.assign(&tpl).map_err(unavailable)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if Instant::now() > deadline {
            return Err(EventLogError::Unavailable(format!("timed out reading {topic}")));
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.map_err(unavailable)?;
        if let Some((t, p, announcement)) = parse(&message) {
            table.apply(&t, p, announcement, Now::system());
        }
        if message.offset() + 1 >= high {
            return Ok(table);
        }
    }
}

/// Enqueues this instance's announcement — or withdrawal — of a partition on the owners
/// topic, in call order. None when this instance has no advertised URL (it announces
/// nothing) or the record could not be enqueued.
pub(super) fn enqueue_announcement(
    config: &KafkaConfig,
    producer: &FutureProducer,
    (stream_type, partition): &(String, u32),
    owned: bool,
) -> Option<DeliveryFuture> {
    let url = config.advertised_url.as_ref()?;
    let at_ms = chrono::Utc::now().timestamp_millis();
    let announcement = if owned {
        Announcement::owned(
            &config.instance_id,
            url,
            at_ms,
            config.announce_interval * LEASE_INTERVALS,
        )
    } else {
        Announcement::withdrawn(&config.instance_id, at_ms)
    };
    let payload = serde_json::to_vec(&announcement).ok()?;
    let key = format!("{stream_type}/{partition}");
    match producer.send_result(
        FutureRecord::to(&config.owners_topic())
            .partition(0)
            .key(&key)
            .payload(&payload),
    ) {
        Ok(delivery) => Some(delivery),
        Err((e, _)) => {
            tracing::warn!(error = %e, key, owned, "could not announce partition ownership");
            None
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn at(start: Now, after: Duration) -> Now {
        Now {
            wall_ms: start.wall_ms + after.as_millis() as i64,
            mono: start.mono + after,
        }
    }

    fn announced(instance: &str, when: Now) -> Announcement {
        Announcement::owned(instance, &format!("http://{instance}:8091"), when.wall_ms, LEASE)
    }

    fn owner_of(table: &OwnersTable, now: Now) -> Option<String> {
        table.get("approval", 3, now).map(|o| o.instance_id)
    }

    #[test]
    fn an_announcement_holds_for_its_lease_and_a_refresh_extends_it() {
        let t0 = Now::system();
        let mut table = OwnersTable::default();
        table.apply("approval", 3, announced("a", t0), t0);
        assert_eq!(owner_of(&table, at(t0, LEASE / 2)).as_deref(), Some("a"));
        assert_eq!(owner_of(&table, at(t0, LEASE)), None, "not refreshed: expired");

        let refreshed = at(t0, LEASE - Duration::from_secs(1));
        table.apply("approval", 3, announced("a", refreshed), refreshed);
        assert_eq!(owner_of(&table, at(t0, LEASE + LEASE / 2)).as_deref(), Some("a"));
        assert!(table.live(at(t0, 3 * LEASE)).is_empty());
    }

    /// An instance that comes up reads the whole owners topic at once: an announcement written
    /// long ago by an instance since killed is heard now, but its stamp says it is stale.
    #[test]
    fn an_announcement_heard_late_is_judged_by_when_its_owner_wrote_it() {
        let t0 = Now::system();
        let written = Now {
            wall_ms: t0.wall_ms - 2 * LEASE.as_millis() as i64,
            mono: t0.mono,
        };
        let mut table = OwnersTable::default();
        table.apply("approval", 3, announced("dead", written), t0);
        assert_eq!(owner_of(&table, t0), None);
    }

    /// An owner whose clock runs ahead stamps announcements far in the future; once it stops
    /// refreshing they still expire a lease after they were last heard.
    #[test]
    fn an_owner_with_a_clock_ahead_cannot_keep_a_dead_announcement_alive() {
        let t0 = Now::system();
        let ahead = Now {
            wall_ms: t0.wall_ms + 3_600_000,
            mono: t0.mono,
        };
        let mut table = OwnersTable::default();
        table.apply("approval", 3, announced("fast", ahead), t0);
        assert_eq!(owner_of(&table, at(t0, LEASE / 2)).as_deref(), Some("fast"));
        assert_eq!(owner_of(&table, at(t0, LEASE)), None);
    }

    #[test]
    fn a_withdrawal_removes_only_the_withdrawing_instances_announcement() {
        let t0 = Now::system();
        let mut table = OwnersTable::default();
        table.apply("approval", 3, announced("a", t0), t0);
        table.apply("approval", 3, Announcement::withdrawn("a", t0.wall_ms), t0);
        assert_eq!(owner_of(&table, t0), None, "the owner withdrew");

        table.apply("approval", 3, announced("b", t0), t0);
        // A late withdrawal by the previous owner, after the next one announced.
        table.apply("approval", 3, Announcement::withdrawn("a", t0.wall_ms), t0);
        assert_eq!(owner_of(&table, t0).as_deref(), Some("b"));
    }

    /// Instances of earlier versions announce without a lease and never refresh; their
    /// announcements hold until replaced, as those versions expect during a rolling upgrade.
    #[test]
    fn an_announcement_without_a_lease_holds_until_replaced() {
        let t0 = Now::system();
        let legacy: Announcement = serde_json::from_str(r#"{"instance_id":"old","url":"http://old:8091"}"#).unwrap();
        let mut table = OwnersTable::default();
        table.apply("approval", 3, legacy, t0);
        assert_eq!(owner_of(&table, at(t0, 100 * LEASE)).as_deref(), Some("old"));
        table.apply("approval", 3, announced("new", t0), t0);
        assert_eq!(owner_of(&table, t0).as_deref(), Some("new"));
    }

    /// Readers of earlier versions parse an announcement as an [`Owner`].
    #[test]
    fn an_announcement_reads_as_an_owner_for_earlier_versions() {
        let t0 = Now::system();
        let json = serde_json::to_vec(&announced("a", t0)).unwrap();
        let owner: Owner = serde_json::from_slice(&json).unwrap();
        assert_eq!(owner.instance_id, "a");
    }
}
