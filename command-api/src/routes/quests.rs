//! 퀘스트 — quests: a manager posts a piece of work (or an attendance goal) with a reward;
//! employees in its audience take it on and submit it as done; the poster verifies it or
//! returns it. One stream per quest (`quest/{id}`); the reactor turns a verified leave reward
//! into a credit in the employee's leave ledger ([`crate::reactor`]).
//!
//! What the domain asks the caller to carry is looked up here: the accepting employee's
//! manager (a team quest is for the poster's direct reports) from the org directory, and for
//! an attendance quest the employee's days of the goal's month, each judged by the schedule it
//! recorded, from their attendance streams. No holiday calendar or approved leave is passed
//! yet (the command side keeps neither by day): a month with a public holiday or a day of
//! leave does not meet an attendance goal until they are.

use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders, Id};
use crate::openapi::{Api, Doc};
use crate::routes::{meta, reply};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::attendance::{AttendanceDay, DayAssessment};
use domain::ids::{DepartmentId, EmployeeId, QuestId};
use domain::quest::{goal_days, AttendanceGoal, Audience, Quest, QuestCommand, QuestKind, Reward};
use infra::eventlog::{streams, StreamRef};
use serde::Deserialize;
use uuid::Uuid;

const QUESTS: &str = "quests";

pub fn routes(api: Api) -> Api {
    api.post(
        "/api/quests",
        post_quest,
        Doc::new(
            QUESTS,
            "Post a quest (managers and HR): a task or an attendance goal, with a reward",
        )
        .body::<PostQuestRequest>()
        .created(),
    )
    .post(
        "/api/quests/{id}/accept",
        accept,
        Doc::new(QUESTS, "Take the quest on").body::<EmptyRequest>(),
    )
    .post(
        "/api/quests/{id}/submit",
        submit,
        Doc::new(QUESTS, "Submit the quest as done, for the poster to verify").body::<EmptyRequest>(),
    )
    .post(
        "/api/quests/{id}/verify",
        verify,
        Doc::new(
            QUESTS,
            "Verify a participant's submission (the poster): the reward is credited",
        )
        .body::<JudgeRequest>(),
    )
    .post(
        "/api/quests/{id}/return",
        return_submission,
        Doc::new(QUESTS, "Return a participant's submission with a reason (the poster)").body::<ReturnRequest>(),
    )
    .post(
        "/api/quests/{id}/cancel",
        cancel,
        Doc::new(QUESTS, "Cancel the quest (the poster)").body::<ReasonRequest>(),
    )
}

/// What verification earns: leave in hours (whole quarter days: 2, 4, … 40) or points.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RewardRequest {
    LeaveHours { hours: u32 },
    Points { points: u32 },
}

/// Who may take the quest on: the poster's direct reports, one department's members, or
/// everyone (HR only).
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AudienceRequest {
    Team,
    Department { department: Uuid },
    Company,
}

/// An attendance goal: on time every work day of the month.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalRequest {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostQuestRequest {
    /// The quest's id; one is made from the Idempotency-Key when absent.
    pub id: Option<Uuid>,
    /// 1–100 characters.
    pub title: String,
    /// Up to 2,000 characters.
    #[serde(default)]
    pub description: String,
    pub reward: RewardRequest,
    /// 1–1,000 participants.
    pub capacity: u32,
    /// After now.
    pub deadline: DateTime<Utc>,
    pub audience: AudienceRequest,
    /// Makes it an attendance quest: verified only when the days meet the goal.
    pub goal: Option<GoalRequest>,
}

/// An action that names nothing: send `{}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}

/// Names the participant whose submission the poster judges.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgeRequest {
    pub employee: Uuid,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    pub employee: Uuid,
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

impl From<RewardRequest> for Reward {
    fn from(r: RewardRequest) -> Self {
        match r {
            RewardRequest::LeaveHours { hours } => Self::LeaveHours { hours },
            RewardRequest::Points { points } => Self::Points { points },
        }
    }
}

impl From<AudienceRequest> for Audience {
    fn from(a: AudienceRequest) -> Self {
        match a {
            AudienceRequest::Team => Self::Team,
            AudienceRequest::Department { department } => Self::Department {
                department: DepartmentId(department),
            },
            AudienceRequest::Company => Self::Company,
        }
    }
}

fn stream(id: QuestId) -> StreamRef {
    StreamRef::new(streams::QUEST, id.to_string())
}

