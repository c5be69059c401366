//! 근태 — attendance reads over the `attendance_days` read model: the viewer's own days, a
//! team's day, a week's hours against the 52-hour limit, and a month summed per employee
//! (the monthly report, for the viewer or a department).
//!
//! Who sees whose days: everyone their own; a department head the employees of the
//! departments they head (and of the departments under them); HR admins and auditors
//! everyone's ([`context::reads_all`]). Anyone else is refused with FORBIDDEN.

use super::*;
use crate::context::Viewer;
use crate::schema::lookup;
use async_graphql::Enum;
use chrono::NaiveDate;
use domain::attendance::{week_start, weekly_hours, WeeklyState, WorkedMinutes, WEEKLY_LIMIT_MINUTES};
use infra::readmodel::rows::AttendanceDayRow;
use std::collections::HashSet;

/// The longest range `myAttendance` reads at once.
const MAX_RANGE_DAYS: i64 = 62;

/// One employee's work day as the schedule it recorded (its department's; else 09:00–18:00
/// KST, an hour's break)
/// judges it.
#[derive(SimpleObject)]
pub struct AttendanceDayOut {
    pub employee_id: String,
    pub employee_name: Option<String>,
    /// `YYYY-MM-DD`, company-local.
    pub day: String,
    /// `working` (a shift is open), `done`, or `absent`.
    pub state: String,
    /// RFC 3339 (UTC): the first check-in.
    pub first_in: Option<String>,
    /// RFC 3339 (UTC): the last check-out.
    pub last_out: Option<String>,
    pub regular_minutes: i32,
    pub overtime_minutes: i32,
    /// 22:00–06:00; overlaps regular and overtime minutes.
    pub night_minutes: i32,
    pub late_minutes: i32,
    pub early_leave_minutes: i32,
}

/// One employee's month, summed from their days, each judged by the schedule it recorded.
#[derive(SimpleObject)]
pub struct AttendanceMonthOut {
    pub employee_id: String,
    pub employee_name: Option<String>,
    /// Scheduled work days (Monday to Friday) of the month up to today.
    pub work_days: i32,
    /// Days with a check-in.
    pub days_present: i32,
    /// Scheduled days so far without a check-in (no holiday calendar or leave is known yet).
    pub absent_days: i32,
    pub late_days: i32,
    pub late_minutes: i32,
    pub early_leave_days: i32,
    pub early_leave_minutes: i32,
    pub regular_minutes: i32,
    pub overtime_minutes: i32,
    pub night_minutes: i32,
}

/// Where a week stands against the 52-hour limit (근로기준법 제53조).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WeeklyHoursState {
    Within,
    /// 48 hours or more.
    Warning,
    /// Past 52 hours.
    Exceeded,
}

/// A week's worked minutes (Monday to Sunday).
#[derive(SimpleObject)]
pub struct WeeklyHoursOut {
    pub employee_id: String,
    /// The Monday, `YYYY-MM-DD`.
    pub week_start: String,
    pub minutes: i32,
    pub limit_minutes: i32,
    pub remaining_minutes: i32,
    pub state: WeeklyHoursState,
}

fn day_out(row: AttendanceDayRow, name: Option<String>) -> AttendanceDayOut {
    let int = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    AttendanceDayOut {
        employee_id: row.employee,
        employee_name: name,
        day: row.day,
        state: row.state,
        first_in: row.first_in,
        last_out: row.last_out,
        regular_minutes: int(row.regular_minutes),
        overtime_minutes: int(row.overtime_minutes),
        night_minutes: int(row.night_minutes),
        late_minutes: int(row.late_minutes),
        early_leave_minutes: int(row.early_leave_minutes),
    }
}

fn date(value: &str, name: &str) -> async_graphql::Result<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad_input(format!("`{name}` is not a date (YYYY-MM-DD)")))
}

/// The departments `viewer` heads, with every department under them.
pub(super) async fn headed_departments(ctx: &Context<'_>, viewer: &Viewer) -> async_graphql::Result<HashSet<String>> {
    stores(ctx)
        .org
        .headed_departments(&viewer.actor.id.to_string())
        .await
        .map_err(error::store)
}

