//! One contract suite for the employee read model, on SQLite and on MariaDB (started by
//! `scripts/test`): projecting a history, redelivery, rule-R fencing, and a projector stopped
//! mid-history that resumes to exactly what a fresh rebuild produces.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::{Duration as Minutes, TimeZone, Utc};
use domain::attendance::{AttendanceDay, AttendanceEvent};
use domain::ids::{ApprovalId, DelegationId, DepartmentId, EmployeeId, QuestId};
use domain::leave::LeaveEvent;
use domain::org::{DelegationEvent, DepartmentEvent, EmployeeEvent, Position, Window};
use domain::quest::{Audience, QuestEvent, QuestKind, Reward};
use domain::{EventType, Role};
use infra::eventlog::codec::CommitRecord;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{
    streams, Checkpoint, Delivered, EventLog, ExpectedVersion, NewCommit, NewEvent, StreamRef, Upcasters,
};
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::Projection;
use projector::Projector;
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

async fn append<E: serde::Serialize + EventType>(
    log: &dyn EventLog,
    stream_type: &str,
    id: impl std::fmt::Display,
    version: u64,
    events: &[E],
) {
    let commit = NewCommit {
        stream: StreamRef::new(stream_type, id.to_string()),
        expected: ExpectedVersion::Exact(version),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: None,
        traceparent: None,
        events: events.iter().map(|e| NewEvent::from_domain(e).unwrap()).collect(),
    };
    log.append(commit).await.unwrap();
}

