//! `erp bench rebuild`: fills an embedded log with a realistic mix of approval traffic and
//! rebuilds the read models from it, printing events/s per store beside each store's floor:
//! as many plain 1 KiB rows (documents, on MongoDB) as the rebuild had events, written in the
//! catch-up's batch size — SQL through multi-row inserts in one transaction per batch, with
//! the read model's own SQLite settings; MongoDB through one unordered `insert_many` per batch.
//!
//! Mix per document (5 commits, 5 events): 기안, 상신, 승인 (팀장), 의견, 승인 (본부장) — the
//! approval views fold each one into the document, its timeline, inbox rows and feed entries.

use anyhow::Context;
use chrono::Utc;
use domain::approval::{Approval, ApprovalCommand as C, ApprovalEvent, ApprovalLine, Content};
use domain::form::{general_form, FieldValue};
use domain::ids::{ApprovalId, CommentId, EmployeeId};
use domain::{Actor, Aggregate};
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{streams, EventLog, ExpectedVersion, NewCommit, StreamRef, Upcasters};
use infra::readmodel::mongo::MongoViews;
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::Projection;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// The five commits of one document, decided by the domain so every event is valid.
fn document_commits(n: u64) -> Vec<Vec<ApprovalEvent>> {
    let emp = |i: u128| EmployeeId(Uuid::from_u128(i));
    let (drafter, lead, head) = (emp(1000 + (n % 50) as u128), emp(10 + (n % 5) as u128), emp(1));
    let id = ApprovalId(Uuid::from_u128(0xB000_0000 + n as u128));
    let at = Utc::now();
    let content = Content {
        title: format!("지출결의 {n}"),
        body: [(
            "content".to_owned(),
            FieldValue::Text("출장 경비 정산 요청드립니다.".into()),
        )]
        .into(),
        attachments: vec![],
    };
    let commands = [
        C::Draft {
            id,
            form: general_form(),
            content,
            line: ApprovalLine::sequential([lead, head]),
            by: Actor::employee(drafter),
            at,
        },
        C::Submit {
            form: general_form(),
            rule: None,
            authority: domain::testkit::no_requirement(),
            roster: domain::testkit::roster_of(&ApprovalLine::sequential([lead, head])),
            leave_balance: None,
            by: Actor::employee(drafter),
            at,
        },
        C::Approve {
            comment: Some("확인했습니다".into()),
            proxy: None,
            by: Actor::employee(lead),
            at,
        },
        C::Comment {
            id: CommentId(Uuid::from_u128(n as u128)),
            text: "영수증 첨부 부탁드립니다".into(),
            by: Actor::employee(head),
            at,
        },
        C::Approve {
            comment: None,
            proxy: None,
            by: Actor::employee(head),
            at,
        },
    ];
    let mut state = Approval::default();
    commands
        .iter()
        .map(|c| {
            let events = state.decide(c).unwrap_or_default();
            for e in &events {
                state.evolve(e);
            }
            events
        })
        .collect()
}

