//! # infra — adapters behind ports
//!
//! The event log (over Kafka with `rdkafka`, and an embedded append-only log), the read-model
//! stores (MySQL/SQLite, MongoDB), the notification bus (Redis / in-process), auth (JWKS
//! verification, the local signer), admission control and the audit checks live here, each behind a trait the
//! service crates use. Settings and telemetry are the `erp` binary's (`src/settings.rs`,
//! `src/main.rs`).
pub mod admission;
pub mod audit;
pub mod auth;
pub mod bus;
pub mod eventlog;
pub mod readmodel;
pub mod trace;
