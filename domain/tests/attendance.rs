//! Attendance: check-in and check-out on the server's clock, one open shift at a time,
//! corrections by approved document, and what a day and a week come to.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use domain::attendance::{
    assess_day, week_start, weekly_hours, ApprovedLeave, AttendanceCommand as C, AttendanceDay, AttendanceError,
    AttendanceEvent as E, CoreHours, DepartmentSchedules, ScheduleError, Shift, WeeklyState, WorkSchedule,
    WorkedMinutes, KST,
};
use domain::ids::ApprovalId;
use domain::leave::LeaveUnit;
use domain::testkit::{given, kst};
use domain::Role;
use proptest::prelude::*;
use support::*;
use uuid::Uuid;

/// Tuesday 3 March 2026.
fn tuesday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 3).unwrap()
}

/// `hh:mm` KST on Tuesday 3 March 2026 (hours past 24 run into the next day).
fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    kst(2026, 3, 3, 0, 0) + Duration::minutes(i64::from(hour * 60 + minute))
}

fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

fn check_in(when: DateTime<Utc>) -> C {
    C::CheckIn {
        employee: ALICE,
        day: tuesday(),
        offset: KST,
        open_elsewhere: None,
        schedule: None,
        by: actor(ALICE),
        at: when,
    }
}

fn check_out(when: DateTime<Utc>) -> C {
    C::CheckOut {
        employee: ALICE,
        day: tuesday(),
        week: None,
        by: actor(ALICE),
        at: when,
    }
}

fn checked_in(when: DateTime<Utc>) -> E {
    E::CheckedIn {
        employee: ALICE,
        day: tuesday(),
        at: when,
        schedule: None,
    }
}

fn checked_out(when: DateTime<Utc>) -> E {
    E::CheckedOut {
        employee: ALICE,
        day: tuesday(),
        at: when,
    }
}

// Check-in and check-out.

#[test]
fn a_check_in_is_stamped_with_the_time_the_command_carries() {
    let state = given::<AttendanceDay>([])
        .when(check_in(at(8, 55)))
        .then([checked_in(at(8, 55))]);
    assert_eq!(state.open_shift().unwrap().start, at(8, 55));
    assert_eq!(
        AttendanceDay::stream_id(ALICE, tuesday()),
        format!("{ALICE}/2026-03-03")
    );
}

#[test]
fn a_second_check_in_while_a_shift_is_open_is_refused() {
    given::<AttendanceDay>([checked_in(at(8, 55))])
        .when(check_in(at(9, 10)))
        .then_err(AttendanceError::AlreadyCheckedIn);
}

#[test]
fn a_check_in_is_refused_while_the_previous_days_shift_is_still_open() {
    let yesterday = tuesday().pred_opt().unwrap();
    given::<AttendanceDay>([])
        .when(C::CheckIn {
            employee: ALICE,
            day: tuesday(),
            offset: KST,
            open_elsewhere: Some(yesterday),
            schedule: None,
            by: actor(ALICE),
            at: at(8, 55),
        })
        .then_err(AttendanceError::OpenShiftElsewhere { day: yesterday });
}

#[test]
fn checking_out_without_checking_in_is_refused() {
    given::<AttendanceDay>([])
        .when(check_out(at(18, 0)))
        .then_err(AttendanceError::NotCheckedIn);
    given::<AttendanceDay>([checked_in(at(9, 0)), checked_out(at(12, 0))])
        .when(check_out(at(18, 0)))
        .then_err(AttendanceError::NotCheckedIn);
}

#[test]
fn a_check_out_closes_the_open_shift_and_another_shift_may_follow() {
    let state = given::<AttendanceDay>([checked_in(at(9, 0))])
        .when(check_out(at(12, 0)))
        .then([checked_out(at(12, 0))]);
    assert_eq!(state.shifts, vec![Shift::closed(at(9, 0), at(12, 0))]);
    given::<AttendanceDay>([checked_in(at(9, 0)), checked_out(at(12, 0))])
        .when(check_in(at(13, 0)))
        .then([checked_in(at(13, 0))]);
}