async fn fill(log: Arc<dyn EventLog>, events: u64) -> anyhow::Result<()> {
    let docs = events / 5;
    let tasks = 32u64;
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut n = t;
                while n < docs {
                    let stream = StreamRef::new(
                        streams::APPROVAL,
                        ApprovalId(Uuid::from_u128(0xB000_0000 + n as u128)).to_string(),
                    );
                    for (version, events) in document_commits(n).into_iter().enumerate() {
                        let commit = NewCommit::of(stream.clone(), ExpectedVersion::Exact(version as u64), &events)?;
                        log.append(commit).await?;
                    }
                    n += tasks;
                }
                Ok::<_, infra::eventlog::EventLogError>(())
            })
        })
        .collect();
    for h in handles {
        h.await?.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    println!(
        "filled {} events ({} documents) in {:.1} s",
        docs * 5,
        docs,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Rows per transaction of the floor (a catch-up batch's commits) and per INSERT statement.
const FLOOR_BATCH: u64 = 4_000;
const FLOOR_ROWS_PER_STATEMENT: u64 = 100;

/// The store's raw write rate, rows/s: `rows` rows of 1 KiB into a scratch table on `url`,
/// one transaction per [`FLOOR_BATCH`] rows; the table is dropped afterwards.
async fn insert_floor(url: &str, rows: u64) -> anyhow::Result<f64> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await?;
    if url.starts_with("sqlite:") {
        for pragma in infra::readmodel::sql::SQLITE_PRAGMAS {
            sqlx::query(pragma).execute(&pool).await?;
        }
    }
    let table = format!("bench_floor_{}", Uuid::now_v7().simple());
    sqlx::query(&format!(
        "CREATE TABLE {table} (id VARCHAR(40) PRIMARY KEY, body TEXT NOT NULL)"
    ))
    .execute(&pool)
    .await?;
    let statement = format!(
        "INSERT INTO {table} (id, body) VALUES {}",
        vec!["(?, ?)"; FLOOR_ROWS_PER_STATEMENT as usize].join(", ")
    );
    let body = "x".repeat(1024);
    let started = Instant::now();
    let mut written = 0;
    while written < rows {
        let mut tx = pool.begin().await?;
        for _ in 0..FLOOR_BATCH / FLOOR_ROWS_PER_STATEMENT {
            let mut insert = sqlx::query(&statement);
            for _ in 0..FLOOR_ROWS_PER_STATEMENT {
                insert = insert.bind(Uuid::now_v7().to_string()).bind(body.as_str());
            }
            insert.execute(&mut *tx).await?;
            written += FLOOR_ROWS_PER_STATEMENT;
        }
        tx.commit().await?;
    }
    let rate = written as f64 / started.elapsed().as_secs_f64();
    sqlx::query(&format!("DROP TABLE {table}")).execute(&pool).await?;
    pool.close().await;
    Ok(rate)
}

/// Prints the floor of a rebuild of `events` events into the SQL store at `url`.
async fn print_floor(url: &str, events: u64) -> anyhow::Result<()> {
    let rate = insert_floor(url, events).await?;
    println!(
        "{:<34} floor, same run: {events} rows of 1 KiB, {FLOOR_BATCH} per transaction: {rate:>9.0} rows/s",
        ""
    );
    Ok(())
}

/// The MongoDB server's raw write rate, documents/s: `documents` documents of 1 KiB into a
/// scratch database on `url`, one unordered `insert_many` per [`FLOOR_BATCH`] (as a catch-up
/// batch writes each append-only collection); the database is dropped afterwards.
async fn mongo_floor(url: &str, documents: u64) -> anyhow::Result<f64> {
    use mongodb::bson::{doc, Document};
    let client = mongodb::Client::with_uri_str(url).await?;
    let db = client.database(&format!("bench_floor_{}", Uuid::now_v7().simple()));
    let floor = db.collection::<Document>("floor");
    let body = "x".repeat(1024);
    let started = Instant::now();
    let mut written = 0;
    while written < documents {
        let batch: Vec<Document> = (0..FLOOR_BATCH.min(documents - written))
            .map(|_| doc! { "_id": Uuid::now_v7().to_string(), "body": body.as_str() })
            .collect();
        written += batch.len() as u64;
        floor.insert_many(batch).ordered(false).await?;
    }
    let rate = written as f64 / started.elapsed().as_secs_f64();
    db.drop().await?;
    Ok(rate)
}

async fn rebuild(
    label: &str,
    log: Arc<dyn EventLog>,
    projector: projector::Projector,
    events: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let commits = projector
        .catch_up(Projection::Approvals)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed().as_secs_f64();
    let _ = log;
    println!(
        "{label:<34} {commits:>9} commits  {:>8.1} s  {:>9.0} events/s",
        took,
        events as f64 / took
    );
    Ok(())
}

pub async fn run(
    events: u64,
    mysql: Option<String>,
    mongo: Option<String>,
    mysql_events: u64,
    mongo_events: u64,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir_in(".").context("temp dir")?;
    let logs: Vec<(u64, Arc<dyn EventLog>)> = {
        let mut logs = Vec::new();
        for (i, n) in [events, mysql_events.min(events), mongo_events.min(events)]
            .into_iter()
            .enumerate()
        {
            if i > 0 && logs.iter().any(|(m, _)| *m == n) {
                continue;
            }
            let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(
                dir.path().join(format!("log{i}")),
                EmbeddedOptions::default(),
                Upcasters::default(),
            )?);
            fill(log.clone(), n).await?;
            logs.push((n, log));
        }
        logs
    };
    let log_for = |n: u64| {
        logs.iter()
            .find(|(m, _)| *m == n)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| logs[0].1.clone())
    };
    println!("\nrebuild of the approval views (document, timeline, inbox, feed), replay mode:");
    let sqlite = SqlReadModel::connect(&infra::readmodel::sql::sqlite_url(&dir.path().join("read.db"))?).await?;
    rebuild(
        "SQLite (embedded default)",
        log_for(events),
        projector::Projector::new(log_for(events), sqlite),
        events,
    )
    .await?;
    print_floor(
        &infra::readmodel::sql::sqlite_url(&dir.path().join("floor.db"))?,
        events,
    )
    .await?;
    if let Some(url) = mysql {
        let n = mysql_events.min(events);
        let store = SqlReadModel::connect(&url).await?;
        rebuild(
            &format!("MySQL/MariaDB ({n} events)"),
            log_for(n),
            projector::Projector::new(log_for(n), store.clone()),
            n,
        )
        .await?;
        print_floor(&url, n).await?;
    }
    if let Some(url) = mongo {
        let n = mongo_events.min(events);
        let scratch =
            SqlReadModel::connect(&infra::readmodel::sql::sqlite_url(&dir.path().join("scratch.db"))?).await?;
        let views = MongoViews::connect(&url, &format!("bench{}", Uuid::now_v7().simple())).await?;
        let projector = projector::Projector::new(log_for(n), scratch).with_views(Arc::new(views));
        rebuild(&format!("MongoDB wire ({n} events)"), log_for(n), projector, n).await?;
        let rate = mongo_floor(&url, n).await?;
        println!(
            "{:<34} floor, same run: {n} documents of 1 KiB, {FLOOR_BATCH} per insert_many: {rate:>9.0} documents/s",
            ""
        );
    }
    Ok(())
}

