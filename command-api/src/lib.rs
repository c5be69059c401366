//! # command-api — commands in, events out
//!
//! axum HTTP endpoints that parse requests into domain commands (`routes`), decide them
//! against the stream's folded state and append the events to the log (`service`). Around
//! that: bearer-token auth (`extract::Caller`), per-caller rate limits (`ratelimit`),
//! problem+json errors (`error`), security headers and panic catching for every listener
//! (`edge`), an in-process org directory for cross-stream lookups (`directory`), the process
//! managers that number approved documents and debit leave (`reactor`), the OpenAPI document
//! generated from the route table (`openapi`) and the demo company `erp up` seeds (`seed`).
//!
//! [`build`] returns the public router (`erp up` mounts it beside the other roles on one
//! port), every route counted and timed (`infra::telemetry::http`) and every command's
//! outcome counted by code (`outcomes`); [`metrics_router`] the role's `/metrics` (apart, so
//! a process serving several roles exposes one, [`operations`] being this role's part);
//! [`internal_router`] the peers' `/internal/log`, which belongs on a listener of its own that
//! only the cluster reaches. [`Application`] serves any of them.

pub mod accounts;
pub mod accrual;
pub mod directory;
pub mod edge;
pub mod error;
pub mod extract;
pub mod folded;
pub mod openapi;
pub mod outcomes;
pub mod ratelimit;
pub mod reactor;
pub mod routes;
pub mod seed;
pub mod service;
pub mod submission;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::Router;
use chrono::FixedOffset;
use directory::Directory;
use domain::line_rule::LinePolicy;
use infra::auth::{Authenticator, LocalSigner, Verifier};
use infra::eventlog::EventLog;
use service::CommandService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Settings of the command role.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Browser origins allowed to call the API (the SPA's).
    pub cors_origins: Vec<String>,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// Offer `/auth/dev-login` (embedded default only).
    pub dev_login: bool,
    pub policy: LinePolicy,
    /// The company's time zone, for document-number years.
    pub company_offset: FixedOffset,
    /// Shared secret of `/internal/log`, where peers forward commands for partitions this
    /// instance owns. Without it (or with an empty one) the endpoint does not exist.
    pub internal_token: Option<String>,
    pub rate_limit: ratelimit::RateLimit,
    /// Longest a request may take before it is answered 503 with `Retry-After`: above the
    /// log's own bounds (waiting for partition ownership, then for the broker's ack), so it
    /// only cuts what would otherwise hang.
    pub request_timeout: std::time::Duration,
    /// How many requests run at once and how many may wait ([`infra::admission`]); the rest
    /// are answered 503 `overloaded` with `Retry-After` before any work is done.
    pub admission: infra::admission::AdmissionLimits,
    /// Where attachment content is kept ([`infra::attachments`]); none: uploads and
    /// downloads answer 503 and a draft naming an attachment is refused.
    pub attachments: Option<Arc<dyn infra::attachments::AttachmentStore>>,
    /// Largest attachment accepted.
    pub attachment_max_bytes: usize,
    /// The scan hook: a command given each upload on its standard input (exit 0 clean, 1
    /// infected), e.g. `["clamdscan", "--no-summary", "-"]`.
    pub attachment_scan: Option<Vec<String>>,
    /// Sign-in through an OpenID Connect issuer (needs the local signer, whose tokens the
    /// web app then uses); none: only tokens from elsewhere (and the dev login).
    pub oidc: Option<Arc<infra::auth::oidc::Oidc>>,
    /// A headless Chromium and its flags, to render documents to PDF (`/pdf`); none: 503.
    pub pdf_renderer: Option<Vec<String>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cors_origins: vec!["http://localhost:5173".into()],
            body_limit: 1024 * 1024,
            dev_login: false,
            policy: LinePolicy::default(),
            company_offset: FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC")),
            internal_token: None,
            rate_limit: ratelimit::RateLimit::default(),
            request_timeout: std::time::Duration::from_secs(30),
            admission: infra::admission::AdmissionLimits::default(),
            attachments: None,
            attachment_max_bytes: routes::attachments::DEFAULT_MAX_BYTES,
            attachment_scan: None,
            oidc: None,
            pdf_renderer: None,
        }
    }
}

