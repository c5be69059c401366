//! `erp gateway`: one origin in front of the distributed roles, as `erp up` is one origin for
//! the embedded system. The web app calls relative paths (`/api`, `/graphql`, `/graphql/ws`,
//! `/auth`), so it runs unchanged behind it; browsers see no cross-origin request and the
//! content security policy (`connect-src 'self'`) holds.
//!
//! Routing is by path, nothing else:
//!
//! | path | role |
//! |---|---|
//! | `/graphql/ws` (WebSocket) | notifier |
//! | `/graphql`, `/graphiql` | query API |
//! | `/auth/…`, `/.well-known/…` | identity provider (when given), else command API |
//! | `/api/projections` | projector (when given) |
//! | `/api/…`, `/openapi.json`, `/docs`, `/docs.js` | command API instances, in turn |
//! | anything else | the web app |
//!
//! Command API instances are tried in turn, starting one further each request; one that
//! refuses the connection is skipped (the request never reached it, so sending it to the next
//! is safe even for a command). Every answer comes within a bound: an upstream that does not
//! answer within `--timeout` gives 504, none reachable gives 503 with `Retry-After`, both as
//! problem+json naming the role and address tried.
//!
//! It is a try-out and development front, not an edge proxy: it adds no TLS, and the command
//! API sees every unauthenticated request as coming from the gateway's address (rate limits of
//! signed-in callers are per employee and unaffected).

use crate::web;
use anyhow::Context;
use axum::body::Body;
use axum::extract::ws::{self, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use command_api::error::ApiError;
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite;

/// The largest request body passed on (bodies are held so a refused connection can be retried
/// on the next instance).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Where the roles are.
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// Command API instances (public listeners), tried in turn.
    pub commands: Vec<String>,
    pub queries: String,
    pub live: String,
    /// The identity provider serving `/auth/…` and `/.well-known/jwks.json`.
    pub identity: Option<String>,
    /// The projector's listener, for `/api/projections`.
    pub projector: Option<String>,
}

/// How `erp gateway` runs.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub address: SocketAddr,
    pub upstreams: Upstreams,
    /// The longest an upstream may take to answer.
    pub timeout: Duration,
}

/// Which role a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Commands,
    Queries,
    Live,
    Identity,
    Projector,
    App,
}

impl Target {
    fn of(path: &str, upstreams: &Upstreams) -> Self {
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        if path == "/graphql/ws" {
            Target::Live
        } else if under("/graphql") || under("/graphiql") {
            Target::Queries
        } else if under("/auth") || under("/.well-known") {
            match upstreams.identity {
                Some(_) => Target::Identity,
                None => Target::Commands,
            }
        } else if path == "/api/projections" && upstreams.projector.is_some() {
            Target::Projector
        } else if under("/api") || matches!(path, "/openapi.json" | "/docs" | "/docs.js") {
            Target::Commands
        } else {
            Target::App
        }
    }

    fn role(self) -> &'static str {
        match self {
            Target::Commands => "command API",
            Target::Queries => "query API",
            Target::Live => "notifier",
            Target::Identity => "identity provider",
            Target::Projector => "projector",
            Target::App => "web app",
        }
    }
}

#[derive(Clone)]
struct Gateway {
    upstreams: Arc<Upstreams>,
    client: reqwest::Client,
    next_command: Arc<AtomicUsize>,
    timeout: Duration,
    app: axum::routing::MethodRouter,
}

impl Gateway {
    /// The addresses to try for `target`, in order.
    fn candidates(&self, target: Target) -> Vec<&str> {
        let u = &self.upstreams;
        match target {
            Target::Commands => {
                let n = u.commands.len();
                let start = self.next_command.fetch_add(1, Ordering::Relaxed);
                (0..n).map(|i| u.commands[(start + i) % n].as_str()).collect()
            }
            Target::Queries => vec![u.queries.as_str()],
            Target::Live => vec![u.live.as_str()],
            Target::Identity => u.identity.iter().map(String::as_str).collect(),
            Target::Projector => u.projector.iter().map(String::as_str).collect(),
            Target::App => Vec::new(),
        }
    }
}

