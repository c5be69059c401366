//! 퀘스트 — quests: a manager posts a piece of work (or an attendance goal) with a reward in
//! leave hours or points; employees in the audience take it on, submit it as done, and the
//! poster verifies it or returns it with a reason. One stream per quest.
//!
//! - Posting takes the manager role ([`Role::Manager`]) or HR's; a quest for the poster's
//!   team (their direct reports) takes the manager role, one for a department a member of it
//!   (or HR), one for the whole company HR ([`Role::HrAdmin`]).
//! - Accepting is refused when the quest is full, past its deadline, outside the audience,
//!   already accepted, cancelled, or the poster's own. Who reports to whom is looked up by the
//!   caller and carried in the command, as elsewhere.
//! - A first submission is due by the deadline; a returned one may be resubmitted after it
//!   (the return must not cost the deadline).
//! - Verification records the reward; the [`crate::process`] manager turns a leave reward
//!   into a ledger accrual keyed by quest and employee ([`reward_key`]), so a replay credits
//!   once. Points are the sum of `quest.verified` events: no ledger keeps them here.
//! - An attendance quest ([`QuestKind::Attendance`]) is verified only when its goal is met by
//!   the employee's attendance days, a pure function ([`AttendanceGoal::met`]) over the day
//!   assessments the caller carries in the command.

use crate::actor::Actor;
use crate::aggregate::EventType;
use crate::attendance::DayAssessment;
use crate::ids::{DepartmentId, EmployeeId, QuestId};
use crate::leave::days_from_hours;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod decide;

pub const MAX_TITLE: usize = 100;
pub const MAX_DESCRIPTION: usize = 2_000;
pub const MAX_CAPACITY: u32 = 1_000;
/// A quest rewards at most five days of leave.
pub const MAX_REWARD_HOURS: u32 = 40;
pub const MAX_POINTS: u32 = 100_000;

/// What verification earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reward {
    /// Paid leave in hours, a whole number of quarter days (2 hours each).
    LeaveHours {
        hours: u32,
    },
    Points {
        points: u32,
    },
}

impl Reward {
    /// The leave days the reward credits, if it is leave.
    pub fn leave_days(&self) -> Option<Decimal> {
        match self {
            Self::LeaveHours { hours } => days_from_hours(*hours),
            Self::Points { .. } => None,
        }
    }

    fn is_valid(&self) -> bool {
        match self {
            Self::LeaveHours { hours } => *hours > 0 && *hours <= MAX_REWARD_HOURS && self.leave_days().is_some(),
            Self::Points { points } => *points > 0 && *points <= MAX_POINTS,
        }
    }
}

/// Who may take a quest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Audience {
    /// The poster's direct reports.
    Team,
    /// Members of the department (not of its sub-departments).
    Department {
        department: DepartmentId,
    },
    Company,
}

/// A goal over a month of attendance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "goal", rename_all = "snake_case")]
pub enum AttendanceGoal {
    /// On time every work day of the month: present (or on approved leave), not late, not
    /// gone early, checked out.
    OnTimeEveryWorkDay { year: i32, month: u32 },
}

impl AttendanceGoal {
    /// The first and last day of the goal's month (`None` for a month that does not exist).
    pub fn month(&self) -> Option<(NaiveDate, NaiveDate)> {
        let Self::OnTimeEveryWorkDay { year, month } = *self;
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = first.checked_add_months(chrono::Months::new(1))?;
        Some((first, next.pred_opt()?))
    }

    pub fn is_valid(&self) -> bool {
        self.month().is_some()
    }

    /// Whether `days` (the employee's day assessments, in any order) meet the goal. Every day
    /// of the month must be assessed — a day missing is a day not proven — and the month must
    /// have at least one work day.
    pub fn met(&self, days: &[DayAssessment]) -> bool {
        let Some((first, last)) = self.month() else {
            return false;
        };
        let by_day: BTreeMap<NaiveDate, &DayAssessment> = days.iter().map(|d| (d.day, d)).collect();
        let mut work_days = 0;
        for day in first.iter_days().take_while(|d| *d <= last) {
            let Some(assessment) = by_day.get(&day) else {
                return false;
            };
            if !assessment.on_time() {
                return false;
            }
            work_days += usize::from(assessment.work_day);
        }
        work_days > 0
    }
}