/// Passes of each `erp bench verify` figure; the median is printed, with the range.
const RUNS: usize = 5;

/// `rates` as "median N unit/s (min–max, K runs)".
fn per_second(rates: &mut [f64], unit: &str) -> String {
    rates.sort_by(f64::total_cmp);
    let median = rates.get(rates.len() / 2).copied().unwrap_or_default();
    let (min, max) = (
        rates.first().copied().unwrap_or_default(),
        rates.last().copied().unwrap_or_default(),
    );
    format!("median {median:.0} {unit}/s ({min:.0}–{max:.0}, {} runs)", rates.len())
}

/// `erp bench verify`: fills an embedded log with `events` events of the same mix and times
/// `erp verify`'s checks over it on every core — the chain alone, then with every payload
/// decoded as its domain event — beside the floor: reading the same segments and SHA-256 over
/// every stored byte, on one core. Each figure is the median of [`RUNS`] passes.
pub async fn verify(events: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir_in(".").context("temp dir")?;
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(
        dir.path().join("log"),
        EmbeddedOptions::default(),
        Upcasters::default(),
    )?);
    fill(log.clone(), events).await?;
    drop(log);
    let log_dir = dir.path().join("log");
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    // A pass takes a few tenths of a second, so one pass spreads with whatever else the box
    // does in it: each figure is the median of RUNS passes, printed with their range.
    let mut floor = Vec::new();
    let (mut frames, mut bytes) = (0u64, 0u64);
    for _ in 0..RUNS {
        let started = Instant::now();
        (frames, bytes) = (0, 0);
        let mut hasher = sha2::Sha256::default();
        infra::eventlog::embedded::scan_frames(&log_dir, streams::APPROVAL, |_, frame| {
            if let Ok(body) = frame {
                sha2::Digest::update(&mut hasher, body);
                frames += 1;
                bytes += body.len() as u64;
            }
        })?;
        std::hint::black_box(sha2::Digest::finalize(hasher));
        floor.push(frames as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "floor: read + SHA-256 of every stored byte on one core: {frames} records ({:.1} MiB) — {}",
        bytes as f64 / (1024.0 * 1024.0),
        per_second(&mut floor, "records")
    );
    for (label, schema) in [
        ("hash chain, versions, envelope", false),
        ("… and every payload as its domain event", true),
    ] {
        let mut rates = Vec::new();
        let mut events = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let report = tokio::task::block_in_place(|| {
                infra::audit::verify_embedded(&log_dir, streams::APPROVAL, None, schema, threads, &mut |_| {})
            })?;
            let took = started.elapsed().as_secs_f64();
            anyhow::ensure!(
                report.problems.is_empty(),
                "problems in a fresh log: {:?}",
                report.problems
            );
            events = report.events;
            rates.push(report.events as f64 / took);
        }
        println!(
            "verify ({label}, {threads} threads): {events} events — {}",
            per_second(&mut rates, "events")
        );
    }
    Ok(())
}
