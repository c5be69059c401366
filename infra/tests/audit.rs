//! `infra::audit::Verifier` on records as stored: an untouched log verifies; a tampered, a
//! removed, a reordered record and a payload that no longer decodes as its domain event are
//! each reported with their kind, stream, version and position. Damaged logs are made the way
//! an attacker or a broken disk would leave them: export, edit, import verbatim.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use chrono::Utc;
use domain::approval::{Approval, ApprovalCommand as C, ApprovalLine, Content};
use domain::form::{general_form, FieldValue};
use domain::ids::{ApprovalId, EmployeeId};
use domain::{Actor, Aggregate};
use infra::audit::{Problem, Verifier};
use infra::eventlog::codec::CommitRecord;
use infra::eventlog::embedded::{scan_topic, EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{streams, EventLog, ExpectedVersion, NewCommit, NewEvent, StreamRef, Upcasters};
use uuid::Uuid;

const A: EmployeeId = EmployeeId(Uuid::from_u128(1));
const B: EmployeeId = EmployeeId(Uuid::from_u128(2));

/// Two documents: one drafted, submitted, commented twice; one drafted.
async fn history(log: &EmbeddedLog) {
    for (n, doc) in [
        (0u128, ApprovalId(Uuid::from_u128(100))),
        (1, ApprovalId(Uuid::from_u128(101))),
    ] {
        let mut commands = vec![C::Draft {
            id: doc,
            form: general_form(),
            content: Content {
                title: format!("문서 {n}"),
                body: [("content".to_owned(), FieldValue::Text("본문".into()))].into(),
                attachments: vec![],
            },
            line: ApprovalLine::sequential([B]),
            by: Actor::employee(A),
            at: Utc::now(),
        }];
        if n == 0 {
            commands.push(C::Submit {
                form: general_form(),
                rule: None,
                authority: domain::testkit::no_requirement(),
                roster: domain::testkit::roster_of(&ApprovalLine::sequential([B])),
                leave_balance: None,
                by: Actor::employee(A),
                at: Utc::now(),
            });
            for text in ["첫 의견", "둘째 의견"] {
                commands.push(C::Comment {
                    id: domain::ids::CommentId(Uuid::now_v7()),
                    text: text.into(),
                    by: Actor::employee(B),
                    at: Utc::now(),
                });
            }
        }
        let mut state = Approval::default();
        for (version, command) in commands.into_iter().enumerate() {
            let events = state.decide(&command).unwrap();
            for e in &events {
                state.evolve(e);
            }
            log.append(NewCommit {
                stream: StreamRef::new(streams::APPROVAL, doc.to_string()),
                expected: ExpectedVersion::Exact(version as u64),
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
    }
}

fn records(dir: &std::path::Path) -> Vec<CommitRecord> {
    let mut out = Vec::new();
    scan_topic(dir, streams::APPROVAL, |raw| out.push(raw.record.unwrap())).unwrap();
    out
}

/// Imports `records` verbatim into a fresh log and verifies it.
async fn verify_copy(records: Vec<CommitRecord>) -> Vec<Problem> {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap();
        for r in records {
            log.import(r).await.unwrap();
        }
    }
    let mut verifier = Verifier::new(None, true);
    scan_topic(dir.path(), streams::APPROVAL, |raw| {
        verifier.visit(streams::APPROVAL, 0, raw)
    })
    .unwrap();
    // `erp verify` judges the stored bytes without decoding them first: it must find the same.
    let stored = infra::audit::verify_embedded(dir.path(), streams::APPROVAL, None, true, 1, &mut |_| {}).unwrap();
    assert_eq!(
        stored.problems, verifier.report.problems,
        "judged from the stored bytes"
    );
    assert_eq!(
        (stored.records, stored.events, stored.fenced),
        (verifier.report.records, verifier.report.events, verifier.report.fenced)
    );
    verifier.report.problems
}

async fn original() -> (tempfile::TempDir, Vec<CommitRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap();
    history(&log).await;
    drop(log);
    let all = records(dir.path());
    assert_eq!(all.len(), 5);
    (dir, all)
}

fn kinds(problems: &[Problem]) -> Vec<(&'static str, Option<u64>, String)> {
    problems
        .iter()
        .map(|p| (p.kind, p.version, p.position.clone()))
        .collect()
}

#[tokio::test]
async fn an_untouched_log_and_its_verbatim_copy_verify() {
    let (_dir, all) = original().await;
    assert_eq!(verify_copy(all.clone()).await, vec![]);
    let (dir, _) = original().await;
    let mut verifier = Verifier::new(None, true);
    scan_topic(dir.path(), streams::APPROVAL, |raw| {
        verifier.visit(streams::APPROVAL, 0, raw)
    })
    .unwrap();
    assert_eq!(
        (
            verifier.report.records,
            verifier.report.events,
            verifier.report.problems.len()
        ),
        (5, 5, 0)
    );
}

#[tokio::test]
async fn a_tampered_record_is_a_hash_mismatch_at_its_version() {
    let (_dir, mut all) = original().await;
    all[2].events[0].payload["text"] = "위조된 의견".into();
    let problems = verify_copy(all).await;
    assert_eq!(
        kinds(&problems),
        vec![("hash_mismatch", Some(3), "approval:0:2".to_owned())]
    );
    assert!(problems[0].detail.contains("altered"), "{}", problems[0].detail);
    assert_eq!(
        problems[0].stream_id.as_deref(),
        Some(Uuid::from_u128(100).to_string().as_str())
    );
}

/// Records written before payloads were stored with sorted keys: their stored bytes are not
/// the canonical form, so the hash is checked the canonical way, and they still verify.
#[tokio::test]
async fn records_whose_payload_keys_were_stored_unsorted_verify_and_tampering_with_them_is_found() {
    let (_dir, mut all) = original().await;
    for record in &mut all {
        for event in &mut record.events {
            let fields: Vec<_> = event.payload.as_object().unwrap().clone().into_iter().rev().collect();
            event.payload = serde_json::Value::Object(fields.into_iter().collect());
        }
    }
    let drafted = &all[4].events[0].payload;
    let mut sorted = drafted.clone();
    sorted.sort_all_objects();
    assert_ne!(drafted.to_string(), sorted.to_string(), "stored unsorted");
    assert_eq!(verify_copy(all.clone()).await, vec![]);
    all[2].events[0].payload["text"] = "위조된 의견".into();
    assert_eq!(
        kinds(&verify_copy(all).await),
        vec![("hash_mismatch", Some(3), "approval:0:2".to_owned())]
    );
}

#[tokio::test]
async fn a_removed_record_is_a_version_gap() {
    let (_dir, mut all) = original().await;
    all.remove(2); // the first comment (version 3) of document 100
    let problems = verify_copy(all).await;
    assert_eq!(
        kinds(&problems),
        vec![("version_gap", Some(4), "approval:0:2".to_owned())]
    );
    assert!(problems[0].detail.contains("missing or out of order"));
}

#[tokio::test]
async fn a_reordered_record_is_found_where_order_breaks() {
    let (_dir, mut all) = original().await;
    all.swap(2, 3); // version 4 before version 3
    let problems = verify_copy(all).await;
    assert_eq!(kinds(&problems)[0], ("version_gap", Some(4), "approval:0:2".to_owned()));
}

#[tokio::test]
async fn a_payload_that_is_not_its_domain_event_is_a_schema_problem() {
    let (_dir, mut all) = original().await;
    // A well-formed record whose hash is recomputed (so the chain holds) but whose payload
    // lost a field the domain event requires.
    let record = &mut all[4];
    record.events[0].payload.as_object_mut().unwrap().remove("drafter");
    let hash = record.hash_of(&record.events[0]);
    record.events[0].hash = hash;
    let problems = verify_copy(all).await;
    assert_eq!(kinds(&problems), vec![("schema", Some(1), "approval:0:4".to_owned())]);
    assert!(
        problems[0].detail.contains("approval.drafted does not decode"),
        "{}",
        problems[0].detail
    );
}

#[tokio::test]
async fn the_threaded_verifier_finds_what_the_sequential_one_finds() {
    let (_dir, mut all) = original().await;
    all[2].events[0].payload["text"] = "위조된 의견".into();
    all.remove(4);
    let sequential = verify_copy(all.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap();
        for r in all {
            log.import(r).await.unwrap();
        }
    }
    for threads in [1, 2, 3] {
        let report =
            infra::audit::verify_embedded(dir.path(), streams::APPROVAL, None, true, threads, &mut |_| {}).unwrap();
        assert_eq!(report.problems, sequential, "{threads} threads");
        assert_eq!(report.records, 4);
    }
}

#[tokio::test]
async fn a_damaged_frame_is_unreadable_not_fatal() {
    let (dir, _) = original().await;
    let segment = std::fs::read_dir(dir.path().join(streams::APPROVAL))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    let mut verifier = Verifier::new(None, true);
    scan_topic(dir.path(), streams::APPROVAL, |raw| {
        verifier.visit(streams::APPROVAL, 0, raw)
    })
    .unwrap();
    let problems = verifier.report.problems;
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].kind, "unreadable");
    assert!(problems[0].detail.contains("damaged frame"), "{}", problems[0].detail);
}

/// After losing a race for version 2, a stale writer built version 3 on its own fenced commit.
/// Rule R fences both; neither is a broken chain of the stream's history.
#[tokio::test]
async fn a_stale_writers_commit_on_its_own_fenced_commit_is_fenced_not_a_broken_link() {
    let (_dir, mut all) = original().await;
    let on = |record: &CommitRecord| {
        let commit = NewCommit {
            stream: record.stream(),
            expected: ExpectedVersion::Any,
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: None,
            traceparent: None,
            events: vec![NewEvent {
                event_type: "approval.commented".into(),
                schema_version: 1,
                payload: serde_json::json!({}),
            }],
        };
        CommitRecord::build(&commit, record.last_version(), record.last_hash(), Utc::now())
    };
    let lost = on(&all[0]);
    let built_on_lost = on(&lost);
    all.insert(2, built_on_lost);
    all.insert(2, lost);
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap();
        for r in all {
            log.import(r).await.unwrap();
        }
    }
    let mut verifier = Verifier::new(None, true);
    scan_topic(dir.path(), streams::APPROVAL, |raw| {
        verifier.visit(streams::APPROVAL, 0, raw)
    })
    .unwrap();
    assert_eq!(verifier.report.problems, vec![]);
    assert_eq!(verifier.report.fenced, 2);
}

