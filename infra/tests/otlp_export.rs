//! The trace exporter sends spans to an OTLP/HTTP endpoint.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector_when_the_exporter_shuts_down() {
    let posts = Arc::new(AtomicUsize::new(0));
    let seen = posts.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                assert!(!body.is_empty());
                seen.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (layer, exporter) = infra::telemetry::traces::exporter(&format!("http://{address}"), "test").unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("work");
        infra::telemetry::traces::continue_trace(&span, &infra::trace::TraceContext::fresh());
        span.in_scope(|| tracing::info!("inside"));
        assert!(infra::telemetry::traces::traceparent_of(&span).is_some());
    });
    tokio::task::spawn_blocking(move || exporter.shutdown()).await.unwrap();
    assert_eq!(posts.load(Ordering::SeqCst), 1);
}
