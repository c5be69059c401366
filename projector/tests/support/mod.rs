//! Fresh read-model stores for each test: SQLite in a temporary file, and a new database on
//! the MariaDB `scripts/test` starts.
#![allow(dead_code)]

use infra::readmodel::sql::SqlReadModel;
use uuid::Uuid;

pub async fn sqlite_store() -> SqlReadModel {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    SqlReadModel::connect(&format!("sqlite://{}?mode=rwc", dir.join("read.db").display()))
        .await
        .expect("sqlite")
}

pub async fn mariadb_store() -> SqlReadModel {
    let base =
        std::env::var("ERP_TEST_MYSQL").unwrap_or_else(|_| panic!("ERP_TEST_MYSQL is not set: run scripts/test"));
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base).await.expect("mariadb");
    let db = format!("t{}", Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .expect("create database");
    SqlReadModel::connect(&format!("{base}/{db}"))
        .await
        .expect("connect to the test database")
}

/// A fresh Kafka topic and group prefix per test, so tests share one broker without seeing
/// each other.
pub fn fresh_prefix() -> String {
    format!("t{}", Uuid::now_v7().simple())
}