/// The gateway's router: `/healthz` of its own, everything else passed on.
pub fn router(upstreams: Upstreams, timeout: Duration) -> anyhow::Result<axum::Router> {
    anyhow::ensure!(
        !upstreams.commands.is_empty(),
        "the gateway needs at least one command API (--commands)"
    );
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the gateway's HTTP client")?;
    let gateway = Gateway {
        upstreams: Arc::new(upstreams),
        client,
        next_command: Arc::new(AtomicUsize::new(0)),
        timeout,
        app: web::app(),
    };
    Ok(axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .fallback(pass_on)
        .with_state(gateway))
}

async fn pass_on(State(gateway): State<Gateway>, request: Request) -> Response {
    let target = Target::of(request.uri().path(), &gateway.upstreams);
    match target {
        Target::App => match tower::ServiceExt::oneshot(gateway.app, request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        Target::Live if is_upgrade(request.headers()) => relay_socket(gateway, request).await,
        _ => forward(gateway, target, request).await,
    }
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Headers that describe one connection, not the message: never passed on.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

async fn forward(gateway: Gateway, target: Target, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the gateway passes on bodies up to {MAX_BODY} bytes"),
            )
            .into_response()
        }
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Some(host) = parts.headers.get(header::HOST) {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host.clone());
    }
    let candidates = gateway.candidates(target);
    let mut tried = Vec::new();
    for base in candidates {
        let sent = gateway
            .client
            .request(parts.method.clone(), format!("{base}{path}"))
            .headers(headers.clone())
            .body(body.clone())
            .timeout(gateway.timeout)
            .send()
            .await;
        match sent {
            Ok(answer) => return relay_answer(answer),
            Err(e) if e.is_connect() => {
                tracing::warn!(upstream = base, role = target.role(), error = %e, "upstream refused the connection; trying the next");
                tried.push(base.to_owned());
            }
            Err(e) if e.is_timeout() => {
                return ApiError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    format!(
                        "the {} at {base} did not answer within {} s",
                        target.role(),
                        gateway.timeout.as_secs()
                    ),
                )
                .into_response()
            }
            Err(e) => {
                return ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_failed",
                    format!("the {} at {base} failed: {e}", target.role()),
                )
                .into_response()
            }
        }
    }
    unavailable(target, &tried)
}

fn unavailable(target: Target, tried: &[String]) -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
        format!("no {} answered (tried {})", target.role(), tried.join(", ")),
    )
    .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
    response
}

