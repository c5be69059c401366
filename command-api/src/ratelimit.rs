//! Per-caller rate limits on the command API: a token bucket (GCRA, the `governor` crate) per
//! authenticated employee — the bearer token is verified here, and the verified claims are
//! handed on so [`crate::extract::Caller`] does not verify twice — and per peer IP address for
//! requests without a valid token (dev login, the API document). Over the limit: 429 with
//! `Retry-After` and a problem document coded `rate_limited`.

use crate::accounts::LogAccounts;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use infra::auth::{Authenticator, Claims};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Rate limit settings (`[rate_limit]` in the roles' settings file). The defaults are
/// generous: a person clicking never meets them, a script looping on one account does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    pub enabled: bool,
    /// Requests a caller may send at once after a quiet spell.
    pub burst: u32,
    /// Requests per second a caller may sustain.
    pub per_second: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            enabled: true,
            burst: 200,
            per_second: 50,
        }
    }
}

/// Who a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Employee(String),
    Peer(IpAddr),
    /// Served without connection info (a router driven in-process).
    Unknown,
}

/// The bucket per caller. Idle buckets are dropped every minute.
pub struct Limiter {
    buckets: DefaultKeyedRateLimiter<Key>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").field("callers", &self.buckets.len()).finish()
    }
}

/// Claims the rate limiter already verified for this request's bearer token.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedClaims(pub Claims);

impl Limiter {
    /// A limiter for `settings`, or none when disabled.
    pub fn new(settings: RateLimit) -> Option<Arc<Self>> {
        if !settings.enabled {
            return None;
        }
        let per_second = NonZeroU32::new(settings.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(settings.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = Arc::new(Self {
            buckets: governor::RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
        });
        let weak = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let Some(limiter) = weak.upgrade() else { return };
                limiter.buckets.retain_recent();
                limiter.buckets.shrink_to_fit();
            }
        });
        Some(limiter)
    }

    /// `Err(wait)` when `key` is over its limit.
    fn check(&self, key: &Key) -> Result<(), Duration> {
        self.buckets
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// What the middleware needs: the buckets, and the sign-in that tells whose request it is.
#[derive(Clone)]
pub(crate) struct Gate {
    pub limiter: Option<Arc<Limiter>>,
    pub signin: Arc<Authenticator<LogAccounts>>,
}

/// The middleware: count the request against its caller, refuse it when over the limit.
pub(crate) async fn limit(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let Some(limiter) = &gate.limiter else {
        return next.run(request).await;
    };
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(infra::auth::bearer_token);
    let claims = match token {
        Some(token) => gate.signin.verify(token).await.ok(),
        None => None,
    };
    let key = match &claims {
        Some(claims) => Key::Employee(claims.sub.clone()),
        None => request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(Key::Unknown, |ConnectInfo(peer)| Key::Peer(peer.ip())),
    };
    if let Err(wait) = limiter.check(&key) {
        return rate_limited(wait);
    }
    if let Some(claims) = claims {
        request.extensions_mut().insert(VerifiedClaims(claims));
    }
    next.run(request).await
}

fn rate_limited(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {seconds} s"),
    )
    .with(serde_json::json!({ "retry_after": seconds }))
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}
