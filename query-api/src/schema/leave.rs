//! 연차 발생 — what the Labor Standards Act entitles an employee to, from the hire date HR
//! recorded on the employee's stream (folded from the log: one short stream), and the
//! accruals the coming year brings. The booked days themselves are `leaveBalance`.
//!
//! Who sees it: the employee, HR admins and auditors, as for the balance.

use super::*;
use domain::leave::{accrual, accrual_schedule, AccrualBasis};
use domain::org::{Employee, EmployeeEvent};

/// One accrual the coming year brings.
#[derive(SimpleObject)]
pub struct UpcomingAccrual {
    /// `YYYY-MM-DD`, the day it arises.
    pub on: String,
    /// Decimal days.
    pub days: String,
    /// `monthly` (first year, 제60조제2항) or `annual` (제60조제1항·제4항).
    pub kind: String,
    /// The last day it may be used.
    pub expires_on: String,
}

#[derive(SimpleObject)]
pub struct LeaveEntitlement {
    pub employee_id: String,
    /// 입사일, `YYYY-MM-DD`; null when none is recorded (nothing accrues by law then).
    pub hire_date: Option<String>,
    pub years_of_service: i32,
    pub months_of_service: i32,
    /// First year: the monthly days accrued so far (at most 11); from the first anniversary,
    /// the days of the current service year (15–25). Decimal.
    pub days: String,
    /// Accruals arising from tomorrow to a year from today, in date order.
    pub upcoming: Vec<UpcomingAccrual>,
}

#[derive(Default)]
pub struct LeaveQueries;

#[Object]
impl LeaveQueries {
    /// The statutory entitlement today (company time, KST) of the viewer, or of `employeeId`
    /// for HR admins and auditors.
    #[graphql(complexity = "cost::LEAVE_ENTRIES * child_complexity")]
    async fn leave_entitlement(
        &self,
        ctx: &Context<'_>,
        employee_id: Option<ID>,
    ) -> async_graphql::Result<LeaveEntitlement> {
        let viewer = viewer(ctx)?;
        let whom = match &employee_id {
            Some(id) => super::lookup::employee_id(id)?,
            None => viewer.actor.id.to_string(),
        };
        if whom != viewer.actor.id.to_string() && !context::reads_all(viewer) {
            return Err(coded(
                error::FORBIDDEN,
                "only HR admins and auditors read others' leave",
            ));
        }
        let recorded = stores(ctx)
            .log
            .read_stream(&StreamRef::new(streams::EMPLOYEE, whom.clone()))
            .await
            .map_err(|e| error::internal("event log failed", e))?;
        let mut employee = Employee::default();
        for r in recorded {
            let event: EmployeeEvent = serde_json::from_value(r.payload)
                .map_err(|e| error::internal(&format!("employee event {} does not decode", r.version), e))?;
            employee.evolve(&event);
        }
        let today = Utc::now().with_timezone(&domain::attendance::KST).date_naive();
        let Some(hired) = employee.hire_date else {
            return Ok(LeaveEntitlement {
                employee_id: whom,
                hire_date: None,
                years_of_service: 0,
                months_of_service: 0,
                days: "0".into(),
                upcoming: Vec::new(),
            });
        };
        let now = accrual(hired, today);
        let (Some(tomorrow), Some(in_a_year)) = (today.succ_opt(), today.checked_add_months(chrono::Months::new(12)))
        else {
            return Err(bad_input("the date is out of range"));
        };
        let upcoming = accrual_schedule(hired, tomorrow, in_a_year)
            .into_iter()
            .map(|a| UpcomingAccrual {
                on: a.on.to_string(),
                days: a.days.normalize().to_string(),
                kind: match a.basis {
                    AccrualBasis::Monthly { .. } => "monthly",
                    _ => "annual",
                }
                .to_owned(),
                expires_on: a.expires_on.to_string(),
            })
            .collect();
        let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        Ok(LeaveEntitlement {
            employee_id: whom,
            hire_date: Some(hired.to_string()),
            years_of_service: int(now.years),
            months_of_service: int(now.months),
            days: now.days.normalize().to_string(),
            upcoming,
        })
    }
}
