//! # Telemetry: metrics and readiness, the same on every role
//!
//! Series are recorded through the `metrics` facade wherever the fact arises (a request
//! answered, a commit appended, a partition assigned, a change pushed) into one Prometheus
//! recorder per process ([`metrics::install`]). Every role serves them on its own `/metrics`
//! ([`Operations`]), so `erp up`, which runs every role in one process, shows all of them on
//! one page. What is not an event but a state read on demand (projection lag, the log's
//! faults) is refreshed by the role's collectors just before each scrape renders.
//!
//! - [`metrics`]: the recorder, the catalogue of series with their help texts and buckets.
//! - [`http`]: one middleware for every HTTP router: requests by role, route template (never
//!   the raw path), method and status, and their duration.
//! - [`Operations`]: the `/metrics` route and, where the role has checks, `/readyz`.
//! - [`traces`]: OpenTelemetry spans continuing each command's trace, exported over OTLP when
//!   an endpoint is configured.
//!
//! Names follow Prometheus conventions (`erp_` prefix, snake_case, base units, `_total` for
//! counters, `_seconds` for durations); `deploy/monitoring/metrics.yml` lists them for the
//! alert rules and dashboards, `docs/operations.md` ("Metrics") for operators.

pub mod http;
pub mod metrics;
mod operations;
pub mod traces;

pub use operations::{Check, Collect, Operations};