/// What completes a quest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QuestKind {
    /// The poster judges the work.
    Task,
    /// The attendance days decide.
    Attendance { goal: AttendanceGoal },
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuestCommand {
    Post {
        id: QuestId,
        title: String,
        description: String,
        reward: Reward,
        capacity: u32,
        deadline: DateTime<Utc>,
        audience: Audience,
        kind: QuestKind,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// `manager` is the actor's manager per the directory (for a team quest).
    Accept {
        manager: Option<EmployeeId>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Submit {
        by: Actor,
        at: DateTime<Utc>,
    },
    /// `attendance`: the employee's day assessments for an attendance quest (ignored for a
    /// task).
    Verify {
        employee: EmployeeId,
        attendance: Vec<DayAssessment>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Return {
        employee: EmployeeId,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    Cancel {
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// An attendance quest completes itself: the process manager, once the goal's month is
    /// over, carries a participant's day assessments, and the days decide — no poster acts.
    /// Verified already: nothing happens.
    CompleteByAttendance {
        employee: EmployeeId,
        attendance: Vec<DayAssessment>,
        at: DateTime<Utc>,
    },
}

/// Facts about one quest. Accepting and submitting are the participant's own acts, so those
/// events name only the participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum QuestEvent {
    #[serde(rename = "quest.posted")]
    Posted {
        id: QuestId,
        title: String,
        description: String,
        reward: Reward,
        capacity: u32,
        deadline: DateTime<Utc>,
        audience: Audience,
        kind: QuestKind,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "quest.accepted")]
    Accepted { employee: EmployeeId, at: DateTime<Utc> },
    #[serde(rename = "quest.submitted")]
    Submitted { employee: EmployeeId, at: DateTime<Utc> },
    /// `by` is the poster; with `by_attendance` the attendance days verified it on the
    /// poster's behalf ([`QuestCommand::CompleteByAttendance`]).
    #[serde(rename = "quest.verified")]
    Verified {
        employee: EmployeeId,
        reward: Reward,
        by: EmployeeId,
        at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_attendance: bool,
    },
    #[serde(rename = "quest.returned")]
    Returned {
        employee: EmployeeId,
        reason: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "quest.cancelled")]
    Cancelled {
        reason: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
}

impl EventType for QuestEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Posted { .. } => "quest.posted",
            Self::Accepted { .. } => "quest.accepted",
            Self::Submitted { .. } => "quest.submitted",
            Self::Verified { .. } => "quest.verified",
            Self::Returned { .. } => "quest.returned",
            Self::Cancelled { .. } => "quest.cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestError {
    /// 403
    #[error("only a manager or an HR admin may post quests")]
    NotManager,
    /// 403: team quests take the manager role, department ones a member, company ones HR.
    #[error("this actor may not post a quest for that audience")]
    AudienceNotAllowed,
    /// 404
    #[error("quest not found")]
    NotFound,
    /// 409
    #[error("quest already posted")]
    AlreadyPosted,
    /// 422: title 1..=100 characters, description ≤ 2000, capacity 1..=1000, a deadline after
    /// posting, a real month for an attendance goal.
    #[error("a quest needs a title, a capacity, a deadline after now and a valid goal")]
    InvalidQuest,
    /// 422: leave in whole quarter days up to 40 hours, or 1..=100000 points.
    #[error("a reward is 2..=40 leave hours in steps of 2, or 1..=100000 points")]
    InvalidReward,
    /// 409
    #[error("the quest was cancelled")]
    Cancelled,
    /// 409
    #[error("the quest is full")]
    Full,
    /// 409
    #[error("the quest's deadline has passed")]
    PastDeadline,
    /// 403
    #[error("the quest is not open to this employee")]
    OutsideAudience,
    /// 422
    #[error("the poster cannot take on their own quest")]
    OwnQuest,
    /// 409
    #[error("already taken on")]
    AlreadyAccepted,
    /// 404
    #[error("this employee has not taken the quest on")]
    NotParticipant,
    /// 409: submitted and awaiting the poster, or verified.
    #[error("nothing to submit")]
    NotSubmittable,
    /// 409
    #[error("the quest has not been submitted")]
    NotSubmitted,
    /// 403
    #[error("only the poster verifies or returns")]
    NotPoster,
    /// 422
    #[error("a reason is required")]
    ReasonRequired,
    /// 409: the attendance days do not meet the quest's goal.
    #[error("the attendance goal is not met")]
    GoalNotMet,
    /// 422: only an attendance quest completes itself.
    #[error("only an attendance quest completes itself")]
    NotAttendanceQuest,
}

impl crate::Refusal for QuestError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use QuestError as E;
        match self {
            E::NotManager => (Forbidden, "not_manager"),
            E::AudienceNotAllowed => (Forbidden, "audience_not_allowed"),
            E::NotFound => (NotFound, "quest_not_found"),
            E::AlreadyPosted => (Conflict, "quest_exists"),
            E::InvalidQuest => (Invalid, "invalid_quest"),
            E::InvalidReward => (Invalid, "invalid_reward"),
            E::Cancelled => (Conflict, "quest_cancelled"),
            E::Full => (Conflict, "quest_full"),
            E::PastDeadline => (Conflict, "quest_past_deadline"),
            E::OutsideAudience => (Forbidden, "outside_audience"),
            E::OwnQuest => (Invalid, "own_quest"),
            E::AlreadyAccepted => (Conflict, "quest_already_accepted"),
            E::NotParticipant => (NotFound, "not_participant"),
            E::NotSubmittable => (Conflict, "quest_not_submittable"),
            E::NotSubmitted => (Conflict, "quest_not_submitted"),
            E::NotPoster => (Forbidden, "not_poster"),
            E::ReasonRequired => (Invalid, "reason_required"),
            E::GoalNotMet => (Conflict, "attendance_goal_not_met"),
            E::NotAttendanceQuest => (Invalid, "not_attendance_quest"),
        }
    }
}

