//! The HTTP face: `POST /graphql` (JSON, single or small batches), `GET /graphiql` where
//! enabled. Requests are refused before execution when oversized, over-batched, too deep or
//! too complex; the viewer comes from the bearer token; `x-erp-position` makes an
//! authenticated request wait (bounded) until the projections have applied that command's
//! commit. Each operation is timed by its name (`erp_graphql_request_duration_seconds`).

use crate::context::{DepartmentLoader, EmployeeLoader, KeptEmployees, NoViewer, Stores, Viewer};
use crate::error::{self, ensure_codes};
use crate::schema::{build, ErpSchema, Limits};
use async_graphql::dataloader::DataLoader;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use infra::auth::{Authenticator, Verifier};
use infra::eventlog::Position;
use infra::readmodel::sql::SqlReadModel;
use std::sync::Arc;
use std::time::Duration;

/// A DataLoader's wait before it loads a batch.
const NO_DELAY: Duration = Duration::ZERO;

/// Request bodies above this are refused unread.
pub const MAX_BODY: usize = 64 * 1024;
/// Operations one batched request may carry.
pub const MAX_BATCH: usize = 5;
/// Characters of one query document.
pub const MAX_QUERY: usize = 16 * 1024;

/// Settings of the query API.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Serve GraphiQL at `/graphiql` (the embedded default only).
    pub graphiql: bool,
    /// How long a read-your-writes wait may take before STALE_READ.
    pub position_wait: Duration,
    pub limits: Limits,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            graphiql: false,
            position_wait: Duration::from_secs(5),
            limits: Limits::default(),
        }
    }
}

struct Api {
    schema: ErpSchema,
    parsed: crate::parsed::ParsedQueries,
    stores: Stores,
    signin: Authenticator<SqlReadModel>,
    employees: Arc<KeptEmployees>,
    config: QueryConfig,
}

/// The query API's routes.
pub fn router(stores: Stores, verifier: Arc<Verifier>, config: QueryConfig) -> Router {
    let api = Arc::new(Api {
        schema: build(stores.clone(), config.limits),
        parsed: Default::default(),
        signin: Authenticator::new(Verifier::clone(&verifier), stores.org.clone()),
        employees: Arc::default(),
        stores,
        config: config.clone(),
    });
    let mut router = Router::new().route("/graphql", post(graphql));
    if config.graphiql {
        router = router
            .route("/graphiql", get(graphiql))
            .route("/graphiql.js", get(graphiql_script));
    }
    let router = router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(api);
    infra::telemetry::http::instrument(router, "query-api")
}

/// The console page, served locally (see [`crate::console`]).
async fn graphiql() -> Html<&'static str> {
    Html(crate::console::PAGE)
}

async fn graphiql_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        crate::console::SCRIPT,
    )
        .into_response()
}

/// A GraphQL-shaped refusal that never reached execution.
fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message.into(), "extensions": { "code": code } }]
    });
    (status, axum::Json(body)).into_response()
}

async fn viewer(api: &Api, headers: &HeaderMap) -> Result<Viewer, NoViewer> {
    let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    Ok(api.signin.sign_in_header(header).await?)
}

async fn graphql(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                error::REQUEST_REJECTED,
                format!("request body refused ({e}); at most {MAX_BODY} bytes"),
            )
        }
    };
    let batch: async_graphql::BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            return refused(
                StatusCode::BAD_REQUEST,
                error::BAD_USER_INPUT,
                format!("expected a GraphQL request as JSON: {e}"),
            )
        }
    };
    let requests = match batch {
        async_graphql::BatchRequest::Single(r) => vec![r],
        async_graphql::BatchRequest::Batch(rs) => rs,
    };
    if requests.is_empty() || requests.len() > MAX_BATCH {
        return refused(
            StatusCode::BAD_REQUEST,
            error::REQUEST_REJECTED,
            format!("a batch carries 1 to {MAX_BATCH} operations, not {}", requests.len()),
        );
    }
    if let Some(long) = requests.iter().find(|r| r.query.len() > MAX_QUERY) {
        return refused(
            StatusCode::BAD_REQUEST,
            error::REQUEST_REJECTED,
            format!(
                "a query document is at most {MAX_QUERY} characters, not {}",
                long.query.len()
            ),
        );
    }
    let mut positions = Vec::new();
    for value in headers.get_all("x-erp-position") {
        for token in value
            .to_str()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            match Position::parse_token(token) {
                Some(p) => positions.push(p),
                None => {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        error::BAD_USER_INPUT,
                        format!("x-erp-position {token:?} is not a position token"),
                    )
                }
            }
        }
    }
    // The token first: only a known viewer may make the server wait for its write.
    let viewer = viewer(&api, &headers).await;
    if viewer.is_ok() {
        if let Err(e) = crate::lag::wait_for(&api.stores, &positions, api.config.position_wait).await {
            let stale = e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| matches!(c, async_graphql::Value::String(c) if c == error::STALE_READ));
            let code = if stale { error::STALE_READ } else { error::INTERNAL };
            return refused(StatusCode::OK, code, e.message);
        }
    }
    let single = requests.len() == 1;
    let mut responses = Vec::with_capacity(requests.len());
    for mut request in requests {
        let started = std::time::Instant::now();
        let prepared = api.parsed.prepare(&mut request, api.config.limits.aliases);
        let operation = crate::operations::label(&mut request);
        let mut response = match prepared {
            // Past the alias bound: refused before execution, nothing resolved.
            Err(refusal) => async_graphql::Response::from_errors(vec![refusal]),
            Ok(()) => {
                // No batch delay of our own: a batch loads once its zero-length sleep fires
                // (the next tick of the runtime's 1 ms timer at most), with the keys asked by
                // then; a key asked later starts another. Each is a keyed read of
                // microseconds (docs/performance.md, "No batch delay").
                let employees = EmployeeLoader {
                    store: api.stores.org.clone(),
                    kept: positions.is_empty().then(|| api.employees.clone()),
                };
                let request = request
                    .data(DataLoader::new(employees, tokio::spawn).delay(NO_DELAY))
                    .data(DataLoader::new(DepartmentLoader(api.stores.org.clone()), tokio::spawn).delay(NO_DELAY));
                let request = match &viewer {
                    Ok(v) => request.data(v.clone()),
                    Err(no) => request.data(no.clone()),
                };
                api.schema.execute(request).await
            }
        };
        let outcome = if response.errors.is_empty() { "ok" } else { "error" };
        metrics::histogram!("erp_graphql_request_duration_seconds", "operation" => operation, "outcome" => outcome)
            .record(infra::telemetry::metrics::seconds(started));
        ensure_codes(&mut response);
        responses.push(response);
    }
    // Written straight to bytes: no JSON tree of the response first.
    let json = if single {
        serde_json::to_vec(&responses[0])
    } else {
        serde_json::to_vec(&responses)
    };
    match json {
        Ok(json) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "response does not serialise");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                error::INTERNAL,
                error::INTERNAL_MESSAGE,
            )
        }
    }
}
