//! The leave ledger, document numbering and the process managers that connect them to
//! final approval.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::FixedOffset;
use domain::approval::{Approval, ApprovalCommand, ApprovalError, ApprovalEvent, Content};
use domain::form::{general_form, leave_form, FieldValue, FormTemplate};
use domain::leave::{LeaveCommand, LeaveError, LeaveEvent, LeaveLedger, DEFAULT_ANNUAL_DAYS};
use domain::numbering::{DocumentNumber, NumberCommand, NumberError, NumberEvent, NumberSequence, SequenceKey};
use domain::process::{on_approval_event, on_number_assigned, FollowUp};
use domain::testkit::{given, no_requirement};
use domain::{Aggregate, Role};
use rust_decimal::Decimal;
use support::*;
use uuid::Uuid;

fn hr() -> domain::Actor {
    actor(HR).with_role(Role::HrAdmin)
}

fn granted(days: i64) -> LeaveEvent {
    LeaveEvent::Granted {
        employee: ALICE,
        year: 2026,
        days: Decimal::from(days),
        by: HR,
        at: t(0),
    }
}

#[test]
fn the_yearly_grant_is_fifteen_days_by_default_and_once_a_year() {
    let state = given::<LeaveLedger>([])
        .when(LeaveCommand::Grant {
            employee: ALICE,
            year: 2026,
            days: DEFAULT_ANNUAL_DAYS,
            by: hr(),
            at: t(0),
        })
        .then([granted(15)]);
    assert_eq!(state.balance, Decimal::from(15));
    given::<LeaveLedger>([granted(15)])
        .when(LeaveCommand::Grant {
            employee: ALICE,
            year: 2026,
            days: DEFAULT_ANNUAL_DAYS,
            by: hr(),
            at: t(1),
        })
        .then_err(LeaveError::AlreadyGranted { year: 2026 });
}

#[test]
fn a_debit_for_the_same_document_applies_once() {
    let debit = LeaveCommand::Debit {
        employee: ALICE,
        document: DOC,
        days: Decimal::new(15, 1),
        by: BOB,
        at: t(1),
    };
    let state = given::<LeaveLedger>([granted(15)]).when(debit.clone()).state_after();
    assert_eq!(state.balance, Decimal::new(135, 1));
    let debited = LeaveEvent::Debited {
        employee: ALICE,
        document: DOC,
        days: Decimal::new(15, 1),
        by: BOB,
        at: t(1),
    };
    given::<LeaveLedger>([granted(15), debited]).when(debit).then([]);
}

#[test]
fn hr_adjusts_leave_with_a_reason_in_half_days() {
    let adjust = |days: Decimal, reason: &str, by| LeaveCommand::Adjust {
        employee: ALICE,
        days,
        reason: reason.into(),
        by,
        at: t(1),
    };
    let state = given::<LeaveLedger>([granted(15)])
        .when(adjust(Decimal::new(-5, 1), "정정", hr()))
        .state_after();
    assert_eq!(state.balance, Decimal::new(145, 1));
    given::<LeaveLedger>([])
        .when(adjust(Decimal::ONE, "", hr()))
        .then_err(LeaveError::ReasonRequired);
    given::<LeaveLedger>([])
        .when(adjust(Decimal::new(3, 1), "x", hr()))
        .then_err(LeaveError::InvalidDays);
    given::<LeaveLedger>([])
        .when(adjust(Decimal::ONE, "x", actor(ALICE)))
        .then_err(LeaveError::NotHrAdmin);
}

#[test]
fn a_ledger_belongs_to_one_employee() {
    given::<LeaveLedger>([granted(15)])
        .when(LeaveCommand::Debit {
            employee: BOB,
            document: DOC,
            days: Decimal::ONE,
            by: CAROL,
            at: t(1),
        })
        .then_err(LeaveError::WrongEmployee);
}

fn leave_content(days: Decimal) -> Content {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let end = chrono::NaiveDate::from_ymd_opt(2026, 3, 11).unwrap();
    Content {
        title: "연차 신청".into(),
        body: [
            ("leave_type".to_owned(), FieldValue::Select("annual".into())),
            ("period".to_owned(), FieldValue::DateRange { start, end }),
            ("days".to_owned(), FieldValue::Number(days)),
        ]
        .into(),
        attachments: Vec::new(),
    }
}

fn leave_submit(balance: Option<Decimal>) -> ApprovalCommand {
    ApprovalCommand::Submit {
        form: leave_form(),
        rule: None,
        authority: no_requirement(),
        roster: roster(),
        leave_balance: balance,
        by: actor(ALICE),
        at: t(1),
    }
}

