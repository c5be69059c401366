//! The leave ledger (연차 원장): one stream per employee. The balance is a fold of grants,
//! debits and adjustments, never a stored number.
//!
//! - A yearly grant (15 days by default), at most once per year.
//! - A hold (예약) when a leave request is submitted (상신): the days leave the available
//!   balance at once, so however many requests are pending they never add up to more than
//!   the balance. The hold is released when the request is rejected, withdrawn or discarded
//!   and turned into a debit at final approval.
//! - A debit when a leave document is finally approved (the [`crate::process`] manager issues
//!   it); debiting the same document twice changes nothing, so retries are safe.
//! - Manual adjustments by HR, with a reason; never below what pending requests hold.
//!
//! - Accruals by the Labor Standards Act (근로기준법 제60조), keyed so that re-running the daily
//!   schedule adds nothing: [`accrual`] says what the law entitles, [`accrual_schedule`] lists
//!   the accruals falling due, [`LeaveCommand::Accrue`] books one as a *lot* with its expiry.
//!   The yearly grant predates accrual: a ledger fed by the schedule takes no yearly grant, or
//!   the same leave would count twice.
//! - Lots are consumed soonest-expiring first (for statutory accruals that is first in, first
//!   out); days granted before lots existed (`leave.granted`, positive adjustments) form a pool
//!   without expiry that is consumed last. Expiry ([`LeaveCommand::Expire`]) removes only what is
//!   left of one lot and never what pending requests hold.
//! - 연차 사용 촉진 (제61조): [`promotion_notices_due`] says which notices are due on a date;
//!   [`LeaveCommand::RecordNotice`] records one as sent, once.
//! - Leave is taken in days, 반차 (half days) and 반반차 (quarter days): every amount is a
//!   multiple of [`QUARTER_DAY`] ([`LeaveUnit`]).
//!
//! Invariant: `balance >= held` (available days are never negative), whatever the order of
//! commands.

use crate::actor::Actor;
use crate::aggregate::EventType;
use crate::ids::{ApprovalId, EmployeeId};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

mod accrual;
mod ledger;
mod notice;
mod promotion;

pub use accrual::{
    accrual, accrual_schedule, completed_months, service_anniversary, Accrual, Entitlement, MAX_ANNUAL_DAYS,
};
pub use ledger::{Hold, LeaveLedger};
pub use notice::{NoticeKind, SentNotice};
pub use promotion::{promotion_notices_due, DueNotice};

/// Days granted per year unless HR says otherwise.
pub const DEFAULT_ANNUAL_DAYS: Decimal = Decimal::from_parts(15, 0, 0, false, 0);

/// The smallest amount of leave: 반반차, a quarter day (two hours of an eight-hour day).
pub const QUARTER_DAY: Decimal = Decimal::from_parts(25, 0, 0, false, 2);

/// Working hours in one day of leave.
pub const HOURS_PER_DAY: u32 = 8;

/// Longest accrual key (quest rewards use `quest-<uuid>-<uuid>`, 79 characters).
pub const MAX_KEY_LEN: usize = 100;

/// The units leave is taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveUnit {
    /// 연차: a whole day.
    Day,
    /// 반차: half a day (four hours).
    Half,
    /// 반반차: a quarter day (two hours).
    Quarter,
}

impl LeaveUnit {
    /// The unit in days: 1, 0.5 or 0.25.
    pub const fn days(self) -> Decimal {
        match self {
            Self::Day => Decimal::ONE,
            Self::Half => Decimal::from_parts(5, 0, 0, false, 1),
            Self::Quarter => QUARTER_DAY,
        }
    }

    /// The working minutes the unit covers (480, 240 or 120).
    pub const fn minutes(self) -> u32 {
        match self {
            Self::Day => HOURS_PER_DAY * 60,
            Self::Half => HOURS_PER_DAY * 30,
            Self::Quarter => HOURS_PER_DAY * 15,
        }
    }
}

/// `hours` of leave in days, when they are a whole number of quarter days (2 hours each).
pub fn days_from_hours(hours: u32) -> Option<Decimal> {
    hours
        .is_multiple_of(HOURS_PER_DAY / 4)
        .then(|| (Decimal::from(hours) / Decimal::from(HOURS_PER_DAY)).normalize())
}