/// Where one participant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipationStatus {
    Accepted,
    Submitted,
    Returned,
    Verified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participation {
    pub status: ParticipationStatus,
    pub accepted_at: DateTime<Utc>,
    /// Why the poster last returned it.
    pub returned_reason: Option<String>,
}

/// A posted quest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedQuest {
    pub id: QuestId,
    pub poster: EmployeeId,
    pub title: String,
    pub description: String,
    pub reward: Reward,
    pub capacity: u32,
    pub deadline: DateTime<Utc>,
    pub audience: Audience,
    pub kind: QuestKind,
    pub cancelled: bool,
    pub participants: BTreeMap<EmployeeId, Participation>,
}

/// One quest's stream state (`None` until posted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quest(pub Option<PostedQuest>);

/// The ledger key that credits `employee`'s reward for `quest`: one credit per pair.
pub fn reward_key(quest: QuestId, employee: EmployeeId) -> String {
    format!("quest-{quest}-{employee}")
}

impl Quest {
    pub fn posted(&self) -> Option<&PostedQuest> {
        self.0.as_ref()
    }

    fn open(&self) -> Result<&PostedQuest, QuestError> {
        let quest = self.posted().ok_or(QuestError::NotFound)?;
        if quest.cancelled {
            return Err(QuestError::Cancelled);
        }
        Ok(quest)
    }

    /// The open quest and the participant `employee`, when `by` is its poster.
    fn judged(&self, employee: EmployeeId, by: &Actor) -> Result<(&PostedQuest, &Participation), QuestError> {
        let quest = self.open()?;
        if by.id != quest.poster {
            return Err(QuestError::NotPoster);
        }
        let participation = quest.participants.get(&employee).ok_or(QuestError::NotParticipant)?;
        if participation.status != ParticipationStatus::Submitted {
            return Err(QuestError::NotSubmitted);
        }
        Ok((quest, participation))
    }
}

/// The days of the month a goal speaks of: the days whose assessments a caller carries.
pub fn goal_days(goal: &AttendanceGoal) -> Vec<NaiveDate> {
    goal.month()
        .map(|(first, last)| first.iter_days().take_while(|d| *d <= last).collect())
        .unwrap_or_default()
}
