//! One Prometheus recorder per process, installed on first use, and the catalogue of series.
//!
//! [`install`] is idempotent and cheap after the first call: every role's router calls it, and
//! tests that run many servers in one process share the one recorder (assertions there look
//! for a series with their own labels, never for a whole page). Histograms are exposed as
//! Prometheus histograms with [`BUCKETS`] (seconds), not summaries, so they aggregate across
//! instances.

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Bucket bounds of every duration histogram, in seconds: from a cached read (1 ms) to a
/// request at its timeout (30 s).
pub const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets between scrapes, so memory stays
/// bounded when nobody scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on the first call. `None` when another recorder was
/// installed first (an embedding program's own): the series then go there, and this
/// process's `/metrics` says so instead of rendering.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new().set_buckets(&BUCKETS) {
                Ok(builder) => builder,
                Err(e) => {
                    tracing::error!(error = %e, "metrics buckets refused");
                    return None;
                }
            };
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    let upkeep = handle.clone();
                    let started = std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || loop {
                            std::thread::sleep(UPKEEP);
                            upkeep.run_upkeep();
                        });
                    if let Err(e) = started {
                        tracing::warn!(error = %e, "no metrics upkeep thread; histograms fold at each scrape only");
                    }
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder was installed already; /metrics renders nothing");
                    None
                }
            }
        })
        .as_ref()
}

/// Every series as the Prometheus text exposition (installs the recorder if needed).
pub fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

/// `Instant::elapsed` in the seconds a histogram records.
pub fn seconds(since: std::time::Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// The help text and unit of every series any role records. A series shows once it has a
/// value; its help comes from here.
fn describe() {
    // Every HTTP role (label role: command-api, query-api, notifier, projector).
    describe_counter!(
        "erp_http_requests_total",
        "HTTP requests answered, by role, route (the matched template), method and status."
    );
    describe_histogram!(
        "erp_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by role, route (the matched template), method and status."
    );
    // command-api
    describe_counter!(
        "erp_commands_total",
        "Commands answered, by command (method and route template) and code: ok, or the problem document's code."
    );
    // The event log (command-api; appends also on erp up's embedded log).
    describe_histogram!(
        "erp_eventlog_append_duration_seconds",
        Unit::Seconds,
        "Time from append to its answer (acknowledged by rule R, or refused), by log and result."
    );
    describe_counter!(
        "erp_eventlog_produce_errors_total",
        "Records the Kafka producer could not enqueue or the broker did not acknowledge."
    );
    describe_counter!(
        "erp_eventlog_unreadable_total",
        "Records on a Kafka events topic that do not decode as a commit, stepped over by subscriptions, by topic."
    );
    describe_counter!(
        "erp_eventlog_forwarded_total",
        "Log requests forwarded to the instance that owns the partition, by request and result."
    );
    describe_counter!(
        "erp_eventlog_rebalances_total",
        "Partition assignment changes a consumer group made on this instance, by group and change (assigned, revoked)."
    );
    describe_gauge!(
        "erp_eventlog_partitions_total",
        "Partitions the writer group divides (stream types x partitions per type)."
    );
    describe_gauge!(
        "erp_eventlog_partitions_owned",
        "Partitions (stream type x partition) this instance owns and has restored."
    );
    describe_gauge!(
        "erp_eventlog_partitions_not_ready",
        "Partitions assigned to this instance and not ready past the bound."
    );
    describe_gauge!(
        "erp_eventlog_stuck_streams",
        "Streams whose head on this instance disagrees with the log's by rule R."
    );
    describe_counter!(
        "erp_eventlog_restore_failures_total",
        "Failed partition restores since start."
    );
    // projector
    describe_gauge!(
        "erp_projection_lag_events",
        "Commits in the log a projection has not applied (the commit lag)."
    );
    describe_gauge!(
        "erp_projection_lag_seconds",
        "Age of the oldest commit a projection has not applied; 0 when caught up."
    );
    describe_counter!(
        "erp_projection_skipped_total",
        "Commits a projection stepped over (refused or undecodable)."
    );
    describe_gauge!(
        "erp_projection_partitions",
        "Partitions this instance projects (its share of a shared projection)."
    );
    describe_counter!("erp_projection_applied_total", "Commits applied, by projection.");
    describe_histogram!(
        "erp_projection_apply_duration_seconds",
        Unit::Seconds,
        "Time to write one batch into a projection's store (rows, guards and checkpoint in one transaction)."
    );
    // query-api
    describe_histogram!(
        "erp_graphql_request_duration_seconds",
        Unit::Seconds,
        "Time to execute one GraphQL operation, by operation name and outcome (ok, error)."
    );
    // notifier
    describe_gauge!(
        "erp_notifier_connections",
        "Open graphql-ws connections on this instance."
    );
    describe_gauge!(
        "erp_notifier_subscriptions",
        "Active subscriptions on this instance, by field (myNotifications, inboxChanged, approvalUpdated)."
    );
    describe_counter!("erp_notifier_pushes_total", "Messages pushed to subscribers.");
    describe_histogram!(
        "erp_notifier_push_latency_seconds",
        Unit::Seconds,
        "Time from a change arriving on this instance's bus to its message written to the subscriber's socket."
    );
    describe_counter!(
        "erp_notifier_overflow_total",
        "Subscribers that fell behind their route's ring or the instance's bus ring."
    );
    describe_counter!(
        "erp_notifier_resyncs_total",
        "resync: true items sent in place of the changes a subscriber missed."
    );
    // Every token-checking role (label role: command-api, query-api, notifier).
    describe_counter!(
        "erp_jwks_refresh_failures_total",
        "Failed fetches of the identity provider's key set (scheduled or for an unknown kid), by role."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_twice_gives_the_one_recorder_and_its_series_render() {
        let first = install().map(|h| h as *const PrometheusHandle);
        let second = install().map(|h| h as *const PrometheusHandle);
        assert!(first.is_some());
        assert_eq!(first, second);
        metrics::counter!("erp_test_install_total", "case" => "twice").increment(2);
        let text = render();
        assert!(
            text.lines().any(|l| l == "erp_test_install_total{case=\"twice\"} 2"),
            "{text}"
        );
    }
}
