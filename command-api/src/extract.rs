//! Request extractors: the authenticated caller (its token verified here, or already by the
//! rate limiter), command headers (Idempotency-Key, If-Match, traceparent, X-Request-Id), the
//! typed id of a route's path and JSON bodies, every rejection a problem+json answer.

use crate::error::ApiError;
use crate::ratelimit::VerifiedClaims;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use domain::ids::{ApprovalId, DelegationId, DepartmentId, EmployeeId};
use domain::Actor;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The authenticated, active employee making the request, signed in through
/// [`infra::auth::Authenticator`] over their own employee stream (roles and department as
/// recorded now, not as the token was issued).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub name: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let claims = match parts.extensions.get::<VerifiedClaims>() {
            Some(VerifiedClaims(claims)) => claims.clone(),
            None => {
                let header = parts
                    .headers
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                state.signin.verify(infra::auth::signin::bearer(header)?).await?
            }
        };
        let principal = state.signin.principal(&claims).await?;
        Ok(Caller {
            actor: principal.actor,
            name: principal.detail,
        })
    }
}

/// What every command request may carry in headers.
#[derive(Debug, Clone)]
pub struct CommandHeaders {
    /// From `Idempotency-Key` (any string ≤ 200 chars, scoped to the caller) or fresh.
    pub key: Option<String>,
    /// From `If-Match: "3"` (or `W/"3"`, or `3`).
    pub expected: Option<u64>,
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
}

impl CommandHeaders {
    /// The command id for the log: a stable hash of (caller, key) when a key was sent, so the
    /// same key from two callers never collides; a fresh UUIDv7 otherwise.
    ///
    /// Unlike the follow-ups' [`crate::service::derived_id`], this stays the first 16 bytes of
    /// a SHA-256: [`Self::new_id`] names created resources with it, and a create retried with
    /// the same key across an upgrade must name the same resource, or it would make a second.
    pub fn command_id(&self, caller: EmployeeId, route: &str) -> Uuid {
        match &self.key {
            None => Uuid::now_v7(),
            Some(key) => {
                let digest = Sha256::digest(format!("{caller}\u{0}{route}\u{0}{key}").as_bytes());
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&digest[..16]);
                uuid::Builder::from_custom_bytes(bytes).into_uuid()
            }
        }
    }

    /// The id of a resource a create request makes: the client's, or — when the request
    /// carries an Idempotency-Key — one derived from it, so a retried create names the
    /// same resource instead of making a second one.
    pub fn new_id(&self, requested: Option<Uuid>, caller: EmployeeId, route: &str) -> Uuid {
        match (requested, &self.key) {
            (Some(id), _) => id,
            (None, Some(_)) => self.command_id(caller, &format!("{route}/id")),
            (None, None) => Uuid::now_v7(),
        }
    }

    pub fn correlation_id(&self) -> Uuid {
        self.request_id
            .as_deref()
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(Uuid::now_v7)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CommandHeaders {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let text = |name: &str| -> Result<Option<String>, ApiError> {
            match parts.headers.get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.trim().to_owned()))
                    .map_err(|_| ApiError::bad_request(format!("{name} is not visible ASCII"))),
            }
        };
        let key = text("idempotency-key")?;
        if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
            return Err(ApiError::bad_request("Idempotency-Key must be 1..=200 characters"));
        }
        let expected = match text("if-match")? {
            None => None,
            Some(raw) => {
                let digits = raw.trim_start_matches("W/").trim_matches('"');
                Some(
                    digits
                        .parse::<u64>()
                        .map_err(|_| ApiError::bad_request("If-Match must be a version like \"3\""))?,
                )
            }
        };
        Ok(Self {
            key,
            expected,
            request_id: text("x-request-id")?,
            // With spans exported, the commit names the request's own span, so the projection
            // of it and the push it causes hang under this request in the trace.
            traceparent: text("traceparent")?
                .map(|header| infra::telemetry::traces::traceparent_of(&tracing::Span::current()).unwrap_or(header)),
        })
    }
}

/// A JSON body; malformed JSON, unknown fields and wrong types are 400, oversized bodies 413.
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(JsonRejection::BytesRejection(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is too large",
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            )),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// The one id of a route's path (`/api/approvals/{id}`, `/api/leave/{employee}`), typed: a
/// value that is not such an id is refused with a problem+json 400 naming what was expected,
/// before the handler runs.
#[derive(Debug, Clone, Copy)]
pub struct Id<T>(pub T);

/// An id type a path may carry, and how a refusal names it.
pub trait PathId: std::str::FromStr {
    const WHAT: &'static str;
}

impl PathId for ApprovalId {
    const WHAT: &'static str = "document id";
}

impl PathId for EmployeeId {
    const WHAT: &'static str = "employee id";
}

impl PathId for DepartmentId {
    const WHAT: &'static str = "department id";
}

impl PathId for DelegationId {
    const WHAT: &'static str = "delegation id";
}

impl PathId for domain::ids::QuestId {
    const WHAT: &'static str = "quest id";
}

impl<T: PathId + Send, S: Send + Sync> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        raw.parse()
            .map(Id)
            .map_err(|_| ApiError::bad_request(format!("{} is not a valid id", T::WHAT)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body as HttpBody;
    use axum::response::IntoResponse;
    use tower::ServiceExt;

    async fn call(path: &str) -> (StatusCode, serde_json::Value) {
        let router = axum::Router::new().route(
            "/api/approvals/{id}",
            axum::routing::get(|Id(id): Id<ApprovalId>| async move { id.to_string().into_response() }),
        );
        let response = router
            .oneshot(axum::http::Request::get(path).body(HttpBody::empty()).expect("request"))
            .await
            .expect("an answer");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body)
    }

    #[tokio::test]
    async fn a_path_id_is_typed_before_the_handler_runs() {
        let id = Uuid::now_v7();
        assert_eq!(
            call(&format!("/api/approvals/{id}")).await,
            (StatusCode::OK, serde_json::Value::String(id.to_string()))
        );
        let (status, problem) = call("/api/approvals/not-a-document").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["code"], "malformed_request");
        assert_eq!(problem["detail"], "document id is not a valid id");
    }
}
