//! `erp bench fuzz`: random and mutated requests to every route of the command API, on an
//! in-process server over a fresh embedded log with the demo company. The routes and their
//! body schemas come from the server's own `/openapi.json`, so a new route is fuzzed without
//! touching this file. Bodies start from the schema and are then mutated (fields dropped,
//! added, retyped; huge, deep, non-UTF-8 or truncated JSON); paths get real, random and
//! malformed ids; headers get valid, forged and garbage tokens, `If-Match`,
//! `Idempotency-Key` and content types. Seeded: the same `--seed` sends the same requests.
//!
//! Bad input must be refused with a 4xx problem document: the run fails (exit 2) on any
//! panic (counted by a panic hook, wherever in the process it happens), any 5xx, or any
//! dropped connection, and prints the first few offenders.

use anyhow::Context;
use command_api::seed::{DEV, DEV_KANG, DEV_YOON, HR, PLATFORM, PLATFORM_LEAD};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// SplitMix64: small, seeded, good enough to pick among choices.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What the server knows, for requests that get past validation.
struct Corpus {
    routes: Vec<(String, String)>,
    schemas: Map<String, Value>,
    bodies: BTreeMap<(String, String), String>,
    tokens: Vec<String>,
    ids: Vec<String>,
    /// The form templates (`/api/forms`): document bodies typed by their fields.
    forms: Vec<Value>,
}

/// What came back.
#[derive(Debug, Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    dropped: usize,
    unsendable: usize,
    retried: usize,
    offenders: Vec<String>,
}

pub async fn run(requests: usize, seed: u64, concurrency: usize) -> anyhow::Result<()> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let (url, _dir, _) = crate::bench::start_server(None).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let corpus = Arc::new(corpus(&http, &url).await?);
    println!(
        "command API fuzz — {url}: {} routes, {requests} requests, seed {seed}, {concurrency} at a time",
        corpus.routes.len()
    );
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = std::time::Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency.max(1) {
        let (http, url, corpus, tally) = (http.clone(), url.clone(), corpus.clone(), tally.clone());
        let share = requests / concurrency.max(1) + usize::from(worker < requests % concurrency.max(1));
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ (worker as u64).wrapping_mul(0xA24B_AED4_963E_E407));
            for _ in 0..share {
                let (label, request) = request(&mut rng, &http, &url, &corpus);
                let retry = request.try_clone();
                let mut outcome = send(request).await;
                // A pooled connection the server closed after an earlier answer (it answered
                // without reading that request's body) fails before this request reached it:
                // any client retries that once, on a fresh connection.
                let mut reused = false;
                if let (Err(e), Some(retry)) = (&outcome, retry) {
                    if e.is_request() && !e.is_timeout() {
                        reused = true;
                        outcome = send(retry).await;
                    }
                }
                let Ok(mut tally) = tally.lock() else { return };
                tally.retried += usize::from(reused);
                match outcome {
                    Ok((status, body)) => {
                        *tally.statuses.entry(status).or_default() += 1;
                        if status >= 500 && tally.offenders.len() < 10 {
                            tally.offenders.push(format!(
                                "{status} {label}: {}",
                                body.chars().take(300).collect::<String>()
                            ));
                        }
                    }
                    // Headers or a URL reqwest will not send: the server never saw it.
                    Err(e) if e.is_builder() => tally.unsendable += 1,
                    Err(e) => {
                        tally.dropped += 1;
                        if tally.offenders.len() < 10 {
                            let mut cause = e.to_string();
                            let mut source = std::error::Error::source(&e);
                            while let Some(inner) = source {
                                cause.push_str(&format!(": {inner}"));
                                source = inner.source();
                            }
                            tally.offenders.push(format!("no answer {label}: {cause}"));
                        }
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.context("a fuzz worker failed")?;
    }
    let tally = tally.lock().map_err(|_| anyhow::anyhow!("tally poisoned"))?;
    let sent: usize = tally.statuses.values().sum::<usize>() + tally.dropped;
    let server_errors: usize = tally.statuses.range(500..).map(|(_, n)| n).sum();
    let panics = PANICS.load(Ordering::SeqCst);
    println!("requests sent  {sent} in {:.1} s", started.elapsed().as_secs_f64());
    let histogram: Vec<String> = tally.statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!("statuses       {}", histogram.join(", "));
    println!("panics         {panics}");
    println!("5xx            {server_errors}");
    println!("no answer      {}", tally.dropped);
    println!(
        "retried        {} (a kept-alive connection closed under the request)",
        tally.retried
    );
    if tally.unsendable > 0 {
        println!("not sendable   {} (the client refused to build them)", tally.unsendable);
    }
    for offender in &tally.offenders {
        println!("  {offender}");
    }
    anyhow::ensure!(
        panics == 0 && server_errors == 0 && tally.dropped == 0,
        "the command API panicked, failed or dropped a connection on fuzzed input"
    );
    Ok(())
}

/// Sends a request and reads the whole answer.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, String), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.unwrap_or_default()))
}

