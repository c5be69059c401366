//! Leave accrual by the Labor Standards Act, lots with expiry consumed first in first out,
//! quarter and half days, and the notices of 연차 사용 촉진.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::NaiveDate;
use domain::ids::ApprovalId;
use domain::leave::{
    accrual, accrual_schedule, days_from_hours, promotion_notices_due, service_anniversary, AccrualBasis, DueNotice,
    LeaveCommand, LeaveError, LeaveEvent, LeaveLedger, LeaveUnit, NoticeKind,
};
use domain::testkit::given;
use domain::Aggregate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use support::*;
use uuid::Uuid;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn days(n: i64) -> Decimal {
    Decimal::from(n)
}

/// `n` quarter days.
fn quarters(n: i64) -> Decimal {
    Decimal::new(n * 25, 2)
}

// The law: 근로기준법 제60조.

#[test]
fn before_a_month_of_service_nothing_has_accrued() {
    let hire = d(2026, 1, 15);
    assert_eq!(accrual(hire, d(2026, 1, 14)).days, days(0));
    assert_eq!(accrual(hire, hire).days, days(0));
    assert_eq!(accrual(hire, d(2026, 2, 14)).days, days(0));
}

#[test]
fn in_the_first_year_each_completed_month_earns_a_day() {
    let hire = d(2026, 1, 15);
    assert_eq!(accrual(hire, d(2026, 2, 15)).days, days(1));
    assert_eq!(accrual(hire, d(2026, 7, 20)).days, days(6));
}

#[test]
fn the_first_year_earns_at_most_eleven_days() {
    let hire = d(2026, 1, 15);
    assert_eq!(accrual(hire, d(2026, 12, 15)).days, days(11));
    let eve = accrual(hire, d(2027, 1, 14));
    assert_eq!((eve.years, eve.months, eve.days), (0, 11, days(11)));
}

#[test]
fn the_first_anniversary_earns_fifteen_days() {
    let at_one = accrual(d(2026, 1, 15), d(2027, 1, 15));
    assert_eq!((at_one.years, at_one.days), (1, days(15)));
    assert_eq!(accrual(d(2026, 1, 15), d(2028, 1, 14)).days, days(15));
}

#[test]
fn two_further_years_of_service_add_a_day_so_three_years_earn_sixteen() {
    let hire = d(2020, 4, 1);
    let at = |years: i32| accrual(hire, d(2020 + years, 4, 1)).days;
    assert_eq!(
        [at(2), at(3), at(4), at(5), at(7)],
        [days(15), days(16), days(16), days(17), days(18)]
    );
}

#[test]
fn annual_days_stop_at_twenty_five_from_twenty_one_years() {
    let hire = d(2000, 4, 1);
    assert_eq!(accrual(hire, d(2019, 4, 1)).days, days(24));
    assert_eq!(accrual(hire, d(2021, 4, 1)).days, days(25));
    assert_eq!(accrual(hire, d(2023, 4, 1)).days, days(25));
    assert_eq!(accrual(hire, d(2040, 4, 1)).days, days(25));
}

#[test]
fn a_hire_on_the_31st_completes_a_month_on_the_1st_after_a_short_month() {
    let hire = d(2026, 1, 31);
    assert_eq!(service_anniversary(hire, 1), d(2026, 3, 1));
    assert_eq!(service_anniversary(hire, 2), d(2026, 3, 31));
    assert_eq!(service_anniversary(hire, 3), d(2026, 5, 1));
    assert_eq!(accrual(hire, d(2026, 2, 28)).days, days(0));
    assert_eq!(accrual(hire, d(2026, 3, 1)).days, days(1));
    assert_eq!(accrual(hire, d(2026, 3, 31)).days, days(2));
    assert_eq!(accrual(hire, d(2027, 1, 31)).days, days(15));
}

#[test]
fn a_hire_on_29_february_reaches_its_anniversary_on_1_march_of_a_common_year() {
    let hire = d(2024, 2, 29);
    assert_eq!(accrual(hire, d(2025, 2, 28)).days, days(11));
    assert_eq!(accrual(hire, d(2025, 3, 1)).days, days(15));
    // 2028 is a leap year again: the anniversary falls on the day itself.
    assert_eq!(service_anniversary(hire, 48), d(2028, 2, 29));
}