#[test]
fn a_leave_request_beyond_the_balance_is_refused() {
    let drafted = drafted_with(&leave_form(), leave_content(Decimal::from(3)), line(&[BOB]));
    given::<Approval>([drafted.clone()])
        .when(leave_submit(Some(Decimal::new(25, 1))))
        .then_err(ApprovalError::InsufficientLeave {
            requested: Decimal::from(3),
            available: Decimal::new(25, 1),
        });
    given::<Approval>([drafted.clone()])
        .when(leave_submit(None))
        .then_err(ApprovalError::LeaveBalanceRequired);
    let state = given::<Approval>([drafted])
        .when(leave_submit(Some(Decimal::from(3))))
        .state_after();
    assert_eq!(state.document().unwrap().leave_days, Some(Decimal::from(3)));
}

fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).unwrap()
}

fn finally_approved(form: &FormTemplate, content: Content) -> (Approval, ApprovalEvent) {
    let history = [
        drafted_with(form, content, line(&[BOB])),
        ApprovalEvent::Submitted {
            rule: None,
            authority: None,
            amount: None,
            leave_days: form.leave_days(&leave_content(Decimal::from(3)).body),
            by: ALICE,
            at: t(1),
        },
    ];
    let last = approved(0, BOB, 2);
    let state = Approval::fold(history.iter().chain([&last]));
    (state, last)
}

#[test]
fn final_approval_of_a_leave_request_numbers_it_and_debits_the_ledger() {
    let (state, last) = finally_approved(&leave_form(), leave_content(Decimal::from(3)));
    let follow_ups = on_approval_event(state.document().unwrap(), &last, &leave_form(), kst());
    assert_eq!(
        follow_ups,
        vec![
            FollowUp::Number(NumberCommand::Assign {
                key: SequenceKey {
                    prefix: "LEV".into(),
                    year: 2026
                },
                document: DOC,
                by: BOB,
                at: t(2)
            }),
            FollowUp::Leave(LeaveCommand::Debit {
                employee: ALICE,
                document: DOC,
                days: Decimal::from(3),
                by: BOB,
                at: t(2)
            }),
        ]
    );
}

#[test]
fn an_intermediate_approval_triggers_nothing() {
    let history = [drafted(line(&[BOB, CAROL])), submitted(), approved(0, BOB, 2)];
    let state = Approval::fold(&history);
    assert!(on_approval_event(state.document().unwrap(), &history[2], &general_form(), kst()).is_empty());
}

#[test]
fn the_numbering_year_is_the_company_local_year() {
    let (state, _) = finally_approved(&general_form(), content("연말 보고"));
    let new_year_in_seoul = chrono::DateTime::parse_from_rfc3339("2026-12-31T16:00:00Z")
        .unwrap()
        .to_utc();
    let last = ApprovalEvent::Approved {
        step: 0,
        comment: None,
        by: BOB,
        at: new_year_in_seoul,
    };
    let follow_ups = on_approval_event(state.document().unwrap(), &last, &general_form(), kst());
    assert!(matches!(&follow_ups[..], [FollowUp::Number(NumberCommand::Assign { key, .. })] if key.year == 2027));
}

fn assign(doc: u128) -> NumberCommand {
    NumberCommand::Assign {
        key: SequenceKey {
            prefix: "EXP".into(),
            year: 2026,
        },
        document: domain::ids::ApprovalId(Uuid::from_u128(doc)),
        by: BOB,
        at: t(0),
    }
}

#[test]
fn document_numbers_are_gap_free_and_formatted() {
    let mut seq = NumberSequence::default();
    for doc in 1..=42 {
        for event in seq.decide(&assign(doc)).unwrap() {
            seq.evolve(&event);
        }
    }
    assert_eq!(seq.last, 42);
    let numbers: Vec<u64> = seq.assigned.values().map(|n| n.seq).collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=42).collect::<Vec<_>>());
    assert_eq!(
        seq.number_of(domain::ids::ApprovalId(Uuid::from_u128(42)))
            .unwrap()
            .to_string(),
        "EXP-2026-000042"
    );
}

#[test]
fn a_document_is_numbered_once() {
    let mut seq = NumberSequence::default();
    for event in seq.decide(&assign(1)).unwrap() {
        seq.evolve(&event);
    }
    assert_eq!(seq.decide(&assign(1)).unwrap(), vec![]);
}

#[test]
fn a_sequence_counts_one_prefix_and_year() {
    let mut seq = NumberSequence::default();
    for event in seq.decide(&assign(1)).unwrap() {
        seq.evolve(&event);
    }
    let other = NumberCommand::Assign {
        key: SequenceKey {
            prefix: "LEV".into(),
            year: 2026,
        },
        document: DOC,
        by: BOB,
        at: t(0),
    };
    assert!(matches!(seq.decide(&other), Err(NumberError::WrongSequence { .. })));
    let bad = NumberCommand::Assign {
        key: SequenceKey {
            prefix: "exp-1".into(),
            year: 2026,
        },
        document: DOC,
        by: BOB,
        at: t(0),
    };
    assert_eq!(NumberSequence::default().decide(&bad), Err(NumberError::InvalidPrefix));
}

