//! The employee read model in SQL (MySQL/MariaDB or SQLite, one code path over sqlx `Any`).
//!
//! Tables are defined once in [`TABLES`] (columns and kinds), which drives both `CREATE TABLE`
//! and the row checksum replay comparisons use. Statements stick to what MySQL 8, MariaDB and
//! SQLite share: `?` placeholders, delete-then-insert instead of dialect upserts, TEXT for
//! decimals and times, BIGINT for integers.

use super::StoreError;
use crate::bus::Change;
use crate::eventlog::chain::Head;
use crate::eventlog::{streams, Checkpoint, Delivered};
use domain::leave::{LeaveEvent, LeaveLedger};
use domain::org::{Delegation, Department, Employee};
use domain::Aggregate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

/// One projection of the employee read model: its name, the stream type it consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    Employees,
    Departments,
    Delegations,
    Leave,
    /// Approval documents with their timeline, inbox entries and notification feeds.
    Approvals,
}

impl Projection {
    pub const ALL: [Projection; 5] = [
        Self::Employees,
        Self::Departments,
        Self::Delegations,
        Self::Leave,
        Self::Approvals,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Employees => "org.employees",
            Self::Departments => "org.departments",
            Self::Delegations => "org.delegations",
            Self::Leave => "org.leave",
            Self::Approvals => "approval.views",
        }
    }

    /// The tables holding this projection's rows, besides its guard (`erp_streams`) and
    /// checkpoint (`erp_checkpoints`) rows; a replay swaps exactly these.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Self::Employees => &["employees"],
            Self::Departments => &["departments"],
            Self::Delegations => &["delegations"],
            Self::Leave => &["leave_balances", "leave_entries"],
            Self::Approvals => &["approvals", "approval_timeline", "inbox", "notifications"],
        }
    }

    /// The projection called `name` (as `erp replay --projection` takes it).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn stream_type(self) -> &'static str {
        match self {
            Self::Employees => streams::EMPLOYEE,
            Self::Departments => streams::DEPARTMENT,
            Self::Delegations => streams::DELEGATION,
            Self::Leave => streams::LEAVE,
            Self::Approvals => streams::APPROVAL,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// VARCHAR key or short text.
    Key,
    Text,
    Int,
}