#[test]
fn a_month_from_29_january_ends_in_february_only_in_a_leap_year() {
    assert_eq!(service_anniversary(d(2028, 1, 29), 1), d(2028, 2, 29));
    assert_eq!(service_anniversary(d(2027, 1, 29), 1), d(2027, 3, 1));
}

// The schedule a daily run feeds to the ledger.

#[test]
fn the_schedule_lists_eleven_monthly_days_then_the_anniversary_with_their_use_periods() {
    let due = accrual_schedule(d(2026, 1, 15), d(2026, 1, 1), d(2027, 1, 15));
    assert_eq!(due.len(), 12);
    assert_eq!(due[0].key, "2026-02-monthly-1");
    assert_eq!(due[0].on, d(2026, 2, 15));
    assert_eq!(due[1].key, "2026-03-monthly-2");
    assert_eq!(due[10].key, "2026-12-monthly-11");
    assert!(due[..11]
        .iter()
        .all(|a| a.days == days(1) && a.expires_on == d(2027, 1, 14)));
    let anniversary = &due[11];
    assert_eq!(anniversary.key, "2027-anniversary-1");
    assert_eq!(anniversary.basis, AccrualBasis::Annual { year: 1 });
    assert_eq!((anniversary.days, anniversary.expires_on), (days(15), d(2028, 1, 14)));
}

#[test]
fn a_daily_run_finds_only_that_days_accruals() {
    let hire = d(2026, 1, 15);
    let today = accrual_schedule(hire, d(2026, 3, 15), d(2026, 3, 15));
    assert_eq!(today.len(), 1);
    assert_eq!(today[0].basis, AccrualBasis::Monthly { month: 2 });
    assert!(accrual_schedule(hire, d(2026, 3, 16), d(2026, 3, 16)).is_empty());
    let third = accrual_schedule(hire, d(2029, 1, 15), d(2029, 1, 15));
    assert_eq!(third[0].key, "2029-anniversary-3");
    assert_eq!(third[0].days, days(16));
}

// Lots in the ledger.

fn accrued(key: &str, basis: AccrualBasis, n: Decimal, expires_on: NaiveDate) -> LeaveEvent {
    LeaveEvent::Accrued {
        employee: ALICE,
        key: key.into(),
        basis,
        days: n,
        expires_on,
        at: t(0),
    }
}

fn accrue(key: &str, n: Decimal, expires_on: NaiveDate) -> LeaveCommand {
    LeaveCommand::Accrue {
        employee: ALICE,
        key: key.into(),
        basis: AccrualBasis::Monthly { month: 1 },
        days: n,
        expires_on,
        at: t(0),
    }
}

/// Three monthly days to use by 2027-01-14 and the first anniversary's 15 by 2028-01-14.
fn two_lots() -> Vec<LeaveEvent> {
    vec![
        accrued(
            "2026-02-monthly-1",
            AccrualBasis::Monthly { month: 1 },
            days(3),
            d(2027, 1, 14),
        ),
        accrued(
            "2027-anniversary-1",
            AccrualBasis::Annual { year: 1 },
            days(15),
            d(2028, 1, 14),
        ),
    ]
}

#[test]
fn an_accrual_books_a_lot_usable_until_its_expiry() {
    let state = given::<LeaveLedger>([])
        .when(accrue("2026-02-monthly-1", days(1), d(2027, 1, 14)))
        .then([accrued(
            "2026-02-monthly-1",
            AccrualBasis::Monthly { month: 1 },
            days(1),
            d(2027, 1, 14),
        )]);
    assert_eq!(state.balance, days(1));
    assert_eq!(state.lot("2026-02-monthly-1").unwrap().remaining, days(1));
}

#[test]
fn booking_the_same_accrual_key_again_adds_nothing() {
    let once = accrued(
        "2026-02-monthly-1",
        AccrualBasis::Monthly { month: 1 },
        days(1),
        d(2027, 1, 14),
    );
    given::<LeaveLedger>([once])
        .when(accrue("2026-02-monthly-1", days(1), d(2027, 1, 14)))
        .then([]);
}

