//! The employee read model and the approval views in SQL — MySQL 8 / MariaDB 10.11 in the
//! distributed deployment, SQLite in the embedded default — through one sqlx `Any` code path,
//! so both run the same statements.
//!
//! - [`schema`]: the tables, defined once, and how typed rows bind to them by column name;
//! - [`reads`]: where the APIs' reads run — the sqlx pool on MySQL, a few `rusqlite`
//!   connections on SQLite;
//! - [`apply`](mod@apply): one transaction per batch — rows, stream guards, checkpoint;
//! - [`columns`]: a typed row serialized straight into its table's column values;
//! - [`shadow`]: a replay's copy, its atomic swap, and the checksum and dump that compare;
//! - [`queries`]: what the query API, notifier and command API read.

mod apply;
mod columns;
mod pools;
mod queries;
mod reads;
pub mod schema;
mod shadow;

pub use crate::readmodel::SqlShadow;
pub use queries::{merge_feeds, with_reads};

use crate::eventlog::{Checkpoint, Delivered};
use crate::readmodel::decoded::Decoded;
use crate::readmodel::queries::{ApprovalCandidate, ApprovalCursor, ApprovalSearch};
use crate::readmodel::rows::{FeedEntry, InboxItem, TimelineEntry};
use crate::readmodel::{Applied, ApprovalViews, Dump, Projection, Shadow, StoreError};
use reads::{Reach, Reads, SqliteReads};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The employee read model.
#[derive(Debug, Clone)]
pub struct SqlReadModel {
    /// Writes: the projector's batches, replays' swaps. One connection on SQLite.
    pool: AnyPool,
    /// What the APIs read. On SQLite read-only connections of its own — keyed reads on the
    /// asking thread, scans on a blocking one — which WAL lets read beside the writer instead
    /// of queueing behind its one connection ([`reads`]); on MySQL the same pool as `pool`.
    reads: Reads,
    url: String,
    mysql: bool,
    /// Write transactions this store (and its clones) committed: sign-in keeps an employee
    /// read at one count until the next (`auth::viewers`).
    writes: Arc<AtomicU64>,
    /// SQLite: the background checkpointer ([`checkpoint_in_background`]).
    checkpoints: Option<Arc<Checkpoints>>,
    /// Documents decoded from their stored text, kept while the text stays the same.
    documents: Arc<Decoded<domain::approval::ApprovalDocument>>,
}

/// The settings of the SQLite connections that write (the projector's and the background
/// checkpointer's; the readers keep their own, `reads::READER_PRAGMAS`). The read model is rebuilt from the log and each
/// batch's checkpoint commits with its rows, so `synchronous=NORMAL` is enough: in WAL mode a
/// power cut can lose the last batches but never leaves them half written, and the projector
/// applies them again (their feed entries keep their ids; a live subscriber may be told of
/// them twice). A 64 MiB page cache keeps a catch-up's batches from spilling pages
/// mid-transaction. Measured with `erp bench rebuild` (docs/performance.md).
pub const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
    // Checkpoints run on a connection of their own after each write
    // ([`checkpoint_in_background`]); the writer checkpoints itself only past 64 MiB of WAL.
    "PRAGMA wal_autocheckpoint=16384",
];