/// Refuses unless the viewer may see `employee`'s attendance.
async fn may_see(ctx: &Context<'_>, viewer: &Viewer, employee: &str) -> async_graphql::Result<()> {
    if employee == viewer.actor.id.to_string() || context::reads_all(viewer) {
        return Ok(());
    }
    let department = context::employees_now(ctx, &[employee.to_owned()])
        .await?
        .into_iter()
        .next()
        .and_then(|e| e.department);
    let headed = headed_departments(ctx, viewer).await?;
    if department.is_some_and(|d| headed.contains(&d)) {
        return Ok(());
    }
    Err(coded(
        error::FORBIDDEN,
        "only the employee, their department head and HR see attendance",
    ))
}

#[derive(Default)]
pub struct AttendanceQueries;

#[Object]
impl AttendanceQueries {
    /// The viewer's own attendance days from `from` to `to` (YYYY-MM-DD, both included, at
    /// most 62 days), oldest first. Days without a check-in are not listed.
    #[graphql(complexity = "MAX_RANGE_DAYS as usize * child_complexity")]
    async fn my_attendance(
        &self,
        ctx: &Context<'_>,
        from: String,
        to: String,
    ) -> async_graphql::Result<Vec<AttendanceDayOut>> {
        let viewer = viewer(ctx)?;
        let (start, end) = (date(&from, "from")?, date(&to, "to")?);
        if end < start || (end - start).num_days() >= MAX_RANGE_DAYS {
            return Err(bad_input(format!(
                "`to` is on or after `from`, at most {MAX_RANGE_DAYS} days on"
            )));
        }
        let me = viewer.actor.id.to_string();
        let rows = stores(ctx)
            .org
            .attendance_days(&me, &start.to_string(), &end.to_string())
            .await
            .map_err(error::store)?;
        let name = viewer.detail.name.clone();
        Ok(rows.into_iter().map(|r| day_out(r, Some(name.clone()))).collect())
    }