#[test]
fn the_same_key_with_other_days_is_refused() {
    let once = accrued(
        "2026-02-monthly-1",
        AccrualBasis::Monthly { month: 1 },
        days(1),
        d(2027, 1, 14),
    );
    given::<LeaveLedger>([once])
        .when(accrue("2026-02-monthly-1", days(2), d(2027, 1, 14)))
        .then_err(LeaveError::AccrualKeyReused {
            key: "2026-02-monthly-1".into(),
        });
}

#[test]
fn an_accrual_key_is_printable_and_short() {
    for bad in ["", "two words", &"k".repeat(101)] {
        given::<LeaveLedger>([])
            .when(accrue(bad, days(1), d(2027, 1, 14)))
            .then_err(LeaveError::InvalidKey);
    }
}

#[test]
fn scheduled_accruals_book_once_however_often_the_run_repeats() {
    let hire = d(2026, 1, 15);
    let mut ledger = LeaveLedger::default();
    // Overlapping windows, as a daily run that catches up after an outage produces.
    let runs = [
        (d(2026, 1, 1), d(2027, 1, 15)),
        (d(2026, 6, 1), d(2028, 1, 15)),
        (d(2027, 1, 15), d(2028, 1, 15)),
    ];
    for (from, to) in runs {
        for accrual in accrual_schedule(hire, from, to) {
            for event in ledger.decide(&accrual.command(ALICE, t(0))).unwrap() {
                ledger.evolve(&event);
            }
        }
    }
    // 11 monthly days, then 15 at one year and 15 at two.
    assert_eq!(ledger.balance, days(11 + 15 + 15));
    assert_eq!(ledger.lots.len(), 13);
}

// Units: 반차 and 반반차.

#[test]
fn leave_is_taken_in_days_half_days_and_quarter_days() {
    assert_eq!(LeaveUnit::Day.days(), days(1));
    assert_eq!(LeaveUnit::Half.days(), quarters(2));
    assert_eq!(LeaveUnit::Quarter.days(), quarters(1));
    assert_eq!(LeaveUnit::Quarter.minutes(), 120);
    assert_eq!(days_from_hours(2), Some(quarters(1)));
    assert_eq!(days_from_hours(12), Some(quarters(6)));
    assert_eq!(days_from_hours(3), None);
}

fn reserve(document: u128, n: Decimal) -> LeaveCommand {
    LeaveCommand::Reserve {
        employee: ALICE,
        document: ApprovalId(Uuid::from_u128(document)),
        revision: 1,
        days: n,
        by: ALICE,
        at: t(1),
    }
}

fn reserved(document: u128, n: Decimal) -> LeaveEvent {
    LeaveEvent::Reserved {
        employee: ALICE,
        document: ApprovalId(Uuid::from_u128(document)),
        revision: 1,
        days: n,
        by: ALICE,
        at: t(1),
    }
}

fn debited(document: u128, n: Decimal) -> LeaveEvent {
    LeaveEvent::Debited {
        employee: ALICE,
        document: ApprovalId(Uuid::from_u128(document)),
        days: n,
        by: BOB,
        at: t(2),
    }
}

#[test]
fn a_quarter_day_can_be_held_and_debited() {
    let state = given::<LeaveLedger>(two_lots())
        .when(reserve(1, LeaveUnit::Quarter.days()))
        .then([reserved(1, quarters(1))]);
    assert_eq!(state.available(), quarters(71));
    let state = given::<LeaveLedger>([two_lots(), vec![reserved(1, quarters(1))]].concat())
        .when(LeaveCommand::Debit {
            employee: ALICE,
            document: ApprovalId(Uuid::from_u128(1)),
            days: quarters(1),
            by: BOB,
            at: t(2),
        })
        .state_after();
    assert_eq!(state.balance, quarters(71));
}

#[test]
fn an_amount_that_is_not_a_whole_number_of_quarter_days_is_refused() {
    given::<LeaveLedger>(two_lots())
        .when(reserve(1, Decimal::new(1, 1)))
        .then_err(LeaveError::InvalidDays);
    given::<LeaveLedger>([])
        .when(accrue("k", Decimal::new(3, 1), d(2027, 1, 14)))
        .then_err(LeaveError::InvalidDays);
    // Near the top of the decimal range the amount is refused, not overflowed.
    given::<LeaveLedger>([])
        .when(accrue("k", Decimal::MAX, d(2027, 1, 14)))
        .then_err(LeaveError::InvalidDays);
}

