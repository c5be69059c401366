//! Reads the query API makes of the employee read model and the approval views: employees and
//! departments as records, and candidate documents for a filtered list. Authorisation is not
//! decided here — the query API applies the domain's `visible_to` to every document it returns.

use super::sql::{text_at, SqlReadModel};
use super::StoreError;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

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

const EMPLOYEE_COLUMNS: &str =
    "id, name, email, department, position_title, position_rank, manager, roles, active, version";

fn employee(r: &AnyRow) -> Result<EmployeeRecord, StoreError> {
    let roles = text_at(r, 7)?.unwrap_or_default();
    Ok(EmployeeRecord {
        id: text_at(r, 0)?.unwrap_or_default(),
        name: text_at(r, 1)?.unwrap_or_default(),
        email: text_at(r, 2)?.unwrap_or_default(),
        department: text_at(r, 3)?,
        position_title: text_at(r, 4)?,
        position_rank: r.try_get::<i64, _>(5)?,
        manager: text_at(r, 6)?,
        roles: roles.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        active: r.try_get::<i64, _>(8)? != 0,
        version: r.try_get::<i64, _>(9)? as u64,
    })
}

/// `%text%` for LIKE, with the wildcards in `text` itself escaped.
fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

impl SqlReadModel {
    /// Employees by id, in any order; unknown ids are left out (one query for a DataLoader).
    pub async fn employees_by_ids(&self, ids: &[String]) -> Result<Vec<EmployeeRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = format!("SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE id IN ({marks})");
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&self.pool).await?.iter().map(employee).collect()
    }

    /// One page of employees by (name, id), after the given one.
    pub async fn find_employees(
        &self,
        filter: &EmployeeFilter,
        after: Option<&(String, String)>,
        limit: usize,
    ) -> Result<Vec<EmployeeRecord>, StoreError> {
        let mut clauses = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(text) = &filter.text {
            clauses.push("(LOWER(name) LIKE ? ESCAPE '\\' OR LOWER(email) LIKE ? ESCAPE '\\')");
            binds.push(contains_pattern(text));
            binds.push(contains_pattern(text));
        }
        if let Some(department) = &filter.department {
            clauses.push("department = ?");
            binds.push(department.clone());
        }
        if let Some((name, id)) = after {
            clauses.push("(name > ? OR (name = ? AND id > ?))");
            binds.extend([name.clone(), name.clone(), id.clone()]);
        }
        let mut sql = format!("SELECT {EMPLOYEE_COLUMNS} FROM employees");
        if let Some(active) = filter.active {
            clauses.push(if active { "active = 1" } else { "active = 0" });
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY name, id");
        if limit < usize::MAX {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(&self.pool).await?.iter().map(employee).collect()
    }

    /// Every department (open and closed), by name.
    pub async fn departments(&self) -> Result<Vec<DepartmentRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, code, parent, head, closed, version FROM departments ORDER BY name, id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(DepartmentRecord {
                    id: text_at(r, 0)?.unwrap_or_default(),
                    name: text_at(r, 1)?.unwrap_or_default(),
                    code: text_at(r, 2)?.unwrap_or_default(),
                    parent: text_at(r, 3)?,
                    head: text_at(r, 4)?,
                    closed: r.try_get::<i64, _>(5)? != 0,
                    version: r.try_get::<i64, _>(6)? as u64,
                })
            })
            .collect()
    }

    /// Delegations naming `proxy`, not revoked (whether their window is open is the caller's
    /// question: it knows the time).
    pub async fn delegations_to(&self, proxy: &str) -> Result<Vec<DelegationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, principal, proxy, valid_from, valid_until, revoked FROM delegations \
             WHERE proxy = ? AND revoked = 0 ORDER BY valid_from",
        )
        .bind(proxy)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DelegationRecord {
                    id: text_at(r, 0)?.unwrap_or_default(),
                    principal: text_at(r, 1)?.unwrap_or_default(),
                    proxy: text_at(r, 2)?.unwrap_or_default(),
                    valid_from: text_at(r, 3)?.unwrap_or_default(),
                    valid_until: text_at(r, 4)?.unwrap_or_default(),
                    revoked: r.try_get::<i64, _>(5)? != 0,
                })
            })
            .collect()
    }

    /// Delegations naming `proxy` whose window holds `now`.
    pub async fn open_delegations_to(
        &self,
        proxy: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<DelegationRecord>, StoreError> {
        let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&chrono::Utc));
        Ok(self
            .delegations_to(proxy)
            .await?
            .into_iter()
            .filter(|d| matches!((parse(&d.valid_from), parse(&d.valid_until)), (Ok(f), Ok(u)) if f <= now && now < u))
            .collect())
    }

    /// An employee's leave ledger, oldest first.
    pub async fn leave_entries(&self, employee: &str) -> Result<Vec<LeaveEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, kind, days, document, reason, at FROM leave_entries WHERE employee = ? ORDER BY version",
        )
        .bind(employee)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LeaveEntry {
                    version: r.try_get::<i64, _>(0)? as u64,
                    kind: text_at(r, 1)?.unwrap_or_default(),
                    days: text_at(r, 2)?.unwrap_or_default(),
                    document: text_at(r, 3)?,
                    reason: text_at(r, 4)?,
                    at: text_at(r, 5)?.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Candidate documents newest first (by `updated_at`, then id), after `after`.
    pub async fn search_approvals(
        &self,
        search: &ApprovalSearch,
        after: Option<&ApprovalCursor>,
        limit: usize,
    ) -> Result<Vec<ApprovalCandidate>, StoreError> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        for (value, clause) in [
            (&search.status, "status = ?"),
            (&search.drafter, "drafter = ?"),
            (&search.submitted_from, "submitted_at >= ?"),
            (&search.submitted_until, "submitted_at <= ?"),
        ] {
            if let Some(v) = value {
                clauses.push(clause);
                binds.push(v.clone());
            }
        }
        if let Some(form) = &search.form {
            clauses.push("form LIKE ? ESCAPE '\\'");
            binds.push(format!("{}@%", form.replace('%', "\\%").replace('_', "\\_")));
        }
        if let Some((updated_at, id)) = after {
            clauses.push("(updated_at < ? OR (updated_at = ? AND id < ?))");
            binds.extend([updated_at.clone(), updated_at.clone(), id.clone()]);
        }
        let mut sql = "SELECT version, updated_at, document FROM approvals".to_owned();
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY updated_at DESC, id DESC LIMIT {}", limit.min(1000)));
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let json = text_at(r, 2)?.unwrap_or_default();
                let doc = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((r.try_get::<i64, _>(0)? as u64, text_at(r, 1)?.unwrap_or_default(), doc))
            })
            .collect()
    }
}
