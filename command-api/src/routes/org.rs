//! Organisation and leave: employees, departments, proxy delegations, leave grants and
//! adjustments. HR admins manage; an employee may name their own proxy.

use super::{meta, parse_id, reply};
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders};
use crate::openapi::{Api, Doc};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::authority::{self, AuthorityCommand, AuthorityPolicy, AuthorityRow, AuthorityTable};
use domain::ids::{DelegationId, DepartmentId, EmployeeId};
use domain::leave::{LeaveCommand, LeaveLedger, DEFAULT_ANNUAL_DAYS};
use domain::org::employee::normalize_email;
use domain::org::{
    Delegation, DelegationCommand, Department, DepartmentCommand, Employee, EmployeeCommand, Position, Window,
};
use domain::{Role, Roles};
use infra::eventlog::{streams, StreamRef};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn routes(api: Api) -> Api {
    const E: &str = "organisation";
    const L: &str = "leave";
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
    .post(
        "/api/employees/{id}/deactivate",
        deactivate,
        Doc::new(E, "Deactivate (HR)"),
    )
    .post(
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
    .post(
        "/api/delegations",
        grant_delegation,
        Doc::new(E, "Name a proxy (대결자) for a time window")
            .body::<DelegationRequest>()
            .created(),
    )
    .post(
        "/api/delegations/{id}/revoke",
        revoke_delegation,
        Doc::new(E, "Revoke a delegation"),
    )
    .get(
        "/api/leave/{employee}",
        leave_balance,
        Doc::new(L, "Leave balance (self, HR, auditors)"),
    )
    .post(
        "/api/leave/{employee}/grants",
        grant_leave,
        Doc::new(L, "Yearly grant (HR; 15 days by default)")
            .body::<GrantRequest>()
            .created(),
    )
    .post(
        "/api/leave/{employee}/adjustments",
        adjust_leave,
        Doc::new(L, "Manual adjustment with a reason (HR)")
            .body::<AdjustRequest>()
            .created(),
    )
    .get(
        "/api/authority-table",
        authority_table,
        Doc::new(E, "전결 규정: the delegation-of-authority table in force"),
    )
    .put(
        "/api/authority-table",
        set_authority_table,
        Doc::new(E, "Record a new 전결 규정 (HR): the whole table, with a reason")
            .body::<AuthorityTableRequest>()
            .if_match(),
    )
}

/// A new delegation-of-authority table.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorityTableRequest {
    /// Rows `{"form":"expense","up_to":"1000000","final_rank":5}`; `up_to` absent means no bound.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<AuthorityRow>,
    pub reason: String,
}

/// The table in force; `version` 0 is the built-in default.
async fn authority_table(State(state): State<AppState>, _caller: Caller) -> Result<Json<AuthorityTable>, ApiError> {
    Ok(Json(state.service.authority_table().await?))
}

