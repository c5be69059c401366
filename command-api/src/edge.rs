//! The HTTP edge every listener of every role shares ([`harden`]): security headers on every
//! answer (API, SPA, GraphiQL alike) and a panic in a handler answered as a problem+json 500
//! instead of a dropped connection; [`bounded`] time and [`admit`]ted load per request; behind
//! a front thread ([`crate::Application::with_front_thread`]), the hand-over of every
//! request's work to the workers ([`admit`], [`on_workers`]). Plus, for `erp up`, the
//! [`HostAllowlist`]: a browser page on another site can point its own DNS name at 127.0.0.1
//! (DNS rebinding) and would then be same-origin with the demo — the Host header is what
//! gives it away.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;

/// How many connections the kernel holds for a listener until it accepts them. The standard
/// library's (and tokio's) 128 dropped the SYNs of a burst past it — an ingress reconnecting
/// after a restart, a thousand clients at once — and each dropped client waited one second
/// for its retry, three more for the next. The kernel caps it at `net.core.somaxconn`.
pub const ACCEPT_BACKLOG: u32 = 1024;

/// A listener on `addr` (port 0 picks a free one) with the [`ACCEPT_BACKLOG`]; every role's
/// listeners are bound here.
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As the standard library does: a restarted server binds its port again at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Scripts, styles and connections from this origin only (styles may be inline: the pages set
/// a few); no framing, no plugins, no `<base>` games.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// Security headers and panic catching around `router` (idempotent: safe to apply to a router
/// that merges already hardened ones).
pub fn harden(router: Router) -> Router {
    router
        .layer(axum::middleware::map_response(security_headers))
        .layer(CatchPanicLayer::custom(panicked))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Probes answer however busy the instance is: an orchestrator that sees them refused would
/// restart a healthy, merely loaded, instance.
const NEVER_SHED: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Admission control in front of a router ([`infra::admission`]): a request that finds no
/// place, now or within the bounded wait, is answered 503 `overloaded` with `Retry-After: 1`
/// at once, having cost nothing else.
pub async fn admit(
    axum::extract::State(admission): axum::extract::State<infra::admission::Admission>,
    request: Request,
    next: Next,
) -> Response {
    if NEVER_SHED.contains(&request.uri().path()) {
        return run_on_workers(request, next, ()).await;
    }
    match admission.admit().await {
        Ok(place) => run_on_workers(request, next, place).await,
        Err(shed) => {
            tracing::debug!(%shed, "request shed");
            let mut response = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                format!("this instance is at capacity ({shed}); retry in a second"),
            )
            .with(serde_json::json!({ "retry_after": 1 }))
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}

/// Runs `router`'s requests on the workers when its listener has a front thread
/// ([`crate::Application::with_front_thread`]): for routes outside [`admit`] (live updates,
/// the web app, operations), whose work — a WebSocket's whole life included — must not land
/// on the front thread.
pub fn on_workers(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(|request: Request, next: Next| {
        run_on_workers(request, next, ())
    }))
}

/// Runs the rest of a request on the [`Workers`] it carries (then takes them off it, so an
/// inner layer does not hand it over again), holding `place` until the work ends; in place
/// when it carries none. The work is cancelled if the client goes away meanwhile, as it is
/// when it runs in place.
async fn run_on_workers<P: Send + 'static>(mut request: Request, next: Next, place: P) -> Response {
    let Some(Workers(workers)) = request.extensions_mut().remove::<Workers>() else {
        let _place = place;
        return next.run(request).await;
    };
    let work = AbortOnDrop(workers.spawn(async move {
        let _place = place;
        next.run(request).await
    }));
    match work.await {
        Ok(response) => response,
        Err(failed) if failed.is_panic() => panicked(failed.into_panic()),
        Err(_) => ApiError::unavailable("shutting_down", "the server is stopping; retry", 1).into_response(),
    }
}

/// The runtime requests run on when the listener's connections are served by a front thread
/// of their own ([`crate::Application::with_front_thread`]): [`admit`] hands each admitted
/// request over, so that accepting, admitting and refusing never queue behind admitted work
/// for a core.
#[derive(Debug, Clone)]
pub struct Workers(pub tokio::runtime::Handle);

/// A spawned request that is aborted when whoever awaits it stops (the client went away),
/// as the request would have been had it run in place.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The request's trace id, set by [`trace_context`] for the layers inside it (the request span).
#[derive(Debug, Clone)]
pub struct TraceId(pub String);

/// Every request continues the caller's trace (a valid `traceparent`) or starts one, so the
/// commit it makes, the projection of it and the push it causes carry one trace id; the
/// answer says which (`traceparent` response header). Only a caller's context becomes the
/// request span's parent: a started trace has no parent span, and when spans are exported the
/// request span's own context ([`own_trace`]) is the one answered and kept.
pub async fn trace_context(mut request: Request, next: Next) -> Response {
    let incoming = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(infra::trace::TraceContext::parse);
    let context = incoming.unwrap_or_else(infra::trace::TraceContext::fresh);
    request.extensions_mut().insert(TraceId(context.trace_id_hex()));
    if let Some(caller) = incoming {
        request.extensions_mut().insert(caller);
    }
    let value = HeaderValue::from_str(&context.header()).ok();
    if let (None, Some(value)) = (incoming, &value) {
        request
            .headers_mut()
            .insert(HeaderName::from_static("traceparent"), value.clone());
    }
    let mut response = next.run(request).await;
    if let Some(value) = value {
        // Unless the request span answered its own (spans exported).
        response
            .headers_mut()
            .entry(HeaderName::from_static("traceparent"))
            .or_insert(value);
    }
    response
}

/// Inside the request span: when spans are exported, the span's own context is the request's
/// trace — the one its `trace_id` field shows and the answer's `traceparent` names (a trace
/// this request started gets its ids from the span, which has no parent).
pub async fn own_trace(request: Request, next: Next) -> Response {
    let span = tracing::Span::current();
    let own = infra::telemetry::traces::traceparent_of(&span);
    if let Some(trace_id) = infra::trace::trace_id_of(own.as_deref()) {
        span.record("trace_id", trace_id.as_str());
    }
    let mut response = next.run(request).await;
    if let Some(value) = own.and_then(|own| HeaderValue::from_str(&own).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("traceparent"), value);
    }
    response
}