/// A table: name, columns with their kinds, primary key.
pub(super) type Table = (&'static str, &'static [(&'static str, Kind)], &'static str);

/// Every table of the employee read model.
pub(super) const TABLES: &[Table] = &[
    (
        "erp_checkpoints",
        &[
            ("projection", Kind::Key),
            ("partition_no", Kind::Int),
            ("next_offset", Kind::Int),
        ],
        "projection, partition_no",
    ),
    (
        "erp_streams",
        &[
            ("projection", Kind::Key),
            ("stream_id", Kind::Key),
            ("version", Kind::Int),
            ("hash", Kind::Key),
            ("state", Kind::Text),
        ],
        "projection, stream_id",
    ),
    (
        "employees",
        &[
            ("id", Kind::Key),
            ("name", Kind::Key),
            ("email", Kind::Key),
            ("department", Kind::Key),
            ("position_title", Kind::Key),
            ("position_rank", Kind::Int),
            ("manager", Kind::Key),
            ("roles", Kind::Key),
            ("active", Kind::Int),
            ("version", Kind::Int),
        ],
        "id",
    ),
    (
        "departments",
        &[
            ("id", Kind::Key),
            ("name", Kind::Key),
            ("code", Kind::Key),
            ("parent", Kind::Key),
            ("head", Kind::Key),
            ("closed", Kind::Int),
            ("version", Kind::Int),
        ],
        "id",
    ),
    (
        "delegations",
        &[
            ("id", Kind::Key),
            ("principal", Kind::Key),
            ("proxy", Kind::Key),
            ("valid_from", Kind::Key),
            ("valid_until", Kind::Key),
            ("revoked", Kind::Int),
            ("version", Kind::Int),
        ],
        "id",
    ),
    (
        "leave_balances",
        &[
            ("employee", Kind::Key),
            ("balance", Kind::Key),
            ("used", Kind::Key),
            ("version", Kind::Int),
        ],
        "employee",
    ),
    (
        "leave_entries",
        &[
            ("employee", Kind::Key),
            ("version", Kind::Int),
            ("kind", Kind::Key),
            ("days", Kind::Key),
            ("document", Kind::Key),
            ("reason", Kind::Text),
            ("at", Kind::Key),
        ],
        "employee, version",
    ),
    (
        "approvals",
        &[
            ("id", Kind::Key),
            ("title", Kind::Key),
            ("status", Kind::Key),
            ("drafter", Kind::Key),
            ("form", Kind::Key),
            ("revision", Kind::Int),
            ("number", Kind::Key),
            ("current_approvers", Kind::Text),
            ("amount", Kind::Key),
            ("submitted_at", Kind::Key),
            ("completed_at", Kind::Key),
            ("updated_at", Kind::Key),
            ("document", Kind::Text),
            ("version", Kind::Int),
        ],
        "id",
    ),
    (
        "approval_timeline",
        &[
            ("doc", Kind::Key),
            ("version", Kind::Int),
            ("revision", Kind::Int),
            ("event_type", Kind::Key),
            ("actor", Kind::Key),
            ("on_behalf_of", Kind::Key),
            ("at", Kind::Key),
            ("note", Kind::Text),
        ],
        "doc, version",
    ),
    (
        "inbox",
        &[
            ("principal", Kind::Key),
            ("box", Kind::Key),
            ("doc", Kind::Key),
            ("title", Kind::Key),
            ("status", Kind::Key),
            ("drafter", Kind::Key),
            ("updated_at", Kind::Key),
        ],
        "principal, box, doc",
    ),
    (
        "notifications",
        &[
            ("id", Kind::Key),
            ("recipient", Kind::Key),
            ("doc", Kind::Key),
            ("kind", Kind::Key),
            ("title", Kind::Key),
            ("at", Kind::Key),
            ("is_read", Kind::Int),
        ],
        "id",
    ),
];

/// Tables whose rows are written once per event and never change.
const APPEND_ONLY_TABLES: [&str; 3] = ["approval_timeline", "notifications", "leave_entries"];

/// Secondary indexes: name, table, columns.
const INDEXES: [(&str, &str, &str); 2] = [
    // Inbox rows are replaced per document on every commit.
    ("inbox_by_doc", "inbox", "doc"),
    ("feed_by_recipient", "notifications", "recipient, at"),
];

/// Tables with one row per stream, whose last column is the stream version.
const ENTITY_TABLES: [&str; 5] = ["employees", "departments", "delegations", "leave_balances", "approvals"];

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

/// A value bound into a statement.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Text(Option<String>),
    Int(i64),
}

/// The employee read model.
#[derive(Debug, Clone)]
pub struct SqlReadModel {
    pub(super) pool: AnyPool,
    url: String,
    mysql: bool,
}

fn opt<T: ToString>(v: Option<T>) -> Value {
    Value::Text(v.map(|x| x.to_string()))
}

fn text(v: impl ToString) -> Value {
    Value::Text(Some(v.to_string()))
}

impl SqlReadModel {
    /// Connects (`sqlite://path?mode=rwc` or `mysql://user:pass@host:port/db`) and creates
    /// the tables if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            // SQLite has one writer; more connections only contend for its lock.
            .max_connections(if sqlite { 1 } else { 8 })
            .connect(url)
            .await?;
        if sqlite {
            sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
        }
        let store = Self {
            pool,
            url: url.to_owned(),
            mysql: !sqlite,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        for (table, columns, key) in TABLES {
            let cols: Vec<String> = columns
                .iter()
                .map(|(name, kind)| {
                    let ty = match kind {
                        Kind::Key => "VARCHAR(191)",
                        Kind::Text => "TEXT",
                        Kind::Int => "BIGINT",
                    };
                    format!("{name} {ty}")
                })
                .collect();
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {table} ({}, PRIMARY KEY ({key}))",
                cols.join(", ")
            );
            sqlx::query(&sql).execute(&self.pool).await?;
        }
        // Secondary indexes; MySQL has no CREATE INDEX IF NOT EXISTS, so an existing one is
        // recognised by the error and left alone.
        for (name, table, columns) in INDEXES {
            let sql = format!("CREATE INDEX {name} ON {table} ({columns})");
            if let Err(e) = sqlx::query(&sql).execute(&self.pool).await {
                let text = e.to_string();
                if !(text.contains("exists") || text.contains("Duplicate key name")) {
                    return Err(e.into());
                }
            }
        }
        Ok(())
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

    /// Applies a batch of commits and moves the checkpoint, in one transaction. Each stream
    /// takes a commit only at its next version (rule R, and idempotent under redelivery).
    pub async fn apply(
        &self,
        projection: Projection,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
    ) -> Result<Applied, StoreError> {
        self.apply_with(projection, batch, checkpoint, true).await
    }

    /// As [`Self::apply_with`] for a follower whose batch starts at `from`: refused with
    /// [`StoreError::Moved`], writing nothing, unless the stored checkpoint is still `from`
    /// (checked inside the transaction, so a replay's swap cannot slip in between).
    pub async fn apply_from(
        &self,
        projection: Projection,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        self.apply_retrying(projection, Some(from), batch, checkpoint, notify)
            .await
    }

    /// As [`Self::apply`]; `notify = false` (replays) rebuilds feed rows but reports none as
    /// new, so nothing is pushed to subscribers again.
    pub async fn apply_with(
        &self,
        projection: Projection,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        self.apply_retrying(projection, None, batch, checkpoint, notify).await
    }

    async fn apply_retrying(
        &self,
        projection: Projection,
        from: Option<&Checkpoint>,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        // A deadlock between two projections' transactions rolls one back whole; run it again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(projection, from, batch, checkpoint, notify).await {
                Err(StoreError::Transient(e)) if attempt < 5 => {
                    tracing::debug!(projection = projection.name(), error = %e, "retrying a transient conflict");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn apply_once(
        &self,
        projection: Projection,
        from: Option<&Checkpoint>,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The positions this transaction writes: all of `checkpoint`, or for a follower only
        // the partitions its batch moves (other instances may hold the rest).
        let mut written = checkpoint.clone();
        if let Some(from) = from {
            let moved = super::moved_partitions(from, batch, checkpoint);
            written.retain(|p, _| moved.contains(p));
            if !moved.is_empty() {
                // Locks these partitions' rows (MySQL), so a concurrent swap or another
                // instance writing the same partition waits for this batch, then finds it moved.
                let lock = if self.mysql { " FOR UPDATE" } else { "" };
                let marks = vec!["?"; moved.len()].join(", ");
                let sql = format!(
                    "SELECT partition_no, next_offset FROM erp_checkpoints WHERE projection = ? AND partition_no IN ({marks}){lock}"
                );
                let mut query = sqlx::query(&sql).bind(projection.name());
                for p in &moved {
                    query = query.bind(*p as i64);
                }
                let stored = query
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get::<i64, _>(0)? as u32, r.try_get::<i64, _>(1)? as u64)))
                    .collect::<Result<Checkpoint, sqlx::Error>>()?;
                let at = |c: &Checkpoint, p: &u32| c.get(p).copied().unwrap_or(0);
                if let Some(p) = moved.iter().find(|p| at(&stored, p) != at(from, p)) {
                    return Err(StoreError::Moved(format!(
                        "{} partition {p} is stored at {}, the batch starts at {}",
                        projection.name(),
                        at(&stored, p),
                        at(from, p)
                    )));
                }
                // A partition's first position: its row is created now, so a second writer of
                // the same partition waits for this transaction (rather than both finding no
                // row), and its retry then finds the partition moved.
                for p in moved.iter().filter(|p| !stored.contains_key(p)) {
                    let row = [text(projection.name()), Value::Int(*p as i64), Value::Int(0)];
                    insert_row(&mut tx, "erp_checkpoints", &row)
                        .await
                        .map_err(|e| match e {
                            StoreError::Rejected(e) => StoreError::Transient(e),
                            other => other,
                        })?;
                }
            }
        }
        let mut outcome = Applied::default();
        let mut guards: HashMap<String, (Head, Option<String>)> = HashMap::new();
        // Rows with one current value per key are written once per batch, whatever number of
        // commits touched them; append-only rows (timeline, feed, ledger) are inserted as
        // they come: the guard passed inside this transaction, so they cannot exist yet.
        let mut latest: Vec<(&'static str, usize, Vec<Value>)> = Vec::new();
        let mut latest_at: HashMap<(&'static str, String), usize> = HashMap::new();
        let mut inboxes: HashMap<String, Vec<Vec<Value>>> = HashMap::new();
        let mut keep = |table: &'static str, key_columns: usize, values: Vec<Value>| {
            let key = values
                .iter()
                .take(key_columns)
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join("|");
            match latest_at.get(&(table, key.clone())) {
                Some(i) => latest[*i] = (table, key_columns, values),
                None => {
                    latest_at.insert((table, key), latest.len());
                    latest.push((table, key_columns, values));
                }
            }
        };
        for delivered in batch {
            let commit = &delivered.commit;
            let (head, state) = match guards.remove(&commit.stream_id) {
                Some(guard) => guard,
                None => {
                    let row = sqlx::query(
                        "SELECT version, hash, state FROM erp_streams WHERE projection = ? AND stream_id = ?",
                    )
                    .bind(projection.name())
                    .bind(&commit.stream_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match row {
                        Some(r) => (
                            Head {
                                version: r.try_get::<i64, _>(0)? as u64,
                                hash: text_at(&r, 1)?.unwrap_or_default(),
                            },
                            text_at(&r, 2)?,
                        ),
                        None => (Head::default(), None),
                    }
                }
            };
            if commit.events.is_empty() || commit.first_version != head.version + 1 {
                outcome.skipped += 1;
                guards.insert(commit.stream_id.clone(), (head, state));
                continue;
            }
            let payloads: Vec<&serde_json::Value> = commit.events.iter().map(|e| &e.payload).collect();
            let (state, rows) = match projection {
                Projection::Employees => fold::<Employee>(state.as_deref(), &payloads, employee_rows)?,
                Projection::Departments => fold::<Department>(state.as_deref(), &payloads, department_rows)?,
                Projection::Delegations => fold::<Delegation>(state.as_deref(), &payloads, delegation_rows)?,
                Projection::Approvals => {
                    let (state, rows, doc, published) = approval_rows(state.as_deref(), delivered)?;
                    if notify {
                        outcome.published.extend(published);
                    }
                    let (inbox, rest): (Rows, Rows) = rows.into_iter().partition(|(table, _, _)| *table == "inbox");
                    if let Some(doc) = doc {
                        inboxes.insert(doc, inbox.into_iter().map(|(_, _, values)| values).collect());
                    }
                    (state, rest)
                }
                Projection::Leave => {
                    let (state, mut rows) = fold::<LeaveLedger>(state.as_deref(), &payloads, leave_rows)?;
                    for event in &commit.events {
                        rows.push(leave_entry(&commit.stream_id, event.version, &event.payload)?);
                    }
                    (state, rows)
                }
            };
            let head = Head {
                version: commit.last_version(),
                hash: commit.last_hash().to_owned(),
            };
            for (table, key, mut values) in rows {
                // Entity rows carry the stream version they reflect, for readers' ETags.
                if ENTITY_TABLES.contains(&table) {
                    if let Some(last) = values.last_mut() {
                        *last = Value::Int(head.version as i64);
                    }
                }
                if APPEND_ONLY_TABLES.contains(&table) {
                    insert_row(&mut tx, table, &values).await?;
                } else {
                    keep(table, key, values);
                }
            }
            keep(
                "erp_streams",
                2,
                vec![
                    text(projection.name()),
                    text(&commit.stream_id),
                    Value::Int(head.version as i64),
                    text(&head.hash),
                    text(&state),
                ],
            );
            outcome.applied += 1;
            guards.insert(commit.stream_id.clone(), (head, Some(state)));
        }
        for (table, key_columns, values) in latest {
            write_row(&mut tx, table, key_columns, values).await?;
        }
        for (doc, rows) in inboxes {
            sqlx::query("DELETE FROM inbox WHERE doc = ?")
                .bind(doc)
                .execute(&mut *tx)
                .await?;
            for values in rows {
                insert_row(&mut tx, "inbox", &values).await?;
            }
        }
        for (partition, next) in &written {
            write_row(
                &mut tx,
                "erp_checkpoints",
                2,
                vec![
                    text(projection.name()),
                    Value::Int(*partition as i64),
                    Value::Int(*next as i64),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// SHA-256 over every row of every read-model table in key order: equal checksums mean
    /// equal read models (checkpoints excluded, since a rebuild may stop at another offset).
    pub async fn checksum(&self) -> Result<String, StoreError> {
        let mut hasher = Sha256::new();
        for (table, columns, key) in TABLES.iter().filter(|(t, _, _)| *t != "erp_checkpoints") {
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            let sql = format!("SELECT {} FROM {table} ORDER BY {key}", names.join(", "));
            for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
                hasher.update(table.as_bytes());
                for (i, (_, kind)) in columns.iter().enumerate() {
                    hasher.update(b"\x1f");
                    hasher.update(cell(&row, i, *kind)?.as_bytes());
                }
                hasher.update(b"\x1e");
            }
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    /// Every row of one projection — its tables and its stream guards — by table and key.
    pub async fn dump(&self, projection: Projection) -> Result<super::Dump, StoreError> {
        let mut dump = super::Dump::new();
        for table in projection.tables().iter().copied().chain(["erp_streams"]) {
            let (_, columns, key) = TABLES
                .iter()
                .find(|(t, _, _)| *t == table)
                .ok_or_else(|| StoreError::Corrupt(format!("no table {table}")))?;
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            let key_count = key.split(',').count();
            let only = if table == "erp_streams" {
                " WHERE projection = ?"
            } else {
                ""
            };
            let sql = format!("SELECT {} FROM {table}{only}", names.join(", "));
            let mut query = sqlx::query(&sql);
            if !only.is_empty() {
                query = query.bind(projection.name());
            }
            let rows = dump.entry(table.to_owned()).or_default();
            for row in query.fetch_all(&self.pool).await? {
                let cells = columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, kind))| cell(&row, i, *kind))
                    .collect::<Result<Vec<_>, _>>()?;
                rows.insert(cells[..key_count].join("|"), cells.join("\u{1f}"));
            }
        }
        Ok(dump)
    }

    /// Employees as (id, name, email, department, active), for checks and the directory.
    pub async fn employees(&self) -> Result<Vec<(String, String, String, Option<String>, bool)>, StoreError> {
        let rows = sqlx::query("SELECT id, name, email, department, active FROM employees ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    text_at(r, 0)?.unwrap_or_default(),
                    text_at(r, 1)?.unwrap_or_default(),
                    text_at(r, 2)?.unwrap_or_default(),
                    text_at(r, 3)?,
                    r.try_get::<i64, _>(4)? != 0,
                ))
            })
            .collect()
    }

    /// An employee's leave balance and days used, as decimal strings.
    pub async fn leave_balance(&self, employee: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT balance, used FROM leave_balances WHERE employee = ?")
            .bind(employee)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some((text_at(&r, 0)?.unwrap_or_default(), text_at(&r, 1)?.unwrap_or_default())),
            None => None,
        })
    }
}

