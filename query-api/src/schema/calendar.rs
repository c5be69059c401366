//! 팀 휴가 달력 — a department's leave for a month: each member's leave requests that are
//! approved or still being decided, with their period, read from the approval views.
//!
//! Who sees it: the department's members (a team plans around each other's leave), its head
//! (or the head of a department above it), HR admins and auditors. What it shows of a request
//! is its period, days and whether it is approved — never the document: opening that still
//! takes the document's own visibility.

use super::*;
use crate::context::Viewer;
use domain::approval::Status;
use domain::form::FieldValue;

/// Members a calendar reads at most.
const MAX_MEMBERS: usize = 200;
/// Leave requests read per member (newest first).
const PER_MEMBER: usize = 100;

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum LeaveState {
    Approved,
    /// 상신 and not yet decided (or on hold).
    Pending,
}

/// One leave request on the calendar.
#[derive(SimpleObject)]
pub struct LeaveCalendarEntry {
    pub employee_id: String,
    pub employee_name: String,
    /// `YYYY-MM-DD`, both included.
    pub start: String,
    pub end: String,
    /// Decimal days the request takes.
    pub days: Option<String>,
    pub state: LeaveState,
}

/// Refuses unless the viewer belongs to, heads (from above) or audits the department.
async fn may_see(ctx: &Context<'_>, viewer: &Viewer, department: &str) -> async_graphql::Result<()> {
    if viewer.detail.department.as_deref() == Some(department) || context::reads_all(viewer) {
        return Ok(());
    }
    if super::attendance::headed_departments(ctx, viewer)
        .await?
        .contains(department)
    {
        return Ok(());
    }
    Err(coded(
        error::FORBIDDEN,
        "a department's leave calendar is for its members, its head and HR",
    ))
}

#[derive(Default)]
pub struct CalendarQueries;

#[Object]
impl CalendarQueries {
    /// Leave of the members of `departmentId` (the viewer's own department when absent) that
    /// falls in `month` (`YYYY-MM`): approved and pending requests, by start day.
    #[graphql(complexity = "cost::TEAM_DAYS * child_complexity")]
    async fn leave_calendar(
        &self,
        ctx: &Context<'_>,
        month: String,
        department_id: Option<ID>,
    ) -> async_graphql::Result<Vec<LeaveCalendarEntry>> {
        let viewer = viewer(ctx)?;
        let (first, last) = super::lookup::month_span(&month)?;
        let department = match super::lookup::department_id(department_id.as_ref())? {
            Some(named) => named,
            None => match viewer.detail.department.clone() {
                Some(own) => own,
                None => return Ok(Vec::new()),
            },
        };
        may_see(ctx, viewer, &department).await?;
        let filter = EmployeeFilter {
            department: Some(department),
            active: Some(true),
            ..EmployeeFilter::default()
        };
        let members = stores(ctx)
            .org
            .find_employees(&filter, None, MAX_MEMBERS)
            .await
            .map_err(error::store)?;
        let mut entries = Vec::new();
        for member in members {
            let search = ApprovalSearch {
                drafter: Some(member.id.clone()),
                form: Some("leave".into()),
                ..ApprovalSearch::default()
            };
            let found = stores(ctx)
                .views
                .search(&search, None, PER_MEMBER)
                .await
                .map_err(error::store)?;
            for (_, _, json) in found {
                let doc: ApprovalDocument =
                    serde_json::from_value(json).map_err(|e| error::internal("stored document does not decode", e))?;
                let state = match doc.status {
                    Status::Approved => LeaveState::Approved,
                    Status::InProgress | Status::OnHold => LeaveState::Pending,
                    _ => continue,
                };
                let Some(FieldValue::DateRange { start, end }) = doc.content.body.get("period") else {
                    continue;
                };
                if *end < first || *start > last {
                    continue;
                }
                entries.push(LeaveCalendarEntry {
                    employee_id: member.id.clone(),
                    employee_name: member.name.clone(),
                    start: start.to_string(),
                    end: end.to_string(),
                    days: doc.leave_days.map(|d| d.normalize().to_string()),
                    state,
                });
            }
        }
        entries.sort_by(|a, b| (&a.start, &a.employee_name).cmp(&(&b.start, &b.employee_name)));
        Ok(entries)
    }
}
