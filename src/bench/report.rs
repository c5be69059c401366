//! `erp bench report`: the monthly attendance report of one large department, read from the
//! employee read model. Fills an embedded log with `employees` members of one department and
//! a month of work days each (check-in and check-out on every weekday, some late, some with
//! overtime), projects it into each store, then times the report query (every member's month
//! summed, one query) beside the floor of the same store in the same run: one employee row
//! read by its primary key.

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use domain::attendance::{AttendanceDay, AttendanceEvent};
use domain::ids::{DepartmentId, EmployeeId};
use domain::org::{DepartmentEvent, EmployeeEvent, Position};
use domain::Role;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{streams, EventLog, ExpectedVersion, NewCommit, StreamRef, Upcasters};
use infra::readmodel::queries::ReportScope;
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::Projection;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const DEPARTMENT: DepartmentId = DepartmentId(Uuid::from_u128(0xD000));
/// The month every member works: March 2026 (22 weekdays).
const YEAR: i32 = 2026;
const MONTH: u32 = 3;

fn member(i: usize) -> EmployeeId {
    EmployeeId(Uuid::from_u128(0xE000_0000 + i as u128))
}

async fn append<E: serde::Serialize + domain::EventType>(
    log: &dyn EventLog,
    stream: StreamRef,
    events: &[E],
) -> anyhow::Result<()> {
    log.append(NewCommit::of(stream, ExpectedVersion::Exact(0), events)?)
        .await?;
    Ok(())
}

/// One department of `employees` members, each with every weekday of the month worked.
async fn fill(log: Arc<dyn EventLog>, employees: usize) -> anyhow::Result<usize> {
    let hr = member(0);
    let at = Utc::now();
    let created = DepartmentEvent::Created {
        id: DEPARTMENT,
        name: "대형부서".into(),
        code: "BIG".into(),
        parent: None,
        by: hr,
        at,
    };
    append(
        &*log,
        StreamRef::new(streams::DEPARTMENT, DEPARTMENT.to_string()),
        &[created],
    )
    .await?;
    let first = NaiveDate::from_ymd_opt(YEAR, MONTH, 1).ok_or_else(|| anyhow::anyhow!("month"))?;
    let days: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| d.month() == MONTH)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .collect();
    let tasks = 16;
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (log, days) = (log.clone(), days.clone());
            tokio::spawn(async move {
                let mut i = t;
                while i < employees {
                    let id = member(i);
                    let registered = EmployeeEvent::Registered {
                        id,
                        name: format!("직원{i}"),
                        email: format!("e{i}@bench.erp"),
                        department: DEPARTMENT,
                        position: Position {
                            title: "사원".into(),
                            rank: 1,
                        },
                        manager: None,
                        roles: [Role::Employee].into(),
                        by: hr,
                        at,
                    };
                    append(&*log, StreamRef::new(streams::EMPLOYEE, id.to_string()), &[registered]).await?;
                    for (n, day) in days.iter().enumerate() {
                        // KST 09:00 (+ a late start every seventh day) to 18:00 (+ overtime
                        // every fifth), as UTC.
                        let start = (9 * 60 + if (i + n) % 7 == 0 { 15 } else { 0 }) - 9 * 60;
                        let end = (18 * 60 + if (i + n) % 5 == 0 { 90 } else { 0 }) - 9 * 60;
                        let midnight = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default());
                        let stamp = |m: i64| midnight + chrono::Duration::minutes(m);
                        let events = [
                            AttendanceEvent::CheckedIn {
                                employee: id,
                                day: *day,
                                at: stamp(start),
                                schedule: None,
                            },
                            AttendanceEvent::CheckedOut {
                                employee: id,
                                day: *day,
                                at: stamp(end),
                            },
                        ];
                        let stream = StreamRef::new(streams::ATTENDANCE, AttendanceDay::stream_id(id, *day));
                        append(&*log, stream, &events).await?;
                    }
                    i += tasks;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for h in handles {
        h.await??;
    }
    Ok(days.len())
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let i = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[i]
}

/// Times `runs` calls of `f`, returning (p50, p99).
async fn timed<F, Fut>(runs: usize, f: F) -> anyhow::Result<(Duration, Duration)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await?;
        samples.push(started.elapsed());
    }
    Ok((percentile(&mut samples, 0.5), percentile(&mut samples, 0.99)))
}

async fn measure(label: &str, log: Arc<dyn EventLog>, store: SqlReadModel, employees: usize) -> anyhow::Result<()> {
    let projector = projector::Projector::new(log, store.clone());
    let started = Instant::now();
    for p in [Projection::Departments, Projection::Employees, Projection::Attendance] {
        projector.catch_up(p).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let projected = started.elapsed();
    let department = DEPARTMENT.to_string();
    let (from, to) = (format!("{YEAR}-{MONTH:02}-01"), format!("{YEAR}-{MONTH:02}-31"));
    let rows = store
        .attendance_totals(ReportScope::Department(&department), &from, &to)
        .await?;
    anyhow::ensure!(
        rows.len() == employees,
        "{} report rows for {employees} members",
        rows.len()
    );
    let report = timed(50, || async {
        store
            .attendance_totals(ReportScope::Department(&department), &from, &to)
            .await?;
        Ok(())
    })
    .await?;
    let one = [member(employees / 2).to_string()];
    let floor = timed(500, || async {
        anyhow::ensure!(store.employees_by_ids(&one).await?.len() == 1, "the employee row");
        Ok(())
    })
    .await?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label:<22} projected in {:>6.1} s | monthly report, {employees} members: p50 {:>7.2} ms  p99 {:>7.2} ms (target ≤ 100 ms) | floor, same run: primary-key read p50 {:.3} ms  p99 {:.3} ms",
        projected.as_secs_f64(),
        ms(report.0),
        ms(report.1),
        ms(floor.0),
        ms(floor.1)
    );
    Ok(())
}

pub async fn run(employees: usize, mysql: Option<String>) -> anyhow::Result<()> {
    anyhow::ensure!(employees >= 1, "--employees must be at least 1");
    let dir = tempfile::tempdir_in(".")?;
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(
        dir.path().join("log"),
        EmbeddedOptions::default(),
        Upcasters::default(),
    )?);
    let started = Instant::now();
    let days = fill(log.clone(), employees).await?;
    println!(
        "filled {employees} members × {days} work days ({} attendance commits) in {:.1} s\n",
        employees * days,
        started.elapsed().as_secs_f64()
    );
    let sqlite = SqlReadModel::connect(&infra::readmodel::sql::sqlite_url(&dir.path().join("read.db"))?).await?;
    measure("SQLite (embedded)", log.clone(), sqlite, employees).await?;
    if let Some(url) = mysql {
        let store = SqlReadModel::connect(&url).await?;
        measure("MySQL/MariaDB", log, store, employees).await?;
    }
    Ok(())
}