#[test]
fn an_assigned_number_is_recorded_on_the_approved_document_once() {
    let number = DocumentNumber {
        prefix: "GEN".into(),
        year: 2026,
        seq: 7,
    };
    let (doc_id, command) = on_number_assigned(&NumberEvent::NumberAssigned {
        number: number.clone(),
        document: DOC,
        by: BOB,
        at: t(3),
    });
    assert_eq!(doc_id, DOC);
    let (state, last) = finally_approved(&general_form(), content("보고"));
    let events = state.decide(&command).unwrap();
    assert_eq!(
        events,
        vec![ApprovalEvent::Numbered {
            number: number.clone(),
            by: BOB,
            at: t(3)
        }]
    );
    let mut numbered = state.clone();
    numbered.evolve(&events[0]);
    assert_eq!(numbered.decide(&command), Err(ApprovalError::AlreadyNumbered));
    let in_progress = Approval::fold(&[drafted(line(&[BOB, CAROL])), submitted(), last]);
    assert_eq!(in_progress.decide(&command), Err(ApprovalError::NotApproved));
}

// Holds: days of pending requests leave the available balance at 상신.

const OTHER_DOC: domain::ids::ApprovalId = domain::ids::ApprovalId(Uuid::from_u128(101));

fn reserve(document: domain::ids::ApprovalId, revision: u32, days: i64) -> LeaveCommand {
    LeaveCommand::Reserve {
        employee: ALICE,
        document,
        revision,
        days: Decimal::from(days),
        by: ALICE,
        at: t(1),
    }
}

fn reserved(document: domain::ids::ApprovalId, revision: u32, days: i64) -> LeaveEvent {
    LeaveEvent::Reserved {
        employee: ALICE,
        document,
        revision,
        days: Decimal::from(days),
        by: ALICE,
        at: t(1),
    }
}

#[test]
fn two_pending_requests_cannot_hold_more_than_the_balance() {
    // 13 days; the first request of 7 holds them, the second of 7 finds only 6.
    let state = given::<LeaveLedger>([granted(13)])
        .when(reserve(DOC, 1, 7))
        .then([reserved(DOC, 1, 7)]);
    assert_eq!(
        (state.balance, state.available()),
        (Decimal::from(13), Decimal::from(6))
    );
    given::<LeaveLedger>([granted(13), reserved(DOC, 1, 7)])
        .when(reserve(OTHER_DOC, 1, 7))
        .then_err(LeaveError::Insufficient {
            requested: Decimal::from(7),
            available: Decimal::from(6),
        });
}

#[test]
fn reserving_the_same_revision_again_changes_nothing() {
    given::<LeaveLedger>([granted(13), reserved(DOC, 1, 7)])
        .when(reserve(DOC, 1, 7))
        .then([]);
}

#[test]
fn a_resubmitted_revision_replaces_the_hold_of_the_earlier_one() {
    // Its own earlier hold counts as available to it: 13 − 7 (its own) is not the limit.
    let state = given::<LeaveLedger>([granted(13), reserved(DOC, 1, 7)])
        .when(reserve(DOC, 2, 10))
        .then([reserved(DOC, 2, 10)]);
    assert_eq!(state.available(), Decimal::from(3));
}

#[test]
fn a_release_returns_the_days_but_a_stale_release_leaves_a_newer_hold_alone() {
    let release = |revision| LeaveCommand::Release {
        employee: ALICE,
        document: DOC,
        revision,
        by: BOB,
        at: t(2),
    };
    let state = given::<LeaveLedger>([granted(13), reserved(DOC, 1, 7)])
        .when(release(1))
        .state_after();
    assert_eq!(state.available(), Decimal::from(13));
    given::<LeaveLedger>([granted(13), reserved(DOC, 1, 7), reserved(DOC, 2, 5)])
        .when(release(1))
        .then([]);
}

#[test]
fn final_approval_turns_the_hold_into_a_debit() {
    let state = given::<LeaveLedger>([granted(13), reserved(DOC, 1, 7)])
        .when(LeaveCommand::Debit {
            employee: ALICE,
            document: DOC,
            days: Decimal::from(7),
            by: BOB,
            at: t(3),
        })
        .state_after();
    assert_eq!(
        (state.balance, state.held(), state.available()),
        (Decimal::from(6), Decimal::ZERO, Decimal::from(6))
    );
}

