//! The OpenAPI 3.1 document, generated from the route table: every route is registered
//! through [`Api`], which adds it to the axum router and to the document at once. Request and
//! response bodies are the handlers' own Rust types (`utoipa::ToSchema`): a route names its
//! body with [`Doc::body`] and its success answer with [`Doc::returns`] (commands answer
//! [`Outcome`] unless they say otherwise), and every refusal is a [`Problem`]. The document is
//! assembled with utoipa's typed builders. Served at `/openapi.json`, browsable at `/docs`.

use crate::error::Problem;
use crate::service::Outcome;
use crate::AppState;
use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::Router;
use std::collections::BTreeMap;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required, Response,
};
use utoipa::ToSchema;

/// A named schema and the ones it refers to, for the document's components.
type Schemas = Vec<(String, RefOr<Schema>)>;

/// `T`'s schema and every schema it refers to (`$ref`), so that every reference resolves.
fn schemas_of<T: ToSchema>() -> Schemas {
    let mut schemas = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut schemas);
    schemas
}

/// A JSON body: one schema of the components, or a list of them.
#[derive(Clone)]
struct BodyDoc {
    name: String,
    list: bool,
    schemas: Schemas,
}

impl std::fmt::Debug for BodyDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyDoc")
            .field("name", &self.name)
            .field("list", &self.list)
            .finish()
    }
}

impl BodyDoc {
    fn of<T: ToSchema>(list: bool) -> Self {
        Self {
            name: T::name().into_owned(),
            list,
            schemas: schemas_of::<T>(),
        }
    }

    fn schema(&self) -> RefOr<Schema> {
        let one = Ref::from_schema_name(self.name.clone());
        if self.list {
            ArrayBuilder::new().items(one).into()
        } else {
            one.into()
        }
    }
}

/// How one route is documented.
#[derive(Debug, Clone)]
pub struct Doc {
    summary: &'static str,
    tag: &'static str,
    request: Option<BodyDoc>,
    response: Option<BodyDoc>,
    created: bool,
    if_match: bool,
    public: bool,
    /// The body is a file's raw bytes, not JSON, and the handler bounds it itself (by a
    /// setting, read as it streams in) instead of the router's JSON body limit.
    upload: bool,
    /// The success answer is a file's bytes, not JSON.
    download: bool,
}

impl Doc {
    pub fn new(tag: &'static str, summary: &'static str) -> Self {
        Self {
            summary,
            tag,
            request: None,
            response: None,
            created: false,
            if_match: false,
            public: false,
            upload: false,
            download: false,
        }
    }

    /// The success answer is a file's raw bytes.
    pub fn download(mut self) -> Self {
        self.download = true;
        self
    }

    /// The body is a file's raw bytes, bounded by the handler.
    pub fn upload(mut self) -> Self {
        self.upload = true;
        self
    }

    /// The JSON body type.
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.request = Some(BodyDoc::of::<T>(false));
        self
    }

    /// The JSON type of the success answer (a command's is [`Outcome`] unless it says).
    pub fn returns<T: ToSchema>(mut self) -> Self {
        self.response = Some(BodyDoc::of::<T>(false));
        self
    }

    /// The success answer is a JSON array of `T`.
    pub fn returns_list<T: ToSchema>(mut self) -> Self {
        self.response = Some(BodyDoc::of::<T>(true));
        self
    }

    /// Success is 201 (a new resource, or a new entry).
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
    paths: BTreeMap<String, PathItem>,
    schemas: BTreeMap<String, RefOr<Schema>>,
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

/// A string parameter of the path or a header.
fn parameter(
    name: &str,
    place: ParameterIn,
    required: bool,
    max_length: Option<usize>,
    description: Option<&str>,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(if required { Required::True } else { Required::False })
        .schema(Some(
            ObjectBuilder::new().schema_type(Type::String).max_length(max_length),
        ))
        .description(description)
        .build()
}

/// A file's raw bytes.
fn binary() -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .build(),
    ))
}

impl Api {
    pub fn new() -> Self {
        let schemas = schemas_of::<Outcome>()
            .into_iter()
            .chain(schemas_of::<Problem>())
            .collect();
        Self {
            router: Router::new(),
            paths: BTreeMap::new(),
            schemas,
        }
    }

