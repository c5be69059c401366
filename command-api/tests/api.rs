//! The command API over real HTTP: the app is spawned on port 0 with the demo company seeded,
//! once on the embedded log and once on Kafka (the broker `scripts/test` starts).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use command_api::seed::*;
use command_api::{AuthState, Settings};
use domain::ids::EmployeeId;
use infra::auth::LocalSigner;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::health::{LogHealth, StuckStream, UnreadyPartition};
use infra::eventlog::kafka::{KafkaConfig, KafkaLog};
use infra::eventlog::{
    streams, Appended, Checkpoint, EventLog, EventLogError, NewCommit, RecordedEvent, StreamRef, Subscription,
    Upcasters,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

struct App {
    base: String,
    http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

struct Reply {
    status: StatusCode,
    body: Value,
    content_type: String,
}

/// The demo settings every suite runs with.
fn demo_settings() -> Settings {
    Settings {
        dev_login: true,
        policy: demo_policy(),
        body_limit: 64 * 1024,
        ..Settings::default()
    }
}

fn demo_auth() -> AuthState {
    let signer = LocalSigner::from_seed(&[42; 32], "erp-embedded", "erp");
    AuthState {
        verifier: signer.verifier(),
        signer: Some(signer),
    }
}

/// Serves `router` on a free port; its base URL.
async fn serve(router: axum::Router) -> String {
    let app = command_api::Application::bind("127.0.0.1:0".parse().unwrap(), router)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

impl Reply {
    /// A response as the tests read it: status, JSON body (or its text), content type.
    async fn of(response: reqwest::Response) -> Self {
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            content_type,
        }
    }
}

impl App {
    async fn spawn(log: Arc<dyn EventLog>, dir: Option<tempfile::TempDir>, settings: Settings) -> Self {
        Self::spawn_with_state(log, dir, settings).await.0
    }

    async fn spawn_with_state(
        log: Arc<dyn EventLog>,
        dir: Option<tempfile::TempDir>,
        settings: Settings,
    ) -> (Self, command_api::AppState) {
        let (state, router) = command_api::build(log, demo_auth(), settings);
        seed_if_empty(&state).await.map_err(|e| e.detail).unwrap();
        let app = App {
            base: serve(router).await,
            http: reqwest::Client::new(),
            _dir: dir,
        };
        (app, state)
    }

    async fn login(&self, who: EmployeeId) -> String {
        let reply = self
            .call(
                "POST",
                "/auth/dev-login",
                None,
                Some(json!({ "employee_id": who.0 })),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["token"].as_str().unwrap().to_owned()
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Reply {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        Reply::of(response).await
    }

    async fn post(&self, path: &str, token: &str, body: Value, version: Option<u64>) -> Reply {
        let headers: Vec<(&str, String)> = version.map(|v| ("if-match", format!("\"{v}\""))).into_iter().collect();
        self.call("POST", path, Some(token), Some(body), &headers).await
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None, &[]).await
    }

    /// POSTs raw bytes as `content_type`; the status, the JSON answer, the content type.
    async fn upload(&self, token: &str, content_type: &str, bytes: &[u8]) -> Reply {
        let response = self
            .http
            .post(format!("{}/api/attachments", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        Reply::of(response).await
    }

    /// GETs `path` as bytes: the status, the headers and the body.
    async fn download(&self, path: &str, token: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// Drafts and submits a general document from `drafter` to `line`; returns (id, version).
    async fn submitted(&self, drafter: &str, line: Value) -> (String, u64) {
        let draft = self
            .post(
                "/api/approvals",
                drafter,
                json!({ "form": "general", "title": "테스트", "body": { "content": "본문" }, "line": line }),
                None,
            )
            .await;
        assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
        let id = draft.body["id"].as_str().unwrap().to_owned();
        let submit = self
            .post(&format!("/api/approvals/{id}/submit"), drafter, json!({}), Some(1))
            .await;
        assert_eq!(submit.status, StatusCode::OK, "{}", submit.body);
        (id, 2)
    }
}

fn line(approvers: &[EmployeeId]) -> Value {
    json!({ "steps": approvers.iter().map(|a| json!({ "kind": "approval", "approver": a.0 })).collect::<Vec<_>>() })
}

fn problem(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["code"], code, "{}", reply.body);
}

/// Polls until `check` holds, for up to 20 s: process managers run behind the commands, and
/// on a loaded machine (or Kafka) that can take seconds.
async fn eventually(app: &App, path: &str, token: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually_within(app, path, token, Duration::from_secs(20), check).await
}

async fn health_readiness_and_the_api_document_are_served(app: App) {
    assert_eq!(
        app.call("GET", "/healthz", None, None, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(app.call("GET", "/readyz", None, None, &[]).await.status, StatusCode::OK);
    let doc = app.call("GET", "/openapi.json", None, None, &[]).await.body;
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/approvals/{id}/approve",
        "/api/employees",
        "/api/delegations",
        "/api/leave/{employee}/grants",
        "/api/attendance/check-in",
        "/api/attendance/check-out",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert!(doc["components"]["schemas"]["RejectRequest"].is_object());
    let docs = app.call("GET", "/docs", None, None, &[]).await;
    assert!(docs.body.as_str().unwrap().contains("openapi.json"));
    problem(
        &app.call("GET", "/nope", None, None, &[]).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

async fn a_submitted_document_is_approved_by_the_next_approver_and_numbered(app: App) {
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let (id, version) = app.submitted(&kang, line(&[PLATFORM_LEAD])).await;
    let approve = app
        .post(
            &format!("/api/approvals/{id}/approve"),
            &lead,
            json!({ "comment": "승인합니다" }),
            Some(version),
        )
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.body);
    assert_eq!(approve.body["version"], 3);
    assert!(approve.body["position"].as_str().unwrap().starts_with("approval:"));
    let doc = eventually(&app, &format!("/api/approvals/{id}"), &kang, |d| {
        d["number_text"].is_string()
    })
    .await;
    assert_eq!(doc["status"], "approved");
    assert!(doc["number_text"].as_str().unwrap().starts_with("GEN-"));
}

async fn every_document_action_has_a_working_path(app: App) {
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let head = app.login(DEV_HEAD).await;
    let path = |id: &str, action: &str| format!("/api/approvals/{id}/{action}");

    // save a draft, then discard it
    let draft = app
        .post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "초안", "body": {}, "line": line(&[PLATFORM_LEAD]) }),
            None,
        )
        .await;
    let id = draft.body["id"].as_str().unwrap().to_owned();
    let save = app
        .call(
            "PUT",
            &path(&id, "draft"),
            Some(&kang),
            Some(json!({ "title": "수정", "body": { "content": "x" }, "line": line(&[PLATFORM_LEAD]) })),
            &[("if-match", "\"1\"".into())],
        )
        .await;
    assert_eq!(save.status, StatusCode::OK, "{}", save.body);
    let discard = app
        .call(
            "DELETE",
            &format!("/api/approvals/{id}"),
            Some(&kang),
            None,
            &[("if-match", "\"2\"".into())],
        )
        .await;
    assert_eq!(discard.status, StatusCode::OK, "{}", discard.body);

    // hold, release, reject to the drafter, resubmit
    let (id, v) = app.submitted(&kang, line(&[PLATFORM_LEAD, DEV_HEAD])).await;
    assert_eq!(
        app.post(&path(&id, "hold"), &lead, json!({ "reason": "확인 중" }), Some(v))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&path(&id, "release"), &lead, json!({}), Some(v + 1))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&path(&id, "reject"), &lead, json!({ "reason": "보완" }), Some(v + 2))
            .await
            .status,
        StatusCode::OK
    );
    let resubmit = app
        .post(
            &path(&id, "resubmit"),
            &kang,
            json!({ "title": "보완본", "body": { "content": "보완" }, "line": line(&[PLATFORM_LEAD]) }),
            Some(v + 3),
        )
        .await;
    assert_eq!(resubmit.status, StatusCode::OK, "{}", resubmit.body);
    let doc = app.get(&format!("/api/approvals/{id}"), &kang).await.body;
    assert_eq!(
        (doc["revision"].as_u64(), doc["status"].as_str()),
        (Some(2), Some("in_progress"))
    );

    // approve, cancel my approval, approve again; reject to the previous step
    let (id, v) = app.submitted(&kang, line(&[PLATFORM_LEAD, DEV_HEAD])).await;
    assert_eq!(
        app.post(&path(&id, "approve"), &lead, json!({}), Some(v)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&path(&id, "cancel-approval"), &lead, json!({}), Some(v + 1))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&path(&id, "approve"), &lead, json!({}), Some(v + 2))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(
            &path(&id, "reject"),
            &head,
            json!({ "reason": "재검토", "to": "previous_step" }),
            Some(v + 3)
        )
        .await
        .status,
        StatusCode::OK
    );
    let doc = app.get(&format!("/api/approvals/{id}"), &kang).await.body;
    assert_eq!(doc["current_approvers"], json!([PLATFORM_LEAD.0]));

    // withdraw before anyone acts; comment
    let (id, v) = app.submitted(&kang, line(&[PLATFORM_LEAD])).await;
    assert_eq!(
        app.post(&path(&id, "comments"), &lead, json!({ "text": "확인 예정" }), None)
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post(&path(&id, "withdraw"), &kang, json!({}), Some(v + 1))
            .await
            .status,
        StatusCode::OK
    );

    // 전결 with the line the rule suggests for a small expense
    let suggestion = app
        .post(
            "/api/line-suggestions",
            &kang,
            json!({ "form": "expense", "amount": "50000" }),
            None,
        )
        .await;
    assert_eq!(suggestion.status, StatusCode::OK, "{}", suggestion.body);
    // 전결권 is the 전결 규정's to grant at 상신, not the suggested line's.
    assert_eq!(suggestion.body["line"]["steps"][0]["final_authority"], false);
    assert_eq!(suggestion.body["requirement"]["final_approver"], json!(PLATFORM_LEAD.0));
    let expense = json!({ "form": "expense", "title": "택시비", "body": { "purpose": "고객 미팅", "spent_on": "2026-03-02", "items": [{ "description": "택시", "quantity": "1", "unit_price": "50000" }] }, "line": suggestion.body["line"] });
    let draft = app.post("/api/approvals", &kang, expense, None).await;
    let id = draft.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(&path(&id, "submit"), &kang, json!({}), Some(1)).await.status,
        StatusCode::OK
    );
    let doc = app.get(&format!("/api/approvals/{id}"), &kang).await.body;
    assert_eq!(doc["rule"]["id"], "standard", "the suggested line records its rule");
    assert_eq!(doc["authority"]["final_approver"], json!(PLATFORM_LEAD.0));
    assert_eq!(doc["line"]["steps"][0]["final_authority"], true);
    let final_ = app
        .post(
            &path(&id, "approve-final"),
            &lead,
            json!({ "comment": "전결" }),
            Some(2),
        )
        .await;
    assert_eq!(final_.status, StatusCode::OK, "{}", final_.body);
    assert_eq!(
        app.get(&format!("/api/approvals/{id}"), &kang).await.body["status"],
        "approved"
    );

    // 대결: 정팀장 names 윤개발 as proxy; 윤개발 approves in their place
    let yoon = app.login(DEV_YOON).await;
    let now = chrono::Utc::now();
    let grant = app.post("/api/delegations", &lead, json!({ "proxy": DEV_YOON.0, "from": now - chrono::Duration::minutes(1), "until": now + chrono::Duration::hours(1), "reason": "출장" }), None).await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.body);
    let delegation = grant.body["id"].as_str().unwrap().to_owned();
    let (id, v) = app.submitted(&kang, line(&[PLATFORM_LEAD])).await;
    let proxy = app
        .post(
            &path(&id, "approve"),
            &yoon,
            json!({ "delegation": delegation }),
            Some(v),
        )
        .await;
    assert_eq!(proxy.status, StatusCode::OK, "{}", proxy.body);
    assert_eq!(proxy.body["events"], json!(["approval.proxy_approved"]));
    assert_eq!(
        app.post(&format!("/api/delegations/{delegation}/revoke"), &lead, json!({}), None)
            .await
            .status,
        StatusCode::OK
    );
}

