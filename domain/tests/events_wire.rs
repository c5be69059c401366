//! Every event type round-trips through serde with its stable type name and schema version.
//! The `variant_index` functions are exhaustive matches: adding an event without adding a
//! sample here fails to compile or fails the coverage assertion.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use domain::approval::{ApprovalEvent as E, RejectTarget};
use domain::form::general_form;
use domain::ids::CommentId;
use domain::leave::{AccrualBasis, LeaveEvent, LeaveLedger, NoticeKind};
use domain::numbering::{DocumentNumber, NumberEvent};
use domain::org::{DelegationEvent, DepartmentEvent, EmployeeEvent, Position, Window};
use domain::{EventType, Role};
use rust_decimal::Decimal;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use support::*;
use uuid::Uuid;

fn round_trip<T: Serialize + DeserializeOwned + EventType + PartialEq + Debug>(
    samples: &[T],
    variants: usize,
    index: fn(&T) -> usize,
) {
    let mut covered = vec![false; variants];
    for event in samples {
        covered[index(event)] = true;
        let json = serde_json::to_value(event).expect("serialises");
        assert_eq!(json["type"], event.event_type(), "type tag of {event:?}");
        assert_eq!(event.schema_version(), 1);
        let back: T = serde_json::from_value(json).expect("deserialises");
        assert_eq!(&back, event);
    }
    assert!(covered.iter().all(|c| *c), "every variant has a sample: {covered:?}");
}

fn approval_index(e: &E) -> usize {
    match e {
        E::Drafted { .. } => 0,
        E::DraftSaved { .. } => 1,
        E::DraftDiscarded { .. } => 2,
        E::Submitted { .. } => 3,
        E::Approved { .. } => 4,
        E::ProxyApproved { .. } => 5,
        E::ApprovedAsFinal { .. } => 6,
        E::Disagreed { .. } => 7,
        E::Rejected { .. } => 8,
        E::Withdrawn { .. } => 9,
        E::ApprovalCancelled { .. } => 10,
        E::Held { .. } => 11,
        E::Released { .. } => 12,
        E::Resubmitted { .. } => 13,
        E::Commented { .. } => 14,
        E::Numbered { .. } => 15,
    }
}

/// One of each approval event.
fn approval_samples() -> Vec<E> {
    vec![
        drafted(line(&[BOB])),
        E::DraftSaved {
            content: content("x"),
            line: line(&[BOB]),
            by: ALICE,
            at: t(1),
        },
        E::DraftDiscarded { by: ALICE, at: t(1) },
        E::Submitted {
            rule: None,
            authority: None,
            amount: Some(Decimal::new(123_456, 2)),
            leave_days: None,
            by: ALICE,
            at: t(1),
        },
        approved(0, BOB, 2),
        E::ProxyApproved {
            step: 0,
            on_behalf_of: BOB,
            delegation: DELEGATION,
            comment: Some("대결".into()),
            by: FRANK,
            at: t(2),
        },
        E::ApprovedAsFinal {
            step: 0,
            skipped: vec![1],
            comment: None,
            by: BOB,
            at: t(2),
        },
        E::Disagreed {
            step: 0,
            reason: "no".into(),
            on_behalf_of: None,
            by: BOB,
            at: t(2),
        },
        rejected(0, BOB, RejectTarget::PreviousStep, 2),
        E::Withdrawn { by: ALICE, at: t(2) },
        E::ApprovalCancelled {
            step: 0,
            member: BOB,
            by: BOB,
            at: t(3),
        },
        E::Held {
            step: 0,
            member: BOB,
            reason: "wait".into(),
            by: BOB,
            at: t(3),
        },
        E::Released {
            step: 0,
            by: BOB,
            at: t(4),
        },
        E::Resubmitted {
            revision: 2,
            content: content("y"),
            line: line(&[CAROL]),
            rule: None,
            authority: Some(domain::authority::AuthorityDecision {
                rule: domain::testkit::requiring(&[CAROL]).rule,
                final_approver: None,
            }),
            amount: None,
            leave_days: Some(Decimal::new(5, 1)),
            by: ALICE,
            at: t(5),
        },
        E::Commented {
            comment_id: CommentId(Uuid::from_u128(5)),
            text: "의견".into(),
            by: BOB,
            at: t(5),
        },
        E::Numbered {
            number: DocumentNumber {
                prefix: "GEN".into(),
                year: 2026,
                seq: 1,
            },
            by: BOB,
            at: t(6),
        },
    ]
}

