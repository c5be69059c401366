//! 근태 — attendance: check-in and check-out, work schedules, and what a day and a week come
//! to (late, early leave, absence, regular / overtime / night minutes, the 52-hour week).
//!
//! ## One stream per employee per work day
//!
//! [`AttendanceDay`] is the aggregate of one employee's one work day (stream id
//! `{employee}/{YYYY-MM-DD}`, see [`AttendanceDay::stream_id`]). A day is the unit everything
//! is judged on — lateness, absence, overtime, a correction's approval document — so a day's
//! stream holds exactly what those need and never grows past a few events: a check-in loads a
//! handful of events and appends one, whatever the employee's history. A per-employee stream
//! would make every check-in fold years of shifts (or need snapshots) for the one rule that
//! crosses days. That rule — one open shift at a time across midnight — is kept the way the
//! rest of the domain keeps cross-stream rules: the caller looks at the previous day's stream
//! and carries what it found in the command ([`AttendanceCommand::CheckIn::open_elsewhere`]).
//! A shift that runs past midnight belongs to the day it started on, and is checked out there.
//!
//! ## Whose clock
//!
//! Every check-in and check-out is stamped with the `at` of the command, which the edge fills
//! from **its own clock** when the request arrives. A time sent by the client (browser, phone,
//! kiosk) is never used: it could be set to anything, and attendance decides pay. A wrong
//! stamp is fixed by a correction ([`AttendanceCommand::Correct`]) that cites the approval
//! document (근태 정정 신청) that authorised it; the stamped events stay in the log beside it.
//!
//! Times are UTC; the company's time zone is a parameter ([`KST`], +09:00, by default), used
//! to tell which day a check-in belongs to and where 22:00–06:00 (night work) falls.

mod assess;
mod day;
mod schedule;
mod shift;

pub use assess::{
    assess_day, week_start, weekly_hours, ApprovedLeave, DayAssessment, WeeklyHours, WeeklyState, WorkedMinutes,
    WEEKLY_LIMIT_MINUTES, WEEKLY_WARNING_MINUTES,
};
pub use day::{
    AttendanceCommand, AttendanceDay, AttendanceError, AttendanceEvent, Correction, WeekContext, MAX_SHIFTS,
    MAX_SHIFT_HOURS,
};
pub use schedule::{CoreHours, DepartmentSchedules, ScheduleError, WorkSchedule, KST};
pub use shift::Shift;
