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
//! Invariant: `balance >= held` (available days are never negative), whatever the order of
//! commands.

use crate::actor::{Actor, Role};
use crate::aggregate::{Aggregate, EventType};
use crate::ids::{ApprovalId, EmployeeId};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Days granted per year unless HR says otherwise.
pub const DEFAULT_ANNUAL_DAYS: Decimal = Decimal::from_parts(15, 0, 0, false, 0);

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
}

impl EventType for LeaveEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Granted { .. } => "leave.granted",
            Self::Debited { .. } => "leave.debited",
            Self::Adjusted { .. } => "leave.adjusted",
            Self::Reserved { .. } => "leave.reserved",
            Self::Released { .. } => "leave.released",
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
    /// 422: grants and debits are positive, in half days; adjustments non-zero.
    #[error("days must be a non-zero multiple of 0.5 within ±365")]
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
        }
    }
}

/// A pending request's hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub revision: u32,
    pub days: Decimal,
}

/// One employee's ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveLedger {
    pub employee: Option<EmployeeId>,
    pub balance: Decimal,
    pub granted_years: BTreeSet<i32>,
    pub debits: BTreeMap<ApprovalId, Decimal>,
    pub used: Decimal,
    /// Pending requests' holds, by document.
    #[serde(default)]
    pub holds: BTreeMap<ApprovalId, Hold>,
}

fn half_days(days: Decimal, positive: bool) -> Result<Decimal, LeaveError> {
    let ok = !days.is_zero()
        && (days * Decimal::TWO).fract().is_zero()
        && days.abs() <= Decimal::from(365)
        && (!positive || days.is_sign_positive());
    if ok {
        Ok(days.normalize())
    } else {
        Err(LeaveError::InvalidDays)
    }
}

impl LeaveLedger {
    /// Days held by pending requests.
    pub fn held(&self) -> Decimal {
        self.holds.values().map(|h| h.days).sum()
    }

    /// Days a new request may take: the balance less what pending requests hold.
    pub fn available(&self) -> Decimal {
        self.balance - self.held()
    }

    /// Days available to `document`'s request: its own hold counts as available to it.
    pub fn available_to(&self, document: ApprovalId) -> Decimal {
        self.available() + self.holds.get(&document).map_or(Decimal::ZERO, |h| h.days)
    }

    fn owner(&self, employee: EmployeeId) -> Result<(), LeaveError> {
        match self.employee {
            Some(owner) if owner != employee => Err(LeaveError::WrongEmployee),
            _ => Ok(()),
        }
    }
}

impl Aggregate for LeaveLedger {
    type Command = LeaveCommand;
    type Event = LeaveEvent;
    type Error = LeaveError;

    fn decide(&self, command: &LeaveCommand) -> Result<Vec<LeaveEvent>, LeaveError> {
        match command {
            LeaveCommand::Grant {
                employee,
                year,
                days,
                by,
                at,
            } => {
                if !by.has(Role::HrAdmin) {
                    return Err(LeaveError::NotHrAdmin);
                }
                self.owner(*employee)?;
                if self.granted_years.contains(year) {
                    return Err(LeaveError::AlreadyGranted { year: *year });
                }
                let days = half_days(*days, true)?;
                Ok(vec![LeaveEvent::Granted {
                    employee: *employee,
                    year: *year,
                    days,
                    by: by.id,
                    at: *at,
                }])
            }
            LeaveCommand::Debit {
                employee,
                document,
                days,
                by,
                at,
            } => {
                self.owner(*employee)?;
                if self.debits.contains_key(document) {
                    return Ok(Vec::new());
                }
                let days = half_days(*days, true)?;
                Ok(vec![LeaveEvent::Debited {
                    employee: *employee,
                    document: *document,
                    days,
                    by: *by,
                    at: *at,
                }])
            }
            LeaveCommand::Adjust {
                employee,
                days,
                reason,
                by,
                at,
            } => {
                if !by.has(Role::HrAdmin) {
                    return Err(LeaveError::NotHrAdmin);
                }
                self.owner(*employee)?;
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(LeaveError::ReasonRequired);
                }
                let days = half_days(*days, false)?;
                if days.is_sign_negative() && -days > self.available() {
                    return Err(LeaveError::Insufficient {
                        requested: -days,
                        available: self.available(),
                    });
                }
                Ok(vec![LeaveEvent::Adjusted {
                    employee: *employee,
                    days,
                    reason: reason.to_owned(),
                    by: by.id,
                    at: *at,
                }])
            }
            LeaveCommand::Reserve {
                employee,
                document,
                revision,
                days,
                by,
                at,
            } => {
                self.owner(*employee)?;
                if self.debits.contains_key(document) {
                    return Ok(Vec::new());
                }
                if self.holds.get(document).is_some_and(|h| h.revision == *revision) {
                    return Ok(Vec::new());
                }
                let days = half_days(*days, true)?;
                let available = self.available_to(*document);
                if days > available {
                    return Err(LeaveError::Insufficient {
                        requested: days,
                        available,
                    });
                }
                Ok(vec![LeaveEvent::Reserved {
                    employee: *employee,
                    document: *document,
                    revision: *revision,
                    days,
                    by: *by,
                    at: *at,
                }])
            }
            LeaveCommand::Release {
                employee,
                document,
                revision,
                by,
                at,
            } => {
                self.owner(*employee)?;
                let Some(hold) = self.holds.get(document).filter(|h| h.revision == *revision) else {
                    return Ok(Vec::new());
                };
                Ok(vec![LeaveEvent::Released {
                    employee: *employee,
                    document: *document,
                    revision: *revision,
                    days: hold.days,
                    by: *by,
                    at: *at,
                }])
            }
        }
    }

    fn evolve(&mut self, event: &LeaveEvent) {
        match event {
            LeaveEvent::Granted {
                employee, year, days, ..
            } => {
                self.employee = Some(*employee);
                self.granted_years.insert(*year);
                self.balance += days;
            }
            LeaveEvent::Debited {
                employee,
                document,
                days,
                ..
            } => {
                self.employee = Some(*employee);
                self.holds.remove(document);
                self.debits.insert(*document, *days);
                self.balance -= days;
                self.used += days;
            }
            LeaveEvent::Adjusted { employee, days, .. } => {
                self.employee = Some(*employee);
                self.balance += days;
            }
            LeaveEvent::Reserved {
                employee,
                document,
                revision,
                days,
                ..
            } => {
                self.employee = Some(*employee);
                self.holds.insert(
                    *document,
                    Hold {
                        revision: *revision,
                        days: *days,
                    },
                );
            }
            LeaveEvent::Released { employee, document, .. } => {
                self.employee = Some(*employee);
                self.holds.remove(document);
            }
        }
    }
}
