//! The attendance day aggregate: one employee's check-ins, check-outs and corrections on one
//! work day.

use super::shift::Shift;
use super::{week_start, weekly_hours, ApprovedLeave, DayAssessment, WeeklyState, WorkSchedule, WorkedMinutes};
use crate::actor::{Actor, Role};
use crate::aggregate::{Aggregate, EventType};
use crate::ids::{ApprovalId, EmployeeId};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Most shifts in one day (the stream stays small).
pub const MAX_SHIFTS: usize = 10;

/// Longest shift a check-out may close; a longer one was a forgotten check-out, for a
/// correction to fix.
pub const MAX_SHIFT_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq)]
pub enum AttendanceCommand {
    /// 출근. `day` is the company-local date of `at`; `open_elsewhere` is the day of a shift
    /// still open in another day's stream (the day before), as the caller found it;
    /// `schedule` is the employee's department's work schedule, which the day records (the
    /// day's first check-in fixes it, so a later change of schedule never re-judges it).
    CheckIn {
        employee: EmployeeId,
        day: NaiveDate,
        offset: FixedOffset,
        open_elsewhere: Option<NaiveDate>,
        schedule: Option<WorkSchedule>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 퇴근: closes the open shift of `day`. With `week`, a check-out that takes the week to
    /// the 48-hour warning or past the 52-hour limit also reports it.
    CheckOut {
        employee: EmployeeId,
        day: NaiveDate,
        week: Option<WeekContext>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 근태 정정: replaces the day's shifts as the approved document `document` says. The
    /// caller looks the document up and says whether it is finally approved. An HR admin
    /// may apply any approved correction; with `on_final_approval` the process manager
    /// applies a 근태 정정 document as its final approval happens, `by` its final approver —
    /// the approval line is the authority then. `schedule` is the employee's department's,
    /// which a day that has none yet records (a day never checked into).
    Correct {
        employee: EmployeeId,
        day: NaiveDate,
        shifts: Vec<Shift>,
        document: ApprovalId,
        document_approved: bool,
        on_final_approval: bool,
        schedule: Option<WorkSchedule>,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
}

/// What a check-out needs to know of the rest of its week, as the caller read it: the
/// worked minutes of the week's other days, the schedule this day is judged by, the company's
/// offset, and whom a week nearing its limit is reported to (the head of the employee's
/// department, or of the nearest one above that has one: who sees their attendance).
#[derive(Debug, Clone, PartialEq)]
pub struct WeekContext {
    pub other_days: Vec<WorkedMinutes>,
    pub schedule: WorkSchedule,
    pub offset: FixedOffset,
    pub manager: Option<EmployeeId>,
}

/// Facts about one employee's work day. Check-ins and check-outs are the employee's own, so
/// they name no other actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AttendanceEvent {
    #[serde(rename = "attendance.checked_in")]
    CheckedIn {
        employee: EmployeeId,
        day: NaiveDate,
        at: DateTime<Utc>,
        /// The department's schedule, when it has its own (absent: the standard day).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schedule: Option<WorkSchedule>,
    },
    #[serde(rename = "attendance.checked_out")]
    CheckedOut {
        employee: EmployeeId,
        day: NaiveDate,
        at: DateTime<Utc>,
    },
    /// The day's shifts as the approval document `document` corrected them. The stamped
    /// check-ins and check-outs stay in the log.
    #[serde(rename = "attendance.day_corrected")]
    DayCorrected {
        employee: EmployeeId,
        day: NaiveDate,
        shifts: Vec<Shift>,
        document: ApprovalId,
        reason: String,
        by: EmployeeId,
        at: DateTime<Utc>,
        /// The department's schedule, for a day that had none recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schedule: Option<WorkSchedule>,
    },
    /// The check-out at `at` took the week starting `week` to `minutes` worked, into `state`
    /// (주 52시간); the employee and `manager` are told.
    #[serde(rename = "attendance.weekly_hours_reported")]
    WeeklyHoursReported {
        employee: EmployeeId,
        week: NaiveDate,
        minutes: u32,
        state: WeeklyState,
        manager: Option<EmployeeId>,
        at: DateTime<Utc>,
    },
}

impl EventType for AttendanceEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::CheckedIn { .. } => "attendance.checked_in",
            Self::CheckedOut { .. } => "attendance.checked_out",
            Self::DayCorrected { .. } => "attendance.day_corrected",
            Self::WeeklyHoursReported { .. } => "attendance.weekly_hours_reported",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttendanceError {
    /// 403: an employee checks in and out for themselves.
    #[error("employees check in and out only for themselves")]
    NotSelf,
    /// 403
    #[error("only an HR admin may correct attendance")]
    NotHrAdmin,
    /// 422: a stream holds one employee's day.
    #[error("this attendance day belongs to another employee")]
    WrongEmployee,
    /// 422: the check-in is not on this day in the company's time zone, or the stream is
    /// another day's.
    #[error("the time is not on this work day")]
    WrongDay,
    /// 409: one open shift at a time.
    #[error("already checked in")]
    AlreadyCheckedIn,
    /// 409: the shift opened on `day` has not been checked out.
    #[error("the shift of {day} is still open")]
    OpenShiftElsewhere { day: NaiveDate },
    /// 409
    #[error("not checked in")]
    NotCheckedIn,
    /// 422: a stamp earlier than the last one (the clocks of two servers disagree).
    #[error("the time is before the day's last check-in or check-out")]
    OutOfOrder,
    /// 422: a forgotten check-out is corrected, not closed days later.
    #[error("a shift lasts at most {MAX_SHIFT_HOURS} hours")]
    ShiftTooLong,
    /// 422
    #[error("at most {MAX_SHIFTS} shifts a day")]
    TooManyShifts,
    /// 409: a correction needs its approval document finally approved.
    #[error("the correction's approval document is not approved")]
    DocumentNotApproved,
    /// 422
    #[error("a correction needs a reason")]
    ReasonRequired,
    /// 422: corrected shifts are closed, in order, not overlapping, each within a day.
    #[error("corrected shifts must be closed, in order and not overlapping")]
    InvalidShifts,
}

impl crate::Refusal for AttendanceError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use AttendanceError as E;
        match self {
            E::NotSelf => (Forbidden, "not_self"),
            E::NotHrAdmin => (Forbidden, "not_hr_admin"),
            E::WrongEmployee => (Invalid, "wrong_employee"),
            E::WrongDay => (Invalid, "wrong_work_day"),
            E::AlreadyCheckedIn => (Conflict, "already_checked_in"),
            E::OpenShiftElsewhere { .. } => (Conflict, "open_shift_elsewhere"),
            E::NotCheckedIn => (Conflict, "not_checked_in"),
            E::OutOfOrder => (Invalid, "attendance_out_of_order"),
            E::ShiftTooLong => (Invalid, "shift_too_long"),
            E::TooManyShifts => (Invalid, "too_many_shifts"),
            E::DocumentNotApproved => (Conflict, "document_not_approved"),
            E::ReasonRequired => (Invalid, "reason_required"),
            E::InvalidShifts => (Invalid, "invalid_shifts"),
        }
    }
}

