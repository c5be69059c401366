//! Sign-in through the company's identity provider (OpenID Connect, authorization code with
//! PKCE; `infra::auth::oidc`). The browser goes to `/auth/oidc/login`, which sends it to the
//! issuer; the issuer sends it back to `/auth/oidc/callback`, which matches the ID token's
//! claim (`email` unless configured otherwise) to an active employee — by email, case
//! insensitive, or by employee id — and hands the web app a session token of this server's
//! own issuer in the URL fragment (`/#/signed-in?…`, which browsers never send to a server).
//! The dev login stays beside it for the demo.

use crate::error::ApiError;
use crate::openapi::{Api, Doc};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use infra::auth::AuthError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub fn routes(api: Api) -> Api {
    api.get(
        "/auth/oidc",
        status,
        Doc::new("auth", "Whether sign-in through the identity provider is offered")
            .returns::<OidcStatus>()
            .public(),
    )
}

/// The browser-facing steps, outside the API document: they answer redirects, not JSON.
pub fn browser_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/auth/oidc/login", axum::routing::get(login))
        .route("/auth/oidc/callback", axum::routing::get(callback))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OidcStatus {
    pub enabled: bool,
}

async fn status(State(state): State<AppState>) -> Json<OidcStatus> {
    Json(OidcStatus {
        enabled: state.settings.oidc.is_some() && state.auth.signer.is_some(),
    })
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

fn not_offered() -> ApiError {
    ApiError::not_found("sign-in through an identity provider is not configured here")
}

fn refused(e: AuthError) -> ApiError {
    match e {
        AuthError::Unavailable(why) => {
            tracing::warn!(%why, "identity provider unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "identity_provider_unavailable",
                "the identity provider is unavailable; retry",
            )
            .with(serde_json::json!({ "retry_after_seconds": 5 }))
        }
        other => ApiError::new(StatusCode::UNAUTHORIZED, "sign_in_refused", other.to_string()),
    }
}

async fn login(State(state): State<AppState>) -> Result<Response, ApiError> {
    let oidc = state.settings.oidc.as_ref().ok_or_else(not_offered)?;
    let url = oidc.start().map_err(refused)?;
    Ok(see_other(url.as_str()))
}

#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(State(state): State<AppState>, Query(back): Query<Callback>) -> Result<Response, ApiError> {
    let (oidc, signer) = match (&state.settings.oidc, &state.auth.signer) {
        (Some(oidc), Some(signer)) => (oidc, signer),
        _ => return Err(not_offered()),
    };
    if let Some(error) = back.error {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign_in_refused",
            format!("the identity provider answered {error}"),
        ));
    }
    let (Some(code), Some(pending)) = (back.code, back.state) else {
        return Err(ApiError::bad_request("the callback needs code and state"));
    };
    let named = oidc.finish(&pending, &code).await.map_err(refused)?;
    let employee = state
        .directory
        .employees()
        .into_iter()
        .find(|e| e.email.eq_ignore_ascii_case(&named) || e.id.is_some_and(|id| id.to_string() == named))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "not_an_employee",
                "no employee has this identity",
            )
        })?;
    let id = employee
        .id
        .ok_or_else(|| ApiError::internal("directory", "an employee without an id"))?;
    if !employee.active {
        return Err(ApiError::forbidden("this employee is deactivated"));
    }
    let token = signer.sign(
        &id.to_string(),
        Some(&employee.name),
        Utc::now(),
        Duration::from_secs(12 * 3600),
    );
    let fragment: String = url_encoded(&[("token", &token), ("id", &id.to_string()), ("name", &employee.name)]);
    Ok(see_other(&format!("/#/signed-in?{fragment}")))
}

/// `pairs` as `k=v&…`, every byte but the unreserved ones (RFC 3986) percent-encoded.
fn url_encoded(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