/// Token verification, and the embedded default's own issuer.
#[derive(Debug)]
pub struct AuthState {
    pub verifier: Verifier,
    pub signer: Option<LocalSigner>,
}

/// Everything a handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<CommandService>,
    pub directory: Arc<Directory>,
    pub auth: Arc<AuthState>,
    /// The one sign-in path, over employees' own streams.
    pub signin: Arc<Authenticator<accounts::LogAccounts>>,
    pub settings: Arc<Settings>,
    pub openapi: Arc<serde_json::Value>,
    /// Per-caller buckets; none when rate limiting is off.
    pub limiter: Option<Arc<ratelimit::Limiter>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish()
    }
}

/// Every public route, registered with its documentation.
fn api() -> openapi::Api {
    let api = routes::approvals::routes(openapi::Api::new());
    let api = routes::notifications::routes(api);
    let api = routes::attachments::routes(api);
    let api = routes::oidc::routes(api);
    let api = routes::print::routes(api);
    routes::meta::routes(routes::quests::routes(routes::attendance::routes(routes::org::routes(
        api,
    ))))
}

/// The OpenAPI document `/openapi.json` serves, without a server: the web app's REST types
/// are generated from its committed copy (`command-api/openapi.json`).
pub fn openapi_document() -> serde_json::Value {
    serde_json::to_value(api().finish().1).unwrap_or_default()
}

/// Wires the command side over a log: directory, reactor, the leave accrual schedule, routes.
/// Returns the state and the
/// finished public router (mount it, or serve it with [`Application`]).
pub fn build(log: Arc<dyn EventLog>, auth: AuthState, settings: Settings) -> (AppState, Router) {
    let service = Arc::new(CommandService::new(log.clone()));
    let directory = Directory::follow(log);
    let (routes, document) = api().finish();
    let document = serde_json::to_value(document).unwrap_or_default();
    let state = AppState {
        service: service.clone(),
        directory,
        signin: Arc::new(Authenticator::new(
            auth.verifier.clone(),
            accounts::LogAccounts(service.clone()),
        )),
        auth: Arc::new(auth),
        limiter: ratelimit::Limiter::new(settings.rate_limit),
        settings: Arc::new(settings),
        openapi: Arc::new(document),
    };
    reactor::start(state.clone());
    accrual::start(state.clone());
    let router = routes
        .route("/openapi.json", axum::routing::get(routes::meta::openapi))
        .route("/docs", axum::routing::get(routes::meta::docs))
        .route("/docs.js", axum::routing::get(routes::meta::docs_script))
        .merge(routes::oidc::browser_routes())
        .fallback(|| async { error::ApiError::not_found("no such route") })
        .layer(axum::middleware::from_fn_with_state(
            ratelimit::Gate {
                limiter: state.limiter.clone(),
                signin: state.signin.clone(),
            },
            ratelimit::limit,
        ))
        .with_state(state.clone());
    (state.clone(), layered(router, &state.settings))
}

/// The internal listener's routes: `/internal/log`, where peers forward requests for
/// partitions this instance owns. None without a non-empty internal token.
pub fn internal_router(state: &AppState) -> Option<Router> {
    state.settings.internal_token.as_ref().filter(|t| !t.is_empty())?;
    let router = Router::new()
        .route("/internal/log", axum::routing::post(routes::meta::internal_log))
        .fallback(|| async { error::ApiError::not_found("no such route") })
        // The token is checked before the body is read: strangers cannot make us buffer.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::meta::peer_only,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(INTERNAL_BODY_LIMIT))
        .with_state(state.clone());
    Some(edge::harden(router))
}

/// `/metrics` of the command role: every series this process records, with the event log's
/// health (partitions owned and not ready, stuck streams, failed restores) read at each
/// scrape ([`record_log_health`]).
pub fn metrics_router(state: &AppState) -> Router {
    edge::harden(operations(state).router())
}

/// What the command role contributes to a process's `/metrics` (see [`metrics_router`]).
pub fn operations(state: &AppState) -> infra::telemetry::Operations {
    let state = state.clone();
    infra::telemetry::Operations::new().collect(move || {
        let state = state.clone();
        async move { record_log_health(&state) }
    })
}

