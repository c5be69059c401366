//! The approval views (document, timeline, inbox boxes, notification feed) on SQLite and on
//! MariaDB: boxes follow the document, redelivery adds nothing, replays notify nobody.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::Utc;
use domain::approval::{Approval, ApprovalCommand as C, ApprovalLine, Content, Inbox};
use domain::form::{general_form, FieldValue};
use domain::ids::{ApprovalId, EmployeeId};
use domain::{Actor, Aggregate};
use infra::bus::Change;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{streams, Checkpoint, EventLog, ExpectedVersion, NewCommit, NewEvent, StreamRef, Upcasters};
use infra::readmodel::mongo::MongoViews;
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::ApprovalViews;
use infra::readmodel::Projection;
use projector::Projector;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

const ALICE: EmployeeId = EmployeeId(Uuid::from_u128(1));
const BOB: EmployeeId = EmployeeId(Uuid::from_u128(2));
const CAROL: EmployeeId = EmployeeId(Uuid::from_u128(3));

/// An empty embedded log in a temporary directory (kept as long as the returned guard).
fn fresh_log() -> (tempfile::TempDir, Arc<dyn EventLog>) {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).unwrap();
    (dir, Arc::new(log))
}

/// ALICE submits her draft along `line` (general form, no rule, everyone on the line active).
fn alice_submits(line: &ApprovalLine) -> C {
    C::Submit {
        form: general_form(),
        rule: None,
        authority: domain::testkit::no_requirement(),
        roster: domain::testkit::roster_of(line),
        leave_balance: None,
        by: Actor::employee(ALICE),
        at: Utc::now(),
    }
}

/// Decides `command` against the stream's folded state and appends the events.
async fn run(log: &dyn EventLog, id: ApprovalId, command: C) {
    let stream = StreamRef::new(streams::APPROVAL, id.to_string());
    let events: Vec<domain::approval::ApprovalEvent> = log
        .read_stream(&stream)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_value(e.payload).unwrap())
        .collect();
    let state = Approval::fold(&events);
    let new = state.decide(&command).unwrap();
    let new = new.iter().map(|e| NewEvent::from_domain(e).unwrap()).collect();
    append(log, &id.to_string(), events.len() as u64, new).await;
}

/// Appends `events` to approval stream `id` at version `after`, as they are.
async fn append(log: &dyn EventLog, id: &str, after: u64, events: Vec<NewEvent>) {
    log.append(NewCommit {
        stream: StreamRef::new(streams::APPROVAL, id),
        expected: ExpectedVersion::Exact(after),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: None,
        traceparent: None,
        events,
    })
    .await
    .unwrap();
}

/// `n` documents ALICE drafts for BOB, in order.
async fn drafts(log: &dyn EventLog, n: u128) -> Vec<ApprovalId> {
    let ids: Vec<ApprovalId> = (0..n).map(|n| ApprovalId(Uuid::from_u128(1_000 + n))).collect();
    for id in &ids {
        let command = C::Draft {
            id: *id,
            form: general_form(),
            content: content("초안"),
            line: ApprovalLine::sequential([BOB]),
            by: Actor::employee(ALICE),
            at: Utc::now(),
        };
        run(log, *id, command).await;
    }
    ids
}

fn content(title: &str) -> Content {
    Content {
        title: title.into(),
        body: [("content".to_owned(), FieldValue::Text("본문".into()))].into(),
        attachments: vec![],
    }
}

/// Two documents from ALICE along BOB → CAROL: one approved by both, one waiting for BOB.
async fn history(log: &dyn EventLog) -> (ApprovalId, ApprovalId) {
    let (done, waiting) = (ApprovalId(Uuid::from_u128(100)), ApprovalId(Uuid::from_u128(101)));
    let line = ApprovalLine {
        cc: vec![EmployeeId(Uuid::from_u128(9))],
        ..ApprovalLine::sequential([BOB, CAROL])
    };
    for (id, title) in [(done, "완료될 문서"), (waiting, "대기 문서")] {
        run(
            log,
            id,
            C::Draft {
                id,
                form: general_form(),
                content: content(title),
                line: line.clone(),
                by: Actor::employee(ALICE),
                at: Utc::now(),
            },
        )
        .await;
        run(log, id, alice_submits(&line)).await;
    }
    for who in [BOB, CAROL] {
        run(
            log,
            done,
            C::Approve {
                comment: Some("확인".into()),
                proxy: None,
                by: Actor::employee(who),
                at: Utc::now(),
            },
        )
        .await;
    }
    (done, waiting)
}