/// Checks that `days` is a positive whole number of quarter days, at most a year's worth.
pub fn quarter_days(days: Decimal) -> Result<Decimal, LeaveError> {
    in_quarter_days(days, true)
}

/// `days` as a whole number of quarter days within a year (positive when `positive`).
fn in_quarter_days(days: Decimal, positive: bool) -> Result<Decimal, LeaveError> {
    // The range first: scaling a value near the top of the decimal range would overflow.
    let ok = !days.is_zero()
        && days.abs() <= Decimal::from(365)
        && days.checked_div(QUARTER_DAY).is_some_and(|q| q.fract().is_zero())
        && (!positive || days.is_sign_positive());
    if ok {
        Ok(days.normalize())
    } else {
        Err(LeaveError::InvalidDays)
    }
}

/// Why a lot was accrued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccrualBasis {
    /// 제60조제2항: one day per completed month in the first year (`month` 1..=11).
    Monthly { month: u32 },
    /// 제60조제1항·제4항: the annual days at the `year`-th anniversary of hire.
    Annual { year: u32 },
    /// Company-granted leave (a quest reward); not statutory, so 사용 촉진 does not apply.
    Reward,
}

impl AccrualBasis {
    /// Statutory leave (월차·연차), which the Act's 사용 촉진 covers.
    pub fn is_statutory(self) -> bool {
        !matches!(self, Self::Reward)
    }
}

