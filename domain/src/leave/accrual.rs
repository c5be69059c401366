//! What the Labor Standards Act (근로기준법 제60조) entitles an employee to, and when.
//!
//! - First year (제60조제2항): one day for each completed month of service, at most 11.
//! - At the first anniversary (제60조제1항): 15 days.
//! - From the third year (제60조제4항): one more day for every two years of service beyond the
//!   first, at most 25 days: 16 at three years, 17 at five, 25 from twenty-one.
//!
//! The attendance condition of 제60조제1항 (80% of the year worked) is assumed met: an HR
//! adjustment corrects the rare year it is not.
//!
//! Periods of service are counted by the Civil Act (민법 제160조): service that starts on the
//! 31st completes a month at the end of the last day of a month without a 31st, so the leave
//! arises on the 1st of the next month; a hire on 29 February reaches its anniversaries on
//! 1 March of common years.
//!
//! Use periods: first-year monthly days may be used until the end of the first year (제60조
//! 제7항 단서); annual days for one year from their anniversary (제60조제7항 본문).

use super::AccrualBasis;
use chrono::{Datelike, Days, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The most annual days the Act gives (제60조제4항).
pub const MAX_ANNUAL_DAYS: u32 = 25;

/// Monthly days in the first year (the twelfth month is the anniversary's 15 days).
const FIRST_YEAR_MONTHS: u32 = 11;

/// The day service starting on `hire` has lasted `months` whole months: the same day of the
/// month `months` later or, when that month is too short, the 1st of the month after.
pub fn service_anniversary(hire: NaiveDate, months: u32) -> NaiveDate {
    let Some(first) = hire.with_day(1).and_then(|d| d.checked_add_months(Months::new(months))) else {
        return NaiveDate::MAX;
    };
    first
        .with_day(hire.day())
        .unwrap_or_else(|| first.checked_add_months(Months::new(1)).unwrap_or(NaiveDate::MAX))
}

/// Whole months of service on `on` (0 before the hire date).
pub fn completed_months(hire: NaiveDate, on: NaiveDate) -> u32 {
    if on < hire {
        return 0;
    }
    let span = (on.year() - hire.year()) * 12 + on.month() as i32 - hire.month() as i32;
    let mut months = u32::try_from(span).unwrap_or(0);
    while months > 0 && service_anniversary(hire, months) > on {
        months -= 1;
    }
    while service_anniversary(hire, months + 1) <= on {
        months += 1;
    }
    months
}

/// What the Act entitles an employee to on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    /// Whole years of service.
    pub years: u32,
    /// Whole months of service.
    pub months: u32,
    /// In the first year, the monthly days accrued so far (≤ 11); from the first anniversary,
    /// the days of the current service year (15..=25).
    pub days: Decimal,
}

/// Annual days at `years` whole years of service (`years ≥ 1`).
fn annual_days(years: u32) -> u32 {
    (15 + years.saturating_sub(1) / 2).min(MAX_ANNUAL_DAYS)
}

/// The entitlement of an employee hired on `hire_date`, on `on`.
pub fn accrual(hire_date: NaiveDate, on: NaiveDate) -> Entitlement {
    let months = completed_months(hire_date, on);
    let years = months / 12;
    let days = if years == 0 {
        months.min(FIRST_YEAR_MONTHS)
    } else {
        annual_days(years)
    };
    Entitlement {
        years,
        months,
        days: Decimal::from(days),
    }
}

/// One accrual falling due, ready to book with [`super::LeaveCommand::Accrue`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accrual {
    /// `2026-03-monthly-2` (month 2 of service, due in March 2026) or `2027-anniversary-1`.
    pub key: String,
    pub basis: AccrualBasis,
    /// The day it arises.
    pub on: NaiveDate,
    pub days: Decimal,
    /// The last day it may be used.
    pub expires_on: NaiveDate,
}

impl Accrual {
    /// The ledger command that books it.
    pub fn command(&self, employee: crate::ids::EmployeeId, at: chrono::DateTime<chrono::Utc>) -> super::LeaveCommand {
        super::LeaveCommand::Accrue {
            employee,
            key: self.key.clone(),
            basis: self.basis,
            days: self.days,
            expires_on: self.expires_on,
            at,
        }
    }
}

fn day_before(date: NaiveDate) -> NaiveDate {
    date.checked_sub_days(Days::new(1)).unwrap_or(date)
}

/// Every accrual of an employee hired on `hire_date` that arises from `from` to `to`
/// inclusive, in date order. A daily run passes the same day twice (or any window that
/// overlaps earlier runs): the keys make booking them again harmless.
pub fn accrual_schedule(hire_date: NaiveDate, from: NaiveDate, to: NaiveDate) -> Vec<Accrual> {
    let mut due = Vec::new();
    if to < from {
        return due;
    }
    let first_year_ends = day_before(service_anniversary(hire_date, 12));
    for month in 1..=FIRST_YEAR_MONTHS {
        let on = service_anniversary(hire_date, month);
        if on > to {
            return due;
        }
        if on >= from {
            due.push(Accrual {
                key: format!("{:04}-{:02}-monthly-{month}", on.year(), on.month()),
                basis: AccrualBasis::Monthly { month },
                on,
                days: Decimal::ONE,
                expires_on: first_year_ends,
            });
        }
    }
    // Anniversaries before the one `from` has reached are all earlier than `from`.
    let first = (completed_months(hire_date, from) / 12).max(1);
    for year in first.. {
        let on = service_anniversary(hire_date, year.saturating_mul(12));
        if on > to || on == NaiveDate::MAX {
            break;
        }
        if on >= from {
            due.push(Accrual {
                key: format!("{:04}-anniversary-{year}", on.year()),
                basis: AccrualBasis::Annual { year },
                on,
                days: Decimal::from(annual_days(year)),
                expires_on: day_before(service_anniversary(hire_date, (year + 1).saturating_mul(12))),
            });
        }
    }
    due
}
