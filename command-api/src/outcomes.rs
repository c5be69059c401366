//! Commands by outcome: `erp_commands_total{command, code}`.
//!
//! A command is any POST, PUT, PATCH or DELETE under `/api/`; it is named by its method and
//! route template (`POST /api/approvals/{id}/approve`). The code is `ok` for a success, else
//! the problem document's `code` (`version_conflict`, `rate_limited`, `log_unavailable`,
//! `request_timeout`, `internal`, …, carried on the response as [`ProblemCode`]), else
//! `http_<status>` for an answer that is no problem document (axum's own 405, say). Counted
//! outside the timeout and rate limit layers, so their refusals count too.

use crate::error::ProblemCode;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// Counts the outcome of every command request `next` answers.
pub async fn count(request: Request, next: Next) -> Response {
    let command = command_of(&request);
    let response = next.run(request).await;
    if let Some(command) = command {
        let code = match response.extensions().get::<ProblemCode>() {
            Some(ProblemCode(code)) => (*code).to_owned(),
            None if response.status().is_success() => "ok".to_owned(),
            None => format!("http_{}", response.status().as_u16()),
        };
        metrics::counter!("erp_commands_total", "command" => command, "code" => code).increment(1);
    }
    response
}

/// `METHOD /route/{template}` of a command request, `None` for anything else.
fn command_of(request: &Request) -> Option<String> {
    let method = request.method();
    if !matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        return None;
    }
    let route = request.extensions().get::<MatchedPath>()?.as_str();
    route.starts_with("/api/").then(|| format!("{method} {route}"))
}
