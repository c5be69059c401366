//! The approval views port and what its stores share: errors, a replay's shadow, dumps.

use super::change::Change;
use super::queries::{ApprovalCandidate, ApprovalCursor, ApprovalSearch};
use super::rows::{FeedEntry, InboxItem, TimelineEntry};
use crate::eventlog::{Checkpoint, Delivered};
use domain::approval::{ApprovalDocument, Inbox};
use std::sync::Arc;

/// What one `apply` did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Commits folded into rows.
    pub applied: usize,
    /// Commits already applied (redelivery) or fenced by rule R: nothing changed.
    pub skipped: usize,
    /// Changes to push to live subscribers (new feed entries, changed documents), for the
    /// commits this batch applied; empty for replays (`notify = false`), which rebuild the
    /// feed rows without announcing them again.
    pub published: Vec<Change>,
}

/// The approval views port: one fold ([`super::fold::fold_approval_events`]), two stores — SQL (SQLite for the
/// embedded default) and MongoDB — checked by one contract suite.
#[async_trait::async_trait]
pub trait ApprovalViews: Send + Sync {
    /// Where the projection stopped.
    async fn checkpoint(&self) -> Result<Checkpoint, StoreError>;
    /// Applies a batch; with `notify` the new feed entries come back in `published` for the
    /// notifier; replays pass `false` and announce nothing again.
    async fn apply(&self, batch: &[Delivered], checkpoint: &Checkpoint, notify: bool) -> Result<Applied, StoreError>;
    /// As `apply`, for a follower whose batch starts at `from`: refused with
    /// [`StoreError::Moved`] (writing nothing) unless the stored checkpoint is still `from`
    /// on every partition the batch moves ([`moved_partitions`]), so a projector never writes
    /// over a copy a replay swapped in under it, nor over another instance's progress. Only
    /// those partitions' positions are written.
    async fn apply_from(
        &self,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError>;
    async fn inbox(&self, principal: &str, inbox: Inbox) -> Result<Vec<InboxItem>, StoreError>;
    async fn inbox_counts(&self, principal: &str) -> Result<Vec<(String, i64)>, StoreError>;
    async fn notifications(&self, recipient: &str) -> Result<Vec<FeedEntry>, StoreError>;
    async fn approval(&self, id: &str) -> Result<Option<(u64, serde_json::Value)>, StoreError>;
    /// The document as the domain's type: what a query resolves. The default decodes
    /// [`Self::approval`]'s JSON tree; a store holding the document as text decodes the text
    /// straight into it, without the tree in between, and keeps what it decoded while the
    /// text stays the same ([`crate::readmodel::decoded`]).
    async fn approval_document(&self, id: &str) -> Result<Option<(u64, Arc<ApprovalDocument>)>, StoreError> {
        let Some((version, json)) = self.approval(id).await? else {
            return Ok(None);
        };
        let document = serde_json::from_value(json).map_err(|e| StoreError::Corrupt(format!("document {id}: {e}")))?;
        Ok(Some((version, Arc::new(document))))
    }
    async fn timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError>;
    /// Candidate documents newest first, narrowed by `search`, after a keyset cursor.
    async fn search(
        &self,
        search: &ApprovalSearch,
        after: Option<&ApprovalCursor>,
        limit: usize,
    ) -> Result<Vec<ApprovalCandidate>, StoreError>;
    /// Equal checksums mean equal views.
    async fn checksum(&self) -> Result<String, StoreError>;
    /// Every row of the views, table → key → canonical row text (`erp replay diff`).
    async fn dump(&self) -> Result<Dump, StoreError>;
    /// An empty copy for a replay to fill, and the handle to swap it in with.
    async fn shadow(&self) -> Result<(std::sync::Arc<dyn ApprovalViews>, Shadow), StoreError>;
    /// Makes the shadow the live views atomically; returns the rows copied (0 when a pointer
    /// moved instead).
    async fn swap_in(&self, shadow: &Shadow) -> Result<u64, StoreError>;
    /// Removes what is left of a shadow after its swap or a failed replay.
    async fn discard(&self, shadow: &Shadow) -> Result<(), StoreError>;
}

/// Rows of a read model by table and primary key, each as one comparable text.
pub type Dump = std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;

/// A replay's copy of a projection, before and after its swap.
#[derive(Debug, Clone)]
pub enum Shadow {
    Sql(SqlShadow),
    Mongo(MongoShadow),
}

/// Errors of a read-model store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data does not decode: {0}")]
    Corrupt(String),
    /// A deadlock or busy database: the whole transaction can simply run again.
    #[error("transient store conflict: {0}")]
    Transient(String),
    /// The database refused the data itself (a value too long for its column, a constraint):
    /// running the same write again fails the same way.
    #[error("store refused the data: {0}")]
    Rejected(String),
    /// The stored checkpoint is not where the batch starts: a replay swapped in another copy
    /// (or another projector moved it). Nothing was written; resubscribe from the stored one.
    #[error("projection moved: {0}")]
    Moved(String),
}