#[test]
fn approval_events_round_trip_with_stable_names() {
    round_trip(&approval_samples(), 16, approval_index);
}

#[test]
fn the_approval_events_followed_up_are_listed_by_their_wire_types() {
    use domain::process::{follows_up, APPROVAL_EVENTS_FOLLOWED_UP};
    let samples = approval_samples();
    for event in &samples {
        assert_eq!(
            follows_up(event),
            APPROVAL_EVENTS_FOLLOWED_UP.contains(&event.event_type()),
            "{event:?}"
        );
    }
    let followed = samples.iter().filter(|e| follows_up(e)).count();
    assert_eq!(
        followed,
        APPROVAL_EVENTS_FOLLOWED_UP.len(),
        "each listed type names an event"
    );
}

#[test]
fn money_is_written_as_a_decimal_string_not_a_float() {
    let json = serde_json::to_value(E::Submitted {
        rule: None,
        authority: None,
        amount: Some(Decimal::new(1_000_001, 2)),
        leave_days: None,
        by: ALICE,
        at: t(1),
    })
    .unwrap();
    assert_eq!(json["amount"], "10000.01");
}

#[test]
fn organisation_events_round_trip_with_stable_names() {
    let position = Position {
        title: "대리".into(),
        rank: 2,
    };
    let employees = vec![
        EmployeeEvent::Registered {
            id: BOB,
            name: "b".into(),
            email: "b@x.io".into(),
            department: DEPT,
            position: position.clone(),
            manager: None,
            roles: [Role::Employee].into(),
            by: HR,
            at: t(0),
        },
        EmployeeEvent::ProfileUpdated {
            name: "b".into(),
            email: "b@x.io".into(),
            by: HR,
            at: t(0),
        },
        EmployeeEvent::DepartmentChanged {
            department: DEPT,
            by: HR,
            at: t(0),
        },
        EmployeeEvent::PositionChanged {
            position,
            by: HR,
            at: t(0),
        },
        EmployeeEvent::ManagerChanged {
            manager: Some(CAROL),
            by: HR,
            at: t(0),
        },
        EmployeeEvent::RolesAssigned {
            roles: [Role::Employee, Role::Auditor].into(),
            by: HR,
            at: t(0),
        },
        EmployeeEvent::Deactivated { by: HR, at: t(0) },
        EmployeeEvent::HireDateSet {
            hire_date: chrono::NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
            by: HR,
            at: t(0),
        },
    ];
    round_trip(&employees, 8, |e| match e {
        EmployeeEvent::Registered { .. } => 0,
        EmployeeEvent::ProfileUpdated { .. } => 1,
        EmployeeEvent::DepartmentChanged { .. } => 2,
        EmployeeEvent::PositionChanged { .. } => 3,
        EmployeeEvent::ManagerChanged { .. } => 4,
        EmployeeEvent::RolesAssigned { .. } => 5,
        EmployeeEvent::Deactivated { .. } => 6,
        EmployeeEvent::HireDateSet { .. } => 7,
    });
    let departments = vec![
        DepartmentEvent::Created {
            id: DEPT,
            name: "d".into(),
            code: "D".into(),
            parent: None,
            by: HR,
            at: t(0),
        },
        DepartmentEvent::Renamed {
            name: "e".into(),
            by: HR,
            at: t(0),
        },
        DepartmentEvent::Moved {
            parent: Some(FINANCE),
            by: HR,
            at: t(0),
        },
        DepartmentEvent::HeadAppointed {
            head: Some(CAROL),
            by: HR,
            at: t(0),
        },
        DepartmentEvent::Closed { by: HR, at: t(0) },
        DepartmentEvent::ScheduleSet {
            schedule: Some(domain::attendance::WorkSchedule::flexible_standard()),
            by: HR,
            at: t(0),
        },
    ];
    round_trip(&departments, 6, |e| match e {
        DepartmentEvent::Created { .. } => 0,
        DepartmentEvent::Renamed { .. } => 1,
        DepartmentEvent::Moved { .. } => 2,
        DepartmentEvent::HeadAppointed { .. } => 3,
        DepartmentEvent::Closed { .. } => 4,
        DepartmentEvent::ScheduleSet { .. } => 5,
    });
    // A check-in from before schedules were recorded decodes with none.
    let old: domain::attendance::AttendanceEvent = serde_json::from_value(serde_json::json!({
        "type": "attendance.checked_in", "employee": ALICE, "day": "2026-03-03", "at": t(0)
    }))
    .unwrap();
    assert!(matches!(
        old,
        domain::attendance::AttendanceEvent::CheckedIn { schedule: None, .. }
    ));
    let delegations = vec![
        DelegationEvent::Granted {
            id: DELEGATION,
            principal: BOB,
            proxy: FRANK,
            window: Window {
                from: t(0),
                until: t(1),
            },
            reason: "r".into(),
            by: BOB,
            at: t(0),
        },
        DelegationEvent::Revoked { by: BOB, at: t(0) },
    ];
    round_trip(&delegations, 2, |e| match e {
        DelegationEvent::Granted { .. } => 0,
        DelegationEvent::Revoked { .. } => 1,
    });
}