#[test]
fn employees_check_in_and_out_only_for_themselves() {
    given::<AttendanceDay>([])
        .when(C::CheckIn {
            employee: ALICE,
            day: tuesday(),
            offset: KST,
            open_elsewhere: None,
            schedule: None,
            by: actor(BOB).with_role(Role::Manager),
            at: at(9, 0),
        })
        .then_err(AttendanceError::NotSelf);
}

#[test]
fn a_check_in_belongs_to_its_day_in_the_company_time_zone() {
    // 23:30 UTC on 3 March is 08:30 on 4 March in Seoul.
    let morning_in_seoul = kst(2026, 3, 4, 8, 30);
    given::<AttendanceDay>([])
        .when(check_in(morning_in_seoul))
        .then_err(AttendanceError::WrongDay);
    let utc = FixedOffset::east_opt(0).unwrap();
    given::<AttendanceDay>([])
        .when(C::CheckIn {
            employee: ALICE,
            day: tuesday(),
            offset: utc,
            open_elsewhere: None,
            schedule: None,
            by: actor(ALICE),
            at: morning_in_seoul,
        })
        .then([checked_in(morning_in_seoul)]);
}

#[test]
fn a_shift_past_midnight_is_checked_out_on_the_day_it_started() {
    let state = given::<AttendanceDay>([checked_in(at(18, 0))])
        .when(check_out(at(26, 0)))
        .then([checked_out(at(26, 0))]);
    assert!(state.open_shift().is_none());
}

#[test]
fn a_check_out_more_than_a_day_after_the_check_in_is_refused() {
    given::<AttendanceDay>([checked_in(at(9, 0))])
        .when(check_out(at(33, 1)))
        .then_err(AttendanceError::ShiftTooLong);
}

#[test]
fn a_stamp_before_the_days_last_one_is_refused() {
    given::<AttendanceDay>([checked_in(at(9, 0))])
        .when(check_out(at(8, 59)))
        .then_err(AttendanceError::OutOfOrder);
    given::<AttendanceDay>([checked_in(at(9, 0)), checked_out(at(12, 0))])
        .when(check_in(at(11, 0)))
        .then_err(AttendanceError::OutOfOrder);
}

// Corrections.

const CORRECTION_DOC: ApprovalId = ApprovalId(Uuid::from_u128(700));

fn correct(shifts: Vec<Shift>, approved: bool, reason: &str, by: domain::Actor) -> C {
    C::Correct {
        employee: ALICE,
        day: tuesday(),
        shifts,
        document: CORRECTION_DOC,
        document_approved: approved,
        on_final_approval: false,
        schedule: None,
        reason: reason.into(),
        by,
        at: at(30, 0),
    }
}

fn hr() -> domain::Actor {
    actor(HR).with_role(Role::HrAdmin)
}

#[test]
fn a_correction_amends_the_day_citing_its_approval_document_and_the_stamps_stay() {
    // Checked in late by a broken gate, forgot to check out.
    let nine_to_six = vec![Shift::closed(at(9, 0), at(18, 0))];
    let state = given::<AttendanceDay>([checked_in(at(9, 40))])
        .when(correct(nine_to_six.clone(), true, "출입 게이트 고장", hr()))
        .then([E::DayCorrected {
            employee: ALICE,
            day: tuesday(),
            shifts: nine_to_six.clone(),
            document: CORRECTION_DOC,
            reason: "출입 게이트 고장".into(),
            by: HR,
            at: at(30, 0),
            schedule: None,
        }]);
    assert_eq!(state.shifts, nine_to_six);
    assert_eq!(
        state.punched,
        vec![Shift {
            start: at(9, 40),
            end: None
        }]
    );
    assert_eq!(state.corrections[0].document, CORRECTION_DOC);
    let day = state.assess(tuesday(), &WorkSchedule::standard(), false, &[], KST);
    assert!(day.on_time());
}

