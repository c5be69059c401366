//! One error type for the HTTP edge. Every refusal becomes `application/problem+json` with a
//! stable `code`; rule violations are 409/422, bad input 400, auth 401/403. Domain errors say
//! their own kind and code (`domain::Refusal`), so only their extra members are mapped here.
//! Internal errors are logged with context and answered with a bare 500.

use crate::service::{DomainError, ServiceError};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::approval::{ApprovalError, LineError};
use domain::authority::AuthorityError;
use domain::leave::LeaveError;
use domain::line_rule::RuleError;
use domain::numbering::NumberError;
use domain::org::{DelegationError, DepartmentError, EmployeeError};
use domain::{Refusal, RefusalKind};
use infra::auth::SignInError;
use infra::eventlog::EventLogError;
use serde_json::{json, Value};

/// The problem document's `code`, kept on the response for what counts outcomes
/// (`erp_commands_total`) without reading the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemCode(pub &'static str);

/// A refused or failed request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Extra members of the problem document (e.g. `current_version`, `errors`).
    pub extra: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            extra: Value::Null,
        }
    }

    pub fn with(mut self, extra: Value) -> Self {
        self.extra = extra;
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(current_version: u64) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "version_conflict",
            "the resource changed; reload and retry",
        )
        .with(json!({ "current_version": current_version }))
    }

    /// 503: a dependency cannot answer now; `Retry-After` says when to try again.
    pub fn unavailable(code: &'static str, detail: impl Into<String>, retry_after_seconds: u64) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
            .with(json!({ "retry_after_seconds": retry_after_seconds }))
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, context, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
}

/// An `application/problem+json` body (RFC 9457) with a stable `code`: what every refusal
/// and failure answers.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://erp.example/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    pub status: u16,
    /// Stable, machine-readable: what clients branch on.
    pub code: String,
    pub detail: String,
    /// Members of the refusal's own: `current_version` on 409 version conflicts, `errors` on
    /// 422 invalid bodies, `reason` on 422 invalid lines, `requested` and `available` on
    /// insufficient leave, `retry_after_seconds` (also `Retry-After`) when trying again later
    /// may succeed.
    #[serde(flatten)]
    pub extra: std::collections::BTreeMap<String, Value>,
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        let mut extra: std::collections::BTreeMap<String, Value> = match e.extra {
            Value::Object(members) => members.into_iter().collect(),
            _ => Default::default(),
        };
        // The standard members are the error's own; a refusal's members never replace them.
        for own in ["type", "title", "status", "code", "detail"] {
            extra.remove(own);
        }
        Self {
            kind: format!("https://erp.example/problems/{}", e.code),
            title: e.status.canonical_reason().unwrap_or("error").to_owned(),
            status: e.status.as_u16(),
            code: e.code.to_owned(),
            detail: e.detail,
            extra,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let code = self.code;
        let problem = Problem::from(self);
        let retry_after = problem.extra.get("retry_after_seconds").and_then(Value::as_u64);
        let body = serde_json::to_string(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.extensions_mut().insert(ProblemCode(code));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<EventLogError> for ApiError {
    fn from(e: EventLogError) -> Self {
        match e {
            EventLogError::Conflict { actual, .. } => ApiError::conflict(actual),
            EventLogError::CommandIdReused(id) => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                format!("Idempotency-Key already used for another resource ({id})"),
            ),
            EventLogError::EmptyOrHugeCommit => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "commit_size", e.to_string())
            }
            EventLogError::Unavailable(detail) => {
                tracing::warn!(%detail, "event log unavailable");
                // Retrying with the same Idempotency-Key is safe: it gets the first answer.
                ApiError::unavailable("log_unavailable", "the event log is unavailable; retry", 1)
            }
            other => ApiError::internal("event log", other),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Conflict { current } => ApiError::conflict(current),
            ServiceError::Refused(refusal) => refusal.into(),
            ServiceError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
            ServiceError::UnknownForm(id) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_form",
                format!("no form {id:?}"),
            ),
            ServiceError::Corrupt(detail) => ApiError::internal("decoding a stored event", detail),
            ServiceError::Log(e) => e.into(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Approval(e) => e.into(),
            DomainError::Employee(e) => e.into(),
            DomainError::Department(e) => e.into(),
            DomainError::Delegation(e) => e.into(),
            DomainError::Leave(e) => e.into(),
            DomainError::Authority(e) => e.into(),
            DomainError::Number(e) => e.into(),
            DomainError::Rule(e) => e.into(),
            DomainError::Attendance(e) => e.into(),
            DomainError::Quest(e) => e.into(),
            DomainError::Feed(e) => e.into(),
        }
    }
}

impl From<SignInError> for ApiError {
    /// 401 for anyone not proven, 403 for a deactivated employee, 503 (retry) when they could
    /// not be looked up.
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Unauthenticated(detail) => ApiError::unauthorized(detail),
            SignInError::Inactive => ApiError::forbidden(e.to_string()),
            SignInError::Unavailable(cause) => {
                tracing::warn!(%cause, "sign-in lookup failed");
                ApiError::unavailable("log_unavailable", "the event log is unavailable; retry", 1)
            }
        }
    }
}

impl ApiError {
    /// A domain refusal: its kind picks the status, its code passes on unchanged, its message
    /// is the detail.
    pub fn refused<E: Refusal>(e: &E) -> Self {
        let (kind, code) = e.refusal();
        let status = match kind {
            RefusalKind::NotFound => StatusCode::NOT_FOUND,
            RefusalKind::Forbidden => StatusCode::FORBIDDEN,
            RefusalKind::Conflict => StatusCode::CONFLICT,
            RefusalKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            RefusalKind::Limited => StatusCode::TOO_MANY_REQUESTS,
        };
        Self::new(status, code, e.to_string())
    }
}

/// Domain errors whose problem documents carry nothing beyond kind, code and message.
macro_rules! refusals {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                ApiError::refused(&e)
            }
        }
    )*};
}

refusals!(
    domain::attendance::AttendanceError,
    domain::quest::QuestError,
    domain::feed::FeedError,
    EmployeeError,
    DepartmentError,
    DelegationError,
    AuthorityError,
    NumberError,
    RuleError
);

/// Document refusals, some with members a client acts on (when to retry, which fields).
impl From<ApprovalError> for ApiError {
    fn from(e: ApprovalError) -> Self {
        let problem = ApiError::refused(&e);
        match &e {
            ApprovalError::CommentLimit { retry_after_secs } => {
                problem.with(json!({ "retry_after_seconds": retry_after_secs.unwrap_or(3600) }))
            }
            ApprovalError::InvalidBody(form) => problem.with(json!({ "errors": form.errors })),
            ApprovalError::InvalidLine(line) => problem.with(json!({ "reason": line_reason(line) })),
            ApprovalError::InsufficientLeave { requested, available } => {
                problem.with(json!({ "requested": requested.to_string(), "available": available.to_string() }))
            }
            _ => problem,
        }
    }
}

fn line_reason(e: &LineError) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

impl From<LeaveError> for ApiError {
    fn from(e: LeaveError) -> Self {
        let problem = ApiError::refused(&e);
        match &e {
            LeaveError::Insufficient { requested, available } => {
                problem.with(json!({ "requested": requested.to_string(), "available": available.to_string() }))
            }
            _ => problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_log_answers_503_with_retry_after() {
        let response = ApiError::from(EventLogError::Unavailable("no answer in time".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
    }
}