    /// Everyone's attendance on `date` that the viewer may see: a department head their
    /// departments', HR admins and auditors everyone's (narrowed by `departmentId`).
    /// Other employees are refused.
    #[graphql(complexity = "cost::TEAM_DAYS * child_complexity")]
    async fn team_attendance(
        &self,
        ctx: &Context<'_>,
        date: String,
        department_id: Option<ID>,
    ) -> async_graphql::Result<Vec<AttendanceDayOut>> {
        let viewer = viewer(ctx)?;
        let day = self::date(&date, "date")?;
        let department = lookup::department_id(department_id.as_ref())?;
        let allowed: Option<HashSet<String>> = if context::reads_all(viewer) {
            None
        } else {
            let headed = headed_departments(ctx, viewer).await?;
            if headed.is_empty() || department.as_ref().is_some_and(|d| !headed.contains(d)) {
                return Err(coded(
                    error::FORBIDDEN,
                    "only department heads and HR see a team's attendance",
                ));
            }
            Some(headed)
        };
        let rows = stores(ctx)
            .org
            .attendance_on(&day.to_string())
            .await
            .map_err(error::store)?;
        let ids: Vec<String> = rows.iter().map(|r| r.employee.clone()).collect();
        // Their departments decide who is in scope: read now, not kept.
        let employees = context::employees_now(ctx, &ids).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let employee = employees.iter().find(|e| e.id == row.employee);
                let dept = employee.and_then(|e| e.department.clone());
                let in_scope = match (&allowed, &department) {
                    (_, Some(wanted)) => dept.as_ref() == Some(wanted),
                    (Some(headed), None) => dept.as_ref().is_some_and(|d| headed.contains(d)),
                    (None, None) => true,
                };
                in_scope.then(|| day_out(row, employee.map(|e| e.name.clone())))
            })
            .collect())
    }

    /// The month (`YYYY-MM`) summed per employee: the viewer's own row, or with
    /// `departmentId` every active member of that department, for its head (or the head of a
    /// department above it) and HR. Days are judged by the schedules they recorded; the
    /// scheduled days, by the employee's department's schedule now.
    #[graphql(complexity = "cost::TEAM_DAYS * child_complexity")]
    async fn attendance_report(
        &self,
        ctx: &Context<'_>,
        month: String,
        department_id: Option<ID>,
    ) -> async_graphql::Result<Vec<AttendanceMonthOut>> {
        use infra::readmodel::queries::ReportScope;
        let viewer = viewer(ctx)?;
        let (first, last) = super::lookup::month_span(&month)?;
        let me = viewer.actor.id.to_string();
        let department = lookup::department_id(department_id.as_ref())?;
        if let Some(d) = &department {
            if !context::reads_all(viewer) && !headed_departments(ctx, viewer).await?.contains(d) {
                return Err(coded(
                    error::FORBIDDEN,
                    "only the department's head and HR see its monthly report",
                ));
            }
        }
        let scope = department
            .as_deref()
            .map_or(ReportScope::Employee(&me), ReportScope::Department);
        let totals = stores(ctx)
            .org
            .attendance_totals(scope, &first.to_string(), &last.to_string())
            .await
            .map_err(error::store)?;
        let today = Utc::now().with_timezone(&domain::attendance::KST).date_naive();
        let ids: Vec<String> = totals.iter().map(|t| t.employee.clone()).collect();
        let names = context::employees(ctx, &ids).await?;
        // Scheduled days so far by each employee's department's schedule as it is now.
        let schedules = crate::types::schedules(&stores(ctx).org.departments().await.map_err(error::store)?);
        let work_days_of = |employee: &str| {
            let department = names
                .iter()
                .find(|e| e.id == employee)
                .and_then(|e| e.department.as_deref())
                .and_then(|d| d.parse().ok())
                .map(domain::ids::DepartmentId);
            let schedule = schedules.for_department(department);
            first
                .iter_days()
                .take_while(|d| *d <= last && *d <= today)
                .filter(|d| schedule.works_on(*d))
                .count() as i64
        };
        let int = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
        Ok(totals
            .into_iter()
            .map(|t| (work_days_of(&t.employee), t))
            .map(|(work_days, t)| AttendanceMonthOut {
                employee_name: names.iter().find(|e| e.id == t.employee).map(|e| e.name.clone()),
                work_days: int(work_days),
                absent_days: int((work_days - t.days_present).max(0)),
                days_present: int(t.days_present),
                late_days: int(t.late_days),
                late_minutes: int(t.late_minutes),
                early_leave_days: int(t.early_leave_days),
                early_leave_minutes: int(t.early_leave_minutes),
                regular_minutes: int(t.regular_minutes),
                overtime_minutes: int(t.overtime_minutes),
                night_minutes: int(t.night_minutes),
                employee_id: t.employee,
            })
            .collect())
    }

    /// The hours of the week holding `week` (any day of it, YYYY-MM-DD; weeks start on
    /// Monday) against the 52-hour limit: the viewer's own, or `employeeId`'s for their
    /// department head and HR.
    async fn weekly_hours(
        &self,
        ctx: &Context<'_>,
        week: String,
        employee_id: Option<ID>,
    ) -> async_graphql::Result<WeeklyHoursOut> {
        let viewer = viewer(ctx)?;
        let whom = match &employee_id {
            Some(id) => lookup::employee_id(id)?,
            None => viewer.actor.id.to_string(),
        };
        may_see(ctx, viewer, &whom).await?;
        let monday = week_start(date(&week, "week")?);
        let sunday = monday + chrono::Duration::days(6);
        let rows = stores(ctx)
            .org
            .attendance_days(&whom, &monday.to_string(), &sunday.to_string())
            .await
            .map_err(error::store)?;
        let days: Vec<WorkedMinutes> = rows
            .iter()
            .map(|r| WorkedMinutes {
                regular: u32::try_from(r.regular_minutes).unwrap_or(0),
                overtime: u32::try_from(r.overtime_minutes).unwrap_or(0),
                night: u32::try_from(r.night_minutes).unwrap_or(0),
            })
            .collect();
        let hours = weekly_hours(&days);
        let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        Ok(WeeklyHoursOut {
            employee_id: whom,
            week_start: monday.to_string(),
            minutes: int(hours.minutes),
            limit_minutes: int(WEEKLY_LIMIT_MINUTES),
            remaining_minutes: int(hours.remaining_minutes()),
            state: match hours.state {
                WeeklyState::Within => WeeklyHoursState::Within,
                WeeklyState::Warning => WeeklyHoursState::Warning,
                WeeklyState::Exceeded => WeeklyHoursState::Exceeded,
            },
        })
    }
}
