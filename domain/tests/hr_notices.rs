//! Who the HR side's events tell what: the notification feed of quests and 사용 촉진 notices.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::{Duration, NaiveDate};
use domain::ids::QuestId;
use domain::leave::{LeaveEvent, NoticeKind};
use domain::notice::{leave_notices, quest_notices, HrNotice};
use domain::quest::{Audience, Quest, QuestEvent as E, QuestKind, Reward};
use domain::testkit::kst;
use domain::Aggregate;
use support::*;
use uuid::Uuid;

const QUEST: QuestId = QuestId(Uuid::from_u128(300));

fn posted() -> E {
    E::Posted {
        id: QUEST,
        title: "문서 정리".into(),
        description: String::new(),
        reward: Reward::LeaveHours { hours: 4 },
        capacity: 3,
        deadline: kst(2026, 4, 1, 18, 0),
        audience: Audience::Company,
        kind: QuestKind::Task,
        by: BOB,
        at: kst(2026, 3, 2, 9, 0),
    }
}

/// The notices `event` sends after `history`.
fn told(history: Vec<E>, event: E) -> Vec<(domain::ids::EmployeeId, HrNotice)> {
    let mut quest = Quest::default();
    for e in history.iter().chain([&event]) {
        quest.evolve(e);
    }
    quest_notices(&event, quest.posted().unwrap())
}

fn at(hours: i64) -> chrono::DateTime<chrono::Utc> {
    kst(2026, 3, 2, 9, 0) + Duration::hours(hours)
}

#[test]
fn the_poster_hears_of_an_acceptance_and_a_submission() {
    let accepted = E::Accepted {
        employee: ALICE,
        at: at(1),
    };
    assert_eq!(
        told(vec![posted()], accepted.clone()),
        vec![(BOB, HrNotice::QuestAccepted)]
    );
    let submitted = E::Submitted {
        employee: ALICE,
        at: at(2),
    };
    assert_eq!(
        told(vec![posted(), accepted], submitted),
        vec![(BOB, HrNotice::QuestSubmitted)]
    );
    assert_eq!(told(vec![], posted()), vec![]);
}

#[test]
fn the_participant_hears_the_posters_judgement() {
    let history = vec![
        posted(),
        E::Accepted {
            employee: ALICE,
            at: at(1),
        },
        E::Submitted {
            employee: ALICE,
            at: at(2),
        },
    ];
    let verified = E::Verified {
        employee: ALICE,
        reward: Reward::LeaveHours { hours: 4 },
        by: BOB,
        at: at(3),
        by_attendance: false,
    };
    assert_eq!(told(history.clone(), verified), vec![(ALICE, HrNotice::QuestVerified)]);
    let returned = E::Returned {
        employee: ALICE,
        reason: "사진 첨부".into(),
        by: BOB,
        at: at(3),
    };
    assert_eq!(told(history, returned), vec![(ALICE, HrNotice::QuestReturned)]);
}

#[test]
fn a_cancellation_reaches_every_participant_not_yet_verified() {
    let history = vec![
        posted(),
        E::Accepted {
            employee: ALICE,
            at: at(1),
        },
        E::Accepted {
            employee: CAROL,
            at: at(1),
        },
        E::Submitted {
            employee: CAROL,
            at: at(2),
        },
        E::Verified {
            employee: CAROL,
            reward: Reward::LeaveHours { hours: 4 },
            by: BOB,
            at: at(3),
            by_attendance: false,
        },
        E::Accepted {
            employee: DAVE,
            at: at(4),
        },
    ];
    let cancelled = E::Cancelled {
        reason: "취소".into(),
        by: BOB,
        at: at(5),
    };
    let mut heard: Vec<_> = told(history, cancelled).into_iter().map(|(who, _)| who).collect();
    heard.sort();
    assert_eq!(heard, vec![ALICE, DAVE]);
}

#[test]
fn a_promotion_notice_reaches_its_employee_and_other_ledger_events_tell_no_one() {
    let notice = LeaveEvent::PromotionNoticeSent {
        employee: ALICE,
        period_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        notice: NoticeKind::Request,
        unused: 5.into(),
        on: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
        at: kst(2026, 7, 1, 0, 0),
    };
    assert_eq!(leave_notices(&notice), vec![(ALICE, HrNotice::LeaveUsePromotion)]);
    let adjusted = LeaveEvent::Adjusted {
        employee: ALICE,
        days: 1.into(),
        reason: "정정".into(),
        by: HR,
        at: kst(2026, 7, 1, 0, 0),
    };
    assert_eq!(leave_notices(&adjusted), vec![]);
}
