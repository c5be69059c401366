//! Departments: creation, renaming, moves in the tree, heads, work schedules and closing, each
//! on the department's own stream. What a decision needs from the rest of the tree (the new parent's
//! ancestry, whether anyone still belongs) comes from the directory.

use super::tags::ORGANISATION as E;
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders, Id};
use crate::openapi::{Api, Doc};
use crate::routes::{meta, reply};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use chrono::{NaiveTime, Utc, Weekday};
use domain::attendance::{CoreHours, WorkSchedule};
use domain::ids::{DepartmentId, EmployeeId};
use domain::org::{Department, DepartmentCommand};
use infra::eventlog::{streams, StreamRef};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn routes(api: Api) -> Api {
    api.post(
        "/api/departments",
        create_department,
        Doc::new(E, "Create a department (HR)")
            .body::<CreateDepartmentRequest>()
            .created(),
    )
    .patch(
        "/api/departments/{id}",
        rename_department,
        Doc::new(E, "Rename a department (HR)").body::<RenameRequest>(),
    )
    .put(
        "/api/departments/{id}/parent",
        move_department,
        Doc::new(E, "Move a department in the tree (HR)").body::<ParentRequest>(),
    )
    .put(
        "/api/departments/{id}/head",
        appoint_head,
        Doc::new(E, "Appoint the head (HR)").body::<HeadRequest>(),
    )
    .post(
        "/api/departments/{id}/close",
        close_department,
        Doc::new(E, "Close an empty department (HR)"),
    )
    .put(
        "/api/departments/{id}/schedule",
        set_schedule,
        Doc::new(
            E,
            "Set the department's work schedule (근무 일정), which its sub-departments inherit unless they have their own; `null` returns it to the standard day (HR)",
        )
        .body::<ScheduleRequest>(),
    )
}

/// A department's work schedule; `schedule: null` returns it to the standard day (09:00–18:00
/// with an hour's break, Monday to Friday).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    pub schedule: Option<ScheduleBody>,
}

/// Times are company-local `HH:MM`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    #[schema(example = "10:00")]
    pub start: String,
    #[schema(example = "19:00")]
    pub end: String,
    /// Unpaid break within the day (휴게시간), in minutes.
    pub break_minutes: u32,
    /// Core hours (코어타임) of a flexible schedule: everyone is in from `core_start` to
    /// `core_end`; both or neither.
    pub core_start: Option<String>,
    pub core_end: Option<String>,
    /// The days worked: `mon` … `sun`.
    #[schema(example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    pub work_days: Vec<String>,
}

impl ScheduleBody {
    /// The schedule it describes, or a 422 naming the field that is not one.
    fn schedule(self) -> Result<WorkSchedule, ApiError> {
        let invalid = |field: &str, what: &str| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_schedule",
                format!("`{field}` is not {what}"),
            )
        };
        let time = |field: &str, value: &str| {
            NaiveTime::parse_from_str(value.trim(), "%H:%M").map_err(|_| invalid(field, "a time of day (HH:MM)"))
        };
        let core = match (&self.core_start, &self.core_end) {
            (Some(start), Some(end)) => Some(CoreHours {
                start: time("core_start", start)?,
                end: time("core_end", end)?,
            }),
            (None, None) => None,
            _ => return Err(invalid("core_start", "given without `core_end` (both or neither)")),
        };
        let mut work_days = Vec::new();
        for day in &self.work_days {
            let day: Weekday = day.parse().map_err(|_| invalid("work_days", "a list of mon … sun"))?;
            if !work_days.contains(&day) {
                work_days.push(day);
            }
        }
        WorkSchedule::new(
            time("start", &self.start)?,
            time("end", &self.end)?,
            self.break_minutes,
            core,
            work_days,
        )
        .map_err(|e| ApiError::refused(&e))
    }
}

async fn set_schedule(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<DepartmentId>,
    Body(req): Body<ScheduleRequest>,
) -> Result<Response, ApiError> {
    let command = DepartmentCommand::SetSchedule {
        schedule: req.schedule.map(ScheduleBody::schedule).transpose()?,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "set-schedule", command, false).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDepartmentRequest {
    pub id: Option<Uuid>,
    pub name: String,
    pub code: String,
    pub parent: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParentRequest {
    pub parent: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadRequest {
    pub head: Option<Uuid>,
}

/// Runs `command` on department `id`'s stream (at the client's `If-Match`, if any).
async fn execute(
    state: &AppState,
    caller: &Caller,
    headers: &CommandHeaders,
    id: DepartmentId,
    route: &str,
    command: DepartmentCommand,
    created: bool,
) -> Result<Response, ApiError> {
    let stream = StreamRef::new(streams::DEPARTMENT, id.to_string());
    let outcome = state
        .service
        .execute::<Department>(&stream, headers.expected, &meta(caller, headers, route), &command)
        .await?;
    Ok(reply(outcome, created))
}

async fn create_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<CreateDepartmentRequest>,
) -> Result<Response, ApiError> {
    let id = DepartmentId(headers.new_id(req.id, caller.actor.id, "department"));
    let command = DepartmentCommand::Create {
        id,
        name: req.name,
        code: req.code,
        parent: req.parent.map(DepartmentId),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "create-department", command, true).await
}

async fn rename_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<DepartmentId>,
    Body(req): Body<RenameRequest>,
) -> Result<Response, ApiError> {
    let command = DepartmentCommand::Rename {
        name: req.name,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "rename", command, false).await
}

async fn move_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<DepartmentId>,
    Body(req): Body<ParentRequest>,
) -> Result<Response, ApiError> {
    let parent = req.parent.map(DepartmentId);
    let parent_ancestors = parent.map(|p| state.directory.ancestry(p)).unwrap_or_default();
    let command = DepartmentCommand::Move {
        parent,
        parent_ancestors,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "move", command, false).await
}

async fn appoint_head(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<DepartmentId>,
    Body(req): Body<HeadRequest>,
) -> Result<Response, ApiError> {
    let command = DepartmentCommand::AppointHead {
        head: req.head.map(EmployeeId),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "head", command, false).await
}

async fn close_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<DepartmentId>,
) -> Result<Response, ApiError> {
    let command = DepartmentCommand::Close {
        has_members: state.directory.has_members(id),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "close", command, false).await
}