#[test]
fn ledger_events_round_trip_with_stable_names() {
    let leave = vec![
        LeaveEvent::Granted {
            employee: ALICE,
            year: 2026,
            days: Decimal::from(15),
            by: HR,
            at: t(0),
        },
        LeaveEvent::Debited {
            employee: ALICE,
            document: DOC,
            days: Decimal::new(5, 1),
            by: BOB,
            at: t(0),
        },
        LeaveEvent::Adjusted {
            employee: ALICE,
            days: Decimal::from(-1),
            reason: "r".into(),
            by: HR,
            at: t(0),
        },
        LeaveEvent::Reserved {
            employee: ALICE,
            document: DOC,
            revision: 1,
            days: Decimal::from(2),
            by: ALICE,
            at: t(0),
        },
        LeaveEvent::Released {
            employee: ALICE,
            document: DOC,
            revision: 1,
            days: Decimal::from(2),
            by: BOB,
            at: t(0),
        },
        LeaveEvent::Accrued {
            employee: ALICE,
            key: "2026-03-monthly-2".into(),
            basis: AccrualBasis::Monthly { month: 2 },
            days: Decimal::ONE,
            expires_on: date(2027, 1, 14),
            at: t(0),
        },
        LeaveEvent::LotExpired {
            employee: ALICE,
            key: "2026-03-monthly-2".into(),
            days: Decimal::new(25, 2),
            on: date(2027, 1, 15),
            at: t(0),
        },
        LeaveEvent::PromotionNoticeSent {
            employee: ALICE,
            period_end: date(2027, 1, 14),
            notice: NoticeKind::LateDesignation,
            unused: Decimal::new(15, 1),
            on: date(2026, 12, 26),
            at: t(0),
        },
    ];
    round_trip(&leave, 8, |e| match e {
        LeaveEvent::Granted { .. } => 0,
        LeaveEvent::Debited { .. } => 1,
        LeaveEvent::Adjusted { .. } => 2,
        LeaveEvent::Reserved { .. } => 3,
        LeaveEvent::Released { .. } => 4,
        LeaveEvent::Accrued { .. } => 5,
        LeaveEvent::LotExpired { .. } => 6,
        LeaveEvent::PromotionNoticeSent { .. } => 7,
    });
    let numbers = vec![NumberEvent::NumberAssigned {
        number: DocumentNumber {
            prefix: "EXP".into(),
            year: 2026,
            seq: 42,
        },
        document: DOC,
        by: BOB,
        at: t(0),
    }];
    round_trip(&numbers, 1, |e| match e {
        NumberEvent::NumberAssigned { .. } => 0,
    });
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn accrual_events_write_the_basis_dates_and_quarter_days_plainly() {
    let json = serde_json::to_value(LeaveEvent::Accrued {
        employee: ALICE,
        key: "2027-anniversary-1".into(),
        basis: AccrualBasis::Annual { year: 1 },
        days: Decimal::new(1525, 2),
        expires_on: date(2028, 1, 14),
        at: t(0),
    })
    .unwrap();
    assert_eq!(json["type"], "leave.accrued");
    assert_eq!(json["basis"], serde_json::json!({"kind": "annual", "year": 1}));
    assert_eq!(json["days"], "15.25");
    assert_eq!(json["expires_on"], "2028-01-14");
    let notice = serde_json::to_value(NoticeKind::LateRequest).unwrap();
    assert_eq!(notice, "late_request");
}

#[test]
fn a_ledger_logged_before_lots_still_folds_to_the_same_balance() {
    // Events as the log holds them from before accruals, lots and quarter days existed.
    let old = [
        serde_json::json!({"type": "leave.granted", "employee": ALICE, "year": 2026, "days": "15", "by": HR, "at": t(0)}),
        serde_json::json!({"type": "leave.reserved", "employee": ALICE, "document": DOC, "revision": 1, "days": "1.5", "by": ALICE, "at": t(1)}),
        serde_json::json!({"type": "leave.debited", "employee": ALICE, "document": DOC, "days": "1.5", "by": BOB, "at": t(2)}),
    ];
    let events: Vec<LeaveEvent> = old.iter().map(|e| serde_json::from_value(e.clone()).unwrap()).collect();
    let ledger = <LeaveLedger as domain::Aggregate>::fold(&events);
    assert_eq!(
        (ledger.balance, ledger.used, ledger.pool()),
        (Decimal::new(135, 1), Decimal::new(15, 1), Decimal::new(135, 1))
    );
    for (event, json) in events.iter().zip(&old) {
        assert_eq!(
            &serde_json::to_value(event).unwrap(),
            json,
            "writes back byte-identically"
        );
    }
    // A state snapshot from before lots decodes with none.
    let snapshot = serde_json::json!({
        "employee": ALICE, "balance": "13.5", "granted_years": [2026], "debits": {}, "used": "1.5"
    });
    let state: LeaveLedger = serde_json::from_value(snapshot).unwrap();
    assert!(state.lots.is_empty() && state.notices.is_empty());
}

#[test]
fn attendance_events_round_trip_with_stable_names() {
    use domain::attendance::{AttendanceEvent as A, Shift};
    let day = date(2026, 3, 3);
    let samples = vec![
        A::CheckedIn {
            employee: ALICE,
            day,
            at: t(0),
            schedule: None,
        },
        A::CheckedOut {
            employee: ALICE,
            day,
            at: t(540),
        },
        A::DayCorrected {
            employee: ALICE,
            day,
            shifts: vec![Shift::closed(t(0), t(540))],
            document: DOC,
            reason: "출입 게이트 고장".into(),
            by: HR,
            at: t(600),
            schedule: None,
        },
        A::WeeklyHoursReported {
            employee: ALICE,
            week: date(2026, 3, 2),
            minutes: 48 * 60,
            state: domain::attendance::WeeklyState::Warning,
            manager: Some(BOB),
            at: t(540),
        },
    ];
    round_trip(&samples, 4, |e| match e {
        A::CheckedIn { .. } => 0,
        A::CheckedOut { .. } => 1,
        A::DayCorrected { .. } => 2,
        A::WeeklyHoursReported { .. } => 3,
    });
    let reported = serde_json::to_value(&samples[3]).unwrap();
    assert_eq!(reported["type"], "attendance.weekly_hours_reported");
    assert_eq!(reported["state"], "warning");
    let json = serde_json::to_value(&samples[2]).unwrap();
    assert_eq!(json["day"], "2026-03-03");
    assert_eq!(json["document"], serde_json::json!(DOC));
    assert_eq!(json["shifts"][0]["end"], serde_json::json!(t(540)));
}

#[test]
fn quest_events_round_trip_with_stable_names() {
    use domain::ids::QuestId;
    use domain::quest::{AttendanceGoal, Audience, QuestEvent as Q, QuestKind, Reward};
    let samples = vec![
        Q::Posted {
            id: QuestId(Uuid::from_u128(800)),
            title: "정시 출근 챌린지".into(),
            description: "3월 내내 정시 출근".into(),
            reward: Reward::LeaveHours { hours: 4 },
            capacity: 10,
            deadline: t(10_000),
            audience: Audience::Department { department: DEPT },
            kind: QuestKind::Attendance {
                goal: AttendanceGoal::OnTimeEveryWorkDay { year: 2026, month: 3 },
            },
            by: BOB,
            at: t(0),
        },
        Q::Accepted {
            employee: ALICE,
            at: t(1),
        },
        Q::Submitted {
            employee: ALICE,
            at: t(2),
        },
        Q::Verified {
            employee: ALICE,
            reward: Reward::Points { points: 50 },
            by: BOB,
            at: t(3),
            by_attendance: false,
        },
        Q::Returned {
            employee: ALICE,
            reason: "r".into(),
            by: BOB,
            at: t(3),
        },
        Q::Cancelled {
            reason: "r".into(),
            by: BOB,
            at: t(4),
        },
    ];
    round_trip(&samples, 6, |e| match e {
        Q::Posted { .. } => 0,
        Q::Accepted { .. } => 1,
        Q::Submitted { .. } => 2,
        Q::Verified { .. } => 3,
        Q::Returned { .. } => 4,
        Q::Cancelled { .. } => 5,
    });
    let json = serde_json::to_value(&samples[0]).unwrap();
    assert_eq!(json["reward"], serde_json::json!({"kind": "leave_hours", "hours": 4}));
    assert_eq!(
        json["audience"],
        serde_json::json!({"kind": "department", "department": DEPT})
    );
    assert_eq!(
        json["kind"],
        serde_json::json!({"kind": "attendance", "goal": {"goal": "on_time_every_work_day", "year": 2026, "month": 3}})
    );
}

#[test]
fn authority_events_round_trip_with_stable_names() {
    use domain::authority::{AuthorityEvent, AuthorityTable};
    let set = vec![AuthorityEvent::TableSet {
        version: 1,
        rows: AuthorityTable::default().rows,
        reason: "2027 전결 규정".into(),
        by: HR,
        at: t(0),
    }];
    round_trip(&set, 1, |e| match e {
        AuthorityEvent::TableSet { .. } => 0,
    });
}

#[test]
fn a_document_submitted_before_the_authority_table_still_decodes() {
    let old = serde_json::json!({
        "type": "approval.submitted", "rule": null, "amount": null, "leave_days": null,
        "by": ALICE, "at": t(1)
    });
    let event: E = serde_json::from_value(old.clone()).unwrap();
    assert!(matches!(event, E::Submitted { authority: None, .. }));
    // And writes back byte-identically, so its hash chain still verifies.
    assert_eq!(serde_json::to_value(&event).unwrap(), old);
}

#[test]
fn form_templates_and_bodies_serialise_for_the_wire() {
    let form = general_form();
    let back: domain::form::FormTemplate = serde_json::from_value(serde_json::to_value(&form).unwrap()).unwrap();
    assert_eq!(back, form);
}