/// A company of `n` employees in 3 departments, with transfers, a deactivation, leave grants,
/// debits and adjustments, and delegations granted and revoked.
async fn org_history(log: &dyn EventLog, n: u128) {
    let hr = EmployeeId(Uuid::from_u128(1));
    let at = |m: i64| Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap() + Minutes::minutes(m);
    let depts: Vec<DepartmentId> = (0..3).map(|i| DepartmentId(Uuid::from_u128(900 + i))).collect();
    for (i, d) in depts.iter().enumerate() {
        let parent = if i == 0 { None } else { Some(depts[0]) };
        append(
            log,
            streams::DEPARTMENT,
            d.0,
            0,
            &[DepartmentEvent::Created {
                id: *d,
                name: format!("부서{i}"),
                code: format!("D{i}"),
                parent,
                by: hr,
                at: at(0),
            }],
        )
        .await;
    }
    for i in 1..=n {
        let id = EmployeeId(Uuid::from_u128(i));
        let registered = EmployeeEvent::Registered {
            id,
            name: format!("직원{i}"),
            email: format!("e{i}@demo.erp"),
            department: depts[(i % 3) as usize],
            position: Position {
                title: "사원".into(),
                rank: (i % 5) as u8,
            },
            manager: (i > 1).then_some(hr),
            roles: [Role::Employee].into(),
            by: hr,
            at: at(1),
        };
        append(log, streams::EMPLOYEE, id.0, 0, &[registered]).await;
        let grant = LeaveEvent::Granted {
            employee: id,
            year: 2026,
            days: Decimal::from(15),
            by: hr,
            at: at(2),
        };
        let debit = LeaveEvent::Debited {
            employee: id,
            document: ApprovalId(Uuid::from_u128(5000 + i)),
            days: Decimal::new(15, 1),
            by: hr,
            at: at(3),
        };
        append(log, streams::LEAVE, id.0, 0, &[grant, debit]).await;
        if i % 4 == 0 {
            append(
                log,
                streams::EMPLOYEE,
                id.0,
                1,
                &[EmployeeEvent::DepartmentChanged {
                    department: depts[0],
                    by: hr,
                    at: at(4),
                }],
            )
            .await;
            let adjust = LeaveEvent::Adjusted {
                employee: id,
                days: Decimal::ONE,
                reason: "포상".into(),
                by: hr,
                at: at(5),
            };
            append(log, streams::LEAVE, id.0, 2, &[adjust]).await;
        }
        if i % 7 == 0 {
            append(
                log,
                streams::EMPLOYEE,
                id.0,
                if i % 4 == 0 { 2 } else { 1 },
                &[EmployeeEvent::Deactivated { by: hr, at: at(6) }],
            )
            .await;
        }
        // 알림 읽음: every third employee read a notification, then all up to a moment.
        if i % 3 == 0 {
            let read = domain::feed::FeedEvent::Read {
                reader: id,
                marks: vec![domain::feed::Mark {
                    id: format!("doc:{i}:1:approval_requested"),
                    at: at(5),
                }],
                at: at(6),
            };
            let all = domain::feed::FeedEvent::AllRead {
                reader: id,
                through: at(4),
                at: at(7),
            };
            append(log, streams::FEED, id.0, 0, &[read, all]).await;
        }
        if i % 5 == 0 {
            let d = DelegationId(Uuid::from_u128(7000 + i));
            let granted = DelegationEvent::Granted {
                id: d,
                principal: id,
                proxy: hr,
                window: Window {
                    from: at(0),
                    until: at(600),
                },
                reason: "휴가".into(),
                by: id,
                at: at(7),
            };
            append(log, streams::DELEGATION, d.0, 0, &[granted]).await;
            if i % 10 == 0 {
                append(
                    log,
                    streams::DELEGATION,
                    d.0,
                    1,
                    &[DelegationEvent::Revoked { by: id, at: at(8) }],
                )
                .await;
            }
        }
    }
    for (i, d) in depts.iter().enumerate() {
        append(
            log,
            streams::DEPARTMENT,
            d.0,
            1,
            &[DepartmentEvent::HeadAppointed {
                head: Some(EmployeeId(Uuid::from_u128(i as u128 + 2))),
                by: hr,
                at: at(9),
            }],
        )
        .await;
    }
    // 근태 on Tuesday 2026-03-03 (KST): 직원1 in at 09:10 and out at 19:00 (late, an hour's
    // break, 50 minutes' overtime), 직원2 in at 08:55 and still working.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let kst = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 3, 3, h - 9, m, 0).unwrap();
    let first = EmployeeId(Uuid::from_u128(1));
    let second = EmployeeId(Uuid::from_u128(2));
    append(
        log,
        streams::ATTENDANCE,
        AttendanceDay::stream_id(first, day),
        0,
        &[
            AttendanceEvent::CheckedIn {
                employee: first,
                day,
                at: kst(9, 10),
                schedule: None,
            },
            AttendanceEvent::CheckedOut {
                employee: first,
                day,
                at: kst(19, 0),
            },
            // As though the week had been long: told to 직원1 and 직원2, their manager.
            AttendanceEvent::WeeklyHoursReported {
                employee: first,
                week: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                minutes: 49 * 60,
                state: domain::attendance::WeeklyState::Warning,
                manager: Some(second),
                at: kst(19, 0),
            },
        ],
    )
    .await;
    // A 사용 촉진 notice to someone with no other ledger entries.
    let unnoticed = EmployeeId(Uuid::from_u128(77_000_000));
    append(
        log,
        streams::LEAVE,
        unnoticed.0,
        0,
        &[LeaveEvent::PromotionNoticeSent {
            employee: unnoticed,
            period_end: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            notice: domain::leave::NoticeKind::Request,
            unused: Decimal::new(55, 1),
            on: chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            at: kst(10, 0),
        }],
    )
    .await;
    let early = Utc.with_ymd_and_hms(2026, 3, 2, 23, 55, 0).unwrap();
    append(
        log,
        streams::ATTENDANCE,
        AttendanceDay::stream_id(second, day),
        0,
        &[AttendanceEvent::CheckedIn {
            employee: second,
            day,
            at: early,
            schedule: None,
        }],
    )
    .await;
    // 퀘스트: 직원2 posts a company quest; 직원1 is verified, 직원3 returned, over two commits.
    let quest = QuestId(Uuid::from_u128(9001));
    let third = EmployeeId(Uuid::from_u128(3));
    let reward = Reward::LeaveHours { hours: 4 };
    append(
        log,
        streams::QUEST,
        quest.0,
        0,
        &[
            QuestEvent::Posted {
                id: quest,
                title: "문서 정리".into(),
                description: "설명".into(),
                reward,
                capacity: 3,
                deadline: at(900),
                audience: Audience::Company,
                kind: QuestKind::Task,
                by: second,
                at: at(10),
            },
            QuestEvent::Accepted {
                employee: first,
                at: at(11),
            },
            QuestEvent::Accepted {
                employee: third,
                at: at(12),
            },
        ],
    )
    .await;
    append(
        log,
        streams::QUEST,
        quest.0,
        3,
        &[
            QuestEvent::Submitted {
                employee: first,
                at: at(13),
            },
            QuestEvent::Submitted {
                employee: third,
                at: at(13),
            },
            QuestEvent::Verified {
                employee: first,
                reward,
                by: second,
                at: at(14),
                by_attendance: false,
            },
            QuestEvent::Returned {
                employee: third,
                reason: "보완".into(),
                by: second,
                at: at(14),
            },
        ],
    )
    .await;
}

struct Fixture {
    log: Arc<dyn EventLog>,
    _dir: tempfile::TempDir,
}

async fn fixture(n: u128) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(dir.path().join("log"), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    org_history(&*log, n).await;
    Fixture { log, _dir: dir }
}

