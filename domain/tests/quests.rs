//! Quests: posting by a manager, taking on within the audience, submission, verification or
//! return, the leave credit a verification earns once, and attendance goals.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc, Weekday};
use domain::attendance::{assess_day, ApprovedLeave, DayAssessment, Shift, WorkSchedule, KST};
use domain::ids::{EmployeeId, QuestId};
use domain::leave::{AccrualBasis, LeaveCommand, LeaveLedger, LeaveUnit};
use domain::process::{on_quest_event, FollowUp};
use domain::quest::{
    goal_days, reward_key, AttendanceGoal, Audience, ParticipationStatus, Quest, QuestCommand as C, QuestError,
    QuestEvent as E, QuestKind, Reward,
};
use domain::testkit::{given, kst};
use domain::{Actor, Aggregate, Role};
use rust_decimal::Decimal;
use support::*;
use uuid::Uuid;

const QUEST: QuestId = QuestId(Uuid::from_u128(800));

/// BOB manages a team in DEPT.
fn manager() -> Actor {
    actor(BOB).with_role(Role::Manager).in_department(DEPT)
}

fn hr() -> Actor {
    actor(HR).with_role(Role::HrAdmin)
}

fn deadline() -> DateTime<Utc> {
    t(60 * 24 * 7)
}

fn post(audience: Audience, reward: Reward, capacity: u32, kind: QuestKind, by: Actor) -> C {
    C::Post {
        id: QUEST,
        title: " 분기 보고서 정리 ".into(),
        description: "지난 분기 자료를 정리합니다.".into(),
        reward,
        capacity,
        deadline: deadline(),
        audience,
        kind,
        by,
        at: t(0),
    }
}

fn posted_with(audience: Audience, reward: Reward, capacity: u32, kind: QuestKind) -> E {
    E::Posted {
        id: QUEST,
        title: "분기 보고서 정리".into(),
        description: "지난 분기 자료를 정리합니다.".into(),
        reward,
        capacity,
        deadline: deadline(),
        audience,
        kind,
        by: BOB,
        at: t(0),
    }
}

const FOUR_HOURS: Reward = Reward::LeaveHours { hours: 4 };

/// BOB's team quest for two, rewarding half a day.
fn posted() -> E {
    posted_with(Audience::Team, FOUR_HOURS, 2, QuestKind::Task)
}

/// A member of BOB's team takes it on.
fn accept(who: EmployeeId, minute: i64) -> C {
    C::Accept {
        manager: Some(BOB),
        by: actor(who).in_department(DEPT),
        at: t(minute),
    }
}

fn accepted(who: EmployeeId, minute: i64) -> E {
    E::Accepted {
        employee: who,
        at: t(minute),
    }
}

fn submitted(who: EmployeeId, minute: i64) -> E {
    E::Submitted {
        employee: who,
        at: t(minute),
    }
}

fn verify(who: EmployeeId, by: Actor) -> C {
    C::Verify {
        employee: who,
        attendance: Vec::new(),
        by,
        at: t(100),
    }
}

fn verified(who: EmployeeId) -> E {
    E::Verified {
        employee: who,
        reward: FOUR_HOURS,
        by: BOB,
        at: t(100),
        by_attendance: false,
    }
}

// Posting.

#[test]
fn a_manager_posts_a_quest_for_their_team() {
    let state = given::<Quest>([])
        .when(post(Audience::Team, FOUR_HOURS, 2, QuestKind::Task, manager()))
        .then([posted()]);
    let quest = state.posted().unwrap();
    assert_eq!((quest.poster, quest.capacity), (BOB, 2));
    assert!(quest.participants.is_empty());
}

#[test]
fn an_employee_without_the_manager_role_cannot_post() {
    given::<Quest>([])
        .when(post(
            Audience::Team,
            FOUR_HOURS,
            2,
            QuestKind::Task,
            actor(ALICE).in_department(DEPT),
        ))
        .then_err(QuestError::NotManager);
}

#[test]
fn a_department_quest_is_posted_by_a_member_and_a_company_quest_by_hr() {
    given::<Quest>([])
        .when(post(
            Audience::Department { department: FINANCE },
            FOUR_HOURS,
            2,
            QuestKind::Task,
            manager(),
        ))
        .then_err(QuestError::AudienceNotAllowed);
    given::<Quest>([])
        .when(post(
            Audience::Department { department: DEPT },
            FOUR_HOURS,
            2,
            QuestKind::Task,
            manager(),
        ))
        .events();
    given::<Quest>([])
        .when(post(Audience::Company, FOUR_HOURS, 2, QuestKind::Task, manager()))
        .then_err(QuestError::AudienceNotAllowed);
    given::<Quest>([])
        .when(post(Audience::Company, FOUR_HOURS, 2, QuestKind::Task, hr()))
        .events();
}

