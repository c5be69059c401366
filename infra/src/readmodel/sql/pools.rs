//! Closing the store's sqlx pools for good.

use sqlx::AnyPool;

/// How long [`close_pool`] goes on closing connections that come back after sqlx's close.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Closes `pool` and every connection it had. sqlx's `Pool::close` can return with one still
/// open (sqlx issue #3217): a dropped connection goes back to its pool on a task of its own,
/// which looks whether the pool is closed, then pings the connection and puts it in the idle
/// queue — after `close` emptied that queue for the last time, if the close came in between.
/// The connection then stays open as long as the pool value lives. On SQLite it keeps the
/// WAL and shared-memory files open, so a shadow's files deleted after its close come back
/// and the last connection is not the one that removes the WAL. Closing again closes what
/// came back since. [`CLOSE_WAIT`] bounds the wait for a connection a caller still holds
/// (it closes when it is returned to the closed pool); past it the close gives up, says so,
/// and that connection may outlive the close.
pub(super) async fn close_pool(pool: &AnyPool) {
    let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
    let _ = tokio::time::timeout_at(deadline, pool.close()).await;
    while pool.size() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        let _ = tokio::time::timeout_at(deadline, pool.close()).await;
    }
    if pool.size() > 0 {
        tracing::warn!(
            open = pool.size(),
            "a closed pool still has connections in use after {CLOSE_WAIT:?}; they close when returned"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