/// Logs in three users, makes a few documents, reads the route table and body schemas.
async fn corpus(http: &reqwest::Client, url: &str) -> anyhow::Result<Corpus> {
    let mut tokens = Vec::new();
    for who in [HR, DEV_KANG, PLATFORM_LEAD] {
        tokens.push(crate::bench::login(http, url, who.0).await?);
    }
    let mut ids: Vec<String> = [HR.0, DEV_KANG.0, PLATFORM_LEAD.0, DEV_YOON.0, DEV.0, PLATFORM.0]
        .iter()
        .map(ToString::to_string)
        .collect();
    for i in 0..4 {
        let body = json!({ "form": "general", "title": format!("fuzz {i}"), "body": { "content": "x" },
                           "line": { "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0 }] } });
        let draft: Value = http
            .post(format!("{url}/api/approvals"))
            .bearer_auth(&tokens[1])
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = draft["id"].as_str().context("draft id")?.to_owned();
        if i % 2 == 0 {
            http.post(format!("{url}/api/approvals/{id}/submit"))
                .bearer_auth(&tokens[1])
                .header("if-match", "\"1\"")
                .json(&json!({}))
                .send()
                .await?;
        }
        ids.push(id);
    }
    let doc: Value = http.get(format!("{url}/openapi.json")).send().await?.json().await?;
    let mut routes = Vec::new();
    let mut bodies = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().context("openapi paths")? {
        for (method, op) in item.as_object().into_iter().flatten() {
            routes.push((method.to_uppercase(), path.clone()));
            let schema = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str();
            if let Some(name) = schema.and_then(|r| r.rsplit('/').next()) {
                bodies.insert((method.to_uppercase(), path.clone()), name.to_owned());
            }
        }
    }
    routes.sort();
    let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let forms: Value = http
        .get(format!("{url}/api/forms"))
        .bearer_auth(&tokens[1])
        .send()
        .await?
        .json()
        .await?;
    Ok(Corpus {
        routes,
        schemas,
        bodies,
        tokens,
        ids,
        forms: forms.as_array().cloned().unwrap_or_default(),
    })
}

const JUNK_SEGMENTS: &[&str] = &[
    "",
    "x",
    "..",
    "%2e%2e",
    "%00",
    "%ff%fe",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "0190a3b4-zzzz-7000-8000-000000000001",
    "%F0%9F%98%80",
    "-1",
    "1e999",
    "null",
    "%20",
    "a;b=c",
];

const JUNK_HEADERS: &[&str] = &[
    "",
    " ",
    "\"\"",
    "W/\"3\"",
    "\"3\"",
    "99999999999999999999",
    "-1",
    "*",
    "\"1\", \"2\"",
    "W/",
    "abc",
    "Bearer",
    "Bearer ",
    "Bearer a.b.c",
    "Basic Zm9vOmJhcg==",
    "bearer eyJhbGciOiJub25lIn0.e30.",
];

/// One request: a label for the report, and the request itself.
fn request(rng: &mut Rng, http: &reqwest::Client, url: &str, corpus: &Corpus) -> (String, reqwest::RequestBuilder) {
    let (mut method, template) = rng.pick(&corpus.routes).clone();
    let schema = corpus.bodies.get(&(method.clone(), template.clone())).cloned();
    if rng.chance(8) {
        method = rng
            .pick(&["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
            .to_string();
    }
    let path = if rng.chance(5) {
        format!(
            "/{}/{}",
            rng.pick(&["api", "auth", "internal", "docs", "api/approvals"]),
            rng.pick(JUNK_SEGMENTS)
        )
    } else {
        fill_path(rng, &template, &corpus.ids)
    };
    let mut label = format!("{method} {path}");
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = http.request(method, format!("{url}{path}"));
    builder = match rng.below(10) {
        0 => builder,
        1 => builder.header("authorization", *rng.pick(JUNK_HEADERS)),
        2 => {
            let token = rng.pick(&corpus.tokens).clone();
            builder.bearer_auth(tamper(rng, &token))
        }
        _ => builder.bearer_auth(rng.pick(&corpus.tokens)),
    };
    if rng.chance(50) {
        let version = if rng.chance(60) {
            format!("\"{}\"", 1 + rng.below(6))
        } else {
            rng.pick(JUNK_HEADERS).to_string()
        };
        builder = builder.header("if-match", version);
    }
    if rng.chance(25) {
        builder = match rng.below(4) {
            0 => builder.header("idempotency-key", "k".repeat(1 + rng.below(300))),
            1 => builder.header(
                "idempotency-key",
                reqwest::header::HeaderValue::from_bytes(&[0xC3, 0xA9, b'k', 0xFF])
                    .unwrap_or(reqwest::header::HeaderValue::from_static("k")),
            ),
            _ => builder.header("idempotency-key", format!("key-{}", rng.below(20))),
        };
    }
    if rng.chance(10) {
        builder = builder.header("x-request-id", *rng.pick(JUNK_HEADERS));
    }
    if rng.chance(10) {
        builder = builder.header("traceparent", *rng.pick(JUNK_HEADERS));
    }
    let content_type = match rng.below(12) {
        0 => None,
        1 => Some("text/plain"),
        2 => Some("application/json; charset=utf-16"),
        3 => Some("multipart/form-data; boundary=x"),
        _ => Some("application/json"),
    };
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    let body = body(rng, schema.as_deref(), corpus);
    label.push_str(&format!(" ({} byte body)", body.len()));
    (label, builder.body(body))
}

/// The template with each `{param}` replaced: mostly real ids, sometimes random or malformed.
fn fill_path(rng: &mut Rng, template: &str, ids: &[String]) -> String {
    template
        .split('/')
        .map(|segment| {
            if !segment.starts_with('{') {
                return segment.to_owned();
            }
            match rng.below(10) {
                0..=5 => rng.pick(ids).clone(),
                6 => uuid::Uuid::now_v7().to_string(),
                7 => "9".repeat(1 + rng.below(400)),
                _ => rng.pick(JUNK_SEGMENTS).to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A token with one character changed, cut short, or with its signature dropped.
fn tamper(rng: &mut Rng, token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    match rng.below(3) {
        0 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        }
        1 => bytes.truncate(rng.below(bytes.len().max(1))),
        _ => {
            if let Some(dot) = bytes.iter().rposition(|b| *b == b'.') {
                bytes.truncate(dot + 1);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A body: from the route's schema, mutated or not; or raw junk.
fn body(rng: &mut Rng, schema: Option<&str>, corpus: &Corpus) -> Vec<u8> {
    let structured = match schema {
        Some(name) if rng.chance(85) => from_schema(
            rng,
            &json!({ "$ref": format!("#/components/schemas/{name}") }),
            corpus,
            0,
        ),
        _ if rng.chance(50) => json!({}),
        _ => random_value(rng, 0),
    };
    let mut value = structured;
    if let Some(object) = value.as_object_mut().filter(|o| o.contains_key("body")) {
        if !corpus.forms.is_empty() && rng.chance(70) {
            let form = rng.pick(&corpus.forms);
            if object.contains_key("form") {
                object.insert("form".into(), form["id"].clone());
            }
            object.insert("body".into(), form_body(rng, form));
        }
    }
    for _ in 0..rng.below(4) {
        mutate(rng, &mut value, 0);
    }
    let text = value.to_string();
    match rng.below(20) {
        0 => text.as_bytes()[..rng.below(text.len().max(1))].to_vec(),
        1 => vec![0xFF, 0xFE, b'{', 0x80, b'}'],
        2 => format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        3 => Vec::new(),
        4 => format!("{text}{text}").into_bytes(),
        _ => text.into_bytes(),
    }
}

/// A value that fits a JSON schema (as utoipa writes them), resolving `$ref`s.
fn from_schema(rng: &mut Rng, schema: &Value, corpus: &Corpus, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return match corpus.schemas.get(name) {
            Some(s) => from_schema(rng, s, corpus, depth + 1),
            None => Value::Null,
        };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array().filter(|o| !o.is_empty()) {
            let option = rng.pick(options);
            return from_schema(rng, option, corpus, depth + 1);
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(o) = from_schema(rng, part, corpus, depth + 1) {
                merged.extend(o);
            }
        }
        return Value::Object(merged);
    }
    if let Some(options) = schema["enum"].as_array().filter(|o| !o.is_empty()) {
        return rng.pick(options).clone();
    }
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    let kind = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null" || rng.chance(10))
            .unwrap_or("null")
            .to_owned(),
        _ if schema["properties"].is_object() => "object".into(),
        _ => return random_value(rng, depth),
    };
    match kind.as_str() {
        "object" => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut object = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if required.contains(&name.as_str()) || rng.chance(60) {
                    object.insert(name.clone(), from_schema(rng, property, corpus, depth + 1));
                }
            }
            Value::Object(object)
        }
        "array" => Value::Array(
            (0..rng.below(4))
                .map(|_| from_schema(rng, &schema["items"], corpus, depth + 1))
                .collect(),
        ),
        "string" => match schema["format"].as_str() {
            Some("uuid") => json!(rng.pick(&corpus.ids)),
            Some("date-time") => json!(chrono::Utc::now() + chrono::Duration::hours(rng.below(48) as i64 - 24)),
            Some("date") => json!(format!("2026-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))),
            // Decimals travel as strings: sometimes one from the edge of the range.
            _ if rng.chance(30) => decimal(rng),
            _ => json!(rng
                .pick(&["결재", "x", "50000", "1.5", "general", "expense", "2026-03-02", ""])
                .to_string()),
        },
        "integer" => json!(rng.below(2030) as i64 - 5),
        "number" => json!(rng.below(100_000) as f64 / 10.0),
        "boolean" => json!(rng.chance(50)),
        _ => Value::Null,
    }
}

/// A document body for `form`, each field typed by its kind, with extreme values now and then.
fn form_body(rng: &mut Rng, form: &Value) -> Value {
    let mut body = Map::new();
    for field in form["fields"].as_array().into_iter().flatten() {
        if !field["required"].as_bool().unwrap_or(false) && rng.chance(30) {
            continue;
        }
        let kind = &field["kind"];
        let value = match kind["type"].as_str().unwrap_or_default() {
            "number" | "money" => decimal(rng),
            "date" => json!(format!("2026-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))),
            "date_range" => json!({ "start": "2026-03-02", "end": format!("2026-03-{:02}", 1 + rng.below(28)) }),
            "select" => match kind["options"].as_array().filter(|o| !o.is_empty()) {
                Some(options) if rng.chance(80) => rng.pick(options).clone(),
                _ => json!("not-an-option"),
            },
            "line_items" => Value::Array(
                (0..rng.below(4))
                    .map(|_| json!({ "description": "품목", "quantity": decimal(rng), "unit_price": decimal(rng) }))
                    .collect(),
            ),
            _ => json!(rng.pick(&["본문", "", "x"]).to_string()),
        };
        body.insert(field["key"].as_str().unwrap_or("x").to_owned(), value);
    }
    Value::Object(body)
}

/// A decimal as the API takes it (string or number), from ordinary to the edge of the range.
fn decimal(rng: &mut Rng) -> Value {
    const DECIMALS: &[&str] = &[
        "1",
        "0",
        "-1",
        "0.5",
        "50000",
        "3",
        "1e5",
        " 7 ",
        "-0",
        "0.0000000000000000000000000001",
        "12345678901234.5678",
        "9999999999999999999999999999",
        "79228162514264337593543950335",
        "79228162514264337593543950336",
    ];
    match rng.below(4) {
        0 => json!(rng.below(1_000_000)),
        1 => json!(1e30),
        _ => json!(rng.pick(DECIMALS).to_string()),
    }
}

/// Any JSON value, sometimes extreme.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 8 } else { 10 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.pick(&[0i64, -1, i64::MAX, i64::MIN, 1 << 53])),
        3 => json!(rng.pick(&[0.5f64, -1e308, 1e308, 1e-300])),
        4 => json!(rng
            .pick(&[
                "",
                " ",
                "\u{0}",
                "😀",
                "가".repeat(2000).as_str(),
                "<script>",
                "1e999",
                "NaN"
            ])
            .to_string()),
        5 => json!(uuid::Uuid::now_v7()),
        6 => json!("9".repeat(1 + rng.below(400))),
        7 => json!(format!("2026-{:02}-31", rng.below(14))),
        8 => Value::Array((0..rng.below(5)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => {
            let mut object = Map::new();
            for i in 0..rng.below(5) {
                object.insert(format!("k{i}"), random_value(rng, depth + 1));
            }
            Value::Object(object)
        }
    }
}

/// Drops, adds or replaces something somewhere in `value`.
fn mutate(rng: &mut Rng, value: &mut Value, depth: usize) {
    match value {
        Value::Object(object) if !object.is_empty() && depth < 6 => {
            let key = rng.pick(&object.keys().cloned().collect::<Vec<_>>()).clone();
            match rng.below(4) {
                0 => {
                    object.remove(&key);
                }
                1 => {
                    object.insert(format!("unknown_{}", rng.below(9)), random_value(rng, 0));
                }
                2 => {
                    object.insert(key, random_value(rng, 0));
                }
                _ => {
                    if let Some(inner) = object.get_mut(&key) {
                        mutate(rng, inner, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && depth < 6 => {
            let i = rng.below(items.len());
            if rng.chance(30) {
                items.remove(i);
            } else if rng.chance(30) {
                let copy = items[i].clone();
                items.extend(std::iter::repeat_n(copy, 1 + rng.below(60)));
            } else {
                mutate(rng, &mut items[i], depth + 1);
            }
        }
        other => *other = random_value(rng, depth),
    }
}