#[test]
fn a_quest_needs_a_title_a_capacity_and_a_deadline_after_posting() {
    given::<Quest>([])
        .when(post(Audience::Team, FOUR_HOURS, 0, QuestKind::Task, manager()))
        .then_err(QuestError::InvalidQuest);
    let mut untitled = post(Audience::Team, FOUR_HOURS, 2, QuestKind::Task, manager());
    if let C::Post { title, .. } = &mut untitled {
        *title = "  ".into();
    }
    given::<Quest>([]).when(untitled).then_err(QuestError::InvalidQuest);
    let mut overdue = post(Audience::Team, FOUR_HOURS, 2, QuestKind::Task, manager());
    if let C::Post { deadline, at, .. } = &mut overdue {
        *deadline = *at;
    }
    given::<Quest>([]).when(overdue).then_err(QuestError::InvalidQuest);
}

#[test]
fn a_leave_reward_is_a_whole_number_of_quarter_days_up_to_five_days() {
    for hours in [0, 3, 42] {
        given::<Quest>([])
            .when(post(
                Audience::Team,
                Reward::LeaveHours { hours },
                2,
                QuestKind::Task,
                manager(),
            ))
            .then_err(QuestError::InvalidReward);
    }
    assert_eq!(
        Reward::LeaveHours { hours: 2 }.leave_days(),
        Some(LeaveUnit::Quarter.days())
    );
    assert_eq!(Reward::LeaveHours { hours: 40 }.leave_days(), Some(Decimal::from(5)));
    assert_eq!(Reward::Points { points: 10 }.leave_days(), None);
}

#[test]
fn a_quest_is_posted_once() {
    given::<Quest>([posted()])
        .when(post(Audience::Team, FOUR_HOURS, 2, QuestKind::Task, manager()))
        .then_err(QuestError::AlreadyPosted);
}

// Taking it on.

#[test]
fn a_team_member_takes_a_team_quest_on() {
    let state = given::<Quest>([posted()])
        .when(accept(ALICE, 1))
        .then([accepted(ALICE, 1)]);
    assert_eq!(
        state.posted().unwrap().participants[&ALICE].status,
        ParticipationStatus::Accepted
    );
}

#[test]
fn taking_on_a_full_quest_is_refused() {
    given::<Quest>([posted(), accepted(ALICE, 1), accepted(CAROL, 2)])
        .when(accept(DAVE, 3))
        .then_err(QuestError::Full);
}

#[test]
fn taking_a_quest_on_after_its_deadline_is_refused() {
    given::<Quest>([posted()])
        .when(C::Accept {
            manager: Some(BOB),
            by: actor(ALICE),
            at: deadline() + Duration::seconds(1),
        })
        .then_err(QuestError::PastDeadline);
}

#[test]
fn someone_outside_the_audience_cannot_take_it_on() {
    given::<Quest>([posted()])
        .when(C::Accept {
            manager: Some(CAROL),
            by: actor(DAVE).in_department(DEPT),
            at: t(1),
        })
        .then_err(QuestError::OutsideAudience);
    let department_quest = posted_with(
        Audience::Department { department: DEPT },
        FOUR_HOURS,
        2,
        QuestKind::Task,
    );
    given::<Quest>([department_quest.clone()])
        .when(C::Accept {
            manager: Some(BOB),
            by: actor(DAVE).in_department(FINANCE),
            at: t(1),
        })
        .then_err(QuestError::OutsideAudience);
    given::<Quest>([department_quest])
        .when(C::Accept {
            manager: None,
            by: actor(DAVE).in_department(DEPT),
            at: t(1),
        })
        .then([accepted(DAVE, 1)]);
}

#[test]
fn taking_a_quest_on_twice_is_refused() {
    given::<Quest>([posted(), accepted(ALICE, 1)])
        .when(accept(ALICE, 2))
        .then_err(QuestError::AlreadyAccepted);
}

