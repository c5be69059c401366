//! 전결 규정 — the company's delegation-of-authority table, and what it requires of a line.
//!
//! Who may approve a document as final is company policy, not the drafter's choice. HR keeps a
//! table of rows *form × amount (days for leave) → the lowest position rank that may decide
//! it as final*; every change is an event in one policy stream, so the rule a document was
//! decided under can be shown years later. At 상신 the caller folds the table, walks the
//! drafter's reporting chain in the org chart and carries the resulting [`Requirement`] in the
//! command; the approval aggregate then refuses a line that leaves out a required approver and
//! grants 전결권 (approve as final, skipping the rest) to the required final approver only.
//!
//! The reporting chain is: the drafter's manager (or, without one, the nearest department
//! head above), then each department head further up, ending at the head of the root
//! department. The required approvers are that chain up to and including the first whose
//! rank reaches the row's `final_rank` (the whole chain when nobody does).

use crate::actor::{Actor, Role};
use crate::aggregate::{Aggregate, EventType};
use crate::approval::{ApprovalLine, Step};
use crate::form::FormKind;
use crate::ids::{DepartmentId, EmployeeId};
use crate::org::OrgChart;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The one policy stream's id: a company has one table.
pub const COMPANY: &str = "authority";

/// Most rows a table may hold (a real 전결 규정 has a few dozen).
pub const MAX_ROWS: usize = 200;

/// One row of the table: documents of `form` whose measure (amount, or leave days for leave
/// requests) is at most `up_to` (no bound when `None`) are decided as final by an approver
/// whose position rank is at least `final_rank`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityRow {
    pub form: FormKind,
    #[serde(default)]
    pub up_to: Option<Decimal>,
    pub final_rank: u8,
}

/// The table in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityTable {
    /// 0 for the built-in default; +1 per change HR records.
    pub version: u32,
    pub rows: Vec<AuthorityRow>,
}

/// Which row of which table version decided a document's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityRef {
    pub table_version: u32,
    pub row: AuthorityRow,
}

/// What the table and the org chart require of one document's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    pub rule: AuthorityRef,
    /// 결재 approvers that must be on the line, in this order (others may be added between).
    pub approvers: Vec<EmployeeId>,
    /// Employees who must sit in an agreement (합의) step.
    pub agreement: Vec<EmployeeId>,
    /// Who holds 전결권: the last required approver.
    pub final_approver: Option<EmployeeId>,
}

/// The authority a submitted revision was decided under (recorded in `approval.submitted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityDecision {
    pub rule: AuthorityRef,
    /// The approver who may approve as final, when steps follow their seat.
    pub final_approver: Option<EmployeeId>,
}

impl Default for AuthorityTable {
    /// The built-in table in force until HR records one: 팀장 (rank 5) decides general
    /// documents, small expenses and purchases and short leave, 본부장 (rank 7) larger ones
    /// and longer leave, 대표이사 (rank 9) expenses and purchases above ₩10,000,000.
    fn default() -> Self {
        let row = |form, up_to: Option<i64>, final_rank| AuthorityRow {
            form,
            up_to: up_to.map(Decimal::from),
            final_rank,
        };
        Self {
            version: 0,
            rows: vec![
                row(FormKind::Expense, Some(1_000_000), 5),
                row(FormKind::Expense, Some(10_000_000), 7),
                row(FormKind::Expense, None, 9),
                row(FormKind::Purchase, Some(1_000_000), 5),
                row(FormKind::Purchase, Some(10_000_000), 7),
                row(FormKind::Purchase, None, 9),
                row(FormKind::Leave, Some(3), 5),
                row(FormKind::Leave, None, 7),
                row(FormKind::General, None, 5),
                row(FormKind::AttendanceCorrection, None, 5),
            ],
        }
    }
}

