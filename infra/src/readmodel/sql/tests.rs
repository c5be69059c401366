//! The SQL store's pool handling.

use super::close_pool;
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

/// A pool of one connection whose return to the pool is slowed by `returning`, so a close
/// can come between the return's look at whether the pool is closed and its putting the
/// connection back — the window a loaded machine opens now and then.
async fn slow_returning_pool(returning: Duration) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .after_release(move |_, _| {
            Box::pin(async move {
                tokio::time::sleep(returning).await;
                Ok(true)
            })
        })
        .connect("sqlite::memory:")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_pool_closes_a_connection_that_was_on_its_way_back() {
    let pool = slow_returning_pool(Duration::from_millis(100)).await;
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
    // The connection's return started when the query's connection was dropped, and is now
    // inside its slowed step, past the look at whether the pool is closed.
    tokio::time::sleep(Duration::from_millis(20)).await;
    close_pool(&pool).await;
    assert_eq!(pool.size(), 0, "no connection is left open after the close");
    assert!(pool.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_pool_waits_a_bounded_time_for_a_connection_still_held() {
    let pool = slow_returning_pool(Duration::ZERO).await;
    let held = pool.acquire().await.unwrap();
    let started = tokio::time::Instant::now();
    let closing = tokio::spawn({
        let pool = pool.clone();
        async move { close_pool(&pool).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(held);
    closing.await.unwrap();
    assert_eq!(pool.size(), 0, "the held connection closed as it came back");
    assert!(started.elapsed() < super::CLOSE_WAIT);
}