// First in, first out; expiry.

#[test]
fn debits_consume_the_soonest_expiring_lot_first() {
    let state = LeaveLedger::fold(&[two_lots(), vec![reserved(1, days(4)), debited(1, days(4))]].concat());
    assert_eq!(state.lot("2026-02-monthly-1").unwrap().remaining, days(0));
    assert_eq!(state.lot("2027-anniversary-1").unwrap().remaining, days(14));
    assert_eq!(state.balance, days(14));
}

#[test]
fn days_granted_before_lots_never_expire_and_are_used_last() {
    let granted = LeaveEvent::Granted {
        employee: ALICE,
        year: 2026,
        days: days(15),
        by: HR,
        at: t(0),
    };
    let history = [
        granted,
        accrued(
            "2026-02-monthly-1",
            AccrualBasis::Monthly { month: 1 },
            days(3),
            d(2027, 1, 14),
        ),
        reserved(1, days(2)),
        debited(1, days(2)),
    ];
    let state = LeaveLedger::fold(&history);
    assert_eq!(state.lot("2026-02-monthly-1").unwrap().remaining, days(1));
    assert_eq!(state.pool(), days(15));
}

fn expire(key: &str, on: NaiveDate) -> LeaveCommand {
    LeaveCommand::Expire {
        employee: ALICE,
        key: key.into(),
        on,
        at: t(10),
    }
}

fn lot_expired(key: &str, n: Decimal, on: NaiveDate) -> LeaveEvent {
    LeaveEvent::LotExpired {
        employee: ALICE,
        key: key.into(),
        days: n,
        on,
        at: t(10),
    }
}

#[test]
fn expiry_removes_only_what_is_left_of_that_lot() {
    let history = [two_lots(), vec![reserved(1, days(2)), debited(1, days(2))]].concat();
    let state = given::<LeaveLedger>(history)
        .when(expire("2026-02-monthly-1", d(2027, 1, 15)))
        .then([lot_expired("2026-02-monthly-1", days(1), d(2027, 1, 15))]);
    assert_eq!((state.balance, state.expired), (days(15), days(1)));
    assert_eq!(state.lot("2027-anniversary-1").unwrap().remaining, days(15));
}

#[test]
fn a_lot_does_not_expire_on_its_last_day() {
    given::<LeaveLedger>(two_lots())
        .when(expire("2026-02-monthly-1", d(2027, 1, 14)))
        .then_err(LeaveError::NotYetExpired {
            key: "2026-02-monthly-1".into(),
            expires_on: d(2027, 1, 14),
        });
}

#[test]
fn expiring_a_lot_again_changes_nothing() {
    let history = [
        two_lots(),
        vec![lot_expired("2026-02-monthly-1", days(3), d(2027, 1, 15))],
    ]
    .concat();
    given::<LeaveLedger>(history)
        .when(expire("2026-02-monthly-1", d(2027, 1, 16)))
        .then([]);
}

#[test]
fn an_unknown_lot_cannot_expire() {
    given::<LeaveLedger>(two_lots())
        .when(expire("2030-anniversary-4", d(2031, 1, 1)))
        .then_err(LeaveError::UnknownLot {
            key: "2030-anniversary-4".into(),
        });
}

#[test]
fn expiry_leaves_what_a_pending_request_holds_until_the_hold_is_released() {
    let history = [two_lots(), vec![reserved(1, days(2))]].concat();
    let state = given::<LeaveLedger>(history.clone())
        .when(expire("2026-02-monthly-1", d(2027, 1, 15)))
        .then([lot_expired("2026-02-monthly-1", days(1), d(2027, 1, 15))]);
    assert_eq!(state.available(), days(15));
    let released = LeaveEvent::Released {
        employee: ALICE,
        document: ApprovalId(Uuid::from_u128(1)),
        revision: 1,
        days: days(2),
        by: BOB,
        at: t(11),
    };
    let after_release = [
        history,
        vec![lot_expired("2026-02-monthly-1", days(1), d(2027, 1, 15)), released],
    ]
    .concat();
    given::<LeaveLedger>(after_release)
        .when(expire("2026-02-monthly-1", d(2027, 1, 16)))
        .then([lot_expired("2026-02-monthly-1", days(2), d(2027, 1, 16))]);
}

