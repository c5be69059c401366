//! Traces leave the process over OTLP: `erp up` started with an OTLP endpoint exports, for a
//! command, one trace whose spans follow it from the HTTP request through the projector's
//! apply to the notifier's push, each the child of the one before.
//!
//! The collector here is the test's own OTLP/HTTP endpoint: it decodes each export with the
//! protocol's published protobuf types (`opentelemetry-proto`) and keeps the spans.

#![allow(clippy::unwrap_used)]

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One exported span, as the collector received it.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent: String,
}

type Received = Arc<Mutex<Vec<Exported>>>;

/// An OTLP/HTTP collector on a free port: its base URL and what it has received.
async fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    let keep = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                let export = match ExportTraceServiceRequest::decode(body) {
                    Ok(export) => export,
                    Err(e) => {
                        eprintln!("collector: undecodable export: {e}");
                        return axum::http::StatusCode::BAD_REQUEST;
                    }
                };
                let mut spans = keep.lock().unwrap();
                for resource in export.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                            AnyValue::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
                        spans.push(Exported {
                            service: service.clone(),
                            name: span.name,
                            trace_id: hex(&span.trace_id),
                            span_id: hex(&span.span_id),
                            parent: hex(&span.parent_span_id),
                        });
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A push span whose parent is an apply span whose parent is a command's request span, all in
/// one trace; `None` until the collector has all three.
fn command_to_push(spans: &[Exported]) -> Option<(Exported, Exported, Exported)> {
    spans.iter().filter(|s| s.name == "notifier.push").find_map(|push| {
        let apply = spans
            .iter()
            .find(|s| s.name == "projection.apply" && s.span_id == push.parent && s.trace_id == push.trace_id)?;
        let request = spans
            .iter()
            .find(|s| s.name == "http" && s.span_id == apply.parent && s.trace_id == apply.trace_id)?;
        Some((request.clone(), apply.clone(), push.clone()))
    })
}

#[tokio::test]
async fn a_command_is_one_exported_trace_from_its_request_through_the_projection_to_the_push() {
    let (endpoint, received) = collector().await;
    let up = support::up_with(
        &[],
        &[
            ("ERP_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
    )
    .await;

    // The demo flow: sign in, subscribe, draft, submit, approve, see the approval pushed.
    let smoke = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(support::ERP)
            // The suites run before the web app is built; tests/web_app.rs checks it.
            .args(["smoke", "--skip-web-app", "--url", &up.base])
            .env("ERP_LOG", "warn")
            .output(),
    )
    .await
    .expect("the smoke check ends")
    .unwrap();
    assert!(
        smoke.status.success(),
        "smoke check failed:\n{}{}",
        String::from_utf8_lossy(&smoke.stdout),
        String::from_utf8_lossy(&smoke.stderr)
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (request, apply, push) = loop {
        let spans = received.lock().unwrap().clone();
        if let Some(chain) = command_to_push(&spans) {
            break chain;
        }
        if tokio::time::Instant::now() > deadline {
            let names: Vec<_> = spans.iter().map(|s| (&s.name, &s.trace_id[..8], &s.parent)).collect();
            panic!(
                "no trace from a request to a push among {} spans: {names:?}",
                spans.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(request.service, "erp-up", "{request:?}");
    assert_eq!(apply.trace_id, request.trace_id);
    assert_eq!(push.trace_id, request.trace_id);
    assert_ne!(request.trace_id, "0".repeat(32));
}