async fn rebuild(log: &Arc<dyn EventLog>, store: SqlReadModel) -> Projector {
    let projector = Projector::new(log.clone(), store);
    for p in Projection::ALL {
        projector.catch_up(p).await.unwrap();
    }
    projector
}

async fn projecting_a_history_fills_every_table(store: SqlReadModel) {
    let f = fixture(20).await;
    let projector = rebuild(&f.log, store).await;
    let employees = projector.store().employees().await.unwrap();
    assert_eq!(employees.len(), 20);
    assert_eq!(
        employees.iter().filter(|e| !e.4).count(),
        2,
        "직원7 and 직원14 were deactivated"
    );
    let four = Uuid::from_u128(4).to_string();
    assert_eq!(
        projector.store().leave_balance(&four).await.unwrap(),
        Some(("14.5".into(), "1.5".into()))
    );
    assert!(projector.lag().await.unwrap().iter().all(|l| l.events_behind == 0));
}

async fn attendance_days_are_judged_by_the_standard_schedule(store: SqlReadModel) {
    let f = fixture(3).await;
    let projector = rebuild(&f.log, store).await;
    let one = Uuid::from_u128(1).to_string();
    let days = projector
        .store()
        .attendance_days(&one, "2026-03-01", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    let d = &days[0];
    assert_eq!(
        (d.day.as_str(), d.state.as_str(), d.late_minutes, d.early_leave_minutes),
        ("2026-03-03", "done", 10, 0)
    );
    assert_eq!((d.regular_minutes, d.overtime_minutes, d.night_minutes), (480, 50, 0));
    assert_eq!(d.first_in.as_deref(), Some("2026-03-03T00:10:00+00:00"));
    assert_eq!(d.last_out.as_deref(), Some("2026-03-03T10:00:00+00:00"));
    let team = projector.store().attendance_on("2026-03-03").await.unwrap();
    assert_eq!(team.len(), 2);
    let working = team
        .iter()
        .find(|r| r.employee == Uuid::from_u128(2).to_string())
        .unwrap();
    assert_eq!(
        (
            working.state.as_str(),
            working.late_minutes,
            working.last_out.as_deref()
        ),
        ("working", 0, None)
    );
    assert!(projector.store().attendance_on("2026-03-04").await.unwrap().is_empty());
}

async fn a_quest_folds_to_its_row_and_one_row_per_participant(store: SqlReadModel) {
    let f = fixture(3).await;
    let projector = rebuild(&f.log, store).await;
    let id = Uuid::from_u128(9001).to_string();
    let quest = projector.store().quest(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            quest.poster.as_str(),
            quest.audience.as_str(),
            quest.reward_kind.as_str(),
            quest.reward_amount
        ),
        (Uuid::from_u128(2).to_string().as_str(), "company", "leave_hours", 4)
    );
    assert_eq!((quest.capacity, quest.taken, quest.cancelled), (3, 2, false));
    let standing: Vec<(String, String, Option<String>, i64)> = projector
        .store()
        .quest_participants(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.employee, p.status, p.returned_reason, p.earned))
        .collect();
    assert_eq!(
        standing,
        [
            (Uuid::from_u128(1).to_string(), "verified".into(), None, 4),
            (
                Uuid::from_u128(3).to_string(),
                "returned".into(),
                Some("보완".into()),
                0
            ),
        ]
    );
    let mine = projector
        .store()
        .quest_participations(&Uuid::from_u128(1).to_string(), 20)
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        projector
            .store()
            .quests_posted_by(&Uuid::from_u128(2).to_string(), 20)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// The HR notices are feed entries of whom they tell: the poster hears of acceptances and
/// submissions, participants of the verdict, an employee and their manager of a long week,
/// and an employee of a 사용 촉진 notice.
async fn hr_notices_fold_into_the_feed_of_whom_they_tell(store: SqlReadModel) {
    let f = fixture(3).await;
    let projector = rebuild(&f.log, store).await;
    let kinds = |who: u128| {
        let store = projector.store().clone();
        async move {
            let mut kinds: Vec<String> = store
                .hr_feed(&Uuid::from_u128(who).to_string())
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.kind)
                .collect();
            kinds.sort();
            kinds
        }
    };
    assert_eq!(
        kinds(2).await,
        [
            "quest_accepted",
            "quest_accepted",
            "quest_submitted",
            "quest_submitted",
            "weekly_hours_warning"
        ]
    );
    assert_eq!(kinds(1).await, ["quest_verified", "weekly_hours_warning"]);
    assert_eq!(kinds(3).await, ["quest_returned"]);
    let promotion = projector
        .store()
        .hr_feed(&Uuid::from_u128(77_000_000).to_string())
        .await
        .unwrap();
    assert_eq!(promotion.len(), 1);
    assert_eq!(
        (promotion[0].kind.as_str(), promotion[0].title.as_str()),
        ("leave_use_promotion", "5.5 · 2026-12-31")
    );
    // A quest notice names the quest; a week's, the employee whose week it is.
    let first = projector
        .store()
        .hr_feed(&Uuid::from_u128(1).to_string())
        .await
        .unwrap();
    let verified = first.iter().find(|e| e.kind == "quest_verified").unwrap();
    assert_eq!(
        (verified.doc.as_str(), verified.title.as_str()),
        (Uuid::from_u128(9001).to_string().as_str(), "문서 정리")
    );
    let week = first.iter().find(|e| e.kind == "weekly_hours_warning").unwrap();
    assert_eq!(
        (week.doc.as_str(), week.title.as_str()),
        (Uuid::from_u128(1).to_string().as_str(), "2026-03-02 · 49h00m")
    );
}

