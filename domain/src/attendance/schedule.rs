//! Work schedules (근무 일정): a value type each department is given, with an optional core
//! time for flexible hours (시차 출퇴근).

use crate::ids::DepartmentId;
use chrono::{Datelike, FixedOffset, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Korea Standard Time, +09:00: the company time zone unless configured otherwise.
pub const KST: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
    Some(offset) => offset,
    None => panic!("+09:00 is a valid offset"),
};

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("a valid time of day"),
    }
}

/// The hours everyone must be at work on a flexible schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// A day's schedule, in company-local time. Without core hours the day is fixed: arrive by
/// `start`, leave no earlier than `end`. With core hours the employee picks their start: they
/// arrive by the core start and stay the schedule's span (`end − start`) and at least until
/// the core end. Overnight schedules (end before start) are not modelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkSchedule {
    pub start: NaiveTime,
    pub end: NaiveTime,
    /// Unpaid break within the day (휴게시간).
    pub break_minutes: u32,
    #[serde(default)]
    pub core: Option<CoreHours>,
    /// The days of the week worked (holidays come from the company calendar).
    pub work_days: Vec<Weekday>,
}

/// Why a schedule is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// 422
    #[error("a work day ends after it starts")]
    EndBeforeStart,
    /// 422
    #[error("the break must be shorter than the day")]
    BreakTooLong,
    /// 422
    #[error("core hours lie within the day and end after they start")]
    InvalidCore,
    /// 422
    #[error("a schedule works on at least one day of the week")]
    NoWorkDays,
}

impl crate::Refusal for ScheduleError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::Invalid;
        match self {
            Self::EndBeforeStart => (Invalid, "schedule_end_before_start"),
            Self::BreakTooLong => (Invalid, "schedule_break_too_long"),
            Self::InvalidCore => (Invalid, "schedule_invalid_core"),
            Self::NoWorkDays => (Invalid, "schedule_no_work_days"),
        }
    }
}

const WEEKDAYS: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

impl WorkSchedule {
    /// A checked schedule.
    pub fn new(
        start: NaiveTime,
        end: NaiveTime,
        break_minutes: u32,
        core: Option<CoreHours>,
        work_days: Vec<Weekday>,
    ) -> Result<Self, ScheduleError> {
        if end <= start {
            return Err(ScheduleError::EndBeforeStart);
        }
        let schedule = Self {
            start,
            end,
            break_minutes,
            core,
            work_days,
        };
        if break_minutes >= schedule.span_minutes() {
            return Err(ScheduleError::BreakTooLong);
        }
        if core.is_some_and(|c| c.end <= c.start || c.start < start || c.end > end) {
            return Err(ScheduleError::InvalidCore);
        }
        if schedule.work_days.is_empty() {
            return Err(ScheduleError::NoWorkDays);
        }
        Ok(schedule)
    }

    /// 09:00–18:00 with an hour's break, Monday to Friday.
    pub fn standard() -> Self {
        Self {
            start: hm(9, 0),
            end: hm(18, 0),
            break_minutes: 60,
            core: None,
            work_days: WEEKDAYS.to_vec(),
        }
    }

    /// The standard day made flexible around core hours 10:00–16:00: arrive by 10:00, stay
    /// nine hours (eight and the break) and at least until 16:00.
    pub fn flexible_standard() -> Self {
        Self {
            core: Some(CoreHours {
                start: hm(10, 0),
                end: hm(16, 0),
            }),
            ..Self::standard()
        }
    }

    /// Minutes from start to end, break included.
    pub fn span_minutes(&self) -> u32 {
        u32::try_from((self.end - self.start).num_minutes()).unwrap_or(0)
    }

    /// Scheduled working minutes: the span less the break.
    pub fn net_minutes(&self) -> u32 {
        self.span_minutes().saturating_sub(self.break_minutes)
    }

    pub fn is_flexible(&self) -> bool {
        self.core.is_some()
    }

    /// Whether `day` is a work day of the week (holidays aside).
    pub fn works_on(&self, day: NaiveDate) -> bool {
        self.work_days.contains(&day.weekday())
    }
}

impl Default for WorkSchedule {
    fn default() -> Self {
        Self::standard()
    }
}

/// The company's schedules: one per department that has its own, the default for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentSchedules {
    pub default: WorkSchedule,
    #[serde(default)]
    pub departments: BTreeMap<DepartmentId, WorkSchedule>,
}

impl DepartmentSchedules {
    /// The schedules departments set, from each one's id, parent and own schedule: each
    /// department works its own, else its nearest ancestor's, else the standard day.
    pub fn resolve(
        departments: impl IntoIterator<Item = (DepartmentId, Option<DepartmentId>, Option<WorkSchedule>)>,
    ) -> Self {
        let by_id: BTreeMap<DepartmentId, (Option<DepartmentId>, Option<WorkSchedule>)> = departments
            .into_iter()
            .map(|(id, parent, schedule)| (id, (parent, schedule)))
            .collect();
        let resolved = by_id
            .keys()
            .filter_map(|id| {
                // Up the tree, at most as many steps as there are departments (a tree has no
                // cycle, but the bound costs nothing).
                let mut at = Some(*id);
                for _ in 0..=by_id.len() {
                    let (parent, schedule) = by_id.get(&at?)?;
                    if let Some(schedule) = schedule {
                        return Some((*id, schedule.clone()));
                    }
                    at = *parent;
                }
                None
            })
            .collect();
        Self {
            default: WorkSchedule::standard(),
            departments: resolved,
        }
    }

    /// The schedule an employee of `department` works.
    pub fn for_department(&self, department: Option<DepartmentId>) -> &WorkSchedule {
        department
            .and_then(|d| self.departments.get(&d))
            .unwrap_or(&self.default)
    }
}