// 연차 사용 촉진 (제61조).

/// Hired 2025-01-01: the first anniversary's 15 days are used from 2026-01-01 to 2026-12-31.
fn annual_lot() -> LeaveEvent {
    accrued(
        "2026-anniversary-1",
        AccrualBasis::Annual { year: 1 },
        days(15),
        d(2026, 12, 31),
    )
}

fn notices_on(history: &[LeaveEvent], on: NaiveDate) -> Vec<NoticeKind> {
    promotion_notices_due(&LeaveLedger::fold(history), on)
        .into_iter()
        .map(|n| n.notice)
        .collect()
}

fn notice_sent(period_end: NaiveDate, notice: NoticeKind, unused: Decimal, on: NaiveDate) -> LeaveEvent {
    LeaveEvent::PromotionNoticeSent {
        employee: ALICE,
        period_end,
        notice,
        unused,
        on,
        at: t(20),
    }
}

#[test]
fn the_request_is_due_within_ten_days_from_six_months_before_the_end_of_the_use_period() {
    let history = [annual_lot()];
    assert_eq!(notices_on(&history, d(2026, 6, 30)), vec![]);
    assert_eq!(
        promotion_notices_due(&LeaveLedger::fold(&history), d(2026, 7, 1)),
        vec![DueNotice {
            period_end: d(2026, 12, 31),
            notice: NoticeKind::Request,
            unused: days(15),
            due_from: d(2026, 7, 1),
            due_by: d(2026, 7, 10),
        }]
    );
    assert_eq!(notices_on(&history, d(2026, 7, 10)), vec![NoticeKind::Request]);
    assert_eq!(notices_on(&history, d(2026, 7, 11)), vec![]);
}

#[test]
fn the_designation_is_due_after_ten_days_to_reply_until_two_months_before_the_end() {
    let history = [
        annual_lot(),
        notice_sent(d(2026, 12, 31), NoticeKind::Request, days(15), d(2026, 7, 1)),
    ];
    assert_eq!(notices_on(&history, d(2026, 7, 11)), vec![]);
    assert_eq!(notices_on(&history, d(2026, 7, 12)), vec![NoticeKind::Designation]);
    assert_eq!(notices_on(&history, d(2026, 10, 31)), vec![NoticeKind::Designation]);
    assert_eq!(notices_on(&history, d(2026, 11, 1)), vec![]);
}

#[test]
fn no_notice_is_due_when_every_day_is_used_or_held() {
    let history = [annual_lot(), reserved(1, days(15))];
    assert_eq!(notices_on(&history, d(2026, 7, 1)), vec![]);
}

#[test]
fn company_granted_reward_leave_needs_no_notice() {
    let reward = accrued("quest-1", AccrualBasis::Reward, days(1), d(2026, 12, 31));
    assert_eq!(notices_on(std::slice::from_ref(&reward), d(2026, 7, 1)), vec![]);
    given::<LeaveLedger>([reward])
        .when(LeaveCommand::RecordNotice {
            employee: ALICE,
            period_end: d(2026, 12, 31),
            notice: NoticeKind::Request,
            on: d(2026, 7, 1),
            at: t(20),
        })
        .then_err(LeaveError::UnknownPeriod {
            period_end: d(2026, 12, 31),
        });
}

fn record(notice: NoticeKind, on: NaiveDate) -> LeaveCommand {
    LeaveCommand::RecordNotice {
        employee: ALICE,
        period_end: d(2026, 12, 31),
        notice,
        on,
        at: t(20),
    }
}

#[test]
fn a_sent_notice_is_recorded_once_with_the_unused_days_it_told() {
    let sent = notice_sent(d(2026, 12, 31), NoticeKind::Request, days(15), d(2026, 7, 1));
    given::<LeaveLedger>([annual_lot()])
        .when(record(NoticeKind::Request, d(2026, 7, 1)))
        .then([sent.clone()]);
    given::<LeaveLedger>([annual_lot(), sent])
        .when(record(NoticeKind::Request, d(2026, 7, 2)))
        .then([]);
}

