//! The HR side of the demo company: 영업팀's flexible schedule, a few days of attendance, and
//! quests in each state a screen shows (one waiting for its poster to verify, one open to
//! everyone).

use super::base::*;
use crate::error::ApiError;
use chrono::{Datelike, Utc};
use domain::ids::EmployeeId;
use domain::{Actor, Role};
use infra::eventlog::streams;

/// 근무 일정: 영업팀 works flexible hours around a 10:00–16:00 core; everyone else the
/// standard day.
pub(super) async fn schedules(s: &mut Seeder<'_>, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    use domain::attendance::WorkSchedule;
    use domain::org::{Department, DepartmentCommand};
    let hr = Actor::employee(HR).with_role(Role::HrAdmin);
    s.run::<Department>(
        streams::DEPARTMENT,
        SALES,
        DepartmentCommand::SetSchedule {
            schedule: Some(WorkSchedule::flexible_standard()),
            by: hr,
            at: now,
        },
    )
    .await?;
    Ok(())
}

/// 근태: the last three weekdays before today for 강개발 (on time, one late morning, one
/// evening of overtime) and 오영업. Every shift is closed, so nobody starts today with a shift
/// open.
pub(super) async fn attendance(s: &mut Seeder<'_>, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    use domain::attendance::{AttendanceCommand, AttendanceDay, WorkSchedule, KST};
    let today = now.with_timezone(&KST).date_naive();
    let weekdays: Vec<chrono::NaiveDate> = today
        .iter_days()
        .rev()
        .skip(1)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .take(3)
        .collect();
    // (in hour, in minute, out hour, out minute), KST, oldest day last.
    type Shift = (u32, u32, u32, u32);
    let plans: [(EmployeeId, [Shift; 3]); 2] = [
        (DEV_KANG, [(8, 52, 18, 5), (9, 17, 18, 30), (8, 40, 21, 10)]),
        (SALES_OH, [(8, 58, 18, 0), (8, 55, 17, 40), (9, 0, 18, 2)]),
    ];
    for (employee, shifts) in plans {
        for (day, (in_h, in_m, out_h, out_m)) in weekdays.iter().zip(shifts) {
            let stamp = |h: u32, m: u32| {
                day.and_hms_opt(h, m, 0)
                    .and_then(|t| t.and_local_timezone(KST).single())
                    .map(|t| t.with_timezone(&Utc))
            };
            let (Some(start), Some(end)) = (stamp(in_h, in_m), stamp(out_h, out_m)) else {
                continue;
            };
            let by = Actor::employee(employee);
            let id = AttendanceDay::stream_id(employee, *day);
            s.run::<AttendanceDay>(
                streams::ATTENDANCE,
                &id,
                AttendanceCommand::CheckIn {
                    employee,
                    day: *day,
                    offset: KST,
                    open_elsewhere: None,
                    // 영업팀's flexible day (set by `schedules` above), everyone else's standard.
                    schedule: Some(if employee == SALES_OH {
                        WorkSchedule::flexible_standard()
                    } else {
                        WorkSchedule::standard()
                    }),
                    by: by.clone(),
                    at: start,
                },
            )
            .await?;
            s.run::<AttendanceDay>(
                streams::ATTENDANCE,
                &id,
                AttendanceCommand::CheckOut {
                    employee,
                    day: *day,
                    week: None,
                    by,
                    at: end,
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// 퀘스트: 정팀장's team quest that 윤개발 took on and submitted (waiting for him to verify),
/// and HR's company-wide one nobody has taken yet.
pub(super) async fn quests(s: &mut Seeder<'_>, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    use domain::ids::QuestId;
    use domain::quest::{Audience, Quest, QuestCommand, QuestKind, Reward};
    let lead = Actor::employee(PLATFORM_LEAD).with_role(Role::Manager);
    let team = QuestId(demo_id(71));
    let company = QuestId(demo_id(72));
    let posts = [
        (
            team,
            lead,
            "배포 가이드 최신화",
            "새 배포 파이프라인에 맞춰 위키의 배포 가이드를 고칩니다.",
            Reward::LeaveHours { hours: 4 },
            2,
            14,
            Audience::Team,
        ),
        (
            company,
            hr(),
            "정보보안 교육 이수",
            "올해 정보보안 온라인 교육을 마치고 수료증을 올려 주세요.",
            Reward::Points { points: 100 },
            100,
            30,
            Audience::Company,
        ),
    ];
    for (id, by, title, description, reward, capacity, days, audience) in posts {
        let command = QuestCommand::Post {
            id,
            title: title.into(),
            description: description.into(),
            reward,
            capacity,
            deadline: now + chrono::Duration::days(days),
            audience,
            kind: QuestKind::Task,
            by,
            at: now,
        };
        s.run::<Quest>(streams::QUEST, id, command).await?;
    }
    let yoon = Actor::employee(DEV_YOON);
    s.run::<Quest>(
        streams::QUEST,
        team,
        QuestCommand::Accept {
            manager: Some(PLATFORM_LEAD),
            by: yoon.clone(),
            at: now,
        },
    )
    .await?;
    s.run::<Quest>(streams::QUEST, team, QuestCommand::Submit { by: yoon, at: now })
        .await?;
    Ok(())
}