async fn a_redelivered_batch_changes_nothing(store: SqlReadModel) {
    let f = fixture(10).await;
    let mut sub = f.log.subscribe(streams::EMPLOYEE, Checkpoint::new()).await.unwrap();
    let batch = sub.next_batch(1000, Duration::from_secs(1)).await.unwrap();
    let first = store
        .apply(Projection::Employees, &batch, sub.checkpoint())
        .await
        .unwrap();
    let before = store.checksum().await.unwrap();
    let again = store
        .apply(Projection::Employees, &batch, sub.checkpoint())
        .await
        .unwrap();
    assert_eq!((again.applied, again.skipped), (0, first.applied + first.skipped));
    assert_eq!(store.checksum().await.unwrap(), before);
}

async fn a_commit_fenced_by_rule_r_is_ignored(store: SqlReadModel) {
    let f = fixture(3).await;
    let mut sub = f.log.subscribe(streams::EMPLOYEE, Checkpoint::new()).await.unwrap();
    let batch = sub.next_batch(1000, Duration::from_secs(1)).await.unwrap();
    store
        .apply(Projection::Employees, &batch, sub.checkpoint())
        .await
        .unwrap();
    let before = store.checksum().await.unwrap();
    // A stale writer's second claim of version 1 of an existing employee stream.
    let claim = NewCommit {
        stream: StreamRef::new(streams::EMPLOYEE, Uuid::from_u128(2).to_string()),
        expected: ExpectedVersion::Any,
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: None,
        traceparent: None,
        events: vec![NewEvent::from_domain(&EmployeeEvent::Deactivated {
            by: EmployeeId(Uuid::from_u128(1)),
            at: Utc::now(),
        })
        .unwrap()],
    };
    let fenced = CommitRecord::build(&claim, 0, infra::eventlog::codec::GENESIS_HASH, Utc::now());
    let delivered = Delivered {
        partition: 0,
        offset: 10_000,
        commit: fenced,
    };
    let outcome = store
        .apply(Projection::Employees, &[delivered], &[(0, 10_001)].into())
        .await
        .unwrap();
    assert_eq!((outcome.applied, outcome.skipped), (0, 1));
    assert_eq!(
        store.checksum().await.unwrap(),
        before,
        "a fenced commit leaves no trace"
    );
}

async fn a_projector_stopped_mid_history_resumes_to_what_a_rebuild_produces(store: SqlReadModel, fresh: SqlReadModel) {
    let f = fixture(30).await;
    let projector = Projector::new(f.log.clone(), store).with_batch(3);
    // Stop each projection after it applied part of its stream.
    for p in Projection::ALL {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let runner = {
            let projector = projector.clone();
            tokio::spawn(async move { projector.run(p, stopped).await })
        };
        tokio::time::sleep(Duration::from_millis(15)).await;
        let _ = stop.send(true);
        runner.await.unwrap().unwrap();
    }
    let partial = projector
        .lag()
        .await
        .unwrap()
        .iter()
        .map(|l| l.events_behind)
        .sum::<u64>();
    println!("behind after the stop: {partial} commits");
    for p in Projection::ALL {
        projector.catch_up(p).await.unwrap();
    }
    let rebuilt = rebuild(&f.log, fresh).await;
    assert_eq!(
        projector.store().checksum().await.unwrap(),
        rebuilt.store().checksum().await.unwrap()
    );
}