#[test]
fn a_designation_before_any_request_is_refused() {
    given::<LeaveLedger>([annual_lot()])
        .when(record(NoticeKind::Designation, d(2026, 7, 20)))
        .then_err(LeaveError::NoticeOutOfOrder {
            notice: NoticeKind::Designation,
        });
}

#[test]
fn first_year_leave_is_asked_about_three_months_before_the_first_anniversary() {
    // Hired 2026-01-15: monthly days are used by 2027-01-14; months 1..=9 have arisen by the
    // request window (2026-10-15..24), months 10 and 11 arise after it.
    let hire = d(2026, 1, 15);
    let end = d(2027, 1, 14);
    let mut ledger = LeaveLedger::default();
    let book = |ledger: &mut LeaveLedger, to: NaiveDate, minute: i64| {
        for accrual in accrual_schedule(hire, hire, to) {
            for event in ledger.decide(&accrual.command(ALICE, t(minute))).unwrap() {
                ledger.evolve(&event);
            }
        }
    };
    book(&mut ledger, d(2026, 10, 15), 0);
    assert_eq!(
        promotion_notices_due(&ledger, d(2026, 10, 15)),
        vec![DueNotice {
            period_end: end,
            notice: NoticeKind::Request,
            unused: days(9),
            due_from: d(2026, 10, 15),
            due_by: d(2026, 10, 24),
        }]
    );
    let request = ledger
        .decide(&LeaveCommand::RecordNotice {
            employee: ALICE,
            period_end: end,
            notice: NoticeKind::Request,
            on: d(2026, 10, 15),
            at: t(20),
        })
        .unwrap();
    ledger.evolve(&request[0]);
    book(&mut ledger, d(2026, 12, 15), 30);
    // The designation for the first days was due by one month before the end; the two days
    // that arose after the request get their own request within five days from then.
    let due = |on| {
        promotion_notices_due(&ledger, on)
            .into_iter()
            .map(|n| (n.notice, n.unused, n.due_by))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        due(d(2026, 12, 14)),
        vec![(NoticeKind::Designation, days(11), d(2026, 12, 14))]
    );
    assert_eq!(
        due(d(2026, 12, 15)),
        vec![(NoticeKind::LateRequest, days(2), d(2026, 12, 19))]
    );
    let late = ledger
        .decide(&LeaveCommand::RecordNotice {
            employee: ALICE,
            period_end: end,
            notice: NoticeKind::LateRequest,
            on: d(2026, 12, 15),
            at: t(40),
        })
        .unwrap();
    assert!(matches!(&late[..], [LeaveEvent::PromotionNoticeSent { unused, .. }] if *unused == days(2)));
    ledger.evolve(&late[0]);
    let due = promotion_notices_due(&ledger, d(2026, 12, 26));
    assert_eq!(
        due.iter().map(|n| (n.notice, n.due_by)).collect::<Vec<_>>(),
        vec![(NoticeKind::LateDesignation, d(2027, 1, 4))]
    );
}

// Properties.

#[derive(Debug, Clone)]
enum Op {
    Accrue { key: u8, quarters: i64, expires: u32 },
    Reserve { doc: u8, quarters: i64 },
    Release { doc: u8 },
    Debit { doc: u8 },
    Expire { key: u8, on: u32 },
    Adjust { quarters: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..6, 1i64..80, 0u32..400).prop_map(|(key, quarters, expires)| Op::Accrue { key, quarters, expires }),
        3 => (0u8..4, 1i64..60).prop_map(|(doc, quarters)| Op::Reserve { doc, quarters }),
        1 => (0u8..4).prop_map(|doc| Op::Release { doc }),
        2 => (0u8..4).prop_map(|doc| Op::Debit { doc }),
        2 => (0u8..6, 0u32..500).prop_map(|(key, on)| Op::Expire { key, on }),
        1 => (-40i64..40).prop_map(|quarters| Op::Adjust { quarters }),
    ]
}

fn day(n: u32) -> NaiveDate {
    d(2026, 1, 1) + chrono::Days::new(u64::from(n))
}

fn doc(n: u8) -> ApprovalId {
    ApprovalId(Uuid::from_u128(1000 + u128::from(n)))
}

