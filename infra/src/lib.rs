//! # infra — adapters behind ports
//!
//! The event log (over Kafka with `rdkafka`, and an embedded append-only log), the read-model
//! stores (MySQL/SQLite, MongoDB), the notification bus (Redis / in-process), configuration,
//! telemetry and auth live here, each behind a trait the service crates use.
//! Deployment material lives under `infra/deploy/`.
pub mod audit;
pub mod auth;
pub mod bus;
pub mod eventlog;
pub mod readmodel;