/// The partitions a batch moves from `from` to `to`: those it holds commits of, and those
/// whose position changes (a commit stepped over). A follower's write checks and moves these
/// only; the others may belong to another instance.
pub fn moved_partitions(from: &Checkpoint, batch: &[Delivered], to: &Checkpoint) -> std::collections::BTreeSet<u32> {
    let at = |c: &Checkpoint, p: &u32| c.get(p).copied().unwrap_or(0);
    batch
        .iter()
        .map(|d| d.partition)
        .chain(to.keys().filter(|p| at(from, p) != at(to, p)).copied())
        .collect()
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let fault = match &e {
            sqlx::Error::Database(db) => fault_of(db.as_ref()),
            _ => Fault::Store,
        };
        match fault {
            Fault::Conflict => StoreError::Transient(e.to_string()),
            Fault::Data => StoreError::Rejected(e.to_string()),
            Fault::Store => StoreError::Unavailable(e.to_string()),
        }
    }
}

/// Whose fault an error the database returned is.
enum Fault {
    /// Another transaction was in the way: the same write can simply run again.
    Conflict,
    /// The data itself: the same write fails the same way every time, and a projector steps
    /// over the commit. Only errors known to be about the values count.
    Data,
    /// The store (a full disk, an I/O error, a read-only server, a lost file): the write is
    /// tried again once the store is back, never stepped over.
    Store,
}

fn fault_of(db: &dyn sqlx::error::DatabaseError) -> Fault {
    use sqlx::error::ErrorKind;
    if !matches!(db.kind(), ErrorKind::Other) {
        // Unique, foreign-key, not-null and check violations.
        return Fault::Data;
    }
    if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        // SQLite's extended code; its low byte is the primary code.
        let code = sqlx::error::DatabaseError::code(sqlite)
            .and_then(|c| c.parse::<i32>().ok())
            .unwrap_or(0);
        return match code & 0xff {
            5 | 6 => Fault::Conflict, // BUSY, LOCKED
            18 | 19 => Fault::Data,   // TOOBIG, CONSTRAINT
            _ => Fault::Store,
        };
    }
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        let state = mysql.code().unwrap_or_default();
        return match mysql.number() {
            1205 | 1213 => Fault::Conflict, // lock wait timeout, deadlock
            1020 => Fault::Conflict,        // MariaDB: the row changed since the snapshot
            _ if state == "40001" => Fault::Conflict,
            // SQLSTATE 22 (a value out of range, too long, mistyped) and 23 (a constraint);
            // an incorrect string (1366) and a row too large (1118) carry other states.
            1366 | 1118 => Fault::Data,
            _ if state.starts_with("22") || state.starts_with("23") => Fault::Data,
            _ => Fault::Store,
        };
    }
    Fault::Store
}

/// Where a replay builds a projection's copy before `SqlReadModel::swap_in`: a sibling
/// SQLite file, or a sibling database on the same MySQL server.
#[derive(Debug, Clone)]
pub struct SqlShadow {
    pub(super) url: String,
    pub(super) place: ShadowPlace,
}

#[derive(Debug, Clone)]
pub(super) enum ShadowPlace {
    SqliteFile(String),
    MysqlDatabase(String),
}

/// A shadow generation a replay fills before `MongoViews::swap_in`.
#[derive(Debug, Clone)]
pub struct MongoShadow {
    pub(super) database: String,
    pub(super) generation: i64,
}