/// The command for `op` against `state`; a debit is only ever issued for a document that
/// holds days (final approval follows the 상신 that placed the hold).
fn command_for(op: &Op, state: &LeaveLedger, minute: i64) -> Option<LeaveCommand> {
    let at = t(minute);
    Some(match op {
        Op::Accrue { key, quarters, expires } => LeaveCommand::Accrue {
            employee: ALICE,
            key: format!("k{key}"),
            basis: AccrualBasis::Annual { year: 1 },
            days: Decimal::new(quarters * 25, 2),
            expires_on: day(*expires),
            at,
        },
        Op::Reserve { doc: n, quarters } => LeaveCommand::Reserve {
            employee: ALICE,
            document: doc(*n),
            revision: state.holds.get(&doc(*n)).map_or(1, |h| h.revision + 1),
            days: Decimal::new(quarters * 25, 2),
            by: ALICE,
            at,
        },
        Op::Release { doc: n } => LeaveCommand::Release {
            employee: ALICE,
            document: doc(*n),
            revision: state.holds.get(&doc(*n))?.revision,
            by: BOB,
            at,
        },
        Op::Debit { doc: n } => LeaveCommand::Debit {
            employee: ALICE,
            document: doc(*n),
            days: state.holds.get(&doc(*n))?.days,
            by: BOB,
            at,
        },
        Op::Expire { key, on } => LeaveCommand::Expire {
            employee: ALICE,
            key: format!("k{key}"),
            on: day(*on),
            at,
        },
        Op::Adjust { quarters } => LeaveCommand::Adjust {
            employee: ALICE,
            days: Decimal::new(quarters * 25, 2),
            reason: "정정".into(),
            by: actor(HR).with_role(domain::Role::HrAdmin),
            at,
        },
    })
}

fn run(ops: &[Op]) -> Result<LeaveLedger, TestCaseError> {
    let mut state = LeaveLedger::default();
    let mut log = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Some(command) = command_for(op, &state, i as i64) else {
            continue;
        };
        let Ok(events) = state.decide(&command) else {
            continue;
        };
        for event in &events {
            state.evolve(event);
            log.push(event.clone());
        }
        prop_assert!(
            state.balance >= Decimal::ZERO,
            "balance {} after {:?}",
            state.balance,
            op
        );
        prop_assert!(state.available() >= Decimal::ZERO, "available after {:?}", op);
        prop_assert!(state.pool() >= Decimal::ZERO, "pool after {:?}", op);
        for lot in &state.lots {
            prop_assert!(lot.remaining >= Decimal::ZERO && lot.remaining <= lot.days);
        }
        prop_assert!(state.free_by_lot().iter().all(|f| *f >= Decimal::ZERO));
    }
    prop_assert_eq!(&LeaveLedger::fold(&log), &state, "folding the log rebuilds the state");
    Ok(state)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn the_balance_never_goes_negative_whatever_the_order_of_accruals_holds_debits_and_expiries(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        run(&ops)?;
    }

    #[test]
    fn accrual_is_idempotent_by_key(ops in proptest::collection::vec(op(), 1..40)) {
        // Every accrual delivered twice books what delivering it once does.
        let twice: Vec<Op> = ops
            .iter()
            .flat_map(|op| match op {
                Op::Accrue { .. } => vec![op.clone(), op.clone()],
                _ => vec![op.clone()],
            })
            .collect();
        let once = run(&ops)?;
        let again = run(&twice)?;
        prop_assert_eq!(once.balance, again.balance);
        prop_assert_eq!(once.lots.len(), again.lots.len());
    }

    #[test]
    fn the_schedule_books_what_the_law_entitles(hire in 0u32..20_000, later in 0u32..12_000) {
        let hire = d(1990, 1, 1) + chrono::Days::new(u64::from(hire));
        let on = hire + chrono::Days::new(u64::from(later));
        let entitled = accrual(hire, on);
        let booked = accrual_schedule(hire, hire, on);
        if entitled.years == 0 {
            prop_assert_eq!(booked.iter().map(|a| a.days).sum::<Decimal>(), entitled.days);
        } else {
            prop_assert_eq!(booked.last().map(|a| a.days), Some(entitled.days));
            prop_assert_eq!(booked.len() as u32, 11 + entitled.years);
        }
        let keys: std::collections::BTreeSet<_> = booked.iter().map(|a| a.key.clone()).collect();
        prop_assert_eq!(keys.len(), booked.len(), "keys are unique");
    }
}
