//! The query API over real stores: SQLite (the embedded default) and MariaDB + MongoDB (the
//! distributed deployment). A small company with documents in every state; each query's
//! results, a visibility matrix over every query path, limits and bombs, time travel against
//! the fold at each event, read-your-writes.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use domain::approval::{Approval, ApprovalCommand as C, ApprovalEvent, ApprovalLine, Content, Quorum, Step};
use domain::form::{general_form, FieldValue};
use domain::ids::{ApprovalId, DepartmentId, EmployeeId};
use domain::org::{DepartmentEvent, EmployeeEvent, Position};
use domain::{Actor, Aggregate, EventType, Role, Roles};
use http_body_util::BodyExt;
use infra::auth::LocalSigner;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{streams, Checkpoint, EventLog, ExpectedVersion, NewCommit, NewEvent, StreamRef, Upcasters};
use infra::readmodel::mongo::MongoViews;
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::ApprovalViews;
use infra::readmodel::Projection;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use uuid::Uuid;

const fn emp(n: u128) -> EmployeeId {
    EmployeeId(Uuid::from_u128(0x100 + n))
}
const A: EmployeeId = emp(1); // drafter, 개발팀
const B: EmployeeId = emp(2); // 팀장, approver
const CC_: EmployeeId = emp(3); // 재무팀, agreement member
const D: EmployeeId = emp(4); // 재무팀, cc
const E: EmployeeId = emp(5); // 개발팀, outsider to A's documents
const H: EmployeeId = emp(6); // 운영팀: the receiving department
const HR: EmployeeId = emp(7);
const AUD: EmployeeId = emp(8);
const USERS: [(&str, EmployeeId); 8] = [
    ("A", A),
    ("B", B),
    ("C", CC_),
    ("D", D),
    ("E", E),
    ("H", H),
    ("HR", HR),
    ("AUD", AUD),
];
const DEV: DepartmentId = DepartmentId(Uuid::from_u128(0x901));
const FIN: DepartmentId = DepartmentId(Uuid::from_u128(0x902));
const OPS: DepartmentId = DepartmentId(Uuid::from_u128(0x903));

const DRAFT: ApprovalId = ApprovalId(Uuid::from_u128(0xa01));
const PROGRESS: ApprovalId = ApprovalId(Uuid::from_u128(0xa02));
const APPROVED: ApprovalId = ApprovalId(Uuid::from_u128(0xa03));
const WITHDRAWN: ApprovalId = ApprovalId(Uuid::from_u128(0xa04));
const OF_E: ApprovalId = ApprovalId(Uuid::from_u128(0xa05));

/// Who may see each document — written out by hand, not derived from the code under test.
const MATRIX: [(ApprovalId, &[&str]); 5] = [
    (DRAFT, &["A"]),
    (PROGRESS, &["A", "B", "C", "D", "HR", "AUD"]),
    (APPROVED, &["A", "B", "H", "HR", "AUD"]),
    (WITHDRAWN, &["A", "B", "HR", "AUD"]),
    (OF_E, &["B", "E", "HR", "AUD"]),
];

async fn append<E: serde::Serialize + EventType>(
    log: &dyn EventLog,
    stream_type: &str,
    id: impl std::fmt::Display,
    events: &[E],
) {
    let stream = StreamRef::new(stream_type, id.to_string());
    let version = log.read_stream(&stream).await.unwrap().len() as u64;
    log.append(NewCommit {
        stream,
        expected: ExpectedVersion::Exact(version),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: None,
        traceparent: None,
        events: events.iter().map(|e| NewEvent::from_domain(e).unwrap()).collect(),
    })
    .await
    .unwrap();
}

fn actor(id: EmployeeId) -> Actor {
    Actor::employee(id)
}

async fn run(log: &dyn EventLog, id: ApprovalId, command: C) {
    let stream = StreamRef::new(streams::APPROVAL, id.to_string());
    let events: Vec<ApprovalEvent> = log
        .read_stream(&stream)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_value(e.payload).unwrap())
        .collect();
    let new = Approval::fold(&events).decide(&command).unwrap();
    append(log, streams::APPROVAL, id.0, &new).await;
}

fn draft(id: ApprovalId, by: EmployeeId, title: &str, line: ApprovalLine) -> C {
    C::Draft {
        id,
        form: general_form(),
        content: Content {
            title: title.into(),
            body: [(
                "content".to_owned(),
                FieldValue::Text(format!("본문: {title}의 세부 내용")),
            )]
            .into(),
            attachments: vec![],
        },
        line,
        by: actor(by),
        at: Utc::now(),
    }
}

/// Everyone in the cast is active, every department exists.
fn roster() -> domain::approval::LineRoster {
    domain::approval::LineRoster {
        active: (1..=8).map(emp).collect(),
        departments: [DEV, FIN, OPS].into(),
    }
}

fn submit(by: EmployeeId) -> C {
    C::Submit {
        form: general_form(),
        rule: None,
        authority: domain::testkit::no_requirement(),
        roster: roster(),
        leave_balance: None,
        by: actor(by),
        at: Utc::now(),
    }
}

async fn company(log: &dyn EventLog) {
    let at = Utc::now();
    for (id, name, parent) in [(DEV, "개발팀", None), (FIN, "재무팀", None), (OPS, "운영팀", Some(DEV))] {
        append(
            log,
            streams::DEPARTMENT,
            id.0,
            &[DepartmentEvent::Created {
                id,
                name: name.into(),
                code: name.into(),
                parent,
                by: HR,
                at,
            }],
        )
        .await;
    }
    let people: [(EmployeeId, &str, DepartmentId, Roles); 8] = [
        (A, "김기안", DEV, [Role::Employee].into()),
        (B, "박팀장", DEV, [Role::Employee, Role::Manager].into()),
        (CC_, "최재무", FIN, [Role::Employee].into()),
        (D, "정참조", FIN, [Role::Employee].into()),
        (E, "윤외부", DEV, [Role::Employee].into()),
        (H, "한운영", OPS, [Role::Employee].into()),
        (HR, "이인사", FIN, [Role::Employee, Role::HrAdmin].into()),
        (AUD, "서감사", FIN, [Role::Employee, Role::Auditor].into()),
    ];
    for (id, name, department, roles) in people {
        append(
            log,
            streams::EMPLOYEE,
            id.0,
            &[EmployeeEvent::Registered {
                id,
                name: name.into(),
                email: format!("{}@demo.erp", id.0.simple()),
                department,
                position: Position {
                    title: "사원".into(),
                    rank: 1,
                },
                manager: (id != B).then_some(B),
                roles,
                by: HR,
                at,
            }],
        )
        .await;
    }
}

async fn documents(log: &dyn EventLog) {
    run(log, DRAFT, draft(DRAFT, A, "임시 문서", ApprovalLine::sequential([B]))).await;
    let progress_line = ApprovalLine {
        steps: vec![
            Step::approval(B),
            Step::Agreement {
                members: vec![CC_],
                quorum: Quorum::All,
            },
        ],
        cc: vec![D],
        receivers: vec![],
    };
    run(log, PROGRESS, draft(PROGRESS, A, "서버 구매 요청", progress_line)).await;
    run(log, PROGRESS, submit(A)).await;
    let approve = |by| C::Approve {
        comment: Some("승인합니다".into()),
        proxy: None,
        by: actor(by),
        at: Utc::now(),
    };
    run(log, PROGRESS, approve(B)).await;
    let approved_line = ApprovalLine {
        receivers: vec![OPS],
        ..ApprovalLine::sequential([B])
    };
    run(log, APPROVED, draft(APPROVED, A, "운영 이관 보고", approved_line)).await;
    run(log, APPROVED, submit(A)).await;
    run(log, APPROVED, approve(B)).await;
    run(
        log,
        WITHDRAWN,
        draft(WITHDRAWN, A, "회수한 기안", ApprovalLine::sequential([B])),
    )
    .await;
    run(log, WITHDRAWN, submit(A)).await;
    run(
        log,
        WITHDRAWN,
        C::Withdraw {
            by: actor(A),
            at: Utc::now(),
        },
    )
    .await;
    run(
        log,
        OF_E,
        draft(OF_E, E, "윤외부의 문서", ApprovalLine::sequential([B])),
    )
    .await;
    run(log, OF_E, submit(E)).await;
}

/// Applies everything in the log to the stores.
async fn project(log: &dyn EventLog, org: &SqlReadModel, views: &dyn ApprovalViews) {
    for projection in Projection::ALL {
        let from = match projection {
            Projection::Approvals => views.checkpoint().await.unwrap(),
            p => org.checkpoint(p).await.unwrap(),
        };
        let end = log.end_offsets(projection.stream_type()).await.unwrap();
        let mut sub = log.subscribe(projection.stream_type(), from).await.unwrap();
        while end
            .iter()
            .any(|(p, e)| sub.checkpoint().get(p).copied().unwrap_or(0) < *e)
        {
            let batch = sub.next_batch(500, Duration::from_millis(200)).await.unwrap();
            match projection {
                Projection::Approvals => {
                    views.apply(&batch, sub.checkpoint(), false).await.unwrap();
                }
                p => {
                    org.apply(p, &batch, sub.checkpoint()).await.unwrap();
                }
            }
        }
    }
}