/// Where a replay builds a projection's copy before [`SqlReadModel::swap_in`]: a sibling
/// SQLite file, or a sibling database on the same MySQL server.
#[derive(Debug, Clone)]
pub struct SqlShadow {
    url: String,
    place: ShadowPlace,
}

#[derive(Debug, Clone)]
enum ShadowPlace {
    SqliteFile(String),
    MysqlDatabase(String),
}

impl SqlReadModel {
    /// An empty shadow store beside this one for `projection`, connected and migrated.
    pub async fn shadow(&self, projection: Projection) -> Result<(SqlReadModel, SqlShadow), StoreError> {
        let suffix = format!("replay_{}", projection.name().replace('.', "_"));
        let shadow = if self.mysql {
            // mysql://user:pass@host:port/db?params → same server, database `db_replay_…`.
            let (before_params, params) = self.url.split_once('?').unwrap_or((&self.url, ""));
            let (server, db) = before_params
                .rsplit_once('/')
                .filter(|(server, _)| server.contains("://") && !server.ends_with('/'))
                .ok_or_else(|| StoreError::Unavailable(format!("no database name in {}", redact(&self.url))))?;
            let database = format!("{db}_{suffix}");
            sqlx::query(&format!("DROP DATABASE IF EXISTS `{database}`"))
                .execute(&self.pool)
                .await?;
            sqlx::query(&format!("CREATE DATABASE `{database}`"))
                .execute(&self.pool)
                .await?;
            let query = if params.is_empty() {
                String::new()
            } else {
                format!("?{params}")
            };
            SqlShadow {
                url: format!("{server}/{database}{query}"),
                place: ShadowPlace::MysqlDatabase(database),
            }
        } else {
            let path = self
                .url
                .strip_prefix("sqlite://")
                .or_else(|| self.url.strip_prefix("sqlite:"))
                .unwrap_or(&self.url);
            let path = path.split_once('?').map_or(path, |(p, _)| p);
            let file = format!("{path}.{suffix}");
            for leftover in [file.clone(), format!("{file}-wal"), format!("{file}-shm")] {
                match std::fs::remove_file(&leftover) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::Unavailable(format!("removing {leftover}: {e}"))),
                }
            }
            SqlShadow {
                url: format!("sqlite://{file}?mode=rwc"),
                place: ShadowPlace::SqliteFile(file),
            }
        };
        let store = SqlReadModel::connect(&shadow.url).await?;
        Ok((store, shadow))
    }

    /// Replaces this store's copy of `projection` — its tables, stream guards and checkpoint —
    /// with the shadow's, in one transaction: readers see the old copy or the new one, never a
    /// mix, and a live projector's next batch finds the checkpoint moved
    /// ([`StoreError::Moved`]) and resubscribes from the new one. Returns the rows copied.
    pub async fn swap_in(&self, projection: Projection, shadow: &SqlShadow) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let from = match &shadow.place {
            ShadowPlace::MysqlDatabase(database) => format!("`{database}`."),
            ShadowPlace::SqliteFile(file) => {
                sqlx::query("ATTACH DATABASE ? AS replay_shadow")
                    .bind(file)
                    .execute(&mut *conn)
                    .await?;
                "replay_shadow.".to_owned()
            }
        };
        let copied = copy_projection(&mut conn, projection, &from).await;
        if let ShadowPlace::SqliteFile(_) = shadow.place {
            sqlx::query("DETACH DATABASE replay_shadow").execute(&mut *conn).await?;
        }
        copied
    }

    /// Removes a shadow store (after its swap, or after a failed replay).
    pub async fn discard_shadow(&self, shadow: &SqlShadow) -> Result<(), StoreError> {
        match &shadow.place {
            ShadowPlace::MysqlDatabase(database) => {
                sqlx::query(&format!("DROP DATABASE IF EXISTS `{database}`"))
                    .execute(&self.pool)
                    .await?;
            }
            ShadowPlace::SqliteFile(file) => {
                for path in [file.clone(), format!("{file}-wal"), format!("{file}-shm")] {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        Ok(())
    }

    /// Closes the pool (a shadow before its swap).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The copy inside [`SqlReadModel::swap_in`]: one transaction on `conn`.
async fn copy_projection(
    conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
    projection: Projection,
    from: &str,
) -> Result<u64, StoreError> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    let mut copied = 0;
    let guards = ["erp_checkpoints", "erp_streams"];
    for table in projection.tables().iter().chain(guards.iter()) {
        let (_, columns, _) = TABLES
            .iter()
            .find(|(t, _, _)| t == table)
            .ok_or_else(|| StoreError::Corrupt(format!("no table {table}")))?;
        let names = columns.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        let only = if guards.contains(table) {
            " WHERE projection = ?"
        } else {
            ""
        };
        let delete_sql = format!("DELETE FROM {table}{only}");
        let insert_sql = format!("INSERT INTO {table} ({names}) SELECT {names} FROM {from}{table}{only}");
        let mut delete = sqlx::query(&delete_sql);
        let mut insert = sqlx::query(&insert_sql);
        if !only.is_empty() {
            delete = delete.bind(projection.name());
            insert = insert.bind(projection.name());
        }
        delete.execute(&mut *tx).await?;
        copied += insert.execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(copied)
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// One row of an inbox box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxItem {
    pub doc: String,
    pub title: String,
    pub status: String,
    pub drafter: String,
    pub updated_at: String,
}

/// One entry of a notification feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FeedEntry {
    pub id: String,
    pub doc: String,
    pub kind: String,
    pub title: String,
    pub at: String,
    pub read: bool,
}

/// One entry of a document's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    pub version: u64,
    pub event_type: String,
    pub actor: String,
    pub at: String,
    pub note: Option<String>,
}

#[async_trait::async_trait]
impl super::ApprovalViews for SqlReadModel {
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

    async fn timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        self.timeline_of(id).await
    }

    async fn search(
        &self,
        search: &super::queries::ApprovalSearch,
        after: Option<&super::queries::ApprovalCursor>,
        limit: usize,
    ) -> Result<Vec<super::queries::ApprovalCandidate>, StoreError> {
        self.search_approvals(search, after, limit).await
    }

    async fn checksum(&self) -> Result<String, StoreError> {
        SqlReadModel::checksum(self).await
    }

    async fn dump(&self) -> Result<super::Dump, StoreError> {
        SqlReadModel::dump(self, Projection::Approvals).await
    }

    async fn shadow(&self) -> Result<(std::sync::Arc<dyn super::ApprovalViews>, super::Shadow), StoreError> {
        let (store, shadow) = SqlReadModel::shadow(self, Projection::Approvals).await?;
        Ok((std::sync::Arc::new(store), super::Shadow::Sql(shadow)))
    }

    async fn swap_in(&self, shadow: &super::Shadow) -> Result<u64, StoreError> {
        match shadow {
            super::Shadow::Sql(shadow) => SqlReadModel::swap_in(self, Projection::Approvals, shadow).await,
            other => Err(StoreError::Unavailable(format!("not a SQL shadow: {other:?}"))),
        }
    }

    async fn discard(&self, shadow: &super::Shadow) -> Result<(), StoreError> {
        match shadow {
            super::Shadow::Sql(shadow) => self.discard_shadow(shadow).await,
            _ => Ok(()),
        }
    }
}