#[test]
fn a_correction_needs_an_hr_admin_an_approved_document_and_a_reason() {
    let shifts = vec![Shift::closed(at(9, 0), at(18, 0))];
    given::<AttendanceDay>([])
        .when(correct(
            shifts.clone(),
            true,
            "사유",
            actor(BOB).with_role(Role::Manager),
        ))
        .then_err(AttendanceError::NotHrAdmin);
    given::<AttendanceDay>([])
        .when(correct(shifts.clone(), false, "사유", hr()))
        .then_err(AttendanceError::DocumentNotApproved);
    given::<AttendanceDay>([])
        .when(correct(shifts, true, "  ", hr()))
        .then_err(AttendanceError::ReasonRequired);
}

#[test]
fn correcting_by_the_same_document_again_changes_nothing() {
    let shifts = vec![Shift::closed(at(9, 0), at(18, 0))];
    let history = given::<AttendanceDay>([])
        .when(correct(shifts.clone(), true, "사유", hr()))
        .events();
    given::<AttendanceDay>(history)
        .when(correct(shifts, true, "사유", hr()))
        .then([]);
}

#[test]
fn corrected_shifts_are_closed_in_order_and_not_overlapping() {
    let bad = [
        vec![Shift {
            start: at(9, 0),
            end: None,
        }],
        vec![Shift::closed(at(18, 0), at(9, 0))],
        vec![Shift::closed(at(9, 0), at(13, 0)), Shift::closed(at(12, 0), at(18, 0))],
        vec![Shift::closed(at(9, 0), at(34, 0))],
    ];
    for shifts in bad {
        given::<AttendanceDay>([])
            .when(correct(shifts, true, "사유", hr()))
            .then_err(AttendanceError::InvalidShifts);
    }
}

#[test]
fn a_check_in_after_a_correction_adds_to_the_corrected_day() {
    let corrected = E::DayCorrected {
        employee: ALICE,
        day: tuesday(),
        shifts: vec![Shift::closed(at(9, 0), at(12, 0))],
        document: CORRECTION_DOC,
        reason: "사유".into(),
        by: HR,
        at: at(12, 30),
        schedule: None,
    };
    let state = given::<AttendanceDay>([checked_in(at(9, 30)), corrected])
        .when(check_in(at(13, 0)))
        .state_after();
    assert_eq!(state.shifts.len(), 2);
    assert_eq!(state.punched.len(), 2);
}

// Schedules.

#[test]
fn a_schedule_ends_after_it_starts_with_a_shorter_break_and_core_hours_inside_it() {
    let weekdays = || vec![Weekday::Mon, Weekday::Tue];
    assert_eq!(
        WorkSchedule::new(time(18, 0), time(9, 0), 60, None, weekdays()),
        Err(ScheduleError::EndBeforeStart)
    );
    assert_eq!(
        WorkSchedule::new(time(9, 0), time(10, 0), 60, None, weekdays()),
        Err(ScheduleError::BreakTooLong)
    );
    let core = CoreHours {
        start: time(8, 0),
        end: time(16, 0),
    };
    assert_eq!(
        WorkSchedule::new(time(9, 0), time(18, 0), 60, Some(core), weekdays()),
        Err(ScheduleError::InvalidCore)
    );
    assert_eq!(
        WorkSchedule::new(time(9, 0), time(18, 0), 60, None, vec![]),
        Err(ScheduleError::NoWorkDays)
    );
    let standard = WorkSchedule::new(time(9, 0), time(18, 0), 60, None, weekdays()).unwrap();
    assert_eq!((standard.span_minutes(), standard.net_minutes()), (540, 480));
}

#[test]
fn each_department_works_its_own_schedule_or_the_company_default() {
    let factory = WorkSchedule::new(time(7, 0), time(16, 0), 60, None, vec![Weekday::Mon]).unwrap();
    let schedules = DepartmentSchedules {
        default: WorkSchedule::standard(),
        departments: [(FINANCE, factory.clone())].into(),
    };
    assert_eq!(schedules.for_department(Some(FINANCE)), &factory);
    assert_eq!(schedules.for_department(Some(DEPT)), &WorkSchedule::standard());
    assert_eq!(schedules.for_department(None), &WorkSchedule::standard());
}

