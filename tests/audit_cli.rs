//! The audit subcommands as an operator runs them: the `erp` binary against a data directory
//! that `erp up` seeded (and a Kafka log seeded through the command API), checking output and
//! exit codes: 0 clean, 1 problems found, 2 could not run.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use domain::approval::{Approval, ApprovalEvent};
use domain::Aggregate;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{streams, EventLog, StreamRef, Upcasters};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn erp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_erp"))
        .args(args)
        .env("ERP_LOG", "warn")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `erp up` on `dir` until the demo company is seeded and projected, then stops it.
fn seeded(dir: &Path) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut up = Command::new(env!("CARGO_BIN_EXE_erp"))
        .args(["up", "--port", &port.to_string(), "--data-dir"])
        .arg(dir)
        .env("ERP_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/api/projections");
    let mut caught_up = false;
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(body) = std::process::Command::new("curl").args(["-s", &url]).output() else {
            continue;
        };
        if let Ok(lags) = serde_json::from_slice::<Vec<Value>>(&body.stdout) {
            // Seeded (documents exist) and every projection caught up.
            if lags.iter().all(|l| l["events_behind"] == 0) && dir.join("log/approval").is_dir() {
                std::thread::sleep(Duration::from_millis(1500));
                caught_up = true;
                break;
            }
        }
    }
    let _ = Command::new("kill").arg(up.id().to_string()).status();
    up.wait().unwrap();
    assert!(caught_up, "erp up did not seed and project in time");
}

