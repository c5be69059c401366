//! Replays' copies and comparisons: a shadow store a replay fills beside the live one, the
//! swap that makes it live in one transaction, and the checksum and dump that compare two
//! read models row by row.

use super::schema::{cell, GUARDS_WITH_STATE, TABLES};
use super::SqlReadModel;
use crate::readmodel::ports::ShadowPlace;
use crate::readmodel::{Dump, Projection, SqlShadow, StoreError};
use sha2::{Digest, Sha256};

impl SqlReadModel {
    /// SHA-256 over every row of every read-model table in key order: equal checksums mean
    /// equal read models (checkpoints excluded, since a rebuild may stop at another offset).
    pub async fn checksum(&self) -> Result<String, StoreError> {
        let mut hasher = Sha256::new();
        for (table, columns, key) in TABLES.iter().filter(|(t, _, _)| *t != "erp_checkpoints") {
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            let sql = match *table {
                "erp_streams" => format!("{GUARDS_WITH_STATE} ORDER BY s.projection, s.stream_id"),
                _ => format!("SELECT {} FROM {table} ORDER BY {key}", names.join(", ")),
            };
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
    pub async fn dump(&self, projection: Projection) -> Result<Dump, StoreError> {
        let mut dump = Dump::new();
        for table in projection.tables().iter().copied().chain(["erp_streams"]) {
            let (_, columns, key) = super::schema::table(table)?;
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            let key_count = key.split(',').count();
            let guards = table == "erp_streams";
            let sql = if guards {
                format!("{GUARDS_WITH_STATE} WHERE s.projection = ?")
            } else {
                format!("SELECT {} FROM {table}", names.join(", "))
            };
            let mut query = sqlx::query(&sql);
            if guards {
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
            let file = format!("{}.{suffix}", super::sqlite_path(&self.url));
            for leftover in [file.clone(), format!("{file}-wal"), format!("{file}-shm")] {
                match std::fs::remove_file(&leftover) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::Unavailable(format!("removing {leftover}: {e}"))),
                }
            }
            SqlShadow {
                url: super::sqlite_url(std::path::Path::new(&file))
                    .map_err(|e| StoreError::Unavailable(format!("the shadow's path {file}: {e}")))?,
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
        self.wrote();
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

    /// Closes the pools (a shadow before its swap).
    pub async fn close(&self) {
        self.reads.close().await;
        super::pools::close_pool(&self.pool).await;
        if let Some(checkpoints) = &self.checkpoints {
            super::pools::close_pool(&checkpoints.pool).await;
        }
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
        let (_, columns, _) = super::schema::table(table)?;
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