#[test]
fn the_poster_cannot_take_on_their_own_quest() {
    given::<Quest>([posted()])
        .when(C::Accept {
            manager: Some(CAROL),
            by: manager(),
            at: t(1),
        })
        .then_err(QuestError::OwnQuest);
}

#[test]
fn a_quest_that_was_never_posted_cannot_be_taken_on() {
    given::<Quest>([]).when(accept(ALICE, 1)).then_err(QuestError::NotFound);
}

// Submission, verification, return.

#[test]
fn a_participant_submits_and_the_poster_verifies() {
    given::<Quest>([posted(), accepted(ALICE, 1)])
        .when(C::Submit {
            by: actor(ALICE),
            at: t(50),
        })
        .then([submitted(ALICE, 50)]);
    let state = given::<Quest>([posted(), accepted(ALICE, 1), submitted(ALICE, 50)])
        .when(verify(ALICE, manager()))
        .then([verified(ALICE)]);
    assert_eq!(
        state.posted().unwrap().participants[&ALICE].status,
        ParticipationStatus::Verified
    );
}

#[test]
fn only_a_participant_submits_and_only_before_the_deadline() {
    given::<Quest>([posted()])
        .when(C::Submit {
            by: actor(ALICE),
            at: t(50),
        })
        .then_err(QuestError::NotParticipant);
    given::<Quest>([posted(), accepted(ALICE, 1)])
        .when(C::Submit {
            by: actor(ALICE),
            at: deadline() + Duration::minutes(1),
        })
        .then_err(QuestError::PastDeadline);
    given::<Quest>([posted(), accepted(ALICE, 1), submitted(ALICE, 50)])
        .when(C::Submit {
            by: actor(ALICE),
            at: t(51),
        })
        .then_err(QuestError::NotSubmittable);
}

#[test]
fn only_the_poster_verifies_or_returns() {
    let history = [posted(), accepted(ALICE, 1), submitted(ALICE, 50)];
    given::<Quest>(history.clone())
        .when(verify(ALICE, actor(CAROL).with_role(Role::Manager)))
        .then_err(QuestError::NotPoster);
    given::<Quest>(history)
        .when(C::Return {
            employee: ALICE,
            reason: "x".into(),
            by: hr(),
            at: t(60),
        })
        .then_err(QuestError::NotPoster);
}

#[test]
fn verifying_what_was_not_submitted_is_refused() {
    given::<Quest>([posted(), accepted(ALICE, 1)])
        .when(verify(ALICE, manager()))
        .then_err(QuestError::NotSubmitted);
    given::<Quest>([posted(), accepted(ALICE, 1), submitted(ALICE, 50), verified(ALICE)])
        .when(verify(ALICE, manager()))
        .then_err(QuestError::NotSubmitted);
}

#[test]
fn a_returned_submission_keeps_its_reason_and_may_be_resubmitted_even_after_the_deadline() {
    let returned = E::Returned {
        employee: ALICE,
        reason: "표가 빠졌습니다".into(),
        by: BOB,
        at: t(60),
    };
    let state = given::<Quest>([posted(), accepted(ALICE, 1), submitted(ALICE, 50)])
        .when(C::Return {
            employee: ALICE,
            reason: " 표가 빠졌습니다 ".into(),
            by: manager(),
            at: t(60),
        })
        .then([returned.clone()]);
    let participation = &state.posted().unwrap().participants[&ALICE];
    assert_eq!(participation.status, ParticipationStatus::Returned);
    assert_eq!(participation.returned_reason.as_deref(), Some("표가 빠졌습니다"));
    let late = deadline() + Duration::days(1);
    given::<Quest>([posted(), accepted(ALICE, 1), submitted(ALICE, 50), returned])
        .when(C::Submit {
            by: actor(ALICE),
            at: late,
        })
        .then([E::Submitted {
            employee: ALICE,
            at: late,
        }]);
}

#[test]
fn a_return_needs_a_reason() {
    given::<Quest>([posted(), accepted(ALICE, 1), submitted(ALICE, 50)])
        .when(C::Return {
            employee: ALICE,
            reason: " ".into(),
            by: manager(),
            at: t(60),
        })
        .then_err(QuestError::ReasonRequired);
}

