//! The SQL schema, defined once: [`TABLES`] (columns and kinds) drives `CREATE TABLE`, the
//! row checksum replay comparisons use, and how a typed row ([`TableRow`]) is bound to a
//! statement — by column name, never by position — and read back from a `SELECT` of its
//! [`column_list`], in the table's column order (`reads::read`).
//!
//! Statements stick to what MySQL 8, MariaDB and SQLite share: `?` placeholders,
//! delete-then-insert instead of dialect upserts, TEXT for decimals and times, BIGINT for
//! integers.

use crate::readmodel::rows::TableRow;
use crate::readmodel::StoreError;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// VARCHAR key or short text.
    Key,
    Text,
    Int,
}

/// A table: name, columns with their kinds, primary key.
pub type Table = (&'static str, &'static [(&'static str, Kind)], &'static str);

/// Every table of the employee read model.
pub const TABLES: &[Table] = &[
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
            // The department's own work schedule, as JSON (added after the table).
            ("schedule", Kind::Text),
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
        "attendance_days",
        &[
            ("employee", Kind::Key),
            ("day", Kind::Key),
            ("first_in", Kind::Key),
            ("last_out", Kind::Key),
            ("regular_minutes", Kind::Int),
            ("overtime_minutes", Kind::Int),
            ("night_minutes", Kind::Int),
            ("late_minutes", Kind::Int),
            ("early_leave_minutes", Kind::Int),
            ("state", Kind::Key),
            ("version", Kind::Int),
        ],
        "employee, day",
    ),
    (
        "quests",
        &[
            ("id", Kind::Key),
            ("title", Kind::Key),
            ("description", Kind::Text),
            ("poster", Kind::Key),
            ("audience", Kind::Key),
            ("department", Kind::Key),
            ("reward_kind", Kind::Key),
            ("reward_amount", Kind::Int),
            ("capacity", Kind::Int),
            ("taken", Kind::Int),
            ("deadline", Kind::Key),
            ("kind", Kind::Key),
            ("goal", Kind::Key),
            ("cancelled", Kind::Int),
            ("version", Kind::Int),
        ],
        "id",
    ),
    (
        "quest_participants",
        &[
            ("quest", Kind::Key),
            ("employee", Kind::Key),
            ("status", Kind::Key),
            ("accepted_at", Kind::Key),
            ("returned_reason", Kind::Text),
            ("earned", Kind::Int),
            ("version", Kind::Int),
        ],
        "quest, employee",
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
        "feed_reads",
        &[
            ("reader", Kind::Key),
            ("read_through", Kind::Key),
            ("marks", Kind::Text),
            ("version", Kind::Int),
        ],
        "reader",
    ),
    ("notifications", FEED, "id"),
    // The HR side's notices, one table per projection that sends them (a replay swaps a
    // projection's own tables), each shaped as the approval feed.
    ("leave_notices", FEED, "id"),
    ("attendance_notices", FEED, "id"),
    ("quest_notices", FEED, "id"),
];

/// The columns of a notification feed ([`NotificationRow`](crate::readmodel::rows::NotificationRow)).
const FEED: &[(&str, Kind)] = &[
    ("id", Kind::Key),
    ("recipient", Kind::Key),
    ("doc", Kind::Key),
    ("kind", Kind::Key),
    ("title", Kind::Key),
    ("at", Kind::Key),
    ("is_read", Kind::Int),
];

/// The tables holding notification feeds: the approval feed and the HR notices.
pub const FEEDS: [&str; 4] = ["notifications", "leave_notices", "attendance_notices", "quest_notices"];

/// Secondary indexes: name, table, columns.
const INDEXES: [(&str, &str, &str); 9] = [
    // Inbox rows are replaced per document on every commit.
    ("inbox_by_doc", "inbox", "doc"),
    ("feed_by_recipient", "notifications", "recipient, at"),
    ("leave_notices_by_recipient", "leave_notices", "recipient, at"),
    ("attendance_notices_by_recipient", "attendance_notices", "recipient, at"),
    ("quest_notices_by_recipient", "quest_notices", "recipient, at"),
    // A team's day is read across employees.
    ("attendance_by_day", "attendance_days", "day"),
    // "My quests" reads across quests.
    ("quest_participants_by_employee", "quest_participants", "employee"),
    // Sign-in reads the delegations open to a proxy; a poster's quests, theirs by deadline.
    ("delegations_by_proxy", "delegations", "proxy"),
    ("quests_by_poster", "quests", "poster, deadline"),
];

/// The table called `name`.
pub(super) fn table(name: &str) -> Result<&'static Table, StoreError> {
    TABLES
        .iter()
        .find(|(t, _, _)| *t == name)
        .ok_or_else(|| StoreError::Corrupt(format!("no table {name}")))
}

