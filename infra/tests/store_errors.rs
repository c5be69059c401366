//! Whose fault a database error is, on real engines: a refusal of the data itself
//! (`Rejected`) makes a projector step over the commit for good, so only errors the same
//! write would meet again count as one; a full disk, a read-only server or a lost file is the
//! store's (`Unavailable`), and the batch is tried again once it is back.

use infra::readmodel::StoreError;
use sqlx::{AnyPool, Executor};

async fn sqlite(dir: &tempfile::TempDir) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("errors.db").display());
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("sqlite");
    pool.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT)")
        .await
        .expect("the table is made");
    pool
}

/// A pool on a new database of the test server, and the database's name.
async fn mariadb() -> (AnyPool, String) {
    let base =
        std::env::var("ERP_TEST_MYSQL").unwrap_or_else(|_| panic!("ERP_TEST_MYSQL is not set: run scripts/test"));
    sqlx::any::install_default_drivers();
    let admin = AnyPool::connect(&base).await.expect("mariadb");
    let db = format!("t{}", uuid::Uuid::now_v7().simple());
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create database");
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{base}/{db}"))
        .await
        .expect("the test database");
    pool.execute("CREATE TABLE t (id VARCHAR(8) PRIMARY KEY, body TEXT)")
        .await
        .expect("the table is made");
    (pool, db)
}

async fn insert(pool: &AnyPool, id: &str, body: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO t (id, body) VALUES (?, ?)")
        .bind(id.to_owned())
        .bind(body.to_owned())
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(StoreError::from)
}

#[tokio::test]
async fn on_sqlite_a_full_disk_is_the_stores_fault_and_a_duplicate_key_the_datas() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pool = sqlite(&dir).await;
    insert(&pool, "a", "first").await.expect("the first row is written");

    let duplicate = insert(&pool, "a", "again").await;
    // The file may not grow past the pages it has: the next page it needs is a full disk.
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&pool)
        .await
        .expect("pages");
    pool.execute(format!("PRAGMA max_page_count={pages}").as_str())
        .await
        .expect("the limit is set");
    let full = insert(&pool, "b", &"x".repeat(64 * 1024)).await;

    assert!(matches!(duplicate, Err(StoreError::Rejected(_))), "{duplicate:?}");
    assert!(matches!(full, Err(StoreError::Unavailable(_))), "{full:?}");
}

#[tokio::test]
async fn on_mariadb_a_read_only_server_is_the_stores_fault_and_an_over_long_key_the_datas() {
    let (pool, db) = mariadb().await;

    let too_long = insert(&pool, "longer-than-eight", "x").await;
    let mut conn = pool.acquire().await.expect("a connection");
    conn.execute("START TRANSACTION READ ONLY")
        .await
        .expect("a read-only transaction");
    let read_only = sqlx::query("INSERT INTO t (id, body) VALUES ('a', 'x')")
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from);
    conn.execute("ROLLBACK").await.expect("rolled back");
    drop(conn);

    assert!(matches!(too_long, Err(StoreError::Rejected(_))), "{too_long:?}");
    assert!(matches!(read_only, Err(StoreError::Unavailable(_))), "{read_only:?}");
    pool.execute(format!("DROP DATABASE {db}").as_str())
        .await
        .expect("the database is dropped");
}