    /// Registers `handler` for `method path` and documents it.
    pub fn route<H, T>(mut self, method: MethodFilter, path: &str, handler: H, doc: Doc) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let route = on(method, handler);
        // The innermost limit wins over the router-wide one: an upload's handler reads the
        // body against its own bound as it arrives.
        let route = if doc.upload {
            route.layer(axum::extract::DefaultBodyLimit::disable())
        } else {
            route
        };
        self.router = self.router.route(path, route);
        let (verb, http) = match method {
            m if m == MethodFilter::GET => ("get", HttpMethod::Get),
            m if m == MethodFilter::PUT => ("put", HttpMethod::Put),
            m if m == MethodFilter::PATCH => ("patch", HttpMethod::Patch),
            m if m == MethodFilter::DELETE => ("delete", HttpMethod::Delete),
            _ => ("post", HttpMethod::Post),
        };
        let mut operation = OperationBuilder::new()
            .tag(doc.tag)
            .summary(Some(doc.summary))
            .operation_id(Some(format!("{verb}{}", path.replace(['/', '{', '}', '-'], "_"))));
        for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            operation = operation.parameter(parameter(name, ParameterIn::Path, true, None, None));
        }
        if http != HttpMethod::Get {
            operation = operation
                .parameter(parameter(
                    "Idempotency-Key",
                    ParameterIn::Header,
                    false,
                    Some(200),
                    Some("a retry with the same key returns the first answer and records nothing"),
                ))
                .parameter(parameter(
                    "If-Match",
                    ParameterIn::Header,
                    doc.if_match,
                    None,
                    Some("the version you act on, e.g. \"3\""),
                ));
        }
        if doc.upload {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/octet-stream", Content::new(Some(binary())))
                    .build(),
            ));
        }
        if let Some(request) = &doc.request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", Content::new(Some(request.schema())))
                    .build(),
            ));
        }
        // A GET names what it answers; a command answers its outcome unless it says otherwise.
        let success = doc
            .response
            .clone()
            .or_else(|| (http != HttpMethod::Get).then(|| BodyDoc::of::<Outcome>(false)));
        let described = if http == HttpMethod::Get { "ok" } else { "recorded" };
        let mut ok = Response::builder().description(described);
        if doc.download {
            ok = ok.content("application/octet-stream", Content::new(Some(binary())));
        } else if let Some(body) = &success {
            ok = ok.content("application/json", Content::new(Some(body.schema())));
        }
        operation = operation.response(if doc.created { "201" } else { "200" }, ok.build());
        let problem = Response::builder()
            .description("problem")
            .content(
                "application/problem+json",
                Content::new(Some(Ref::from_schema_name(Problem::name()))),
            )
            .build();
        let codes: &[&str] = if doc.public {
            &["400"]
        } else {
            &["400", "401", "403", "404", "409", "413", "422", "428"]
        };
        for code in codes {
            operation = operation.response(*code, problem.clone());
        }
        if doc.public {
            operation = operation.securities(Some(Vec::<SecurityRequirement>::new()));
        }
        for body in doc.request.into_iter().chain(success) {
            self.schemas.extend(body.schemas);
        }
        let operation = operation.build();
        match self.paths.get_mut(path) {
            Some(item) => item.merge_operations(PathItem::new(http, operation)),
            None => {
                self.paths.insert(path.to_owned(), PathItem::new(http, operation));
            }
        }
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
    pub fn finish(self) -> (Router<AppState>, OpenApi) {
        let info = InfoBuilder::new()
            .title("ERP 전자결재 command API")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(
                "Commands on approval documents, the organisation and leave. Every success answers with the resource version (send it back as If-Match) and a log position token that queries can wait for.",
            ))
            .build();
        let mut components = ComponentsBuilder::new().security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for (name, schema) in self.schemas {
            components = components.schema(name, schema);
        }
        let mut paths = Paths::new();
        paths.paths = self.paths.into_iter().collect();
        let document = OpenApiBuilder::new()
            .info(info)
            .components(Some(components.build()))
            .security(Some([SecurityRequirement::new("bearer", Vec::<String>::new())]))
            .paths(paths)
            .build();
        (self.router, document)
    }
}

/// A dependency-free page that renders the document: method, path, summary, the body and
/// answer schemas.
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
      const named=s=>(s?.$ref??s?.items?.$ref)?.split('/').pop();
      const show=(title,name)=>name?`<p>${title}: <code>${esc(name)}</code></p><pre>${esc(JSON.stringify(doc.components.schemas[name],null,2))}</pre>`:'';
      const ok=op.responses['200']??op.responses['201'];
      html+=`<details><summary><code class="m">${verb.toUpperCase()}</code><code>${esc(path)}</code> — ${esc(op.summary)}</summary>`+
        `<p>Responses: ${Object.keys(op.responses).join(', ')}</p>`+
        show('Body',named(op.requestBody?.content['application/json'].schema))+
        show('Answer',named(ok?.content?.['application/json']?.schema))+`</details>`;
    }
  }
  document.getElementById('api').innerHTML=html;
});
"#;
