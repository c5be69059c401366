//! # Read models: what projections write and queries read
//!
//! - [`sql`]: the employee read model (employees, departments, delegations, leave balances and
//!   their ledger) and the approval views (document, timeline, inbox boxes, notification feed)
//!   in SQL — MySQL 8 / MariaDB 10.11 in the distributed deployment, SQLite in the embedded
//!   default — through one sqlx `Any` code path, so both run the same statements.
//!
//! Every projection write is one transaction holding the rows, the per-stream guard (version
//! and folded state) and the projection's checkpoint: a redelivered commit finds its version
//! already applied and changes nothing, and a crash loses either the whole batch or nothing.

pub mod sql;

/// Errors of a read-model store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data does not decode: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}
