//! What a day and a week come to: pure functions of the schedule, the day's shifts and the
//! leave approved for it.
//!
//! - **Late** (지각): the first check-in after the expected start (the schedule's start, the
//!   core start on a flexible schedule, later by any morning leave). Whole minutes: a check-in
//!   within the first minute is on time.
//! - **Early leave** (조퇴): the last check-out before the expected end (the schedule's end, or
//!   on a flexible schedule the later of the core end and the first check-in plus the span;
//!   earlier by any afternoon leave).
//! - **Absence** (결근): a work day with no shift and no full day of approved leave.
//! - **Worked minutes**: the closed shifts, less the schedule's break when the day is longer
//!   than four hours (근로기준법 제54조; time between shifts counts as break taken). On a work
//!   day, minutes up to the scheduled day (at most eight hours, 제50조) are *regular*, the rest
//!   *overtime* (연장근로); on a day off every minute is overtime (휴일근로 counts toward the
//!   weekly limit the same way). *Night* minutes (야간근로, 22:00–06:00 company-local) are
//!   counted apart and overlap the other two: the Act adds the night premium on top of either.
//! - **The 52-hour week** (주 52시간, 제53조): [`weekly_hours`] over the seven days of a week.

use super::schedule::WorkSchedule;
use super::shift::Shift;
use crate::leave::LeaveUnit;
use chrono::{DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// Regular hours a day at most (제50조제2항).
const DAILY_REGULAR_MINUTES: u32 = 8 * 60;

/// A day longer than this owes a break (제54조).
const BREAK_AFTER_MINUTES: u32 = 4 * 60;

/// The weekly limit: 40 regular and 12 overtime hours (제53조).
pub const WEEKLY_LIMIT_MINUTES: u32 = 52 * 60;

/// Warn from 48 hours, before the limit is crossed.
pub const WEEKLY_WARNING_MINUTES: u32 = 48 * 60;

/// Leave approved for (part of) a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "unit", rename_all = "snake_case")]
pub enum ApprovedLeave {
    FullDay,
    /// 오전 반차 / 반반차: the day starts later by the unit.
    Morning(LeaveUnit),
    /// 오후 반차 / 반반차: the day ends earlier by the unit.
    Afternoon(LeaveUnit),
}

/// A day's worked minutes. `night` overlaps `regular` and `overtime`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkedMinutes {
    pub regular: u32,
    pub overtime: u32,
    pub night: u32,
}

impl WorkedMinutes {
    /// Minutes worked (regular and overtime; night is within them).
    pub fn total(&self) -> u32 {
        self.regular + self.overtime
    }
}

/// What one day comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayAssessment {
    pub day: NaiveDate,
    /// A scheduled work day that is not a holiday.
    pub work_day: bool,
    /// A full day of approved leave.
    pub on_leave: bool,
    pub absent: bool,
    pub late_minutes: u32,
    pub early_leave_minutes: u32,
    /// A shift is still open: worked minutes count only closed shifts, and early leave is not
    /// judged until it closes.
    pub missing_check_out: bool,
    pub worked: WorkedMinutes,
}

impl DayAssessment {
    pub fn is_late(&self) -> bool {
        self.late_minutes > 0
    }

    pub fn left_early(&self) -> bool {
        self.early_leave_minutes > 0
    }

    /// Present (or on leave) on a work day, neither late nor gone early, and checked out; any
    /// day off is.
    pub fn on_time(&self) -> bool {
        !self.work_day
            || self.on_leave
            || (!self.absent && !self.is_late() && !self.left_early() && !self.missing_check_out)
    }
}

fn minutes(duration: Duration) -> u32 {
    u32::try_from(duration.num_minutes()).unwrap_or(if duration > Duration::zero() { u32::MAX } else { 0 })
}

fn local(at: DateTime<Utc>, offset: FixedOffset) -> NaiveDateTime {
    at.with_timezone(&offset).naive_local()
}

