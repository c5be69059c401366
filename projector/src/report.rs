//! What a projector reports about each projection: its lag, the work it did, the commits it
//! stepped over.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// How far a projection is behind the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    pub projection: &'static str,
    /// Commits in the log the projection has not applied.
    pub events_behind: u64,
    /// Age of the oldest commit not applied yet; 0 when caught up.
    pub seconds_behind: i64,
    /// Commits this projector stepped over because the store refused them or they did not
    /// decode (since it started); the stream they belong to stops at the commit before.
    pub skipped: u64,
    /// The most recent of them.
    pub last_skipped: Option<Skipped>,
    /// Partitions this instance projects now: its share when projections are shared through
    /// a consumer group, otherwise every partition; none when it does not run the projection.
    pub partitions: Vec<u32>,
}

/// What one instance did for one projection since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Work {
    /// Partitions this instance projects now (see [`Lag::partitions`]).
    pub partitions: Vec<u32>,
    /// Commits read from the log and handed to the store.
    pub delivered: u64,
    /// Commits the store applied.
    pub applied: u64,
    /// Commits the store left as they were: already applied (a redelivery) or fenced by rule R.
    pub unchanged: u64,
    /// Times the projection subscribed to the log: once, unless an error or a replay's swap
    /// made a plain subscription start over (a shared one repositions in place instead).
    pub subscriptions: u64,
}

/// A commit a projection could not apply and stepped over, so one bad event never stalls
/// every other stream behind it. Its stream's later commits are then fenced by rule R (they
/// no longer follow on), so the read model shows that stream as it stood before; an operator
/// repairs it and replays the projection (`erp replay`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub stream_id: String,
    pub first_version: u64,
    pub partition: u32,
    pub offset: u64,
    /// `store_refused` (e.g. a value too long for its column) or `undecodable`; the full
    /// error goes to the log only (it may quote the data).
    pub reason: &'static str,
    pub at: DateTime<Utc>,
}

/// Skips per projection since start.
#[derive(Debug, Default)]
pub(crate) struct SkipLog {
    pub(super) counts: HashMap<&'static str, u64>,
    pub(super) last: HashMap<&'static str, Skipped>,
}
