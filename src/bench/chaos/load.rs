//! Open-loop load with retrying clients. Documents start on a fixed schedule whatever became
//! of earlier ones; each is drafted, commented, submitted and decided by its own task. Every
//! command carries an Idempotency-Key and is retried with it on the next instance of the
//! rotation until it gets an answer that is not "unavailable", or a minute has passed.

use super::cluster::Cluster;
use super::plan::REQUEST_BOUND;
use command_api::seed::{DEV_KANG, PLATFORM_LEAD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use uuid::Uuid;

/// How long a client keeps retrying one command.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// One logical command as the client saw it.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub phase: usize,
    pub kind: &'static str,
    pub acked: Option<Acked>,
    /// The last status seen (0: no answer at all).
    pub status: u16,
    pub attempts: u32,
    /// Attempts that got no answer within the request bound.
    pub hung: u32,
    pub took: Duration,
    /// The body of the last answer that was not a success (problem+json), for the report.
    pub detail: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Acked {
    pub stream_id: String,
    pub version: u64,
    pub command_id: Uuid,
}

/// 승인 and 반려 of one document at one version, sent at once to two instances.
#[derive(Debug, Clone)]
pub(crate) struct Race {
    pub phase: usize,
    pub document: String,
    pub approve: Option<Acked>,
    pub reject: Option<Acked>,
}

#[derive(Default)]
struct Record {
    sent: Vec<Sent>,
    races: Vec<Race>,
    documents: Vec<(usize, String)>,
}

pub(crate) struct Driver {
    client: Arc<Client>,
    record: Arc<Mutex<Record>>,
    tasks: Mutex<JoinSet<()>>,
    counter: std::sync::atomic::AtomicUsize,
}

struct Client {
    http: reqwest::Client,
    rotation: Arc<RwLock<Vec<String>>>,
    drafter: String,
    approver: String,
    next: std::sync::atomic::AtomicUsize,
}

impl Driver {
    pub(crate) async fn new(cluster: &Cluster) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_BOUND)
            .pool_max_idle_per_host(64)
            .build()?;
        let drafter = crate::bench::harness::login(&http, &cluster.idp_url(), DEV_KANG.0).await?;
        let approver = crate::bench::harness::login(&http, &cluster.idp_url(), PLATFORM_LEAD.0).await?;
        Ok(Self {
            client: Arc::new(Client {
                http,
                rotation: cluster.rotation.clone(),
                drafter,
                approver,
                next: Default::default(),
            }),
            record: Arc::default(),
            tasks: Mutex::new(JoinSet::new()),
            counter: Default::default(),
        })
    }

    /// Starts `rate` documents a second for `length`; returns how many it started.
    pub(crate) async fn run_phase(&self, phase: usize, rate: u32, length: Duration) -> usize {
        let start = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let total = (f64::from(rate) * length.as_secs_f64()) as usize;
        for i in 0..total {
            tokio::time::sleep_until((start + interval * i as u32).into()).await;
            let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let client = self.client.clone();
            let record = self.record.clone();
            if let Ok(mut tasks) = self.tasks.lock() {
                tasks.spawn(async move { document(client, record, phase, n).await });
            }
        }
        total
    }

    /// Waits for every started document's task (each ends within a few [`GIVE_UP_AFTER`]s).
    pub(crate) async fn finish(&self) {
        let mut tasks = match self.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => return,
        };
        while tasks.join_next().await.is_some() {}
    }

    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.record.lock().map(|r| r.sent.clone()).unwrap_or_default()
    }

    pub(crate) fn races(&self) -> Vec<Race> {
        self.record.lock().map(|r| r.races.clone()).unwrap_or_default()
    }

    /// Documents drafted, with the phase that drafted them.
    pub(crate) fn documents(&self) -> Vec<(usize, String)> {
        self.record.lock().map(|r| r.documents.clone()).unwrap_or_default()
    }

    pub(crate) fn drafter_token(&self) -> &str {
        &self.client.drafter
    }

    /// One command, retried until answered; recorded under `phase` as `kind`.
    pub(crate) async fn command(&self, phase: usize, kind: &'static str, path: String, body: Value) -> Sent {
        let sent = self
            .client
            .send(phase, kind, Method::POST, &path, None, body, &self.client.drafter)
            .await;
        if let Ok(mut r) = self.record.lock() {
            r.sent.push(sent.clone());
        }
        sent
    }
}