impl SqlReadModel {
    /// The documents in one box of a principal (`emp:<id>` or `dept:<id>`), newest first.
    pub async fn inbox_items(
        &self,
        principal: &str,
        inbox: domain::approval::Inbox,
    ) -> Result<Vec<InboxItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT doc, title, status, drafter, updated_at FROM inbox WHERE principal = ? AND box = ? ORDER BY updated_at DESC, doc",
        )
        .bind(principal)
        .bind(inbox.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(InboxItem {
                    doc: text_at(r, 0)?.unwrap_or_default(),
                    title: text_at(r, 1)?.unwrap_or_default(),
                    status: text_at(r, 2)?.unwrap_or_default(),
                    drafter: text_at(r, 3)?.unwrap_or_default(),
                    updated_at: text_at(r, 4)?.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Documents per box for a principal.
    pub async fn box_counts(&self, principal: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT box, COUNT(*) FROM inbox WHERE principal = ? GROUP BY box ORDER BY box")
            .bind(principal)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((text_at(r, 0)?.unwrap_or_default(), r.try_get::<i64, _>(1)?)))
            .collect()
    }

    /// A recipient's notification feed, newest first.
    pub async fn feed(&self, recipient: &str) -> Result<Vec<FeedEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, doc, kind, title, at, is_read FROM notifications WHERE recipient = ? ORDER BY at DESC, id DESC",
        )
        .bind(recipient)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedEntry {
                    id: text_at(r, 0)?.unwrap_or_default(),
                    doc: text_at(r, 1)?.unwrap_or_default(),
                    kind: text_at(r, 2)?.unwrap_or_default(),
                    title: text_at(r, 3)?.unwrap_or_default(),
                    at: text_at(r, 4)?.unwrap_or_default(),
                    read: r.try_get::<i64, _>(5)? != 0,
                })
            })
            .collect()
    }

    /// A document's view: its version and the folded document as JSON.
    pub async fn approval_view(&self, id: &str) -> Result<Option<(u64, serde_json::Value)>, StoreError> {
        let row = sqlx::query("SELECT version, document FROM approvals WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let json = text_at(&r, 1)?.unwrap_or_default();
                let doc = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(Some((r.try_get::<i64, _>(0)? as u64, doc)))
            }
        }
    }

    /// A document's timeline, in version order.
    pub async fn timeline_of(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, event_type, actor, at, note FROM approval_timeline WHERE doc = ? ORDER BY version",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TimelineEntry {
                    version: r.try_get::<i64, _>(0)? as u64,
                    event_type: text_at(r, 1)?.unwrap_or_default(),
                    actor: text_at(r, 2)?.unwrap_or_default(),
                    at: text_at(r, 3)?.unwrap_or_default(),
                    note: text_at(r, 4)?,
                })
            })
            .collect()
    }
}

