//! How a quest decides each command and applies each event: who may post for which
//! audience, who may join, and when a participation is rewarded.

use super::{
    Audience, Participation, ParticipationStatus, PostedQuest, Quest, QuestCommand, QuestError, QuestEvent, QuestKind,
    MAX_CAPACITY, MAX_DESCRIPTION, MAX_TITLE,
};
use crate::actor::{Actor, Role};
use crate::aggregate::Aggregate;
use crate::ids::EmployeeId;
use std::collections::BTreeMap;

fn reason_of(reason: &str) -> Result<String, QuestError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(QuestError::ReasonRequired);
    }
    Ok(reason.to_owned())
}

fn may_post_for(by: &Actor, audience: Audience) -> bool {
    match audience {
        Audience::Team => by.has(Role::Manager),
        Audience::Department { department } => by.has(Role::HrAdmin) || by.department == Some(department),
        Audience::Company => by.has(Role::HrAdmin),
    }
}

fn in_audience(quest: &PostedQuest, by: &Actor, manager: Option<EmployeeId>) -> bool {
    match quest.audience {
        Audience::Team => manager == Some(quest.poster),
        Audience::Department { department } => by.department == Some(department),
        Audience::Company => true,
    }
}

impl Aggregate for Quest {
    type Command = QuestCommand;
    type Event = QuestEvent;
    type Error = QuestError;

    fn decide(&self, command: &QuestCommand) -> Result<Vec<QuestEvent>, QuestError> {
        use QuestCommand as C;
        use QuestEvent as E;
        let event = match command {
            C::Post {
                id,
                title,
                description,
                reward,
                capacity,
                deadline,
                audience,
                kind,
                by,
                at,
            } => {
                if !by.has(Role::Manager) && !by.has(Role::HrAdmin) {
                    return Err(QuestError::NotManager);
                }
                if self.0.is_some() {
                    return Err(QuestError::AlreadyPosted);
                }
                if !may_post_for(by, *audience) {
                    return Err(QuestError::AudienceNotAllowed);
                }
                let title = title.trim();
                let description = description.trim();
                let goal_valid = match kind {
                    QuestKind::Task => true,
                    QuestKind::Attendance { goal } => goal.is_valid(),
                };
                let valid = !title.is_empty()
                    && title.chars().count() <= MAX_TITLE
                    && description.chars().count() <= MAX_DESCRIPTION
                    && (1..=MAX_CAPACITY).contains(capacity)
                    && deadline > at
                    && goal_valid;
                if !valid {
                    return Err(QuestError::InvalidQuest);
                }
                if !reward.is_valid() {
                    return Err(QuestError::InvalidReward);
                }
                E::Posted {
                    id: *id,
                    title: title.to_owned(),
                    description: description.to_owned(),
                    reward: *reward,
                    capacity: *capacity,
                    deadline: *deadline,
                    audience: *audience,
                    kind: *kind,
                    by: by.id,
                    at: *at,
                }
            }
            C::Accept { manager, by, at } => {
                let quest = self.open()?;
                if by.id == quest.poster {
                    return Err(QuestError::OwnQuest);
                }
                if quest.participants.contains_key(&by.id) {
                    return Err(QuestError::AlreadyAccepted);
                }
                if *at > quest.deadline {
                    return Err(QuestError::PastDeadline);
                }
                if !in_audience(quest, by, *manager) {
                    return Err(QuestError::OutsideAudience);
                }
                if quest.participants.len() >= quest.capacity as usize {
                    return Err(QuestError::Full);
                }
                E::Accepted {
                    employee: by.id,
                    at: *at,
                }
            }
            C::Submit { by, at } => {
                let quest = self.open()?;
                let participation = quest.participants.get(&by.id).ok_or(QuestError::NotParticipant)?;
                match participation.status {
                    ParticipationStatus::Accepted if *at > quest.deadline => return Err(QuestError::PastDeadline),
                    ParticipationStatus::Accepted | ParticipationStatus::Returned => {}
                    ParticipationStatus::Submitted | ParticipationStatus::Verified => {
                        return Err(QuestError::NotSubmittable)
                    }
                }
                E::Submitted {
                    employee: by.id,
                    at: *at,
                }
            }
            C::Verify {
                employee,
                attendance,
                by,
                at,
            } => {
                let (quest, _) = self.judged(*employee, by)?;
                if let QuestKind::Attendance { goal } = quest.kind {
                    if !goal.met(attendance) {
                        return Err(QuestError::GoalNotMet);
                    }
                }
                E::Verified {
                    employee: *employee,
                    reward: quest.reward,
                    by: by.id,
                    at: *at,
                    by_attendance: false,
                }
            }
            C::CompleteByAttendance {
                employee,
                attendance,
                at,
            } => {
                let quest = self.open()?;
                let QuestKind::Attendance { goal } = quest.kind else {
                    return Err(QuestError::NotAttendanceQuest);
                };
                let participation = quest.participants.get(employee).ok_or(QuestError::NotParticipant)?;
                if participation.status == ParticipationStatus::Verified {
                    return Ok(Vec::new());
                }
                if !goal.met(attendance) {
                    return Err(QuestError::GoalNotMet);
                }
                E::Verified {
                    employee: *employee,
                    reward: quest.reward,
                    by: quest.poster,
                    at: *at,
                    by_attendance: true,
                }
            }
            C::Return {
                employee,
                reason,
                by,
                at,
            } => {
                self.judged(*employee, by)?;
                E::Returned {
                    employee: *employee,
                    reason: reason_of(reason)?,
                    by: by.id,
                    at: *at,
                }
            }
            C::Cancel { reason, by, at } => {
                let quest = self.open()?;
                if by.id != quest.poster && !by.has(Role::HrAdmin) {
                    return Err(QuestError::NotPoster);
                }
                E::Cancelled {
                    reason: reason_of(reason)?,
                    by: by.id,
                    at: *at,
                }
            }
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &QuestEvent) {
        use QuestEvent as E;
        if let E::Posted {
            id,
            title,
            description,
            reward,
            capacity,
            deadline,
            audience,
            kind,
            by,
            ..
        } = event
        {
            self.0 = Some(PostedQuest {
                id: *id,
                poster: *by,
                title: title.clone(),
                description: description.clone(),
                reward: *reward,
                capacity: *capacity,
                deadline: *deadline,
                audience: *audience,
                kind: *kind,
                cancelled: false,
                participants: BTreeMap::new(),
            });
            return;
        }
        let Some(quest) = self.0.as_mut() else {
            return;
        };
        fn set(quest: &mut PostedQuest, employee: &EmployeeId, status: ParticipationStatus, reason: Option<&String>) {
            if let Some(p) = quest.participants.get_mut(employee) {
                p.status = status;
                if let Some(reason) = reason {
                    p.returned_reason = Some(reason.clone());
                }
            }
        }
        match event {
            E::Posted { .. } => {}
            E::Accepted { employee, at } => {
                quest.participants.insert(
                    *employee,
                    Participation {
                        status: ParticipationStatus::Accepted,
                        accepted_at: *at,
                        returned_reason: None,
                    },
                );
            }
            E::Submitted { employee, .. } => set(quest, employee, ParticipationStatus::Submitted, None),
            E::Verified { employee, .. } => set(quest, employee, ParticipationStatus::Verified, None),
            E::Returned { employee, reason, .. } => set(quest, employee, ParticipationStatus::Returned, Some(reason)),
            E::Cancelled { .. } => quest.cancelled = true,
        }
    }
}