// What a day comes to.

fn assess(shifts: &[Shift], leave: &[ApprovedLeave]) -> domain::attendance::DayAssessment {
    assess_day(&WorkSchedule::standard(), tuesday(), false, shifts, leave, KST)
}

#[test]
fn arriving_after_the_start_is_late_by_whole_minutes() {
    let within_the_minute = at(9, 0) + Duration::seconds(59);
    assert!(!assess(&[Shift::closed(within_the_minute, at(18, 0))], &[]).is_late());
    let day = assess(&[Shift::closed(at(9, 7), at(18, 0))], &[]);
    assert_eq!(day.late_minutes, 7);
    assert!(!day.on_time());
}

#[test]
fn leaving_before_the_end_is_early_leave() {
    let day = assess(&[Shift::closed(at(9, 0), at(17, 30))], &[]);
    assert_eq!((day.late_minutes, day.early_leave_minutes), (0, 30));
    assert!(day.left_early());
}

#[test]
fn a_work_day_without_shifts_or_a_full_day_of_leave_is_an_absence() {
    assert!(assess(&[], &[]).absent);
    let on_leave = assess(&[], &[ApprovedLeave::FullDay]);
    assert!(!on_leave.absent && on_leave.on_leave && on_leave.on_time());
    let two_halves = assess(
        &[],
        &[
            ApprovedLeave::Morning(LeaveUnit::Half),
            ApprovedLeave::Afternoon(LeaveUnit::Half),
        ],
    );
    assert!(two_halves.on_leave && !two_halves.absent);
    // A half day off still expects the other half.
    assert!(assess(&[], &[ApprovedLeave::Morning(LeaveUnit::Half)]).absent);
}

#[test]
fn weekends_and_holidays_are_no_absence() {
    let saturday = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
    assert!(!assess_day(&WorkSchedule::standard(), saturday, false, &[], &[], KST).absent);
    let holiday = assess_day(&WorkSchedule::standard(), tuesday(), true, &[], &[], KST);
    assert!(!holiday.work_day && !holiday.absent);
}

#[test]
fn a_morning_half_day_moves_the_expected_start_and_an_afternoon_quarter_day_the_end() {
    let half_morning = [ApprovedLeave::Morning(LeaveUnit::Half)];
    assert_eq!(
        assess(&[Shift::closed(at(13, 0), at(18, 0))], &half_morning).late_minutes,
        0
    );
    assert_eq!(
        assess(&[Shift::closed(at(13, 20), at(18, 0))], &half_morning).late_minutes,
        20
    );
    let quarter_afternoon = [ApprovedLeave::Afternoon(LeaveUnit::Quarter)];
    let day = assess(&[Shift::closed(at(9, 0), at(16, 0))], &quarter_afternoon);
    assert!(day.on_time());
}

#[test]
fn on_a_flexible_schedule_lateness_is_judged_at_the_core_start_and_the_day_lasts_its_span() {
    let flexible = WorkSchedule::flexible_standard();
    let judge = |from: DateTime<Utc>, to: DateTime<Utc>| {
        assess_day(&flexible, tuesday(), false, &[Shift::closed(from, to)], &[], KST)
    };
    let early_bird = judge(at(7, 30), at(16, 30));
    assert!(early_bird.on_time());
    // Arrived 07:30 and left at the core end, 16:00: half an hour short of the nine-hour span.
    assert_eq!(judge(at(7, 30), at(16, 0)).early_leave_minutes, 30);
    assert_eq!(judge(at(9, 30), at(18, 0)).early_leave_minutes, 30);
    assert_eq!(judge(at(10, 5), at(19, 5)).late_minutes, 5);
}