/// A document id from the seeded log, with the domain's fold of its events.
async fn a_document(dir: &Path) -> (String, Vec<infra::eventlog::RecordedEvent>) {
    let log = EmbeddedLog::open(dir.join("log"), EmbeddedOptions::default(), Upcasters::default()).unwrap();
    let mut sub = log.subscribe(streams::APPROVAL, Default::default()).await.unwrap();
    let batch = sub.next_batch(1000, Duration::from_millis(200)).await.unwrap();
    // The document with the longest history.
    let mut best = (String::new(), Vec::new());
    for d in &batch {
        let events = log
            .read_stream(&StreamRef::new(streams::APPROVAL, d.commit.stream_id.clone()))
            .await
            .unwrap();
        if events.len() > best.1.len() {
            best = (d.commit.stream_id.clone(), events);
        }
    }
    best
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_commands_on_an_embedded_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seeded(&data);
    let d = data.to_str().unwrap();

    let verified = erp(&["verify", "--data-dir", d]);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert!(text(&verified).contains("the log verifies"), "{}", text(&verified));
    let json: Value = serde_json::from_slice(&erp(&["verify", "--data-dir", d, "--json"]).stdout).unwrap();
    assert!(json["events"].as_u64().unwrap() > 30 && json["problems"].as_array().unwrap().is_empty());

    // History and as-of agree with folding the domain events.
    let (doc, events) = a_document(&data).await;
    let jsonl = erp(&["history", &doc, "--data-dir", d, "--format", "jsonl"]);
    assert_eq!(jsonl.status.code(), Some(0), "{}", text(&jsonl));
    let rows: Vec<Value> = String::from_utf8(jsonl.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), events.len());
    for (row, event) in rows.iter().zip(&events) {
        assert_eq!(row["version"].as_u64(), Some(event.version));
        assert_eq!(row["action"].as_str(), Some(event.event_type.as_str()));
        assert_eq!(
            row["correlation_id"].as_str(),
            Some(event.correlation_id.to_string().as_str())
        );
        assert_eq!(row["position"].as_str(), Some(event.position.token().as_str()));
    }
    let csv = erp(&["history", &doc, "--data-dir", d, "--format", "csv"]);
    assert_eq!(String::from_utf8(csv.stdout).unwrap().lines().count(), events.len() + 1);
    // As of each event's own time (the one definition time travel uses everywhere): the
    // events up to that instant, and nothing recorded later.
    let decoded: Vec<ApprovalEvent> = events
        .iter()
        .map(|e| serde_json::from_value(e.payload.clone()).unwrap())
        .collect();
    for cut in 1..=events.len() {
        let instant = decoded[cut - 1].at();
        let at = instant.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let then = erp(&["history", &doc, "--data-dir", d, "--as-of", &at]);
        assert_eq!(then.status.code(), Some(0), "{}", text(&then));
        let state: Value = serde_json::from_slice(&then.stdout).unwrap();
        let upto = decoded.iter().take_while(|e| e.at() <= instant).count();
        assert!(upto >= cut, "times never go backwards within a stream");
        let expected = serde_json::to_value(Approval::fold(&decoded[..upto]).document().unwrap()).unwrap();
        assert_eq!(state, expected, "as of version {cut}");
    }
    let missing = erp(&["history", "00000000-0000-0000-0000-000000000000", "--data-dir", d]);
    assert_eq!(missing.status.code(), Some(2));

    // replay diff: clean, then an injected corruption is reported with exit 1.
    let clean = erp(&["replay", "diff", "--projection", "all", "--data-dir", d]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    {
        sqlx::any::install_default_drivers();
        let db = sqlx::AnyPool::connect(&format!("sqlite://{}", data.join("read.db").display()))
            .await
            .unwrap();
        sqlx::query("UPDATE employees SET name = '위조' WHERE id = '00000000-0000-7000-8000-000000000106'")
            .execute(&db)
            .await
            .unwrap();
        sqlx::query("DELETE FROM inbox WHERE box = 'pending'")
            .execute(&db)
            .await
            .unwrap();
        db.close().await;
    }
    let dirty = erp(&["replay", "diff", "--projection", "all", "--data-dir", d]);
    assert_eq!(dirty.status.code(), Some(1), "{}", text(&dirty));
    let out = text(&dirty);
    assert!(
        out.contains("different employees 00000000-0000-7000-8000-000000000106"),
        "{out}"
    );
    assert!(out.contains("missing   inbox"), "{out}");

    // export → import → verify, byte for byte.
    let file = dir.path().join("backup.jsonl");
    let exported = erp(&["export", "--data-dir", d, "--out", file.to_str().unwrap()]);
    assert_eq!(exported.status.code(), Some(0), "{}", text(&exported));
    let restored = dir.path().join("restored");
    let imported = erp(&[
        "import",
        "--data-dir",
        restored.to_str().unwrap(),
        "--in",
        file.to_str().unwrap(),
    ]);
    assert_eq!(imported.status.code(), Some(0), "{}", text(&imported));
    let again = erp(&["export", "--data-dir", restored.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8(again.stdout).unwrap(),
        std::fs::read_to_string(&file).unwrap()
    );
    let twice = erp(&[
        "import",
        "--data-dir",
        restored.to_str().unwrap(),
        "--in",
        file.to_str().unwrap(),
    ]);
    assert_eq!(twice.status.code(), Some(2), "import refuses a non-empty log");

    // A tampered backup imports, and verification says where.
    let tampered: String = std::fs::read_to_string(&file)
        .unwrap()
        .replacen("\"title\":\"", "\"title\":\"[위조] ", 1);
    let forged = dir.path().join("forged.jsonl");
    std::fs::write(&forged, tampered).unwrap();
    let bad = erp(&[
        "import",
        "--data-dir",
        dir.path().join("forged").to_str().unwrap(),
        "--in",
        forged.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("hash_mismatch"), "{}", text(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_kafka_imports_into_an_embedded_log_and_verifies() {
    let brokers =
        std::env::var("ERP_TEST_KAFKA").unwrap_or_else(|_| panic!("ERP_TEST_KAFKA is not set: run scripts/test"));
    let prefix = format!("audit{}", uuid::Uuid::now_v7().simple());
    let mut config = infra::eventlog::kafka::KafkaConfig::local(&brokers, &prefix, &streams::ALL);
    config.partitions = 3;
    let log = std::sync::Arc::new(
        infra::eventlog::kafka::KafkaLog::connect(config, Upcasters::default())
            .await
            .unwrap(),
    );
    let signer = infra::auth::LocalSigner::from_seed(&[42; 32], "erp-embedded", "erp");
    let auth = command_api::AuthState {
        verifier: signer.verifier(),
        signer: Some(signer),
    };
    let settings = command_api::Settings {
        policy: command_api::seed::demo_policy(),
        ..Default::default()
    };
    let (state, _) = command_api::build(log.clone(), auth, settings);
    tokio::time::sleep(Duration::from_secs(3)).await; // partitions assigned to this writer
    command_api::seed::seed_if_empty(&state)
        .await
        .map_err(|e| e.detail)
        .unwrap();
    let kafka_env = [
        ("ERP_KAFKA_BROKERS", brokers.as_str()),
        ("ERP_KAFKA_PREFIX", prefix.as_str()),
        ("ERP_KAFKA_PARTITIONS", "3"),
        ("ERP_LOG", "warn"),
    ];
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_erp"))
            .args(args)
            .envs(kafka_env)
            .output()
            .unwrap()
    };
    let verified = run(&["verify"]);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kafka.jsonl");
    let exported = run(&["export", "--out", file.to_str().unwrap()]);
    assert_eq!(exported.status.code(), Some(0), "{}", text(&exported));
    let lines = std::fs::read_to_string(&file).unwrap().lines().count();
    assert!(lines > 30, "{lines} records");
    let imported = erp(&[
        "import",
        "--data-dir",
        dir.path().join("embedded").to_str().unwrap(),
        "--in",
        file.to_str().unwrap(),
    ]);
    assert_eq!(imported.status.code(), Some(0), "{}", text(&imported));
    assert!(
        text(&imported).contains(&format!("{lines} records")),
        "{}",
        text(&imported)
    );
    log.shutdown().await;
}

/// `erp verify --attachments`: every file the log names is in the store with the bytes its
/// SHA-256 names; a file replaced by other bytes, or lost, is a problem (exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_attachments_finds_an_altered_or_missing_file() {
    use domain::approval::{ApprovalCommand, ApprovalLine, Attachment, Content};
    use domain::form::{general_form, FieldValue};
    use domain::ids::{ApprovalId, AttachmentId, EmployeeId};
    use infra::attachments::{AttachmentStore, DirStore};
    use infra::eventlog::{ExpectedVersion, NewCommit, NewEvent};
    use uuid::Uuid;
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path().join("attachments"));
    let bytes = "견적서: 모니터 2대".as_bytes();
    let sha = store.put(bytes, "00000000-0000-0000-0000-000000000001").await.unwrap();
    let drafter = EmployeeId(Uuid::from_u128(1));
    let draft = ApprovalCommand::Draft {
        id: ApprovalId(Uuid::from_u128(7)),
        form: general_form(),
        content: Content {
            title: "첨부 문서".into(),
            body: [("content".to_owned(), FieldValue::Text("본문".into()))].into(),
            attachments: vec![Attachment {
                id: AttachmentId(Uuid::from_u128(8)),
                name: "견적서.pdf".into(),
                size: bytes.len() as u64,
                content_type: "application/pdf".into(),
                sha256: Some(sha.clone()),
            }],
        },
        line: ApprovalLine::sequential([EmployeeId(Uuid::from_u128(2))]),
        by: domain::Actor::employee(drafter),
        at: chrono::Utc::now(),
    };
    let events: Vec<ApprovalEvent> = Approval::default().decide(&draft).unwrap();
    {
        let log = EmbeddedLog::open(dir.path().join("log"), EmbeddedOptions::default(), Upcasters::default()).unwrap();
        log.append(NewCommit {
            stream: StreamRef::new(streams::APPROVAL, Uuid::from_u128(7).to_string()),
            expected: ExpectedVersion::Exact(0),
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
    let data_dir = dir.path().to_str().unwrap();
    let clean = erp(&["verify", "--attachments", "--data-dir", data_dir]);
    assert!(clean.status.success(), "{}", text(&clean));
    assert!(
        text(&clean).contains("1 attachment files (1 references)"),
        "{}",
        text(&clean)
    );
    let file = dir.path().join("attachments").join(&sha[..2]).join(&sha);
    std::fs::write(&file, b"other bytes").unwrap();
    let altered = erp(&["verify", "--attachments", "--data-dir", data_dir]);
    assert_eq!(altered.status.code(), Some(1), "{}", text(&altered));
    assert!(
        text(&altered).contains(&format!("altered  {sha} named by")),
        "{}",
        text(&altered)
    );
    std::fs::remove_file(&file).unwrap();
    let missing = erp(&["verify", "--attachments", "--data-dir", data_dir, "--json"]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).contains("\"kind\": \"missing\""), "{}", text(&missing));
    // Without --attachments the log alone is checked, and it is intact.
    assert!(erp(&["verify", "--data-dir", data_dir]).status.success());
}