async fn replaying_each_projection_swaps_in_what_a_rebuild_produces(store: SqlReadModel, fresh: SqlReadModel) {
    let f = fixture(25).await;
    // The live copy holds only the first batch of each projection.
    let projector = Projector::new(f.log.clone(), store).with_batch(7);
    for p in Projection::ALL {
        let mut sub = f.log.subscribe(p.stream_type(), Default::default()).await.unwrap();
        let first = sub.next_batch(7, Duration::from_millis(200)).await.unwrap();
        projector.store().apply(p, &first, sub.checkpoint()).await.unwrap();
    }
    assert!(projector.lag().await.unwrap().iter().any(|l| l.events_behind > 0));
    for p in Projection::ALL {
        let mut batches = 0;
        let report = projector.replay(p, &mut |_| batches += 1).await.unwrap();
        assert!(report.commits > 0 || p == Projection::Approvals, "{report:?}");
        assert_eq!(batches > 0, report.commits > 0);
    }
    let rebuilt = rebuild(&f.log, fresh).await;
    assert_eq!(
        projector.store().checksum().await.unwrap(),
        rebuilt.store().checksum().await.unwrap()
    );
    assert!(projector.lag().await.unwrap().iter().all(|l| l.events_behind == 0));
}

/// Appends one commit of raw payloads (what a faulty or older writer might have logged).
async fn append_raw(log: &dyn EventLog, stream_type: &str, id: Uuid, payload: serde_json::Value) {
    let commit = NewCommit {
        stream: StreamRef::new(stream_type, id.to_string()),
        expected: ExpectedVersion::Exact(0),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: None,
        traceparent: None,
        events: vec![NewEvent {
            event_type: payload["type"].as_str().unwrap().to_owned(),
            schema_version: 1,
            payload,
        }],
    };
    log.append(commit).await.unwrap();
}

async fn one_bad_event_never_stalls_a_projection(store: SqlReadModel) {
    let f = fixture(3).await;
    let (undecodable, too_long, good) = (Uuid::from_u128(61), Uuid::from_u128(62), Uuid::from_u128(63));
    let registered = |id: Uuid, email: String| {
        serde_json::json!({
            "type": "employee.registered", "id": id, "name": "신입", "email": email,
            "department": Uuid::from_u128(900), "position": { "title": "사원", "rank": 1 },
            "manager": null, "roles": ["employee"], "by": Uuid::from_u128(1), "at": "2026-03-03T09:00:00Z"
        })
    };
    append_raw(
        &*f.log,
        streams::EMPLOYEE,
        undecodable,
        serde_json::json!({ "type": "employee.registered", "id": 5 }),
    )
    .await;
    // Wider than the email column: MariaDB refuses the row (SQLite does not check widths).
    append_raw(
        &*f.log,
        streams::EMPLOYEE,
        too_long,
        registered(too_long, format!("{}@demo.erp", "a".repeat(300))),
    )
    .await;
    append_raw(
        &*f.log,
        streams::EMPLOYEE,
        good,
        registered(good, "after@demo.erp".into()),
    )
    .await;

    let projector = Projector::new(f.log.clone(), store);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let live = {
        let projector = projector.clone();
        tokio::spawn(async move { projector.run(Projection::Employees, stop).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let ids = loop {
        let ids: Vec<String> = projector
            .store()
            .employees()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        if ids.contains(&good.to_string()) || std::time::Instant::now() > deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop_tx.send(true).unwrap();
    live.await.unwrap().unwrap();
    assert!(
        ids.contains(&good.to_string()),
        "the commit after the bad ones was applied"
    );
    assert!(!ids.contains(&undecodable.to_string()));
    let lag = projector.lag().await.unwrap();
    let employees = lag
        .iter()
        .find(|l| l.projection == Projection::Employees.name())
        .unwrap();
    assert_eq!(employees.events_behind, 0, "{employees:?}");
    assert!(employees.skipped >= 1, "{employees:?}");
    let last = employees.last_skipped.as_ref().unwrap();
    assert!(
        [undecodable.to_string(), too_long.to_string()].contains(&last.stream_id),
        "{last:?}"
    );
    infra::telemetry::metrics::install();
    projector::record_lag(&lag);
    let text = infra::telemetry::metrics::render();
    let skipped = text
        .lines()
        .find_map(|l| l.strip_prefix("erp_projection_skipped_total{projection=\"org.employees\"} "))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no skip counter in\n{text}"));
    assert!(skipped >= 1, "{text}");
}

/// What the projector's `/metrics` shows: lag, partitions and skips per projection (set at
/// each scrape), and each batch applied, counted and timed by projection.
#[tokio::test]
async fn the_projector_records_its_series_by_projection() {
    infra::telemetry::metrics::install();
    let f = fixture(5).await;
    let projector = Projector::new(f.log.clone(), sqlite().await);
    let applied = projector.catch_up(Projection::Employees).await.unwrap();
    assert!(applied > 0);
    projector.record_lag().await;
    let text = infra::telemetry::metrics::render();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}{{projection=\"org.employees\"}} ")))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} of org.employees in\n{text}"))
    };
    assert_eq!(value("erp_projection_lag_events"), 0.0);
    assert_eq!(value("erp_projection_lag_seconds"), 0.0);
    assert!(value("erp_projection_applied_total") >= applied as f64, "{text}");
    assert!(value("erp_projection_apply_duration_seconds_count") >= 1.0, "{text}");
    assert!(
        text.contains("erp_projection_apply_duration_seconds_bucket{projection=\"org.employees\",le="),
        "a histogram:\n{text}"
    );
}

