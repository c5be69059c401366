//! Health, readiness, metrics, forms, the caller, keys, the dev login and the API document.
//!
//! Readiness is more than a broker that answers: an instance that owns a partition it cannot
//! restore, or holds a stream head the log disagrees with, fails every command of those
//! streams, so `/readyz` answers 503 naming them ([`infra::eventlog::health`]), and
//! `/metrics` ([`crate::metrics_router`]) counts them for alerting. Nor is an instance ready
//! before its org directory has caught up with the log ([`crate::directory`]).

use super::forms::FormView;
use crate::error::ApiError;
use crate::extract::{Body, Caller};
use crate::openapi::{Api, Doc};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use infra::eventlog::streams;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

pub fn routes(api: Api) -> Api {
    const M: &str = "meta";
    api.get(
        "/healthz",
        healthz,
        Doc::new(M, "Liveness").returns::<Health>().public(),
    )
    .get(
        "/readyz",
        readyz,
        Doc::new(
            M,
            "Readiness: the event log answers, and no partition owned here is stuck",
        )
        .returns::<Readiness>()
        .public(),
    )
    .get(
        "/api/forms",
        forms,
        Doc::new(M, "Form templates with typed fields").returns_list::<FormView>(),
    )
    .get("/api/me", me, Doc::new(M, "The caller").returns::<Me>())
    .get(
        "/.well-known/jwks.json",
        jwks,
        Doc::new(M, "Public keys of the embedded token issuer")
            .returns::<Jwks>()
            .public(),
    )
    .get(
        "/auth/dev-users",
        dev_users,
        Doc::new(M, "Demo users to log in as (embedded default only)")
            .returns_list::<DevUser>()
            .public(),
    )
    .post(
        "/auth/dev-login",
        dev_login,
        Doc::new(M, "Log in as a demo user (embedded default only)")
            .body::<DevLogin>()
            .returns::<DevSession>()
            .public(),
    )
}

/// The process answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// The event log answers and reports no fault.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Always `ready`.
    pub status: &'static str,
    /// Partitions this instance owns and has restored.
    pub partitions_owned: usize,
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

async fn readyz(State(state): State<AppState>) -> Response {
    let probe = tokio::time::timeout(
        Duration::from_secs(3),
        state.service.log().end_offsets(streams::APPROVAL),
    )
    .await;
    if !matches!(probe, Ok(Ok(_))) {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the event log does not answer",
        )
        .into_response();
    }
    let health = state.service.log().health();
    if health.is_healthy() {
        if !state.directory.is_settled() {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "directory_behind",
                "the org directory has not caught up with the log since start-up",
            )
            .into_response();
        }
        return Json(Readiness {
            status: "ready",
            partitions_owned: health.partitions_owned,
        })
        .into_response();
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "log_faults",
        health.faults().join("; "),
    )
    .with(json!({
        "partitions_not_ready": health.partitions_not_ready,
        "stuck_streams": health.stuck_streams,
    }))
    .into_response()
}

async fn forms(State(state): State<AppState>, _: Caller) -> Json<Vec<FormView>> {
    Json(state.service.forms().iter().cloned().map(FormView::from).collect())
}

/// The signed-in caller, as the command side resolved them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub name: String,
    /// `employee`, `manager`, `hr_admin`, `auditor`.
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<domain::Role>,
    pub department: Option<Uuid>,
}

async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        id: caller.actor.id.0,
        name: caller.name,
        roles: caller.actor.roles.into_iter().collect(),
        department: caller.actor.department.map(|d| d.0),
    })
}

/// A JSON Web Key Set (RFC 7517): the embedded issuer's public keys.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Jwks {
    /// One JWK per key (`kty`, `crv`, `x`, `kid`, ...).
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<jsonwebtoken::jwk::Jwk>,
}

