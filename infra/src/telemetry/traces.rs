//! # Traces: OpenTelemetry spans, exported over OTLP when an endpoint is configured
//!
//! One command is one trace. Its id is chosen (or continued from the caller's `traceparent`)
//! by the command API's HTTP layer, kept in the commit's envelope and, on Kafka, in a record
//! header ([`crate::trace`]); the spans that follow it continue it:
//!
//! - `http` — the command API's request span, a child of the caller's span (or the root);
//! - `projection.apply` — one per commit the projector applied, a child of the request span
//!   whose traceparent the commit carries, lasting as long as the batch it was applied in;
//! - `notifier.push` — one per change a subscriber is sent, a child of the apply span whose
//!   traceparent the change carries over the Redis bus; it marks the push (no duration).
//!
//! Only live batches are traced (a replay would attach spans to every old trace). Spans are
//! ordinary `tracing` spans: JSON logs (`--log-json`) show the fields of the spans a line is
//! logged in — `trace_id` and `request_id` (the correlation id of the commits it makes) on the
//! command API's lines for a request. The OpenTelemetry layer
//! ([`exporter`]) is installed only when an OTLP endpoint is configured; without it the
//! functions here change nothing and cost a span's fields.
//!
//! The exporter speaks OTLP/HTTP with protobuf bodies through the reqwest client the rest of
//! the system uses, on the process's tokio runtime: the SDK's batch processor runs on a thread
//! of its own and hands each export to the runtime ([`RuntimeClient`]).

use crate::trace::TraceContext;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, RetryPolicy, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};

/// How long one export may take before its batch is dropped (the collector is down or slow);
/// no retry, and spans beyond the SDK's queue (2,048) are dropped, never held without bound.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Set once an exporter is installed in this process.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans leave this process: the spans that exist only to be exported (one per
/// applied commit, one per push) are not made otherwise.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The installed exporter: flushes what is queued when the process ends.
#[derive(Debug)]
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// Exports the spans still queued and stops the exporter. Blocking; bounded by the SDK's
    /// shutdown timeout.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "trace exporter did not shut down cleanly");
        }
    }
}

/// The `tracing` layer that turns spans into OpenTelemetry spans and the exporter that sends
/// them to `endpoint` — an OTLP/HTTP base URL (`http://collector:4318`, to which
/// `/v1/traces` is added) or the traces URL itself. `service` names the process in the
/// backend (`erp-up`, `erp-command-api`, ...). Must run inside a tokio runtime.
pub fn exporter<S>(endpoint: &str, service: &str) -> Result<(OpenTelemetryLayer<S, SdkTracer>, Exporter), String>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let url = traces_url(endpoint)?;
    let runtime =
        tokio::runtime::Handle::try_current().map_err(|_| "the trace exporter needs a tokio runtime".to_owned())?;
    let http = reqwest::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("trace exporter client: {e}"))?;
    let span_exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(RuntimeClient { http, runtime })
        // One attempt per batch: a collector that is down costs one timeout, not a retry loop
        // on the processor's thread.
        .with_retry_policy(RetryPolicy::disabled())
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("trace exporter for {url}: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(span_exporter)
        .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
        .build();
    let tracer = provider.tracer("erp");
    EXPORTING.store(true, Ordering::Relaxed);
    Ok((
        tracing_opentelemetry::layer().with_tracer(tracer),
        Exporter { provider },
    ))
}

/// `endpoint` as the URL traces are posted to, or why it is not one.
fn traces_url(endpoint: &str) -> Result<String, String> {
    let endpoint = endpoint.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(endpoint).map_err(|e| format!("OTLP endpoint {endpoint:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("OTLP endpoint {endpoint:?}: only http and https are supported"));
    }
    Ok(if endpoint.ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/v1/traces")
    })
}

/// Makes `span` continue the trace `parent` names (a remote parent: the caller's span, or the
/// span that caused this work in another process). Call it before the span is entered.
pub fn continue_trace(span: &tracing::Span, parent: &TraceContext) {
    let flags = if parent.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let remote = SpanContext::new(
        TraceId::from_bytes(parent.trace_id),
        SpanId::from_bytes(parent.span_id),
        flags,
        true,
        TraceState::default(),
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
}

/// The `traceparent` naming `span` itself, when spans are exported (so the work it causes
/// elsewhere becomes its child); `None` without an exporter.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_ref = context.span();
    let own = span_ref.span_context();
    own.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            own.trace_id(),
            own.span_id(),
            own.trace_flags().to_u8()
        )
    })
}

/// Sends the exporter's requests with reqwest on the process's runtime: the SDK awaits them
/// from its own thread, where no runtime is current.
#[derive(Debug)]
struct RuntimeClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let request = reqwest::Request::try_from(request)?;
        let sent = self.runtime.spawn(async move {
            let response = http.execute(request).await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        });
        let (status, body) = sent.await??;
        Ok(Response::builder().status(status).body(body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_the_base_url_or_the_traces_url_itself() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://127.0.0.1:4318/").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example/v1/traces").unwrap(),
            "https://otel.example/v1/traces"
        );
        assert!(traces_url("collector:4318").unwrap_err().contains("collector:4318"));
        assert!(traces_url("ftp://collector").is_err());
    }

    #[test]
    fn without_an_exporter_a_span_names_no_traceparent() {
        let span = tracing::info_span!("http");
        continue_trace(&span, &TraceContext::fresh());
        assert_eq!(traceparent_of(&span), None);
    }
}
