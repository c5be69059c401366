//! Employees: registration and every change HR makes to one (profile, department, position,
//! manager, roles, deactivation), each on the employee's own stream.

use super::tags::ORGANISATION as E;
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders, Id};
use crate::openapi::{Api, Doc};
use crate::routes::{meta, reply};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use domain::ids::{DepartmentId, EmployeeId};
use domain::org::employee::normalize_email;
use domain::org::{Employee, EmployeeCommand, Position};
use domain::{Role, Roles};
use infra::eventlog::{streams, StreamRef};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn routes(api: Api) -> Api {
    api.post(
        "/api/employees",
        register,
        Doc::new(E, "Register an employee (HR)")
            .body::<RegisterRequest>()
            .created(),
    )
    .patch(
        "/api/employees/{id}",
        update_profile,
        Doc::new(E, "Update name and email (HR)").body::<ProfileRequest>(),
    )
    .put(
        "/api/employees/{id}/department",
        change_department,
        Doc::new(E, "Transfer to a department (HR)").body::<DepartmentRef>(),
    )
    .put(
        "/api/employees/{id}/position",
        change_position,
        Doc::new(E, "Change position / grade (HR)").body::<PositionDto>(),
    )
    .put(
        "/api/employees/{id}/manager",
        change_manager,
        Doc::new(E, "Change manager (HR)").body::<ManagerRequest>(),
    )
    .put(
        "/api/employees/{id}/roles",
        assign_roles,
        Doc::new(E, "Assign roles (HR)").body::<RolesRequest>(),
    )
    .put(
        "/api/employees/{id}/hire-date",
        set_hire_date,
        Doc::new(E, "Record or correct the hire date (입사일) leave accrues from (HR)").body::<HireDateRequest>(),
    )
    .post(
        "/api/employees/{id}/deactivate",
        deactivate,
        Doc::new(E, "Deactivate (HR)"),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionDto {
    pub title: String,
    pub rank: u8,
}

impl From<PositionDto> for Position {
    fn from(p: PositionDto) -> Self {
        Position {
            title: p.title,
            rank: p.rank,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub id: Option<Uuid>,
    pub name: String,
    pub email: String,
    pub department: Uuid,
    pub position: PositionDto,
    pub manager: Option<Uuid>,
    /// `employee`, `manager`, `hr_admin`, `auditor`; `employee` is implied.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    /// 입사일 (`YYYY-MM-DD`): statutory leave accrues from it.
    pub hire_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HireDateRequest {
    /// `YYYY-MM-DD`.
    pub hire_date: NaiveDate,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRef {
    pub department: Uuid,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagerRequest {
    pub manager: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
}

fn stream(id: EmployeeId) -> StreamRef {
    StreamRef::new(streams::EMPLOYEE, id.to_string())
}

fn roles(mut roles: Vec<Role>) -> Roles {
    roles.push(Role::Employee);
    roles.into_iter().collect()
}

fn email_owner(state: &AppState, email: &str) -> Option<EmployeeId> {
    normalize_email(email)
        .ok()
        .and_then(|e| state.directory.email_owner(&e))
}

/// Runs `command` on employee `id`'s stream (at the client's `If-Match`, if any).
async fn execute(
    state: &AppState,
    caller: &Caller,
    headers: &CommandHeaders,
    id: EmployeeId,
    route: &str,
    command: EmployeeCommand,
) -> Result<Response, ApiError> {
    let outcome = state
        .service
        .execute::<Employee>(&stream(id), headers.expected, &meta(caller, headers, route), &command)
        .await?;
    Ok(reply(outcome, false))
}

async fn register(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<RegisterRequest>,
) -> Result<Response, ApiError> {
    let id = EmployeeId(headers.new_id(req.id, caller.actor.id, "register"));
    let command = EmployeeCommand::Register {
        id,
        email_owner: email_owner(&state, &req.email),
        hire_date: req.hire_date,
        name: req.name,
        email: req.email,
        department: DepartmentId(req.department),
        position: req.position.into(),
        manager: req.manager.map(EmployeeId),
        roles: roles(req.roles),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<Employee>(&stream(id), None, &meta(&caller, &headers, "register"), &command)
        .await?;
    Ok(reply(outcome, true))
}

async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<EmployeeId>,
    Body(req): Body<ProfileRequest>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::UpdateProfile {
        email_owner: email_owner(&state, &req.email),
        name: req.name,
        email: req.email,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "profile", command).await
}

async fn change_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<EmployeeId>,
    Body(req): Body<DepartmentRef>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::ChangeDepartment {
        department: DepartmentId(req.department),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "department", command).await
}

async fn change_position(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<EmployeeId>,
    Body(req): Body<PositionDto>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::ChangePosition {
        position: req.into(),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "position", command).await
}

async fn change_manager(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<EmployeeId>,
    Body(req): Body<ManagerRequest>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::ChangeManager {
        manager: req.manager.map(EmployeeId),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "manager", command).await
}

async fn assign_roles(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<EmployeeId>,
    Body(req): Body<RolesRequest>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::AssignRoles {
        roles: req.roles.into_iter().collect(),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "roles", command).await
}

async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<EmployeeId>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::Deactivate {
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "deactivate", command).await
}

async fn set_hire_date(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<EmployeeId>,
    Body(req): Body<HireDateRequest>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::SetHireDate {
        hire_date: req.hire_date,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, id, "hire-date", command).await
}
