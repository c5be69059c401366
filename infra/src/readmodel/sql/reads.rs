//! How the APIs' reads reach the SQL store: a statement and its text binds in, each row
//! handed to the caller as [`Cells`] (columns by position), on either engine.
//!
//! On MySQL and MariaDB a read is a statement on the sqlx pool the writes use. On SQLite it
//! runs on one of a few read-only connections of its own, without sqlx: sqlx's SQLite driver
//! runs every connection on a worker thread, and handing a statement to it and each row back
//! woke a thread each time — on `erp bench queries` a third of the server's CPU went to the
//! kernel switching between the runtime and those threads (docs/performance.md). A
//! [`Reach::Keyed`] read (one key's rows through its index: a document, its timeline, an
//! employee's feed or box) runs on the runtime worker that asks — tens of microseconds, about
//! what the hand-offs cost — and then spends the task's cooperative budget, as an I/O would.
//! A [`Reach::Scan`] (the directory, reports, searches) runs on a blocking thread, so a long
//! one never holds a runtime worker. WAL lets both read beside the writer without waiting;
//! what bounds a wait when they must is [`BUSY_WAIT`].

use super::schema::table;
use crate::readmodel::rows::TableRow;
use crate::readmodel::StoreError;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(super) use row::Cells;

impl Cells for AnyRow {
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get::<Option<i64>, _>(i)?)
    }

    fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        super::schema::text_at(self, i)
    }
}

impl Cells for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        use rusqlite::types::ValueRef;
        match self.get_ref(i).map_err(refused)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            other => Err(StoreError::Corrupt(format!(
                "column {i}: an integer expected, found {:?}",
                other.data_type()
            ))),
        }
    }

    fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        use rusqlite::types::ValueRef;
        match self.get_ref(i).map_err(refused)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => std::str::from_utf8(bytes)
                .map(|text| Some(text.to_owned()))
                .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}"))),
            ValueRef::Integer(n) => Ok(Some(n.to_string())),
            ValueRef::Real(x) => Ok(Some(x.to_string())),
        }
    }
}

/// Reads a typed row selected as its table's column list ([`column_list`]): its columns in
/// the table's order, each handed to the row's deserializer by name ([`row`]).
///
/// [`column_list`]: super::schema::column_list
pub(super) fn read<R: TableRow>(row: &dyn Cells) -> Result<R, StoreError> {
    row::deserialize(row, table(R::TABLE)?)
}

/// How much of a table a read may touch, which decides where it runs on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// One key's rows through its index: on the asking thread.
    Keyed,
    /// Rows found by scanning or sorting a table: on a blocking thread.
    Scan,
}

/// Where the APIs read.
#[derive(Debug, Clone)]
pub(super) enum Reads {
    /// MySQL / MariaDB: the store's own pool.
    Pool(AnyPool),
    /// SQLite: connections used on the calling thread.
    Sqlite(Arc<SqliteReads>),
}

impl Reads {
    /// Every row `sql` selects with `binds`, each mapped by `each`; `reach` says where it
    /// runs on SQLite.
    pub(super) async fn select<T: Send + 'static>(
        &self,
        reach: Reach,
        sql: &str,
        binds: &[&str],
        each: fn(&dyn Cells) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match (self, reach) {
            (Reads::Pool(pool), _) => {
                let mut query = sqlx::query(sql);
                for b in binds {
                    query = query.bind(b.to_string());
                }
                query.fetch_all(pool).await?.iter().map(|r| each(r)).collect()
            }
            (Reads::Sqlite(sqlite), Reach::Keyed) => {
                let selected = sqlite.select(sql, binds, each);
                tokio::task::consume_budget().await;
                selected
            }
            (Reads::Sqlite(sqlite), Reach::Scan) => {
                let (sqlite, sql) = (sqlite.clone(), sql.to_owned());
                let binds: Vec<String> = binds.iter().map(|b| b.to_string()).collect();
                tokio::task::spawn_blocking(move || {
                    let binds: Vec<&str> = binds.iter().map(String::as_str).collect();
                    sqlite.select(&sql, &binds, each)
                })
                .await
                .map_err(|e| StoreError::Unavailable(format!("a read's thread failed: {e}")))?
            }
        }
    }

    /// Closes the connections (a shadow before its file goes): on SQLite the idle ones now and
    /// a read's own when it ends; a SQLite read after this fails as unavailable.
    pub(super) async fn close(&self) {
        match self {
            Reads::Pool(pool) => super::pools::close_pool(pool).await,
            Reads::Sqlite(sqlite) => sqlite.close(),
        }
    }
}