/// A SQLite store at `dir/read.db`, rebuilt from a history of `n` employees (the fixture
/// keeps its log alive).
async fn rebuilt_sqlite_in(dir: &std::path::Path, n: u128) -> (SqlReadModel, std::path::PathBuf, Fixture) {
    let fixture = fixture(n).await;
    let path = dir.join("read.db");
    let store = SqlReadModel::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    rebuild(&fixture.log, store.clone()).await;
    (store, path, fixture)
}

/// The writer leaves copying the WAL into the database file to a connection of its own: a
/// reader that ignores the WAL (`immutable`) finds a rebuild's rows in the file itself soon
/// after, although the batches are far below SQLite's own checkpoint threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_are_checkpointed_into_the_database_file_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, _fixture) = rebuilt_sqlite_in(dir.path(), 31).await;
    let employees = store.employees().await.unwrap().len() as i64;
    assert!(employees > 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let in_the_file = loop {
        let file = sqlx::AnyPool::connect(&format!("sqlite://{}?immutable=1", path.display()))
            .await
            .unwrap();
        let found: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM employees")
            .fetch_one(&file)
            .await;
        file.close().await;
        if found.as_ref().ok() == Some(&employees) || std::time::Instant::now() > deadline {
            break found.ok();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        in_the_file,
        Some(employees),
        "the database file holds every employee row"
    );
}

/// Closing a store closes every connection to its file, the checkpointer's too: SQLite
/// removes the WAL when the last one goes, so a replay can delete a closed shadow's files
/// without a connection left to recreate them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_sqlite_store_closes_every_connection_to_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, _fixture) = rebuilt_sqlite_in(dir.path(), 3).await;
    store.close().await;
    let wal = dir.path().join("read.db-wal");
    assert!(!wal.exists(), "the last connection to close removes {}", wal.display());
}

/// The employee commits of the history, spread over two partitions as a two-partition log
/// would hold them (a stream stays in one partition), numbered per partition.
fn over_two_partitions(batch: Vec<Delivered>) -> (Vec<Delivered>, Vec<Delivered>) {
    let (mut zero, mut one) = (Vec::new(), Vec::new());
    for mut d in batch {
        d.partition = infra::eventlog::partition_for(&d.commit.stream_id, 2);
        let side = if d.partition == 0 { &mut zero } else { &mut one };
        d.offset = side.len() as u64;
        side.push(d);
    }
    (zero, one)
}

async fn instances_on_disjoint_partitions_write_side_by_side(store: SqlReadModel, fresh: SqlReadModel) {
    let f = fixture(12).await;
    let mut sub = f.log.subscribe(streams::EMPLOYEE, Checkpoint::new()).await.unwrap();
    let all = sub.next_batch(1000, Duration::from_secs(1)).await.unwrap();
    let (zero, one) = over_two_partitions(all.clone());
    assert!(!zero.is_empty() && !one.is_empty());
    let (n0, n1) = (zero.len() as u64, one.len() as u64);
    let p = Projection::Employees;

    // Instance A holds partition 0, instance B partition 1; neither knows the other's progress.
    let a = store
        .apply_from(p, &Checkpoint::new(), &zero, &[(0, n0)].into(), false)
        .await
        .unwrap();
    let b = store
        .apply_from(p, &Checkpoint::new(), &one, &[(1, n1)].into(), false)
        .await
        .expect("a batch of another partition is not refused");
    assert_eq!((a.applied + b.applied) as u64, n0 + n1);
    assert_eq!(store.checkpoint(p).await.unwrap(), [(0, n0), (1, n1)].into());

    // A partition that moved on under a stale instance: its batch writes nothing, and the
    // positions of the partitions it did not touch are not written back either.
    let before = store.checksum().await.unwrap();
    let stale = store
        .apply_from(p, &[(0, 0), (1, 0)].into(), &zero, &[(0, n0), (1, 0)].into(), false)
        .await;
    assert!(
        matches!(stale, Err(infra::readmodel::StoreError::Moved(_))),
        "{stale:?}"
    );
    let step = store
        .apply_from(p, &[(0, n0), (1, 0)].into(), &[], &[(0, n0 + 1), (1, 0)].into(), false)
        .await;
    assert!(step.is_ok(), "{step:?}");
    assert_eq!(store.checkpoint(p).await.unwrap(), [(0, n0 + 1), (1, n1)].into());
    assert_eq!(store.checksum().await.unwrap(), before);

    fresh.apply(p, &all, sub.checkpoint()).await.unwrap();
    assert_eq!(store.checksum().await.unwrap(), fresh.checksum().await.unwrap());
}

