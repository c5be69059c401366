//! `/metrics` and `/readyz` for a process, assembled from what its roles contribute.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Refreshes series that are states read on demand (lag, faults) just before a scrape.
pub type Collect = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// One readiness check: `Ok` when what it probes answers, else why not.
pub type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// How long one collector or check may take before it counts as not answering.
const BOUND: Duration = Duration::from_secs(3);

/// What one process serves for operators: `/metrics` (every series this process records,
/// after its collectors ran) and, when it has checks, `/readyz` (200 when every check passes,
/// else 503 naming the ones that failed).
#[derive(Clone, Default)]
pub struct Operations {
    collectors: Vec<Collect>,
    checks: Vec<(&'static str, Check)>,
}

impl std::fmt::Debug for Operations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operations")
            .field("collectors", &self.collectors.len())
            .field("checks", &self.checks.iter().map(|(name, _)| *name).collect::<Vec<_>>())
            .finish()
    }
}

impl Operations {
    pub fn new() -> Self {
        super::metrics::install();
        Self::default()
    }

    /// Runs `collect` before each scrape renders (bounded: a collector that does not finish in
    /// time leaves its series as they were).
    pub fn collect<F, Fut>(mut self, collect: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.collectors.push(Arc::new(move || Box::pin(collect())));
        self
    }

    /// Adds a readiness check named `name` (bounded: no answer in time is a failure).
    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    /// The exposition after every collector ran.
    pub async fn render(&self) -> String {
        futures::future::join_all(
            self.collectors
                .iter()
                .map(|collect| tokio::time::timeout(BOUND, collect())),
        )
        .await;
        super::metrics::render()
    }

    /// Every check's answer: `Ok` when all pass, else the failures by name.
    pub async fn ready(&self) -> Result<(), Map<String, Value>> {
        let answers = futures::future::join_all(self.checks.iter().map(|(name, check)| async move {
            let answer = match tokio::time::timeout(BOUND, check()).await {
                Ok(answer) => answer,
                Err(_) => Err(format!("no answer within {} s", BOUND.as_secs())),
            };
            (*name, answer)
        }))
        .await;
        let failed: Map<String, Value> = answers
            .into_iter()
            .filter_map(|(name, answer)| Some((name.to_owned(), Value::String(answer.err()?))))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed)
        }
    }

    /// `GET /metrics`, and `GET /readyz` when there are checks.
    pub fn router(self) -> Router {
        let this = Arc::new(self);
        let mut router = Router::new().route(
            "/metrics",
            axum::routing::get({
                let this = this.clone();
                move || async move { metrics_page(&this).await }
            }),
        );
        if !this.checks.is_empty() {
            router = router.route(
                "/readyz",
                axum::routing::get(move || async move { readiness(&this).await }),
            );
        }
        router
    }
}

async fn metrics_page(operations: &Operations) -> Response {
    if super::metrics::install().is_none() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "another metrics recorder is installed in this process",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        operations.render().await,
    )
        .into_response()
}

async fn readiness(operations: &Operations) -> Response {
    let checked: Vec<&str> = operations.checks.iter().map(|(name, _)| *name).collect();
    match operations.ready().await {
        Ok(()) => axum::Json(json!({ "status": "ready", "checked": checked })).into_response(),
        Err(failed) => {
            let detail = failed
                .iter()
                .map(|(name, why)| format!("{name}: {}", why.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("; ");
            tracing::warn!(%detail, "not ready");
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({
                    "type": "https://erp.example/problems/not_ready",
                    "title": "Service Unavailable",
                    "status": 503,
                    "code": "not_ready",
                    "detail": detail,
                    "failed": failed,
                })
                .to_string(),
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/problem+json"),
            );
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tower::ServiceExt;

    async fn get(router: &Router, uri: &str) -> (StatusCode, String) {
        let response = router
            .clone()
            .oneshot(
                axum::http::Request::builder()
                    .uri(uri)
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("answered");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn collectors_run_before_the_scrape_and_readyz_names_the_failed_check() {
        let bus_up = Arc::new(AtomicBool::new(true));
        let probe = bus_up.clone();
        let router = Operations::new()
            .collect(|| async {
                metrics::gauge!("erp_test_collected", "by" => "operations").set(7.0);
            })
            .check("store", || async { Ok(()) })
            .check("bus", move || {
                let up = probe.load(Ordering::SeqCst);
                async move {
                    if up {
                        Ok(())
                    } else {
                        Err("connection refused".to_owned())
                    }
                }
            })
            .router();
        let (status, text) = get(&router, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            text.lines().any(|l| l == "erp_test_collected{by=\"operations\"} 7"),
            "{text}"
        );

        let (status, body) = get(&router, "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        bus_up.store(false, Ordering::SeqCst);
        let (status, body) = get(&router, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains("bus: connection refused") && !body.contains("store:"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn without_checks_there_is_no_readyz_to_shadow_the_roles_own() {
        let (status, _) = get(&Operations::new().router(), "/readyz").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