/// Runs `command` on the quest's stream (at the If-Match version when one is sent).
async fn run(
    state: &AppState,
    caller: &Caller,
    headers: &CommandHeaders,
    id: QuestId,
    purpose: &str,
    command: QuestCommand,
    created: bool,
) -> Result<Response, ApiError> {
    let outcome = state
        .service
        .execute::<Quest>(&stream(id), headers.expected, &meta(caller, headers, purpose), &command)
        .await?;
    Ok(reply(outcome, created))
}

async fn post_quest(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<PostQuestRequest>,
) -> Result<Response, ApiError> {
    let id = QuestId(headers.new_id(req.id, caller.actor.id, "quest"));
    let command = QuestCommand::Post {
        id,
        title: req.title,
        description: req.description,
        reward: req.reward.into(),
        capacity: req.capacity,
        deadline: req.deadline,
        audience: req.audience.into(),
        kind: req.goal.map_or(QuestKind::Task, |g| QuestKind::Attendance {
            goal: AttendanceGoal::OnTimeEveryWorkDay {
                year: g.year,
                month: g.month,
            },
        }),
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    run(&state, &caller, &headers, id, "quest-post", command, true).await
}

async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<QuestId>,
    Body(EmptyRequest {}): Body<EmptyRequest>,
) -> Result<Response, ApiError> {
    let me = caller.actor.id;
    let manager = state
        .directory
        .chart_knowing(&[me])
        .await
        .employees
        .get(&me)
        .and_then(|m| m.manager);
    let command = QuestCommand::Accept {
        manager,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    run(&state, &caller, &headers, id, "quest-accept", command, false).await
}

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<QuestId>,
    Body(EmptyRequest {}): Body<EmptyRequest>,
) -> Result<Response, ApiError> {
    let command = QuestCommand::Submit {
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    run(&state, &caller, &headers, id, "quest-submit", command, false).await
}

/// The employee's days of an attendance quest's month ([`month_attendance`]);
/// nothing for a task, or for a caller who is not the poster (the domain refuses them, and
/// a month of stream reads should not come before that).
async fn goal_attendance(
    state: &AppState,
    id: QuestId,
    employee: EmployeeId,
    caller: EmployeeId,
) -> Result<Vec<DayAssessment>, ApiError> {
    let quest = state.service.load::<Quest>(&stream(id)).await?.state;
    let Some(QuestKind::Attendance { goal }) = quest.posted().filter(|q| q.poster == caller).map(|q| q.kind) else {
        return Ok(Vec::new());
    };
    Ok(month_attendance(state, employee, &goal).await?)
}

/// The employee's days of an attendance goal's month, each judged by the schedule it
/// recorded.
pub(crate) async fn month_attendance(
    state: &AppState,
    employee: EmployeeId,
    goal: &domain::quest::AttendanceGoal,
) -> Result<Vec<DayAssessment>, crate::service::ServiceError> {
    let offset = state.settings.company_offset;
    // A day never checked into (nor corrected) recorded no schedule: the department's as it
    // is now decides whether it was a work day. A day with events is judged as it recorded
    // (one from before schedules were recorded: the standard day), as the projection does.
    let current = crate::routes::attendance::schedule_of(state, employee);
    let mut days = Vec::new();
    for day in goal_days(goal) {
        let record = StreamRef::new(streams::ATTENDANCE, AttendanceDay::stream_id(employee, day));
        let attended = state.service.load::<AttendanceDay>(&record).await?.state;
        let schedule = if attended.employee.is_some() {
            attended.schedule()
        } else {
            current.clone()
        };
        days.push(attended.assess(day, &schedule, false, &[], offset));
    }
    Ok(days)
}

async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<QuestId>,
    Body(req): Body<JudgeRequest>,
) -> Result<Response, ApiError> {
    let employee = EmployeeId(req.employee);
    let command = QuestCommand::Verify {
        employee,
        attendance: goal_attendance(&state, id, employee, caller.actor.id).await?,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let purpose = format!("quest-verify/{employee}");
    run(&state, &caller, &headers, id, &purpose, command, false).await
}

async fn return_submission(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<QuestId>,
    Body(req): Body<ReturnRequest>,
) -> Result<Response, ApiError> {
    let employee = EmployeeId(req.employee);
    let command = QuestCommand::Return {
        employee,
        reason: req.reason,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let purpose = format!("quest-return/{employee}");
    run(&state, &caller, &headers, id, &purpose, command, false).await
}

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<QuestId>,
    Body(req): Body<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = QuestCommand::Cancel {
        reason: req.reason,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    run(&state, &caller, &headers, id, "quest-cancel", command, false).await
}
