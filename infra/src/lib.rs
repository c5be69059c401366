//! # infra — adapters behind ports
//!
//! The event log (over Kafka with `rdkafka`, and an embedded append-only log), the read-model
//! stores (MySQL/SQLite, MongoDB), the notification bus (Redis / in-process), auth (JWKS
//! verification, the local signer), admission control and the audit checks live here, each
//! behind a trait the service crates use. The metrics every role records, with the `/metrics`
//! and `/readyz` each serves, are here too ([`telemetry`]). Settings and log output are the
//! `erp` binary's (`src/settings.rs`, `src/main.rs`).
pub mod admission;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod bus;
pub mod eventlog;
pub mod kept;
pub mod readmodel;
pub mod telemetry;
pub mod trace;