#[test]
fn a_standard_day_is_eight_regular_hours_after_the_break() {
    let day = assess(&[Shift::closed(at(9, 0), at(18, 0))], &[]);
    assert_eq!(
        day.worked,
        WorkedMinutes {
            regular: 480,
            overtime: 0,
            night: 0
        }
    );
}

#[test]
fn minutes_beyond_the_scheduled_day_are_overtime() {
    let day = assess(&[Shift::closed(at(9, 0), at(21, 0))], &[]);
    assert_eq!((day.worked.regular, day.worked.overtime), (480, 180));
}

#[test]
fn a_check_out_for_lunch_counts_as_the_break() {
    let day = assess(
        &[Shift::closed(at(9, 0), at(12, 0)), Shift::closed(at(13, 0), at(18, 0))],
        &[],
    );
    assert_eq!(day.worked.total(), 480);
}

#[test]
fn a_day_of_four_hours_or_less_owes_no_break() {
    assert_eq!(assess(&[Shift::closed(at(9, 0), at(13, 0))], &[]).worked.total(), 240);
}

#[test]
fn an_afternoon_half_day_ends_after_four_hours_of_work_and_the_break() {
    let day = assess(
        &[Shift::closed(at(9, 0), at(14, 0))],
        &[ApprovedLeave::Afternoon(LeaveUnit::Half)],
    );
    assert_eq!(day.worked.total(), 240);
    assert!(day.on_time());
}

#[test]
fn work_between_ten_at_night_and_six_in_the_morning_is_night_work() {
    // 14:00–02:00 KST: 12 hours less the break, of which 22:00–02:00 is night.
    let day = assess(&[Shift::closed(at(14, 0), at(26, 0))], &[]);
    assert_eq!(day.worked.night, 240);
    assert_eq!((day.worked.regular, day.worked.overtime), (480, 180));
    // The same instants in a company on UTC: 05:00–17:00, of which 05:00–06:00 is night.
    let utc = FixedOffset::east_opt(0).unwrap();
    let elsewhere = assess_day(
        &WorkSchedule::standard(),
        tuesday(),
        false,
        &[Shift::closed(at(14, 0), at(26, 0))],
        &[],
        utc,
    );
    assert_eq!(elsewhere.worked.night, 60);
}

#[test]
fn work_on_a_day_off_is_all_overtime() {
    let saturday = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
    let shift = Shift::closed(kst(2026, 3, 7, 10, 0), kst(2026, 3, 7, 14, 0));
    let day = assess_day(&WorkSchedule::standard(), saturday, false, &[shift], &[], KST);
    assert_eq!((day.worked.regular, day.worked.overtime), (0, 240));
}

#[test]
fn an_open_shift_is_neither_counted_nor_judged_early() {
    let day = assess(
        &[Shift {
            start: at(9, 0),
            end: None,
        }],
        &[],
    );
    assert!(day.missing_check_out && !day.left_early() && !day.absent);
    assert_eq!(day.worked.total(), 0);
    assert!(!day.on_time());
}

// The 52-hour week.

fn week_of(hours: &[u32]) -> Vec<WorkedMinutes> {
    hours
        .iter()
        .map(|h| WorkedMinutes {
            regular: (h * 60).min(480),
            overtime: (h * 60).saturating_sub(480),
            night: 0,
        })
        .collect()
}

#[test]
fn a_week_under_forty_eight_hours_is_within_the_limit() {
    let week = weekly_hours(&week_of(&[9, 9, 9, 9, 9]));
    assert_eq!((week.minutes, week.state), (45 * 60, WeeklyState::Within));
    assert_eq!(week.remaining_minutes(), 7 * 60);
}

#[test]
fn from_forty_eight_hours_the_week_warns_before_it_crosses_fifty_two() {
    assert_eq!(weekly_hours(&week_of(&[10, 10, 10, 10, 8])).state, WeeklyState::Warning);
    assert_eq!(
        weekly_hours(&week_of(&[10, 10, 10, 10, 12])).state,
        WeeklyState::Warning
    );
    let mut over = week_of(&[10, 10, 10, 10, 12]);
    over[0].overtime += 1;
    let week = weekly_hours(&over);
    assert_eq!((week.state, week.remaining_minutes()), (WeeklyState::Exceeded, 0));
}

