//! Work schedules (근무 일정) as GraphQL shows them, resolved down the department tree.

use super::*;

/// The schedules departments work, resolved down the tree.
pub fn schedules(all: &[DepartmentRecord]) -> DepartmentSchedules {
    let id = |s: &str| s.parse().ok().map(domain::ids::DepartmentId);
    DepartmentSchedules::resolve(
        all.iter()
            .filter_map(|d| Some((id(&d.id)?, d.parent.as_deref().and_then(id), d.schedule.clone()))),
    )
}

/// A work schedule: company-local `HH:MM` times.
#[derive(SimpleObject)]
#[graphql(name = "WorkSchedule")]
pub struct WorkScheduleOut {
    pub start: String,
    pub end: String,
    /// Unpaid break (휴게시간), minutes.
    pub break_minutes: i32,
    /// Core hours (코어타임) of a flexible schedule.
    pub core_start: Option<String>,
    pub core_end: Option<String>,
    /// `mon` … `sun`.
    pub work_days: Vec<String>,
}

impl From<&WorkSchedule> for WorkScheduleOut {
    fn from(s: &WorkSchedule) -> Self {
        let hm = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
        Self {
            start: hm(s.start),
            end: hm(s.end),
            break_minutes: i32::try_from(s.break_minutes).unwrap_or(i32::MAX),
            core_start: s.core.map(|c| hm(c.start)),
            core_end: s.core.map(|c| hm(c.end)),
            work_days: s.work_days.iter().map(|d| d.to_string().to_lowercase()).collect(),
        }
    }
}