/// A correction applied to the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub document: ApprovalId,
    pub reason: String,
    pub shifts: Vec<Shift>,
    pub by: EmployeeId,
    pub at: DateTime<Utc>,
}

/// One employee's work day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendanceDay {
    pub employee: Option<EmployeeId>,
    pub day: Option<NaiveDate>,
    /// Shifts as stamped, never amended.
    pub punched: Vec<Shift>,
    /// Shifts in force: the last correction's, then any stamped after it.
    pub shifts: Vec<Shift>,
    pub corrections: Vec<Correction>,
    /// The schedule the day is judged by, as its first check-in recorded it (`None`: the
    /// standard day).
    #[serde(default)]
    pub schedule: Option<WorkSchedule>,
}

impl AttendanceDay {
    /// The stream of `employee`'s `day`.
    pub fn stream_id(employee: EmployeeId, day: NaiveDate) -> String {
        format!("{employee}/{day}")
    }

    /// The shift in force that is still open.
    pub fn open_shift(&self) -> Option<&Shift> {
        self.shifts.last().filter(|s| s.is_open())
    }

    fn owner(&self, employee: EmployeeId, day: NaiveDate) -> Result<(), AttendanceError> {
        if self.employee.is_some_and(|e| e != employee) {
            return Err(AttendanceError::WrongEmployee);
        }
        if self.day.is_some_and(|d| d != day) {
            return Err(AttendanceError::WrongDay);
        }
        Ok(())
    }

