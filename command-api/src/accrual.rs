//! 연차 발생 — the accrual run: for every active employee with a hire date, book the
//! statutory leave that has arisen by a day (근로기준법 제60조, [`accrual_schedule`]), expire
//! the lots whose use period ended before it, and record the 사용 촉진 notices (제61조) due on
//! it. Each is a command on the employee's leave ledger, with a command id derived from the
//! employee and what it books, and each is idempotent in the ledger (a lot's key is booked
//! once, a lot expires once, a notice is recorded once): running a day again adds nothing,
//! and a run that failed half-way is finished by the next.
//!
//! The run is started by HR (`POST /api/leave/accrual-runs`) or by the schedule every command
//! instance keeps ([`start`]): today's run at start-up and then every hour, so an accrual is
//! booked on the day it arises whichever instance is up. One employee's failure is counted and
//! logged; the others are still run.

use crate::error::ApiError;
use crate::service::{derived_id, CommandService, Meta};
use crate::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use domain::ids::EmployeeId;
use domain::leave::accrual_schedule;
use domain::leave::promotion_notices_due;
use domain::leave::{LeaveCommand, LeaveLedger};
use infra::eventlog::{streams, StreamRef};
use serde::Serialize;
use std::time::Duration;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccrualRun {
    /// The company-local day the run was for.
    #[schema(value_type = String)]
    pub on: NaiveDate,
    /// Active employees with a hire date.
    pub employees: usize,
    /// Lots booked by this run.
    pub accrued: usize,
    /// Lots expired by this run.
    pub expired: usize,
    /// 사용 촉진 notices recorded by this run.
    pub notices: usize,
    /// Employees whose ledger could not be brought up to date (logged; the next run retries).
    pub failed: usize,
}

/// How often the schedule runs today's accruals.
const EVERY: Duration = Duration::from_secs(3600);

/// Runs today's accruals at start-up (once the org directory has settled) and every hour.
pub fn start(state: AppState) {
    tokio::spawn(async move {
        while !state.directory.is_settled() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        loop {
            let today = Utc::now().with_timezone(&state.settings.company_offset).date_naive();
            let run = run(&state, today, Utc::now()).await;
            if run.accrued + run.expired + run.notices + run.failed > 0 {
                tracing::info!(?run, "leave accrual run");
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}

/// Brings every active employee's ledger up to `on`; `at` stamps what it books.
pub async fn run(state: &AppState, on: NaiveDate, at: DateTime<Utc>) -> AccrualRun {
    let mut report = AccrualRun {
        on,
        ..AccrualRun::default()
    };
    let hired: Vec<(EmployeeId, NaiveDate)> = state
        .directory
        .employees()
        .into_iter()
        .filter(|e| e.active)
        .filter_map(|e| Some((e.id?, e.hire_date?)))
        .collect();
    report.employees = hired.len();
    for (employee, hire_date) in hired {
        if let Err(e) = bring_up_to_date(&state.service, employee, hire_date, on, at, &mut report).await {
            tracing::warn!(%employee, error = %e.detail, "leave accrual failed for an employee; the next run retries");
            report.failed += 1;
        }
    }
    report
}

async fn bring_up_to_date(
    service: &CommandService,
    employee: EmployeeId,
    hire_date: NaiveDate,
    on: NaiveDate,
    at: DateTime<Utc>,
    report: &mut AccrualRun,
) -> Result<(), ApiError> {
    let ledger = StreamRef::new(streams::LEAVE, employee.to_string());
    let book = |purpose: String, command: LeaveCommand| {
        let ledger = ledger.clone();
        async move {
            let meta = Meta::system(derived_id(&purpose), None);
            let outcome = service.execute::<LeaveLedger>(&ledger, None, &meta, &command).await?;
            Ok::<bool, ApiError>(!outcome.events.is_empty() && !outcome.duplicate)
        }
    };
    // The ledger is read once, and again only after a step booked something: an hourly run
    // over an up-to-date company reads each ledger once and writes nothing.
    let mut state = service.load::<LeaveLedger>(&ledger).await?.state;
    let mut booked = 0;
    for due in accrual_schedule(hire_date, hire_date, on) {
        if state.lots.iter().any(|l| l.key == due.key) {
            continue;
        }
        let purpose = format!("accrual/{employee}/{}", due.key);
        booked += usize::from(book(purpose, due.command(employee, at)).await?);
    }
    report.accrued += booked;
    if booked > 0 {
        state = service.load::<LeaveLedger>(&ledger).await?.state;
    }
    booked = 0;
    for lot in state.lots.iter().filter(|l| !l.expired && l.expires_on < on) {
        let command = LeaveCommand::Expire {
            employee,
            key: lot.key.clone(),
            on,
            at,
        };
        booked += usize::from(book(format!("expiry/{employee}/{}", lot.key), command).await?);
    }
    report.expired += booked;
    if booked > 0 {
        state = service.load::<LeaveLedger>(&ledger).await?.state;
    }
    for due in promotion_notices_due(&state, on) {
        let command = LeaveCommand::RecordNotice {
            employee,
            period_end: due.period_end,
            notice: due.notice,
            on,
            at,
        };
        let purpose = format!("notice/{employee}/{}/{:?}", due.period_end, due.notice);
        report.notices += usize::from(book(purpose, command).await?);
    }
    Ok(())
}
