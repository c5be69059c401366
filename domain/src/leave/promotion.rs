//! 연차 사용 촉진 — leave-use promotion (근로기준법 제61조). An employer who asks in writing,
//! on the Act's schedule, that unused statutory leave be taken, and then designates the days
//! when the employee does not choose, owes no pay for the leave that still expires unused.
//!
//! Annual leave (제61조제1항), for a use period ending at the end of day `E` (`end` = `E`+1):
//! 1. [`NoticeKind::Request`]: within 10 days from 6 months before `end`, tell the unused days
//!    and ask the employee to choose when to use them;
//! 2. [`NoticeKind::Designation`]: when they have not chosen within 10 days of the request,
//!    designate the days, no later than 2 months before `end`.
//!
//! First-year monthly leave (제61조제2항) on the same pattern at 3 months (request) and 1 month
//! (designation) before the end of the first year; leave arising after the request gets its own
//! request within 5 days from 1 month before the end ([`NoticeKind::LateRequest`]) and
//! designation no later than 10 days before it ([`NoticeKind::LateDesignation`]).
//!
//! Whether the employee chose days in time is not in the ledger: the runtime sends the
//! designation only to those who did not, and records each notice it sent.

use super::notice::NoticeKind;
use super::LeaveLedger;
use chrono::{Days, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A notice due: send it between `due_from` and `due_by` (inclusive) to count under 제61조.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueNotice {
    /// The last day of the use period.
    pub period_end: NaiveDate,
    pub notice: NoticeKind,
    /// Unused days to tell: what the period's lots hold beyond pending requests.
    pub unused: Decimal,
    pub due_from: NaiveDate,
    pub due_by: NaiveDate,
}

/// Days the employee has this long to choose before the employer designates.
const REPLY_DAYS: u64 = 10;

fn minus_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN)
}

fn plus_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(NaiveDate::MAX)
}

fn minus_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days)).unwrap_or(NaiveDate::MIN)
}

/// The 사용 촉진 notices due on `on` (company-local) and not yet sent, for every use period with
/// unused statutory leave.
pub fn promotion_notices_due(ledger: &LeaveLedger, on: NaiveDate) -> Vec<DueNotice> {
    let periods: BTreeSet<NaiveDate> = ledger
        .lots
        .iter()
        .filter(|l| l.basis.is_statutory())
        .map(|l| l.expires_on)
        .collect();
    let mut due = Vec::new();
    for period_end in periods {
        let end = plus_days(period_end, 1);
        let first_year = ledger
            .lots
            .iter()
            .any(|l| l.expires_on == period_end && matches!(l.basis, super::AccrualBasis::Monthly { .. }));
        let sent = |kind| ledger.notice_sent(period_end, kind).map(|n| n.on);
        let reply_ends = |kind| sent(kind).map(|s| plus_days(s, REPLY_DAYS + 1));
        let (request_months, designation_by) = if first_year {
            (3, minus_days(minus_months(end, 1), 1))
        } else {
            (6, minus_days(minus_months(end, 2), 1))
        };
        let request_from = minus_months(end, request_months);
        let mut windows = vec![(NoticeKind::Request, Some(request_from), plus_days(request_from, 9))];
        windows.push((NoticeKind::Designation, reply_ends(NoticeKind::Request), designation_by));
        if first_year && sent(NoticeKind::Request).is_some() {
            let late_from = minus_months(end, 1);
            windows.push((NoticeKind::LateRequest, Some(late_from), plus_days(late_from, 4)));
            windows.push((
                NoticeKind::LateDesignation,
                reply_ends(NoticeKind::LateRequest),
                minus_days(end, 11),
            ));
        }
        for (notice, from, by) in windows {
            let Some(from) = from else { continue };
            if sent(notice).is_some() || on < from || on > by {
                continue;
            }
            let unused = super::ledger::unused_in_period(ledger, period_end, notice).unwrap_or_default();
            if unused > Decimal::ZERO {
                due.push(DueNotice {
                    period_end,
                    notice,
                    unused,
                    due_from: from,
                    due_by: by,
                });
            }
        }
    }
    due
}