/// Seconds of `[start, end)` within 22:00–06:00 of any night it touches.
fn night_seconds(start: NaiveDateTime, end: NaiveDateTime) -> i64 {
    let night_start = NaiveTime::MIN + Duration::hours(22);
    let mut total = 0;
    let mut day = start.date().checked_sub_days(Days::new(1)).unwrap_or(start.date());
    while day <= end.date() {
        let from = day.and_time(night_start);
        let until = from + Duration::hours(8);
        let overlap = end.min(until) - start.max(from);
        total += overlap.num_seconds().max(0);
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    total
}

/// What `day` comes to for an employee on `schedule`, given its shifts in force, whether the
/// company calendar makes it a holiday, and the leave approved for it.
pub fn assess_day(
    schedule: &WorkSchedule,
    day: NaiveDate,
    holiday: bool,
    shifts: &[Shift],
    leave: &[ApprovedLeave],
    offset: FixedOffset,
) -> DayAssessment {
    let work_day = schedule.works_on(day) && !holiday;
    let unit_minutes = |pick: fn(&ApprovedLeave) -> Option<LeaveUnit>| -> u32 {
        leave.iter().filter_map(pick).map(LeaveUnit::minutes).sum()
    };
    let morning = unit_minutes(|l| match l {
        ApprovedLeave::Morning(unit) => Some(*unit),
        _ => None,
    });
    let afternoon = unit_minutes(|l| match l {
        ApprovedLeave::Afternoon(unit) => Some(*unit),
        _ => None,
    });
    let on_leave = leave.contains(&ApprovedLeave::FullDay)
        || (morning + afternoon > 0 && morning + afternoon >= schedule.net_minutes());

    let mut closed: Vec<(NaiveDateTime, NaiveDateTime)> = shifts
        .iter()
        .filter_map(|s| Some((local(s.start, offset), local(s.end?, offset))))
        .collect();
    closed.sort();
    let missing_check_out = shifts.iter().any(Shift::is_open);
    let gross: u32 = closed.iter().map(|(s, e)| minutes(*e - *s)).sum();
    let gaps: u32 = closed.windows(2).map(|w| minutes(w[1].0 - w[0].1)).sum();
    let unpaid_break = schedule
        .break_minutes
        .saturating_sub(gaps)
        .min(gross.saturating_sub(BREAK_AFTER_MINUTES));
    let net = gross - unpaid_break;
    let night = closed.iter().map(|(s, e)| night_seconds(*s, *e)).sum::<i64>() / 60;
    let regular_cap = if work_day {
        schedule.net_minutes().min(DAILY_REGULAR_MINUTES)
    } else {
        0
    };
    let worked = WorkedMinutes {
        regular: net.min(regular_cap),
        overtime: net.saturating_sub(regular_cap),
        night: u32::try_from(night).unwrap_or(u32::MAX),
    };

    let mut assessment = DayAssessment {
        day,
        work_day,
        on_leave,
        absent: work_day && !on_leave && shifts.is_empty(),
        late_minutes: 0,
        early_leave_minutes: 0,
        missing_check_out,
        worked,
    };
    if !work_day || on_leave {
        return assessment;
    }
    let Some(first_in) = shifts.iter().map(|s| local(s.start, offset)).min() else {
        return assessment;
    };
    let morning = Duration::minutes(i64::from(morning));
    let afternoon = Duration::minutes(i64::from(afternoon));
    let at = |time: NaiveTime| day.and_time(time);
    let expected_start = at(schedule.core.map_or(schedule.start, |c| c.start)) + morning;
    assessment.late_minutes = minutes(first_in - expected_start);
    if !missing_check_out {
        if let Some(last_out) = closed.iter().map(|(_, e)| *e).max() {
            let expected_end = match schedule.core {
                None => at(schedule.end) - afternoon,
                Some(core) => (at(core.end) - afternoon)
                    .max(first_in + Duration::minutes(i64::from(schedule.span_minutes())) - morning - afternoon),
            };
            assessment.early_leave_minutes = minutes(expected_end - last_out);
        }
    }
    assessment
}

/// Where a week's hours stand against the 52-hour limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeeklyState {
    Within,
    /// At [`WEEKLY_WARNING_MINUTES`] or more, not past the limit: time to stop adding hours.
    Warning,
    /// Past [`WEEKLY_LIMIT_MINUTES`].
    Exceeded,
}

/// A week's worked minutes and their state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    pub minutes: u32,
    pub state: WeeklyState,
}

impl WeeklyHours {
    /// Minutes that may still be worked this week.
    pub fn remaining_minutes(&self) -> u32 {
        WEEKLY_LIMIT_MINUTES.saturating_sub(self.minutes)
    }
}

/// The week's hours from its days' worked minutes (the caller passes the seven days from
/// [`week_start`]).
pub fn weekly_hours(days: &[WorkedMinutes]) -> WeeklyHours {
    let minutes = days.iter().map(WorkedMinutes::total).fold(0u32, u32::saturating_add);
    let state = if minutes > WEEKLY_LIMIT_MINUTES {
        WeeklyState::Exceeded
    } else if minutes >= WEEKLY_WARNING_MINUTES {
        WeeklyState::Warning
    } else {
        WeeklyState::Within
    };
    WeeklyHours { minutes, state }
}

/// The Monday of `day`'s week: a week is seven days including the rest day (제2조제1항제7호).
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        .unwrap_or(day)
}
