//! HTTP routes, one module per resource. Each handler takes typed extractors (the caller,
//! command headers, the path's id as `extract::Id`, a JSON body), builds one domain command
//! (`TryFrom`-style conversions in the DTOs), runs it through the command service and answers
//! with the new version and a position token.

pub mod approvals;
pub mod attachments;
pub mod attendance;
pub mod forms;
pub mod meta;
pub mod notifications;
pub mod oidc;
pub mod org;
pub mod print;
pub mod proxy;
pub mod quests;

use crate::error::ApiError;
use crate::extract::{Caller, CommandHeaders};
use crate::service::{Meta, Outcome};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Builds the log metadata of a request.
pub(crate) fn meta(caller: &Caller, headers: &CommandHeaders, route: &str) -> Meta {
    Meta {
        command_id: headers.command_id(caller.actor.id, route),
        correlation_id: headers.correlation_id(),
        causation_id: None,
        actor: Some(caller.actor.id),
        traceparent: headers.traceparent.clone(),
    }
}

/// 200/201 with the outcome and its version as ETag.
pub(crate) fn reply(outcome: Outcome, created: bool) -> Response {
    let status = if created && !outcome.duplicate {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let etag = HeaderValue::from_str(&format!("\"{}\"", outcome.version)).ok();
    let mut response = (status, axum::Json(outcome)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Document actions must say which version they act on.
pub(crate) fn require_version(headers: &CommandHeaders) -> Result<u64, ApiError> {
    headers.expected.ok_or_else(|| {
        ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "send If-Match with the document version you are acting on",
        )
    })
}