/// Every request of `router` ends within `limit`: one still running then is dropped and
/// answered 503 `request_timeout` with `Retry-After`, so a client never waits on a hang (what
/// it asked may still have happened: a retry with the same Idempotency-Key gets its answer).
pub fn bounded(router: Router, limit: std::time::Duration) -> Router {
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| async move {
            match tokio::time::timeout(limit, next.run(request)).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(?limit, "a request ran past its bound");
                    ApiError::unavailable(
                        "request_timeout",
                        "the request did not finish in time; retry with the same Idempotency-Key",
                        1,
                    )
                    .into_response()
                }
            }
        },
    ))
}

/// A handler panicked: log what it said, answer a problem document, keep the connection.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    let mut response = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error").into_response();
    // The panic skipped the inner layers; the headers still belong on the answer.
    for (name, value) in SECURITY_HEADERS {
        response.headers_mut().insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The Host names `erp up` answers to: `127.0.0.1:<port>`, `localhost:<port>`, `[::1]:<port>`
/// and configured names (a name without a port matches it on any port).
#[derive(Debug, Clone)]
pub struct HostAllowlist {
    hosts: Vec<String>,
}

impl HostAllowlist {
    /// The loopback names of `port`, and `extra` names.
    pub fn loopback(port: u16, extra: &[String]) -> Self {
        let mut hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|h| format!("{h}:{port}"))
            .collect();
        hosts.extend(
            extra
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
        );
        Self { hosts }
    }

    /// Whether a request's `Host` is one of ours.
    pub fn permits(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host.as_str(),
        };
        self.hosts
            .iter()
            .any(|allowed| *allowed == host || (!allowed.contains(':') && allowed == name))
    }

    /// Refuses requests whose Host is not on the list: 421 with a problem document.
    pub fn layer(self, router: Router) -> Router {
        let allowlist = Arc::new(self);
        router.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
            let allowlist = allowlist.clone();
            async move {
                let host = request
                    .headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .or_else(|| request.uri().authority().map(|a| a.as_str()))
                    .unwrap_or_default();
                if allowlist.permits(host) {
                    return next.run(request).await;
                }
                tracing::warn!(host, "refused a request for a host name this server does not answer to");
                ApiError::new(
                    StatusCode::MISDIRECTED_REQUEST,
                    "host_not_allowed",
                    format!(
                        "this server answers to {} (add a name with --allowed-host)",
                        allowlist.hosts.join(", ")
                    ),
                )
                .into_response()
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_request_that_would_hang_is_answered_503_with_retry_after_within_its_bound() {
        let hangs = Router::new().route(
            "/hang",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        );
        let started = Instant::now();
        let response = bounded(hangs, Duration::from_millis(100))
            .oneshot(Request::builder().uri("/hang").body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }
}

#[cfg(test)]
mod backlog {
    use super::listen;
    use std::time::Duration;

    /// A burst of connections past the standard library's backlog of 128, arriving while the
    /// server accepts none (busy elsewhere): every handshake completes at once, the clients
    /// waiting in the accept queue. With 128 the kernel dropped the SYNs past it, and each of
    /// those clients waited a second for its retry. (Linux caps the backlog at
    /// `net.core.somaxconn`, 4096 on current kernels; a host set lower cannot show it.)
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_accept_queue_not_for_a_syn_retry() {
        let burst = 400;
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if somaxconn <= burst {
            eprintln!("net.core.somaxconn is {somaxconn}: a burst of {burst} cannot wait in the accept queue here");
            return;
        }
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let connects =
            (0..burst).map(|_| tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(addr)));
        let connected = futures::future::join_all(connects)
            .await
            .into_iter()
            .filter(|c| matches!(c, Ok(Ok(_))))
            .count();
        assert_eq!(connected, burst, "handshakes completed within half a second");
        drop(listener);
    }
}