async fn hr_manages_the_organisation_and_leave(app: App) {
    let hr = app.login(HR).await;
    let dept = app
        .post(
            "/api/departments",
            &hr,
            json!({ "name": "품질팀", "code": "QA", "parent": DEV.0 }),
            None,
        )
        .await;
    assert_eq!(dept.status, StatusCode::CREATED, "{}", dept.body);
    let dept_id = dept.body["id"].as_str().unwrap().to_owned();
    let person = app.post("/api/employees", &hr, json!({ "name": "신품질", "email": "qa.new@demo.erp", "department": dept_id, "position": { "title": "사원", "rank": 2 }, "manager": DEV_HEAD.0 }), None).await;
    assert_eq!(person.status, StatusCode::CREATED, "{}", person.body);
    let emp = person.body["id"].as_str().unwrap().to_owned();
    let steps: Vec<(&str, String, Value)> = vec![
        (
            "PATCH",
            format!("/api/employees/{emp}"),
            json!({ "name": "신품질", "email": "qa@demo.erp" }),
        ),
        (
            "PUT",
            format!("/api/employees/{emp}/position"),
            json!({ "title": "대리", "rank": 3 }),
        ),
        (
            "PUT",
            format!("/api/employees/{emp}/manager"),
            json!({ "manager": PLATFORM_LEAD.0 }),
        ),
        (
            "PUT",
            format!("/api/employees/{emp}/roles"),
            json!({ "roles": ["employee", "manager"] }),
        ),
        (
            "PUT",
            format!("/api/employees/{emp}/department"),
            json!({ "department": PLATFORM.0 }),
        ),
        (
            "PATCH",
            format!("/api/departments/{dept_id}"),
            json!({ "name": "품질보증팀" }),
        ),
        (
            "PUT",
            format!("/api/departments/{dept_id}/head"),
            json!({ "head": null }),
        ),
        (
            "PUT",
            format!("/api/departments/{dept_id}/parent"),
            json!({ "parent": HQ.0 }),
        ),
        ("POST", format!("/api/leave/{emp}/grants"), json!({ "year": 2026 })),
        (
            "POST",
            format!("/api/leave/{emp}/adjustments"),
            json!({ "days": "-0.5", "reason": "정정" }),
        ),
    ];
    for (method, path, body) in steps {
        let reply = app.call(method, &path, Some(&hr), Some(body), &[]).await;
        assert!(reply.status.is_success(), "{method} {path}: {}", reply.body);
    }
    let balance = app.get(&format!("/api/leave/{emp}"), &hr).await;
    assert_eq!(balance.body["balance"], "14.5");
    let cycle = app
        .call(
            "PUT",
            &format!("/api/departments/{}/parent", DEV.0),
            Some(&hr),
            Some(json!({ "parent": PLATFORM.0 })),
            &[],
        )
        .await;
    problem(&cycle, StatusCode::UNPROCESSABLE_ENTITY, "department_cycle");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.post(&format!("/api/departments/{dept_id}/close"), &hr, json!({}), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&format!("/api/employees/{emp}/deactivate"), &hr, json!({}), None)
            .await
            .status,
        StatusCode::OK
    );
    let login = app
        .call(
            "POST",
            "/auth/dev-login",
            None,
            Some(json!({ "employee_id": emp })),
            &[],
        )
        .await;
    problem(&login, StatusCode::FORBIDDEN, "forbidden");
    let duplicate = app.post("/api/employees", &hr, json!({ "name": "중복", "email": "kang@demo.erp", "department": DEV.0, "position": { "title": "사원", "rank": 1 } }), None).await;
    problem(&duplicate, StatusCode::CONFLICT, "email_taken");
}

