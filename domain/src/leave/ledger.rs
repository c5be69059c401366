//! The ledger itself: its state and how each command is decided and each event applied,
//! keeping `balance >= held` whatever the order of commands.

use super::{
    in_quarter_days, AccrualBasis, LeaveCommand, LeaveError, LeaveEvent, Lot, NoticeKind, SentNotice, MAX_KEY_LEN,
};
use crate::actor::Role;
use crate::aggregate::Aggregate;
use crate::ids::{ApprovalId, EmployeeId};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Accruals in booking order.
    #[serde(default)]
    pub lots: Vec<Lot>,
    /// Days that expired unused.
    #[serde(default)]
    pub expired: Decimal,
    /// 사용 촉진 notices sent.
    #[serde(default)]
    pub notices: Vec<SentNotice>,
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

    /// Lot indices in the order they are consumed: soonest expiry first, then booking order.
    fn consumption_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.lots.len()).collect();
        order.sort_by_key(|i| (self.lots[*i].expires_on, *i));
        order
    }

    /// What of each lot (by index) pending requests do not hold: holds are charged to lots in
    /// consumption order, as their debits will be.
    pub fn free_by_lot(&self) -> Vec<Decimal> {
        let mut pending = self.held();
        let mut free: Vec<Decimal> = self.lots.iter().map(|l| l.remaining).collect();
        for i in self.consumption_order() {
            let take = free[i].min(pending).max(Decimal::ZERO);
            free[i] -= take;
            pending -= take;
        }
        free
    }

    /// Days outside every lot: the yearly grants and adjustments of the ledger before lots.
    pub fn pool(&self) -> Decimal {
        self.balance - self.lots.iter().map(|l| l.remaining).sum::<Decimal>()
    }

    pub fn lot(&self, key: &str) -> Option<&Lot> {
        self.lots.iter().find(|l| l.key == key)
    }

    /// Takes `days` from the lots, soonest-expiring first; the rest comes off the pool.
    fn consume(&mut self, days: Decimal) {
        let mut left = days;
        for i in self.consumption_order() {
            if left <= Decimal::ZERO {
                break;
            }
            let lot = &mut self.lots[i];
            let take = lot.remaining.min(left);
            lot.remaining -= take;
            left -= take;
        }
    }

    fn accrue(
        &self,
        employee: EmployeeId,
        key: &str,
        basis: AccrualBasis,
        days: Decimal,
        expires_on: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Vec<LeaveEvent>, LeaveError> {
        self.owner(employee)?;
        let valid_key = !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic());
        if !valid_key {
            return Err(LeaveError::InvalidKey);
        }
        let days = in_quarter_days(days, true)?;
        if let Some(lot) = self.lot(key) {
            return if lot.days == days && lot.expires_on == expires_on && lot.basis == basis {
                Ok(Vec::new())
            } else {
                Err(LeaveError::AccrualKeyReused { key: key.to_owned() })
            };
        }
        Ok(vec![LeaveEvent::Accrued {
            employee,
            key: key.to_owned(),
            basis,
            days,
            expires_on,
            at,
        }])
    }

    fn expire(
        &self,
        employee: EmployeeId,
        key: &str,
        on: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Vec<LeaveEvent>, LeaveError> {
        self.owner(employee)?;
        let index = self
            .lots
            .iter()
            .position(|l| l.key == key)
            .ok_or_else(|| LeaveError::UnknownLot { key: key.to_owned() })?;
        let lot = &self.lots[index];
        if on <= lot.expires_on {
            return Err(LeaveError::NotYetExpired {
                key: key.to_owned(),
                expires_on: lot.expires_on,
            });
        }
        let days = self.free_by_lot()[index].min(self.available());
        if days <= Decimal::ZERO {
            return Ok(Vec::new());
        }
        Ok(vec![LeaveEvent::LotExpired {
            employee,
            key: key.to_owned(),
            days,
            on,
            at,
        }])
    }

    fn record_notice(
        &self,
        employee: EmployeeId,
        period_end: NaiveDate,
        notice: NoticeKind,
        on: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Vec<LeaveEvent>, LeaveError> {
        self.owner(employee)?;
        if self.notice_sent(period_end, notice).is_some() {
            return Ok(Vec::new());
        }
        let Some(unused) = unused_in_period(self, period_end, notice) else {
            return Err(LeaveError::UnknownPeriod { period_end });
        };
        if let Some(first) = notice.follows() {
            if self.notice_sent(period_end, first).is_none() {
                return Err(LeaveError::NoticeOutOfOrder { notice });
            }
        }
        Ok(vec![LeaveEvent::PromotionNoticeSent {
            employee,
            period_end,
            notice,
            unused,
            on,
            at,
        }])
    }

    /// The notice of `kind` sent for the period ending on `period_end`, if any.
    pub fn notice_sent(&self, period_end: NaiveDate, kind: NoticeKind) -> Option<&SentNotice> {
        self.notices
            .iter()
            .find(|n| n.period_end == period_end && n.notice == kind)
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
                let days = in_quarter_days(*days, true)?;
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
                let days = in_quarter_days(*days, true)?;
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
                let days = in_quarter_days(*days, false)?;
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
                let days = in_quarter_days(*days, true)?;
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
            LeaveCommand::Accrue {
                employee,
                key,
                basis,
                days,
                expires_on,
                at,
            } => self.accrue(*employee, key, *basis, *days, *expires_on, *at),
            LeaveCommand::Expire { employee, key, on, at } => self.expire(*employee, key, *on, *at),
            LeaveCommand::RecordNotice {
                employee,
                period_end,
                notice,
                on,
                at,
            } => self.record_notice(*employee, *period_end, *notice, *on, *at),
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
                self.consume(*days);
                self.balance -= days;
                self.used += days;
            }
            LeaveEvent::Adjusted { employee, days, .. } => {
                self.employee = Some(*employee);
                if days.is_sign_negative() {
                    self.consume(-*days);
                }
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
            LeaveEvent::Accrued {
                employee,
                key,
                basis,
                days,
                expires_on,
                at,
            } => {
                self.employee = Some(*employee);
                self.lots.push(Lot {
                    key: key.clone(),
                    basis: *basis,
                    days: *days,
                    remaining: *days,
                    expires_on: *expires_on,
                    accrued_at: *at,
                    expired: false,
                });
                self.balance += days;
            }
            LeaveEvent::LotExpired {
                employee, key, days, ..
            } => {
                self.employee = Some(*employee);
                if let Some(lot) = self.lots.iter_mut().find(|l| l.key == *key) {
                    lot.remaining -= days;
                    lot.expired = true;
                }
                self.balance -= days;
                self.expired += days;
            }
            LeaveEvent::PromotionNoticeSent {
                employee,
                period_end,
                notice,
                unused,
                on,
                at,
            } => {
                self.employee = Some(*employee);
                self.notices.push(SentNotice {
                    period_end: *period_end,
                    notice: *notice,
                    unused: *unused,
                    on: *on,
                    at: *at,
                });
            }
        }
    }
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