async fn jwks(State(state): State<AppState>) -> Result<Json<Jwks>, ApiError> {
    let signer = state
        .auth
        .signer
        .as_ref()
        .ok_or_else(|| ApiError::not_found("tokens come from the identity provider"))?;
    Ok(Json(Jwks {
        keys: signer.jwks().keys,
    }))
}

/// A demo user to log in as.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DevUser {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    /// The position's title.
    pub position: Option<String>,
    /// The department's name.
    pub department: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<domain::Role>,
}

async fn dev_users(State(state): State<AppState>) -> Result<Json<Vec<DevUser>>, ApiError> {
    if state.auth.signer.is_none() || !state.settings.dev_login {
        return Err(ApiError::not_found("dev login is only offered by the embedded default"));
    }
    let departments: std::collections::HashMap<_, _> = state
        .directory
        .departments()
        .into_iter()
        .filter_map(|d| Some((d.id?, d.name)))
        .collect();
    let mut users: Vec<DevUser> = state
        .directory
        .employees()
        .into_iter()
        .filter(|e| e.active)
        .filter_map(|e| {
            Some(DevUser {
                id: e.id?.0,
                name: e.name,
                email: e.email,
                position: e.position.map(|p| p.title),
                department: e.department.and_then(|d| departments.get(&d).cloned()),
                roles: e.roles.into_iter().collect(),
            })
        })
        .collect();
    users.sort_by(|a, b| a.department.cmp(&b.department).then(a.name.cmp(&b.name)));
    Ok(Json(users))
}

/// Which demo user to log in as.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevLogin {
    pub employee_id: Uuid,
}

/// A demo user's session: a bearer token and whom it names.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DevSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub employee: SessionEmployee,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionEmployee {
    pub id: Uuid,
    pub name: String,
}

async fn dev_login(State(state): State<AppState>, Body(req): Body<DevLogin>) -> Result<Json<DevSession>, ApiError> {
    let signer = match (&state.auth.signer, state.settings.dev_login) {
        (Some(signer), true) => signer,
        _ => return Err(ApiError::not_found("dev login is only offered by the embedded default")),
    };
    let id = domain::ids::EmployeeId(req.employee_id);
    let (_, employee) = state
        .service
        .actor(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such employee"))?;
    if !employee.active {
        return Err(ApiError::forbidden("this employee is deactivated"));
    }
    let ttl = Duration::from_secs(12 * 3600);
    let now = Utc::now();
    let token = signer.sign(&id.to_string(), Some(&employee.name), now, ttl);
    Ok(Json(DevSession {
        token,
        expires_at: now + chrono::Duration::seconds(ttl.as_secs() as i64),
        employee: SessionEmployee {
            id: id.0,
            name: employee.name,
        },
    }))
}

/// `/openapi.json`
pub async fn openapi(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json((*state.openapi).clone())
}

/// `/docs`
pub async fn docs() -> Html<&'static str> {
    Html(crate::openapi::VIEWER)
}

/// `/docs.js`: the viewer's script, served apart so the page needs no inline script.
pub async fn docs_script() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        crate::openapi::VIEWER_SCRIPT,
    )
        .into_response()
}

/// In front of the internal routes: only a peer presenting the cluster's token gets through
/// (compared in constant time; an empty token, configured or presented, never matches).
pub async fn peer_only(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let expected = state.settings.internal_token.as_deref().unwrap_or_default();
    let presented = request
        .headers()
        .get(infra::eventlog::kafka::owners::INTERNAL_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !infra::eventlog::kafka::owners::token_matches(expected, presented) {
        return ApiError::forbidden("not a cluster peer").into_response();
    }
    next.run(request).await
}

/// `/internal/log` (internal listener, behind [`peer_only`]): a peer forwards a log request
/// for a partition this instance owns.
pub async fn internal_log(
    State(state): State<AppState>,
    Body(request): Body<infra::eventlog::kafka::owners::Forwarded>,
) -> Json<infra::eventlog::kafka::owners::ForwardedAnswer> {
    Json(state.service.log().serve_forwarded(request).await)
}
