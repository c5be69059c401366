//! What a projector reports: lag per projection (one definition, `infra::readmodel::lag`),
//! the partitions it works on, the commits it stepped over, all of it recorded as metrics for
//! `/metrics`; and its readiness.

use super::*;

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
pub(super) struct SkipLog {
    pub(super) counts: HashMap<&'static str, u64>,
    pub(super) last: HashMap<&'static str, Skipped>,
}

impl Projector {
    /// Lag of every projection.
    pub async fn lag(&self) -> Result<Vec<Lag>, ProjectorError> {
        let mut lags = Vec::new();
        for projection in Projection::ALL {
            let at = self.checkpoint(projection).await?;
            let behind = infra::readmodel::lag::behind(self.log.as_ref(), projection, at).await?;
            let (skipped, last_skipped) = self
                .skips
                .lock()
                .map(|s| {
                    (
                        s.counts.get(projection.name()).copied().unwrap_or(0),
                        s.last.get(projection.name()).cloned(),
                    )
                })
                .unwrap_or_default();
            lags.push(Lag {
                projection: projection.name(),
                events_behind: behind.events,
                seconds_behind: behind.seconds,
                skipped,
                last_skipped,
                partitions: self.work(projection).partitions,
            });
        }
        Ok(lags)
    }
}

/// Sets the projection gauges (`erp_projection_lag_events`, `…_lag_seconds`,
/// `…_partitions`) and the skip counter to `lags`, by projection: run before each scrape of
/// the projector's `/metrics`.
pub fn record_lag(lags: &[Lag]) {
    for lag in lags {
        let projection = lag.projection;
        metrics::gauge!("erp_projection_lag_events", "projection" => projection).set(lag.events_behind as f64);
        metrics::gauge!("erp_projection_lag_seconds", "projection" => projection).set(lag.seconds_behind.max(0) as f64);
        metrics::gauge!("erp_projection_partitions", "projection" => projection).set(lag.partitions.len() as f64);
        metrics::counter!("erp_projection_skipped_total", "projection" => projection).absolute(lag.skipped);
    }
}

impl Projector {
    /// Reads the lag of every projection and records it ([`record_lag`]); a log or store that
    /// does not answer leaves the gauges as they were (and says so in the log).
    pub async fn record_lag(&self) {
        match self.lag().await {
            Ok(lags) => record_lag(&lags),
            Err(e) => tracing::warn!(error = %e, "projection lag not measured for this scrape"),
        }
    }

    /// Readiness: the read model's stores answer (the employee read model and the approval
    /// views) and so does the change bus the projector publishes on.
    pub async fn ready(&self) -> Result<(), String> {
        self.store
            .checkpoint(Projection::Employees)
            .await
            .map_err(|e| format!("read model: {e}"))?;
        self.views
            .checkpoint()
            .await
            .map_err(|e| format!("approval views: {e}"))?;
        self.bus.ping().await.map_err(|e| e.to_string())
    }
}