#[test]
fn hr_cannot_adjust_below_what_pending_requests_hold() {
    given::<LeaveLedger>([granted(13), reserved(DOC, 1, 10)])
        .when(LeaveCommand::Adjust {
            employee: ALICE,
            days: Decimal::from(-4),
            reason: "정정".into(),
            by: hr(),
            at: t(2),
        })
        .then_err(LeaveError::Insufficient {
            requested: Decimal::from(4),
            available: Decimal::from(3),
        });
}

#[test]
fn rejecting_withdrawing_or_discarding_a_leave_request_releases_its_hold() {
    let leave_line = line(&[BOB]);
    let base = [
        drafted_with(&leave_form(), leave_content(Decimal::from(3)), leave_line),
        ApprovalEvent::Submitted {
            rule: None,
            authority: None,
            amount: None,
            leave_days: Some(Decimal::from(3)),
            by: ALICE,
            at: t(1),
        },
    ];
    let release = |by, at| {
        vec![FollowUp::Leave(LeaveCommand::Release {
            employee: ALICE,
            document: DOC,
            revision: 1,
            by,
            at,
        })]
    };
    let ending = [
        (rejected(0, BOB, domain::approval::RejectTarget::Drafter, 2), BOB),
        (ApprovalEvent::Withdrawn { by: ALICE, at: t(2) }, ALICE),
    ];
    for (event, by) in ending {
        let state = Approval::fold(base.iter().chain([&event]));
        assert_eq!(
            on_approval_event(state.document().unwrap(), &event, &leave_form(), kst()),
            release(by, t(2))
        );
    }
    let discarded = ApprovalEvent::DraftDiscarded { by: ALICE, at: t(2) };
    let state = Approval::fold([&base[0], &discarded]);
    assert_eq!(
        on_approval_event(state.document().unwrap(), &discarded, &leave_form(), kst()),
        release(ALICE, t(2))
    );
}

// 근태 정정: a correction document amends the drafter's day on final approval.

fn correction_content(work_day: &str, check_in: &str, check_out: &str) -> Content {
    let text = |s: &str| FieldValue::Text(s.into());
    Content {
        title: "근태 정정".into(),
        body: [
            ("work_day".to_owned(), FieldValue::Date(work_day.parse().unwrap())),
            ("check_in".to_owned(), text(check_in)),
            ("check_out".to_owned(), text(check_out)),
            ("reason".to_owned(), text("출입 게이트 고장")),
        ]
        .into(),
        attachments: Vec::new(),
    }
}

#[test]
fn final_approval_of_an_attendance_correction_amends_the_drafters_day_by_its_approver() {
    use domain::attendance::{AttendanceCommand, AttendanceDay, AttendanceEvent, Shift};
    let form = domain::form::attendance_correction_form();
    let (state, last) = finally_approved(&form, correction_content("2026-03-03", "09:00", "18:00"));
    let follow_ups = on_approval_event(state.document().unwrap(), &last, &form, kst());
    let nine_to_six = Shift::closed(
        "2026-03-03T00:00:00Z".parse().unwrap(),
        "2026-03-03T09:00:00Z".parse().unwrap(),
    );
    let correct = AttendanceCommand::Correct {
        employee: ALICE,
        day: "2026-03-03".parse().unwrap(),
        shifts: vec![nine_to_six],
        document: DOC,
        document_approved: true,
        on_final_approval: true,
        schedule: None,
        reason: "출입 게이트 고장".into(),
        by: domain::Actor::employee(BOB),
        at: t(2),
    };
    assert!(matches!(&follow_ups[0], FollowUp::Number(NumberCommand::Assign { key, .. }) if key.prefix == "ATT"));
    assert_eq!(follow_ups[1..], [FollowUp::Attendance(correct.clone())]);
    // The approver is no HR admin: the approval line is the authority for this command.
    given::<AttendanceDay>([])
        .when(correct)
        .then([AttendanceEvent::DayCorrected {
            employee: ALICE,
            day: "2026-03-03".parse().unwrap(),
            shifts: vec![nine_to_six],
            document: DOC,
            reason: "출입 게이트 고장".into(),
            by: BOB,
            at: t(2),
            schedule: None,
        }]);
}

#[test]
fn a_correction_body_needs_times_of_day_with_the_check_out_after_the_check_in() {
    let form = domain::form::attendance_correction_form();
    assert_eq!(
        form.validate(&correction_content("2026-03-03", "09:00", "18:00").body),
        Ok(())
    );
    let errors = |check_in: &str, check_out: &str| {
        form.validate(&correction_content("2026-03-03", check_in, check_out).body)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        errors("9시", "18:00"),
        ["check_in: expected a time of day (HH:MM) value"]
    );
    assert_eq!(errors("18:00", "09:00"), ["check_out: must come after check_in"]);
}