/// One document's life: 기안, 의견, 상신, then 승인 — or, for every fourth, 승인 and 반려 at
/// once on two instances.
async fn document(client: Arc<Client>, record: Arc<Mutex<Record>>, phase: usize, n: usize) {
    let keep = |sent: Sent| {
        if let Ok(mut r) = record.lock() {
            r.sent.push(sent.clone());
        }
        sent
    };
    let draft = json!({
        "form": "general",
        "title": format!("장애 시험 {n}"),
        "body": { "content": "chaos" },
        "line": { "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0 }] },
    });
    let drafted = keep(
        client
            .send(
                phase,
                "기안",
                Method::POST,
                "/api/approvals",
                None,
                draft,
                &client.drafter,
            )
            .await,
    );
    let Some(acked) = drafted.acked else { return };
    let id = acked.stream_id.clone();
    if let Ok(mut r) = record.lock() {
        r.documents.push((phase, id.clone()));
    }
    let commented = keep(
        client
            .send(
                phase,
                "의견",
                Method::POST,
                &format!("/api/approvals/{id}/comments"),
                None,
                json!({ "text": "검토 부탁드립니다" }),
                &client.drafter,
            )
            .await,
    );
    let Some(version) = commented.acked.map(|a| a.version) else {
        return;
    };
    let submitted = keep(
        client
            .send(
                phase,
                "상신",
                Method::POST,
                &format!("/api/approvals/{id}/submit"),
                Some(version),
                json!({}),
                &client.drafter,
            )
            .await,
    );
    let Some(version) = submitted.acked.map(|a| a.version) else {
        return;
    };
    let (approve_path, reject_path) = (
        format!("/api/approvals/{id}/approve"),
        format!("/api/approvals/{id}/reject"),
    );
    let approve = client.send(
        phase,
        "승인",
        Method::POST,
        &approve_path,
        Some(version),
        json!({ "comment": "승인합니다" }),
        &client.approver,
    );
    if !n.is_multiple_of(4) {
        keep(approve.await);
        return;
    }
    let reject = client.send(
        phase,
        "반려",
        Method::POST,
        &reject_path,
        Some(version),
        json!({ "reason": "경합 시험" }),
        &client.approver,
    );
    let (approved, rejected) = tokio::join!(approve, reject);
    let race = Race {
        phase,
        document: id,
        approve: keep(approved).acked,
        reject: keep(rejected).acked,
    };
    if let Ok(mut r) = record.lock() {
        r.races.push(race);
    }
}

impl Client {
    /// The instance for the next attempt: round robin over the rotation.
    fn pick(&self) -> Option<String> {
        let rotation = self.rotation.read().ok()?;
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        rotation.get(n % rotation.len().max(1)).cloned()
    }

    #[allow(clippy::too_many_arguments)] // one request's parts, all needed
    async fn send(
        &self,
        phase: usize,
        kind: &'static str,
        method: Method,
        path: &str,
        if_match: Option<u64>,
        body: Value,
        token: &str,
    ) -> Sent {
        let key = Uuid::now_v7().to_string();
        let started = Instant::now();
        let mut sent = Sent {
            phase,
            kind,
            acked: None,
            status: 0,
            attempts: 0,
            hung: 0,
            took: Duration::ZERO,
            detail: String::new(),
        };
        while started.elapsed() < GIVE_UP_AFTER {
            let Some(base) = self.pick() else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            sent.attempts += 1;
            let mut request = self
                .http
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(token)
                .header("idempotency-key", &key)
                .json(&body);
            if let Some(version) = if_match {
                request = request.header("if-match", format!("\"{version}\""));
            }
            let attempt = Instant::now();
            let retry_after = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    sent.status = status.as_u16();
                    if status.is_success() {
                        sent.acked = response.json::<Value>().await.ok().and_then(|v| acked(&v));
                        break;
                    }
                    let retry_after = crate::bench::harness::told_to_wait(
                        &response,
                        Duration::from_millis(200),
                        Duration::from_secs(2),
                    );
                    sent.detail = response.text().await.unwrap_or_default().chars().take(300).collect();
                    if !matches!(
                        status,
                        StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::BAD_GATEWAY
                            | StatusCode::GATEWAY_TIMEOUT
                            | StatusCode::TOO_MANY_REQUESTS
                    ) {
                        break;
                    }
                    retry_after
                }
                Err(e) => {
                    sent.detail = e.to_string();
                    if e.is_timeout() || attempt.elapsed() >= REQUEST_BOUND {
                        sent.hung += 1;
                    }
                    sent.status = 0;
                    Duration::from_millis(200)
                }
            };
            tokio::time::sleep(retry_after).await;
        }
        sent.took = started.elapsed();
        sent
    }
}

fn acked(outcome: &Value) -> Option<Acked> {
    Some(Acked {
        stream_id: outcome["id"].as_str()?.to_owned(),
        version: outcome["version"].as_u64()?,
        command_id: outcome["command_id"].as_str()?.parse().ok()?,
    })
}