/// Folds one approval commit: the new state, its rows (document, timeline, inbox,
/// notifications) and the document whose inbox rows are replaced.
pub(super) fn approval_rows(
    state: Option<&str>,
    delivered: &Delivered,
) -> Result<(String, Rows, Option<String>, Vec<Change>), StoreError> {
    use domain::approval::{notices, Approval, ApprovalEvent};
    let commit = &delivered.commit;
    let position = crate::eventlog::Position {
        stream_type: commit.stream_type.clone(),
        partition: delivered.partition,
        offset: delivered.offset,
    }
    .token();
    let correlation_id = commit.correlation_id.to_string();
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let mut approval: Approval = match state {
        Some(json) => serde_json::from_str(json).map_err(corrupt)?,
        None => Approval::default(),
    };
    let boxes_before: Vec<String> = approval
        .document()
        .map(|d| d.boxes().into_iter().map(|(p, _)| p.to_string()).collect())
        .unwrap_or_default();
    let mut rows: Rows = Vec::new();
    let mut published = Vec::new();
    for recorded in &commit.events {
        let before = approval.document().cloned();
        let event: ApprovalEvent = serde_json::from_value(recorded.payload.clone()).map_err(corrupt)?;
        approval.evolve(&event);
        let Some(after) = approval.document() else { continue };
        let (note, on_behalf_of) = match &event {
            ApprovalEvent::Approved { comment, .. } | ApprovalEvent::ApprovedAsFinal { comment, .. } => {
                (comment.clone(), None)
            }
            ApprovalEvent::ProxyApproved {
                comment, on_behalf_of, ..
            } => (comment.clone(), Some(on_behalf_of.to_string())),
            ApprovalEvent::Rejected {
                reason, on_behalf_of, ..
            }
            | ApprovalEvent::Disagreed {
                reason, on_behalf_of, ..
            } => (Some(reason.clone()), on_behalf_of.map(|p| p.to_string())),
            ApprovalEvent::Held { reason, .. } => (Some(reason.clone()), None),
            ApprovalEvent::Commented { text: body, .. } => (Some(body.clone()), None),
            ApprovalEvent::Numbered { number, .. } => (Some(number.to_string()), None),
            _ => (None, None),
        };
        rows.push((
            "approval_timeline",
            2,
            vec![
                text(after.id),
                Value::Int(recorded.version as i64),
                Value::Int(after.revision as i64),
                text(&recorded.event_type),
                text(event.actor()),
                Value::Text(on_behalf_of),
                text(event.at().to_rfc3339()),
                Value::Text(note),
            ],
        ));
        {
            for (who, notice) in notices(before.as_ref(), &event, after) {
                let kind = serde_json::to_value(notice)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                // Deterministic ids: a redelivered event rewrites its notifications, never adds.
                let id = format!("{}:{}:{}:{kind}", after.id, recorded.version, who);
                published.push(Change::Notification {
                    recipient: who.to_string(),
                    position: position.clone(),
                    correlation_id: correlation_id.clone(),
                    entry: FeedEntry {
                        id: id.clone(),
                        doc: after.id.to_string(),
                        kind: kind.clone(),
                        title: after.content.title.clone(),
                        at: event.at().to_rfc3339(),
                        read: false,
                    },
                });
                rows.push((
                    "notifications",
                    1,
                    vec![
                        text(id),
                        text(who),
                        text(after.id),
                        text(kind),
                        text(&after.content.title),
                        text(event.at().to_rfc3339()),
                        Value::Int(0),
                    ],
                ));
            }
        }
    }
    let json = serde_json::to_string(&approval).map_err(corrupt)?;
    let Some(doc) = approval.document() else {
        return Ok((json, rows, None, published));
    };
    let status = serde_json::to_value(doc.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let current: Vec<String> = doc.current_approvers().iter().map(ToString::to_string).collect();
    rows.push((
        "approvals",
        1,
        vec![
            text(doc.id),
            text(&doc.content.title),
            text(&status),
            text(doc.drafter),
            text(format!("{}@{}", doc.form.id, doc.form.version)),
            Value::Int(doc.revision as i64),
            opt(doc.number.as_ref()),
            text(current.join(",")),
            opt(doc.amount.map(|a| a.normalize())),
            opt(doc.submitted_at.map(|t| t.to_rfc3339())),
            opt(doc.completed_at.map(|t| t.to_rfc3339())),
            text(doc.updated_at.to_rfc3339()),
            text(serde_json::to_string(doc).map_err(corrupt)?),
            Value::Int(0),
        ],
    ));
    for (principal, inbox) in doc.boxes() {
        rows.push((
            "inbox",
            3,
            vec![
                text(principal),
                text(inbox.as_str()),
                text(doc.id),
                text(&doc.content.title),
                text(&status),
                text(doc.drafter),
                text(doc.updated_at.to_rfc3339()),
            ],
        ));
    }
    let mut boxes: Vec<String> = doc.boxes().into_iter().map(|(p, _)| p.to_string()).collect();
    boxes.extend(boxes_before);
    boxes.sort();
    boxes.dedup();
    published.push(Change::Document {
        doc: doc.id.to_string(),
        version: commit.last_version(),
        events: commit.events.iter().map(|e| e.event_type.clone()).collect(),
        position,
        correlation_id,
        boxes,
        document: serde_json::to_value(doc).map_err(corrupt)?,
    });
    Ok((json, rows, Some(doc.id.to_string()), published))
}

fn cell(row: &AnyRow, i: usize, kind: Kind) -> Result<String, StoreError> {
    Ok(match kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map_or("∅".into(), |v| v.to_string()),
        Kind::Key | Kind::Text => text_at(row, i)?.unwrap_or_else(|| "∅".into()),
    })
}

