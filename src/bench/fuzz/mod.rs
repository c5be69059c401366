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
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

static PANICS: AtomicUsize = AtomicUsize::new(0);

mod bodies;
mod corpus;
mod rng;

use bodies::body;
use corpus::Corpus;
use rng::Rng;

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
    let (url, _dir, _) = crate::bench::harness::start_server(None).await?;
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
        tokens.push(crate::bench::harness::login(http, url, who.0).await?);
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
