//! Live updates end to end: the command API, the projector publishing on a real Redis, and two
//! notifier instances, each subscribing to Redis on its own connection. A graphql-ws client
//! (`graphql-transport-ws` over tokio-tungstenite) checks delivery across instances, the
//! protocol's close codes, resume without gaps or duplicates, slow-consumer resync, that
//! nobody receives another user's document, the bounds per connection and per user, and that
//! a revoked delegation, a lost role or a deactivation reaches open connections in seconds.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use command_api::seed::{
    demo_policy, seed_if_empty, AUDITOR, DEV_HEAD, DEV_KANG, DEV_YOON, HR, PLATFORM_LEAD, SALES_HEAD, SALES_OH,
};
use command_api::{AuthState, Settings};
use futures::{SinkExt, StreamExt};
use infra::auth::LocalSigner;
use infra::bus::{Change, ChangeBus, RedisBus};
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{EventLog, Upcasters};
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::FeedEntry;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Message;
use uuid::Uuid;

fn redis_url() -> String {
    std::env::var("ERP_TEST_REDIS").unwrap_or_else(|_| panic!("ERP_TEST_REDIS is not set: run scripts/test"))
}

struct System {
    api: String,
    notifiers: Vec<String>,
    http: reqwest::Client,
    projector: projector::Projector,
    /// A publisher of our own on the same channel (slow-consumer test).
    bus: RedisBus,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn serve(router: axum::Router) -> u16 {
    let app = command_api::Application::bind("127.0.0.1:0".parse().unwrap(), router)
        .await
        .unwrap();
    let port = app.port();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    port
}

async fn system(config: notifier::NotifierConfig) -> System {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(dir.path().join("log"), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    let signer = LocalSigner::from_seed(&[42; 32], "erp-embedded", "erp");
    let verifier = Arc::new(signer.verifier());
    let settings = Settings {
        dev_login: true,
        policy: demo_policy(),
        ..Settings::default()
    };
    let auth = AuthState {
        verifier: signer.verifier(),
        signer: Some(signer),
    };
    let (state, router) = command_api::build(log.clone(), auth, settings);
    seed_if_empty(&state).await.map_err(|e| e.detail).unwrap();
    let api = format!("http://127.0.0.1:{}", serve(router).await);

    // Each test has its own channel on the shared Redis.
    let channel = format!("erp.test.{}", Uuid::now_v7().simple());
    let store = SqlReadModel::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("read.db").display()))
        .await
        .unwrap();
    let projector = projector::Projector::new(log, store)
        .with_bus(Arc::new(RedisBus::connect(&redis_url(), &channel).await.unwrap()));
    // Seeded history first, so tests only see what they cause.
    for p in infra::readmodel::Projection::ALL {
        projector.catch_up(p).await.unwrap();
    }
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    projector.spawn_all(stop);
    let mut notifiers = Vec::new();
    for _ in 0..2 {
        let sources = notifier::Sources {
            bus: Arc::new(RedisBus::connect(&redis_url(), &channel).await.unwrap()),
            views: projector.views().clone(),
            org: projector.store().clone(),
        };
        let router = notifier::router(sources, verifier.clone(), config.clone());
        notifiers.push(format!("ws://127.0.0.1:{}/graphql/ws", serve(router).await));
    }
    System {
        api,
        notifiers,
        http: reqwest::Client::new(),
        projector,
        bus: RedisBus::connect(&redis_url(), &channel).await.unwrap(),
        _stop: stop_tx,
        _dir: dir,
    }
}