impl SqlReadModel {
    /// Connects (`sqlite://path?mode=rwc` or `mysql://user:pass@host:port/db`) and creates
    /// the tables if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        // SQLite has one writer; more connections only contend for its lock.
        let pool = open_pool(url, if sqlite { 1 } else { 8 }, sqlite).await?;
        // Migrate before the readers connect: `query_only` connections cannot create tables.
        schema::migrate(&pool, sqlite).await?;
        let (reads, checkpoints) = if sqlite {
            let checkpointer = open_pool(url, 1, true).await?;
            (
                Reads::Sqlite(Arc::new(SqliteReads::open(&sqlite_path(url))?)),
                Some(Arc::new(checkpoint_in_background(checkpointer))),
            )
        } else {
            (Reads::Pool(pool.clone()), None)
        };
        let store = Self {
            pool,
            reads,
            url: url.to_owned(),
            mysql: !sqlite,
            writes: Arc::default(),
            checkpoints,
            documents: Arc::default(),
        };
        Ok(store)
    }

    /// The URL this store was connected with, for a tool or test that opens a connection of
    /// its own to the same database (it may hold a password: not for logs).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many write transactions this store and its clones have committed (or tried: a
    /// failed one counts too).
    pub fn writes_committed(&self) -> u64 {
        self.writes.load(Ordering::Acquire)
    }

    /// Counts a write transaction, after it ended.
    fn wrote(&self) {
        let count = self.writes.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.announce.send_replace(count);
        }
    }

    /// Where a projection stopped (partition → next offset).
    pub async fn checkpoint(&self, projection: Projection) -> Result<Checkpoint, StoreError> {
        let rows = sqlx::query("SELECT partition_no, next_offset FROM erp_checkpoints WHERE projection = ?")
            .bind(projection.name())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>(0)? as u32, r.try_get::<i64, _>(1)? as u64)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Employees as (id, name, email, department, active), for checks and the directory.
    pub async fn employees(&self) -> Result<Vec<(String, String, String, Option<String>, bool)>, StoreError> {
        self.reads
            .select(
                Reach::Scan,
                "SELECT id, name, email, department, active FROM employees ORDER BY name",
                &[],
                |r| {
                    Ok((
                        r.text(0)?.unwrap_or_default(),
                        r.text(1)?.unwrap_or_default(),
                        r.text(2)?.unwrap_or_default(),
                        r.text(3)?,
                        r.int(4)?.unwrap_or_default() != 0,
                    ))
                },
            )
            .await
    }

    /// An employee's leave balance and days used, as decimal strings.
    pub async fn leave_balance(&self, employee: &str) -> Result<Option<(String, String)>, StoreError> {
        let rows = self
            .reads
            .select(
                Reach::Keyed,
                "SELECT balance, used FROM leave_balances WHERE employee = ?",
                &[employee],
                |r| Ok((r.text(0)?.unwrap_or_default(), r.text(1)?.unwrap_or_default())),
            )
            .await?;
        Ok(rows.into_iter().next())
    }
}

/// The file a `sqlite:` URL names (`sqlite://path?params` or `sqlite:path`).
fn sqlite_path(url: &str) -> String {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// The URL of a SQLite database file at `path`, created if missing. A path is not a URL: the
/// characters a URL reads otherwise (`%` an escape, `?` the query, `#` the fragment) are
/// escaped, and the path is made absolute with its directory resolved (a relative path's
/// first component would be read as the URL's host, and `..` folded away by the URL rather
/// than by the file system), so every connection opens the file named, whatever the
/// directory is called.
pub fn sqlite_url(path: &std::path::Path) -> std::io::Result<String> {
    const SPECIAL: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%').add(b'?').add(b'#');
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    // The directory must exist (SQLite creates the file, not its directory): resolving it
    // leaves no `..` for the URL to fold differently.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let path = dir.canonicalize()?.join(name);
    let path = path.to_str().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not valid UTF-8", path.display()),
        )
    })?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        percent_encoding::utf8_percent_encode(path, SPECIAL)
    ))
}

/// Copies committed WAL pages into the database file on `pool`'s connection after each write
/// the store announces, so the writer does not: SQLite's own auto-checkpoint runs
/// inside the commit that crosses its threshold, on the writer's thread, and a catch-up spent
/// a tenth of its time there (`erp bench rebuild`, docs/performance.md). A passive checkpoint
/// waits for no one and copies what no reader still needs; writes that come while one runs
/// are folded into the next. The task ends when the store and all its clones are gone; its
/// connection closes with the store's ([`SqlReadModel::close`]), before a shadow's file goes.
fn checkpoint_in_background(pool: AnyPool) -> Checkpoints {
    let (announce, mut written) = tokio::sync::watch::channel(0u64);
    let checkpoints = Checkpoints {
        announce,
        pool: pool.clone(),
    };
    tokio::spawn(async move {
        while written.changed().await.is_ok() {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::debug!(error = %e, "background checkpoint failed; the next write tries again");
            }
        }
        pools::close_pool(&pool).await;
    });
    checkpoints
}

/// The background checkpointer of a SQLite store: told of each write, on a connection of its
/// own.
#[derive(Debug)]
struct Checkpoints {
    announce: tokio::sync::watch::Sender<u64>,
    pool: AnyPool,
}