/// A table's columns, comma-separated in schema order (for `SELECT` lists).
pub(super) fn column_list(name: &str) -> Result<String, StoreError> {
    Ok(table(name)?.1.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))
}

/// The stream guards with the state each stands for: an approval's guard keeps no copy of
/// its document (the `approvals` row holds it, see `apply::fold_batch`), so its state is
/// the row's; a guard written before that keeps its own copy, which is the same JSON. Every
/// reader of guards — the next batch's fold, a dump, a checksum — selects through this, so a
/// store written before and one written now compare equal. Columns as in `erp_streams`;
/// callers add their `WHERE` / `ORDER BY` on `s.`.
pub(super) const GUARDS_WITH_STATE: &str = "SELECT s.projection, s.stream_id, s.version, s.hash, \
     COALESCE(s.state, a.document) FROM erp_streams s \
     LEFT JOIN approvals a ON s.projection = 'approval.views' AND a.id = s.stream_id";

/// Creates the tables and indexes that are missing.
pub(super) async fn migrate(pool: &AnyPool, sqlite: bool) -> Result<(), StoreError> {
    // MySQL's TEXT holds 64 KiB: a document with a few dozen long comments outgrows it (the
    // domain allows a thousand of 2,000 characters), so text columns are LONGTEXT there.
    // SQLite's TEXT has no such bound.
    let ty = |kind: &Kind| match kind {
        Kind::Key => "VARCHAR(191)",
        Kind::Text if sqlite => "TEXT",
        Kind::Text => "LONGTEXT",
        Kind::Int => "BIGINT",
    };
    for (table, columns, key) in TABLES {
        let cols: Vec<String> = columns
            .iter()
            .map(|(name, kind)| format!("{name} {}", ty(kind)))
            .collect();
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {table} ({}, PRIMARY KEY ({key}))",
            cols.join(", ")
        );
        sqlx::query(&sql).execute(pool).await?;
        // A table an older version created lacks the columns added since: add them (empty
        // for the rows already there). One probe per table when nothing is missing.
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let probe = format!("SELECT {} FROM {table} LIMIT 0", names.join(", "));
        if sqlx::query(&probe).execute(pool).await.is_ok() {
            continue;
        }
        for (name, kind) in *columns {
            let sql = format!("ALTER TABLE {table} ADD COLUMN {name} {}", ty(kind));
            if let Err(e) = sqlx::query(&sql).execute(pool).await {
                if !e.to_string().to_lowercase().contains("duplicate column") {
                    return Err(e.into());
                }
            }
        }
    }
    if !sqlite {
        widen_text_columns(pool).await?;
    }
    // Secondary indexes; MySQL has no CREATE INDEX IF NOT EXISTS, so an existing one is
    // recognised by the error and left alone.
    for (name, table, columns) in INDEXES {
        let sql = format!("CREATE INDEX {name} ON {table} ({columns})");
        if let Err(e) = sqlx::query(&sql).execute(pool).await {
            let text = e.to_string();
            if !(text.contains("exists") || text.contains("Duplicate key name")) {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// Text columns a MySQL database created before holds as TEXT (64 KiB) become LONGTEXT;
/// one look at the catalogue when none is left.
async fn widen_text_columns(pool: &AnyPool) -> Result<(), StoreError> {
    let narrow: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND DATA_TYPE = 'text'",
    )
    .fetch_all(pool)
    .await?;
    for (table, column) in narrow {
        let ours = TABLES
            .iter()
            .any(|(t, columns, _)| *t == table && columns.iter().any(|(c, k)| *c == column && *k == Kind::Text));
        if ours {
            sqlx::query(&format!("ALTER TABLE {table} MODIFY COLUMN {column} LONGTEXT"))
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

pub(super) use super::columns::Value;

/// A typed row ready to write: its table, how many leading columns are its key, and its
/// values in the table's column order.
#[derive(Debug, Clone)]
pub(super) struct Bound {
    pub table: &'static str,
    pub key_columns: usize,
    pub values: Vec<Value>,
}

impl Bound {
    /// The row's key: its leading key columns' values.
    pub fn key(&self) -> &[Value] {
        &self.values[..self.key_columns.min(self.values.len())]
    }
}

/// Binds a typed row by its field names to its table's columns. A field the table lacks, or
/// a column the row lacks, is refused: row types and schema cannot drift apart unnoticed.
pub(super) fn bound<R: TableRow>(row: &R) -> Result<Bound, StoreError> {
    bound_in(R::TABLE, row)
}

/// As [`bound`], into `table` (a row type several tables share, such as a feed's).
pub(super) fn bound_in<R: serde::Serialize>(table: &str, row: &R) -> Result<Bound, StoreError> {
    let (table, columns, key) = self::table(table)?;
    let values = super::columns::values_of(table, columns, row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Bound {
        table,
        key_columns: key.split(',').count(),
        values,
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

/// A column as comparable text (checksums and dumps); `∅` for NULL.
pub(super) fn cell(row: &AnyRow, i: usize, kind: Kind) -> Result<String, StoreError> {
    Ok(match kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map_or("∅".into(), |v| v.to_string()),
        Kind::Key | Kind::Text => text_at(row, i)?.unwrap_or_else(|| "∅".into()),
    })
}

/// Most values one statement binds: far below every engine's limit (SQLite 32,766, MySQL
/// 65,535), and large enough that a batch needs few statements.
const MAX_BINDS: usize = 900;

/// Replaces rows of one table: deletes their keys, then inserts them (a portable upsert),
/// a few statements for any number of rows.
pub(super) async fn replace_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rows: Vec<Bound>,
) -> Result<(), StoreError> {
    let Some(first) = rows.first() else { return Ok(()) };
    let (table, columns, _) = table(first.table)?;
    let key_columns = first.key_columns;
    let per_row: Vec<String> = columns
        .iter()
        .take(key_columns)
        .map(|(n, _)| format!("{n} = ?"))
        .collect();
    let per_row = format!("({})", per_row.join(" AND "));
    for chunk in rows.chunks((MAX_BINDS / key_columns.max(1)).max(1)) {
        let delete = format!(
            "DELETE FROM {table} WHERE {}",
            vec![per_row.as_str(); chunk.len()].join(" OR ")
        );
        let mut arguments = Arguments::with_capacity(chunk.len() * key_columns);
        for row in chunk {
            for v in row.key() {
                arguments.push(v)?;
            }
        }
        sqlx::query_with(&delete, arguments.0).execute(&mut **tx).await?;
    }
    insert_rows(tx, rows).await
}

/// Inserts rows of one table, many per statement. The statements borrow the rows' values:
/// a rebuild writes every byte of the read model through here.
pub(super) async fn insert_rows(tx: &mut sqlx::Transaction<'_, sqlx::Any>, rows: Vec<Bound>) -> Result<(), StoreError> {
    let Some(first) = rows.first() else { return Ok(()) };
    let width = first.values.len();
    let marks = format!("({})", vec!["?"; width].join(", "));
    let names = column_list(first.table)?;
    let table = first.table;
    for chunk in statements(&rows, rows_per_statement(width)) {
        if let [row] = chunk {
            refuse_past_the_packet(tx, table, value_bytes(row)).await?;
        }
        let insert = format!(
            "INSERT INTO {table} ({names}) VALUES {}",
            vec![marks.as_str(); chunk.len()].join(", ")
        );
        let mut arguments = Arguments::with_capacity(chunk.len() * width);
        for row in chunk {
            for v in &row.values {
                arguments.push(v)?;
            }
        }
        sqlx::query_with(&insert, arguments.0).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Rows of `width` values one INSERT takes.
pub(super) fn rows_per_statement(width: usize) -> usize {
    (MAX_BINDS / width.max(1)).max(1)
}

/// Bytes of values one INSERT carries at most, unless one row alone is larger (it then goes
/// by itself): MariaDB refuses a statement over its `max_allowed_packet` (16 MiB by default)
/// and drops the connection, which would fail the same batch on every retry. A document may
/// hold a few MiB (the domain's bounds), so a count of rows alone does not bound this.
const STATEMENT_BYTES: usize = 4 << 20;

/// `rows` cut into INSERTs of at most `per_statement` rows and [`STATEMENT_BYTES`] of values.
fn statements(rows: &[Bound], per_statement: usize) -> Vec<&[Bound]> {
    crate::readmodel::cut_by_size(rows, per_statement, STATEMENT_BYTES, value_bytes)
}

/// The bytes of a row's values.
fn value_bytes(row: &Bound) -> usize {
    row.values
        .iter()
        .map(|v| match v {
            Value::Text(text) => text.as_deref().map_or(0, str::len),
            Value::Int(_) => 8,
        })
        .sum()
}

/// Room left in a packet for the statement's text and the protocol's framing.
const PACKET_ROOM: usize = 64 << 10;

/// Refuses, as the data's fault, a row alone too large for the MySQL server's one packet
/// (`max_allowed_packet`), before it is sent: the server would refuse it the same way every
/// time and drop the connection mid-write (the client then sees a reset, not the server's
/// 1153), and the projector would try the same batch for ever instead of stepping over the
/// commit. Asked only for a row past [`STATEMENT_BYTES`]; SQLite refuses its own (`TOOBIG`).
/// A server must take at least [`STATEMENT_BYTES`] and [`PACKET_ROOM`] in a packet (MariaDB's
/// default is 16 MiB, MySQL 8's 64 MiB): below that an ordinary statement fails, and that is
/// the store's setting to fix, so it is retried, not stepped over.
async fn refuse_past_the_packet(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    bytes: usize,
) -> Result<(), StoreError> {
    if bytes <= STATEMENT_BYTES || tx.backend_name() != "MySQL" {
        return Ok(());
    }
    let packet: i64 = sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS SIGNED)")
        .fetch_one(&mut **tx)
        .await?;
    let packet = usize::try_from(packet).unwrap_or(usize::MAX);
    if packet < STATEMENT_BYTES + PACKET_ROOM {
        // Ordinary statements do not fit either: the server's setting, not this row.
        return Err(StoreError::Unavailable(format!(
            "the server takes {packet} bytes in one packet (max_allowed_packet); the read model \
             needs at least {}",
            STATEMENT_BYTES + PACKET_ROOM
        )));
    }
    if bytes + PACKET_ROOM > packet {
        return Err(StoreError::Rejected(format!(
            "a {table} row of {bytes} bytes is more than the server takes in one statement \
             (max_allowed_packet {packet})"
        )));
    }
    Ok(())
}

/// Inserts one row.
pub(super) async fn insert_row(tx: &mut sqlx::Transaction<'_, sqlx::Any>, row: Bound) -> Result<(), StoreError> {
    insert_rows(tx, vec![row]).await
}

/// A statement's arguments, sized once and borrowing each text from its row. `Query::bind`
/// of a `String` would copy it (sqlx's `Any` encodes by reference) and grow the list one
/// value at a time; a rebuild binds every byte of the read model.
struct Arguments<'q>(sqlx::any::AnyArguments<'q>);

impl<'q> Arguments<'q> {
    fn with_capacity(values: usize) -> Self {
        let mut arguments = sqlx::any::AnyArguments::default();
        sqlx::Arguments::reserve(&mut arguments, values, 0);
        Self(arguments)
    }

    fn push(&mut self, value: &'q Value) -> Result<(), StoreError> {
        match value {
            Value::Text(text) => sqlx::Arguments::add(&mut self.0, text.as_deref()),
            Value::Int(i) => sqlx::Arguments::add(&mut self.0, *i),
        }
        .map_err(|e| StoreError::Corrupt(format!("a value does not bind: {e}")))
    }
}

#[cfg(test)]
mod tests;