/// One accrual and what is left of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub key: String,
    pub basis: AccrualBasis,
    pub days: Decimal,
    /// What debits, negative adjustments and expiry have not taken yet.
    pub remaining: Decimal,
    /// The last day the lot may be used.
    pub expires_on: NaiveDate,
    pub accrued_at: DateTime<Utc>,
    /// An expiry has been booked against the lot (days pending requests held may remain).
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LeaveCommand {
    Grant {
        employee: EmployeeId,
        year: i32,
        days: Decimal,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Issued by the process manager after final approval of a leave document.
    Debit {
        employee: EmployeeId,
        document: ApprovalId,
        days: Decimal,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    Adjust {
        employee: EmployeeId,
        days: Decimal,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Holds the days of a submitted request (revision `revision` of `document`), replacing
    /// any hold of an earlier revision of the same document. Issued by the drafter's 상신.
    Reserve {
        employee: EmployeeId,
        document: ApprovalId,
        revision: u32,
        days: Decimal,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// Releases the hold of that revision, if it is still the document's hold (a late release
    /// of an old revision leaves a newer hold alone).
    Release {
        employee: EmployeeId,
        document: ApprovalId,
        revision: u32,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// Books one accrual as a lot. Issued by the daily accrual schedule and by process managers
    /// (quest rewards), never by a person. The same key with the same content again changes
    /// nothing, so the schedule may be re-run; the same key with other content is refused.
    Accrue {
        employee: EmployeeId,
        key: String,
        basis: AccrualBasis,
        days: Decimal,
        expires_on: NaiveDate,
        at: DateTime<Utc>,
    },
    /// Expires what is left of the lot `key`, except what pending requests hold. `on` is the
    /// company-local date of the run; it must be after the lot's last day. Expiring a lot with
    /// nothing left changes nothing, so the run may repeat (and a hold released after an
    /// expiry is expired by the next run).
    Expire {
        employee: EmployeeId,
        key: String,
        on: NaiveDate,
        at: DateTime<Utc>,
    },
    /// Records that the 사용 촉진 notice `notice` for the statutory leave ending on
    /// `period_end` was sent on `on` (company-local). Recording it again changes nothing.
    RecordNotice {
        employee: EmployeeId,
        period_end: NaiveDate,
        notice: NoticeKind,
        on: NaiveDate,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LeaveEvent {
    #[serde(rename = "leave.granted")]
    Granted {
        employee: EmployeeId,
        year: i32,
        days: Decimal,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "leave.debited")]
    Debited {
        employee: EmployeeId,
        document: ApprovalId,
        days: Decimal,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "leave.adjusted")]
    Adjusted {
        employee: EmployeeId,
        days: Decimal,
        reason: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "leave.reserved")]
    Reserved {
        employee: EmployeeId,
        document: ApprovalId,
        revision: u32,
        days: Decimal,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "leave.released")]
    Released {
        employee: EmployeeId,
        document: ApprovalId,
        revision: u32,
        /// The days the hold gave back.
        days: Decimal,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    /// A lot: `days` usable until `expires_on` inclusive.
    #[serde(rename = "leave.accrued")]
    Accrued {
        employee: EmployeeId,
        key: String,
        basis: AccrualBasis,
        days: Decimal,
        expires_on: NaiveDate,
        at: DateTime<Utc>,
    },
    /// `days` of lot `key` expired unused.
    #[serde(rename = "leave.lot_expired")]
    LotExpired {
        employee: EmployeeId,
        key: String,
        days: Decimal,
        on: NaiveDate,
        at: DateTime<Utc>,
    },
    /// A 사용 촉진 notice went out, telling the employee of `unused` days.
    #[serde(rename = "leave.promotion_notice_sent")]
    PromotionNoticeSent {
        employee: EmployeeId,
        period_end: NaiveDate,
        notice: NoticeKind,
        unused: Decimal,
        on: NaiveDate,
        at: DateTime<Utc>,
    },
}

impl EventType for LeaveEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Granted { .. } => "leave.granted",
            Self::Debited { .. } => "leave.debited",
            Self::Adjusted { .. } => "leave.adjusted",
            Self::Reserved { .. } => "leave.reserved",
            Self::Released { .. } => "leave.released",
            Self::Accrued { .. } => "leave.accrued",
            Self::LotExpired { .. } => "leave.lot_expired",
            Self::PromotionNoticeSent { .. } => "leave.promotion_notice_sent",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaveError {
    /// 403
    #[error("only an HR admin may grant or adjust leave")]
    NotHrAdmin,
    /// 409
    #[error("leave for {year} was already granted")]
    AlreadyGranted { year: i32 },
    /// 422: grants, holds, debits and accruals are positive, in quarter days (반반차);
    /// adjustments non-zero.
    #[error("days must be a non-zero multiple of 0.25 within ±365")]
    InvalidDays,
    /// 422
    #[error("an adjustment needs a reason")]
    ReasonRequired,
    /// 422: a ledger belongs to one employee.
    #[error("this ledger belongs to another employee")]
    WrongEmployee,
    /// 422: the request (or the adjustment) would take more days than are available.
    #[error("requested {requested} leave days but only {available} are available")]
    Insufficient { requested: Decimal, available: Decimal },
    /// 422: 1..=100 printable ASCII characters.
    #[error("an accrual key must be 1..=100 printable ASCII characters without spaces")]
    InvalidKey,
    /// 409: a key names one accrual; booking other days or another expiry under it is a bug
    /// in the caller, not a retry.
    #[error("accrual {key} was booked with other days or another expiry")]
    AccrualKeyReused { key: String },
    /// 404
    #[error("no lot {key} in this ledger")]
    UnknownLot { key: String },
    /// 409: a lot expires after its last day.
    #[error("lot {key} may be used until {expires_on}")]
    NotYetExpired { key: String, expires_on: NaiveDate },
    /// 404: no statutory lot ends on that day.
    #[error("no statutory leave ends on {period_end}")]
    UnknownPeriod { period_end: NaiveDate },
    /// 409: the employer designates (second notice) only after asking (first notice).
    #[error("the {notice:?} notice follows the request notice, which was not sent")]
    NoticeOutOfOrder { notice: NoticeKind },
}

impl crate::Refusal for LeaveError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use LeaveError as E;
        match self {
            E::NotHrAdmin => (Forbidden, "not_hr_admin"),
            E::AlreadyGranted { .. } => (Conflict, "leave_already_granted"),
            E::InvalidDays => (Invalid, "invalid_days"),
            E::ReasonRequired => (Invalid, "reason_required"),
            E::WrongEmployee => (Invalid, "wrong_employee"),
            E::Insufficient { .. } => (Invalid, "insufficient_leave"),
            E::InvalidKey => (Invalid, "invalid_accrual_key"),
            E::AccrualKeyReused { .. } => (Conflict, "accrual_key_reused"),
            E::UnknownLot { .. } => (NotFound, "lot_not_found"),
            E::NotYetExpired { .. } => (Conflict, "lot_not_yet_expired"),
            E::UnknownPeriod { .. } => (NotFound, "leave_period_not_found"),
            E::NoticeOutOfOrder { .. } => (Conflict, "notice_out_of_order"),
        }
    }
}