/// Sets the log's health gauges to what the log reports now.
pub fn record_log_health(state: &AppState) {
    state.service.log().health().record();
}

/// Largest forwarded request: a commit at the log's size limit, as JSON.
const INTERNAL_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Cross-cutting layers: timeouts, command outcomes, body limit, CORS, request ids, tracing,
/// security headers, panics, and the HTTP metrics around all of them.
fn layered(router: Router, settings: &Settings) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let origins: Vec<HeaderValue> = settings.cors_origins.iter().filter_map(|o| o.parse().ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            HeaderName::from_static("idempotency-key"),
            request_id.clone(),
            HeaderName::from_static("traceparent"),
        ])
        .expose_headers([
            header::ETAG,
            request_id.clone(),
            header::RETRY_AFTER,
            HeaderName::from_static("traceparent"),
        ]);
    let router = edge::bounded(router, settings.request_timeout)
        .layer(axum::middleware::from_fn(outcomes::count))
        .layer(axum::extract::DefaultBodyLimit::max(settings.body_limit))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(axum::middleware::from_fn(edge::own_trace))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                let trace_id = req
                    .extensions()
                    .get::<edge::TraceId>()
                    .map(|t| t.0.as_str())
                    .unwrap_or_default();
                let span = tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id, trace_id = %trace_id);
                if let Some(parent) = req.extensions().get::<infra::trace::TraceContext>() {
                    infra::telemetry::traces::continue_trace(&span, parent);
                }
                span
            }),
        )
        .layer(axum::middleware::from_fn(edge::trace_context))
        // Outside tracing and the rate limit: an overloaded instance refuses before it checks a
        // token or writes a log line (a flood of refusals must not cost what it refuses).
        .layer(axum::middleware::from_fn_with_state(
            infra::admission::Admission::new(settings.admission),
            edge::admit,
        ))
        .layer(cors)
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    infra::telemetry::http::instrument(edge::harden(router), "command-api")
}

/// The command role as a server.
#[derive(Debug)]
pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    front: bool,
}

impl Application {
    /// Binds `addr` (port 0 picks a free port) to serve `router` ([`edge::listen`]).
    pub async fn bind(addr: SocketAddr, router: Router) -> std::io::Result<Self> {
        Ok(Self {
            listener: edge::listen(addr)?,
            router,
            front: false,
        })
    }

    /// Serves connections on a front thread of their own: reading requests, admission
    /// ([`edge::admit`]), refusals and writing answers; admitted requests run on the runtime
    /// that runs the server. Under overload the workers are busy with admitted work, and a
    /// refusal served by them waited its turn behind it (tens of milliseconds on two cores);
    /// the front thread, idle most of the time, is given a core at once. Every route must
    /// then be behind [`edge::admit`] or [`edge::on_workers`], or its work runs on the front.
    pub fn with_front_thread(mut self) -> Self {
        self.front = true;
        self
    }

    /// Serves `router` on a listener already bound.
    pub fn from_listener(listener: tokio::net::TcpListener, router: Router) -> Self {
        Self {
            listener,
            router,
            front: false,
        }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` resolves, then stops accepting and finishes in-flight requests.
    /// Handlers see the peer address (`ConnectInfo<SocketAddr>`), which keys rate limits.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        if !self.front {
            return axum::serve(
                self.listener,
                self.router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await;
        }
        let router = self
            .router
            .layer(axum::Extension(edge::Workers(tokio::runtime::Handle::current())));
        let listener = self.listener.into_std()?;
        let (done, finished) = tokio::sync::oneshot::channel();
        std::thread::Builder::new().name("http-front".into()).spawn(move || {
            let served = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .and_then(|front| {
                    front.block_on(async move {
                        axum::serve(
                            tokio::net::TcpListener::from_std(listener)?,
                            router.into_make_service_with_connect_info::<SocketAddr>(),
                        )
                        .with_graceful_shutdown(shutdown)
                        .await
                    })
                });
            let _ = done.send(served);
        })?;
        finished
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("the front thread ended without an answer")))
    }
}
