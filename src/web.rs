//! The web app at `/` of `erp up`: the built SPA with `index.html` for every path it does not
//! know (client-side routes). It comes from, in order: `ERP_WEB_DIR`; `web/dist` under the
//! working directory (a fresh `npm run build` in a checkout); the copy embedded at compile
//! time (`build.rs`), so an installed binary run from anywhere serves it; else a page saying
//! how to build it. API paths never fall through to the app: an unknown one stays a
//! problem+json 404.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use include_dir::{include_dir, Dir};
use std::path::PathBuf;

/// `web/dist` as it was when this binary was compiled; empty when it had not been built.
static EMBEDDED: Dir<'static> = include_dir!("$ERP_WEB_DIST");

/// Where the app is served from.
#[derive(Debug, Clone)]
enum Source {
    Disk(PathBuf),
    Embedded,
    Missing,
}

fn source() -> Source {
    if let Some(dir) = std::env::var_os("ERP_WEB_DIR").map(PathBuf::from) {
        return match dir.join("index.html").is_file() {
            true => Source::Disk(dir),
            false => Source::Missing,
        };
    }
    let local = PathBuf::from("web/dist");
    if local.join("index.html").is_file() {
        return Source::Disk(local);
    }
    if EMBEDDED.get_file("index.html").is_some() {
        return Source::Embedded;
    }
    Source::Missing
}

/// The command API's own answer to an unknown route, so every problem document of the
/// process reads alike.
fn not_found() -> Response {
    command_api::error::ApiError::not_found("no such route").into_response()
}

fn not_built() -> Response {
    axum::response::Html(
        "<h1>ERP 전자결재</h1><p>The web app is not built yet: run <code>scripts/up</code>, or \
         <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then restart (or rebuild \
         <code>erp</code> to embed it). The APIs are up: <a href=\"/docs\">/docs</a>, \
         <a href=\"/graphiql\">/graphiql</a>.</p>",
    )
    .into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A file of the embedded app, or `index.html` for a path it does not have.
fn embedded(path: &str) -> Response {
    let wanted = path.trim_start_matches('/');
    let file = EMBEDDED
        .get_file(wanted)
        .filter(|_| !wanted.is_empty())
        .or_else(|| EMBEDDED.get_file("index.html"));
    match file {
        Some(f) => {
            let name = f.path().to_string_lossy();
            let mut response = f.contents().into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&name)));
            response
        }
        None => not_built(),
    }
}

pub fn app() -> axum::routing::MethodRouter {
    let source = source();
    match &source {
        Source::Disk(dir) => tracing::info!(dir = %dir.display(), "serving the web app from disk"),
        Source::Embedded => tracing::debug!("serving the web app embedded at compile time"),
        Source::Missing => tracing::warn!("the web app is not built; run scripts/up (or npm run build in web/)"),
    }
    let files = match &source {
        Source::Disk(dir) => Some(
            tower_http::services::ServeDir::new(dir)
                .fallback(tower_http::services::ServeFile::new(dir.join("index.html"))),
        ),
        _ => None,
    };
    axum::routing::any(move |request: axum::extract::Request| {
        let files = files.clone();
        let source = source.clone();
        async move {
            let path = request.uri().path();
            if ["/api", "/auth", "/graphql", "/internal"]
                .iter()
                .any(|p| path.starts_with(p))
            {
                return not_found();
            }
            match (source, files) {
                (Source::Disk(_), Some(files)) => match tower::ServiceExt::oneshot(files, request).await {
                    Ok(response) => response.into_response(),
                    Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
                },
                (Source::Embedded, _) => embedded(path),
                _ => not_built(),
            }
        }
    })
}