/// What an owner of the one partition answers: `heads` as (stream, version, hash).
fn owner_at(applied_to: u64, heads: &[(&str, u64, &str)]) -> infra::eventlog::kafka::owners::OwnerHeads {
    infra::eventlog::kafka::owners::OwnerHeads {
        instance_id: "owner-1".into(),
        applied_to,
        heads: heads
            .iter()
            .map(|(id, v, h)| ((*id).to_owned(), (*v, (*h).to_owned())))
            .collect(),
    }
}

/// Verifies the log of `dir` and compares its heads with what the owner answered.
fn verify_against(dir: &std::path::Path, owner: infra::eventlog::kafka::owners::OwnerHeads) -> Vec<Problem> {
    let mut verifier = Verifier::new(None, true);
    let mut check = infra::audit::OwnerHeadsCheck::new(streams::APPROVAL, 1, None, [(0, owner)].into());
    scan_topic(dir, streams::APPROVAL, |raw| {
        check.before(0, raw.offset, &verifier);
        verifier.visit(streams::APPROVAL, 0, raw)
    })
    .unwrap();
    let mut problems = verifier.report.problems.clone();
    problems.extend(check.finish(&verifier));
    problems
}

/// An owner whose head for a stream is not the log's (a snapshot that lies, a stream it
/// counts as new) is named; an owner that applied less of the partition than the log holds
/// is compared at its own offset, not taken for a wrong one.
#[tokio::test]
async fn heads_an_owner_holds_are_compared_with_the_log_at_the_offset_it_applied_up_to() {
    let (dir, all) = original().await;
    let head = |i: usize| {
        (
            all[i].stream_id.clone(),
            all[i].last_version(),
            all[i].last_hash().to_owned(),
        )
    };
    let ((doc, v4, h4), (other, v1, h1), (_, v2, h2)) = (head(3), head(4), head(1));
    let healthy = owner_at(5, &[(&doc, v4, &h4), (&other, v1, &h1)]);
    assert_eq!(verify_against(dir.path(), healthy), vec![]);
    let behind = owner_at(2, &[(&doc, v2, &h2)]);
    assert_eq!(verify_against(dir.path(), behind), vec![], "compared at offset 2");

    let ahead = owner_at(5, &[(&doc, v4 + 2, "forged"), (&other, v1, &h1)]);
    let problems = verify_against(dir.path(), ahead);
    assert_eq!(
        problems
            .iter()
            .map(|p| (p.kind, p.stream_id.clone(), p.version))
            .collect::<Vec<_>>(),
        [("owner_head", Some(doc.clone()), Some(v4 + 2))],
        "{problems:?}"
    );
    let unaware = owner_at(5, &[(&doc, v4, &h4)]);
    let problems = verify_against(dir.path(), unaware);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].stream_id.as_deref(), Some(other.as_str()));
    assert!(problems[0].detail.contains("owner-1"), "{}", problems[0].detail);
}
