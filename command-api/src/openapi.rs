//! The OpenAPI 3.1 document, generated from the route table: every route is registered
//! through [`Api`], which adds it to the axum router and to the document at once, with its
//! request schema derived from the Rust type (`utoipa::ToSchema`). Served at `/openapi.json`,
//! browsable at `/docs`.

use crate::AppState;
use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::Router;
use serde_json::{json, Map, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// How one route is documented.
#[derive(Debug, Clone)]
pub struct Doc {
    summary: &'static str,
    tag: &'static str,
    request: Option<(String, Value)>,
    /// The schemas the request schema refers to (`$ref`), so that every reference resolves.
    referenced: Vec<(String, Value)>,
    created: bool,
    if_match: bool,
    public: bool,
}

impl Doc {
    pub fn new(tag: &'static str, summary: &'static str) -> Self {
        Self {
            summary,
            tag,
            request: None,
            referenced: Vec::new(),
            created: false,
            if_match: false,
            public: false,
        }
    }

    /// The JSON body type.
    pub fn body<T: ToSchema + PartialSchema>(mut self) -> Self {
        let schema: RefOr<Schema> = T::schema();
        self.request = Some((
            T::name().into_owned(),
            serde_json::to_value(schema).unwrap_or(Value::Null),
        ));
        let mut referenced = Vec::new();
        T::schemas(&mut referenced);
        self.referenced = referenced
            .into_iter()
            .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or(Value::Null)))
            .collect();
        self
    }

    pub fn created(mut self) -> Self {
        self.created = true;
        self
    }

    /// The route acts on a document version (`If-Match` required).
    pub fn if_match(mut self) -> Self {
        self.if_match = true;
        self
    }

    /// No bearer token needed.
    pub fn public(mut self) -> Self {
        self.public = true;
        self
    }
}

/// Router and OpenAPI document, built together.
pub struct Api {
    router: Router<AppState>,
    paths: Map<String, Value>,
    schemas: Map<String, Value>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("paths", &self.paths.len()).finish()
    }
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl Api {
    pub fn new() -> Self {
        let mut schemas = Map::new();
        schemas.insert(
            "Outcome".into(),
            serde_json::to_value(crate::service::Outcome::schema()).unwrap_or(Value::Null),
        );
        schemas.insert(
            "Problem".into(),
            json!({
                "type": "object",
                "description": "RFC 9457 problem details with a stable `code`.",
                "required": ["type", "title", "status", "code", "detail"],
                "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "code": {"type": "string"}, "detail": {"type": "string"},
                    "current_version": {"type": "integer", "description": "on 409 version conflicts"},
                    "errors": {"type": "array", "items": {"type": "object"}, "description": "on 422 invalid bodies"}
                }
            }),
        );
        Self {
            router: Router::new(),
            paths: Map::new(),
            schemas,
        }
    }

    /// Registers `handler` for `method path` and documents it.
    pub fn route<H, T>(mut self, method: MethodFilter, path: &str, handler: H, doc: Doc) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, on(method, handler));
        let verb = match method {
            m if m == MethodFilter::GET => "get",
            m if m == MethodFilter::PUT => "put",
            m if m == MethodFilter::PATCH => "patch",
            m if m == MethodFilter::DELETE => "delete",
            _ => "post",
        };
        let mut parameters: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if verb != "get" {
            parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 200}, "description": "a retry with the same key returns the first answer and records nothing"}));
            parameters.push(json!({"name": "If-Match", "in": "header", "required": doc.if_match, "schema": {"type": "string"}, "description": "the version you act on, e.g. \"3\""}));
        }
        let problem = json!({"description": "problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
        let success = if verb == "get" {
            json!({"description": "ok", "content": {"application/json": {}}})
        } else {
            json!({"description": "recorded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}}})
        };
        let mut responses = Map::new();
        responses.insert(if doc.created { "201" } else { "200" }.into(), success);
        let codes: &[&str] = if doc.public {
            &["400"]
        } else {
            &["400", "401", "403", "404", "409", "413", "422", "428"]
        };
        for code in codes {
            responses.insert((*code).into(), problem.clone());
        }
        let mut operation = json!({
            "tags": [doc.tag],
            "summary": doc.summary,
            "operationId": format!("{verb}{}", path.replace(['/', '{', '}', '-'], "_")),
            "parameters": parameters,
            "responses": responses,
        });
        if doc.public {
            operation["security"] = json!([]);
        }
        if let Some((name, schema)) = doc.request {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
            self.schemas.insert(name, schema);
        }
        self.schemas.extend(doc.referenced);
        let item = self.paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        item[verb] = operation;
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.route(MethodFilter::GET, path, handler, doc)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.route(MethodFilter::POST, path, handler, doc)
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.route(MethodFilter::PUT, path, handler, doc)
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.route(MethodFilter::PATCH, path, handler, doc)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.route(MethodFilter::DELETE, path, handler, doc)
    }

    /// The router and the finished document.
    pub fn finish(self) -> (Router<AppState>, Value) {
        let document = json!({
            "openapi": "3.1.0",
            "info": {
                "title": "ERP 전자결재 command API",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "Commands on approval documents, the organisation and leave. Every success answers with the resource version (send it back as If-Match) and a log position token that queries can wait for."
            },
            "components": {
                "schemas": self.schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
            "security": [{"bearer": []}],
            "paths": self.paths,
        });
        (self.router, document)
    }
}

/// A dependency-free page that renders the document: method, path, summary, body schema.
pub const VIEWER: &str = r#"<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>ERP 전자결재 API</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}h2{margin-top:2rem}
details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.4rem .8rem}summary{cursor:pointer}
code.m{display:inline-block;width:4.5rem;font-weight:bold}pre{background:#f6f6f6;padding:.6rem;overflow:auto}</style></head>
<body><h1>ERP 전자결재 — command API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p><div id="api">loading…</div>
<script src="/docs.js"></script></body></html>"#;

/// The viewer's script (`/docs.js`): the page's Content-Security-Policy allows no inline script.
pub const VIEWER_SCRIPT: &str = r#"fetch('/openapi.json').then(r=>r.json()).then(doc=>{
  const byTag={};
  for(const [path,item] of Object.entries(doc.paths)) for(const [verb,op] of Object.entries(item)) (byTag[op.tags[0]]??=[]).push({path,verb,op});
  const esc=s=>String(s).replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  let html='';
  for(const [tag,ops] of Object.entries(byTag)){
    html+=`<h2>${esc(tag)}</h2>`;
    for(const {path,verb,op} of ops){
      const ref=op.requestBody?.content['application/json'].schema.$ref?.split('/').pop();
      const schema=ref?`<pre>${esc(JSON.stringify(doc.components.schemas[ref],null,2))}</pre>`:'';
      html+=`<details><summary><code class="m">${verb.toUpperCase()}</code><code>${esc(path)}</code> — ${esc(op.summary)}</summary>`+
        `<p>Responses: ${Object.keys(op.responses).join(', ')}</p>${schema}</details>`;
    }
  }
  document.getElementById('api').innerHTML=html;
});
"#;