struct World {
    log: Arc<dyn EventLog>,
    org: SqlReadModel,
    views: Arc<dyn ApprovalViews>,
    router: axum::Router,
    signer: LocalSigner,
    /// Where `org` lives, for a second connection that breaks it underneath.
    org_url: String,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(org_url: String, org: SqlReadModel, views: Arc<dyn ApprovalViews>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log: Arc<dyn EventLog> =
            Arc::new(EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap());
        company(&*log).await;
        documents(&*log).await;
        project(&*log, &org, &*views).await;
        let signer = LocalSigner::from_seed(&[7; 32], "erp-test", "erp");
        let stores = query_api::Stores {
            org: org.clone(),
            views: views.clone(),
            log: log.clone(),
            policy: Default::default(),
        };
        let config = query_api::QueryConfig {
            position_wait: Duration::from_millis(300),
            ..Default::default()
        };
        let router = query_api::router(stores, Arc::new(signer.verifier()), config);
        Self {
            log,
            org,
            views,
            router,
            signer,
            org_url,
            _dir: dir,
        }
    }

    /// Runs `sql` on the org store over a connection of its own, behind the API's back: a
    /// failing database, or a writer in another process.
    async fn behind_its_back(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let side = sqlx::AnyPool::connect(&self.org_url).await.unwrap();
        sqlx::query(sql).execute(&side).await.unwrap();
        side.close().await;
    }

    /// Drops a table of the org store behind its back, as a failing database would.
    async fn break_table(&self, table: &str) {
        self.behind_its_back(&format!("DROP TABLE {table}")).await;
    }

    /// The position token of `stream`'s newest commit.
    async fn newest_position(&self, stream: &StreamRef) -> String {
        self.log
            .read_stream(stream)
            .await
            .unwrap()
            .pop()
            .unwrap()
            .position
            .token()
    }

    fn token(&self, who: EmployeeId) -> String {
        self.signer
            .sign(&who.to_string(), None, Utc::now(), Duration::from_secs(600))
    }

    async fn post(&self, token: Option<&str>, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Value) {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").cloned();
        assert_eq!(
            content_type.as_ref().and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Runs a query as `who`; returns the whole response.
    async fn query(&self, who: EmployeeId, query: &str, variables: Value) -> Value {
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).unwrap();
        self.post(Some(&self.token(who)), &[], body).await.1
    }

    /// Runs a query that must succeed; returns `data`.
    async fn data(&self, who: EmployeeId, query: &str, variables: Value) -> Value {
        let response = self.query(who, query, variables).await;
        assert!(response.get("errors").is_none(), "{response}");
        response["data"].clone()
    }
}

fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn global(kind: &str, id: impl ToString) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{}", id.to_string()))
}