    /// The schedule the day is judged by: the one it recorded, else the standard day.
    pub fn schedule(&self) -> WorkSchedule {
        self.schedule.clone().unwrap_or_else(WorkSchedule::standard)
    }

    /// What the day comes to under `schedule` (see [`super::assess_day`]); `day` is this
    /// stream's day, which an empty stream (an absence) cannot say itself.
    pub fn assess(
        &self,
        day: NaiveDate,
        schedule: &WorkSchedule,
        holiday: bool,
        leave: &[ApprovedLeave],
        offset: FixedOffset,
    ) -> DayAssessment {
        super::assess_day(schedule, day, holiday, &self.shifts, leave, offset)
    }

    /// The report due when `checked_out` moves the week into a higher [`WeeklyState`].
    fn week_report(
        &self,
        day: NaiveDate,
        checked_out: &AttendanceEvent,
        week: &WeekContext,
    ) -> Option<AttendanceEvent> {
        let AttendanceEvent::CheckedOut { employee, at, .. } = checked_out else {
            return None;
        };
        let mut after = self.clone();
        after.evolve(checked_out);
        let hours = |d: &AttendanceDay| {
            let today = d.assess(day, &week.schedule, false, &[], week.offset).worked;
            let days: Vec<WorkedMinutes> = week.other_days.iter().copied().chain([today]).collect();
            weekly_hours(&days)
        };
        let (before, now) = (hours(self), hours(&after));
        (now.state > before.state).then(|| AttendanceEvent::WeeklyHoursReported {
            employee: *employee,
            week: week_start(day),
            minutes: now.minutes,
            state: now.state,
            manager: week.manager,
            at: *at,
        })
    }

    fn last_stamp(&self) -> Option<DateTime<Utc>> {
        self.shifts.last().map(|s| s.end.unwrap_or(s.start))
    }
}

fn valid_shifts(shifts: &[Shift]) -> Result<(), AttendanceError> {
    if shifts.len() > MAX_SHIFTS {
        return Err(AttendanceError::TooManyShifts);
    }
    let mut previous_end: Option<DateTime<Utc>> = None;
    for shift in shifts {
        let Some(end) = shift.end else {
            return Err(AttendanceError::InvalidShifts);
        };
        let ordered = end > shift.start && previous_end.is_none_or(|p| p <= shift.start);
        if !ordered || end - shift.start > chrono::Duration::hours(MAX_SHIFT_HOURS) {
            return Err(AttendanceError::InvalidShifts);
        }
        previous_end = Some(end);
    }
    Ok(())
}

impl Aggregate for AttendanceDay {
    type Command = AttendanceCommand;
    type Event = AttendanceEvent;
    type Error = AttendanceError;

