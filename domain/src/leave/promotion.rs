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

use super::{LeaveLedger, Lot};
use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The notices of 제61조.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 사용 시기 지정 촉구: the unused days, and a request to choose when to use them.
    Request,
    /// 사용 시기 지정 통보: the employer designates when.
    Designation,
    /// First-year leave that arose after the request: its own request.
    LateRequest,
    /// First-year leave that arose after the request: its own designation.
    LateDesignation,
}

impl NoticeKind {
    /// The notice that must have gone out before this one.
    pub fn follows(self) -> Option<NoticeKind> {
        match self {
            Self::Request => None,
            Self::Designation | Self::LateRequest => Some(Self::Request),
            Self::LateDesignation => Some(Self::LateRequest),
        }
    }

    fn is_late(self) -> bool {
        matches!(self, Self::LateRequest | Self::LateDesignation)
    }
}

/// A notice the ledger recorded as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentNotice {
    pub period_end: NaiveDate,
    pub notice: NoticeKind,
    pub unused: Decimal,
    /// Company-local date it was sent.
    pub on: NaiveDate,
    pub at: DateTime<Utc>,
}

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

/// The statutory lots of the period ending on `period_end` that `notice` speaks of, with their
/// free days; `None` when no statutory lot ends that day.
fn period_lots(ledger: &LeaveLedger, period_end: NaiveDate, notice: NoticeKind) -> Option<Vec<(&Lot, Decimal)>> {
    let free = ledger.free_by_lot();
    let in_period: Vec<(&Lot, Decimal)> = ledger
        .lots
        .iter()
        .zip(free)
        .filter(|(lot, _)| lot.basis.is_statutory() && lot.expires_on == period_end)
        .collect();
    if in_period.is_empty() {
        return None;
    }
    let request_at = ledger.notice_sent(period_end, NoticeKind::Request).map(|n| n.at);
    Some(
        in_period
            .into_iter()
            .filter(|(lot, _)| !lot.expired)
            .filter(|(lot, _)| !notice.is_late() || request_at.is_some_and(|at| lot.accrued_at > at))
            .collect(),
    )
}

/// Unused days a notice for that period would tell (`None`: no statutory lot ends then).
pub(super) fn unused_in_period(ledger: &LeaveLedger, period_end: NaiveDate, notice: NoticeKind) -> Option<Decimal> {
    period_lots(ledger, period_end, notice).map(|lots| lots.iter().map(|(_, free)| *free).sum())
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
            let unused = unused_in_period(ledger, period_end, notice).unwrap_or_default();
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
