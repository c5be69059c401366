//! 근태 — check-in and check-out for the caller, on the stream of the caller's work day
//! (`attendance/{employee}/{YYYY-MM-DD}`).
//!
//! Both are stamped with **this server's clock** when the request arrives: the body is an
//! empty object and a body naming a time (or anything else) is refused, since attendance
//! decides pay and a client's clock can be set to anything. The day is the company-local
//! date of that stamp (`Settings::company_offset`).
//!
//! The one rule that crosses days — one open shift at a time — is checked here the way the
//! domain asks: the previous day's stream is read and a shift still open there is passed in
//! the command (`open_elsewhere`). A check-out closes the shift open today or, for a shift
//! that ran past midnight, the one open yesterday.
//!
//! Each answers with the command's outcome and the day as its recorded schedule judges it
//! (the row the read model will hold), so a client shows the new state without waiting for
//! the projection.

use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders};
use crate::openapi::{Api, Doc};
use crate::routes::meta;
use crate::service::{Outcome, ServiceError};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use domain::attendance::{week_start, AttendanceCommand, AttendanceDay, WeekContext, WorkSchedule};
use domain::ids::EmployeeId;
use infra::eventlog::{streams, StreamRef};
use infra::readmodel::fold::org::attendance_row;
use serde::{Deserialize, Serialize};

const ATTENDANCE: &str = "attendance";

pub fn routes(api: Api) -> Api {
    api.post(
        "/api/attendance/check-in",
        check_in,
        Doc::new(ATTENDANCE, "출근: check in now (the server's clock); answers the day").body::<PunchRequest>(),
    )
    .post(
        "/api/attendance/check-out",
        check_out,
        Doc::new(ATTENDANCE, "퇴근: check out now (the server's clock); answers the day").body::<PunchRequest>(),
    )
}

/// A check-in or check-out names nothing: send `{}`. A time is never taken from the client.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PunchRequest {}

/// The caller's day after a check-in or check-out, as its recorded schedule judges it.
#[derive(Debug, Serialize)]
pub struct AttendanceDayView {
    pub employee: String,
    /// `YYYY-MM-DD`, company-local.
    pub day: String,
    /// `working` (checked in), `done` (checked out) or `absent`.
    pub state: String,
    /// RFC 3339, UTC.
    pub first_in: Option<String>,
    pub last_out: Option<String>,
    pub regular_minutes: i64,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
}

/// The outcome of a check-in or check-out with the day it left.
#[derive(Debug, Serialize)]
pub struct PunchOutcome {
    #[serde(flatten)]
    pub outcome: Outcome,
    pub attendance: AttendanceDayView,
}

fn stream(employee: EmployeeId, day: NaiveDate) -> StreamRef {
    StreamRef::new(streams::ATTENDANCE, AttendanceDay::stream_id(employee, day))
}

async fn day_state(state: &AppState, employee: EmployeeId, day: NaiveDate) -> Result<AttendanceDay, ServiceError> {
    Ok(state.service.load::<AttendanceDay>(&stream(employee, day)).await?.state)
}

/// The work schedule `employee` works now: their department's, else the nearest ancestor's
/// that has one, else the standard day.
pub(crate) fn schedule_of(state: &AppState, employee: EmployeeId) -> WorkSchedule {
    state.directory.schedule_of(employee)
}

/// What a check-out on `day` needs of its week: the worked minutes of the week's days before
/// it (read from their streams, at most six), the schedule, and the head the week is reported
/// to when it nears the 52-hour limit.
async fn week_so_far(state: &AppState, employee: EmployeeId, day: NaiveDate) -> Result<WeekContext, ServiceError> {
    let offset = state.settings.company_offset;
    let mut other_days = Vec::new();
    for earlier in week_start(day).iter_days().take_while(|d| *d < day) {
        let folded = day_state(state, employee, earlier).await?;
        other_days.push(folded.assess(earlier, &folded.schedule(), false, &[], offset).worked);
    }
    let schedule = day_state(state, employee, day).await?.schedule();
    let manager = state.directory.head_above(employee);
    Ok(WeekContext {
        other_days,
        schedule,
        offset,
        manager,
    })
}

async fn answer(
    state: &AppState,
    employee: EmployeeId,
    day: NaiveDate,
    outcome: Outcome,
) -> Result<Response, ApiError> {
    let loaded = state.service.load::<AttendanceDay>(&stream(employee, day)).await?;
    let mut folded = loaded.state;
    folded.employee.get_or_insert(employee);
    folded.day.get_or_insert(day);
    let row = attendance_row(&folded, loaded.version as i64);
    let view = AttendanceDayView {
        employee: row.employee,
        day: row.day,
        state: row.state,
        first_in: row.first_in,
        last_out: row.last_out,
        regular_minutes: row.regular_minutes,
        overtime_minutes: row.overtime_minutes,
        night_minutes: row.night_minutes,
        late_minutes: row.late_minutes,
        early_leave_minutes: row.early_leave_minutes,
    };
    let etag = HeaderValue::from_str(&format!("\"{}\"", outcome.version)).ok();
    let mut response = Json(PunchOutcome {
        outcome,
        attendance: view,
    })
    .into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Records the caller's check-in or check-out on `day` and answers with the day it left.
async fn punch(
    state: &AppState,
    caller: &Caller,
    headers: &CommandHeaders,
    day: NaiveDate,
    command: AttendanceCommand,
    purpose: &str,
) -> Result<Response, ApiError> {
    let employee = caller.actor.id;
    let outcome = state
        .service
        .execute::<AttendanceDay>(&stream(employee, day), None, &meta(caller, headers, purpose), &command)
        .await?;
    answer(state, employee, day, outcome).await
}

async fn check_in(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(PunchRequest {}): Body<PunchRequest>,
) -> Result<Response, ApiError> {
    let at = Utc::now();
    let offset = state.settings.company_offset;
    let day = at.with_timezone(&offset).date_naive();
    let employee = caller.actor.id;
    let open_elsewhere = match day.pred_opt() {
        Some(before) if day_state(&state, employee, before).await?.open_shift().is_some() => Some(before),
        _ => None,
    };
    let command = AttendanceCommand::CheckIn {
        employee,
        day,
        offset,
        open_elsewhere,
        schedule: Some(schedule_of(&state, employee)),
        by: caller.actor.clone(),
        at,
    };
    punch(&state, &caller, &headers, day, command, "attendance-check-in").await
}

async fn check_out(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(PunchRequest {}): Body<PunchRequest>,
) -> Result<Response, ApiError> {
    let at = Utc::now();
    let today = at.with_timezone(&state.settings.company_offset).date_naive();
    let employee = caller.actor.id;
    // The shift open today, or one that ran past midnight from yesterday.
    let mut day = today;
    let mut open = day_state(&state, employee, today).await?.open_shift().is_some();
    if !open {
        if let Some(before) = today.pred_opt() {
            if day_state(&state, employee, before).await?.open_shift().is_some() {
                (day, open) = (before, true);
            }
        }
    }
    // The week is read only for a check-out that can close a shift: a refused one (409) costs
    // no more than the two reads above.
    let week = if open {
        Some(week_so_far(&state, employee, day).await?)
    } else {
        None
    };
    let command = AttendanceCommand::CheckOut {
        employee,
        day,
        week,
        by: caller.actor.clone(),
        at,
    };
    punch(&state, &caller, &headers, day, command, "attendance-check-out").await
}