#[test]
fn a_cancelled_quest_takes_nobody_on() {
    let cancelled = given::<Quest>([posted()])
        .when(C::Cancel {
            reason: "계획 변경".into(),
            by: manager(),
            at: t(5),
        })
        .events();
    given::<Quest>([vec![posted()], cancelled].concat())
        .when(accept(ALICE, 6))
        .then_err(QuestError::Cancelled);
    given::<Quest>([posted()])
        .when(C::Cancel {
            reason: "x".into(),
            by: actor(ALICE).with_role(Role::Manager),
            at: t(5),
        })
        .then_err(QuestError::NotPoster);
}

// The reward.

#[test]
fn verifying_a_leave_reward_credits_the_ledger_once_keyed_by_quest_and_employee() {
    let history = [posted(), accepted(ALICE, 1), submitted(ALICE, 50), verified(ALICE)];
    let after = Quest::fold(&history);
    let follow_ups = on_quest_event(&after, &history[3], KST);
    let credit = LeaveCommand::Accrue {
        employee: ALICE,
        key: reward_key(QUEST, ALICE),
        basis: AccrualBasis::Reward,
        days: LeaveUnit::Half.days(),
        expires_on: NaiveDate::from_ymd_opt(2027, 3, 2).unwrap(),
        at: t(100),
    };
    assert_eq!(follow_ups, vec![FollowUp::Leave(credit.clone())]);
    // The event is delivered twice: the ledger books it once.
    let mut ledger = LeaveLedger::default();
    for _ in 0..2 {
        for follow_up in on_quest_event(&after, &history[3], KST) {
            let FollowUp::Leave(command) = follow_up else {
                panic!("a leave credit")
            };
            for event in ledger.decide(&command).unwrap() {
                ledger.evolve(&event);
            }
        }
    }
    assert_eq!(ledger.balance, LeaveUnit::Half.days());
    assert_eq!(ledger.lots.len(), 1);
}

#[test]
fn the_reward_is_usable_for_a_year_from_the_company_local_day_it_was_earned() {
    let history = [posted(), accepted(ALICE, 1), submitted(ALICE, 50)];
    // 15:30 UTC on 31 December is already 1 January in Seoul.
    let new_year = kst(2027, 1, 1, 0, 30);
    let event = E::Verified {
        employee: ALICE,
        reward: FOUR_HOURS,
        by: BOB,
        at: new_year,
        by_attendance: false,
    };
    let after = Quest::fold(history.iter().chain([&event]));
    let expires = |offset| match &on_quest_event(&after, &event, offset)[..] {
        [FollowUp::Leave(LeaveCommand::Accrue { expires_on, .. })] => *expires_on,
        other => panic!("one accrual, got {other:?}"),
    };
    assert_eq!(expires(KST), NaiveDate::from_ymd_opt(2027, 12, 31).unwrap());
    assert_eq!(
        expires(FixedOffset::east_opt(0).unwrap()),
        NaiveDate::from_ymd_opt(2027, 12, 30).unwrap()
    );
}

#[test]
fn points_and_other_quest_events_credit_no_leave() {
    let points = posted_with(Audience::Team, Reward::Points { points: 100 }, 2, QuestKind::Task);
    let verified_points = E::Verified {
        employee: ALICE,
        reward: Reward::Points { points: 100 },
        by: BOB,
        at: t(100),
        by_attendance: false,
    };
    let history = [points, accepted(ALICE, 1), submitted(ALICE, 50), verified_points];
    let after = Quest::fold(&history);
    for event in &history {
        assert!(on_quest_event(&after, event, KST).is_empty());
    }
}

// Attendance quests.

const MARCH: AttendanceGoal = AttendanceGoal::OnTimeEveryWorkDay { year: 2026, month: 3 };

/// March 2026 as ALICE worked it: 09:00–18:00 every weekday, unless `change` says otherwise.
fn march(change: impl Fn(NaiveDate) -> Option<(Vec<Shift>, Vec<ApprovedLeave>)>) -> Vec<DayAssessment> {
    goal_days(&MARCH)
        .into_iter()
        .map(|day| {
            let nine_to_six = || {
                let at = |h| {
                    day.and_hms_opt(h, 0, 0)
                        .unwrap()
                        .and_local_timezone(KST)
                        .unwrap()
                        .to_utc()
                };
                vec![Shift::closed(at(9), at(18))]
            };
            let (shifts, leave) = change(day).unwrap_or_else(|| (nine_to_six(), Vec::new()));
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            let shifts = if weekend { Vec::new() } else { shifts };
            assess_day(&WorkSchedule::standard(), day, false, &shifts, &leave, KST)
        })
        .collect()
}