/// A text column. MySQL's TEXT arrives through the `Any` driver as bytes, SQLite's as text.
pub(super) fn text_at(row: &AnyRow, i: usize) -> Result<Option<String>, StoreError> {
    match row.try_get::<Option<String>, _>(i) {
        Ok(text) => Ok(text),
        Err(_) => match row.try_get::<Option<Vec<u8>>, _>(i)? {
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        },
    }
}

pub(super) type Rows = Vec<(&'static str, usize, Vec<Value>)>;

/// Folds events into the stored state; returns the new state (JSON) and the rows to write.
fn fold<A>(
    state: Option<&str>,
    payloads: &[&serde_json::Value],
    rows: fn(&A) -> Rows,
) -> Result<(String, Rows), StoreError>
where
    A: Aggregate + Serialize + DeserializeOwned,
    A::Event: DeserializeOwned,
{
    let mut aggregate: A = match state {
        Some(json) => serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        None => A::default(),
    };
    for payload in payloads {
        let event: A::Event =
            serde_json::from_value((*payload).clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        aggregate.evolve(&event);
    }
    let json = serde_json::to_string(&aggregate).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((json, rows(&aggregate)))
}

fn employee_rows(e: &Employee) -> Rows {
    let roles: Vec<String> = e
        .roles
        .iter()
        .map(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    vec![(
        "employees",
        1,
        vec![
            opt(e.id),
            text(&e.name),
            text(&e.email),
            opt(e.department),
            opt(e.position.as_ref().map(|p| p.title.clone())),
            Value::Int(e.position.as_ref().map_or(0, |p| p.rank as i64)),
            opt(e.manager),
            text(roles.join(",")),
            Value::Int(e.active as i64),
            Value::Int(0),
        ],
    )]
}

fn department_rows(d: &Department) -> Rows {
    vec![(
        "departments",
        1,
        vec![
            opt(d.id),
            text(&d.name),
            text(&d.code),
            opt(d.parent),
            opt(d.head),
            Value::Int(d.closed as i64),
            Value::Int(0),
        ],
    )]
}

fn delegation_rows(d: &Delegation) -> Rows {
    vec![(
        "delegations",
        1,
        vec![
            opt(d.id),
            opt(d.principal),
            opt(d.proxy),
            opt(d.window.map(|w| w.from.to_rfc3339())),
            opt(d.window.map(|w| w.until.to_rfc3339())),
            Value::Int(d.revoked as i64),
            Value::Int(0),
        ],
    )]
}

fn leave_rows(l: &LeaveLedger) -> Rows {
    vec![(
        "leave_balances",
        1,
        vec![
            opt(l.employee),
            text(l.balance.normalize()),
            text(l.used.normalize()),
            Value::Int(0),
        ],
    )]
}

fn leave_entry(
    employee: &str,
    version: u64,
    payload: &serde_json::Value,
) -> Result<(&'static str, usize, Vec<Value>), StoreError> {
    let event: LeaveEvent = serde_json::from_value(payload.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (kind, days, document, reason, at) = match &event {
        LeaveEvent::Granted { days, year, at, .. } => ("granted", *days, None, Some(format!("{year}")), at),
        LeaveEvent::Debited { days, document, at, .. } => ("debited", -*days, Some(document.to_string()), None, at),
        LeaveEvent::Adjusted { days, reason, at, .. } => ("adjusted", *days, None, Some(reason.clone()), at),
        // Holds move days between available and pending; the balance itself is unchanged.
        LeaveEvent::Reserved {
            days,
            document,
            revision,
            at,
            ..
        } => (
            "reserved",
            *days,
            Some(document.to_string()),
            Some(format!("revision {revision}")),
            at,
        ),
        LeaveEvent::Released {
            days,
            document,
            revision,
            at,
            ..
        } => (
            "released",
            *days,
            Some(document.to_string()),
            Some(format!("revision {revision}")),
            at,
        ),
    };
    Ok((
        "leave_entries",
        2,
        vec![
            text(employee),
            Value::Int(version as i64),
            text(kind),
            text(days.normalize()),
            Value::Text(document),
            Value::Text(reason),
            text(at.to_rfc3339()),
        ],
    ))
}

/// Replaces one row: delete by the first `key_columns` values, then insert (portable upsert).
async fn write_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    key_columns: usize,
    values: Vec<Value>,
) -> Result<(), StoreError> {
    let (_, columns, _) = TABLES
        .iter()
        .find(|(t, _, _)| *t == table)
        .ok_or_else(|| StoreError::Corrupt(format!("no table {table}")))?;
    let key: Vec<String> = columns
        .iter()
        .take(key_columns)
        .map(|(n, _)| format!("{n} = ?"))
        .collect();
    let delete = format!("DELETE FROM {table} WHERE {}", key.join(" AND "));
    let mut q = sqlx::query(&delete);
    for v in values.iter().take(key_columns) {
        q = bind(q, v);
    }
    q.execute(&mut **tx).await?;
    insert_row(tx, table, &values).await
}

/// Inserts one row.
async fn insert_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    values: &[Value],
) -> Result<(), StoreError> {
    let (_, columns, _) = TABLES
        .iter()
        .find(|(t, _, _)| *t == table)
        .ok_or_else(|| StoreError::Corrupt(format!("no table {table}")))?;
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let marks = vec!["?"; names.len()].join(", ");
    let insert = format!("INSERT INTO {table} ({}) VALUES ({marks})", names.join(", "));
    let mut q = sqlx::query(&insert);
    for v in values {
        q = bind(q, v);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    v: &Value,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match v {
        Value::Text(t) => q.bind(t.clone()),
        Value::Int(i) => q.bind(*i),
    }
}