#[test]
fn a_week_runs_from_monday() {
    assert_eq!(week_start(tuesday()), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    let sunday = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
    assert_eq!(week_start(sunday), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
}

proptest! {
    #[test]
    fn worked_and_night_minutes_never_exceed_the_time_between_check_in_and_check_out(
        start in 0u32..(36 * 60),
        length in 1u32..(20 * 60),
        flexible in any::<bool>(),
    ) {
        let shift = Shift::closed(at(0, start), at(0, start + length));
        let schedule = if flexible { WorkSchedule::flexible_standard() } else { WorkSchedule::standard() };
        let day = assess_day(&schedule, tuesday(), false, &[shift], &[], KST);
        prop_assert!(day.worked.total() <= length);
        prop_assert!(day.worked.night <= length);
        prop_assert!(day.worked.regular <= 480);
        prop_assert!(day.worked.total() + schedule.break_minutes >= length);
    }
}

// The 52-hour week reported at check-out.

/// A week's other days: four of 11 worked hours (8 regular, 3 overtime), 44 hours in all.
fn long_week(manager: Option<domain::ids::EmployeeId>) -> domain::attendance::WeekContext {
    domain::attendance::WeekContext {
        other_days: vec![
            WorkedMinutes {
                regular: 8 * 60,
                overtime: 3 * 60,
                night: 0,
            };
            4
        ],
        schedule: WorkSchedule::standard(),
        offset: KST,
        manager,
    }
}

fn check_out_in(week: domain::attendance::WeekContext, when: DateTime<Utc>) -> C {
    C::CheckOut {
        employee: ALICE,
        day: tuesday(),
        week: Some(week),
        by: actor(ALICE),
        at: when,
    }
}

#[test]
fn a_check_out_that_takes_the_week_to_48_hours_reports_it_to_the_employee_and_their_manager() {
    // 44 hours before; 09:00–14:00 less the hour's break adds 4: 48 hours, the warning.
    given::<AttendanceDay>([checked_in(at(9, 0))])
        .when(check_out_in(long_week(Some(BOB)), at(14, 0)))
        .then([
            checked_out(at(14, 0)),
            E::WeeklyHoursReported {
                employee: ALICE,
                week: week_start(tuesday()),
                minutes: 48 * 60,
                state: WeeklyState::Warning,
                manager: Some(BOB),
                at: at(14, 0),
            },
        ]);
    let reported = E::WeeklyHoursReported {
        employee: ALICE,
        week: week_start(tuesday()),
        minutes: 48 * 60,
        state: WeeklyState::Warning,
        manager: Some(BOB),
        at: at(14, 0),
    };
    assert_eq!(
        domain::notice::attendance_notices(&reported),
        vec![
            (ALICE, domain::notice::HrNotice::WeeklyHoursWarning),
            (BOB, domain::notice::HrNotice::WeeklyHoursWarning)
        ]
    );
}

#[test]
fn a_check_out_that_leaves_the_week_in_its_state_reports_nothing() {
    // 44 + 3 (09:00–12:00) = 47 hours: still within.
    given::<AttendanceDay>([checked_in(at(9, 0))])
        .when(check_out_in(long_week(Some(BOB)), at(12, 0)))
        .then([checked_out(at(12, 0))]);
    // Already warned by the morning's shift: a second shift past 48 but not 52 tells no one again.
    given::<AttendanceDay>([checked_in(at(9, 0)), checked_out(at(14, 0)), checked_in(at(15, 0))])
        .when(check_out_in(long_week(None), at(16, 0)))
        .then([checked_out(at(16, 0))]);
}

#[test]
fn passing_52_hours_is_reported_again_as_exceeded() {
    given::<AttendanceDay>([checked_in(at(9, 0)), checked_out(at(14, 0)), checked_in(at(15, 0))])
        .when(check_out_in(long_week(None), at(21, 0)))
        .then([
            checked_out(at(21, 0)),
            E::WeeklyHoursReported {
                employee: ALICE,
                week: week_start(tuesday()),
                // 44 hours, and 11 this day as the standard schedule counts it.
                minutes: 55 * 60,
                state: WeeklyState::Exceeded,
                manager: None,
                at: at(21, 0),
            },
        ]);
}

// Schedules per department.

fn ten_to_seven() -> WorkSchedule {
    WorkSchedule::new(time(10, 0), time(19, 0), 60, None, WorkSchedule::standard().work_days).unwrap()
}

fn check_in_under(schedule: Option<WorkSchedule>, when: DateTime<Utc>) -> C {
    C::CheckIn {
        employee: ALICE,
        day: tuesday(),
        offset: KST,
        open_elsewhere: None,
        schedule,
        by: actor(ALICE),
        at: when,
    }
}

#[test]
fn the_first_check_in_records_the_departments_schedule_and_the_day_is_judged_by_it() {
    let state = given::<AttendanceDay>([])
        .when(check_in_under(Some(ten_to_seven()), at(9, 50)))
        .then([E::CheckedIn {
            employee: ALICE,
            day: tuesday(),
            at: at(9, 50),
            schedule: Some(ten_to_seven()),
        }]);
    assert_eq!(state.schedule(), ten_to_seven());
    let day = state.assess(tuesday(), &state.schedule(), false, &[], KST);
    assert!(!day.is_late(), "09:50 is early for a 10:00 start: {day:?}");
    // The standard day would have judged the same arrival late.
    assert!(state
        .assess(tuesday(), &WorkSchedule::standard(), false, &[], KST)
        .is_late());
}

#[test]
fn a_later_check_in_does_not_change_the_days_schedule_and_the_standard_day_is_recorded_too() {
    let first = E::CheckedIn {
        employee: ALICE,
        day: tuesday(),
        at: at(9, 50),
        schedule: Some(ten_to_seven()),
    };
    given::<AttendanceDay>([first.clone(), checked_out(at(12, 0))])
        .when(check_in_under(Some(WorkSchedule::standard()), at(13, 0)))
        .then([checked_in(at(13, 0))]);
    // The standard day is recorded like any other: a department given a schedule later does
    // not re-judge the days worked before it.
    given::<AttendanceDay>([])
        .when(check_in_under(Some(WorkSchedule::standard()), at(8, 55)))
        .then([E::CheckedIn {
            employee: ALICE,
            day: tuesday(),
            at: at(8, 55),
            schedule: Some(WorkSchedule::standard()),
        }]);
}

#[test]
fn a_correction_of_a_day_never_checked_into_records_the_departments_schedule() {
    let shifts = vec![Shift::closed(at(10, 0), at(19, 0))];
    let mut command = correct(shifts.clone(), true, "출입 게이트 고장", hr());
    if let C::Correct { schedule, .. } = &mut command {
        *schedule = Some(ten_to_seven());
    }
    let state = given::<AttendanceDay>([]).when(command).state_after();
    assert_eq!(state.schedule, Some(ten_to_seven()));
    let day = state.assess(tuesday(), &state.schedule(), false, &[], KST);
    assert!(day.on_time(), "10:00 is on time for a 10:00 start: {day:?}");
}

#[test]
fn a_department_works_its_own_schedule_else_its_nearest_ancestors() {
    let child = domain::ids::DepartmentId(Uuid::from_u128(299));
    let schedules = DepartmentSchedules::resolve([
        (DEPT, None, Some(ten_to_seven())),
        (child, Some(DEPT), None),
        (FINANCE, None, None),
    ]);
    assert_eq!(schedules.for_department(Some(child)), &ten_to_seven());
    assert_eq!(schedules.for_department(Some(FINANCE)), &WorkSchedule::standard());
}