impl AuthorityTable {
    /// The row for `form` and `measure`: the smallest bound that covers it.
    pub fn row_for(&self, form: FormKind, measure: Decimal) -> Option<&AuthorityRow> {
        // A table recorded before 근태 정정 existed has no row for it: such a document is
        // decided as a general one.
        if form == FormKind::AttendanceCorrection && !self.rows.iter().any(|r| r.form == form) {
            return self.row_for(FormKind::General, measure);
        }
        self.rows
            .iter()
            .filter(|r| r.form == form && r.up_to.is_none_or(|limit| measure <= limit))
            .min_by(|a, b| match (a.up_to, b.up_to) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
    }

    /// Checks a table HR proposes: rows bounded, every form covered for every amount, no two
    /// rows of a form with the same bound.
    pub fn check(rows: &[AuthorityRow]) -> Result<(), AuthorityError> {
        if rows.is_empty() || rows.len() > MAX_ROWS {
            return Err(AuthorityError::InvalidTable("a table holds 1..=200 rows".into()));
        }
        // 근태 정정 may go without rows (it is then decided as a general document); rows it
        // has must cover every measure like any form's.
        let correction = rows.iter().any(|r| r.form == FormKind::AttendanceCorrection);
        for form in [
            FormKind::General,
            FormKind::Expense,
            FormKind::Leave,
            FormKind::Purchase,
        ]
        .into_iter()
        .chain(correction.then_some(FormKind::AttendanceCorrection))
        {
            let mine: Vec<_> = rows.iter().filter(|r| r.form == form).collect();
            if !mine.iter().any(|r| r.up_to.is_none()) {
                return Err(AuthorityError::InvalidTable(format!(
                    "{form:?} needs a row without an upper bound, so every amount has a rule"
                )));
            }
            for (i, a) in mine.iter().enumerate() {
                if a.up_to.is_some_and(|u| u.is_sign_negative()) {
                    return Err(AuthorityError::InvalidTable("bounds are not negative".into()));
                }
                if mine[i + 1..].iter().any(|b| b.up_to == a.up_to) {
                    return Err(AuthorityError::InvalidTable(format!(
                        "{form:?} has two rows with the same bound"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The drafter's reporting chain, nearest first (see the module docs).
pub fn reporting_chain(chart: &OrgChart, drafter: EmployeeId) -> Vec<EmployeeId> {
    let Some(me) = chart.employees.get(&drafter) else {
        return Vec::new();
    };
    let mut chain: Vec<EmployeeId> = Vec::new();
    let first = me
        .manager
        .filter(|m| *m != drafter && chart.is_active(*m))
        .or_else(|| chart.head_above(me.department, drafter));
    chain.extend(first);
    // Heads above: from the department of the last person on the chain (a manager in another
    // department leads the walk there), up to the root.
    let start: DepartmentId = first
        .and_then(|f| chart.employees.get(&f))
        .map_or(me.department, |m| m.department);
    let mut departments = chart.ancestry(me.department);
    for d in chart.ancestry(start) {
        if !departments.contains(&d) {
            departments.push(d);
        }
    }
    let mut last_rank = first.and_then(|f| chart.employees.get(&f)).map_or(0, |m| m.rank);
    for head in departments.into_iter().filter_map(|d| chart.departments.get(&d)?.head) {
        let rank = chart.employees.get(&head).map_or(0, |m| m.rank);
        // The chain only climbs: a head who ranks below someone already on it (a team head
        // under a drafter who reports straight to the division) is not above them.
        if head != drafter && chart.is_active(head) && !chain.contains(&head) && rank >= last_rank {
            chain.push(head);
            last_rank = rank;
        }
    }
    chain
}

/// What `table` requires of the line of `drafter`'s document of `form` over `measure`.
/// `agreement` names the employees the line rule adds as 합의 (e.g. purchasing's head).
pub fn requirement(
    chart: &OrgChart,
    table: &AuthorityTable,
    drafter: EmployeeId,
    form: FormKind,
    measure: Decimal,
    agreement: Vec<EmployeeId>,
) -> Result<Requirement, AuthorityError> {
    let row = table.row_for(form, measure).ok_or(AuthorityError::NoRule { form })?;
    let chain = reporting_chain(chart, drafter);
    let reaches = chain
        .iter()
        .position(|e| chart.employees.get(e).is_some_and(|m| m.rank >= row.final_rank));
    let approvers: Vec<EmployeeId> = match reaches {
        Some(at) => chain[..=at].to_vec(),
        None => chain,
    };
    Ok(Requirement {
        rule: AuthorityRef {
            table_version: table.version,
            row: row.clone(),
        },
        final_approver: approvers.last().copied(),
        agreement: agreement.into_iter().filter(|a| !approvers.contains(a)).collect(),
        approvers,
    })
}

impl Requirement {
    /// Whether `line` holds every required approver in order, and every required agreement
    /// member in an agreement step.
    pub fn satisfied_by(&self, line: &ApprovalLine) -> Result<(), Vec<EmployeeId>> {
        let sequential: Vec<EmployeeId> = line
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Approval { approver, .. } => Some(*approver),
                Step::Agreement { .. } => None,
            })
            .collect();
        let mut cursor = sequential.iter();
        let mut missing: Vec<EmployeeId> = self
            .approvers
            .iter()
            .filter(|required| !cursor.any(|a| a == *required))
            .copied()
            .collect();
        missing.extend(self.agreement.iter().filter(|member| {
            !line
                .steps
                .iter()
                .any(|s| matches!(s, Step::Agreement { members, .. } if members.contains(member)))
        }));
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing)
        }
    }

    /// The authority the revision is decided under: 전결권 only when steps follow the final
    /// approver's seat (otherwise their approval is final anyway).
    pub fn decision(&self, line: &ApprovalLine) -> AuthorityDecision {
        let last = line.steps.len().saturating_sub(1);
        let seat = self.final_approver.and_then(|f| {
            line.steps
                .iter()
                .position(|s| matches!(s, Step::Approval { approver, .. } if *approver == f))
        });
        AuthorityDecision {
            rule: self.rule.clone(),
            final_approver: seat.filter(|at| *at < last).and(self.final_approver),
        }
    }
}

/// Commands on the table.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorityCommand {
    /// HR records a new table (the whole table: a 전결 규정 is amended as one document).
    SetTable {
        rows: Vec<AuthorityRow>,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
}

/// Facts about the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AuthorityEvent {
    #[serde(rename = "authority.table_set")]
    TableSet {
        version: u32,
        rows: Vec<AuthorityRow>,
        reason: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
}

impl EventType for AuthorityEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::TableSet { .. } => "authority.table_set",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// 403
    #[error("only an HR admin may change the delegation-of-authority table")]
    NotHrAdmin,
    /// 422
    #[error("invalid delegation-of-authority table: {0}")]
    InvalidTable(String),
    /// 422
    #[error("a change to the table needs a reason (1..=500 characters)")]
    ReasonRequired,
    /// 422: the table has no row for this form (impossible for a checked table).
    #[error("the delegation-of-authority table has no rule for {form:?}")]
    NoRule { form: FormKind },
}

impl crate::Refusal for AuthorityError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use AuthorityError as E;
        match self {
            E::NotHrAdmin => (Forbidden, "not_hr_admin"),
            E::InvalidTable(_) => (Invalid, "invalid_authority_table"),
            E::ReasonRequired => (Invalid, "reason_required"),
            E::NoRule { .. } => (Invalid, "no_authority_rule"),
        }
    }
}

/// The policy stream's state: the table in force (the default until HR records one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityPolicy {
    pub table: AuthorityTable,
}

impl Aggregate for AuthorityPolicy {
    type Command = AuthorityCommand;
    type Event = AuthorityEvent;
    type Error = AuthorityError;

    fn decide(&self, command: &AuthorityCommand) -> Result<Vec<AuthorityEvent>, AuthorityError> {
        let AuthorityCommand::SetTable { rows, reason, by, at } = command;
        if !by.has(Role::HrAdmin) {
            return Err(AuthorityError::NotHrAdmin);
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AuthorityError::ReasonRequired);
        }
        AuthorityTable::check(rows)?;
        Ok(vec![AuthorityEvent::TableSet {
            version: self.table.version + 1,
            rows: rows.clone(),
            reason: reason.to_owned(),
            by: by.id,
            at: *at,
        }])
    }

    fn evolve(&mut self, event: &AuthorityEvent) {
        let AuthorityEvent::TableSet { version, rows, .. } = event;
        self.table = AuthorityTable {
            version: *version,
            rows: rows.clone(),
        };
    }
}
