//! Sign-in through the company's identity provider (OpenID Connect, authorization code with
//! PKCE; `infra::auth::oidc`). The web app draws a value of its own (`app`), keeps it in the
//! tab's session storage and goes to `/auth/oidc/login?app=…`, which sets a cookie holding
//! the sign-in's `state` and sends the browser to the issuer. The issuer sends it back to
//! `/auth/oidc/callback`, which takes the sign-in only when the cookie holds its `state`
//! (a callback URL someone else started signs nobody in), matches the ID token's claim to an
//! active employee — `email` (verified by the issuer) to their email, case-insensitive; any
//! other claim to their employee id — and hands the app a session token of this server's own
//! issuer with its `app` value in the URL fragment (`/#/signed-in?…`, never sent to a server).
//! The app takes only a session carrying the value it drew. The dev login stays for the demo.

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
            ApiError::unavailable(
                "identity_provider_unavailable",
                "the identity provider is unavailable; retry",
                5,
            )
        }
        other => ApiError::new(StatusCode::UNAUTHORIZED, "sign_in_refused", other.to_string()),
    }
}

/// The cookie that binds a sign-in's `state` to the browser that started it.
const STATE_COOKIE: &str = "erp_oidc_state";

#[derive(Debug, Deserialize)]
struct Login {
    app: Option<String>,
}

/// Whether `value` is an app value as the web app draws it: 16 to 128 URL-safe characters.
fn app_value(value: &str) -> bool {
    (16..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn login(State(state): State<AppState>, Query(login): Query<Login>) -> Result<Response, ApiError> {
    let oidc = state.settings.oidc.as_ref().ok_or_else(not_offered)?;
    let app = login
        .app
        .filter(|a| app_value(a))
        .ok_or_else(|| ApiError::bad_request("start from the web app: `app` is 16 to 128 URL-safe characters"))?;
    let (url, pending) = oidc.start(&app).map_err(refused)?;
    let secure = if oidc.secure() { "; Secure" } else { "" };
    let cookie = format!("{STATE_COOKIE}={pending}; Path=/auth/oidc; Max-Age=600; HttpOnly; SameSite=Lax{secure}");
    let mut response = see_other(url.as_str());
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The `state` the browser's cookie holds, if any.
fn state_cookie(headers: &header::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == STATE_COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    headers: header::HeaderMap,
    Query(back): Query<Callback>,
) -> Result<Response, ApiError> {
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
    if state_cookie(&headers).as_deref() != Some(pending.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign_in_refused",
            "this sign-in was not started in this browser",
        ));
    }
    let signed_in = oidc.finish(&pending, &code).await.map_err(refused)?;
    let named = signed_in.claim;
    let by_email = oidc.claim() == "email";
    let employee = state
        .directory
        .employees()
        .into_iter()
        .find(|e| {
            if by_email {
                e.email.eq_ignore_ascii_case(&named)
            } else {
                e.id.is_some_and(|id| id.to_string() == named)
            }
        })
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
    let fragment: String = url_encoded(&[
        ("token", &token),
        ("id", &id.to_string()),
        ("name", &employee.name),
        ("app", &signed_in.app),
    ]);
    let mut response = see_other(&format!("/#/signed-in?{fragment}"));
    // The state is spent: the cookie goes with it.
    let gone = format!("{STATE_COOKIE}=; Path=/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax");
    if let Ok(value) = header::HeaderValue::from_str(&gone) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
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