impl System {
    async fn login(&self, who: domain::ids::EmployeeId) -> String {
        let reply: Value = self
            .http
            .post(format!("{}/auth/dev-login", self.api))
            .json(&json!({ "employee_id": who.0 }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["token"].as_str().unwrap().to_owned()
    }

    async fn command(&self, token: &str, path: &str, version: Option<u64>, body: Value) -> Value {
        self.send(reqwest::Method::POST, token, path, version, body).await
    }

    async fn send(&self, method: reqwest::Method, token: &str, path: &str, version: Option<u64>, body: Value) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(token)
            .json(&body);
        if let Some(v) = version {
            request = request.header("if-match", format!("\"{v}\""));
        }
        let reply = request.send().await.unwrap();
        let status = reply.status();
        let body: Value = reply.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// KANG drafts and submits a document to the platform lead; returns its id.
    async fn submitted(&self, kang: &str, title: &str) -> String {
        let draft = json!({ "form": "general", "title": title, "body": { "content": "본문" },
                            "line": { "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0 }] } });
        let id = self.command(kang, "/api/approvals", None, draft).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.command(kang, &format!("/api/approvals/{id}/submit"), Some(1), json!({}))
            .await;
        id
    }

    async fn settle(&self) {
        for _ in 0..200 {
            if self.projector.lag().await.unwrap().iter().all(|l| l.events_behind == 0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("projections did not catch up");
    }
}

/// A graphql-transport-ws client.
struct Client {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

#[derive(Debug, PartialEq)]
enum Received {
    Message(Value),
    Closed(u16, String),
    Nothing,
}

impl Client {
    async fn connect(url: &str) -> Self {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            "graphql-transport-ws"
        );
        Self { ws }
    }

    async fn send(&mut self, value: Value) {
        self.ws.send(Message::Text(value.to_string().into())).await.unwrap();
    }

    /// The next protocol message other than a ping (answered), or a close, within `wait`.
    async fn receive(&mut self, wait: Duration) -> Received {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return Received::Nothing,
                Ok(None) => return Received::Closed(1006, "gone".into()),
                Ok(Some(Err(e))) => return Received::Closed(1006, e.to_string()),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame.map_or(Received::Closed(1005, String::new()), |f| {
                        Received::Closed(f.code.into(), f.reason.to_string())
                    })
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Received::Message(value);
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    async fn init(url: &str, token: &str) -> Self {
        let mut client = Self::connect(url).await;
        client
            .send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        assert_eq!(
            client.receive(Duration::from_secs(5)).await,
            Received::Message(json!({ "type": "connection_ack" }))
        );
        client
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next `next` payload's data field for subscription `id`.
    async fn next(&mut self, id: &str, field: &str) -> Value {
        loop {
            match self.receive(Duration::from_secs(10)).await {
                Received::Message(m) if m["type"] == "next" && m["id"] == id => {
                    return m["payload"]["data"][field].clone();
                }
                Received::Message(m) if m["id"] == id => panic!("unexpected {m}"),
                Received::Message(_) => continue,
                other => panic!("expected a next for {id}, got {other:?}"),
            }
        }
    }
}

const NOTIFICATIONS: &str = "subscription($after: String) { myNotifications(after: $after) { resync replayed cursor position correlationId id documentId kind title } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_on_one_side_reaches_a_subscriber_on_the_other() {
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead) = (s.login(DEV_KANG).await, s.login(PLATFORM_LEAD).await);
    let mut drafter = Client::init(&s.notifiers[1], &kang).await;
    drafter.subscribe("feed", NOTIFICATIONS, json!({})).await;
    drafter
        .subscribe(
            "inbox",
            "subscription { inboxChanged { documentId status events counts { inbox count } } }",
            json!({}),
        )
        .await;
    let mut approver = Client::init(&s.notifiers[0], &lead).await;
    approver.subscribe("feed", NOTIFICATIONS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let id = s.submitted(&kang, "실시간 알림 확인").await;
    let request = approver.next("feed", "myNotifications").await;
    assert_eq!(
        (request["documentId"].as_str(), request["kind"].as_str()),
        (Some(id.as_str()), Some("APPROVAL_REQUESTED"))
    );

    let sent = Instant::now();
    let approved = s
        .command(
            &lead,
            &format!("/api/approvals/{id}/approve"),
            Some(2),
            json!({ "comment": "승인" }),
        )
        .await;
    let note = drafter.next("feed", "myNotifications").await;
    println!("command → push on the other instance: {:?}", sent.elapsed());
    assert_eq!(
        (note["documentId"].as_str(), note["kind"].as_str()),
        (Some(id.as_str()), Some("APPROVED"))
    );
    assert_eq!(note["resync"], false);
    assert!(note["position"].as_str().unwrap().starts_with("approval:"), "{note}");
    assert_eq!(
        note["position"].as_str(),
        approved["position"].as_str(),
        "the push names the command's log position"
    );
    // The box change arrived too (drafter's in-progress → completed).
    let mut completed = None;
    for _ in 0..4 {
        let change = drafter.next("inbox", "inboxChanged").await;
        if change["status"] == "APPROVED" {
            completed = Some(change);
            break;
        }
    }
    let completed = completed.expect("an inboxChanged for the approval");
    assert_eq!(completed["documentId"].as_str(), Some(id.as_str()));
    let count = |b: &str| {
        completed["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["inbox"] == b)
            .unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    assert!(count("COMPLETED") >= 1);
}

const TRACED: &str = "subscription { myNotifications { documentId kind traceId } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_carries_the_trace_id_of_the_command_that_caused_it() {
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead) = (s.login(DEV_KANG).await, s.login(PLATFORM_LEAD).await);
    let mut drafter = Client::init(&s.notifiers[1], &kang).await;
    drafter.subscribe("feed", TRACED, json!({})).await;
    let mut approver = Client::init(&s.notifiers[0], &lead).await;
    approver.subscribe("feed", TRACED, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The caller's trace is continued: submit under a trace the client chose.
    let draft = json!({ "form": "general", "title": "추적", "body": { "content": "본문" },
                        "line": { "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0 }] } });
    let id = s.command(&kang, "/api/approvals", None, draft).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let chosen = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let submitted = s
        .http
        .post(format!("{}/api/approvals/{id}/submit", s.api))
        .bearer_auth(&kang)
        .header("if-match", "\"1\"")
        .header("traceparent", chosen)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(submitted.status().is_success());
    assert_eq!(
        submitted.headers()["traceparent"],
        chosen,
        "the answer names the trace it continued"
    );
    let request = approver.next("feed", "myNotifications").await;
    assert_eq!(request["documentId"].as_str(), Some(id.as_str()));
    assert_eq!(request["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736", "{request}");

    // Without one, the command starts a trace, says so, and the push carries it.
    let approved = s
        .http
        .post(format!("{}/api/approvals/{id}/approve", s.api))
        .bearer_auth(&lead)
        .header("if-match", "\"2\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_success());
    let started = approved.headers()["traceparent"].to_str().unwrap().to_owned();
    let trace_id = started.split('-').nth(1).unwrap().to_owned();
    assert_eq!(trace_id.len(), 32);
    assert_ne!(
        trace_id, "4bf92f3577b34da6a3ce929d0e0e4736",
        "a new command, a new trace"
    );
    let note = drafter.next("feed", "myNotifications").await;
    assert_eq!(note["kind"], "APPROVED");
    assert_eq!(note["traceId"].as_str(), Some(trace_id.as_str()), "{note}");
}

/// The value of the first sample of `name` whose labels include all of `labels`, on this
/// process's `/metrics` page (other tests of the process may have series of their own).
fn sample(name: &str, labels: &[&str]) -> Option<f64> {
    infra::telemetry::metrics::render()
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Waits up to 10 s for a sample of `name` with `labels` that satisfies `wanted`.
async fn sample_until(name: &str, labels: &[&str], wanted: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..200 {
        if let Some(value) = sample(name, labels).filter(|v| wanted(*v)) {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{name} {labels:?} never as wanted in\n{}",
        infra::telemetry::metrics::render()
    );
}

/// What the notifier's `/metrics` shows: open connections and subscriptions by field while
/// they last, each push and its latency from the bus, and its HTTP upgrade by route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifier_meters_connections_subscriptions_and_pushes() {
    infra::telemetry::metrics::install();
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead) = (s.login(DEV_KANG).await, s.login(PLATFORM_LEAD).await);
    let mut approver = Client::init(&s.notifiers[0], &lead).await;
    approver.subscribe("feed", NOTIFICATIONS, json!({})).await;
    let connections = sample_until("erp_notifier_connections", &[], |v| v >= 1.0).await;
    sample_until("erp_notifier_subscriptions", &["field=\"myNotifications\""], |v| {
        v >= 1.0
    })
    .await;
    let pushed_before = sample("erp_notifier_pushes_total", &[]).unwrap_or(0.0);

    let id = s.submitted(&kang, "측정되는 알림").await;
    let request = approver.next("feed", "myNotifications").await;
    assert_eq!(request["documentId"].as_str(), Some(id.as_str()));
    sample_until("erp_notifier_pushes_total", &[], |v| v > pushed_before).await;
    sample_until("erp_notifier_push_latency_seconds_count", &[], |v| v >= 1.0).await;
    sample_until(
        "erp_http_requests_total",
        &["role=\"notifier\"", "route=\"/graphql/ws\"", "status=\"101\""],
        |v| v >= 1.0,
    )
    .await;

    drop(approver);
    sample_until("erp_notifier_connections", &[], |v| v < connections).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocol_closes_with_its_codes() {
    let config = notifier::NotifierConfig {
        init_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let s = system(config).await;
    let kang = s.login(DEV_KANG).await;
    let url = &s.notifiers[0];

    let mut c = Client::connect(url).await;
    c.send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer forged.token.value" } }))
        .await;
    assert!(matches!(
        c.receive(Duration::from_secs(5)).await,
        Received::Closed(4403, _)
    ));

    let mut c = Client::connect(url).await;
    assert!(
        matches!(c.receive(Duration::from_secs(5)).await, Received::Closed(4408, _)),
        "no init in time"
    );

    let mut c = Client::connect(url).await;
    c.subscribe("1", NOTIFICATIONS, json!({})).await;
    assert!(
        matches!(c.receive(Duration::from_secs(5)).await, Received::Closed(4401, _)),
        "subscribe before ack"
    );

    let mut c = Client::init(url, &kang).await;
    c.send(json!({ "type": "connection_init", "payload": { "token": kang } }))
        .await;
    assert!(
        matches!(c.receive(Duration::from_secs(5)).await, Received::Closed(4429, _)),
        "second init"
    );

    let mut c = Client::init(url, &kang).await;
    c.subscribe("1", NOTIFICATIONS, json!({})).await;
    c.subscribe("1", NOTIFICATIONS, json!({})).await;
    assert!(
        matches!(c.receive(Duration::from_secs(5)).await, Received::Closed(4409, _)),
        "duplicate id"
    );

    let mut c = Client::init(url, &kang).await;
    c.ws.send(Message::Text("{not json".into())).await.unwrap();
    assert!(matches!(
        c.receive(Duration::from_secs(5)).await,
        Received::Closed(4400, _)
    ));

    let mut c = Client::init(url, &kang).await;
    c.send(json!({ "type": "ping" })).await;
    assert_eq!(
        c.receive(Duration::from_secs(5)).await,
        Received::Message(json!({ "type": "pong" }))
    );
    c.subscribe("x", "subscription { noSuchField }", json!({})).await;
    match c.receive(Duration::from_secs(5)).await {
        Received::Message(m) => assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("x"))),
        other => panic!("{other:?}"),
    }

    // A token that expires while connected closes the connection.
    let signer = LocalSigner::from_seed(&[42; 32], "erp-embedded", "erp");
    let short = signer.sign(&DEV_KANG.to_string(), None, chrono::Utc::now(), Duration::from_secs(1));
    let mut c = Client::init(url, &short).await;
    match c.receive(Duration::from_secs(5)).await {
        Received::Closed(code, reason) => assert_eq!((code, reason.as_str()), (4403, "Token expired")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_subscription_gets_what_it_missed_once_then_live() {
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead) = (s.login(DEV_KANG).await, s.login(PLATFORM_LEAD).await);
    let mut c = Client::init(&s.notifiers[0], &kang).await;
    c.subscribe("feed", NOTIFICATIONS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let first = s.submitted(&kang, "재개 1").await;
    s.command(&lead, &format!("/api/approvals/{first}/approve"), Some(2), json!({}))
        .await;
    let seen = c.next("feed", "myNotifications").await;
    assert_eq!(seen["documentId"].as_str(), Some(first.as_str()));
    drop(c); // the laptop sleeps

    let second = s.submitted(&kang, "재개 2").await;
    s.command(&lead, &format!("/api/approvals/{second}/approve"), Some(2), json!({}))
        .await;
    let third = s.submitted(&kang, "재개 3").await;
    s.command(
        &lead,
        &format!("/api/approvals/{third}/reject"),
        Some(2),
        json!({ "reason": "보완 필요" }),
    )
    .await;
    s.settle().await;

    let mut c = Client::init(&s.notifiers[1], &kang).await;
    c.subscribe("feed", NOTIFICATIONS, json!({ "after": seen["cursor"] }))
        .await;
    let a = c.next("feed", "myNotifications").await;
    let b = c.next("feed", "myNotifications").await;
    assert_eq!(
        [
            (a["documentId"].as_str(), a["kind"].as_str(), a["replayed"].as_bool()),
            (b["documentId"].as_str(), b["kind"].as_str(), b["replayed"].as_bool())
        ],
        [
            (Some(second.as_str()), Some("APPROVED"), Some(true)),
            (Some(third.as_str()), Some("REJECTED"), Some(true))
        ],
        "exactly what was missed, in order"
    );
    let fourth = s.submitted(&kang, "재개 4").await;
    s.command(&lead, &format!("/api/approvals/{fourth}/approve"), Some(2), json!({}))
        .await;
    let live = c.next("feed", "myNotifications").await;
    assert_eq!(
        (live["documentId"].as_str(), live["replayed"].as_bool()),
        (Some(fourth.as_str()), Some(false))
    );
    assert_eq!(
        c.receive(Duration::from_millis(500)).await,
        Received::Nothing,
        "no duplicate follows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_told_to_resync_and_memory_stays_bounded() {
    let s = system(notifier::NotifierConfig::default()).await;
    let kang = s.login(DEV_KANG).await;
    let mut c = Client::init(&s.notifiers[1], &kang).await;
    c.subscribe("feed", NOTIFICATIONS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Far more than the bus ring (4,096) and the socket buffers hold, while the client reads
    // nothing.
    let burst: Vec<Change> = (0..20_000)
        .map(|i| Change::Notification {
            recipient: DEV_KANG.to_string(),
            entry: FeedEntry {
                id: format!("burst-{i:05}"),
                doc: Uuid::nil().to_string(),
                kind: "approved".into(),
                title: "x".repeat(200),
                at: format!("2026-11-26T00:00:00.{i:06}+00:00"),
                read: false,
            },
            position: format!("approval:0:{i}"),
            correlation_id: Uuid::nil().to_string(),
            trace_id: None,
            traceparent: None,
        })
        .collect();
    s.bus.publish(&burst).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut delivered, mut resyncs) = (0, 0);
    loop {
        match c.receive(Duration::from_secs(2)).await {
            Received::Message(m) if m["type"] == "next" => {
                if m["payload"]["data"]["myNotifications"]["resync"] == true {
                    resyncs += 1;
                } else {
                    delivered += 1;
                }
            }
            Received::Nothing => break,
            other => panic!("{other:?}"),
        }
    }
    println!("delivered {delivered}, resync notices {resyncs}");
    assert!(resyncs >= 1, "the client learns it missed entries");
    assert!(
        delivered < burst.len(),
        "nothing buffered the whole burst for a client that did not read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_receives_another_users_document() {
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead, oh) = (
        s.login(DEV_KANG).await,
        s.login(PLATFORM_LEAD).await,
        s.login(SALES_OH).await,
    );
    let id = s.submitted(&kang, "영업팀은 모르는 문서").await;
    s.settle().await;
    let mut outsider = Client::init(&s.notifiers[0], &oh).await;
    outsider.subscribe("feed", NOTIFICATIONS, json!({})).await;
    outsider
        .subscribe("inbox", "subscription { inboxChanged { documentId } }", json!({}))
        .await;
    outsider
        .subscribe(
            "doc",
            "subscription($id: ID!) { approvalUpdated(id: $id) { documentId status } }",
            json!({ "id": id }),
        )
        .await;
    match outsider.receive(Duration::from_secs(5)).await {
        Received::Message(m) => {
            assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("doc")));
            assert_eq!(m["payload"][0]["extensions"]["code"], "NOT_FOUND", "{m}");
        }
        other => panic!("{other:?}"),
    }
    let mut drafter = Client::init(&s.notifiers[1], &kang).await;
    drafter
        .subscribe(
            "doc",
            "subscription($id: ID!) { approvalUpdated(id: $id) { documentId status version events position } }",
            json!({ "id": id }),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.command(&lead, &format!("/api/approvals/{id}/approve"), Some(2), json!({}))
        .await;
    let update = drafter.next("doc", "approvalUpdated").await;
    assert_eq!(
        (update["status"].as_str(), update["version"].as_u64()),
        (Some("APPROVED"), Some(3))
    );
    assert_eq!(
        outsider.receive(Duration::from_secs(2)).await,
        Received::Nothing,
        "the outsider hears nothing"
    );
}

/// A page reads a document, then opens its subscription. A change landing between the two
/// reached neither — the read was before it, the subscription's own check after it — and the
/// page stayed at the version it read. Told the version on screen, the subscription opens with
/// a resync when the document is at another by then, and quietly when it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_told_the_version_on_screen_resyncs_when_the_document_moved_on_before_it_opened() {
    const SINCE: &str =
        "subscription($id: ID!, $since: Int) { approvalUpdated(id: $id, since: $since) { documentId version resync } }";
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead) = (s.login(DEV_KANG).await, s.login(PLATFORM_LEAD).await);
    let id = s.submitted(&kang, "열어 둔 결재란").await;
    // The page read version 2; a comment lands before its subscription opens.
    s.command(
        &lead,
        &format!("/api/approvals/{id}/comments"),
        None,
        json!({ "text": "확인했습니다" }),
    )
    .await;
    s.settle().await;
    let mut behind = Client::init(&s.notifiers[0], &kang).await;
    behind.subscribe("doc", SINCE, json!({ "id": id, "since": 2 })).await;
    let first = behind.next("doc", "approvalUpdated").await;
    assert_eq!(
        (first["resync"].as_bool(), first["documentId"].as_str()),
        (Some(true), Some(id.as_str()))
    );
    let mut current = Client::init(&s.notifiers[1], &kang).await;
    current.subscribe("doc", SINCE, json!({ "id": id, "since": 3 })).await;
    assert_eq!(
        current.receive(Duration::from_secs(1)).await,
        Received::Nothing,
        "nothing moved"
    );
}

/// A page that read its boxes or HR records before subscribing (or subscribes again after a
/// lost connection) asks for a resync at open: it reads again once the routes are in place,
/// so nothing that changed in between is lost. Without the argument nothing comes at open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boxes_and_hr_records_asked_to_resync_at_open_start_with_one_and_then_hear_changes() {
    let s = system(notifier::NotifierConfig::default()).await;
    let kang = s.login(DEV_KANG).await;
    // One connection per subscription: `next` passes over another subscription's messages.
    let mut boxes = Client::init(&s.notifiers[0], &kang).await;
    boxes
        .subscribe(
            "inbox",
            "subscription { inboxChanged(resyncAtOpen: true) { resync documentId } }",
            json!({}),
        )
        .await;
    let mut records = Client::init(&s.notifiers[1], &kang).await;
    records
        .subscribe(
            "hr",
            "subscription { hrChanged(resyncAtOpen: true) { resync topic employeeIds } }",
            json!({}),
        )
        .await;
    let first = boxes.next("inbox", "inboxChanged").await;
    assert_eq!(first["resync"], json!(true), "{first}");
    let first = records.next("hr", "hrChanged").await;
    assert_eq!(first["resync"], json!(true), "{first}");
    let mut plain = Client::init(&s.notifiers[1], &kang).await;
    plain
        .subscribe("inbox", "subscription { inboxChanged { resync } }", json!({}))
        .await;
    plain.subscribe("hr", HR_CHANGES, json!({})).await;
    assert_eq!(
        plain.receive(Duration::from_secs(1)).await,
        Received::Nothing,
        "nothing changed"
    );
    // The resync came once the routes were in place: the next changes arrive as changes.
    let id = s.submitted(&kang, "다시 읽은 결재함").await;
    let change = boxes.next("inbox", "inboxChanged").await;
    assert_eq!(
        (change["resync"].as_bool(), change["documentId"].as_str()),
        (Some(false), Some(id.as_str()))
    );
    s.command(&kang, "/api/attendance/check-in", None, json!({})).await;
    let change = records.next("hr", "hrChanged").await;
    assert_eq!(
        (change["resync"].as_bool(), &change["employeeIds"]),
        (Some(false), &json!([DEV_KANG.0]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_hears_the_requests_that_reach_their_principal() {
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead, yoon) = (
        s.login(DEV_KANG).await,
        s.login(PLATFORM_LEAD).await,
        s.login(DEV_YOON).await,
    );
    let now = chrono::Utc::now();
    s.command(
        &lead,
        "/api/delegations",
        None,
        json!({ "proxy": DEV_YOON.0, "from": now - chrono::Duration::minutes(1),
                "until": now + chrono::Duration::hours(8), "reason": "출장" }),
    )
    .await;
    s.settle().await;
    let mut proxy = Client::init(&s.notifiers[0], &yoon).await;
    proxy
        .subscribe(
            "feed",
            "subscription { myNotifications { documentId kind forEmployeeId } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = s.submitted(&kang, "대결자에게도 가는 요청").await;
    let heard = proxy.next("feed", "myNotifications").await;
    assert_eq!(
        (
            heard["documentId"].as_str(),
            heard["kind"].as_str(),
            heard["forEmployeeId"].as_str()
        ),
        (
            Some(id.as_str()),
            Some("APPROVAL_REQUESTED"),
            Some(PLATFORM_LEAD.to_string().as_str())
        )
    );
}

const UPDATED: &str = "subscription($id: ID!) { approvalUpdated(id: $id) { documentId status version resync } }";

/// Connected employees re-read every 200 ms instead of every few seconds.
fn quick_rechecks() -> notifier::NotifierConfig {
    notifier::NotifierConfig {
        recheck: Duration::from_millis(200),
        ..Default::default()
    }
}

impl Client {
    /// The next message for subscription `id` (pings answered, other ids skipped).
    async fn next_for(&mut self, id: &str, wait: Duration) -> Received {
        loop {
            match self.receive(wait).await {
                Received::Message(m) if m["id"] != id => continue,
                other => return other,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_past_its_subscription_bound_is_closed_with_4429() {
    let s = system(notifier::NotifierConfig {
        max_subscriptions: 3,
        ..Default::default()
    })
    .await;
    let kang = s.login(DEV_KANG).await;
    let mut c = Client::init(&s.notifiers[0], &kang).await;
    for id in ["1", "2", "3"] {
        c.subscribe(id, NOTIFICATIONS, json!({})).await;
    }
    assert_eq!(
        c.receive(Duration::from_millis(300)).await,
        Received::Nothing,
        "three may run"
    );
    // Completing one frees its place.
    c.send(json!({ "id": "3", "type": "complete" })).await;
    c.subscribe("4", NOTIFICATIONS, json!({})).await;
    assert_eq!(
        c.receive(Duration::from_millis(300)).await,
        Received::Nothing,
        "the fourth took the third's place"
    );
    c.subscribe("5", NOTIFICATIONS, json!({})).await;
    assert_eq!(
        c.receive(Duration::from_secs(5)).await,
        Received::Closed(4429, "Too many subscriptions".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_past_their_connection_bound_is_refused_with_4429() {
    let s = system(notifier::NotifierConfig {
        max_connections_per_user: 2,
        ..Default::default()
    })
    .await;
    let (kang, yoon) = (s.login(DEV_KANG).await, s.login(DEV_YOON).await);
    let url = &s.notifiers[0];
    let first = Client::init(url, &kang).await;
    let _second = Client::init(url, &kang).await;
    let mut third = Client::connect(url).await;
    third
        .send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {kang}") } }))
        .await;
    assert_eq!(
        third.receive(Duration::from_secs(5)).await,
        Received::Closed(4429, "Too many connections".into())
    );
    // Someone else is not affected, and a closed connection frees its place.
    let _other = Client::init(url, &yoon).await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _again = Client::init(url, &kang).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_delegation_reaches_the_proxys_open_connection_within_seconds() {
    let s = system(quick_rechecks()).await;
    let (kang, lead, yoon) = (
        s.login(DEV_KANG).await,
        s.login(PLATFORM_LEAD).await,
        s.login(DEV_YOON).await,
    );
    let now = chrono::Utc::now();
    let delegation = s
        .command(
            &lead,
            "/api/delegations",
            None,
            json!({ "proxy": DEV_YOON.0, "from": now - chrono::Duration::minutes(1),
                    "until": now + chrono::Duration::hours(8), "reason": "출장" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = s.submitted(&kang, "대결 철회 전의 문서").await;
    s.settle().await;
    let mut proxy = Client::init(&s.notifiers[0], &yoon).await;
    proxy.subscribe("doc", UPDATED, json!({ "id": id })).await;
    proxy
        .subscribe(
            "feed",
            "subscription { myNotifications { documentId kind forEmployeeId } }",
            json!({}),
        )
        .await;
    assert_eq!(
        proxy.receive(Duration::from_millis(300)).await,
        Received::Nothing,
        "the proxy may follow the principal's seat"
    );

    let revoked = Instant::now();
    s.command(&lead, &format!("/api/delegations/{delegation}/revoke"), None, json!({}))
        .await;
    match proxy.next_for("doc", Duration::from_secs(5)).await {
        Received::Message(m) => assert_eq!(m["type"], "complete", "{m}"),
        other => panic!("the document subscription should end, got {other:?}"),
    }
    println!("revocation → subscription ended: {:?}", revoked.elapsed());
    // The principal's next request no longer reaches the former proxy.
    s.submitted(&kang, "대결 철회 후의 요청").await;
    assert_eq!(proxy.receive(Duration::from_secs(2)).await, Received::Nothing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_role_ends_subscriptions_to_documents_it_opened() {
    let s = system(quick_rechecks()).await;
    let (kang, hr, auditor) = (s.login(DEV_KANG).await, s.login(HR).await, s.login(AUDITOR).await);
    let id = s.submitted(&kang, "감사인만 보는 문서").await;
    s.settle().await;
    let mut c = Client::init(&s.notifiers[1], &auditor).await;
    c.subscribe("doc", UPDATED, json!({ "id": id })).await;
    assert_eq!(
        c.receive(Duration::from_millis(300)).await,
        Received::Nothing,
        "an auditor reads everything"
    );
    s.send(
        reqwest::Method::PUT,
        &hr,
        &format!("/api/employees/{}/roles", AUDITOR.0),
        None,
        json!({ "roles": ["employee"] }),
    )
    .await;
    match c.next_for("doc", Duration::from_secs(5)).await {
        Received::Message(m) => assert_eq!(m["type"], "complete", "{m}"),
        other => panic!("the document subscription should end, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_employee_is_disconnected_within_seconds() {
    let s = system(quick_rechecks()).await;
    let (hr, yoon) = (s.login(HR).await, s.login(DEV_YOON).await);
    let mut c = Client::init(&s.notifiers[0], &yoon).await;
    c.subscribe("feed", NOTIFICATIONS, json!({})).await;
    s.command(
        &hr,
        &format!("/api/employees/{}/deactivate", DEV_YOON.0),
        None,
        json!({}),
    )
    .await;
    assert_eq!(
        c.receive(Duration::from_secs(5)).await,
        Received::Closed(4403, "Forbidden".into())
    );
}

const HR_CHANGES: &str = "subscription { hrChanged { resync topic stream events employeeIds } }";

/// The visibility matrix of live HR changes: an employee's check-in reaches the employee, the
/// heads of their department and of the departments above it, HR and the auditor, and
/// nobody else — not a colleague, not another department's head. Subscribers sit on both
/// notifier instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_reaches_the_employee_their_heads_and_hr_and_nobody_else() {
    let s = system(notifier::NotifierConfig::default()).await;
    let matrix = [
        (DEV_KANG, true),
        (PLATFORM_LEAD, true),
        (DEV_HEAD, true),
        (HR, true),
        (AUDITOR, true),
        (DEV_YOON, false),
        (SALES_HEAD, false),
        (SALES_OH, false),
    ];
    let mut clients = Vec::new();
    for (i, (who, hears)) in matrix.into_iter().enumerate() {
        let token = s.login(who).await;
        let mut client = Client::init(&s.notifiers[i % 2], &token).await;
        client.subscribe("hr", HR_CHANGES, json!({})).await;
        clients.push((who, hears, token, client));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kang = &clients[0].2;
    s.command(kang, "/api/attendance/check-in", None, json!({})).await;
    for (who, hears, _, client) in clients.iter_mut().filter(|c| c.1) {
        let change = client.next("hr", "hrChanged").await;
        assert_eq!(change["topic"], "ATTENDANCE", "{who}: {change}");
        assert_eq!(change["events"], json!(["attendance.checked_in"]), "{who}: {change}");
        assert_eq!(
            change["employeeIds"],
            json!([DEV_KANG.0]),
            "{who} hears={hears}: {change}"
        );
    }
    // The others check in themselves: the first change each hears is their own, so no change
    // of 강개발's reached them before it.
    for (who, _, token, client) in clients.iter_mut().filter(|c| !c.1) {
        s.command(token, "/api/attendance/check-in", None, json!({})).await;
        let change = client.next("hr", "hrChanged").await;
        assert_eq!(
            change["employeeIds"],
            json!([who.0]),
            "{who} heard another's record: {change}"
        );
    }
}

const HR_NOTICES: &str = "subscription($after: String) { myNotifications(after: $after) { resync replayed cursor id documentId subjectId kind title } }";

/// Quest notices are feed entries like an approval's: live to the poster when someone takes
/// the quest on and submits it, to the participant when it is verified, and replayed from the
/// persisted feed on resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quest_notices_arrive_in_the_feed_live_and_on_resume() {
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead) = (s.login(DEV_KANG).await, s.login(PLATFORM_LEAD).await);
    let mut poster = Client::init(&s.notifiers[0], &lead).await;
    poster.subscribe("feed", HR_NOTICES, json!({})).await;
    let mut participant = Client::init(&s.notifiers[1], &kang).await;
    participant.subscribe("feed", HR_NOTICES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let deadline = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let quest = json!({ "title": "회의록 정리", "description": "주간 회의록",
        "reward": { "kind": "leave_hours", "hours": 4 }, "capacity": 2, "deadline": deadline,
        "audience": { "kind": "team" } });
    let id = s.command(&lead, "/api/quests", None, quest).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.command(&kang, &format!("/api/quests/{id}/accept"), None, json!({}))
        .await;
    let accepted = poster.next("feed", "myNotifications").await;
    assert_eq!(accepted["kind"], "QUEST_ACCEPTED", "{accepted}");
    assert_eq!(accepted["subjectId"].as_str(), Some(id.as_str()));
    assert_eq!(accepted["documentId"], Value::Null);
    assert_eq!(accepted["title"], "회의록 정리");

    // The poster's connection drops; the submission arrives meanwhile.
    drop(poster);
    s.command(&kang, &format!("/api/quests/{id}/submit"), None, json!({}))
        .await;
    s.settle().await;
    let mut resumed = Client::init(&s.notifiers[1], &lead).await;
    resumed
        .subscribe("feed", HR_NOTICES, json!({ "after": accepted["cursor"] }))
        .await;
    let missed = resumed.next("feed", "myNotifications").await;
    assert_eq!(
        (missed["kind"].as_str(), missed["replayed"].as_bool()),
        (Some("QUEST_SUBMITTED"), Some(true)),
        "{missed}"
    );

    s.command(
        &lead,
        &format!("/api/quests/{id}/verify"),
        None,
        json!({ "employee": DEV_KANG.0 }),
    )
    .await;
    let verified = participant.next("feed", "myNotifications").await;
    assert_eq!(verified["kind"], "QUEST_VERIFIED", "{verified}");
    assert_eq!(verified["subjectId"].as_str(), Some(id.as_str()));
}

/// Leave and quest changes follow the query API's rules, which are not attendance's: a
/// department head hears neither of a report's; a participant hears only their own part of a
/// quest, its poster all of it; HR everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_and_quest_changes_reach_their_people_and_hr_but_not_heads() {
    let s = system(notifier::NotifierConfig::default()).await;
    let mut clients = Vec::new();
    for (i, who) in [DEV_KANG, DEV_YOON, PLATFORM_LEAD, DEV_HEAD, HR]
        .into_iter()
        .enumerate()
    {
        let token = s.login(who).await;
        let mut client = Client::init(&s.notifiers[i % 2], &token).await;
        client.subscribe("hr", HR_CHANGES, json!({})).await;
        clients.push((who, token, client));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let token = |who| clients.iter().find(|c| c.0 == who).unwrap().1.clone();
    let (kang, lead, hr) = (token(DEV_KANG), token(PLATFORM_LEAD), token(HR));

    // HR adjusts 강개발's leave: he and HR hear it; his heads do not.
    s.command(
        &hr,
        &format!("/api/leave/{}/adjustments", DEV_KANG.0),
        None,
        json!({ "days": "1", "reason": "보상" }),
    )
    .await;
    // 정팀장 posts a team quest and 강개발 takes it on.
    let deadline = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let quest = json!({ "title": "문서 정리", "description": "", "reward": { "kind": "points", "points": 5 },
        "capacity": 3, "deadline": deadline, "audience": { "kind": "team" } });
    let id = s.command(&lead, "/api/quests", None, quest).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.command(&kang, &format!("/api/quests/{id}/accept"), None, json!({}))
        .await;

    let yoon_token = token(DEV_YOON);
    let head_token = token(DEV_HEAD);
    async fn heard(
        clients: &mut [(domain::ids::EmployeeId, String, Client)],
        who: domain::ids::EmployeeId,
    ) -> (String, Value) {
        let client = &mut clients.iter_mut().find(|c| c.0 == who).unwrap().2;
        let change = client.next("hr", "hrChanged").await;
        (
            change["topic"].as_str().unwrap().to_owned(),
            change["employeeIds"].clone(),
        )
    }
    assert_eq!(
        heard(&mut clients, DEV_KANG).await,
        ("LEAVE".into(), json!([DEV_KANG.0]))
    );
    assert_eq!(
        heard(&mut clients, DEV_KANG).await,
        ("QUEST".into(), json!([DEV_KANG.0]))
    );
    assert_eq!(heard(&mut clients, HR).await, ("LEAVE".into(), json!([DEV_KANG.0])));
    assert_eq!(
        heard(&mut clients, HR).await,
        ("QUEST".into(), json!([])),
        "the posting names no participant"
    );
    assert_eq!(heard(&mut clients, HR).await, ("QUEST".into(), json!([DEV_KANG.0])));
    assert_eq!(
        heard(&mut clients, PLATFORM_LEAD).await,
        ("QUEST".into(), json!([])),
        "the poster hears his posting"
    );
    assert_eq!(
        heard(&mut clients, PLATFORM_LEAD).await,
        ("QUEST".into(), json!([DEV_KANG.0]))
    );
    // 최개발 (a head above) and then 윤개발 (a colleague) check in: the first change each hears
    // is their own, so neither heard 강개발's leave or the quest.
    for who in [DEV_HEAD, DEV_YOON] {
        let token = if who == DEV_YOON { &yoon_token } else { &head_token };
        s.command(token, "/api/attendance/check-in", None, json!({})).await;
        assert_eq!(
            heard(&mut clients, who).await,
            ("ATTENDANCE".into(), json!([who.0])),
            "{who}"
        );
    }
}

/// A head replaced while subscribed stops hearing the department's attendance within seconds:
/// headship is read again, not kept from the subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_head_stops_hearing_the_departments_attendance() {
    let s = system(notifier::NotifierConfig::default()).await;
    let (kang, lead, hr) = (s.login(DEV_KANG).await, s.login(PLATFORM_LEAD).await, s.login(HR).await);
    let mut head = Client::init(&s.notifiers[0], &lead).await;
    head.subscribe("hr", HR_CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.command(&kang, "/api/attendance/check-in", None, json!({})).await;
    assert_eq!(head.next("hr", "hrChanged").await["employeeIds"], json!([DEV_KANG.0]));

    // HR makes 윤개발 the platform team's head; past the headship's few seconds, 강개발's
    // check-out no longer reaches 정팀장, whose own check-in still does.
    let platform = command_api::seed::PLATFORM.0;
    s.send(
        reqwest::Method::PUT,
        &hr,
        &format!("/api/departments/{platform}/head"),
        None,
        json!({ "head": DEV_YOON.0 }),
    )
    .await;
    s.settle().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    s.command(&kang, "/api/attendance/check-out", None, json!({})).await;
    s.command(&lead, "/api/attendance/check-in", None, json!({})).await;
    assert_eq!(
        head.next("hr", "hrChanged").await["employeeIds"],
        json!([PLATFORM_LEAD.0]),
        "the former head heard 강개발's check-out"
    );
}