async fn project(log: &dyn EventLog, store: &dyn ApprovalViews, notify: bool) {
    let mut sub = log.subscribe(streams::APPROVAL, Checkpoint::new()).await.unwrap();
    let batch = sub.next_batch(1000, Duration::from_secs(1)).await.unwrap();
    store.apply(&batch, sub.checkpoint(), notify).await.unwrap();
}

async fn views_follow_the_documents(store: Box<dyn ApprovalViews>) {
    let (_dir, log) = fresh_log();
    let (done, waiting) = history(&*log).await;
    project(&*log, &*store, true).await;
    let emp = |e: EmployeeId| format!("emp:{e}");
    let pending = store.inbox(&emp(BOB), Inbox::Pending).await.unwrap();
    assert_eq!(
        pending.iter().map(|i| i.doc.clone()).collect::<Vec<_>>(),
        vec![waiting.to_string()]
    );
    assert_eq!(store.inbox(&emp(CAROL), Inbox::Upcoming).await.unwrap().len(), 1);
    assert_eq!(
        store.inbox(&emp(ALICE), Inbox::Completed).await.unwrap()[0].doc,
        done.to_string()
    );
    let counts = store.inbox_counts(&emp(ALICE)).await.unwrap();
    assert_eq!(counts, vec![("completed".to_owned(), 1), ("in_progress".to_owned(), 1)]);
    let timeline = store.timeline(&done.to_string()).await.unwrap();
    assert_eq!(
        timeline.iter().map(|t| t.event_type.as_str()).collect::<Vec<_>>(),
        vec![
            "approval.drafted",
            "approval.submitted",
            "approval.approved",
            "approval.approved"
        ]
    );
    assert_eq!(timeline[2].note.as_deref(), Some("확인"));
    let (version, doc) = store.approval(&done.to_string()).await.unwrap().unwrap();
    assert_eq!((version, doc["status"].as_str()), (4, Some("approved")));
    // The typed read a query resolves is the same document, however the store decodes it.
    let (typed_version, typed) = store.approval_document(&done.to_string()).await.unwrap().unwrap();
    assert_eq!(typed_version, 4);
    assert_eq!(serde_json::to_value(&typed).unwrap(), doc);
    let alice_feed = store.notifications(&ALICE.to_string()).await.unwrap();
    assert_eq!(
        alice_feed.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
        vec!["approved"]
    );
    assert_eq!(
        store.notifications(&BOB.to_string()).await.unwrap().len(),
        2,
        "two approval requests"
    );

    let before = store.checksum().await.unwrap();
    project(&*log, &*store, true).await; // redelivery of everything
    assert_eq!(
        store.checksum().await.unwrap(),
        before,
        "redelivery adds no timeline entry or notification"
    );
}

async fn a_replay_rebuilds_the_feed_but_announces_nothing(store: Box<dyn ApprovalViews>) {
    let (_dir, log) = fresh_log();
    history(&*log).await;
    let mut sub = log.subscribe(streams::APPROVAL, Checkpoint::new()).await.unwrap();
    let batch = sub.next_batch(1000, Duration::from_secs(1)).await.unwrap();
    let replayed = store.apply(&batch, sub.checkpoint(), false).await.unwrap();
    assert!(replayed.published.is_empty(), "a replay announces nothing");
    assert_eq!(
        store.notifications(&BOB.to_string()).await.unwrap().len(),
        2,
        "the feed itself is rebuilt"
    );
    assert_eq!(
        store.inbox(&format!("emp:{BOB}"), Inbox::Pending).await.unwrap().len(),
        1
    );
    let fresh = sqlite().await;
    let live = fresh.apply(&batch, sub.checkpoint(), true).await.unwrap();
    assert_eq!(
        live.published
            .iter()
            .filter(|p| matches!(p, Change::Notification { recipient, .. } if *recipient == BOB.to_string()))
            .count(),
        2,
        "live projection announces"
    );
}

/// BOB approves the waiting document (its third commit).
async fn bob_approves(log: &dyn EventLog, id: ApprovalId) {
    let approve = C::Approve {
        comment: None,
        proxy: None,
        by: Actor::employee(BOB),
        at: Utc::now(),
    };
    run(log, id, approve).await;
}

