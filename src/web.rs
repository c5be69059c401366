//! The web app at `/` of `erp up`: the built SPA with `index.html` for every path it does not
//! know (client-side routes), and a page saying how to build it when it is missing. API paths
//! never fall through to the app: an unknown one stays a problem+json 404.

use std::path::PathBuf;

/// The built SPA (`web/dist`, or `ERP_WEB_DIR`), with `index.html` for every path it does
/// not know (client-side routes); a page saying how to build it when it is missing. API
/// paths never fall through to the app: an unknown one stays a problem+json 404.
pub fn app() -> axum::routing::MethodRouter {
    use axum::response::IntoResponse;
    let dist = std::env::var_os("ERP_WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("web/dist"));
    let index = dist.join("index.html");
    let built = index.is_file();
    if !built {
        tracing::warn!(dir = %dist.display(), "the web app is not built; run scripts/up (or npm run build in web/)");
    }
    let files = tower_http::services::ServeDir::new(&dist).fallback(tower_http::services::ServeFile::new(index));
    axum::routing::any(move |request: axum::extract::Request| {
        let files = files.clone();
        async move {
            let path = request.uri().path();
            if ["/api", "/auth", "/graphql", "/internal"]
                .iter()
                .any(|p| path.starts_with(p))
            {
                let body = serde_json::json!({ "type": "about:blank", "title": "Not Found", "status": 404,
                                              "code": "not_found", "detail": "no such route" });
                return (
                    axum::http::StatusCode::NOT_FOUND,
                    [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
                    body.to_string(),
                )
                    .into_response();
            }
            if !built {
                return axum::response::Html(
                    "<h1>ERP 전자결재</h1><p>The web app is not built yet: run <code>scripts/up</code>, or \
                     <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then restart. \
                     The APIs are up: <a href=\"/docs\">/docs</a>, <a href=\"/graphiql\">/graphiql</a>.</p>",
                )
                .into_response();
            }
            match tower::ServiceExt::oneshot(files, request).await {
                Ok(response) => response.into_response(),
                Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            }
        }
    })
}