async fn every_query_answers_from_the_read_model(w: World) {
    let me = w
        .data(
            A,
            "{ me { name email department { name } manager { name } roles } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["name"], "김기안");
    assert_eq!(me["me"]["department"]["name"], "개발팀");
    assert_eq!(me["me"]["manager"]["name"], "박팀장");

    // B's inbox: PROGRESS waits for C now, so B has it in progress; OF_E waits for B.
    let inbox = w
        .data(
            B,
            "{ inbox(box: PENDING) { entries { edges { node { documentId title drafter { name } } } } counts { inbox count } } }",
            json!({}),
        )
        .await;
    let pending: Vec<&str> = inbox["inbox"]["entries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(pending, vec!["윤외부의 문서"]);
    assert_eq!(
        inbox["inbox"]["entries"]["edges"][0]["node"]["drafter"]["name"],
        "윤외부"
    );
    let count = |b: &str| {
        inbox["inbox"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["inbox"] == b)
            .unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((count("PENDING"), count("IN_PROGRESS"), count("COMPLETED")), (1, 1, 1));
    let received = w
        .data(
            H,
            "{ inbox(box: RECEIVED) { entries { edges { node { title } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        received["inbox"]["entries"]["edges"][0]["node"]["title"],
        "운영 이관 보고"
    );

    let doc = w
        .data(
            A,
            "query($id: ID!) { approval(id: $id) { title status version steps { kind state required members { employee { name } decision { verdict byEmployeeId } } } cc { name } currentApprovers { name } timeline { version action actor { name } note } } }",
            json!({ "id": global("Approval", PROGRESS.0) }),
        )
        .await;
    let doc = &doc["approval"];
    assert_eq!(
        (doc["status"].as_str(), doc["version"].as_u64()),
        (Some("IN_PROGRESS"), Some(3))
    );
    assert_eq!(doc["steps"][0]["state"], "DONE");
    assert_eq!(doc["steps"][0]["members"][0]["decision"]["verdict"], "AGREE");
    assert_eq!(
        (doc["steps"][1]["kind"].as_str(), doc["steps"][1]["state"].as_str()),
        (Some("AGREEMENT"), Some("CURRENT"))
    );
    assert_eq!(doc["cc"][0]["name"], "정참조");
    assert_eq!(doc["currentApprovers"][0]["name"], "최재무");
    let actions: Vec<&str> = doc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["approval.drafted", "approval.submitted", "approval.approved"]
    );
    assert_eq!(doc["timeline"][2]["note"], "승인합니다");
    assert_eq!(doc["timeline"][2]["actor"]["name"], "박팀장");

    // B's feed says why, as an enum: B was asked to decide PROGRESS.
    let feed = w
        .data(B, "{ notifications(first: 50) { documentId kind at } }", json!({}))
        .await;
    assert!(
        feed["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["documentId"] == PROGRESS.to_string() && n["kind"] == "APPROVAL_REQUESTED"),
        "{feed}"
    );

    // Body and line are typed objects, not JSON blobs.
    let typed = w
        .data(
            A,
            "query($id: ID!) { approval(id: $id) {
               body { key value { __typename ... on TextValue { text } } }
               line { steps { __typename ... on LineApproval { approverId finalAuthority } ... on LineAgreement { memberIds quorum } } ccIds receiverIds }
               attachments { name } } }",
            json!({ "id": global("Approval", PROGRESS.0) }),
        )
        .await;
    assert_eq!(
        typed["approval"],
        json!({
            "body": [{ "key": "content", "value": { "__typename": "TextValue", "text": "본문: 서버 구매 요청의 세부 내용" } }],
            "line": {
                "steps": [
                    { "__typename": "LineApproval", "approverId": B.to_string(), "finalAuthority": false },
                    { "__typename": "LineAgreement", "memberIds": [CC_.to_string()], "quorum": null },
                ],
                "ccIds": [D.to_string()],
                "receiverIds": [],
            },
            "attachments": [],
        })
    );

    // Lists and filters, paged.
    let all = w
        .data(
            AUD,
            "{ approvals(first: 2) { edges { cursor node { title } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(all["approvals"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(all["approvals"]["pageInfo"]["hasNextPage"], true);
    let mut titles: Vec<String> = all["approvals"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
        .collect();
    let rest = w
        .data(
            AUD,
            "query($after: String) { approvals(first: 10, after: $after) { edges { node { title } } pageInfo { hasNextPage } } }",
            json!({ "after": all["approvals"]["pageInfo"]["endCursor"] }),
        )
        .await;
    titles.extend(
        rest["approvals"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned()),
    );
    assert_eq!(rest["approvals"]["pageInfo"]["hasNextPage"], false);
    titles.sort();
    assert_eq!(
        titles,
        vec!["서버 구매 요청", "운영 이관 보고", "윤외부의 문서", "회수한 기안"],
        "the auditor sees every submitted document once; nobody else's draft"
    );
    let filtered = w
        .data(
            HR,
            "query($f: ApprovalFilter) { approvals(filter: $f) { edges { node { title } } } }",
            json!({ "f": { "status": "APPROVED", "formId": "general", "drafterId": A.to_string(), "text": "이관" } }),
        )
        .await;
    assert_eq!(filtered["approvals"]["edges"].as_array().unwrap().len(), 1);
    // Search reads bodies too, every word must appear, and a viewer finds only what they see.
    let search = |who, text: &str| {
        let w = &w;
        let text = text.to_owned();
        async move {
            let found = w
                .data(
                    who,
                    "query($f: ApprovalFilter) { approvals(first: 50, filter: $f) { edges { node { title } } } }",
                    json!({ "f": { "text": text } }),
                )
                .await;
            let mut titles: Vec<String> = found["approvals"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
                .collect();
            titles.sort();
            titles
        }
    };
    assert_eq!(
        search(HR, "세부").await.len(),
        4,
        "a body word finds every document HR sees"
    );
    assert_eq!(
        search(HR, "세부 이관").await,
        ["운영 이관 보고"],
        "every word must appear"
    );
    assert_eq!(
        search(HR, "  보고의   세부  ").await,
        ["운영 이관 보고"],
        "a word with its particle"
    );
    assert_eq!(
        search(E, "세부").await,
        ["윤외부의 문서"],
        "nobody finds what they may not see"
    );
    assert!(search(HR, "세부 없는말").await.is_empty());
    let by_approver = w
        .data(
            HR,
            "query($f: ApprovalFilter) { approvals(filter: $f) { edges { node { title } } } }",
            json!({ "f": { "approverId": CC_.to_string() } }),
        )
        .await;
    assert_eq!(by_approver["approvals"]["edges"][0]["node"]["title"], "서버 구매 요청");
    assert_eq!(by_approver["approvals"]["edges"].as_array().unwrap().len(), 1);

    // Directory, org chart, leave, forms, line suggestion, lag.
    let directory = w
        .data(E, "{ employees(first: 3, filter: { active: true }) { edges { node { name } } pageInfo { hasNextPage } } departments { name } orgChart { name children { name members(first: 10) { name } } } }", json!({}))
        .await;
    assert_eq!(directory["employees"]["edges"].as_array().unwrap().len(), 3);
    assert_eq!(directory["employees"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(directory["departments"].as_array().unwrap().len(), 3);
    let dev = directory["orgChart"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "개발팀")
        .unwrap();
    assert_eq!(dev["children"][0]["name"], "운영팀");
    assert_eq!(dev["children"][0]["members"][0]["name"], "한운영");
    let forms = w
        .data(
            A,
            "{ forms { id kind prefix fields { key type required currency options } } }",
            json!({}),
        )
        .await;
    let departments = w
        .data(
            A,
            "{ departments { hasOwnSchedule schedule { start end breakMinutes coreStart workDays } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        departments["departments"][0],
        json!({ "hasOwnSchedule": false, "schedule": { "start": "09:00", "end": "18:00", "breakMinutes": 60,
                "coreStart": null, "workDays": ["mon", "tue", "wed", "thu", "fri"] } }),
        "a department without a schedule works the standard day"
    );
    assert_eq!(forms["forms"].as_array().unwrap().len(), 5);
    assert!(forms["forms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "ATTENDANCE_CORRECTION" && f["prefix"] == "ATT"));
    let expense = forms["forms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "expense")
        .unwrap();
    assert_eq!(expense["kind"], "EXPENSE");
    let types: Vec<(&str, &str)> = expense["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].as_str().unwrap(), f["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        vec![
            ("purpose", "TEXT"),
            ("spent_on", "DATE"),
            ("items", "LINE_ITEMS"),
            ("note", "TEXT")
        ]
    );
    let suggestion = w
        .data(
            A,
            "{ suggestLine(formId: \"general\") { ruleId steps { kind members { employee { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        suggestion["suggestLine"]["steps"][0]["members"][0]["employee"]["name"],
        "박팀장"
    );
    let lag = w
        .data(
            A,
            "{ projectionStatus { projection eventsBehind secondsBehind } }",
            json!({}),
        )
        .await;
    assert!(
        lag["projectionStatus"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["eventsBehind"] == 0),
        "{lag}"
    );
    let forbidden = w
        .query(
            A,
            "query($e: ID) { leaveBalance(employeeId: $e) { balance } }",
            json!({ "e": B.to_string() }),
        )
        .await;
    assert_eq!(codes(&forbidden), vec!["FORBIDDEN"]);
}

async fn nobody_sees_a_document_that_is_not_theirs_on_any_path(w: World) {
    for (doc, allowed) in MATRIX {
        for (name, who) in USERS {
            let expected = allowed.contains(&name);
            let id = global("Approval", doc.0);
            let one = w
                .data(
                    who,
                    "query($id: ID!) { approval(id: $id) { documentId } node(id: $id) { id } }",
                    json!({ "id": id }),
                )
                .await;
            assert_eq!(!one["approval"].is_null(), expected, "approval({doc}) for {name}");
            assert_eq!(!one["node"].is_null(), expected, "node({doc}) for {name}");
            let raw = w
                .data(
                    who,
                    "query($id: ID!) { approval(id: $id) { documentId } }",
                    json!({ "id": doc.to_string() }),
                )
                .await;
            assert_eq!(!raw["approval"].is_null(), expected, "approval(raw {doc}) for {name}");
            let then = w
                .data(
                    who,
                    "query($id: ID!, $at: DateTime!) { approvalAsOf(id: $id, at: $at) { version } }",
                    json!({ "id": id, "at": Utc::now().to_rfc3339() }),
                )
                .await;
            assert_eq!(
                !then["approvalAsOf"].is_null(),
                expected,
                "approvalAsOf({doc}) for {name}"
            );
            let listed = w
                .data(
                    who,
                    "{ approvals(first: 100) { edges { node { documentId } } } }",
                    json!({}),
                )
                .await;
            let in_list = listed["approvals"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["node"]["documentId"] == doc.to_string());
            assert_eq!(in_list, expected, "approvals() for {name} listing {doc}");
        }
    }
    // Inbox entries and their counts never name a document the viewer may not see.
    for (name, who) in USERS {
        for b in [
            "PENDING",
            "UPCOMING",
            "IN_PROGRESS",
            "COMPLETED",
            "REJECTED",
            "CC",
            "RECEIVED",
            "DRAFTS",
        ] {
            let q = format!("{{ inbox(box: {b}) {{ entries(first: 100) {{ edges {{ node {{ documentId }} }} }} counts {{ inbox count }} }} }}");
            let q = q.replace("entries(first: 100)", "entries");
            let inbox = w.data(who, &q, json!({})).await;
            let entries = inbox["inbox"]["entries"]["edges"].as_array().unwrap();
            for e in entries {
                let doc = e["node"]["documentId"].as_str().unwrap();
                let allowed = MATRIX.iter().find(|(d, _)| d.to_string() == doc).unwrap().1;
                assert!(allowed.contains(&name), "{name}'s {b} box shows {doc}");
            }
            let count = inbox["inbox"]["counts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["inbox"] == b)
                .unwrap()["count"]
                .as_i64()
                .unwrap();
            assert_eq!(count as usize, entries.len(), "{name}'s {b} count");
        }
    }
}

/// When an event happened: its own `at`, the instant time travel folds by.
fn happened(event: &infra::eventlog::RecordedEvent) -> chrono::DateTime<Utc> {
    serde_json::from_value::<ApprovalEvent>(event.payload.clone())
        .unwrap()
        .at()
}

async fn time_travel_equals_the_fold_at_each_event(w: World) {
    let events = w
        .log
        .read_stream(&StreamRef::new(streams::APPROVAL, APPROVED.to_string()))
        .await
        .unwrap();
    assert_eq!(events.len(), 3, "drafted, submitted, approved");
    let id = global("Approval", APPROVED.0);
    let before = w
        .data(
            A,
            "query($id: ID!, $at: DateTime!) { approvalAsOf(id: $id, at: $at) { version } }",
            json!({ "id": id, "at": (happened(&events[0]) - chrono::Duration::seconds(1)).to_rfc3339() }),
        )
        .await;
    assert!(before["approvalAsOf"].is_null(), "nothing before the draft");
    for (i, event) in events.iter().enumerate() {
        let later_same_instant = events
            .iter()
            .skip(i + 1)
            .filter(|e| happened(e) == happened(event))
            .count();
        let expected_version = event.version + later_same_instant as u64;
        let folded = Approval::fold(
            &events
                .iter()
                .take(expected_version as usize)
                .map(|e| serde_json::from_value::<ApprovalEvent>(e.payload.clone()).unwrap())
                .collect::<Vec<_>>(),
        );
        let expected = folded.document().unwrap();
        let then = w
            .data(
                A,
                "query($id: ID!, $at: DateTime!) { approvalAsOf(id: $id, at: $at) { version status title number asOf steps { state } timeline { version } } }",
                json!({ "id": id, "at": happened(event).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true) }),
            )
            .await;
        let then = &then["approvalAsOf"];
        assert_eq!(then["version"].as_u64(), Some(expected_version));
        assert_eq!(
            then["status"].as_str().unwrap().to_lowercase(),
            serde_json::to_value(expected.status).unwrap().as_str().unwrap()
        );
        assert_eq!(
            then["number"].as_str(),
            expected.number.as_ref().map(ToString::to_string).as_deref()
        );
        assert_eq!(
            then["timeline"].as_array().unwrap().len() as u64,
            expected_version,
            "the timeline stops at the instant"
        );
    }
}

async fn limits_refuse_abuse_before_execution_with_a_code(w: World) {
    let deep = format!(
        "{{ me {} name {} }}",
        "{ manager ".repeat(14).replace("{ manager ", "manager { "),
        "}".repeat(14)
    );
    let response = w.query(A, &deep, json!({})).await;
    assert_eq!(codes(&response), vec!["QUERY_TOO_DEEP"], "{response}");
    // Each alias is cheap alone; five of them multiply past the budget.
    let list = "approvals(first: 100) { edges { node { steps { members { employee { name email department { name } } } } cc { name } timeline { actor { name } } } } }";
    let complex = format!(
        "{{ {} }}",
        (0..5).map(|i| format!("a{i}: {list}")).collect::<Vec<_>>().join(" ")
    );
    let response = w.query(A, &complex, json!({})).await;
    assert_eq!(codes(&response), vec!["QUERY_TOO_COMPLEX"], "{response}");
    let response = w
        .query(A, "{ approvals(first: 101) { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(codes(&response), vec!["BAD_USER_INPUT"]);
    let response = w.query(A, "{ approval(id: \"nonsense\") { title } }", json!({})).await;
    assert_eq!(codes(&response), vec!["BAD_USER_INPUT"]);
    let response = w.query(A, "{ me { salary } }", json!({})).await;
    assert_eq!(codes(&response), vec!["GRAPHQL_VALIDATION_FAILED"], "{response}");
    let response = w.query(A, "{ me { name ", json!({})).await;
    assert_eq!(codes(&response), vec!["GRAPHQL_PARSE_FAILED"], "{response}");
    let (_, response) = w.post(None, &[], br#"{"query":"{ me { name } }"}"#.to_vec()).await;
    assert_eq!(codes(&response), vec!["UNAUTHENTICATED"]);
    let (_, response) = w
        .post(Some("not-a-jwt"), &[], br#"{"query":"{ me { name } }"}"#.to_vec())
        .await;
    assert_eq!(codes(&response), vec!["UNAUTHENTICATED"]);
    let batch: Vec<Value> = (0..=query_api::MAX_BATCH)
        .map(|_| json!({ "query": "{ me { name } }" }))
        .collect();
    let (status, response) = w
        .post(Some(&w.token(A)), &[], serde_json::to_vec(&batch).unwrap())
        .await;
    assert_eq!((status, codes(&response)), (400, vec!["REQUEST_REJECTED".to_owned()]));
    let small: Vec<Value> = (0..2).map(|_| json!({ "query": "{ me { name } }" })).collect();
    let (status, response) = w
        .post(Some(&w.token(A)), &[], serde_json::to_vec(&small).unwrap())
        .await;
    assert_eq!(
        (status, response[1]["data"]["me"]["name"].as_str()),
        (200, Some("김기안"))
    );
    let huge = json!({ "query": format!("{{ me {{ name }} }} # {}", "x".repeat(query_api::MAX_BODY)) });
    let (status, response) = w.post(Some(&w.token(A)), &[], serde_json::to_vec(&huge).unwrap()).await;
    assert_eq!((status, codes(&response)), (413, vec!["REQUEST_REJECTED".to_owned()]));
    let (status, response) = w.post(Some(&w.token(A)), &[], b"not json".to_vec()).await;
    assert_eq!((status, codes(&response)), (400, vec!["BAD_USER_INPUT".to_owned()]));
}

async fn a_position_token_waits_for_the_projection(w: World) {
    // B approves OF_E; the command's position is in the log, not yet in the read model.
    let stream = StreamRef::new(streams::APPROVAL, OF_E.to_string());
    run(
        &*w.log,
        OF_E,
        C::Approve {
            comment: None,
            proxy: None,
            by: actor(B),
            at: Utc::now(),
        },
    )
    .await;
    let token = w.newest_position(&stream).await;
    let body = serde_json::to_vec(&json!({ "query": "query($id: ID!) { approval(id: $id) { status } }", "variables": { "id": OF_E.to_string() } })).unwrap();
    let (_, stale) = w
        .post(Some(&w.token(E)), &[("x-erp-position", &token)], body.clone())
        .await;
    assert_eq!(codes(&stale), vec!["STALE_READ"]);
    let (_, bad) = w
        .post(Some(&w.token(E)), &[("x-erp-position", "nope")], body.clone())
        .await;
    assert_eq!(codes(&bad), vec!["BAD_USER_INPUT"]);
    // The projection catches up while the request waits.
    let (log, org, views) = (w.log.clone(), w.org.clone(), w.views.clone());
    let projecting = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        project(&*log, &org, &*views).await;
    });
    let (_, fresh) = w.post(Some(&w.token(E)), &[("x-erp-position", &token)], body).await;
    projecting.await.unwrap();
    assert_eq!(fresh["data"]["approval"]["status"], "APPROVED", "{fresh}");
    let _ = Checkpoint::new();
}

async fn a_proxy_sees_the_seats_of_their_principal_and_nothing_else(w: World) {
    use domain::org::{DelegationEvent, Window};
    // B (the approver) names E their proxy (대결자) for today.
    let id = domain::ids::DelegationId(Uuid::from_u128(0xd01));
    let window = Window {
        from: Utc::now() - chrono::Duration::minutes(1),
        until: Utc::now() + chrono::Duration::days(1),
    };
    let granted = DelegationEvent::Granted {
        id,
        principal: B,
        proxy: E,
        window,
        reason: "출장".into(),
        by: B,
        at: Utc::now(),
    };
    append(&*w.log, streams::DELEGATION, id.0, &[granted]).await;
    project(&*w.log, &w.org, &*w.views).await;
    let mine = w
        .data(E, "{ myDelegations { delegationId principal { name } } }", json!({}))
        .await;
    assert_eq!(mine["myDelegations"][0]["principal"]["name"], "박팀장");
    // B's seats: the submitted documents whose line has B. Not A's draft (B is on its line,
    // but a draft is the drafter's alone).
    for (doc, expected) in [
        (PROGRESS, true),
        (APPROVED, true),
        (WITHDRAWN, true),
        (DRAFT, false),
        (OF_E, true),
    ] {
        let one = w
            .data(
                E,
                "query($id: ID!) { approval(id: $id) { documentId } }",
                json!({ "id": doc.to_string() }),
            )
            .await;
        assert_eq!(!one["approval"].is_null(), expected, "{doc} for B's proxy");
    }
    let listed = w
        .data(
            E,
            "{ approvals(first: 100) { edges { node { documentId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["approvals"]["edges"].as_array().unwrap().len(), 4);
    // Another user gains nothing from B's delegation.
    let other = w
        .data(
            H,
            "query($id: ID!) { approval(id: $id) { documentId } }",
            json!({ "id": PROGRESS.to_string() }),
        )
        .await;
    assert!(other["approval"].is_null());
}

const ACTIONS: &str =
    "query($id: ID!) { approval(id: $id) { viewerActions proxyActions { principalId principal { name } actions } } }";

async fn viewer_actions_differ_per_viewer_as_the_domain_decides(w: World) {
    let actions = |who, doc: ApprovalId| {
        let w = &w;
        async move {
            let data = w.data(who, ACTIONS, json!({ "id": doc.to_string() })).await;
            data["approval"].clone()
        }
    };
    let own = |v: &Value| v["viewerActions"].clone();
    // PROGRESS: B approved the first step; C's agreement decides now; D is cc.
    for (who, expected) in [
        (A, json!(["COMMENT"])),
        (B, json!(["CANCEL_APPROVAL", "COMMENT"])),
        (
            CC_,
            json!(["APPROVE", "REJECT", "REJECT_TO_PREVIOUS_STEP", "HOLD", "COMMENT"]),
        ),
        (D, json!(["COMMENT"])),
        (HR, json!([])),
    ] {
        assert_eq!(own(&actions(who, PROGRESS).await), expected, "{who} on PROGRESS");
    }
    assert_eq!(
        own(&actions(A, DRAFT).await),
        json!(["SAVE_DRAFT", "SUBMIT", "DISCARD", "COMMENT"])
    );
    assert_eq!(own(&actions(A, WITHDRAWN).await), json!(["RESUBMIT", "COMMENT"]));
    assert_eq!(own(&actions(B, WITHDRAWN).await), json!(["COMMENT"]));
    assert_eq!(actions(CC_, PROGRESS).await["proxyActions"], json!([]));
    // C names H their proxy: H is offered C's seat, and nothing in their own name.
    use domain::org::{DelegationEvent, Window};
    let id = domain::ids::DelegationId(Uuid::from_u128(0xd02));
    let granted = DelegationEvent::Granted {
        id,
        principal: CC_,
        proxy: H,
        window: Window {
            from: Utc::now() - chrono::Duration::minutes(1),
            until: Utc::now() + chrono::Duration::days(1),
        },
        reason: "휴가".into(),
        by: CC_,
        at: Utc::now(),
    };
    append(&*w.log, streams::DELEGATION, id.0, &[granted]).await;
    project(&*w.log, &w.org, &*w.views).await;
    let proxy = actions(H, PROGRESS).await;
    assert_eq!(own(&proxy), json!([]));
    assert_eq!(
        proxy["proxyActions"],
        json!([{
            "principalId": CC_.to_string(),
            "principal": { "name": "최재무" },
            "actions": ["APPROVE", "REJECT", "REJECT_TO_PREVIOUS_STEP", "HOLD"],
        }])
    );
    // A past state offers nothing: its version is not the one a command would be checked against.
    let past = w
        .data(
            CC_,
            "query($id: ID!, $at: DateTime!) { approvalAsOf(id: $id, at: $at) { viewerActions proxyActions { actions } } }",
            json!({ "id": PROGRESS.to_string(), "at": Utc::now().to_rfc3339() }),
        )
        .await;
    assert_eq!(past["approvalAsOf"], json!({ "viewerActions": [], "proxyActions": [] }));
}

const AS_OF: &str = "query($id: ID!, $at: DateTime!) { approvalAsOf(id: $id, at: $at) { version status title } }";

async fn time_travel_shows_a_draft_before_its_first_submission_to_the_drafter_alone(w: World) {
    let events = w
        .log
        .read_stream(&StreamRef::new(streams::APPROVAL, PROGRESS.to_string()))
        .await
        .unwrap();
    let (drafted, submitted) = (happened(&events[0]), happened(&events[1]));
    assert!(drafted < submitted, "the draft stood alone for a while");
    let instant = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let id = global("Approval", PROGRESS.0);
    let missing = |who| {
        w.query(
            who,
            AS_OF,
            json!({ "id": global("Approval", Uuid::from_u128(0xaff)), "at": instant(drafted) }),
        )
    };
    let everyone_now = MATRIX.iter().find(|(d, _)| *d == PROGRESS).unwrap().1;
    for (name, who) in USERS {
        let draft = w.query(who, AS_OF, json!({ "id": id, "at": instant(drafted) })).await;
        if who == A {
            assert_eq!(draft["data"]["approvalAsOf"]["status"], "DRAFT", "{draft}");
        } else {
            assert_eq!(
                draft,
                missing(who).await,
                "{name} reads the unsubmitted draft as a missing document"
            );
        }
        let sent = w.query(who, AS_OF, json!({ "id": id, "at": instant(submitted) })).await;
        assert_eq!(
            !sent["data"]["approvalAsOf"].is_null(),
            everyone_now.contains(&name),
            "{name} at the submission: {sent}"
        );
    }
}

async fn aliases_past_the_limit_are_refused_before_execution(w: World) {
    let limit = query_api::Limits::default().aliases;
    let aliased = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| format!("a{i}: projectionStatus {{ projection }}"))
            .collect();
        format!("{{ {} }}", fields.join(" "))
    };
    w.data(A, &aliased(limit), json!({})).await;
    // Refused every time: a document kept parsed is judged again, not passed.
    for _ in 0..2 {
        let response = w.query(A, &aliased(limit + 1), json!({})).await;
        assert_eq!(codes(&response), vec!["QUERY_TOO_MANY_ALIASES"], "{response}");
        assert!(response["data"].is_null(), "nothing ran: {response}");
    }
    // A fragment counts as often as it is spread.
    let names: Vec<String> = (0..limit / 2 + 1).map(|i| format!("n{i}: name")).collect();
    let spread = format!(
        "{{ me {{ ...F manager {{ ...F }} }} }} fragment F on Employee {{ {} }}",
        names.join(" ")
    );
    let response = w.query(A, &spread, json!({})).await;
    assert_eq!(codes(&response), vec!["QUERY_TOO_MANY_ALIASES"], "{response}");
}

async fn list_fields_weigh_by_their_fan_out(w: World) {
    // Each of these counted every list once, whatever it held.
    for query in [
        "{ departments { members { department { members { department { members { name email } } } } } } }",
        "{ orgChart { children { children { children { members { name email } } } } } }",
        "{ approvals(first: 100) { edges { node { timeline { actor { name } } comments { text } cc { name } } } } }",
    ] {
        let response = w.query(AUD, query, json!({})).await;
        assert_eq!(codes(&response), vec!["QUERY_TOO_COMPLEX"], "{query}: {response}");
    }
    // What the screens ask still fits: a document with its line, and the people screen.
    w.data(
        A,
        "query($id: ID!) { approval(id: $id) { documentId title status version drafter { name }
           steps { index kind state members { employeeId employee { name } decision { verdict at byEmployeeId proxy } } }
           cc { name } receivers { name } comments { byEmployeeId text at } timeline { version action at note actor { name } } } }",
        json!({ "id": PROGRESS.to_string() }),
    )
    .await;
    w.data(
        HR,
        "{ me { employeeId roles } leaveBalance { balance used entries { kind days at reason } }
           departments { departmentId name closed parent { departmentId } }
           employees(first: 100, filter: { active: true }) { edges { node { employeeId name positionTitle department { departmentId } } } }
           myDelegations { delegationId principal { name } validUntil } }",
        json!({}),
    )
    .await;
    let small = w
        .data(A, "{ departments { members(first: 5) { name } } }", json!({}))
        .await;
    assert!(small["departments"].as_array().unwrap().len() >= 3);
}

async fn an_unauthenticated_request_is_not_made_to_wait_for_a_position(w: World) {
    // A position far ahead of the projections: an authenticated reader would wait for it.
    run(
        &*w.log,
        OF_E,
        C::Approve {
            comment: None,
            proxy: None,
            by: actor(B),
            at: Utc::now(),
        },
    )
    .await;
    let stream = StreamRef::new(streams::APPROVAL, OF_E.to_string());
    let token = w.newest_position(&stream).await;
    let body = br#"{"query":"{ me { name } }"}"#.to_vec();
    for credentials in [None, Some("forged.token.value")] {
        let started = std::time::Instant::now();
        let (_, response) = w.post(credentials, &[("x-erp-position", &token)], body.clone()).await;
        assert_eq!(codes(&response), vec!["UNAUTHENTICATED"], "{response}");
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "answered without waiting, not after {:?}",
            started.elapsed()
        );
    }
}

async fn a_failing_store_answers_internal_without_its_own_words(w: World) {
    let leaks = |response: &Value| {
        let text = response["errors"][0]["message"].to_string().to_lowercase();
        ["table", "departments", "employees", "sqlx", "database", "no such"]
            .into_iter()
            .filter(|word| text.contains(word))
            .collect::<Vec<_>>()
    };
    w.break_table("departments").await;
    let response = w.query(A, "{ departments { name } }", json!({})).await;
    assert_eq!(codes(&response), vec!["INTERNAL"], "{response}");
    assert_eq!(leaks(&response), Vec::<&str>::new(), "{response}");
    // The viewer's own lookup failing is the server's fault, not the caller's token. (E has
    // not signed in yet: A's sign-in above may be kept for a moment.)
    w.break_table("employees").await;
    let response = w.query(E, "{ me { name } }", json!({})).await;
    assert_eq!(codes(&response), vec!["INTERNAL"], "{response}");
    assert_eq!(leaks(&response), Vec::<&str>::new(), "{response}");
}

/// Sign-in keeps an employee read a moment ago, but not past a projected change to them.
async fn a_deactivation_ends_the_viewers_kept_sign_in_with_the_batch_that_records_it(w: World) {
    for _ in 0..2 {
        let data = w.data(E, "{ me { name } }", json!({})).await;
        assert_eq!(data["me"]["name"], "윤외부");
    }
    append(
        &*w.log,
        streams::EMPLOYEE,
        E.0,
        &[EmployeeEvent::Deactivated { by: HR, at: Utc::now() }],
    )
    .await;
    project(&*w.log, &w.org, &*w.views).await;
    let response = w.query(E, "{ me { name } }", json!({})).await;
    assert_eq!(codes(&response), vec!["UNAUTHENTICATED"], "{response}");
}

/// The employees a page names are kept for a moment across requests. A rename projected in
/// this process shows on the next request (the store's write count moved); one written by
/// another process — a second connection writing the row here — shows at once to a request
/// that asked for read-your-writes, and to the others once the moment is over.
async fn named_employees_are_kept_for_a_moment_and_a_position_reads_past_them(w: World) {
    const MANAGER: &str = "{ me { manager { name } } }";
    let manager = |data: Value| data["me"]["manager"]["name"].as_str().unwrap_or_default().to_owned();
    assert_eq!(manager(w.data(A, MANAGER, json!({})).await), "박팀장");
    append(
        &*w.log,
        streams::EMPLOYEE,
        B.0,
        &[EmployeeEvent::ProfileUpdated {
            name: "박부장".into(),
            email: "park@erp.example".into(),
            by: HR,
            at: Utc::now(),
        }],
    )
    .await;
    project(&*w.log, &w.org, &*w.views).await;
    assert_eq!(
        manager(w.data(A, MANAGER, json!({})).await),
        "박부장",
        "projected here: read anew"
    );

    w.behind_its_back(&format!("UPDATE employees SET name = '박상무' WHERE id = '{B}'"))
        .await;
    assert_eq!(
        manager(w.data(A, MANAGER, json!({})).await),
        "박부장",
        "kept for the moment"
    );
    let stream = StreamRef::new(streams::EMPLOYEE, B.to_string());
    let token = w.newest_position(&stream).await;
    let body = serde_json::to_vec(&json!({ "query": MANAGER })).unwrap();
    let (_, fresh) = w.post(Some(&w.token(A)), &[("x-erp-position", &token)], body).await;
    assert_eq!(
        manager(fresh["data"].clone()),
        "박상무",
        "read-your-writes reads the store: {fresh}"
    );
    tokio::time::sleep(infra::kept::KeptReads::<String, ()>::TTL + Duration::from_millis(100)).await;
    assert_eq!(
        manager(w.data(A, MANAGER, json!({})).await),
        "박상무",
        "and the others after the moment"
    );
}

async fn a_document_shows_the_authority_rule_it_was_submitted_under(w: World) {
    let data = w
        .data(
            A,
            "query($id: ID!) { approval(id: $id) { authority { tableVersion row { form upTo finalRank } finalApproverId } }
               authorityTable { version rows { form upTo finalRank } } }",
            json!({ "id": global("Approval", PROGRESS.0) }),
        )
        .await;
    let authority = &data["approval"]["authority"];
    assert_eq!(authority["tableVersion"], 0);
    assert_eq!(authority["row"]["form"], "GENERAL");
    assert_eq!(authority["finalApproverId"], Value::Null);
    let table = &data["authorityTable"];
    assert_eq!(table["version"], 0, "the built-in table until HR records one");
    assert!(table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["form"] == "EXPENSE" && r["upTo"] == "1000000" && r["finalRank"] == 5));
    // A draft has no authority yet.
    let draft = w
        .data(
            A,
            "query($id: ID!) { approval(id: $id) { authority { tableVersion } } }",
            json!({ "id": global("Approval", DRAFT.0) }),
        )
        .await;
    assert_eq!(draft["approval"]["authority"], Value::Null);
}

/// Each operation is timed under its name, each request under the role's route; readiness
/// follows the read stores.
async fn operations_are_timed_by_name_and_readiness_follows_the_stores(w: World) {
    infra::telemetry::metrics::install();
    let stores = query_api::Stores {
        org: w.org.clone(),
        views: w.views.clone(),
        log: w.log.clone(),
        policy: Default::default(),
    };
    assert_eq!(stores.ready().await, Ok(()));
    let operation = format!("Inbox{}", Uuid::now_v7().simple());
    w.data(A, &format!("query {operation} {{ me {{ name }} }}"), json!({}))
        .await;
    let text = infra::telemetry::metrics::render();
    let timed = format!("erp_graphql_request_duration_seconds_count{{operation=\"{operation}\",outcome=\"ok\"}} 1");
    assert!(text.lines().any(|l| l == timed), "{timed} in\n{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("erp_http_request_duration_seconds_bucket{")
                && l.contains("role=\"query-api\"")
                && l.contains("route=\"/graphql\"")),
        "{text}"
    );
    w.break_table("erp_checkpoints").await;
    let broken = stores.ready().await;
    assert!(
        broken.as_ref().is_err_and(|e| e.starts_with("read model")),
        "{broken:?}"
    );
}

/// 근태 visibility, written out by hand: an employee sees their own days, the head of 개발팀
/// (B) the days of 개발팀 and of 운영팀 under it, HR everyone's; anyone else is refused.
async fn attendance_is_seen_by_the_employee_their_head_and_hr(w: World) {
    use chrono::TimeZone;
    use domain::attendance::{AttendanceDay, AttendanceEvent};
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let midnight = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap();
    let kst = |h: i64, m: i64| midnight + chrono::Duration::minutes(h * 60 + m - 9 * 60);
    for (who, from, until) in [
        (A, kst(9, 0), kst(18, 0)),
        (H, kst(9, 30), kst(18, 0)),
        (CC_, kst(8, 50), kst(20, 0)),
    ] {
        append(
            &*w.log,
            streams::ATTENDANCE,
            AttendanceDay::stream_id(who, day),
            &[
                AttendanceEvent::CheckedIn {
                    employee: who,
                    day,
                    at: from,
                    schedule: None,
                },
                AttendanceEvent::CheckedOut {
                    employee: who,
                    day,
                    at: until,
                },
            ],
        )
        .await;
    }
    append(
        &*w.log,
        streams::DEPARTMENT,
        DEV.0,
        &[DepartmentEvent::HeadAppointed {
            head: Some(B),
            by: HR,
            at: Utc::now(),
        }],
    )
    .await;
    project(&*w.log, &w.org, &*w.views).await;

    let mine = w
        .data(
            A,
            "{ myAttendance(from: \"2026-03-01\", to: \"2026-03-31\") { employeeId day state firstIn lastOut regularMinutes overtimeMinutes lateMinutes earlyLeaveMinutes } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["myAttendance"],
        json!([{
            "employeeId": A.to_string(), "day": "2026-03-03", "state": "done",
            "firstIn": "2026-03-03T00:00:00+00:00", "lastOut": "2026-03-03T09:00:00+00:00",
            "regularMinutes": 480, "overtimeMinutes": 0, "lateMinutes": 0, "earlyLeaveMinutes": 0
        }])
    );
    let week = "query($who: ID) { weeklyHours(week: \"2026-03-05\", employeeId: $who) { weekStart minutes limitMinutes remainingMinutes state } }";
    assert_eq!(
        w.data(A, week, json!({})).await["weeklyHours"],
        json!({ "weekStart": "2026-03-02", "minutes": 480, "limitMinutes": 3120, "remainingMinutes": 2640, "state": "WITHIN" })
    );

    let team = "query($dept: ID) { teamAttendance(date: \"2026-03-03\", departmentId: $dept) { employeeId employeeName lateMinutes } }";
    let seen = |data: &Value| -> Vec<String> {
        let mut ids: Vec<String> = data["teamAttendance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["employeeId"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(
        seen(&w.data(B, team, json!({})).await),
        sorted(vec![A.to_string(), H.to_string()]),
        "the head of 개발팀 sees 개발팀 and 운영팀 under it"
    );
    assert_eq!(
        seen(&w.data(HR, team, json!({})).await),
        sorted(vec![A.to_string(), CC_.to_string(), H.to_string()])
    );
    assert_eq!(
        seen(&w.data(HR, team, json!({ "dept": FIN.to_string() })).await),
        vec![CC_.to_string()]
    );
    for who in [A, E, D] {
        assert_eq!(codes(&w.query(who, team, json!({})).await), ["FORBIDDEN"], "{who}");
    }
    assert_eq!(
        codes(&w.query(B, team, json!({ "dept": FIN.to_string() })).await),
        ["FORBIDDEN"],
        "not B's department"
    );

    for (who, allowed) in [
        (A, true),
        (B, true),
        (HR, true),
        (AUD, true),
        (E, false),
        (D, false),
        (H, false),
    ] {
        let response = w.query(who, week, json!({ "who": A.to_string() })).await;
        if allowed {
            assert_eq!(response["data"]["weeklyHours"]["minutes"], 480, "{who}: {response}");
        } else {
            assert_eq!(codes(&response), ["FORBIDDEN"], "{who}: {response}");
        }
    }
    let bad = w
        .query(
            A,
            "{ myAttendance(from: \"2026-03-31\", to: \"2026-03-01\") { day } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&bad), ["BAD_USER_INPUT"]);

    // A moved to 재무팀 by a writer in another process (a second connection here): B no
    // longer heads A's department, at once — who may see attendance is never decided on an
    // employee kept from an earlier request.
    w.behind_its_back(&format!("UPDATE employees SET department = '{FIN}' WHERE id = '{A}'"))
        .await;
    let response = w.query(B, week, json!({ "who": A.to_string() })).await;
    assert_eq!(codes(&response), ["FORBIDDEN"], "{response}");
    assert_eq!(
        seen(&w.data(B, team, json!({})).await),
        vec![H.to_string()],
        "A left 개발팀"
    );
}

/// Quests by who may see them: the audience sees an open quest (B's reports a team quest,
/// 개발팀 a department one, everyone a company one), never their own; only the poster (and
/// HR) see who took it on; the leaderboard sums verified rewards for the department's members.
async fn quests_are_seen_by_their_audience_and_judged_by_their_poster(w: World) {
    use domain::ids::QuestId;
    use domain::quest::{Audience, QuestEvent, QuestKind, Reward};
    let now = Utc::now();
    let (team, company, dev) = (
        QuestId(Uuid::from_u128(0xb01)),
        QuestId(Uuid::from_u128(0xb02)),
        QuestId(Uuid::from_u128(0xb03)),
    );
    let posted = |id: QuestId, by: EmployeeId, audience: Audience, reward: Reward, days: i64| QuestEvent::Posted {
        id,
        title: format!("퀘스트 {days}"),
        description: "설명".into(),
        reward,
        capacity: 5,
        deadline: now + chrono::Duration::days(days),
        audience,
        kind: QuestKind::Task,
        by,
        at: now,
    };
    append(
        &*w.log,
        streams::QUEST,
        team.0,
        &[
            posted(team, B, Audience::Team, Reward::LeaveHours { hours: 8 }, 10),
            QuestEvent::Accepted { employee: A, at: now },
            QuestEvent::Accepted { employee: E, at: now },
            QuestEvent::Submitted { employee: A, at: now },
            QuestEvent::Verified {
                employee: A,
                reward: Reward::LeaveHours { hours: 8 },
                by: B,
                at: now,
                by_attendance: false,
            },
        ],
    )
    .await;
    append(
        &*w.log,
        streams::QUEST,
        company.0,
        &[posted(
            company,
            HR,
            Audience::Company,
            Reward::Points { points: 100 },
            20,
        )],
    )
    .await;
    append(
        &*w.log,
        streams::QUEST,
        dev.0,
        &[posted(
            dev,
            B,
            Audience::Department { department: DEV },
            Reward::Points { points: 5 },
            30,
        )],
    )
    .await;
    project(&*w.log, &w.org, &*w.views).await;

    // The quest's notices are in the feeds beside approval notifications: the poster heard
    // of both acceptances and the submission, the verified participant of the verdict.
    let feed = "{ notifications { kind documentId subjectId title } }";
    let kinds = |data: &Value| -> Vec<String> {
        let mut kinds: Vec<String> = data["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["subjectId"] == team.to_string())
            .map(|n| n["kind"].as_str().unwrap().to_owned())
            .collect();
        kinds.sort();
        kinds
    };
    let of_b = w.data(B, feed, json!({})).await;
    assert_eq!(kinds(&of_b), ["QUEST_ACCEPTED", "QUEST_ACCEPTED", "QUEST_SUBMITTED"]);
    let verified = w.data(A, feed, json!({})).await;
    assert_eq!(kinds(&verified), ["QUEST_VERIFIED"]);
    let entry = verified["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "QUEST_VERIFIED")
        .unwrap();
    assert_eq!(
        (&entry["documentId"], &entry["title"]),
        (&Value::Null, &json!("퀘스트 10"))
    );

    let open = "{ openQuests { id myStatus participants { employeeId } } }";
    let ids = |data: &Value, list: &str| -> Vec<String> {
        data[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let of_a = w.data(A, open, json!({})).await;
    assert_eq!(ids(&of_a, "openQuests"), [team, company, dev].map(|q| q.to_string()));
    assert_eq!(of_a["openQuests"][0]["myStatus"], "verified");
    assert_eq!(
        of_a["openQuests"][0]["participants"],
        json!([]),
        "a participant does not see the others"
    );
    // 최재무 reports to B but is not in 개발팀; B sees only what others posted.
    assert_eq!(
        ids(&w.data(CC_, open, json!({})).await, "openQuests"),
        [team, company].map(|q| q.to_string())
    );
    assert_eq!(
        ids(&w.data(B, open, json!({})).await, "openQuests"),
        [company.to_string()]
    );

    let posted = w
        .data(
            B,
            "{ postedQuests { id taken participants { employeeId employeeName status } } }",
            json!({}),
        )
        .await;
    assert_eq!(ids(&posted, "postedQuests"), [dev, team].map(|q| q.to_string()));
    assert_eq!(
        posted["postedQuests"][1],
        json!({ "id": team.to_string(), "taken": 2, "participants": [
            { "employeeId": A.to_string(), "employeeName": "김기안", "status": "verified" },
            { "employeeId": E.to_string(), "employeeName": "윤외부", "status": "accepted" },
        ] })
    );
    let mine = w
        .data(E, "{ myQuests { id myStatus rewardKind rewardAmount } }", json!({}))
        .await;
    assert_eq!(
        mine["myQuests"],
        json!([{ "id": team.to_string(), "myStatus": "accepted", "rewardKind": "leave_hours", "rewardAmount": 8 }])
    );
    // A returned participant reads why; nobody else's standing reaches them.
    append(
        &*w.log,
        streams::QUEST,
        team.0,
        &[
            QuestEvent::Submitted { employee: E, at: now },
            QuestEvent::Returned {
                employee: E,
                reason: "테스트 보완".into(),
                by: B,
                at: now,
            },
        ],
    )
    .await;
    project(&*w.log, &w.org, &*w.views).await;
    let returned = w
        .data(
            E,
            "{ myQuests { myStatus myReturnedReason participants { employeeId } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        returned["myQuests"],
        json!([{ "myStatus": "returned", "myReturnedReason": "테스트 보완", "participants": [] }])
    );

    let board = "query($dept: ID) { questLeaderboard(departmentId: $dept) { employeeId rewardKind total quests } }";
    assert_eq!(
        w.data(A, board, json!({})).await["questLeaderboard"],
        json!([{ "employeeId": A.to_string(), "rewardKind": "leave_hours", "total": 8, "quests": 1 }])
    );
    let dept = json!({ "dept": DEV.0.to_string() });
    assert_eq!(codes(&w.query(CC_, board, dept.clone()).await), ["FORBIDDEN"]);
    assert_eq!(w.data(HR, board, dept).await["questLeaderboard"][0]["total"], 8);
}

/// The statutory entitlement follows the hire date on the employee's stream: two months in,
/// two monthly days, nine more to come and the first anniversary's fifteen. The employee and
/// HR see it; a colleague does not.
async fn leave_entitlement_follows_the_hire_date_by_the_act(w: World) {
    use chrono::{Datelike, Months};
    let today = Utc::now().with_timezone(&domain::attendance::KST).date_naive();
    // The 1st, two months back: two whole months served whatever day of the month today is.
    let hired = today.with_day(1).unwrap().checked_sub_months(Months::new(2)).unwrap();
    let query = "query($who: ID) { leaveEntitlement(employeeId: $who) { hireDate yearsOfService monthsOfService days upcoming { on days kind } } }";
    let before = w.data(A, query, json!({})).await;
    assert_eq!(before["leaveEntitlement"]["hireDate"], Value::Null);
    assert_eq!(before["leaveEntitlement"]["days"], "0");
    append(
        &*w.log,
        streams::EMPLOYEE,
        A.0,
        &[EmployeeEvent::HireDateSet {
            hire_date: hired,
            by: HR,
            at: Utc::now(),
        }],
    )
    .await;
    let mine = w.data(A, query, json!({})).await["leaveEntitlement"].clone();
    assert_eq!(
        (
            &mine["hireDate"],
            &mine["yearsOfService"],
            &mine["monthsOfService"],
            &mine["days"]
        ),
        (&json!(hired.to_string()), &json!(0), &json!(2), &json!("2"))
    );
    let upcoming = mine["upcoming"].as_array().unwrap();
    assert_eq!(upcoming.len(), 10, "{mine}");
    assert_eq!(upcoming[0]["kind"], "monthly");
    assert_eq!(
        upcoming[9],
        json!({ "on": hired.checked_add_months(Months::new(12)).unwrap().to_string(), "days": "15", "kind": "annual" })
    );
    let of_a = json!({ "who": A.0.to_string() });
    assert_eq!(w.data(HR, query, of_a.clone()).await["leaveEntitlement"]["days"], "2");
    assert_eq!(codes(&w.query(E, query, of_a).await), ["FORBIDDEN"]);
}

/// A month summed per employee: every active member of 개발팀 for its head and HR (zeros for
/// one without a day), the viewer's own row for anyone; another department's report is refused.
async fn a_month_is_summed_per_employee_for_the_head_and_hr(w: World) {
    use chrono::TimeZone;
    use domain::attendance::{AttendanceDay, AttendanceEvent};
    let kst = |d: u32, h: i64, m: i64| {
        Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap() + chrono::Duration::minutes(h * 60 + m - 9 * 60)
    };
    // 김기안: on time on the 3rd (an hour's overtime), 20 minutes late on the 4th.
    for (d, (in_h, in_m), (out_h, out_m)) in [(3, (9, 0), (19, 0)), (4, (9, 20), (18, 0))] {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        append(
            &*w.log,
            streams::ATTENDANCE,
            AttendanceDay::stream_id(A, day),
            &[
                AttendanceEvent::CheckedIn {
                    employee: A,
                    day,
                    at: kst(d, in_h, in_m),
                    schedule: None,
                },
                AttendanceEvent::CheckedOut {
                    employee: A,
                    day,
                    at: kst(d, out_h, out_m),
                },
            ],
        )
        .await;
    }
    append(
        &*w.log,
        streams::DEPARTMENT,
        DEV.0,
        &[DepartmentEvent::HeadAppointed {
            head: Some(B),
            by: HR,
            at: Utc::now(),
        }],
    )
    .await;
    project(&*w.log, &w.org, &*w.views).await;
    let report = "query($dept: ID) { attendanceReport(month: \"2026-03\", departmentId: $dept) { employeeId workDays daysPresent absentDays lateDays lateMinutes regularMinutes overtimeMinutes } }";
    let dev = json!({ "dept": DEV.0.to_string() });
    let rows = w.data(B, report, dev.clone()).await["attendanceReport"].clone();
    let mut members: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["employeeId"].as_str().unwrap())
        .collect();
    members.sort_unstable();
    let mut expected = [A, B, E].map(|e| e.to_string());
    expected.sort_unstable();
    assert_eq!(members, expected);
    let of_a = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["employeeId"] == A.to_string())
        .unwrap();
    assert_eq!(
        of_a,
        &json!({ "employeeId": A.to_string(), "workDays": 22, "daysPresent": 2, "absentDays": 20, "lateDays": 1,
            "lateMinutes": 20, "regularMinutes": 940, "overtimeMinutes": 60 })
    );
    let of_e = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["employeeId"] == E.to_string())
        .unwrap();
    assert_eq!((&of_e["daysPresent"], &of_e["absentDays"]), (&json!(0), &json!(22)));
    assert_eq!(w.data(HR, report, dev.clone()).await["attendanceReport"], rows);
    assert_eq!(codes(&w.query(A, report, dev).await), ["FORBIDDEN"]);
    let own = w.data(A, report, json!({})).await["attendanceReport"].clone();
    assert_eq!(own, json!([of_a]));
    assert_eq!(
        codes(
            &w.query(A, "{ attendanceReport(month: \"2026-13\") { employeeId } }", json!({}))
                .await
        ),
        ["BAD_USER_INPUT"]
    );
}

/// A department's leave for a month: its members' approved and pending requests with their
/// periods, for the members, the head and HR; another department's members are refused, and
/// leave outside the month or of other departments is not listed.
async fn the_leave_calendar_shows_a_departments_leave_to_its_members(w: World) {
    use domain::form::leave_form;
    let leave = |id: u128, by: EmployeeId, start: (u32, u32), end: (u32, u32), days: i64| {
        let date = |(m, d): (u32, u32)| chrono::NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let body = [
            ("leave_type".to_owned(), FieldValue::Select("annual".into())),
            (
                "period".to_owned(),
                FieldValue::DateRange {
                    start: date(start),
                    end: date(end),
                },
            ),
            ("days".to_owned(), FieldValue::Number(rust_decimal::Decimal::from(days))),
        ];
        (
            ApprovalId(Uuid::from_u128(id)),
            C::Draft {
                id: ApprovalId(Uuid::from_u128(id)),
                form: leave_form(),
                content: Content {
                    title: "연차".into(),
                    body: body.into(),
                    attachments: vec![],
                },
                line: ApprovalLine::sequential([B]),
                by: actor(by),
                at: Utc::now(),
            },
            C::Submit {
                form: leave_form(),
                rule: None,
                authority: domain::testkit::no_requirement(),
                roster: roster(),
                leave_balance: Some(rust_decimal::Decimal::from(15)),
                by: actor(by),
                at: Utc::now(),
            },
        )
    };
    let approve = || C::Approve {
        comment: None,
        proxy: None,
        by: actor(B),
        at: Utc::now(),
    };
    // 김기안 approved in March, 윤외부 pending across the month's end, 김기안 again in May
    // (outside), 한운영 of 운영팀 approved in March (another department).
    for (id, by, start, end, days, approved) in [
        (0xc01, A, (3, 10), (3, 11), 2, true),
        (0xc02, E, (3, 30), (4, 2), 4, false),
        (0xc03, A, (5, 4), (5, 4), 1, true),
        (0xc04, H, (3, 12), (3, 12), 1, true),
    ] {
        let (doc, draft, submit) = leave(id, by, start, end, days);
        run(&*w.log, doc, draft).await;
        run(&*w.log, doc, submit).await;
        if approved {
            run(&*w.log, doc, approve()).await;
        }
    }
    project(&*w.log, &w.org, &*w.views).await;
    let calendar = "query($dept: ID) { leaveCalendar(month: \"2026-03\", departmentId: $dept) { employeeId start end days state } }";
    let expected = json!([
        { "employeeId": A.to_string(), "start": "2026-03-10", "end": "2026-03-11", "days": "2", "state": "APPROVED" },
        { "employeeId": E.to_string(), "start": "2026-03-30", "end": "2026-04-02", "days": "4", "state": "PENDING" },
    ]);
    assert_eq!(w.data(E, calendar, json!({})).await["leaveCalendar"], expected);
    let dev = json!({ "dept": DEV.0.to_string() });
    assert_eq!(w.data(HR, calendar, dev.clone()).await["leaveCalendar"], expected);
    assert_eq!(codes(&w.query(CC_, calendar, dev).await), ["FORBIDDEN"]);
}

/// 알림 읽음: read marks are events of the reader's feed stream. The feed shows each entry read
/// or unread by them, the badge counts the unread, `unread: true` leaves the read out, and a
/// store rebuilt from the log alone answers the same.
async fn read_marks_in_the_log_make_notifications_read_and_a_rebuild_keeps_them(w: World) {
    use domain::feed::{FeedEvent, Mark};
    let feed = "{ notifications(first: 100) { id at read } unreadNotificationCount }";
    let before = w.data(B, feed, json!({})).await;
    let entries = before["notifications"].as_array().unwrap().clone();
    assert!(entries.len() >= 2, "B needs two notifications: {before}");
    assert!(entries.iter().all(|n| n["read"] == false), "{before}");
    assert_eq!(before["unreadNotificationCount"], entries.len());
    let time = |n: &Value| n["at"].as_str().unwrap().parse::<chrono::DateTime<Utc>>().unwrap();
    // Newest first: mark the newest one read, then everything up to the oldest.
    let (newest, oldest) = (&entries[0], &entries[entries.len() - 1]);
    append(
        &*w.log,
        streams::FEED,
        B,
        &[
            FeedEvent::Read {
                reader: B,
                marks: vec![Mark {
                    id: newest["id"].as_str().unwrap().to_owned(),
                    at: time(newest),
                }],
                at: Utc::now(),
            },
            FeedEvent::AllRead {
                reader: B,
                through: time(oldest),
                at: Utc::now(),
            },
        ],
    )
    .await;
    project(&*w.log, &w.org, &*w.views).await;
    let after = w.data(B, feed, json!({})).await;
    let read: Vec<bool> = after["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["read"].as_bool().unwrap())
        .collect();
    let at_oldest = entries.iter().filter(|n| time(n) <= time(oldest)).count();
    let expected_unread = entries.len() - at_oldest - 1;
    assert!(read[0], "the newest was marked read: {after}");
    assert_eq!(read.iter().filter(|r| !**r).count(), expected_unread, "{after}");
    assert_eq!(after["unreadNotificationCount"], expected_unread);
    let unread = w
        .data(B, "{ notifications(first: 100, unread: true) { id read } }", json!({}))
        .await;
    assert_eq!(unread["notifications"].as_array().unwrap().len(), expected_unread);
    // Marks are B's alone: A's feed is as it was.
    let a = w.data(A, "{ notifications(first: 100) { read } }", json!({})).await;
    assert!(
        a["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["read"] == false),
        "{a}"
    );
    // A store rebuilt from the log alone holds the same marks.
    let dir = tempfile::tempdir().unwrap();
    let rebuilt = SqlReadModel::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display()))
        .await
        .unwrap();
    project(&*w.log, &rebuilt, &*w.views).await;
    assert_eq!(
        rebuilt.feed_reads(&B.to_string()).await.unwrap(),
        w.org.feed_reads(&B.to_string()).await.unwrap()
    );
}

macro_rules! suite {
    ($name:ident, $open:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn every_query_answers_from_the_read_model() {
                super::every_query_answers_from_the_read_model($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn nobody_sees_a_document_that_is_not_theirs_on_any_path() {
                super::nobody_sees_a_document_that_is_not_theirs_on_any_path($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn time_travel_equals_the_fold_at_each_event() {
                super::time_travel_equals_the_fold_at_each_event($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn limits_refuse_abuse_before_execution_with_a_code() {
                super::limits_refuse_abuse_before_execution_with_a_code($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_proxy_sees_the_seats_of_their_principal_and_nothing_else() {
                super::a_proxy_sees_the_seats_of_their_principal_and_nothing_else($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn viewer_actions_differ_per_viewer_as_the_domain_decides() {
                super::viewer_actions_differ_per_viewer_as_the_domain_decides($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_position_token_waits_for_the_projection() {
                super::a_position_token_waits_for_the_projection($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn time_travel_shows_a_draft_before_its_first_submission_to_the_drafter_alone() {
                super::time_travel_shows_a_draft_before_its_first_submission_to_the_drafter_alone($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn aliases_past_the_limit_are_refused_before_execution() {
                super::aliases_past_the_limit_are_refused_before_execution($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_document_shows_the_authority_rule_it_was_submitted_under() {
                super::a_document_shows_the_authority_rule_it_was_submitted_under($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn list_fields_weigh_by_their_fan_out() {
                super::list_fields_weigh_by_their_fan_out($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_unauthenticated_request_is_not_made_to_wait_for_a_position() {
                super::an_unauthenticated_request_is_not_made_to_wait_for_a_position($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn operations_are_timed_by_name_and_readiness_follows_the_stores() {
                super::operations_are_timed_by_name_and_readiness_follows_the_stores($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn attendance_is_seen_by_the_employee_their_head_and_hr() {
                super::attendance_is_seen_by_the_employee_their_head_and_hr($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn quests_are_seen_by_their_audience_and_judged_by_their_poster() {
                super::quests_are_seen_by_their_audience_and_judged_by_their_poster($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn leave_entitlement_follows_the_hire_date_by_the_act() {
                super::leave_entitlement_follows_the_hire_date_by_the_act($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_month_is_summed_per_employee_for_the_head_and_hr() {
                super::a_month_is_summed_per_employee_for_the_head_and_hr($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_leave_calendar_shows_a_departments_leave_to_its_members() {
                super::the_leave_calendar_shows_a_departments_leave_to_its_members($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn read_marks_in_the_log_make_notifications_read_and_a_rebuild_keeps_them() {
                super::read_marks_in_the_log_make_notifications_read_and_a_rebuild_keeps_them($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_deactivation_ends_the_viewers_kept_sign_in_with_the_batch_that_records_it() {
                super::a_deactivation_ends_the_viewers_kept_sign_in_with_the_batch_that_records_it($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn named_employees_are_kept_for_a_moment_and_a_position_reads_past_them() {
                super::named_employees_are_kept_for_a_moment_and_a_position_reads_past_them($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_failing_store_answers_internal_without_its_own_words() {
                super::a_failing_store_answers_internal_without_its_own_words($open.await).await;
            }
        }
    };
}

async fn on_sqlite() -> World {
    let dir = tempfile::tempdir().unwrap().keep();
    let url = format!("sqlite://{}?mode=rwc", dir.join("read.db").display());
    let store = SqlReadModel::connect(&url).await.unwrap();
    World::new(url, store.clone(), Arc::new(store)).await
}

async fn on_mariadb_and_mongodb() -> World {
    let base =
        std::env::var("ERP_TEST_MYSQL").unwrap_or_else(|_| panic!("ERP_TEST_MYSQL is not set: run scripts/test"));
    let mongo =
        std::env::var("ERP_TEST_MONGO").unwrap_or_else(|_| panic!("ERP_TEST_MONGO is not set: run scripts/test"));
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base).await.unwrap();
    let db = format!("q{}", Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!("{base}/{db}");
    let org = SqlReadModel::connect(&url).await.unwrap();
    let views = MongoViews::connect(&mongo, &db).await.unwrap();
    World::new(url, org, Arc::new(views)).await
}

suite!(sqlite, on_sqlite());
suite!(mariadb_mongodb, on_mariadb_and_mongodb());

#[test]
fn the_committed_sdl_matches_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let sdl = query_api::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "query-api/schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test -p query-api --test graphql the_committed_sdl` and commit it"
    );
}