/// A notifier re-reads its connected employees' delegations for all of them at once, in
/// queries of 500: each employee gets exactly the open delegations naming them their proxy,
/// on either side of a chunk's edge.
async fn everyones_open_delegations_read_at_once_are_each_their_own(store: SqlReadModel) {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(dir.path().join("log"), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    let now = Utc::now();
    let e = |n: u128| EmployeeId(Uuid::from_u128(n));
    for n in 1..=520 {
        let registered = EmployeeEvent::Registered {
            id: e(n),
            name: format!("직원{n}"),
            email: format!("e{n}@demo.erp"),
            department: DepartmentId(Uuid::from_u128(900)),
            position: Position {
                title: "사원".into(),
                rank: 1,
            },
            manager: None,
            roles: [Role::Employee].into(),
            by: e(1),
            at: now,
        };
        append(&*log, streams::EMPLOYEE, e(n).0, 0, &[registered]).await;
    }
    // (delegation, principal, proxy, open now): 3 acts for 4; 510 for 511 and 512 (512's is
    // over), and 2 for 513.
    let grants = [
        (1, 4, 3, true),
        (2, 511, 510, true),
        (3, 512, 510, false),
        (4, 513, 2, true),
    ];
    for (d, principal, proxy, open) in grants {
        let id = DelegationId(Uuid::from_u128(7000 + d));
        let window = if open {
            Window {
                from: now - Minutes::hours(1),
                until: now + Minutes::hours(1),
            }
        } else {
            Window {
                from: now - Minutes::hours(2),
                until: now - Minutes::hours(1),
            }
        };
        let granted = DelegationEvent::Granted {
            id,
            principal: e(principal),
            proxy: e(proxy),
            window,
            reason: "출장".into(),
            by: e(principal),
            at: now - Minutes::hours(3),
        };
        append(&*log, streams::DELEGATION, id.0, 0, &[granted]).await;
    }
    let projector = rebuild(&log, store).await;
    let signin = infra::auth::Authenticator::new(
        infra::auth::LocalSigner::from_seed(&[7; 32], "erp", "erp-api").verifier(),
        projector.store().clone(),
    );
    let ids: Vec<EmployeeId> = (1..=520).map(e).collect();
    let found = signin.principals(&ids).await.unwrap();
    assert_eq!(found.len(), 520);
    let acting_for = |n: u128| {
        let mut principals: Vec<EmployeeId> = found[&e(n)].delegations.iter().filter_map(|d| d.principal).collect();
        principals.sort();
        principals
    };
    assert_eq!(acting_for(3), vec![e(4)]);
    assert_eq!(acting_for(510), vec![e(511)]);
    assert_eq!(acting_for(2), vec![e(513)]);
    let others: usize = ids
        .iter()
        .filter(|id| ![e(2), e(3), e(510)].contains(id))
        .map(|id| found[id].delegations.len())
        .sum();
    assert_eq!(others, 0);
}

macro_rules! store_suite {
    ($store:ident, $open:expr) => {
        mod $store {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn everyones_open_delegations_read_at_once_are_each_their_own() {
                super::everyones_open_delegations_read_at_once_are_each_their_own($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn projecting_a_history_fills_every_table() {
                super::projecting_a_history_fills_every_table($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn attendance_days_are_judged_by_the_standard_schedule() {
                super::attendance_days_are_judged_by_the_standard_schedule($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_quest_folds_to_its_row_and_one_row_per_participant() {
                super::a_quest_folds_to_its_row_and_one_row_per_participant($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn hr_notices_fold_into_the_feed_of_whom_they_tell() {
                super::hr_notices_fold_into_the_feed_of_whom_they_tell($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn one_bad_event_never_stalls_a_projection() {
                super::one_bad_event_never_stalls_a_projection($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_redelivered_batch_changes_nothing() {
                super::a_redelivered_batch_changes_nothing($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn instances_on_disjoint_partitions_write_side_by_side() {
                super::instances_on_disjoint_partitions_write_side_by_side($open.await, $open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_commit_fenced_by_rule_r_is_ignored() {
                super::a_commit_fenced_by_rule_r_is_ignored($open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn replaying_each_projection_swaps_in_what_a_rebuild_produces() {
                super::replaying_each_projection_swaps_in_what_a_rebuild_produces($open.await, $open.await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_projector_stopped_mid_history_resumes_to_what_a_rebuild_produces() {
                super::a_projector_stopped_mid_history_resumes_to_what_a_rebuild_produces($open.await, $open.await)
                    .await;
            }
        }
    };
}

async fn sqlite() -> SqlReadModel {
    support::sqlite_store().await
}

async fn mariadb() -> SqlReadModel {
    support::mariadb_store().await
}

store_suite!(on_sqlite, sqlite());
store_suite!(on_mariadb, mariadb());

/// Child mode for the kill -9 test: follows every projection of the log in `ERP_CHILD_LOG`
/// into the SQLite file `ERP_CHILD_DB` until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by kill_9_mid_batch_then_restart_equals_a_fresh_rebuild"]
async fn child_projector() {
    let (Ok(log_dir), Ok(db)) = (std::env::var("ERP_CHILD_LOG"), std::env::var("ERP_CHILD_DB")) else {
        return;
    };
    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(log_dir, EmbeddedOptions::default(), Upcasters::default()).unwrap());
    let store = SqlReadModel::connect(&format!("sqlite://{db}?mode=rwc")).await.unwrap();
    let projector = Projector::new(log, store).with_batch(7);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    println!("STARTED");
    for p in Projection::ALL {
        let projector = projector.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move { projector.run(p, stopped).await });
    }
    tokio::time::sleep(Duration::from_secs(600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_then_restart_equals_a_fresh_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(dir.path().join("log"), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    org_history(&*log, 2_000).await;
    drop(log);
    let db = dir.path().join("read.db");
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_projector",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ERP_CHILD_LOG", dir.path().join("log"))
        .env("ERP_CHILD_DB", &db)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().unwrap()));
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("STARTED") {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    child.start_kill().unwrap(); // SIGKILL, mid-batch
    let _ = child.wait().await;

    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(dir.path().join("log"), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    let survivor = Projector::new(
        log.clone(),
        SqlReadModel::connect(&format!("sqlite://{}?mode=rwc", db.display()))
            .await
            .unwrap(),
    );
    let behind: u64 = survivor.lag().await.unwrap().iter().map(|l| l.events_behind).sum();
    println!("after kill -9: {behind} commits not yet projected");
    assert!(behind > 0, "the kill must land while the projector is still working");
    for p in Projection::ALL {
        survivor.catch_up(p).await.unwrap();
    }
    let fresh = rebuild(&log, support::sqlite_store().await).await;
    assert_eq!(
        survivor.store().checksum().await.unwrap(),
        fresh.store().checksum().await.unwrap()
    );
}

/// A store an older version created, whose departments table has no schedule column, gains
/// the column when opened; its rows stay, and a department's schedule projects into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_store_gains_the_columns_added_since_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("read.db").display());
    sqlx::any::install_default_drivers();
    let old = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TABLE departments (id VARCHAR(191), name VARCHAR(191), code VARCHAR(191), parent VARCHAR(191), \
         head VARCHAR(191), closed BIGINT, version BIGINT, PRIMARY KEY (id))",
    )
    .execute(&old)
    .await
    .unwrap();
    sqlx::query("INSERT INTO departments VALUES ('d-old', '옛 부서', 'OLD', NULL, NULL, 0, 1)")
        .execute(&old)
        .await
        .unwrap();
    old.close().await;

    let store = SqlReadModel::connect(&url).await.unwrap();
    let kept = store.departments().await.unwrap();
    assert_eq!(
        kept.iter()
            .map(|d| (d.id.as_str(), d.schedule.is_none()))
            .collect::<Vec<_>>(),
        [("d-old", true)]
    );
    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(dir.path().join("log"), EmbeddedOptions::default(), Upcasters::default()).unwrap());
    let dept = DepartmentId(Uuid::from_u128(950));
    let hr = EmployeeId(Uuid::from_u128(1));
    let at = Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap();
    append(
        &*log,
        streams::DEPARTMENT,
        dept.0,
        0,
        &[
            DepartmentEvent::Created {
                id: dept,
                name: "유연근무팀".into(),
                code: "FLEX".into(),
                parent: None,
                by: hr,
                at,
            },
            DepartmentEvent::ScheduleSet {
                schedule: Some(domain::attendance::WorkSchedule::flexible_standard()),
                by: hr,
                at,
            },
        ],
    )
    .await;
    let projector = rebuild(&log, store).await;
    let flexible = projector
        .store()
        .departments()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.id == dept.to_string())
        .unwrap();
    assert_eq!(
        flexible.schedule,
        Some(domain::attendance::WorkSchedule::flexible_standard())
    );
}