/// How long a SQLite read waits for a lock before it answers busy. WAL readers wait only while
/// another connection recovers or restarts the WAL, rare and short; this bounds how long a
/// read can hold the runtime worker it runs on.
const BUSY_WAIT: Duration = Duration::from_millis(250);

/// Idle connections kept at least; more on a host with more cores ([`SqliteReads::open`]).
/// One more read at once than are kept opens a connection and closes it after.
const IDLE_KEPT: usize = 8;

/// Each read connection's page cache. A reader's cache is dropped whenever the writer has
/// committed since its last read, so a large one buys little; the OS keeps the file's pages.
const READER_PRAGMAS: &[&str] = &["PRAGMA cache_size=-8192", "PRAGMA temp_store=MEMORY"];

/// Statements each connection keeps prepared: every read statement of the store, with room
/// for the `IN (…)` lists' several lengths.
const PREPARED_KEPT: usize = 128;

/// Read-only SQLite connections, taken by one read at a time on the thread that asks.
#[derive(Debug)]
pub(super) struct SqliteReads {
    path: String,
    /// Idle connections, and whether the store is closed (checked under the same lock, so no
    /// connection is put back after [`Self::close`]).
    idle: Mutex<Idle>,
    /// Idle connections kept at most: two per core (reads on runtime workers and on blocking
    /// threads), at least [`IDLE_KEPT`].
    kept: usize,
}

#[derive(Debug, Default)]
struct Idle {
    connections: Vec<rusqlite::Connection>,
    closed: bool,
}

impl SqliteReads {
    /// Opens the first connection now, so a store that cannot be read fails at connect.
    pub(super) fn open(path: &str) -> Result<Self, StoreError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let reads = Self {
            path: path.to_owned(),
            idle: Mutex::default(),
            kept: (2 * cores).max(IDLE_KEPT),
        };
        let first = reads.connect()?;
        reads.put_back(first);
        Ok(reads)
    }

    fn connect(&self) -> Result<rusqlite::Connection, StoreError> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Unavailable(format!("opening {}: {e}", self.path)))?;
        conn.busy_timeout(BUSY_WAIT).map_err(refused)?;
        for pragma in READER_PRAGMAS {
            conn.execute_batch(pragma).map_err(refused)?;
        }
        // Read-write at open (a read-only open cannot map a WAL database's index file that is
        // not there yet); no write gets through this.
        conn.execute_batch("PRAGMA query_only=ON").map_err(refused)?;
        conn.set_prepared_statement_cache_capacity(PREPARED_KEPT);
        Ok(conn)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn put_back(&self, conn: rusqlite::Connection) {
        let mut idle = self.idle();
        if !idle.closed && idle.connections.len() < self.kept {
            idle.connections.push(conn);
        }
    }

    fn select<T>(
        &self,
        sql: &str,
        binds: &[&str],
        each: impl Fn(&dyn Cells) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let taken = {
            let mut idle = self.idle();
            if idle.closed {
                return Err(StoreError::Unavailable(format!("{} is closed", self.path)));
            }
            idle.connections.pop()
        };
        let conn = match taken {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let selected = select_on(&conn, sql, binds, each);
        self.put_back(conn);
        selected
    }

    /// Closes the idle connections; a read in flight closes its own when it ends.
    fn close(&self) {
        let mut idle = self.idle();
        idle.closed = true;
        idle.connections.clear();
    }
}

fn select_on<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    binds: &[&str],
    each: impl Fn(&dyn Cells) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(refused)?;
    let mut rows = statement.query(rusqlite::params_from_iter(binds)).map_err(refused)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(refused)? {
        out.push(each(row)?);
    }
    Ok(out)
}

/// A SQLite error as the store's: busy or locked can simply run again; anything else leaves
/// the store unreadable for now (a value of the wrong kind is told by [`Cells`] itself).
fn refused(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(failure, _)
            if matches!(failure.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            StoreError::Transient(e.to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

mod row;
#[cfg(test)]
mod tests;
