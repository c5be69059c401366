//! What a projector reports: lag per projection (one definition, `infra::readmodel::lag`),
//! the partitions it works on, the commits it stepped over, all of it recorded as metrics for
//! `/metrics`; and its readiness.

use crate::report::Lag;
use crate::{Projector, ProjectorError};
use infra::readmodel::Projection;

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