    fn decide(&self, command: &AttendanceCommand) -> Result<Vec<AttendanceEvent>, AttendanceError> {
        use AttendanceCommand as C;
        use AttendanceEvent as E;
        let event = match command {
            C::CheckIn {
                employee,
                day,
                offset,
                open_elsewhere,
                schedule,
                by,
                at,
            } => {
                if by.id != *employee {
                    return Err(AttendanceError::NotSelf);
                }
                self.owner(*employee, *day)?;
                if at.with_timezone(offset).date_naive() != *day {
                    return Err(AttendanceError::WrongDay);
                }
                if self.open_shift().is_some() {
                    return Err(AttendanceError::AlreadyCheckedIn);
                }
                if let Some(open) = open_elsewhere.filter(|d| d != day) {
                    return Err(AttendanceError::OpenShiftElsewhere { day: open });
                }
                if self.shifts.len() >= MAX_SHIFTS {
                    return Err(AttendanceError::TooManyShifts);
                }
                if self.last_stamp().is_some_and(|last| *at < last) {
                    return Err(AttendanceError::OutOfOrder);
                }
                E::CheckedIn {
                    employee: *employee,
                    day: *day,
                    at: *at,
                    // Recorded once: the first schedule the day hears of is the day's.
                    schedule: if self.schedule.is_none() {
                        schedule.clone()
                    } else {
                        None
                    },
                }
            }
            C::CheckOut {
                employee,
                day,
                week,
                by,
                at,
            } => {
                if by.id != *employee {
                    return Err(AttendanceError::NotSelf);
                }
                self.owner(*employee, *day)?;
                let open = self.open_shift().ok_or(AttendanceError::NotCheckedIn)?;
                if *at < open.start {
                    return Err(AttendanceError::OutOfOrder);
                }
                if *at - open.start > chrono::Duration::hours(MAX_SHIFT_HOURS) {
                    return Err(AttendanceError::ShiftTooLong);
                }
                let checked_out = E::CheckedOut {
                    employee: *employee,
                    day: *day,
                    at: *at,
                };
                let report = week
                    .as_ref()
                    .and_then(|week| self.week_report(*day, &checked_out, week));
                return Ok(std::iter::once(checked_out).chain(report).collect());
            }
            C::Correct {
                employee,
                day,
                shifts,
                document,
                document_approved,
                on_final_approval,
                schedule,
                reason,
                by,
                at,
            } => {
                if !by.has(Role::HrAdmin) && !on_final_approval {
                    return Err(AttendanceError::NotHrAdmin);
                }
                self.owner(*employee, *day)?;
                if self.corrections.iter().any(|c| c.document == *document) {
                    return Ok(Vec::new());
                }
                if !document_approved {
                    return Err(AttendanceError::DocumentNotApproved);
                }
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(AttendanceError::ReasonRequired);
                }
                valid_shifts(shifts)?;
                E::DayCorrected {
                    employee: *employee,
                    day: *day,
                    shifts: shifts.clone(),
                    document: *document,
                    reason: reason.to_owned(),
                    by: by.id,
                    at: *at,
                    schedule: if self.schedule.is_none() {
                        schedule.clone()
                    } else {
                        None
                    },
                }
            }
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &AttendanceEvent) {
        match event {
            AttendanceEvent::CheckedIn {
                employee,
                day,
                at,
                schedule,
            } => {
                self.employee = Some(*employee);
                self.day = Some(*day);
                if schedule.is_some() {
                    self.schedule = schedule.clone();
                }
                let shift = Shift { start: *at, end: None };
                self.punched.push(shift);
                self.shifts.push(shift);
            }
            AttendanceEvent::CheckedOut { employee, day, at } => {
                self.employee = Some(*employee);
                self.day = Some(*day);
                for shifts in [&mut self.punched, &mut self.shifts] {
                    if let Some(open) = shifts.last_mut().filter(|s| s.is_open()) {
                        open.end = Some(*at);
                    }
                }
            }
            AttendanceEvent::DayCorrected {
                employee,
                day,
                shifts,
                document,
                reason,
                by,
                at,
                schedule,
            } => {
                self.employee = Some(*employee);
                self.day = Some(*day);
                self.shifts = shifts.clone();
                if schedule.is_some() {
                    self.schedule = schedule.clone();
                }
                self.corrections.push(Correction {
                    document: *document,
                    reason: reason.clone(),
                    shifts: shifts.clone(),
                    by: *by,
                    at: *at,
                });
            }
            // A report changes nothing of the day: it tells people.
            AttendanceEvent::WeeklyHoursReported { .. } => {}
        }
    }
}
