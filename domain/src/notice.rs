//! Notices of the HR side: who is told what when a quest moves, a 사용 촉진 notice goes out
//! or a week nears the 52-hour limit. Like the approval side's [`crate::approval::notices_after`],
//! each is decided from one event and the stream's state around it, so the notification feed
//! is a fold of the log and a replay rebuilds it exactly.

use crate::attendance::AttendanceEvent;
use crate::ids::EmployeeId;
use crate::leave::LeaveEvent;
use crate::quest::{PostedQuest, QuestEvent};
use serde::{Deserialize, Serialize};

/// What an HR notice tells its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HrNotice {
    /// 연차 사용 촉진 (제61조): unused leave will expire; choose when to use it.
    LeaveUsePromotion,
    /// To the poster: someone took the quest on.
    QuestAccepted,
    /// To the poster: a participant says it is done; verify or return it.
    QuestSubmitted,
    /// To the participant: the poster verified it (the reward follows).
    QuestVerified,
    /// To the participant: the poster returned it, with a reason.
    QuestReturned,
    /// To each participant not yet verified: the poster cancelled the quest.
    QuestCancelled,
    /// To the employee and their department head: the week reached the 48-hour warning or
    /// passed the 52-hour limit (주 52시간).
    WeeklyHoursWarning,
}

/// Who a quest event tells what, given the quest after it.
pub fn quest_notices(event: &QuestEvent, after: &PostedQuest) -> Vec<(EmployeeId, HrNotice)> {
    use QuestEvent as E;
    match event {
        E::Posted { .. } => Vec::new(),
        E::Accepted { employee, .. } if *employee != after.poster => vec![(after.poster, HrNotice::QuestAccepted)],
        E::Submitted { employee, .. } if *employee != after.poster => vec![(after.poster, HrNotice::QuestSubmitted)],
        E::Accepted { .. } | E::Submitted { .. } => Vec::new(),
        E::Verified { employee, .. } => vec![(*employee, HrNotice::QuestVerified)],
        E::Returned { employee, .. } => vec![(*employee, HrNotice::QuestReturned)],
        E::Cancelled { .. } => after
            .participants
            .iter()
            .filter(|(_, p)| p.status != crate::quest::ParticipationStatus::Verified)
            .map(|(employee, _)| (*employee, HrNotice::QuestCancelled))
            .collect(),
    }
}

/// Who a leave ledger event tells what: a 사용 촉진 notice reaches its employee.
pub fn leave_notices(event: &LeaveEvent) -> Vec<(EmployeeId, HrNotice)> {
    match event {
        LeaveEvent::PromotionNoticeSent { employee, .. } => vec![(*employee, HrNotice::LeaveUsePromotion)],
        _ => Vec::new(),
    }
}

/// Who an attendance event tells what: a week reported near or past its limit reaches the
/// employee and, when they have one, their manager.
pub fn attendance_notices(event: &AttendanceEvent) -> Vec<(EmployeeId, HrNotice)> {
    match event {
        AttendanceEvent::WeeklyHoursReported { employee, manager, .. } => std::iter::once(*employee)
            .chain(manager.filter(|m| m != employee))
            .map(|who| (who, HrNotice::WeeklyHoursWarning))
            .collect(),
        _ => Vec::new(),
    }
}