async fn set_authority_table(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<AuthorityTableRequest>,
) -> Result<Response, ApiError> {
    let command = AuthorityCommand::SetTable {
        rows: req.rows,
        reason: req.reason,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<AuthorityPolicy>(
            &StreamRef::new(streams::POLICY, authority::COMPANY),
            headers.expected,
            &meta(&caller, &headers, "authority-table"),
            &command,
        )
        .await?;
    Ok(reply(outcome, false))
}

fn employee_stream(id: EmployeeId) -> StreamRef {
    StreamRef::new(streams::EMPLOYEE, id.to_string())
}

fn department_stream(id: DepartmentId) -> StreamRef {
    StreamRef::new(streams::DEPARTMENT, id.to_string())
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationRequest {
    pub id: Option<Uuid>,
    /// Whose seat the proxy may take; the caller when absent.
    pub principal: Option<Uuid>,
    pub proxy: Uuid,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub year: i32,
    /// 15 when absent.
    #[schema(value_type = Option<String>)]
    pub days: Option<Decimal>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustRequest {
    #[schema(value_type = String)]
    pub days: Decimal,
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeaveBalance {
    pub employee: Uuid,
    /// Granted and adjusted days less days taken.
    #[schema(value_type = String)]
    pub balance: Decimal,
    #[schema(value_type = String)]
    pub used: Decimal,
    /// Days held by pending requests (상신, not yet decided).
    #[schema(value_type = String)]
    pub held: Decimal,
    /// Days a new request may take: balance less held.
    #[schema(value_type = String)]
    pub available: Decimal,
    pub granted_years: Vec<i32>,
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

async fn employee_command(
    state: &AppState,
    caller: &Caller,
    headers: &CommandHeaders,
    id: &str,
    route: &str,
    command: EmployeeCommand,
) -> Result<Response, ApiError> {
    let id: EmployeeId = parse_id(id, "employee id")?;
    let outcome = state
        .service
        .execute::<Employee>(
            &employee_stream(id),
            headers.expected,
            &meta(caller, headers, route),
            &command,
        )
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
        .execute::<Employee>(
            &employee_stream(id),
            None,
            &meta(&caller, &headers, "register"),
            &command,
        )
        .await?;
    Ok(reply(outcome, true))
}

async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<ProfileRequest>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::UpdateProfile {
        email_owner: email_owner(&state, &req.email),
        name: req.name,
        email: req.email,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    employee_command(&state, &caller, &headers, &id, "profile", command).await
}

async fn change_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<DepartmentRef>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::ChangeDepartment {
        department: DepartmentId(req.department),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    employee_command(&state, &caller, &headers, &id, "department", command).await
}

async fn change_position(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<PositionDto>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::ChangePosition {
        position: req.into(),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    employee_command(&state, &caller, &headers, &id, "position", command).await
}

async fn change_manager(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<ManagerRequest>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::ChangeManager {
        manager: req.manager.map(EmployeeId),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    employee_command(&state, &caller, &headers, &id, "manager", command).await
}

async fn assign_roles(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<RolesRequest>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::AssignRoles {
        roles: req.roles.into_iter().collect(),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    employee_command(&state, &caller, &headers, &id, "roles", command).await
}

async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let command = EmployeeCommand::Deactivate {
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    employee_command(&state, &caller, &headers, &id, "deactivate", command).await
}

async fn department_command(
    state: &AppState,
    caller: &Caller,
    headers: &CommandHeaders,
    id: DepartmentId,
    route: &str,
    command: DepartmentCommand,
    created: bool,
) -> Result<Response, ApiError> {
    let outcome = state
        .service
        .execute::<Department>(
            &department_stream(id),
            headers.expected,
            &meta(caller, headers, route),
            &command,
        )
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
    department_command(&state, &caller, &headers, id, "create-department", command, true).await
}

async fn rename_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<RenameRequest>,
) -> Result<Response, ApiError> {
    let command = DepartmentCommand::Rename {
        name: req.name,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    department_command(
        &state,
        &caller,
        &headers,
        parse_id(&id, "department id")?,
        "rename",
        command,
        false,
    )
    .await
}

async fn move_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
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
    department_command(
        &state,
        &caller,
        &headers,
        parse_id(&id, "department id")?,
        "move",
        command,
        false,
    )
    .await
}

async fn appoint_head(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<HeadRequest>,
) -> Result<Response, ApiError> {
    let command = DepartmentCommand::AppointHead {
        head: req.head.map(EmployeeId),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    department_command(
        &state,
        &caller,
        &headers,
        parse_id(&id, "department id")?,
        "head",
        command,
        false,
    )
    .await
}

async fn close_department(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: DepartmentId = parse_id(&id, "department id")?;
    let command = DepartmentCommand::Close {
        has_members: state.directory.has_members(id),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    department_command(&state, &caller, &headers, id, "close", command, false).await
}

async fn grant_delegation(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<DelegationRequest>,
) -> Result<Response, ApiError> {
    let id = DelegationId(headers.new_id(req.id, caller.actor.id, "delegation"));
    let command = DelegationCommand::Grant {
        id,
        principal: req.principal.map_or(caller.actor.id, EmployeeId),
        proxy: EmployeeId(req.proxy),
        window: Window {
            from: req.from,
            until: req.until,
        },
        reason: req.reason,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let stream = StreamRef::new(streams::DELEGATION, id.to_string());
    let outcome = state
        .service
        .execute::<Delegation>(&stream, None, &meta(&caller, &headers, "delegate"), &command)
        .await?;
    Ok(reply(outcome, true))
}

async fn revoke_delegation(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: DelegationId = parse_id(&id, "delegation id")?;
    let command = DelegationCommand::Revoke {
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let stream = StreamRef::new(streams::DELEGATION, id.to_string());
    let outcome = state
        .service
        .execute::<Delegation>(&stream, headers.expected, &meta(&caller, &headers, "revoke"), &command)
        .await?;
    Ok(reply(outcome, false))
}

fn leave_stream(id: EmployeeId) -> StreamRef {
    StreamRef::new(streams::LEAVE, id.to_string())
}

async fn leave_balance(
    State(state): State<AppState>,
    caller: Caller,
    Path(employee): Path<String>,
) -> Result<Json<LeaveBalance>, ApiError> {
    let employee: EmployeeId = parse_id(&employee, "employee id")?;
    if employee != caller.actor.id && !caller.actor.has(Role::HrAdmin) && !caller.actor.has(Role::Auditor) {
        return Err(ApiError::forbidden(
            "only the employee, HR and auditors see a leave balance",
        ));
    }
    let ledger = state.service.load::<LeaveLedger>(&leave_stream(employee)).await?.state;
    Ok(Json(LeaveBalance {
        employee: employee.0,
        balance: ledger.balance,
        used: ledger.used,
        held: ledger.held(),
        available: ledger.available(),
        granted_years: ledger.granted_years.into_iter().collect(),
    }))
}

async fn grant_leave(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(employee): Path<String>,
    Body(req): Body<GrantRequest>,
) -> Result<Response, ApiError> {
    let employee: EmployeeId = parse_id(&employee, "employee id")?;
    let command = LeaveCommand::Grant {
        employee,
        year: req.year,
        days: within_a_year(req.days.unwrap_or(DEFAULT_ANNUAL_DAYS))?,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<LeaveLedger>(
            &leave_stream(employee),
            headers.expected,
            &meta(&caller, &headers, "grant"),
            &command,
        )
        .await?;
    Ok(reply(outcome, true))
}

/// Refuses leave days beyond a year before the domain sees them: its half-day check doubles
/// the value first, which overflows (and panicked) near the top of the decimal range.
fn within_a_year(days: Decimal) -> Result<Decimal, ApiError> {
    if days.abs() > Decimal::from(365) {
        return Err(domain::leave::LeaveError::InvalidDays.into());
    }
    Ok(days)
}

async fn adjust_leave(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(employee): Path<String>,
    Body(req): Body<AdjustRequest>,
) -> Result<Response, ApiError> {
    let employee: EmployeeId = parse_id(&employee, "employee id")?;
    let command = LeaveCommand::Adjust {
        employee,
        days: within_a_year(req.days)?,
        reason: req.reason,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<LeaveLedger>(
            &leave_stream(employee),
            headers.expected,
            &meta(&caller, &headers, "adjust"),
            &command,
        )
        .await?;
    Ok(reply(outcome, true))
}
