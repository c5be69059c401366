//! Reads the query API makes of the employee read model and the approval views: employees and
//! departments as records, and candidate documents for a filtered list. Authorisation is not
//! decided here — the query API applies the domain's `visible_to` to every document it returns.

use super::rows::{DelegationRow, DepartmentRow, EmployeeRow, LeaveEntryRow};
use serde::Serialize;

/// An employee as the read model holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmployeeRecord {
    pub id: String,
    pub name: String,
    pub email: String,
    pub department: Option<String>,
    pub position_title: Option<String>,
    pub position_rank: i64,
    pub manager: Option<String>,
    /// snake_case role names (`hr_admin`, `auditor`, ...).
    pub roles: Vec<String>,
    pub active: bool,
    pub version: u64,
}

impl EmployeeRecord {
    /// The employee as an actor of the domain: roles by their snake_case names, department if
    /// any. `None` when the stored id is not an employee id.
    pub fn actor(&self) -> Option<domain::Actor> {
        let id: domain::ids::EmployeeId = self.id.parse().ok()?;
        let roles = self
            .roles
            .iter()
            .filter_map(|r| serde_json::from_value::<domain::Role>(serde_json::Value::String(r.clone())).ok())
            .collect();
        let department = self.department.as_deref().and_then(|d| d.parse().ok());
        Some(domain::Actor { id, roles, department })
    }
}

/// A department as the read model holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartmentRecord {
    pub id: String,
    pub name: String,
    pub code: String,
    pub parent: Option<String>,
    pub head: Option<String>,
    pub closed: bool,
    pub version: u64,
    /// Its own work schedule, if it has one (sub-departments inherit it).
    pub schedule: Option<domain::attendance::WorkSchedule>,
}

/// A proxy delegation (대결) as the read model holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DelegationRecord {
    pub id: String,
    pub principal: String,
    pub proxy: String,
    /// RFC 3339.
    pub valid_from: String,
    pub valid_until: String,
    pub revoked: bool,
}

/// One entry of an employee's leave ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaveEntry {
    pub version: u64,
    pub kind: String,
    pub days: String,
    pub document: Option<String>,
    pub reason: Option<String>,
    pub at: String,
}

/// One employee's attendance over a period, summed from their days (a monthly report row).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AttendanceTotals {
    pub employee: String,
    /// Days with a check-in.
    pub days_present: i64,
    pub late_days: i64,
    pub late_minutes: i64,
    pub early_leave_days: i64,
    pub early_leave_minutes: i64,
    pub regular_minutes: i64,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
}

/// Whose attendance a report sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportScope<'a> {
    /// The active members of a department (not of its sub-departments).
    Department(&'a str),
    Employee(&'a str),
}

/// Narrows an employee list; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeFilter {
    /// Part of the name or email, case-insensitive.
    pub text: Option<String>,
    pub department: Option<String>,
    pub active: Option<bool>,
}

/// What a document list may be narrowed by in the store (the query API narrows further).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalSearch {
    /// snake_case status (`in_progress`, `approved`, ...).
    pub status: Option<String>,
    pub drafter: Option<String>,
    /// Form id, any version.
    pub form: Option<String>,
    /// Submitted at or after / before (RFC 3339, UTC).
    pub submitted_from: Option<String>,
    pub submitted_until: Option<String>,
}

/// Keyset position in the newest-first document order: (updated_at, id) of the last row seen.
pub type ApprovalCursor = (String, String);

/// One candidate document: stream version, updated_at, and the folded document JSON.
pub type ApprovalCandidate = (u64, String, serde_json::Value);

impl From<EmployeeRow> for EmployeeRecord {
    fn from(row: EmployeeRow) -> Self {
        Self {
            id: row.id.unwrap_or_default(),
            name: row.name,
            email: row.email,
            department: row.department,
            position_title: row.position_title,
            position_rank: row.position_rank,
            manager: row.manager,
            roles: row
                .roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            active: row.active,
            version: row.version as u64,
        }
    }
}

impl From<DepartmentRow> for DepartmentRecord {
    fn from(row: DepartmentRow) -> Self {
        Self {
            id: row.id.unwrap_or_default(),
            name: row.name,
            code: row.code,
            parent: row.parent,
            head: row.head,
            closed: row.closed,
            version: row.version as u64,
            // A schedule that does not decode (none is written that way) reads as none.
            schedule: row.schedule.and_then(|json| serde_json::from_str(&json).ok()),
        }
    }
}

impl From<DelegationRow> for DelegationRecord {
    fn from(row: DelegationRow) -> Self {
        Self {
            id: row.id.unwrap_or_default(),
            principal: row.principal.unwrap_or_default(),
            proxy: row.proxy.unwrap_or_default(),
            valid_from: row.valid_from.unwrap_or_default(),
            valid_until: row.valid_until.unwrap_or_default(),
            revoked: row.revoked,
        }
    }
}

impl DelegationRecord {
    /// The delegation as the domain holds it; none when a stored value does not parse.
    pub fn to_domain(&self) -> Option<domain::org::Delegation> {
        let instant = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        Some(domain::org::Delegation {
            id: Some(self.id.parse().ok()?),
            principal: Some(self.principal.parse().ok()?),
            proxy: Some(self.proxy.parse().ok()?),
            window: Some(domain::org::Window {
                from: instant(&self.valid_from)?,
                until: instant(&self.valid_until)?,
            }),
            revoked: self.revoked,
        })
    }
}

impl From<LeaveEntryRow> for LeaveEntry {
    fn from(row: LeaveEntryRow) -> Self {
        Self {
            version: row.version as u64,
            kind: row.kind,
            days: row.days,
            document: row.document,
            reason: row.reason,
            at: row.at,
        }
    }
}