fn on(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

#[test]
fn on_time_every_work_day_is_met_by_a_month_without_a_late_day() {
    assert_eq!(goal_days(&MARCH).len(), 31);
    assert!(MARCH.met(&march(|_| None)));
}

#[test]
fn one_late_morning_or_a_missing_day_fails_the_goal_but_approved_leave_does_not() {
    let late = march(|day| {
        (day == on(17)).then(|| {
            (
                vec![Shift::closed(kst(2026, 3, 17, 9, 5), kst(2026, 3, 17, 18, 0))],
                vec![],
            )
        })
    });
    assert!(!MARCH.met(&late));
    let mut missing = march(|_| None);
    missing.retain(|d| d.day != on(31));
    assert!(!MARCH.met(&missing));
    let absent = march(|day| (day == on(10)).then(|| (vec![], vec![])));
    assert!(!MARCH.met(&absent));
    let on_leave = march(|day| (day == on(10)).then(|| (vec![], vec![ApprovedLeave::FullDay])));
    assert!(MARCH.met(&on_leave));
}

fn attendance_quest() -> E {
    posted_with(
        Audience::Team,
        Reward::LeaveHours { hours: 8 },
        10,
        QuestKind::Attendance { goal: MARCH },
    )
}

#[test]
fn an_attendance_quest_is_verified_only_when_the_days_meet_its_goal() {
    let history = [attendance_quest(), accepted(ALICE, 1), submitted(ALICE, 50)];
    let late = march(|day| {
        (day == on(17)).then(|| {
            (
                vec![Shift::closed(kst(2026, 3, 17, 9, 5), kst(2026, 3, 17, 18, 0))],
                vec![],
            )
        })
    });
    let verify_with = |attendance| C::Verify {
        employee: ALICE,
        attendance,
        by: manager(),
        at: t(100),
    };
    given::<Quest>(history.clone())
        .when(verify_with(late))
        .then_err(QuestError::GoalNotMet);
    given::<Quest>(history)
        .when(verify_with(march(|_| None)))
        .then([E::Verified {
            employee: ALICE,
            reward: Reward::LeaveHours { hours: 8 },
            by: BOB,
            at: t(100),
            by_attendance: false,
        }]);
}

#[test]
fn an_attendance_goal_names_a_real_month() {
    let mut bad = post(
        Audience::Team,
        FOUR_HOURS,
        2,
        QuestKind::Attendance {
            goal: AttendanceGoal::OnTimeEveryWorkDay { year: 2026, month: 13 },
        },
        manager(),
    );
    given::<Quest>([]).when(bad.clone()).then_err(QuestError::InvalidQuest);
    if let C::Post { kind, .. } = &mut bad {
        *kind = QuestKind::Attendance { goal: MARCH };
    }
    given::<Quest>([]).when(bad).events();
}

#[test]
fn an_attendance_quest_completes_itself_when_the_days_meet_its_goal_and_only_once() {
    let history = [attendance_quest(), accepted(ALICE, 1)];
    let complete = |attendance| C::CompleteByAttendance {
        employee: ALICE,
        attendance,
        at: t(100),
    };
    let verified = E::Verified {
        employee: ALICE,
        reward: Reward::LeaveHours { hours: 8 },
        by: BOB,
        at: t(100),
        by_attendance: true,
    };
    // Taken on, never submitted: the days alone decide, on the poster's behalf.
    given::<Quest>(history.clone())
        .when(complete(march(|_| None)))
        .then([verified.clone()]);
    let missing_a_day = march(|day| (day == on(10)).then(|| (vec![], vec![])));
    given::<Quest>(history.clone())
        .when(complete(missing_a_day))
        .then_err(QuestError::GoalNotMet);
    let mut done = history.to_vec();
    done.push(verified);
    given::<Quest>(done).when(complete(march(|_| None))).then([]);
    given::<Quest>([attendance_quest()])
        .when(complete(march(|_| None)))
        .then_err(QuestError::NotParticipant);
}

#[test]
fn a_task_quest_never_completes_itself() {
    given::<Quest>([
        posted_with(Audience::Team, FOUR_HOURS, 2, QuestKind::Task),
        accepted(ALICE, 1),
    ])
    .when(C::CompleteByAttendance {
        employee: ALICE,
        attendance: march(|_| None),
        at: t(100),
    })
    .then_err(QuestError::NotAttendanceQuest);
}