/// A pool on `url` of at most `connections`; SQLite connections get [`SQLITE_PRAGMAS`].
async fn open_pool(url: &str, connections: u32, sqlite: bool) -> Result<AnyPool, StoreError> {
    let pool = AnyPoolOptions::new()
        .max_connections(connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if sqlite {
                    for pragma in SQLITE_PRAGMAS {
                        sqlx::Executor::execute(&mut *conn, *pragma).await?;
                    }
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}

#[async_trait::async_trait]
impl ApprovalViews for SqlReadModel {
    async fn checkpoint(&self) -> Result<Checkpoint, StoreError> {
        SqlReadModel::checkpoint(self, Projection::Approvals).await
    }

    async fn apply(&self, batch: &[Delivered], checkpoint: &Checkpoint, notify: bool) -> Result<Applied, StoreError> {
        self.apply_with(Projection::Approvals, batch, checkpoint, notify).await
    }

    async fn apply_from(
        &self,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        SqlReadModel::apply_from(self, Projection::Approvals, from, batch, checkpoint, notify).await
    }

    async fn inbox(&self, principal: &str, inbox: domain::approval::Inbox) -> Result<Vec<InboxItem>, StoreError> {
        self.inbox_items(principal, inbox).await
    }

    async fn inbox_counts(&self, principal: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.box_counts(principal).await
    }

    async fn notifications(&self, recipient: &str) -> Result<Vec<FeedEntry>, StoreError> {
        self.feed(recipient).await
    }

    async fn approval(&self, id: &str) -> Result<Option<(u64, serde_json::Value)>, StoreError> {
        self.approval_view(id).await
    }

    async fn approval_document(
        &self,
        id: &str,
    ) -> Result<Option<(u64, Arc<domain::approval::ApprovalDocument>)>, StoreError> {
        self.approval_decoded(id).await
    }

    async fn timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        self.timeline_of(id).await
    }

    async fn search(
        &self,
        search: &ApprovalSearch,
        after: Option<&ApprovalCursor>,
        limit: usize,
    ) -> Result<Vec<ApprovalCandidate>, StoreError> {
        self.search_approvals(search, after, limit).await
    }

    async fn checksum(&self) -> Result<String, StoreError> {
        SqlReadModel::checksum(self).await
    }

    async fn dump(&self) -> Result<Dump, StoreError> {
        SqlReadModel::dump(self, Projection::Approvals).await
    }

    async fn shadow(&self) -> Result<(std::sync::Arc<dyn ApprovalViews>, Shadow), StoreError> {
        let (store, shadow) = SqlReadModel::shadow(self, Projection::Approvals).await?;
        Ok((std::sync::Arc::new(store), Shadow::Sql(shadow)))
    }

    async fn swap_in(&self, shadow: &Shadow) -> Result<u64, StoreError> {
        match shadow {
            Shadow::Sql(shadow) => SqlReadModel::swap_in(self, Projection::Approvals, shadow).await,
            other => Err(StoreError::Unavailable(format!("not a SQL shadow: {other:?}"))),
        }
    }

    async fn discard(&self, shadow: &Shadow) -> Result<(), StoreError> {
        match shadow {
            Shadow::Sql(shadow) => self.discard_shadow(shadow).await,
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    /// The readers, the checkpointer and a replay's shadow find the file from the store's URL:
    /// the path they take from it is the one the URL was made for.
    #[test]
    fn a_sqlite_url_gives_back_the_path_it_was_made_for() {
        let base = tempfile::tempdir().unwrap();
        let base = base.path().canonicalize().unwrap();
        for dir in ["erp", "erp%20data #1?x=y", "결재 100%", "a:b [c] ^|\\"] {
            std::fs::create_dir(base.join(dir)).unwrap();
            let path = base.join(dir).join("read.db");
            let url = super::sqlite_url(&path).unwrap();
            assert_eq!(std::path::Path::new(&super::sqlite_path(&url)), path);
            let opened =
                sqlx::sqlite::SqliteConnectOptions::try_from(&url.parse::<sqlx::any::AnyConnectOptions>().unwrap())
                    .unwrap();
            assert_eq!(opened.get_filename(), path, "the file sqlx opens");
        }
        let missing = base.join("missing").join("..").join("read.db");
        assert!(super::sqlite_url(&missing).is_err(), "a directory that is not there");
    }
}