fn relay_answer(answer: reqwest::Response) -> Response {
    let mut response = Response::builder().status(answer.status());
    if let Some(headers) = response.headers_mut() {
        for (name, value) in answer.headers() {
            if !hop_by_hop(name) {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|e| ApiError::internal("relaying an answer", e).into_response())
}

/// A subscription socket: connect to the notifier first (so a notifier that is down is a 503,
/// not a socket that closes at once), then accept the browser's upgrade with the subprotocol
/// the notifier chose, and copy messages both ways until either side closes.
async fn relay_socket(gateway: Gateway, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let base = gateway.upstreams.live.clone();
    let url = format!("{}{}", base.replacen("http", "ws", 1), parts.uri.path());
    let mut upstream_request = match tungstenite::client::IntoClientRequest::into_client_request(url.as_str()) {
        Ok(r) => r,
        Err(e) => return ApiError::internal("building the notifier's address", e).into_response(),
    };
    for name in [header::SEC_WEBSOCKET_PROTOCOL, header::AUTHORIZATION, header::COOKIE] {
        if let Some(value) = parts.headers.get(&name) {
            upstream_request.headers_mut().insert(name, value.clone());
        }
    }
    let connected = tokio::time::timeout(gateway.timeout, tokio_tungstenite::connect_async(upstream_request)).await;
    let (upstream, answer) = match connected {
        Ok(Ok(connected)) => connected,
        Ok(Err(tungstenite::Error::Http(refused))) => {
            // The notifier answered without upgrading (e.g. 401): pass its answer on.
            let status = refused.status();
            let body = refused.into_body().unwrap_or_default();
            return (status, body).into_response();
        }
        Ok(Err(e)) => {
            tracing::warn!(upstream = %base, error = %e, "notifier unreachable");
            return unavailable(Target::Live, &[base]);
        }
        Err(_) => return unavailable(Target::Live, &[base]),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let upgrade = match answer
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
    {
        Some(protocol) => upgrade.protocols([protocol.to_owned()]),
        None => upgrade,
    };
    upgrade.on_upgrade(move |browser| pump(browser, upstream))
}

type Upstream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn pump(browser: WebSocket, upstream: Upstream) {
    let (mut to_browser, mut from_browser) = browser.split();
    let (mut to_upstream, mut from_upstream) = upstream.split();
    let up = async {
        while let Some(Ok(message)) = from_browser.next().await {
            let message = match message {
                ws::Message::Text(text) => tungstenite::Message::text(text.as_str()),
                ws::Message::Binary(bytes) => tungstenite::Message::binary(bytes),
                ws::Message::Close(frame) => {
                    let frame = frame.map(|f| tungstenite::protocol::CloseFrame {
                        code: f.code.into(),
                        reason: f.reason.as_str().into(),
                    });
                    let _ = to_upstream.send(tungstenite::Message::Close(frame)).await;
                    break;
                }
                // Each side answers its own pings.
                ws::Message::Ping(_) | ws::Message::Pong(_) => continue,
            };
            if to_upstream.send(message).await.is_err() {
                break;
            }
        }
    };
    let down = async {
        while let Some(Ok(message)) = from_upstream.next().await {
            let message = match message {
                tungstenite::Message::Text(text) => ws::Message::Text(text.as_str().into()),
                tungstenite::Message::Binary(bytes) => ws::Message::Binary(bytes),
                tungstenite::Message::Close(frame) => {
                    let frame = frame.map(|f| ws::CloseFrame {
                        code: f.code.into(),
                        reason: f.reason.as_str().into(),
                    });
                    let _ = to_browser.send(ws::Message::Close(frame)).await;
                    break;
                }
                _ => continue,
            };
            if to_browser.send(message).await.is_err() {
                break;
            }
        }
    };
    // Whichever side ends first ends the relay; dropping the other half closes it.
    tokio::select! { _ = up => {}, _ = down => {} }
}

/// The gateway, listening.
#[allow(missing_debug_implementations)]
pub struct GatewayRole {
    app: command_api::Application,
    options: GatewayOptions,
}

impl GatewayRole {
    pub async fn build(options: GatewayOptions) -> anyhow::Result<Self> {
        let router = router(options.upstreams.clone(), options.timeout)?;
        let app = command_api::Application::bind(options.address, command_api::edge::harden(router))
            .await
            .with_context(|| format!("binding the gateway to {} (--bind, --port)", options.address))?;
        Ok(Self { app, options })
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let port = self.app.port();
        let host = self.options.address.ip();
        let u = &self.options.upstreams;
        println!("ERP 전자결재 gateway on http://{host}:{port}/");
        println!("  web app      http://{host}:{port}/");
        println!("  API          http://{host}:{port}/api   → {}", u.commands.join(", "));
        println!("  GraphQL      http://{host}:{port}/graphql   → {}", u.queries);
        println!("  live         ws://{host}:{port}/graphql/ws   → {}", u.live);
        if let Some(identity) = &u.identity {
            println!("  sign-in      http://{host}:{port}/auth   → {identity}");
        }
        self.app.run_until_stopped(crate::wiring::shutdown_signal()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