async fn bad_requests_get_problem_documents_with_stable_codes(app: App) {
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let (id, v) = app.submitted(&kang, line(&[PLATFORM_LEAD])).await;
    let approve = format!("/api/approvals/{id}/approve");

    let raw = app
        .http
        .post(format!("{}{approve}", app.base))
        .bearer_auth(&lead)
        .header("content-type", "application/json")
        .header("if-match", "\"2\"")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    problem(
        &app.post(&approve, &lead, json!({ "surprise": 1 }), Some(v)).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
    problem(
        &app.post(&approve, &lead, json!({ "comment": 5 }), Some(v)).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
    problem(
        &app.call("POST", &approve, None, Some(json!({})), &[]).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    problem(
        &app.post(&approve, "not.a.token", json!({}), Some(v)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    problem(
        &app.post(&approve, &kang, json!({}), Some(v)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "self_approval",
    );
    // Someone who may not see the document learns nothing from acting on it: 404, whatever
    // If-Match says (a 409 would tell them it exists and its version).
    let yoon = app.login(DEV_YOON).await;
    for version in [v, v + 7] {
        problem(
            &app.post(&approve, &yoon, json!({}), Some(version)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    problem(
        &app.post(
            &format!("/api/approvals/{}/approve", Uuid::now_v7()),
            &lead,
            json!({}),
            Some(3),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    problem(
        &app.post(
            "/api/employees",
            &kang,
            json!({ "name": "x", "email": "x@demo.erp", "department": DEV.0, "position": { "title": "x", "rank": 1 } }),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        "not_hr_admin",
    );
    problem(
        &app.get(&format!("/api/approvals/{}", Uuid::now_v7()), &kang).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    problem(
        &app.get(&format!("/api/approvals/{id}"), &yoon).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    problem(
        &app.post(&approve, &lead, json!({}), None).await,
        StatusCode::PRECONDITION_REQUIRED,
        "precondition_required",
    );
    let stale = app.post(&approve, &lead, json!({}), Some(v - 1)).await;
    problem(&stale, StatusCode::CONFLICT, "version_conflict");
    assert_eq!(stale.body["current_version"], v);
    let huge = json!({ "comment": "가".repeat(40_000) });
    problem(
        &app.post(&approve, &lead, huge, Some(v)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let bad_body = app
        .post(
            "/api/approvals",
            &kang,
            json!({ "form": "expense", "title": "x", "body": { "items": "many", "bogus": 1 } }),
            None,
        )
        .await;
    problem(&bad_body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert_eq!(bad_body.body["errors"].as_array().unwrap().len(), 2);
    // The line is checked at 기안 already, not only at 상신.
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "x", "body": { "content": "x" }, "line": line(&[DEV_KANG]) }),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "self_approval",
    );
    let huge: Vec<EmployeeId> = (0..21u128).map(|n| EmployeeId(Uuid::from_u128(n + 1))).collect();
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "x", "body": { "content": "x" }, "line": line(&huge) }),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_line",
    );
    // Unknown fields are refused at every depth: a misspelt `recievers` would lose the 수신.
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "x", "body": { "content": "x" }, "titel": "y" }),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "x", "body": { "content": "x" },
                    "attachments": [{ "name": "a.pdf", "size": 1, "content_type": "application/pdf", "sha": "x" }] }),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
    for bad_line in [
        json!({ "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0 }], "recievers": [FINANCE.0] }),
        json!({ "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0, "aprover": DEV_HEAD.0 }] }),
        json!({ "steps": [{ "kind": "agreement", "members": [DEV_HEAD.0], "quorum": { "type": "all", "n": 1 } }] }),
    ] {
        problem(
            &app.post(
                "/api/approvals",
                &kang,
                json!({ "form": "general", "title": "x", "body": { "content": "x" }, "line": bad_line }),
                None,
            )
            .await,
            StatusCode::BAD_REQUEST,
            "malformed_request",
        );
    }
    // A drafter cannot grant 전결권.
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "x", "body": { "content": "x" },
                    "line": { "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0, "final_authority": true },
                                        { "kind": "approval", "approver": DEV_HEAD.0 }] } }),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_line",
    );
    // Amounts that would overflow are a 422, not a panic.
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            json!({ "form": "expense", "title": "x", "body": { "purpose": "p", "spent_on": "2026-03-02",
                    "items": [{ "description": "a", "quantity": "79228162514264337593543950335", "unit_price": "79228162514264337593543950335" },
                              { "description": "b", "quantity": "79228162514264337593543950335", "unit_price": "79228162514264337593543950335" }] } }),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    // Names on the line must be active employees and existing departments (checked at 상신).
    let ghost = app
        .post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "x", "body": { "content": "x" },
                    "line": { "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0 }], "cc": [Uuid::now_v7()] } }),
            None,
        )
        .await;
    assert_eq!(ghost.status, StatusCode::CREATED, "{}", ghost.body);
    let ghost_id = ghost.body["id"].as_str().unwrap().to_owned();
    let refused = app
        .post(&format!("/api/approvals/{ghost_id}/submit"), &kang, json!({}), Some(1))
        .await;
    problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_line");
    assert_eq!(refused.body["reason"]["reason"], "unknown_employee");
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            json!({ "form": "nope", "title": "x", "body": {} }),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_form",
    );
    let approved = app.post(&approve, &lead, json!({}), Some(v)).await;
    assert_eq!(approved.status, StatusCode::OK);
    // The reactor records the document's number right after its final approval: act on the
    // version that follows it, so the refusal is about the closed document, not a race.
    let numbered = eventually(&app, &format!("/api/approvals/{id}"), &kang, |d| {
        d["number_text"].is_string()
    })
    .await;
    let closed_at = numbered["version"].as_u64().unwrap();
    problem(
        &app.post(&approve, &lead, json!({}), Some(closed_at)).await,
        StatusCode::CONFLICT,
        "document_closed",
    );
}

async fn a_retried_command_returns_the_first_answer_and_records_nothing(app: App) {
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let (id, v) = app.submitted(&kang, line(&[PLATFORM_LEAD, DEV_HEAD])).await;
    let headers = [
        ("if-match", format!("\"{v}\"")),
        ("idempotency-key", "approve-once".to_owned()),
    ];
    let path = format!("/api/approvals/{id}/approve");
    let first = app.call("POST", &path, Some(&lead), Some(json!({})), &headers).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let retry = app.call("POST", &path, Some(&lead), Some(json!({})), &headers).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(
        (retry.body["version"].clone(), retry.body["position"].clone()),
        (first.body["version"].clone(), first.body["position"].clone())
    );
    assert_eq!(retry.body["duplicate"], true);
    assert_eq!(
        app.get(&format!("/api/approvals/{id}"), &kang).await.body["version"],
        v + 1,
        "nothing appended by the retry"
    );
    let draft_headers = [("idempotency-key", "draft-once".to_owned())];
    let body = json!({ "form": "general", "title": "한 번만", "body": { "content": "x" } });
    let a = app
        .call(
            "POST",
            "/api/approvals",
            Some(&kang),
            Some(body.clone()),
            &draft_headers,
        )
        .await;
    let b = app
        .call("POST", "/api/approvals", Some(&kang), Some(body), &draft_headers)
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(b.status, StatusCode::OK);
    assert_eq!(
        a.body["id"], b.body["id"],
        "the retry names the first draft, no second document"
    );
}

async fn two_conflicting_decisions_race_and_exactly_one_wins(app: App) {
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    for _ in 0..5 {
        let (id, v) = app.submitted(&kang, line(&[PLATFORM_LEAD, DEV_HEAD])).await;
        let (approve_path, reject_path) = (
            format!("/api/approvals/{id}/approve"),
            format!("/api/approvals/{id}/reject"),
        );
        let approve = app.post(&approve_path, &lead, json!({}), Some(v));
        let reject = app.post(&reject_path, &lead, json!({ "reason": "반려" }), Some(v));
        let (a, r) = tokio::join!(approve, reject);
        let statuses = [a.status, r.status];
        assert_eq!(statuses.iter().filter(|s| s.is_success()).count(), 1, "{statuses:?}");
        let loser = if a.status.is_success() { r } else { a };
        assert_eq!(loser.status, StatusCode::CONFLICT, "{}", loser.body);
        assert_eq!(
            app.get(&format!("/api/approvals/{id}"), &kang).await.body["version"],
            v + 1
        );
    }
}

/// A team quest from posting to reward: the lead's report takes it on and submits it, the
/// lead verifies it, and the reward (one leave day) reaches the employee's ledger once. Who
/// may do what is the domain's: outside the team is refused, the poster alone judges.
/// 첨부파일: bytes are uploaded first and named in a draft by their SHA-256; the log records
/// the stored size, not the client's; only someone who may see the document downloads it, as
/// a download with a safe name. Bad uploads are refused with a problem document and keep
/// nothing.
async fn an_attachment_is_uploaded_named_in_a_draft_and_downloaded_only_by_those_who_may_see_it(app: App) {
    use sha2::Digest;
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let oh = app.login(SALES_OH).await;
    let bytes = "견적서: 모니터 2대, 600,000원".as_bytes();
    let uploaded = app.upload(&kang, "application/pdf", bytes).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    assert_eq!(uploaded.body["sha256"], sha);
    assert_eq!(uploaded.body["size"], bytes.len());
    problem(
        &app.upload(&kang, "text/html", b"<script>alert(1)</script>").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "attachment_type_refused",
    );
    problem(
        &app.upload(&kang, "application/pdf", &[0u8; 5000]).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "attachment_too_large",
    );
    let unauthenticated = app.call("POST", "/api/attachments", None, Some(json!({})), &[]).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    let draft = |attachment: Value| {
        json!({ "form": "general", "title": "첨부 문서", "body": { "content": "견적서 첨부" },
                "line": line(&[PLATFORM_LEAD]), "attachments": [attachment] })
    };
    let never_uploaded = hex::encode(sha2::Sha256::digest(b"never uploaded"));
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            draft(json!({ "name": "없는 파일.pdf", "content_type": "application/pdf", "sha256": never_uploaded })),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "attachment_not_uploaded",
    );
    problem(
        &app.post(
            "/api/approvals",
            &kang,
            draft(json!({ "name": "이름만.pdf", "size": 10, "content_type": "application/pdf" })),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "attachment_not_uploaded",
    );
    let name = "견적서 \"최종\".pdf";
    let drafted = app
        .post(
            "/api/approvals",
            &kang,
            draft(json!({ "name": name, "size": 999_999, "content_type": "application/pdf", "sha256": sha })),
            None,
        )
        .await;
    assert_eq!(drafted.status, StatusCode::CREATED, "{}", drafted.body);
    let id = drafted.body["id"].as_str().unwrap().to_owned();
    // Knowing a hash is not having uploaded it: someone else cannot attach the drafter's file
    // to a document of their own (and learns nothing of whether it is stored).
    problem(
        &app.post(
            "/api/approvals",
            &oh,
            draft(json!({ "name": "남의 파일.pdf", "content_type": "application/pdf", "sha256": sha })),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "attachment_not_uploaded",
    );
    let shown = app.get(&format!("/api/approvals/{id}"), &kang).await;
    let attachment = &shown.body["content"]["attachments"][0];
    assert_eq!(
        attachment["size"],
        bytes.len(),
        "the stored size is recorded: {}",
        shown.body
    );
    assert_eq!(attachment["sha256"], sha);
    let path = format!("/api/approvals/{id}/attachments/{}", attachment["id"].as_str().unwrap());
    // Before 상신 the draft is the drafter's alone; after it, the line's too.
    assert_eq!(app.download(&path, &lead).await.0, StatusCode::NOT_FOUND);
    let submitted = app
        .post(&format!("/api/approvals/{id}/submit"), &kang, json!({}), Some(1))
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    for who in [&kang, &lead] {
        let (status, headers, body) = app.download(&path, who).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, bytes);
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment; filename=\""), "{disposition}");
        assert!(
            disposition.contains("filename*=UTF-8''%EA%B2%AC%EC%A0%81%EC%84%9C%20%22%EC%B5%9C%EC%A2%85%22.pdf"),
            "{disposition}"
        );
    }
    // A proxy (대결) reads the file under the delegation they name, as their decisions do; not
    // without it, and not under a delegation that is not theirs.
    let lim = app.login(FIN_LIM).await;
    assert_eq!(app.download(&path, &lim).await.0, StatusCode::NOT_FOUND);
    let now = chrono::Utc::now();
    let grant = app
        .post(
            "/api/delegations",
            &lead,
            json!({ "proxy": FIN_LIM.0, "from": now - chrono::Duration::minutes(1),
                    "until": now + chrono::Duration::hours(1), "reason": "출장" }),
            None,
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.body);
    let delegation = grant.body["id"].as_str().unwrap();
    let (status, _, body) = app.download(&format!("{path}?delegation={delegation}"), &lim).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, bytes));
    assert_eq!(app.download(&path, &lim).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.download(&format!("{path}?delegation={delegation}"), &oh).await.0,
        StatusCode::NOT_FOUND,
        "a delegation to someone else opens nothing"
    );
    assert_eq!(
        app.download(&format!("/api/approvals/{id}/print?delegation={delegation}"), &lim)
            .await
            .0,
        StatusCode::OK
    );
    // Someone who may not see the document learns nothing, not even that the file exists.
    let (status, _, body) = app.download(&path, &oh).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.windows(bytes.len()).any(|w| w == bytes));
    // The printed page: for those who may see the document, escaped, with the log's head.
    let (status, headers, page) = app.download(&format!("/api/approvals/{id}/print"), &lead).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(&format!("로그: approval/{id} · v2")), "{page}");
    assert!(page.contains("<title>첨부 문서</title>"), "{page}");
    assert_eq!(
        app.download(&format!("/api/approvals/{id}/print"), &oh).await.0,
        StatusCode::NOT_FOUND
    );
    // No renderer on this instance: PDFs are not offered here (the print page is).
    problem(
        &app.get(&format!("/api/approvals/{id}/pdf"), &kang).await,
        StatusCode::NOT_FOUND,
        "pdf_not_offered",
    );
    let unknown = format!("/api/approvals/{id}/attachments/{}", Uuid::now_v7());
    assert_eq!(app.download(&unknown, &kang).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.download(&format!("/api/approvals/{}/attachments/x", Uuid::now_v7()), &kang)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

/// 알림 읽음 over HTTP: the caller marks their own feed; marking it again records nothing;
/// bad marks are refused whole with a problem document, and nothing of them is recorded.
async fn notifications_are_marked_read_by_their_reader_as_commands(app: App) {
    let kang = app.login(DEV_KANG).await;
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    let one = json!({ "notifications": [{ "id": "doc-1:3:kang:approval_requested", "at": at }] });
    let first = app.post("/api/notifications/read", &kang, one.clone(), None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["id"], DEV_KANG.0.to_string());
    assert_eq!(first.body["events"], json!(["feed.read"]));
    let again = app.post("/api/notifications/read", &kang, one, None).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["events"], json!([]), "marking it again records nothing");
    problem(
        &app.post("/api/notifications/read", &kang, json!({ "notifications": [] }), None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_notifications",
    );
    let bad = json!({ "notifications": [{ "id": "fine", "at": at }, { "id": "a\nb", "at": at }] });
    problem(
        &app.post("/api/notifications/read", &kang, bad, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_notification_id",
    );
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    problem(
        &app.post("/api/notifications/read-all", &kang, json!({ "through": future }), None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "through_in_future",
    );
    let all = app.post("/api/notifications/read-all", &kang, json!({}), None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["events"], json!(["feed.all_read"]));
    assert_eq!(all.body["version"], 2, "only the two accepted commands were recorded");
    let unknown = app
        .post(
            "/api/notifications/read-all",
            &kang,
            json!({ "reader": PLATFORM_LEAD.0 }),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
}

async fn a_verified_quest_credits_its_leave_reward_once(app: App) {
    let lead = app.login(PLATFORM_LEAD).await;
    let kang = app.login(DEV_KANG).await;
    let oh = app.login(SALES_OH).await;
    let deadline = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let quest = json!({ "title": "온보딩 문서 정리", "description": "신입용 문서를 최신으로",
        "reward": { "kind": "leave_hours", "hours": 8 }, "capacity": 2, "deadline": deadline,
        "audience": { "kind": "team" } });
    problem(
        &app.post("/api/quests", &kang, quest.clone(), None).await,
        StatusCode::FORBIDDEN,
        "not_manager",
    );
    let posted = app.post("/api/quests", &lead, quest, None).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let id = posted.body["id"].as_str().unwrap().to_owned();
    let act = |action: &str| format!("/api/quests/{id}/{action}");
    problem(
        &app.post(&act("accept"), &oh, json!({}), None).await,
        StatusCode::FORBIDDEN,
        "outside_audience",
    );
    let before = available(&app.get(&format!("/api/leave/{}", DEV_KANG.0), &kang).await.body);
    let accepted = app.post(&act("accept"), &kang, json!({}), None).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    problem(
        &app.post(&act("accept"), &kang, json!({}), None).await,
        StatusCode::CONFLICT,
        "quest_already_accepted",
    );
    problem(
        &app.post(&act("verify"), &lead, json!({ "employee": DEV_KANG.0 }), None)
            .await,
        StatusCode::CONFLICT,
        "quest_not_submitted",
    );
    assert_eq!(
        app.post(&act("submit"), &kang, json!({}), None).await.status,
        StatusCode::OK
    );
    problem(
        &app.post(&act("verify"), &kang, json!({ "employee": DEV_KANG.0 }), None)
            .await,
        StatusCode::FORBIDDEN,
        "not_poster",
    );
    let returned = app
        .post(
            &act("return"),
            &lead,
            json!({ "employee": DEV_KANG.0, "reason": "링크 보완" }),
            None,
        )
        .await;
    assert_eq!(returned.status, StatusCode::OK, "{}", returned.body);
    assert_eq!(
        app.post(&act("submit"), &kang, json!({}), None).await.status,
        StatusCode::OK
    );
    let verified = app
        .post(&act("verify"), &lead, json!({ "employee": DEV_KANG.0 }), None)
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let credited = eventually(&app, &format!("/api/leave/{}", DEV_KANG.0), &kang, |b| {
        available(b) > before
    })
    .await;
    assert_eq!(available(&credited), before + 1.0, "{credited}");
    problem(
        &app.post(&act("accept"), &kang, json!({ "at": "2020-01-01T00:00:00Z" }), None)
            .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
}

/// Leave by the Act, booked by the accrual run: an employee hired 13 months ago has had eleven
/// monthly days (expired with the first year) and the first anniversary's fifteen. A run books
/// them and expires what ended; running the day again adds nothing; HR alone runs it, and never
/// for a day to come.
async fn the_accrual_run_books_leave_by_the_act_once(app: App) {
    use chrono::{Days, Months};
    let hr = app.login(HR).await;
    let today = chrono::Utc::now().with_timezone(&domain::attendance::KST).date_naive();
    let hired = (today - Days::new(3)).checked_sub_months(Months::new(13)).unwrap();
    let registered = app
        .post(
            "/api/employees",
            &hr,
            json!({ "name": "연차검증", "email": format!("accrual-{}@demo.erp", Uuid::now_v7().simple()),
                "department": PLATFORM.0, "position": { "title": "사원", "rank": 1 }, "hire_date": hired }),
            None,
        )
        .await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let id = registered.body["id"].as_str().unwrap().to_owned();
    let kang = app.login(DEV_KANG).await;
    problem(
        &app.post("/api/leave/accrual-runs", &kang, json!({}), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    problem(
        &app.post(
            "/api/leave/accrual-runs",
            &hr,
            json!({ "on": today + Days::new(1) }),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "future_date",
    );
    // The directory learns of the employee from the log: run until it has (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let balance = loop {
        let run = app.post("/api/leave/accrual-runs", &hr, json!({}), None).await;
        assert_eq!(run.status, StatusCode::OK, "{}", run.body);
        assert_eq!(run.body["failed"], 0, "{}", run.body);
        let balance = app.get(&format!("/api/leave/{id}"), &hr).await.body;
        if balance["available"] == "15" {
            break balance;
        }
        assert!(tokio::time::Instant::now() < deadline, "never accrued: {balance}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(balance["balance"], "15", "{balance}");
    let again = app
        .post("/api/leave/accrual-runs", &hr, json!({ "on": today }), None)
        .await;
    assert_eq!(
        (&again.body["accrued"], &again.body["expired"]),
        (&json!(0), &json!(0)),
        "{}",
        again.body
    );
    assert_eq!(app.get(&format!("/api/leave/{id}"), &hr).await.body, balance);
}

fn leave_request(days: &str) -> Value {
    json!({ "form": "leave", "title": "연차", "body": {
        "leave_type": "annual", "period": { "start": "2026-07-01", "end": "2026-07-10" }, "days": days },
        "line": line(&[PLATFORM_LEAD, DEV_HEAD]) })
}

fn available(balance: &Value) -> f64 {
    balance["available"].as_str().unwrap().parse().unwrap()
}

async fn pending_leave_requests_never_hold_more_than_the_balance(app: App) {
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let before = app.get(&format!("/api/leave/{}", DEV_KANG.0), &kang).await.body;
    let free = available(&before);
    // Two requests each over half of what is free, submitted at once: one holds the days,
    // the other is refused — not both approved into a negative balance.
    let days = format!("{}", (free / 2.0).floor() + 1.0);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let draft = app.post("/api/approvals", &kang, leave_request(&days), None).await;
        assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
        ids.push(draft.body["id"].as_str().unwrap().to_owned());
    }
    let paths: Vec<String> = ids.iter().map(|id| format!("/api/approvals/{id}/submit")).collect();
    let (a, b) = tokio::join!(
        app.post(&paths[0], &kang, json!({}), Some(1)),
        app.post(&paths[1], &kang, json!({}), Some(1))
    );
    let statuses = [a.status, b.status];
    assert_eq!(statuses.iter().filter(|s| s.is_success()).count(), 1, "{statuses:?}");
    let (winner, loser) = if a.status.is_success() {
        (&ids[0], b)
    } else {
        (&ids[1], a)
    };
    problem(&loser, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_leave");
    let held = app.get(&format!("/api/leave/{}", DEV_KANG.0), &kang).await.body;
    assert_eq!(available(&held), free - available_days(&days), "{held}");
    // 반려 gives the days back (the reactor releases the hold).
    let rejected = app
        .post(
            &format!("/api/approvals/{winner}/reject"),
            &lead,
            json!({ "reason": "일정 조정" }),
            Some(2),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    eventually(&app, &format!("/api/leave/{}", DEV_KANG.0), &kang, |b| {
        available(b) == free
    })
    .await;
}

/// The authority table with leave requests needing a final approver of `leave_rank`.
fn authority_rows(leave_rank: u32) -> Value {
    json!([
        { "form": "general", "final_rank": 5 },
        { "form": "expense", "up_to": "1000000", "final_rank": 5 }, { "form": "expense", "final_rank": 9 },
        { "form": "purchase", "final_rank": 9 }, { "form": "leave", "final_rank": leave_rank }
    ])
}

/// A submission the document refuses gives its hold back; when the same request (same
/// Idempotency-Key) is sent again and accepted, its days are held again — the hold placed by
/// the first attempt answers the retry as a duplicate, but the ledger no longer holds it.
async fn a_leave_request_refused_then_retried_under_its_key_holds_its_days(app: App) {
    let hr = app.login(HR).await;
    let kang = app.login(DEV_KANG).await;
    let ledger_path = format!("/api/leave/{}", DEV_KANG.0);
    let free = available(&app.get(&ledger_path, &kang).await.body);
    let set_table = |rank: u32| {
        let (app, hr) = (&app, hr.clone());
        async move {
            let body = json!({ "rows": authority_rows(rank), "reason": "개정" });
            let set = app
                .call("PUT", "/api/authority-table", Some(&hr), Some(body), &[])
                .await;
            assert_eq!(set.status, StatusCode::OK, "{}", set.body);
        }
    };
    // Leave now needs a rank the line does not reach: the document refuses the 상신.
    set_table(9).await;
    let draft = app.post("/api/approvals", &kang, leave_request("1"), None).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let path = format!("/api/approvals/{}/submit", draft.body["id"].as_str().unwrap());
    let headers = [
        ("if-match", "\"1\"".to_owned()),
        ("idempotency-key", "leave-submit-once".to_owned()),
    ];
    let refused = app.call("POST", &path, Some(&kang), Some(json!({})), &headers).await;
    problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_line");
    assert_eq!(
        available(&app.get(&ledger_path, &kang).await.body),
        free,
        "the hold is given back"
    );
    // The rule is put back and the same request is sent again: accepted, and its day is held.
    set_table(5).await;
    let accepted = app.call("POST", &path, Some(&kang), Some(json!({})), &headers).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(
        available(&app.get(&ledger_path, &kang).await.body),
        free - 1.0,
        "the pending request holds its day"
    );
    // And once more: a duplicate of the accepted request holds nothing twice.
    let again = app.call("POST", &path, Some(&kang), Some(json!({})), &headers).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(available(&app.get(&ledger_path, &kang).await.body), free - 1.0);
}

fn available_days(days: &str) -> f64 {
    days.parse().unwrap()
}

async fn comments_without_if_match_all_land_under_contention(app: App) {
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let (id, _) = app.submitted(&kang, line(&[PLATFORM_LEAD, DEV_HEAD])).await;
    let path = format!("/api/approvals/{id}/comments");
    let sends = (0..24).map(|n| {
        let (path, token) = (path.clone(), if n % 2 == 0 { kang.clone() } else { lead.clone() });
        let app = &app;
        async move {
            app.post(&path, &token, json!({ "text": format!("의견 {n}") }), None)
                .await
        }
    });
    let replies = futures::future::join_all(sends).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let doc = app.get(&format!("/api/approvals/{id}"), &kang).await.body;
    assert_eq!(doc["comments"].as_array().unwrap().len(), 24);
    let times: Vec<&str> = doc["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "comment times follow the stream's order");
}

async fn the_authority_table_is_hr_policy_that_decides_who_must_approve(app: App) {
    let hr = app.login(HR).await;
    let kang = app.login(DEV_KANG).await;
    let table = app.get("/api/authority-table", &kang).await;
    assert_eq!(table.status, StatusCode::OK, "{}", table.body);
    let version = table.body["version"].as_u64().unwrap();
    // HR raises general documents to 본부장 (rank 7).
    let rows = json!([
        { "form": "general", "final_rank": 7 },
        { "form": "expense", "up_to": "1000000", "final_rank": 5 }, { "form": "expense", "final_rank": 9 },
        { "form": "purchase", "final_rank": 9 }, { "form": "leave", "final_rank": 5 }
    ]);
    problem(
        &app.call(
            "PUT",
            "/api/authority-table",
            Some(&kang),
            Some(json!({ "rows": rows, "reason": "x" })),
            &[],
        )
        .await,
        StatusCode::FORBIDDEN,
        "not_hr_admin",
    );
    let set = app
        .call(
            "PUT",
            "/api/authority-table",
            Some(&hr),
            Some(json!({ "rows": rows, "reason": "2027 개정" })),
            &[],
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(
        app.get("/api/authority-table", &kang).await.body["version"],
        version + 1
    );
    // A line that stops at the team lead is now short of the required 본부장.
    let draft = app
        .post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "보고", "body": { "content": "x" }, "line": line(&[PLATFORM_LEAD]) }),
            None,
        )
        .await;
    let id = draft.body["id"].as_str().unwrap().to_owned();
    let refused = app
        .post(&format!("/api/approvals/{id}/submit"), &kang, json!({}), Some(1))
        .await;
    problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_line");
    assert_eq!(refused.body["reason"]["missing"], json!([DEV_HEAD.0]));
    // A gap in the table is refused.
    problem(
        &app.call(
            "PUT",
            "/api/authority-table",
            Some(&hr),
            Some(json!({ "rows": [{ "form": "general", "up_to": "5", "final_rank": 5 }], "reason": "x" })),
            &[],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_authority_table",
    );
}

/// BOLA matrix over REST: every demo user × every seeded document. Reading answers 200 exactly
/// when the domain's visibility rule says so, 404 otherwise; acting on a document one may not
/// see answers 404 whatever `If-Match` says.
async fn nobody_reaches_a_document_that_is_not_theirs_over_rest(app: App) {
    let people = [
        CEO,
        HR,
        FIN_HEAD,
        DEV_HEAD,
        PLATFORM_LEAD,
        DEV_KANG,
        DEV_YOON,
        SALES_HEAD,
        SALES_OH,
        AUDITOR,
        FIN_LIM,
        DEV_CHO,
    ];
    let mut sessions = Vec::new();
    for who in people {
        let token = app.login(who).await;
        let me = app.get("/api/me", &token).await.body;
        let actor = domain::Actor {
            id: who,
            roles: serde_json::from_value(me["roles"].clone()).unwrap(),
            department: serde_json::from_value(me["department"].clone()).unwrap(),
        };
        sessions.push((actor, token));
    }
    let auditor = &sessions[9].1;
    let (mut shown, mut hidden) = (0, 0);
    for n in 201..=207u128 {
        let path = format!("/api/approvals/{}", demo_id(n));
        let as_auditor = app.get(&path, auditor).await;
        // Auditors read every submitted document; a draft is its drafter's alone.
        let doc: Option<domain::approval::ApprovalDocument> =
            (as_auditor.status == StatusCode::OK).then(|| serde_json::from_value(as_auditor.body.clone()).unwrap());
        let mut seen_by = 0;
        for (actor, token) in &sessions {
            let reply = app.get(&path, token).await;
            let visible = reply.status == StatusCode::OK;
            if let Some(doc) = &doc {
                assert_eq!(
                    visible,
                    doc.visible_to(actor),
                    "{path} for {}: {}",
                    actor.id,
                    reply.body
                );
            }
            if visible {
                seen_by += 1;
                shown += 1;
                continue;
            }
            hidden += 1;
            problem(&reply, StatusCode::NOT_FOUND, "not_found");
            for version in [1, 2, 3, 9] {
                for (action, body) in [
                    ("approve", json!({})),
                    ("withdraw", json!({})),
                    ("hold", json!({ "reason": "x" })),
                    ("comments", json!({ "text": "x" })),
                ] {
                    let acted = app.post(&format!("{path}/{action}"), token, body, Some(version)).await;
                    problem(&acted, StatusCode::NOT_FOUND, "not_found");
                }
            }
        }
        if doc.is_none() {
            assert_eq!(seen_by, 1, "{path} is a draft: only its drafter sees it");
        }
    }
    assert!(
        shown > 0 && hidden > 0,
        "the matrix has both outcomes ({shown} shown, {hidden} hidden)"
    );
}

/// 출근 / 퇴근: stamped by the server's clock, one open shift at a time, a check-out needs a
/// check-in, and the answer carries the day.
async fn attendance_is_stamped_by_the_server_and_one_shift_is_open_at_a_time(app: App) {
    let yoon = app.login(DEV_YOON).await;
    // A body naming a time is refused before anything is recorded: the client's clock is not
    // the record.
    let with_time = app
        .post(
            "/api/attendance/check-in",
            &yoon,
            json!({ "at": "2020-01-01T00:00:00Z" }),
            None,
        )
        .await;
    problem(&with_time, StatusCode::BAD_REQUEST, "malformed_request");
    let early = app.post("/api/attendance/check-out", &yoon, json!({}), None).await;
    problem(&early, StatusCode::CONFLICT, "not_checked_in");

    let before = chrono::Utc::now();
    let checked_in = app.post("/api/attendance/check-in", &yoon, json!({}), None).await;
    let after = chrono::Utc::now();
    assert_eq!(checked_in.status, StatusCode::OK, "{}", checked_in.body);
    assert_eq!(checked_in.body["events"], json!(["attendance.checked_in"]));
    let day = &checked_in.body["attendance"];
    assert_eq!(day["state"], "working");
    assert_eq!(day["employee"], DEV_YOON.0.to_string());
    let stamped: chrono::DateTime<chrono::Utc> = day["first_in"].as_str().unwrap().parse().unwrap();
    assert!(
        before <= stamped && stamped <= after,
        "{stamped} is the server's time of the request"
    );
    let kst = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
    assert_eq!(day["day"], stamped.with_timezone(&kst).date_naive().to_string());
    assert!(checked_in.body["position"].as_str().unwrap().starts_with("attendance:"));

    let twice = app.post("/api/attendance/check-in", &yoon, json!({}), None).await;
    problem(&twice, StatusCode::CONFLICT, "already_checked_in");

    let checked_out = app.post("/api/attendance/check-out", &yoon, json!({}), None).await;
    assert_eq!(checked_out.status, StatusCode::OK, "{}", checked_out.body);
    assert_eq!(checked_out.body["attendance"]["state"], "done");
    let out: chrono::DateTime<chrono::Utc> = checked_out.body["attendance"]["last_out"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(out >= stamped);
    let again = app.post("/api/attendance/check-out", &yoon, json!({}), None).await;
    problem(&again, StatusCode::CONFLICT, "not_checked_in");

    // Someone else's day is their own: another employee checks in on a stream of their own.
    let kang = app.login(DEV_KANG).await;
    let other = app.post("/api/attendance/check-in", &kang, json!({}), None).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    assert_eq!(other.body["attendance"]["employee"], DEV_KANG.0.to_string());
    assert_eq!(other.body["version"], 1);
}

macro_rules! api_suite {
    ($adapter:ident, $spawn:expr) => {
        mod $adapter {
            use super::*;
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        super::$name($spawn.await).await;
                    }
                };
            }
            case!(health_readiness_and_the_api_document_are_served);
            case!(a_verified_quest_credits_its_leave_reward_once);
            case!(notifications_are_marked_read_by_their_reader_as_commands);
            case!(an_attachment_is_uploaded_named_in_a_draft_and_downloaded_only_by_those_who_may_see_it);
            case!(the_accrual_run_books_leave_by_the_act_once);
            case!(a_submitted_document_is_approved_by_the_next_approver_and_numbered);
            case!(every_document_action_has_a_working_path);
            case!(hr_manages_the_organisation_and_leave);
            case!(bad_requests_get_problem_documents_with_stable_codes);
            case!(a_retried_command_returns_the_first_answer_and_records_nothing);
            case!(two_conflicting_decisions_race_and_exactly_one_wins);
            case!(pending_leave_requests_never_hold_more_than_the_balance);
            case!(a_leave_request_refused_then_retried_under_its_key_holds_its_days);
            case!(comments_without_if_match_all_land_under_contention);
            case!(the_authority_table_is_hr_policy_that_decides_who_must_approve);
            case!(nobody_reaches_a_document_that_is_not_theirs_over_rest);
            case!(attendance_is_stamped_by_the_server_and_one_shift_is_open_at_a_time);
        }
    };
}

async fn embedded() -> App {
    let dir = tempfile::tempdir().unwrap().keep();
    embedded_with(Settings {
        attachments: Some(Arc::new(infra::attachments::DirStore::new(dir))),
        ..attachment_settings()
    })
    .await
}

/// The demo settings with a small upload limit, so a test can cross it.
fn attachment_settings() -> Settings {
    Settings {
        attachment_max_bytes: 4096,
        ..demo_settings()
    }
}

async fn embedded_with(settings: Settings) -> App {
    embedded_with_state(settings).await.0
}

async fn embedded_with_state(settings: Settings) -> (App, command_api::AppState) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    App::spawn_with_state(log, Some(dir), settings).await
}

async fn kafka() -> App {
    let brokers =
        std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| panic!("ERP_TEST_KAFKA is not set: run scripts/test"));
    let mut config = KafkaConfig::local(brokers, format!("t{}", Uuid::now_v7().simple()), &streams::ALL);
    config.partitions = 2;
    let log = KafkaLog::connect(config, Upcasters::default()).await.unwrap();
    while log.owned_partitions().len() < 2 * streams::ALL.len() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mongo =
        std::env::var("ERP_TEST_MONGO").unwrap_or_else(|_| panic!("ERP_TEST_MONGO is not set: run scripts/test"));
    let gridfs = infra::attachments::GridFsStore::connect(&mongo, &format!("a{}", Uuid::now_v7().simple()))
        .await
        .unwrap();
    let settings = Settings {
        attachments: Some(Arc::new(gridfs)),
        ..attachment_settings()
    };
    App::spawn(Arc::new(log), None, settings).await
}

api_suite!(on_embedded_log, embedded());
api_suite!(on_kafka, kafka());

/// Two command-API instances in one writer group split the partitions; each forwards what it
/// does not own, so a client may talk to either. When one stops, the other takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_serve_every_stream_and_survive_one_stopping() {
    let brokers =
        std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| panic!("ERP_TEST_KAFKA is not set: run scripts/test"));
    let prefix = format!("t{}", Uuid::now_v7().simple());
    let mut apps = Vec::new();
    let mut logs = Vec::new();
    for _ in 0..2 {
        let (app, state, log) = kafka_instance(&brokers, &prefix).await;
        apps.push((app, state));
        logs.push(log);
    }
    let total = 4 * streams::ALL.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let settled = |logs: &[KafkaLog]| {
        logs.iter().map(|l| l.owned_partitions().len()).sum::<usize>() == total
            && logs.iter().all(|l| !l.owned_partitions().is_empty())
    };
    while !settled(&logs) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "partitions never split between the instances"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // owner announcements
    seed_if_empty(&apps[0].1).await.map_err(|e| e.detail).unwrap();

    let (a, b) = (&apps[0].0, &apps[1].0);
    let kang = a.login(DEV_KANG).await;
    let lead = b.login(PLATFORM_LEAD).await;
    let mut documents = Vec::new();
    for _ in 0..8 {
        let (id, v) = a.submitted(&kang, line(&[PLATFORM_LEAD])).await;
        let approved = b
            .post(&format!("/api/approvals/{id}/approve"), &lead, json!({}), Some(v))
            .await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
        documents.push(StreamRef::new(streams::APPROVAL, id.to_string()));
    }
    // Either instance tells every stream's version without its history — from its own heads,
    // or asked of the owner — so a command on either folds a state it kept. (The numbering
    // process manager may still be adding its commit: asked again until the two agree with
    // the history.)
    for stream in &documents {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let history = logs[0].read_stream(stream).await.unwrap().last().map(|e| e.version);
            let mut told = Vec::new();
            for log in &logs {
                told.push(log.stream_version(stream).await.unwrap());
            }
            if told == [history, history] {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{stream}: told {told:?}, history at {history:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    logs[0].shutdown().await; // instance A leaves the group; B takes its partitions
    let mut served = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while served < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the survivor never served every stream"
        );
        let draft = b
            .post(
                "/api/approvals",
                &kang,
                json!({ "form": "general", "title": "인계 후", "body": { "content": "x" } }),
                None,
            )
            .await;
        if draft.status == StatusCode::CREATED {
            served += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let _ = a;
}

// ---- the HTTP edge: headers, panics, rate limits, the internal listener ----

async fn raw(app: &App, method: &str, path: &str) -> reqwest::Response {
    app.http
        .request(method.parse().unwrap(), format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: CSP {csp:?}");
    assert!(csp.contains("script-src 'self'"), "{what}: CSP {csp:?}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let app = embedded().await;
    for (method, path) in [
        ("GET", "/healthz"),
        ("GET", "/docs"),
        ("GET", "/docs.js"),
        ("GET", "/openapi.json"),
        ("GET", "/nope"),
        ("GET", "/api/me"),
        ("POST", "/api/approvals"),
    ] {
        assert_security_headers(&raw(&app, method, path).await, &format!("{method} {path}"));
    }
    let docs = raw(&app, "GET", "/docs").await.text().await.unwrap();
    assert!(
        !docs.contains("<script>"),
        "the API viewer needs no inline script (CSP script-src 'self')"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_a_problem_500_and_the_server_keeps_serving() {
    async fn boom() -> &'static str {
        panic!("handler bug")
    }
    let router = axum::Router::new()
        .route("/boom", axum::routing::get(boom))
        .route("/fine", axum::routing::get(|| async { "fine" }));
    let base = serve(command_api::edge::harden(router)).await;
    let http = reqwest::Client::new();
    let boom = http
        .get(format!("{base}/boom"))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(boom.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(boom.headers()["content-type"], "application/problem+json");
    assert_security_headers(&boom, "the panic's answer");
    let body: Value = boom.json().await.unwrap();
    assert_eq!(body["code"], "internal");
    assert!(
        !body.to_string().contains("handler bug"),
        "the panic message stays in the log"
    );
    assert_eq!(
        http.get(format!("{base}/fine")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

fn limited(burst: u32, per_second: u32) -> Settings {
    Settings {
        rate_limit: command_api::ratelimit::RateLimit {
            enabled: true,
            burst,
            per_second,
        },
        ..demo_settings()
    }
}

/// Sends a request's head and half its body, so it holds its place in the instance until the
/// connection is dropped.
async fn half_sent_command(base: &str, token: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/approvals HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"form\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_at_capacity_refuses_at_once_with_503_and_retry_after_and_still_answers_probes() {
    let app = embedded_with(Settings {
        admission: infra::admission::AdmissionLimits {
            max_in_flight: 2,
            max_queue: 0,
            max_wait: std::time::Duration::from_secs(5),
        },
        ..demo_settings()
    })
    .await;
    let kang = app.login(DEV_KANG).await;
    let _holding = [
        half_sent_command(&app.base, &kang).await,
        half_sent_command(&app.base, &kang).await,
    ];
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let refused = app
        .http
        .get(format!("{}/api/me", app.base))
        .bearer_auth(&kang)
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "shed at once, not after the wait: {:?}",
        started.elapsed()
    );
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "overloaded", "{body}");
    for probe in ["/healthz", "/readyz"] {
        let answer = app.http.get(format!("{}{probe}", app.base)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{probe} answers at capacity");
    }
    drop(_holding);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        app.get("/api/me", &kang).await.status,
        StatusCode::OK,
        "places come back when the requests holding them end"
    );
}

/// `erp up` runs the command API with the CPU-bound limits (few places, a short line, a short
/// wait): an ordinary burst — two dozen comments on one document at once, each waiting for the
/// others' commits — must still all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_comments_on_one_document_lands_under_the_limits_erp_up_runs_with() {
    let app = embedded_with(Settings {
        admission: infra::admission::AdmissionLimits::cpu_bound(),
        ..demo_settings()
    })
    .await;
    let kang = app.login(DEV_KANG).await;
    let (id, _) = app.submitted(&kang, line(&[PLATFORM_LEAD, DEV_HEAD])).await;
    let path = format!("/api/approvals/{id}/comments");
    let replies = futures::future::join_all((0..24).map(|n| {
        let (path, kang, app) = (path.clone(), kang.clone(), &app);
        async move {
            app.post(&path, &kang, json!({ "text": format!("의견 {n}") }), None)
                .await
        }
    }))
    .await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_for_a_place_within_the_bound_instead_of_being_refused() {
    let app = embedded_with(Settings {
        admission: infra::admission::AdmissionLimits {
            max_in_flight: 1,
            max_queue: 8,
            max_wait: std::time::Duration::from_secs(5),
        },
        ..demo_settings()
    })
    .await;
    let kang = app.login(DEV_KANG).await;
    let holding = half_sent_command(&app.base, &kang).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let waiting = {
        let (http, base, kang) = (app.http.clone(), app.base.clone(), kang.clone());
        tokio::spawn(async move { http.get(format!("{base}/api/me")).bearer_auth(kang).send().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(holding);
    let answer = waiting.await.unwrap().unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "admitted once the place was freed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_over_the_rate_limit_gets_429_with_retry_after_and_other_callers_do_not() {
    let app = embedded_with(limited(5, 1)).await;
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    for _ in 0..5 {
        assert_eq!(app.get("/api/me", &kang).await.status, StatusCode::OK);
    }
    let refused = app
        .http
        .get(format!("{}/api/me", app.base))
        .bearer_auth(&kang)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert_eq!(
        app.get("/api/me", &lead).await.status,
        StatusCode::OK,
        "each employee has a bucket of their own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_token_are_limited_per_peer_address() {
    let app = embedded_with(limited(3, 1)).await;
    let login = || {
        app.call(
            "POST",
            "/auth/dev-login",
            None,
            Some(json!({ "employee_id": DEV_KANG.0 })),
            &[],
        )
    };
    for _ in 0..3 {
        assert_eq!(login().await.status, StatusCode::OK);
    }
    problem(&login().await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let forged = app.call("GET", "/api/me", Some("not.a.token"), None, &[]).await;
    problem(&forged, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiting_can_be_turned_off() {
    let mut settings = limited(1, 1);
    settings.rate_limit.enabled = false;
    let app = embedded_with(settings).await;
    let kang = app.login(DEV_KANG).await;
    for _ in 0..20 {
        assert_eq!(app.get("/api/me", &kang).await.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_log_is_served_to_peers_on_the_internal_listener_only() {
    let settings = Settings {
        internal_token: Some("peer-secret".into()),
        ..demo_settings()
    };
    let (app, state) = embedded_with_state(settings).await;
    let forwarded =
        json!({ "op": "read_stream", "stream": { "stream_type": "approval", "stream_id": Uuid::now_v7() } });
    let public = app
        .call(
            "POST",
            "/internal/log",
            None,
            Some(forwarded.clone()),
            &[("x-erp-internal-token", "peer-secret".into())],
        )
        .await;
    problem(&public, StatusCode::NOT_FOUND, "not_found");

    let internal = App {
        base: serve(command_api::internal_router(&state).unwrap()).await,
        http: reqwest::Client::new(),
        _dir: None,
    };
    let peer = internal
        .call(
            "POST",
            "/internal/log",
            None,
            Some(forwarded.clone()),
            &[("x-erp-internal-token", "peer-secret".into())],
        )
        .await;
    assert_eq!(peer.status, StatusCode::OK, "{}", peer.body);
    for token in ["wrong", "peer-secre", "peer-secret2", ""] {
        let stranger = internal
            .call(
                "POST",
                "/internal/log",
                None,
                Some(forwarded.clone()),
                &[("x-erp-internal-token", token.into())],
            )
            .await;
        problem(&stranger, StatusCode::FORBIDDEN, "forbidden");
    }
    let anonymous = internal.call("POST", "/internal/log", None, Some(forwarded), &[]).await;
    problem(&anonymous, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_internal_token_opens_no_internal_endpoint() {
    let settings = Settings {
        internal_token: Some(String::new()),
        ..demo_settings()
    };
    let (app, state) = embedded_with_state(settings).await;
    let forwarded =
        json!({ "op": "read_stream", "stream": { "stream_type": "approval", "stream_id": Uuid::now_v7() } });
    let empty = app
        .call(
            "POST",
            "/internal/log",
            None,
            Some(forwarded),
            &[("x-erp-internal-token", String::new())],
        )
        .await;
    assert!(!empty.status.is_success(), "{}", empty.body);
    assert!(command_api::internal_router(&state).is_none());
}

// ---- readiness and metrics report the log's faults ----

/// The embedded log, reporting the faults it is set to: what a Kafka owner reports, without
/// having to break one.
struct FaultyLog {
    inner: EmbeddedLog,
    health: std::sync::Mutex<LogHealth>,
}

#[async_trait::async_trait]
impl EventLog for FaultyLog {
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        self.inner.append(commit).await
    }
    async fn find_command(&self, stream: &StreamRef, command_id: Uuid) -> Result<Option<Appended>, EventLogError> {
        self.inner.find_command(stream, command_id).await
    }
    async fn read_stream(&self, stream: &StreamRef) -> Result<Vec<RecordedEvent>, EventLogError> {
        self.inner.read_stream(stream).await
    }
    async fn subscribe(&self, stream_type: &str, from: Checkpoint) -> Result<Box<dyn Subscription>, EventLogError> {
        self.inner.subscribe(stream_type, from).await
    }
    async fn end_offsets(&self, stream_type: &str) -> Result<Checkpoint, EventLogError> {
        self.inner.end_offsets(stream_type).await
    }
    fn partitions(&self) -> u32 {
        self.inner.partitions()
    }
    fn health(&self) -> LogHealth {
        self.health.lock().unwrap().clone()
    }
}

async fn metrics(app: &App) -> String {
    let reply = app.call("GET", "/metrics", None, None, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type.starts_with("text/plain"), "{}", reply.content_type);
    reply.body.as_str().unwrap().to_owned()
}

fn gauge(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} in\n{text}"))
}

/// A partition that never becomes ready, or a stream whose owner holds another head than the
/// log, fails every command of those streams while the process looks alive: readiness says
/// so and names them, and the metrics count them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_the_partitions_and_streams_the_log_reports_stuck_and_metrics_count_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(FaultyLog {
        inner: EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap(),
        health: std::sync::Mutex::new(LogHealth::default()),
    });
    let (state, router) = command_api::build(log.clone(), demo_auth(), demo_settings());
    let app = App {
        base: serve(router.merge(command_api::metrics_router(&state))).await,
        http: reqwest::Client::new(),
        _dir: Some(dir),
    };
    let ready = app.call("GET", "/readyz", None, None, &[]).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    let text = metrics(&app).await;
    assert_eq!(gauge(&text, "erp_eventlog_stuck_streams"), 0);
    assert_eq!(gauge(&text, "erp_eventlog_partitions_not_ready"), 0);

    *log.health.lock().unwrap() = LogHealth {
        partitions_owned: 2,
        partitions_not_ready: vec![UnreadyPartition {
            stream_type: "employee".into(),
            partition: 5,
            assigned_secs: 120,
            restore_failures: 9,
        }],
        stuck_streams: vec![StuckStream {
            stream_type: "approval".into(),
            partition: 1,
            stream_id: "0190-stuck".into(),
            owner_version: 7,
            log_version: 5,
            at_offset: 40,
        }],
        restore_failures_total: 9,
    };
    let stuck = app.call("GET", "/readyz", None, None, &[]).await;
    problem(&stuck, StatusCode::SERVICE_UNAVAILABLE, "log_faults");
    let detail = stuck.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("approval/0190-stuck") && detail.contains("employee/5"),
        "{detail}"
    );
    assert_eq!(stuck.body["stuck_streams"][0]["stream_id"], "0190-stuck");
    assert_eq!(stuck.body["partitions_not_ready"][0]["partition"], 5);
    let text = metrics(&app).await;
    assert_eq!(gauge(&text, "erp_eventlog_stuck_streams"), 1);
    assert_eq!(gauge(&text, "erp_eventlog_partitions_not_ready"), 1);
    assert_eq!(gauge(&text, "erp_eventlog_restore_failures_total"), 9);
}

// ---- an instance whose org directory is behind the log ----

/// Another instance's view of the same log, whose employee feed delivers nothing until
/// released: an instance that started a moment ago and has not read the org streams yet.
struct LaggingDirectoryLog {
    inner: Arc<EmbeddedLog>,
    release: tokio::sync::watch::Receiver<bool>,
    /// How often anyone asked for the log's end.
    end_offsets_asked: std::sync::atomic::AtomicUsize,
}

/// The employee feed, held until released.
struct HeldFeed {
    inner: Box<dyn Subscription>,
    release: tokio::sync::watch::Receiver<bool>,
}

#[async_trait::async_trait]
impl Subscription for HeldFeed {
    async fn next_batch(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<infra::eventlog::Delivered>, EventLogError> {
        if !*self.release.borrow() {
            let _ = tokio::time::timeout(wait, self.release.wait_for(|released| *released)).await;
            return Ok(Vec::new());
        }
        self.inner.next_batch(max, wait).await
    }
    fn checkpoint(&self) -> &Checkpoint {
        self.inner.checkpoint()
    }
}

#[async_trait::async_trait]
impl EventLog for LaggingDirectoryLog {
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        self.inner.append(commit).await
    }
    async fn find_command(&self, stream: &StreamRef, command_id: Uuid) -> Result<Option<Appended>, EventLogError> {
        self.inner.find_command(stream, command_id).await
    }
    async fn read_stream(&self, stream: &StreamRef) -> Result<Vec<RecordedEvent>, EventLogError> {
        self.inner.read_stream(stream).await
    }
    async fn subscribe(&self, stream_type: &str, from: Checkpoint) -> Result<Box<dyn Subscription>, EventLogError> {
        let inner = self.inner.subscribe(stream_type, from).await?;
        if stream_type != streams::EMPLOYEE {
            return Ok(inner);
        }
        Ok(Box::new(HeldFeed {
            inner,
            release: self.release.clone(),
        }))
    }
    async fn end_offsets(&self, stream_type: &str) -> Result<Checkpoint, EventLogError> {
        self.end_offsets_asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.end_offsets(stream_type).await
    }
    fn partitions(&self) -> u32 {
        self.inner.partitions()
    }
}

/// Instance A on a seeded embedded log, and instance B on the same log whose employee feed is
/// held until the returned sender says `true`.
async fn an_instance_behind() -> (App, App, tokio::sync::watch::Sender<bool>) {
    let (a, b, release, _) = an_instance_behind_counting().await;
    (a, b, release)
}

/// As [`an_instance_behind`], with B's log that counts the requests for its end.
async fn an_instance_behind_counting() -> (App, App, tokio::sync::watch::Sender<bool>, Arc<LaggingDirectoryLog>) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    let a = App::spawn(log.clone(), Some(dir), demo_settings()).await;
    let (release, held) = tokio::sync::watch::channel(false);
    let lagging = Arc::new(LaggingDirectoryLog {
        inner: log,
        release: held,
        end_offsets_asked: Default::default(),
    });
    let (_, router) = command_api::build(lagging.clone(), demo_auth(), demo_settings());
    let b = App {
        base: serve(router).await,
        http: reqwest::Client::new(),
        _dir: None,
    };
    (a, b, release, lagging)
}

/// A line naming made-up people makes the directory look for them in the log, which costs a
/// broker round trip per partition: requests doing it at once share one look, so a caller
/// cannot multiply the log's load by naming strangers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_naming_strangers_share_one_look_at_the_log() {
    let (a, b, release, log) = an_instance_behind_counting().await;
    release.send(true).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while b.call("GET", "/readyz", None, None, &[]).await.status != StatusCode::OK {
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kang = a.login(DEV_KANG).await;
    let mut paths = Vec::new();
    for _ in 0..6 {
        let stranger = EmployeeId(Uuid::now_v7());
        let draft = b
            .post(
                "/api/approvals",
                &kang,
                json!({ "form": "general", "title": "낯선 결재자", "body": { "content": "x" }, "line": line(&[stranger]) }),
                None,
            )
            .await;
        assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
        paths.push(format!("/api/approvals/{}/submit", draft.body["id"].as_str().unwrap()));
    }
    let before = log.end_offsets_asked.load(std::sync::atomic::Ordering::SeqCst);
    let submits = paths.iter().map(|p| b.post(p, &kang, json!({}), Some(1)));
    for refused in futures::future::join_all(submits).await {
        problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_line");
    }
    let asked = log.end_offsets_asked.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(asked <= 2, "six submissions asked for the log's end {asked} times");
}

/// An instance that has not read the org streams since it started would refuse every drafter
/// as unknown: it is not ready until its directory has caught up, so a balancer keeps callers
/// away from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_is_not_ready_until_its_org_directory_has_caught_up_with_the_log() {
    let (_a, b, release) = an_instance_behind().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    problem(
        &b.call("GET", "/readyz", None, None, &[]).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "directory_behind",
    );
    release.send(true).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ready = b.call("GET", "/readyz", None, None, &[]).await;
        if ready.status == StatusCode::OK {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ready: {}", ready.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The employee registered a moment ago on another instance drafts here at once: a submission
/// whose drafter the directory has not heard of catches the directory up with the log before
/// it decides, instead of answering 422 `unknown_drafter`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drafter_the_directory_has_not_heard_of_yet_is_waited_for_not_refused() {
    let (a, b, release) = an_instance_behind().await;
    let kang = a.login(DEV_KANG).await;
    let draft = b
        .post(
            "/api/approvals",
            &kang,
            json!({ "form": "general", "title": "방금 입사", "body": { "content": "본문" }, "line": line(&[PLATFORM_LEAD]) }),
            None,
        )
        .await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let id = draft.body["id"].as_str().unwrap().to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        release.send(true).unwrap();
    });
    let submit = b
        .post(&format!("/api/approvals/{id}/submit"), &kang, json!({}), Some(1))
        .await;
    assert_eq!(submit.status, StatusCode::OK, "{}", submit.body);
}

/// Whether `text` has a sample of `name` whose labels include all of `labels` (other tests of
/// this process may have added series of their own).
fn has_series(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Each command is counted by its route and code (`ok`, or the problem's code), each request
/// timed under its route template, and the log's appends timed: what the dashboards and the
/// error-rate alert read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_commands_by_code_and_time_requests_by_route_template() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    let (app, state) = App::spawn_with_state(log, Some(dir), demo_settings()).await;
    let scrape = App {
        base: serve(command_api::metrics_router(&state)).await,
        http: reqwest::Client::new(),
        _dir: None,
    };
    let kang = app.login(DEV_KANG).await;
    let (id, version) = app.submitted(&kang, line(&[PLATFORM_LEAD])).await;
    let stale = app
        .post(
            &format!("/api/approvals/{id}/withdraw"),
            &kang,
            json!({}),
            Some(version - 1),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let unsigned = app.call("POST", "/api/approvals", None, Some(json!({})), &[]).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);

    let text = metrics(&scrape).await;
    for (name, labels) in [
        (
            "erp_commands_total",
            &["command=\"POST /api/approvals\"", "code=\"ok\""][..],
        ),
        (
            "erp_commands_total",
            &["command=\"POST /api/approvals/{id}/submit\"", "code=\"ok\""],
        ),
        (
            "erp_commands_total",
            &[
                "command=\"POST /api/approvals/{id}/withdraw\"",
                "code=\"version_conflict\"",
            ],
        ),
        (
            "erp_commands_total",
            &["command=\"POST /api/approvals\"", "code=\"unauthenticated\""],
        ),
        (
            "erp_http_request_duration_seconds_bucket",
            &[
                "role=\"command-api\"",
                "route=\"/api/approvals/{id}/submit\"",
                "method=\"POST\"",
                "status=\"200\"",
                "le=\"0.1\"",
            ],
        ),
        (
            "erp_http_requests_total",
            &["role=\"command-api\"", "route=\"/auth/dev-login\"", "status=\"200\""],
        ),
        (
            "erp_eventlog_append_duration_seconds_count",
            &["log=\"embedded\"", "result=\"ok\""],
        ),
    ] {
        assert!(
            has_series(&text, name, labels).is_some(),
            "{name} {labels:?} in\n{text}"
        );
    }
    assert!(!text.contains(&id), "a document id became a label:\n{text}");
    assert!(text.contains("# TYPE erp_commands_total counter"), "{text}");
}

// ---- found by `erp bench fuzz`: numbers at the top of the decimal range ----

const DECIMAL_MAX: &str = "79228162514264337593543950335";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expense_whose_line_items_overflow_a_decimal_is_refused_not_a_500() {
    let app = embedded().await;
    let kang = app.login(DEV_KANG).await;
    let expense = json!({ "form": "expense", "title": "x", "line": line(&[PLATFORM_LEAD]),
        "body": { "purpose": "p", "spent_on": "2026-03-02",
                  "items": [{ "description": "a", "quantity": DECIMAL_MAX, "unit_price": DECIMAL_MAX }] } });
    let draft = app.post("/api/approvals", &kang, expense, None).await;
    problem(&draft, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let two_halves = json!({ "form": "expense", "title": "x", "line": line(&[PLATFORM_LEAD]),
        "body": { "purpose": "p", "spent_on": "2026-03-02",
                  "items": [{ "description": "a", "quantity": "1", "unit_price": DECIMAL_MAX },
                            { "description": "b", "quantity": "1", "unit_price": DECIMAL_MAX }] } });
    problem(
        &app.post("/api/approvals", &kang, two_halves, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_days_at_the_top_of_the_decimal_range_are_refused_not_a_500() {
    let app = embedded().await;
    let hr = app.login(HR).await;
    for days in [DECIMAL_MAX.to_owned(), format!("-{DECIMAL_MAX}")] {
        let adjust = app
            .post(
                &format!("/api/leave/{}/adjustments", DEV_KANG.0),
                &hr,
                json!({ "days": days, "reason": "정정" }),
                None,
            )
            .await;
        problem(&adjust, StatusCode::UNPROCESSABLE_ENTITY, "invalid_days");
    }
    let grant = app
        .post(
            &format!("/api/leave/{}/grants", DEV_KANG.0),
            &hr,
            json!({ "year": 2031, "days": DECIMAL_MAX }),
            None,
        )
        .await;
    problem(&grant, StatusCode::UNPROCESSABLE_ENTITY, "invalid_days");
}

/// One command-API instance on the Kafka log, in the writer group of `prefix`: the public
/// router on a free port, and the internal listener (peer forwarding) announced to the others.
async fn kafka_instance(brokers: &str, prefix: &str) -> (App, command_api::AppState, KafkaLog) {
    // The internal listener's address is announced before it is served: reserve a port.
    let listener_probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal_port = listener_probe.local_addr().unwrap().port();
    drop(listener_probe);
    let mut config = KafkaConfig::local(brokers.to_owned(), prefix.to_owned(), &streams::ALL);
    config.partitions = 4;
    config.snapshot_interval = Duration::from_millis(500);
    config.advertised_url = Some(format!("http://127.0.0.1:{internal_port}"));
    config.internal_token = Some("peer-secret".into());
    let log = KafkaLog::connect(config, Upcasters::default()).await.unwrap();
    let settings = Settings {
        internal_token: Some("peer-secret".into()),
        ..demo_settings()
    };
    let (state, router) = command_api::build(Arc::new(log.clone()), demo_auth(), settings);
    let internal = command_api::internal_router(&state).unwrap();
    let internal = command_api::Application::bind(format!("127.0.0.1:{internal_port}").parse().unwrap(), internal)
        .await
        .unwrap();
    tokio::spawn(internal.run_until_stopped(std::future::pending()));
    let app = App {
        base: serve(router).await,
        http: reqwest::Client::new(),
        _dir: None,
    };
    (app, state, log)
}

/// After a join or leave every owner restores heads from snapshots, so it holds no older
/// stream's history; a request to the instance that does not own the caller's employee stream
/// is forwarded to the owner, which must still serve it (it answered 503 "not cached").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_instances_serve_every_caller_after_a_rebalance() {
    let brokers =
        std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| panic!("ERP_TEST_KAFKA is not set: run scripts/test"));
    let prefix = format!("t{}", Uuid::now_v7().simple());
    let (a, state, log_a) = kafka_instance(&brokers, &prefix).await;
    let (b, _, log_b) = kafka_instance(&brokers, &prefix).await;
    let total = 4 * streams::ALL.len();
    let settled = |logs: &[&KafkaLog]| {
        logs.iter().map(|l| l.owned_partitions().len()).sum::<usize>() == total
            && logs.iter().all(|l| !l.owned_partitions().is_empty())
    };
    let wait_settled = |what: &'static str| {
        let logs = [log_a.clone(), log_b.clone()];
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while !settled(&[&logs[0], &logs[1]]) {
                assert!(tokio::time::Instant::now() < deadline, "{what}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await; // owner announcements
        }
    };
    wait_settled("partitions never split between the instances").await;
    seed_if_empty(&state).await.map_err(|e| e.detail).unwrap();
    let draft = |app: &App, token: String| {
        let (base, http) = (app.base.clone(), app.http.clone());
        async move {
            http.post(format!("{base}/api/approvals"))
                .bearer_auth(token)
                .json(&json!({ "form": "general", "title": "재조정 후", "body": { "content": "x" } }))
                .send()
                .await
                .unwrap()
        }
    };
    let kang = a.login(DEV_KANG).await;
    let reply = draft(&a, kang.clone()).await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(1_500)).await; // snapshotted and committed

    // A third instance joins and leaves: two rebalances; the partitions it took and gave back
    // are restored from snapshots.
    let (_c, _, log_c) = kafka_instance(&brokers, &prefix).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while log_c.owned_partitions().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the third instance never owned a partition"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    log_c.shutdown().await;
    wait_settled("partitions never returned to the two instances").await;

    for app in [&a, &b] {
        let kang = app.login(DEV_KANG).await;
        let reply = draft(app, kang).await;
        let status = reply.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}: {}",
            app.base,
            reply.text().await.unwrap()
        );
    }
    log_a.shutdown().await;
    log_b.shutdown().await;
}

/// A record on the approval topic that no reader can decode (a tool's stray write, anyone
/// with broker access) is stepped over by the numbering process manager, and counted for the
/// alert on strays. Its subscription used to fail on it and start again from the beginning,
/// every time, so no document was numbered again; then it stepped over without counting, so
/// the command role alone never raised the alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreadable_record_on_the_approval_log_does_not_stop_numbering() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let brokers =
        std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| panic!("ERP_TEST_KAFKA is not set: run scripts/test"));
    let prefix = format!("t{}", Uuid::now_v7().simple());
    let (app, state, log) = kafka_instance(&brokers, &prefix).await;
    seed_if_empty(&state).await.map_err(|e| e.detail).unwrap();
    let operations = App {
        base: serve(command_api::metrics_router(&state)).await,
        http: reqwest::Client::new(),
        _dir: None,
    };
    let series = format!(
        "erp_eventlog_unreadable_total{{topic=\"{prefix}.{}.events\"}}",
        streams::APPROVAL
    );
    // Counted for the alert on strays, from zero: the alert reads the increase of the series,
    // and a series that first appears at 1 has none.
    let counted = |count: &'static str| {
        let (operations, series) = (&operations, &series);
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let text = metrics(operations).await;
                let counted = text.lines().find_map(|l| l.strip_prefix(&format!("{series} ")));
                if counted == Some(count) {
                    return;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{series} is {counted:?}, not {count}, in\n{text}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    counted("0").await;
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    for partition in 0..4 {
        producer
            .send(
                FutureRecord::to(&format!("{prefix}.{}.events", streams::APPROVAL))
                    .partition(partition)
                    .key("stray")
                    .payload("{\"not\": \"a commit\"}"),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    approved_and_numbered_within(&app, Duration::from_secs(20)).await;
    // Each stray counted by the reader that stepped over it.
    counted("4").await;
    log.shutdown().await;
}

/// An announcement can outlive its owner's hold on the partition (a withdrawal not yet heard,
/// or a record anyone with broker access wrote). A write sent on it is refused by the instance
/// it names; the sender answered that refusal with 503 at once, although the current owner's
/// announcement was on its way. It now waits for the next announcement and writes there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_sent_on_a_stale_announcement_reaches_the_current_owner() {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let brokers =
        std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| panic!("ERP_TEST_KAFKA is not set: run scripts/test"));
    let prefix = format!("t{}", Uuid::now_v7().simple());
    let (_a, _, log_a) = kafka_instance(&brokers, &prefix).await;
    let (_b, _, log_b) = kafka_instance(&brokers, &prefix).await;
    // A partition A writes, and B's internal address (from an announcement of B's).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let ((stream_type, at_a), b_url) = loop {
        let at_a = log_a
            .owned_partitions()
            .into_iter()
            .find(|(t, p)| log_b.announced_owner(t, *p).is_some());
        let b_url = log_b
            .owned_partitions()
            .into_iter()
            .find_map(|(t, p)| log_a.announced_owner(&t, p));
        if let (Some(at_a), Some(b)) = (at_a, b_url) {
            break (at_a, b.url);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the partitions never split and got announced: A {:?} B {:?} {:?}",
            log_a.owned_partitions(),
            log_b.owned_partitions(),
            log_a.read_announced_owners()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // A's partition announced as another instance's, at B's internal address: B forwards to
    // itself, and B does not hold the partition.
    let stale = infra::eventlog::kafka::owners::Announcement::owned(
        "an-instance-that-left",
        &b_url,
        chrono::Utc::now().timestamp_millis(),
        Duration::from_secs(60),
    );
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    let key = format!("{stream_type}/{at_a}");
    let payload = serde_json::to_vec(&stale).unwrap();
    producer
        .send(
            BaseRecord::to(&format!("{prefix}.owners"))
                .partition(0)
                .key(&key)
                .payload(&payload),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    while log_b
        .announced_owner(&stream_type, at_a)
        .is_none_or(|o| o.instance_id != stale.instance_id)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never heard the stale announcement"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stream_id = (0..)
        .map(|i| format!("stale-announcement-{i}"))
        .find(|id| infra::eventlog::partition_for(id, 4) == at_a)
        .unwrap();
    let stream = StreamRef::new(stream_type.clone(), &stream_id);
    let commit = NewCommit {
        stream: stream.clone(),
        expected: infra::eventlog::ExpectedVersion::Exact(0),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: None,
        traceparent: None,
        events: vec![infra::eventlog::NewEvent {
            event_type: "Probe".into(),
            schema_version: 1,
            payload: json!({ "n": 1 }),
        }],
    };
    let appended = tokio::time::timeout(Duration::from_secs(20), log_b.append(commit))
        .await
        .expect("the write ends within its bound")
        .expect("the write reaches the partition's current owner");
    assert_eq!(appended.last_version, 1);
    assert_eq!(log_a.read_stream(&stream).await.unwrap().len(), 1);
    log_a.shutdown().await;
    log_b.shutdown().await;
}

/// The embedded log with faults a distributed log has: the numbering sequence unavailable for
/// its first `numbering_failures` appends (a broker outage as the process manager sees it);
/// and — once `lag` is set — an approval stream's newest commit showing in reads only that
/// long after it was appended, while appends already check against it (the window a Kafka
/// owner has between accepting a commit and the broker acknowledging it).
struct Faulty {
    inner: EmbeddedLog,
    numbering_failures: std::sync::atomic::AtomicUsize,
    lag: std::sync::Mutex<Option<Duration>>,
    appended: std::sync::Mutex<std::collections::HashMap<String, (u64, std::time::Instant)>>,
}

impl Faulty {
    fn new(dir: &tempfile::TempDir, numbering_failures: usize) -> Self {
        Self {
            inner: EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap(),
            numbering_failures: numbering_failures.into(),
            lag: Default::default(),
            appended: Default::default(),
        }
    }
}

#[async_trait::async_trait]
impl EventLog for Faulty {
    async fn append(
        &self,
        commit: infra::eventlog::NewCommit,
    ) -> Result<infra::eventlog::Appended, infra::eventlog::EventLogError> {
        use std::sync::atomic::Ordering;
        if commit.stream.stream_type == streams::NUMBERING
            && self
                .numbering_failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(infra::eventlog::EventLogError::Unavailable("broker restarting".into()));
        }
        let appended = self.inner.append(commit).await?;
        if appended.stream.stream_type == streams::APPROVAL && self.lag.lock().unwrap().is_some() {
            self.appended.lock().unwrap().insert(
                appended.stream.stream_id.clone(),
                (appended.first_version, std::time::Instant::now()),
            );
        }
        Ok(appended)
    }
    async fn find_command(
        &self,
        stream: &infra::eventlog::StreamRef,
        command_id: Uuid,
    ) -> Result<Option<infra::eventlog::Appended>, infra::eventlog::EventLogError> {
        self.inner.find_command(stream, command_id).await
    }
    async fn read_stream(
        &self,
        stream: &infra::eventlog::StreamRef,
    ) -> Result<Vec<infra::eventlog::RecordedEvent>, infra::eventlog::EventLogError> {
        let mut events = self.inner.read_stream(stream).await?;
        let lag = *self.lag.lock().unwrap();
        if let (Some(lag), Some((first, at))) = (lag, self.appended.lock().unwrap().get(&stream.stream_id).copied()) {
            if at.elapsed() < lag {
                events.retain(|e| e.version < first);
            }
        }
        Ok(events)
    }
    async fn subscribe(
        &self,
        stream_type: &str,
        from: infra::eventlog::Checkpoint,
    ) -> Result<Box<dyn infra::eventlog::Subscription>, infra::eventlog::EventLogError> {
        self.inner.subscribe(stream_type, from).await
    }
    async fn end_offsets(
        &self,
        stream_type: &str,
    ) -> Result<infra::eventlog::Checkpoint, infra::eventlog::EventLogError> {
        self.inner.end_offsets(stream_type).await
    }
    fn partitions(&self) -> u32 {
        self.inner.partitions()
    }
}

/// A document approved while the log refuses the numbering process manager is still numbered
/// once the log answers again, without a restart (a failed follow-up is retried).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_approved_during_an_outage_is_numbered_once_the_log_answers() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Faulty::new(&dir, 3));
    let app = App::spawn(log, Some(dir), demo_settings()).await;
    approved_and_numbered_within(&app, Duration::from_secs(20)).await;
}

/// On a distributed log a commit can take a moment to show in reads after subscribers were
/// told of it. The process manager used to decide on such a read — a document not approved
/// yet — find nothing to do, and never number the document. It now retries until its read
/// reaches the commit the event came in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_slow_to_show_in_reads_is_still_numbered() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Faulty::new(&dir, 0));
    let app = App::spawn(log.clone(), Some(dir), demo_settings()).await;
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let (id, version) = app.submitted(&kang, line(&[PLATFORM_LEAD])).await;
    let lag = Duration::from_millis(1_500);
    *log.lag.lock().unwrap() = Some(lag);
    tokio::time::sleep(lag + Duration::from_millis(200)).await; // the submission shows again
    let approve = app
        .post(
            &format!("/api/approvals/{id}/approve"),
            &lead,
            json!({ "comment": "승인합니다" }),
            Some(version),
        )
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.body);
    let doc = eventually_within(
        &app,
        &format!("/api/approvals/{id}"),
        &kang,
        Duration::from_secs(20),
        |d| d["number_text"].is_string(),
    )
    .await;
    assert_eq!(doc["status"], "approved");
}

/// 강개발 submits a document to the platform lead, who approves it; the reactor numbers it
/// within `within` (a `GEN-` number on the document).
async fn approved_and_numbered_within(app: &App, within: Duration) {
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let (id, version) = app.submitted(&kang, line(&[PLATFORM_LEAD])).await;
    let approve = app
        .post(&format!("/api/approvals/{id}/approve"), &lead, json!({}), Some(version))
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.body);
    let doc = eventually_within(app, &format!("/api/approvals/{id}"), &kang, within, |d| {
        d["number_text"].is_string()
    })
    .await;
    assert!(doc["number_text"].as_str().unwrap().starts_with("GEN-"), "{doc}");
}

async fn eventually_within(
    app: &App,
    path: &str,
    token: &str,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let reply = app.get(path, token).await;
        if check(&reply.body) {
            return reply.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never reached the expected state: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A comment without If-Match lands even while another writer's commit takes seconds to show
/// in reads (a slow broker acknowledging a Kafka owner's produce): the command side decides
/// again for a bounded time, not for a fixed number of quick rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_lands_while_a_concurrent_commit_is_slow_to_show() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Faulty::new(&dir, 0));
    let app = App::spawn(log.clone(), Some(dir), demo_settings()).await;
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let (id, _) = app.submitted(&kang, line(&[PLATFORM_LEAD])).await;
    *log.lag.lock().unwrap() = Some(Duration::from_millis(2_500));
    let path = format!("/api/approvals/{id}/comments");
    let first = app.post(&path, &lead, json!({ "text": "먼저" }), None).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = app.post(&path, &kang, json!({ "text": "나중" }), None).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.body["version"], first.body["version"].as_u64().unwrap() + 1);
}

/// Waits until `check` holds of the drafter's leave ledger.
async fn ledger_where(
    state: &command_api::AppState,
    who: EmployeeId,
    check: impl Fn(&domain::leave::LeaveLedger) -> bool,
) {
    for _ in 0..200 {
        if check(&state.service.leave_ledger(who).await.unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the leave ledger never got there");
}

/// The events of an approval document, decoded.
async fn approval_events(state: &command_api::AppState, stream: &StreamRef) -> Vec<domain::approval::ApprovalEvent> {
    let recorded = state.service.log().read_stream(stream).await.unwrap();
    recorded
        .into_iter()
        .map(|e| serde_json::from_value(e.payload).unwrap())
        .collect()
}

/// The process managers' follow-ups are idempotent by what they do, not only by their command
/// id: each one issued for an approved and for a rejected leave request, issued again under a
/// fresh id (as after a change of how follow-up ids are derived), records nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_issued_again_under_another_id_changes_nothing() {
    use command_api::service::Meta;
    use domain::approval::{Approval, ApprovalCommand};
    use domain::numbering::{NumberCommand, NumberSequence};
    use domain::process::{on_approval_event, FollowUp};

    let (app, state) = embedded_with_state(demo_settings()).await;
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let head = app.login(DEV_HEAD).await;
    let mut documents = Vec::new();
    for decisions in [
        vec![(&lead, "approve", json!({})), (&head, "approve", json!({}))],
        vec![(&lead, "reject", json!({ "reason": "일정 조정" }))],
    ] {
        let draft = app.post("/api/approvals", &kang, leave_request("1"), None).await;
        assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
        let id = draft.body["id"].as_str().unwrap().to_owned();
        let submit = app
            .post(&format!("/api/approvals/{id}/submit"), &kang, json!({}), Some(1))
            .await;
        assert_eq!(submit.status, StatusCode::OK, "{}", submit.body);
        for (version, (who, action, body)) in (2..).zip(decisions) {
            let reply = app
                .post(&format!("/api/approvals/{id}/{action}"), who, body, Some(version))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.body);
        }
        documents.push(id);
    }
    let (approved, rejected) = (&documents[0], &documents[1]);
    eventually(&app, &format!("/api/approvals/{approved}"), &kang, |d| {
        d["number_text"].is_string()
    })
    .await;
    let (approved_id, rejected_id) = (approved.parse().unwrap(), rejected.parse().unwrap());
    let approved_id = domain::ids::ApprovalId(approved_id);
    let rejected_id = domain::ids::ApprovalId(rejected_id);
    ledger_where(&state, DEV_KANG, |l| {
        l.debits.contains_key(&approved_id) && l.available_to(rejected_id) == l.available()
    })
    .await;

    let ledger_stream = StreamRef::new(streams::LEAVE, DEV_KANG.to_string());
    let ledger_version = state.service.log().read_stream(&ledger_stream).await.unwrap().len();
    let mut issued = std::collections::BTreeSet::new();
    for id in [approved, rejected] {
        let stream = StreamRef::new(streams::APPROVAL, id.clone());
        let loaded = state.service.load::<Approval>(&stream).await.unwrap();
        let doc = loaded.state.0.unwrap();
        let form = state
            .service
            .form(&doc.form.id.0, Some(doc.form.version))
            .unwrap()
            .clone();
        for event in approval_events(&state, &stream).await {
            for step in on_approval_event(&doc, &event, &form, demo_settings().company_offset) {
                let again = Meta::system(Uuid::now_v7(), None);
                match step {
                    FollowUp::Number(command) => {
                        issued.insert("number");
                        let NumberCommand::Assign { key, .. } = &command;
                        let sequence = StreamRef::new(streams::NUMBERING, key.stream_id());
                        let outcome = state
                            .service
                            .execute::<NumberSequence>(&sequence, None, &again, &command)
                            .await
                            .unwrap();
                        assert!(outcome.events.is_empty(), "a second number: {outcome:?}");
                        let number = state.service.load::<NumberSequence>(&sequence).await.unwrap().state;
                        let record = ApprovalCommand::RecordNumber {
                            number: number.number_of(doc.id).unwrap().clone(),
                            by: domain::Actor::employee(event.actor()),
                            at: event.at(),
                        };
                        let again = Meta::system(Uuid::now_v7(), None);
                        let refused = state
                            .service
                            .execute::<Approval>(&stream, None, &again, &record)
                            .await
                            .unwrap_err();
                        assert_eq!(command_api::error::ApiError::from(refused).code, "already_numbered");
                    }
                    FollowUp::Leave(command) => {
                        issued.insert(match command {
                            domain::leave::LeaveCommand::Debit { .. } => "debit",
                            _ => "release",
                        });
                        let outcome = state
                            .service
                            .execute::<domain::leave::LeaveLedger>(&ledger_stream, None, &again, &command)
                            .await
                            .unwrap();
                        assert!(outcome.events.is_empty(), "{command:?} applied twice: {outcome:?}");
                    }
                    FollowUp::Attendance(command) => panic!("a leave request corrected attendance: {command:?}"),
                }
            }
        }
        let now = state.service.load::<Approval>(&stream).await.unwrap().version;
        assert_eq!(now, loaded.version, "{id} moved");
    }
    // Number and debit for the approved request, the release for the rejected one.
    assert_eq!(
        issued.into_iter().collect::<Vec<_>>(),
        ["debit", "number", "release"],
        "every kind of follow-up was issued again"
    );
    assert_eq!(
        state.service.log().read_stream(&ledger_stream).await.unwrap().len(),
        ledger_version,
        "the ledger moved"
    );
}

/// An attendance quest completes itself from the month's days: 강개발, on time every weekday
/// of March 2026, is verified by his days once he takes it on; 윤개발, with no days, is not,
/// and the lead's own verification of him is refused `attendance_goal_not_met`; a
/// participant cannot verify themselves, whatever their days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attendance_quest_completes_itself_from_the_months_days() {
    use chrono::{Datelike, TimeZone};
    use domain::attendance::{AttendanceDay, AttendanceEvent};
    let (app, state) = embedded_with_state(demo_settings()).await;
    let march: Vec<chrono::NaiveDate> = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .iter_days()
        .take_while(|d| d.month() == 3)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .collect();
    for day in &march {
        let kst = |h: u32| {
            chrono::Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
                + chrono::Duration::hours(i64::from(h) - 9)
        };
        let events = [
            AttendanceEvent::CheckedIn {
                employee: DEV_KANG,
                day: *day,
                at: kst(9),
                schedule: None,
            },
            AttendanceEvent::CheckedOut {
                employee: DEV_KANG,
                day: *day,
                at: kst(18),
            },
        ];
        let stream = StreamRef::new(streams::ATTENDANCE, AttendanceDay::stream_id(DEV_KANG, *day));
        let commit = NewCommit::of(stream, infra::eventlog::ExpectedVersion::Exact(0), &events).unwrap();
        state.service.log().append(commit).await.unwrap();
    }
    let lead = app.login(PLATFORM_LEAD).await;
    let deadline = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let posted = app
        .post(
            "/api/quests",
            &lead,
            json!({ "title": "3월 정시 출근", "reward": { "kind": "leave_hours", "hours": 4 }, "capacity": 5,
                "deadline": deadline, "audience": { "kind": "team" }, "goal": { "year": 2026, "month": 3 } }),
            None,
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let id = posted.body["id"].as_str().unwrap().to_owned();
    let act = |action: &str| format!("/api/quests/{id}/{action}");
    for who in [DEV_KANG, DEV_YOON] {
        let token = app.login(who).await;
        assert_eq!(
            app.post(&act("accept"), &token, json!({}), None).await.status,
            StatusCode::OK
        );
    }
    let kang = app.login(DEV_KANG).await;
    problem(
        &app.post(&act("verify"), &kang, json!({ "employee": DEV_KANG.0 }), None)
            .await,
        StatusCode::FORBIDDEN,
        "not_poster",
    );
    let yoon = app.login(DEV_YOON).await;
    assert_eq!(
        app.post(&act("submit"), &yoon, json!({}), None).await.status,
        StatusCode::OK
    );
    problem(
        &app.post(&act("verify"), &lead, json!({ "employee": DEV_YOON.0 }), None)
            .await,
        StatusCode::CONFLICT,
        "attendance_goal_not_met",
    );
    // March is over: 강개발's days complete the quest for him, without a submission or the
    // lead's hand; 윤개발's do not.
    let stream = StreamRef::new(streams::QUEST, id.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let quest = loop {
        let quest = state.service.load::<domain::quest::Quest>(&stream).await.unwrap().state;
        let posted = quest.posted().unwrap();
        if posted.participants[&DEV_KANG].status == domain::quest::ParticipationStatus::Verified {
            break posted.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the attendance quest never completed itself"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        quest.participants[&DEV_YOON].status,
        domain::quest::ParticipationStatus::Submitted
    );
    let events = state.service.log().read_stream(&stream).await.unwrap();
    let verified: Vec<&serde_json::Value> = events
        .iter()
        .map(|e| &e.payload)
        .filter(|p| p["type"] == "quest.verified")
        .collect();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0]["by_attendance"], true);
    assert_eq!(verified[0]["by"], json!(PLATFORM_LEAD.0), "on the poster's behalf");
}

/// 근태 정정 end to end: 강개발 asks for a day to read 09:00–18:00; a body whose times are not
/// times of day is refused at drafting; once his lead finally approves the document, the
/// process manager amends the day citing it, and the day's stamps stay in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finally_approved_attendance_correction_amends_the_drafters_day() {
    use domain::attendance::{AttendanceDay, Shift};
    let (app, state) = embedded_with_state(demo_settings()).await;
    let kang = app.login(DEV_KANG).await;
    let lead = app.login(PLATFORM_LEAD).await;
    let draft = |check_in: &str| {
        json!({ "form": "attendance_correction", "title": "근태 정정", "body": {
            "work_day": "2026-11-30", "check_in": check_in, "check_out": "18:00", "reason": "출입 게이트 고장" },
            "line": line(&[PLATFORM_LEAD]) })
    };
    let refused = app.post("/api/approvals", &kang, draft("9시"), None).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.to_string().contains("check_in"), "{}", refused.body);
    // A day still to come is not corrected: refused at 상신.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .to_string();
    let mut future = draft("09:00");
    future["body"]["work_day"] = json!(tomorrow);
    let drafted = app.post("/api/approvals", &kang, future, None).await;
    assert_eq!(drafted.status, StatusCode::CREATED, "{}", drafted.body);
    let id = drafted.body["id"].as_str().unwrap();
    problem(
        &app.post(&format!("/api/approvals/{id}/submit"), &kang, json!({}), Some(1))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "future_work_day",
    );

    let drafted = app.post("/api/approvals", &kang, draft("09:00"), None).await;
    assert_eq!(drafted.status, StatusCode::CREATED, "{}", drafted.body);
    let id = drafted.body["id"].as_str().unwrap().to_owned();
    let submitted = app
        .post(&format!("/api/approvals/{id}/submit"), &kang, json!({}), Some(1))
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    let approved = app
        .post(&format!("/api/approvals/{id}/approve"), &lead, json!({}), Some(2))
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);

    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let stream = StreamRef::new(streams::ATTENDANCE, AttendanceDay::stream_id(DEV_KANG, day));
    let nine_to_six = Shift::closed(
        "2026-11-30T00:00:00Z".parse().unwrap(),
        "2026-11-30T09:00:00Z".parse().unwrap(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let folded = state.service.load::<AttendanceDay>(&stream).await.unwrap().state;
        if let Some(correction) = folded.corrections.first() {
            assert_eq!(folded.shifts, vec![nine_to_six]);
            assert_eq!(correction.document.to_string(), id);
            assert_eq!(correction.by, PLATFORM_LEAD, "applied as its final approver decided");
            assert_eq!(
                folded.schedule,
                Some(domain::attendance::WorkSchedule::standard()),
                "a day never checked into records its department's schedule"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the correction never reached the day"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// 근무 일정 per department: HR gives the development department a flexible 10:00–19:00 day
/// (its platform team inherits it); anyone else is refused, and so is a body that is not a
/// schedule. 강개발's next check-in records the schedule his day is judged by.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_departments_schedule_is_set_by_hr_and_recorded_by_its_members_check_ins() {
    use domain::attendance::{AttendanceDay, CoreHours, WorkSchedule};
    let (app, state) = embedded_with_state(demo_settings()).await;
    let hr = app.login(HR).await;
    let kang = app.login(DEV_KANG).await;
    let path = format!("/api/departments/{}/schedule", DEV.0);
    let schedule = json!({ "schedule": { "start": "10:00", "end": "19:00", "break_minutes": 60,
        "core_start": "11:00", "core_end": "16:00", "work_days": ["mon", "tue", "wed", "thu", "fri"] } });
    problem(
        &app.call("PUT", &path, Some(&kang), Some(schedule.clone()), &[]).await,
        StatusCode::FORBIDDEN,
        "not_hr_admin",
    );
    let not_a_time =
        json!({ "schedule": { "start": "10시", "end": "19:00", "break_minutes": 60, "work_days": ["mon"] } });
    problem(
        &app.call("PUT", &path, Some(&hr), Some(not_a_time), &[]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_schedule",
    );
    let backwards =
        json!({ "schedule": { "start": "19:00", "end": "10:00", "break_minutes": 60, "work_days": ["mon"] } });
    problem(
        &app.call("PUT", &path, Some(&hr), Some(backwards), &[]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "schedule_end_before_start",
    );
    let set = app.call("PUT", &path, Some(&hr), Some(schedule), &[]).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);

    let expected = WorkSchedule::new(
        "10:00".parse().unwrap(),
        "19:00".parse().unwrap(),
        60,
        Some(CoreHours {
            start: "11:00".parse().unwrap(),
            end: "16:00".parse().unwrap(),
        }),
        WorkSchedule::standard().work_days,
    )
    .unwrap();
    // The directory follows the log: the check-in after it has caught up records the schedule.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !state
        .directory
        .departments()
        .iter()
        .any(|d| d.id == Some(DEV) && d.schedule.is_some())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the directory never heard of the schedule"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let checked_in = app.post("/api/attendance/check-in", &kang, json!({}), None).await;
    assert_eq!(checked_in.status, StatusCode::OK, "{}", checked_in.body);
    let day: chrono::NaiveDate = checked_in.body["attendance"]["day"].as_str().unwrap().parse().unwrap();
    let stream = StreamRef::new(streams::ATTENDANCE, AttendanceDay::stream_id(DEV_KANG, day));
    let folded = state.service.load::<AttendanceDay>(&stream).await.unwrap().state;
    assert_eq!(
        folded.schedule,
        Some(expected),
        "the platform team inherits the department's day"
    );
}