/// The typed document a query reads follows each commit, read again and again in between:
/// a store that keeps what it decoded hands out the new document as soon as the text changes.
async fn the_typed_document_follows_each_new_version(store: Box<dyn ApprovalViews>) {
    let (_dir, log) = fresh_log();
    let (_, waiting) = history(&*log).await;
    project(&*log, &*store, false).await;
    let id = waiting.to_string();
    let (version, before) = store.approval_document(&id).await.unwrap().unwrap();
    let (_, again) = store.approval_document(&id).await.unwrap().unwrap();
    assert_eq!(again, before);
    assert!(before.steps[0].decisions.is_empty());

    bob_approves(&*log, waiting).await;
    project(&*log, &*store, false).await;
    let (later, after) = store.approval_document(&id).await.unwrap().unwrap();
    assert_eq!(later, version + 1);
    assert_eq!(
        after.steps[0].decision_of(BOB).map(|d| d.by),
        Some(BOB),
        "BOB's approval is in it"
    );
    let (_, json) = store.approval(&id).await.unwrap().unwrap();
    assert_eq!(serde_json::to_value(&*after).unwrap(), json);
}

/// Polls until the document's view reaches `version`.
async fn until_version(views: &dyn ApprovalViews, id: ApprovalId, version: u64) {
    for _ in 0..200 {
        if views.approval(&id.to_string()).await.unwrap().map(|(v, _)| v) == Some(version) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the view of {id} never reached version {version}");
}

/// The history projected into `store` by a live projection that keeps running.
struct Live {
    _dir: tempfile::TempDir,
    log: Arc<dyn EventLog>,
    waiting: ApprovalId,
    views: Arc<dyn ApprovalViews>,
    projector: Projector,
    stop_live: watch::Sender<bool>,
    live: tokio::task::JoinHandle<Result<(), projector::ProjectorError>>,
}

async fn live(store: Box<dyn ApprovalViews>, batch: usize) -> Live {
    let (dir, log) = fresh_log();
    let (_, waiting) = history(&*log).await;
    let views: Arc<dyn ApprovalViews> = Arc::from(store);
    let projector = Projector::new(log.clone(), support::sqlite_store().await)
        .with_views(views.clone())
        .with_batch(batch);
    projector.catch_up_with(Projection::Approvals, true).await.unwrap();
    let (stop_live, stop) = watch::channel(false);
    let live = {
        let projector = projector.clone();
        tokio::spawn(async move { projector.run(Projection::Approvals, stop).await })
    };
    Live {
        _dir: dir,
        log,
        waiting,
        views,
        projector,
        stop_live,
        live,
    }
}

async fn a_replay_swaps_in_a_copy_equal_to_a_fresh_rebuild(
    store: Box<dyn ApprovalViews>,
    fresh: Box<dyn ApprovalViews>,
) {
    let Live {
        _dir,
        log,
        waiting,
        views,
        projector,
        stop_live,
        live,
    } = live(store, 2).await;
    let mut published = projector.published();

    let mut seen = Vec::new();
    let report = projector
        .replay(Projection::Approvals, &mut |p| seen.push(p.commits_done))
        .await
        .unwrap();
    assert_eq!(report.commits, 6, "every commit of the log, folded into the copy");
    assert_eq!(seen, vec![2, 4, 6], "progress after every batch");
    assert!(published.try_recv().is_err(), "a replay announces nothing");

    // The live projection carries on over the swapped-in copy, and still announces.
    bob_approves(&*log, waiting).await;
    until_version(&*views, waiting, 3).await;
    // The live projection announces the document change and CAROL's new request.
    let mut notified = Vec::new();
    while notified.is_empty() {
        match tokio::time::timeout(Duration::from_secs(5), published.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Change::Notification { recipient, .. } => notified.push(recipient),
            Change::Document { doc, version, .. } => assert_eq!((doc, version), (waiting.to_string(), 3)),
            other @ Change::Hr { .. } => panic!("an approval commit announced {other:?}"),
        }
    }
    assert_eq!(notified, vec![CAROL.to_string()]);
    let _ = stop_live.send(true);
    live.await.unwrap().unwrap();

    project(&*log, &*fresh, false).await;
    assert_eq!(views.checksum().await.unwrap(), fresh.checksum().await.unwrap());
}

async fn a_live_projection_follows_a_copy_swapped_in_under_it(
    store: Box<dyn ApprovalViews>,
    fresh: Box<dyn ApprovalViews>,
) {
    let Live {
        _dir,
        log,
        waiting,
        views,
        projector: _,
        stop_live,
        live,
    } = live(store, 500).await;

    // A copy that stops three commits short of where the live projection stands.
    let (copy, handle) = views.shadow().await.unwrap();
    let mut sub = log.subscribe(streams::APPROVAL, Checkpoint::new()).await.unwrap();
    let first = sub.next_batch(3, Duration::from_secs(1)).await.unwrap();
    copy.apply(&first, sub.checkpoint(), false).await.unwrap();
    views.swap_in(&handle).await.unwrap();
    assert_eq!(views.checkpoint().await.unwrap(), sub.checkpoint().clone());

    // The live projection's next batch finds the checkpoint moved and resumes from the copy's.
    bob_approves(&*log, waiting).await;
    until_version(&*views, waiting, 3).await;
    let _ = stop_live.send(true);
    live.await.unwrap().unwrap();
    project(&*log, &*fresh, false).await;
    assert_eq!(
        views.checksum().await.unwrap(),
        fresh.checksum().await.unwrap(),
        "nothing between the copy's end and the live position was lost"
    );
    views.discard(&handle).await.unwrap();
}

async fn followers_on_disjoint_partitions_write_side_by_side(
    store: Box<dyn ApprovalViews>,
    fresh: Box<dyn ApprovalViews>,
) {
    let (_dir, log) = fresh_log();
    let (done, _) = history(&*log).await;
    let mut sub = log.subscribe(streams::APPROVAL, Checkpoint::new()).await.unwrap();
    let all = sub.next_batch(1000, Duration::from_secs(1)).await.unwrap();
    // One document per partition, as a two-partition log would hold them.
    let (mut zero, mut one) = (Vec::new(), Vec::new());
    for mut d in all.clone() {
        d.partition = u32::from(d.commit.stream_id != done.to_string());
        let side = if d.partition == 0 { &mut zero } else { &mut one };
        d.offset = side.len() as u64;
        side.push(d);
    }
    let (n0, n1) = (zero.len() as u64, one.len() as u64);

    // Instance A holds partition 0, instance B partition 1; neither knows the other's progress.
    store
        .apply_from(&Checkpoint::new(), &zero, &[(0, n0)].into(), false)
        .await
        .unwrap();
    store
        .apply_from(&Checkpoint::new(), &one, &[(1, n1)].into(), false)
        .await
        .expect("a batch of another partition is not refused");
    assert_eq!(store.checkpoint().await.unwrap(), [(0, n0), (1, n1)].into());

    // A stale instance's batch of a partition that moved on writes nothing.
    let before = store.checksum().await.unwrap();
    let stale = store
        .apply_from(&[(0, 0), (1, 0)].into(), &zero, &[(0, n0), (1, 0)].into(), false)
        .await;
    assert!(
        matches!(stale, Err(infra::readmodel::StoreError::Moved(_))),
        "{stale:?}"
    );
    assert_eq!(store.checksum().await.unwrap(), before);
    assert_eq!(store.checkpoint().await.unwrap(), [(0, n0), (1, n1)].into());

    fresh.apply(&all, sub.checkpoint(), false).await.unwrap();
    assert_eq!(store.checksum().await.unwrap(), fresh.checksum().await.unwrap());
}

/// A withdrawal tells the approver the document was waiting for, and no one else: the fold
/// asks who was current before the event, not after it.
async fn a_withdrawal_tells_the_approver_it_was_waiting_for(store: Box<dyn ApprovalViews>) {
    let (_dir, log) = fresh_log();
    let id = drafts(&*log, 1).await[0];
    run(&*log, id, alice_submits(&ApprovalLine::sequential([BOB]))).await;
    let withdraw = C::Withdraw {
        by: Actor::employee(ALICE),
        at: Utc::now(),
    };
    run(&*log, id, withdraw).await;
    project(&*log, &*store, true).await;
    let mut bob: Vec<String> = store
        .notifications(&BOB.to_string())
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    bob.sort();
    assert_eq!(bob, ["approval_requested", "withdrawn"]);
    assert!(store.notifications(&ALICE.to_string()).await.unwrap().is_empty());
}

/// A batch that fails near its end writes nothing of itself, although its first rows went to
/// the store while the rest was still being folded: they are rolled back with it, and its
/// place stays where it was. A catch-up then steps over the commit that does not fold and
/// applies every other.
async fn a_batch_that_fails_near_its_end_writes_nothing_of_itself(store: Box<dyn ApprovalViews>) {
    let (_dir, log) = fresh_log();
    // Enough drafts that their timeline rows fill several statements before the bad commit.
    let drafts = drafts(&*log, 300).await;
    let bad = ApprovalId(Uuid::from_u128(999));
    let undecodable = NewEvent {
        event_type: "approval.drafted".into(),
        schema_version: 1,
        payload: serde_json::json!({ "type": "approval.drafted", "id": 5 }),
    };
    append(&*log, &bad.to_string(), 0, vec![undecodable]).await;
    let empty = store.checksum().await.unwrap();
    let mut sub = log.subscribe(streams::APPROVAL, Checkpoint::new()).await.unwrap();
    let batch = sub.next_batch(1_000, Duration::from_secs(1)).await.unwrap();
    assert_eq!(batch.len(), drafts.len() + 1);

    let failed = store.apply(&batch, sub.checkpoint(), true).await;
    assert!(
        matches!(failed, Err(infra::readmodel::StoreError::Corrupt(_))),
        "{failed:?}"
    );
    assert_eq!(store.checksum().await.unwrap(), empty, "nothing of the batch is stored");
    assert_eq!(store.checkpoint().await.unwrap(), Checkpoint::new());
    assert!(store.timeline(&drafts[0].to_string()).await.unwrap().is_empty());

    let views: Arc<dyn ApprovalViews> = Arc::from(store);
    let projector = Projector::new(log.clone(), support::sqlite_store().await).with_views(views.clone());
    projector.catch_up(Projection::Approvals).await.unwrap();
    for id in [drafts[0], drafts[299]] {
        assert_eq!(views.timeline(&id.to_string()).await.unwrap().len(), 1, "{id}");
    }
    assert!(views.approval(&bad.to_string()).await.unwrap().is_none());
    assert_eq!(views.checkpoint().await.unwrap(), *sub.checkpoint());
}

/// An insert the store refuses while the batch is still being folded (two streams drafting
/// the same document id collide on its rows) fails the batch with the store's refusal, not
/// a retryable conflict, and writes nothing of it; a catch-up then steps over the refused
/// commit and applies every other.
async fn an_insert_refused_while_folding_fails_the_batch_with_the_refusal(store: SqlReadModel) {
    let (_dir, log) = fresh_log();
    let twin = ApprovalId(Uuid::from_u128(500));
    let drafted = Approval::default()
        .decide(&C::Draft {
            id: twin,
            form: general_form(),
            content: content("쌍둥이"),
            line: ApprovalLine::sequential([BOB]),
            by: Actor::employee(ALICE),
            at: Utc::now(),
        })
        .unwrap();
    for stream in [Uuid::from_u128(501), Uuid::from_u128(502)] {
        let events = drafted.iter().map(|e| NewEvent::from_domain(e).unwrap()).collect();
        append(&*log, &stream.to_string(), 0, events).await;
    }
    // Folded after the collision: enough to fill statements the refused one is ahead of.
    let drafts = drafts(&*log, 300).await;
    let empty = ApprovalViews::checksum(&store).await.unwrap();
    let mut sub = log.subscribe(streams::APPROVAL, Checkpoint::new()).await.unwrap();
    let batch = sub.next_batch(1_000, Duration::from_secs(1)).await.unwrap();

    let refused = ApprovalViews::apply(&store, &batch, sub.checkpoint(), true).await;
    assert!(
        matches!(refused, Err(infra::readmodel::StoreError::Rejected(_))),
        "{refused:?}"
    );
    assert_eq!(ApprovalViews::checksum(&store).await.unwrap(), empty);

    let views: Arc<dyn ApprovalViews> = Arc::new(store);
    let projector = Projector::new(log.clone(), support::sqlite_store().await).with_views(views.clone());
    projector.catch_up(Projection::Approvals).await.unwrap();
    assert!(views.approval(&twin.to_string()).await.unwrap().is_some());
    for id in [drafts[0], drafts[299]] {
        assert_eq!(views.timeline(&id.to_string()).await.unwrap().len(), 1, "{id}");
    }
    assert_eq!(views.checkpoint().await.unwrap(), *sub.checkpoint());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_an_insert_refused_while_folding_fails_the_batch_with_the_refusal() {
    an_insert_refused_while_folding_fails_the_batch_with_the_refusal(support::sqlite_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mariadb_an_insert_refused_while_folding_fails_the_batch_with_the_refusal() {
    an_insert_refused_while_folding_fails_the_batch_with_the_refusal(support::mariadb_store().await).await;
}

/// A document's JSON is kept once, in its `approvals` row: its stream guard keeps no copy,
/// and the next commit on it, in a later batch, is folded on from that row — the view
/// comes out as a store fed the whole log in one batch has it. A store written before, whose
/// guards hold a copy, compares equal to one written now (what `erp replay --diff` does).
async fn a_document_is_stored_once_and_folded_on_from_its_row(store: SqlReadModel, fresh: SqlReadModel) {
    let (_dir, log) = fresh_log();
    let (done, waiting) = history(&*log).await;
    project(&*log, &store, true).await;
    sqlx::any::install_default_drivers();
    let own = sqlx::AnyPool::connect(store.url()).await.unwrap();
    let copies: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM erp_streams WHERE projection = 'approval.views' AND state IS NOT NULL",
    )
    .fetch_one(&own)
    .await
    .unwrap();
    assert_eq!(copies, 0, "no guard keeps a copy of its document");

    bob_approves(&*log, waiting).await;
    project(&*log, &store, true).await;
    let (version, _) = ApprovalViews::approval(&store, &waiting.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(version, 3, "drafted, submitted, approved by BOB");
    let (bob, carol) = (format!("emp:{BOB}"), format!("emp:{CAROL}"));
    assert!(ApprovalViews::inbox(&store, &bob, Inbox::Pending)
        .await
        .unwrap()
        .is_empty());
    let carols = ApprovalViews::inbox(&store, &carol, Inbox::Pending).await.unwrap();
    assert_eq!(carols[0].doc, waiting.to_string());
    project(&*log, &fresh, true).await;
    assert_eq!(
        ApprovalViews::checksum(&store).await.unwrap(),
        ApprovalViews::checksum(&fresh).await.unwrap()
    );

    // As a store written before keeps it: the document's copy in its guard.
    sqlx::query(&format!(
        "UPDATE erp_streams SET state = (SELECT document FROM approvals WHERE id = '{done}') \
         WHERE projection = 'approval.views' AND stream_id = '{done}'"
    ))
    .execute(&own)
    .await
    .unwrap();
    assert_eq!(
        ApprovalViews::dump(&store).await.unwrap(),
        ApprovalViews::dump(&fresh).await.unwrap()
    );
    assert_eq!(
        ApprovalViews::checksum(&store).await.unwrap(),
        ApprovalViews::checksum(&fresh).await.unwrap()
    );
    own.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_document_is_stored_once_and_folded_on_from_its_row() {
    a_document_is_stored_once_and_folded_on_from_its_row(support::sqlite_store().await, support::sqlite_store().await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mariadb_a_document_is_stored_once_and_folded_on_from_its_row() {
    a_document_is_stored_once_and_folded_on_from_its_row(
        support::mariadb_store().await,
        support::mariadb_store().await,
    )
    .await;
}

/// A document whose JSON outgrows 64 KiB — forty comments of 2,000 characters, well inside
/// the domain's bounds — is kept whole and read back, as a small one is.
async fn a_document_larger_than_64_kib_is_kept_whole(store: SqlReadModel) {
    let (_dir, log) = fresh_log();
    let (_, waiting) = history(&*log).await;
    let text = "결".repeat(2_000);
    for n in 0..40u32 {
        let comment = C::Comment {
            id: domain::ids::CommentId(Uuid::from_u128(7_000 + u128::from(n))),
            text: text.clone(),
            by: Actor::employee(ALICE),
            at: Utc::now() + chrono::Duration::hours(i64::from(n)),
        };
        run(&*log, waiting, comment).await;
    }
    project(&*log, &store, true).await;
    let (version, doc) = ApprovalViews::approval(&store, &waiting.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(version, 42, "drafted, submitted, forty comments");
    assert!(doc.to_string().len() > 240_000, "{} bytes", doc.to_string().len());
    assert_eq!(doc["comments"].as_array().map(Vec::len), Some(40), "every comment kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_document_larger_than_64_kib_is_kept_whole() {
    a_document_larger_than_64_kib_is_kept_whole(support::sqlite_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mariadb_a_document_larger_than_64_kib_is_kept_whole() {
    a_document_larger_than_64_kib_is_kept_whole(support::mariadb_store().await).await;
}

/// A database an older version created, with 64 KiB TEXT columns, is widened when a store
/// connects to it, and then keeps a large document whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mariadb_a_database_with_64_kib_text_columns_is_widened_at_connect() {
    let store = support::mariadb_store().await;
    sqlx::any::install_default_drivers();
    let own = sqlx::AnyPool::connect(store.url()).await.unwrap();
    sqlx::query("ALTER TABLE approvals MODIFY COLUMN document TEXT")
        .execute(&own)
        .await
        .unwrap();
    let again = SqlReadModel::connect(store.url()).await.unwrap();
    let kind: String = sqlx::query_scalar(
        "SELECT CAST(DATA_TYPE AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'approvals' AND COLUMN_NAME = 'document'",
    )
    .fetch_one(&own)
    .await
    .unwrap();
    assert_eq!(kind, "longtext");
    own.close().await;
    a_document_larger_than_64_kib_is_kept_whole(again).await;
}

/// Sixty-four drafted documents of about 270 KiB each (45 long comments) are 17 MiB of
/// document rows in one batch, more than MariaDB takes in one statement (16 MiB by default,
/// refused with the connection dropped, so the batch failed on every retry): they are written
/// in statements of a bounded size, every one whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mariadb_a_batch_larger_than_one_statement_may_carry_is_written_whole() {
    let store = support::mariadb_store().await;
    let (_dir, log) = fresh_log();
    let ids = drafts(&*log, 64).await;
    let text = "결".repeat(2_000);
    for (d, id) in ids.iter().enumerate() {
        let comments: Vec<NewEvent> = (0..45u128)
            .map(|n| {
                NewEvent::from_domain(&domain::approval::ApprovalEvent::Commented {
                    comment_id: domain::ids::CommentId(Uuid::from_u128(100_000 * (d as u128 + 1) + n)),
                    text: text.clone(),
                    by: ALICE,
                    at: Utc::now(),
                })
                .unwrap()
            })
            .collect();
        append(&*log, &id.to_string(), 1, comments).await;
    }
    project(&*log, &store, false).await;
    for id in [ids[0], ids[63]] {
        let (version, doc) = ApprovalViews::approval(&store, &id.to_string()).await.unwrap().unwrap();
        assert_eq!(version, 46);
        assert_eq!(doc["comments"].as_array().map(Vec::len), Some(45), "{id}");
    }
}

/// A document whose row outgrows what the MySQL server takes in one packet
/// (`max_allowed_packet`) is the data's fault: the server refuses
/// it (1153) the same way every time, so the projector steps over the commit that made it too
/// large and goes on with the rest, instead of retrying it for ever. The commits are each
/// within the log's bound; the document grows past the packet over several of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mariadb_a_document_past_the_servers_packet_is_stepped_over_and_the_projection_goes_on() {
    let store = support::mariadb_store().await;
    let (_dir, log) = fresh_log();
    let ids = drafts(&*log, 2).await;
    let (large, other) = (ids[0], ids[1]);
    let packet: i64 = {
        let own = sqlx::AnyPool::connect(store.url()).await.unwrap();
        sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS SIGNED)")
            .fetch_one(&own)
            .await
            .unwrap()
    };
    let text = "결".repeat(2_000);
    let mut version = 1;
    // About 3 MiB of comments per commit, as many commits as make the document larger than
    // the server's packet (six on the test server's 16 MiB).
    for round in 0..(packet as u128 / (3 << 20) + 1) {
        let comments: Vec<NewEvent> = (0..500u128)
            .map(|n| {
                NewEvent::from_domain(&domain::approval::ApprovalEvent::Commented {
                    comment_id: domain::ids::CommentId(Uuid::from_u128(1_000 * round + n)),
                    text: text.clone(),
                    by: ALICE,
                    at: Utc::now(),
                })
                .unwrap()
            })
            .collect();
        append(&*log, &large.to_string(), version, comments).await;
        version += 500;
    }
    bob_approves_after_submit(&*log, other).await;

    let projector = Projector::new(log.clone(), support::mariadb_store().await)
        .with_views(Arc::new(store.clone()))
        .with_batch(4);
    tokio::time::timeout(Duration::from_secs(120), projector.catch_up(Projection::Approvals))
        .await
        .expect("the projection is not held up by one document")
        .unwrap();
    let (kept, doc) = ApprovalViews::approval(&store, &large.to_string())
        .await
        .unwrap()
        .unwrap();
    assert!(
        kept < version,
        "the commit past the packet was stepped over (at {kept})"
    );
    assert_eq!(doc["comments"].as_array().map(Vec::len), Some(kept as usize - 1));
    let (_, other_doc) = ApprovalViews::approval(&store, &other.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        other_doc["status"].as_str(),
        Some("approved"),
        "the next document is projected"
    );
}

/// ALICE submits `id` to BOB, who approves it.
async fn bob_approves_after_submit(log: &dyn EventLog, id: ApprovalId) {
    run(log, id, alice_submits(&ApprovalLine::sequential([BOB]))).await;
    bob_approves(log, id).await;
}

/// A rebuild in batches of three comes out exactly as a catch-up that announces (the live
/// projector's way), across documents whose commits span batches, a commit the store refuses
/// (two streams drafting one document: the batch fails and is applied again commit by
/// commit, stepping over the refused one) and a later commit on the refused stream, which is
/// then fenced (its first was never applied). No store stops on the refusal.
async fn a_rebuild_steps_over_a_refused_commit_and_comes_out_as_a_live_catch_up(
    store: Box<dyn ApprovalViews>,
    fresh: Box<dyn ApprovalViews>,
) {
    let (_dir, log) = fresh_log();
    history(&*log).await;
    let twin = ApprovalId(Uuid::from_u128(500));
    let line = ApprovalLine::sequential([BOB]);
    let drafted = Approval::default()
        .decide(&C::Draft {
            id: twin,
            form: general_form(),
            content: content("쌍둥이"),
            line: line.clone(),
            by: Actor::employee(ALICE),
            at: Utc::now(),
        })
        .unwrap();
    let (first, second) = (ApprovalId(Uuid::from_u128(501)), ApprovalId(Uuid::from_u128(502)));
    for stream in [first, second] {
        let events = drafted.iter().map(|e| NewEvent::from_domain(e).unwrap()).collect();
        append(&*log, &stream.to_string(), 0, events).await;
    }
    let drafted_after = drafts(&*log, 2).await;
    run(&*log, second, alice_submits(&line)).await;
    run(&*log, drafted_after[0], alice_submits(&line)).await;

    let views: Arc<dyn ApprovalViews> = Arc::from(store);
    let rebuild = Projector::new(log.clone(), support::sqlite_store().await)
        .with_views(views.clone())
        .with_batch(3);
    let mut batches = 0;
    rebuild
        .replay(Projection::Approvals, &mut |_| batches += 1)
        .await
        .unwrap();
    assert!(batches >= 4, "rebuilt in {batches} batches");
    let in_order: Arc<dyn ApprovalViews> = Arc::from(fresh);
    let announcing = Projector::new(log.clone(), support::sqlite_store().await)
        .with_views(in_order.clone())
        .with_batch(3);
    announcing.catch_up_with(Projection::Approvals, true).await.unwrap();
    let lag = announcing.lag().await.unwrap();
    let approvals = lag
        .iter()
        .find(|l| l.projection == Projection::Approvals.name())
        .unwrap();
    let stepped_over = approvals.last_skipped.as_ref().map(|s| s.stream_id.clone());
    assert!(
        approvals.skipped >= 1 && [first, second].iter().any(|s| Some(s.to_string()) == stepped_over),
        "a twin's commit was refused and stepped over: {approvals:?}"
    );
    assert_eq!(views.checksum().await.unwrap(), in_order.checksum().await.unwrap());
    assert_eq!(views.checkpoint().await.unwrap(), in_order.checkpoint().await.unwrap());
    // A refused commit leaves nothing behind: the twin's timeline is there exactly when its
    // view is (SQL keeps the first twin; MongoDB, which keys views by stream, neither).
    let twin_view = views.approval(&twin.to_string()).await.unwrap();
    let twin_timeline = views.timeline(&twin.to_string()).await.unwrap();
    assert_eq!(twin_view.is_some(), !twin_timeline.is_empty(), "{twin_timeline:?}");
    let submitted = views.approval(&drafted_after[0].to_string()).await.unwrap();
    assert!(
        submitted.is_some_and(|(version, _)| version > 1),
        "a document submitted in a later batch"
    );
}

macro_rules! views_suite {
    ($store:ident, $open:expr) => {
        mod $store {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn views_follow_the_documents() {
                super::views_follow_the_documents($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_typed_document_follows_each_new_version() {
                super::the_typed_document_follows_each_new_version($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn followers_on_disjoint_partitions_write_side_by_side() {
                super::followers_on_disjoint_partitions_write_side_by_side($open.await, $open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_replay_rebuilds_the_feed_but_announces_nothing() {
                super::a_replay_rebuilds_the_feed_but_announces_nothing($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_replay_swaps_in_a_copy_equal_to_a_fresh_rebuild() {
                super::a_replay_swaps_in_a_copy_equal_to_a_fresh_rebuild($open.await, $open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_rebuild_steps_over_a_refused_commit_and_comes_out_as_a_live_catch_up() {
                super::a_rebuild_steps_over_a_refused_commit_and_comes_out_as_a_live_catch_up($open.await, $open.await)
                    .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_withdrawal_tells_the_approver_it_was_waiting_for() {
                super::a_withdrawal_tells_the_approver_it_was_waiting_for($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_batch_that_fails_near_its_end_writes_nothing_of_itself() {
                super::a_batch_that_fails_near_its_end_writes_nothing_of_itself($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_live_projection_follows_a_copy_swapped_in_under_it() {
                super::a_live_projection_follows_a_copy_swapped_in_under_it($open.await, $open.await).await;
            }
        }
    };
}

async fn sqlite() -> Box<dyn ApprovalViews> {
    Box::new(support::sqlite_store().await)
}

async fn mongo() -> Box<dyn ApprovalViews> {
    let uri = std::env::var("ERP_TEST_MONGO").unwrap_or_else(|_| panic!("ERP_TEST_MONGO is not set: run scripts/test"));
    Box::new(
        MongoViews::connect(&uri, &format!("t{}", Uuid::now_v7().simple()))
            .await
            .unwrap(),
    )
}

async fn mariadb() -> Box<dyn ApprovalViews> {
    Box::new(support::mariadb_store().await)
}

views_suite!(on_sqlite, sqlite());
views_suite!(on_mongodb, mongo());
views_suite!(on_mariadb, mariadb());
