//! Requests and their duration, for every HTTP router of every role.
//!
//! [`instrument`] wraps each route of a router (apply it after the routes are added): the
//! route label is the template the router matched (`/api/approvals/{id}/approve`, from
//! axum's `MatchedPath`), never the raw path, so ids do not become series. A request no route
//! matched (the fallback) counts as `unmatched`; a method outside the standard ones as `other`.

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use std::time::Instant;

/// Route label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// `router` with every request it answers counted and timed under `role`.
pub fn instrument(router: Router, role: &'static str) -> Router {
    super::metrics::install();
    router.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
        record(role, request, next)
    }))
}

async fn record(role: &'static str, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |m| m.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("role", role.to_owned()),
        ("route", route),
        ("method", method.to_owned()),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("erp_http_requests_total", &labels).increment(1);
    metrics::histogram!("erp_http_request_duration_seconds", &labels).record(super::metrics::seconds(started));
    response
}

/// The method as a label: the standard ones by name, anything else as `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    fn get(uri: &str) -> Request {
        Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .expect("request")
    }

    /// The sample lines of one series whose labels include all of `labels`.
    fn samples<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
            .collect()
    }

    #[tokio::test]
    async fn a_request_is_recorded_under_its_route_template_not_its_raw_path() {
        let router = instrument(
            Router::new().route(
                "/things/{id}/approve",
                axum::routing::post(|| async { axum::http::StatusCode::ACCEPTED }),
            ),
            "test-role",
        );
        for id in ["a1", "b2", "c3"] {
            let request = Request::builder()
                .method(Method::POST)
                .uri(format!("/things/{id}/approve"))
                .body(axum::body::Body::empty())
                .expect("request");
            let response = router.clone().oneshot(request).await.expect("answered");
            assert_eq!(response.status(), axum::http::StatusCode::ACCEPTED);
        }
        let missing = router.clone().oneshot(get("/nowhere/else")).await.expect("answered");
        assert_eq!(missing.status(), axum::http::StatusCode::NOT_FOUND);

        let text = super::super::metrics::render();
        let ours = [
            "role=\"test-role\"",
            "route=\"/things/{id}/approve\"",
            "method=\"POST\"",
            "status=\"202\"",
        ];
        let count = samples(&text, "erp_http_request_duration_seconds_count", &ours);
        assert_eq!(
            count,
            vec![format!("erp_http_request_duration_seconds_count{{{}}} 3", ours.join(",")).as_str()],
            "{text}"
        );
        assert!(
            !samples(&text, "erp_http_request_duration_seconds_bucket", &ours).is_empty(),
            "a histogram with buckets, not a summary:\n{text}"
        );
        assert_eq!(
            samples(&text, "erp_http_requests_total", &ours),
            vec![format!("erp_http_requests_total{{{}}} 3", ours.join(",")).as_str()]
        );
        for raw in ["a1", "b2", "c3", "/nowhere/else"] {
            assert!(
                !text.lines().any(|l| l.starts_with("erp_http") && l.contains(raw)),
                "the raw path {raw} became a label:\n{text}"
            );
        }
        assert_eq!(
            samples(
                &text,
                "erp_http_requests_total",
                &["role=\"test-role\"", "route=\"unmatched\"", "status=\"404\""]
            )
            .len(),
            1,
            "{text}"
        );
    }
}
