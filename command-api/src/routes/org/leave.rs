//! Leave: an employee's balance, the yearly grant and manual adjustments, on the employee's
//! leave ledger stream. Requests themselves are approval documents (the ledger holds and
//! debits their days, see `crate::submission` and `crate::reactor`).

use super::tags::LEAVE as L;
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders, Id};
use crate::openapi::{Api, Doc};
use crate::routes::{meta, reply};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{NaiveDate, Utc};
use domain::ids::EmployeeId;
use domain::leave::{LeaveCommand, LeaveLedger, DEFAULT_ANNUAL_DAYS};
use domain::Role;
use infra::eventlog::{streams, StreamRef};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(super) fn routes(api: Api) -> Api {
    api.get(
        "/api/leave/{employee}",
        leave_balance,
        Doc::new(L, "Leave balance (self, HR, auditors)").returns::<LeaveBalance>(),
    )
    .post(
        "/api/leave/{employee}/grants",
        grant_leave,
        Doc::new(L, "Yearly grant (HR; 15 days by default)")
            .body::<GrantRequest>()
            .created(),
    )
    .post(
        "/api/leave/accrual-runs",
        accrual_run,
        Doc::new(L, "Run the statutory leave accrual for a day (HR): book what has arisen, expire what ended, record 사용 촉진 notices due; running a day again adds nothing")
            .body::<AccrualRunRequest>()
            .returns::<crate::accrual::AccrualRun>(),
    )
    .post(
        "/api/leave/{employee}/adjustments",
        adjust_leave,
        Doc::new(L, "Manual adjustment with a reason (HR)")
            .body::<AdjustRequest>()
            .created(),
    )
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccrualRunRequest {
    /// The company-local day to run (`YYYY-MM-DD`), today when absent; never a day to come.
    #[schema(value_type = Option<String>)]
    pub on: Option<NaiveDate>,
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

fn stream(id: EmployeeId) -> StreamRef {
    StreamRef::new(streams::LEAVE, id.to_string())
}

async fn leave_balance(
    State(state): State<AppState>,
    caller: Caller,
    Id(employee): Id<EmployeeId>,
) -> Result<Json<LeaveBalance>, ApiError> {
    if employee != caller.actor.id && !caller.actor.has(Role::HrAdmin) && !caller.actor.has(Role::Auditor) {
        return Err(ApiError::forbidden(
            "only the employee, HR and auditors see a leave balance",
        ));
    }
    let ledger = state.service.load::<LeaveLedger>(&stream(employee)).await?.state;
    Ok(Json(LeaveBalance {
        employee: employee.0,
        balance: ledger.balance,
        used: ledger.used,
        held: ledger.held(),
        available: ledger.available(),
        granted_years: ledger.granted_years.into_iter().collect(),
    }))
}

/// Runs `command` on the employee's ledger; a grant or adjustment is a new entry (201).
async fn execute(
    state: &AppState,
    caller: &Caller,
    headers: &CommandHeaders,
    employee: EmployeeId,
    route: &str,
    command: LeaveCommand,
) -> Result<Response, ApiError> {
    let outcome = state
        .service
        .execute::<LeaveLedger>(
            &stream(employee),
            headers.expected,
            &meta(caller, headers, route),
            &command,
        )
        .await?;
    Ok(reply(outcome, true))
}

async fn grant_leave(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(employee): Id<EmployeeId>,
    Body(req): Body<GrantRequest>,
) -> Result<Response, ApiError> {
    let command = LeaveCommand::Grant {
        employee,
        year: req.year,
        days: within_a_year(req.days.unwrap_or(DEFAULT_ANNUAL_DAYS))?,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, employee, "grant", command).await
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
    Id(employee): Id<EmployeeId>,
    Body(req): Body<AdjustRequest>,
) -> Result<Response, ApiError> {
    let command = LeaveCommand::Adjust {
        employee,
        days: within_a_year(req.days)?,
        reason: req.reason,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    execute(&state, &caller, &headers, employee, "adjust", command).await
}

async fn accrual_run(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<AccrualRunRequest>,
) -> Result<Json<crate::accrual::AccrualRun>, ApiError> {
    if !caller.actor.has(Role::HrAdmin) {
        return Err(ApiError::forbidden("only HR runs the leave accrual"));
    }
    let now = Utc::now();
    let today = now.with_timezone(&state.settings.company_offset).date_naive();
    let on = req.on.unwrap_or(today);
    if on > today {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "future_date",
            format!("leave accrues as days pass: {on} is after today ({today})"),
        ));
    }
    Ok(Json(crate::accrual::run(&state, on, now).await))
}
