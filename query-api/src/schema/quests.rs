//! 퀘스트 — quest reads over the `quests` and `quest_participants` read model: the open quests
//! the viewer may take on, the ones they took on, the ones they posted with who stands where,
//! and a department's leaderboard.
//!
//! Who sees what: a quest's audience sees it while it is open (the poster's direct reports for
//! a team quest, the department's members for a department quest, everyone for a company
//! one); its participants list is shown to its poster, HR admins and auditors only — a
//! participant sees their own standing (`myStatus`). A leaderboard is shown for the viewer's
//! own department, and for any department to HR admins and auditors.

use super::*;
use crate::context::Viewer;
use infra::readmodel::rows::QuestRow;

/// Quests listed at most, per list (what [`cost::QUESTS`] weighs).
const MAX_QUESTS: usize = cost::QUESTS;

/// One participant of a quest.
#[derive(SimpleObject)]
pub struct QuestParticipantOut {
    pub employee_id: String,
    pub employee_name: Option<String>,
    /// `accepted`, `submitted` (awaiting the poster), `returned` or `verified`.
    pub status: String,
    /// RFC 3339 (UTC).
    pub accepted_at: String,
    /// Why the poster last returned it.
    pub returned_reason: Option<String>,
}

/// A quest as posted.
#[derive(SimpleObject)]
pub struct QuestOut {
    /// The quest's UUID (what the REST actions take).
    pub id: String,
    pub title: String,
    pub description: String,
    pub poster_id: String,
    pub poster_name: Option<String>,
    /// `team`, `department` or `company`.
    pub audience: String,
    pub department_id: Option<String>,
    /// `leave_hours` or `points`.
    pub reward_kind: String,
    pub reward_amount: i32,
    pub capacity: i32,
    /// How many have taken it on.
    pub taken: i32,
    /// RFC 3339 (UTC).
    pub deadline: String,
    /// `task` or `attendance`.
    pub kind: String,
    /// For an attendance quest, e.g. `on_time_every_work_day 2026-12`.
    pub goal: Option<String>,
    pub cancelled: bool,
    /// The viewer's own standing, if they took it on.
    pub my_status: Option<String>,
    /// Why the poster last returned the viewer's submission.
    pub my_returned_reason: Option<String>,
    /// Everyone who took it on: for the poster, HR admins and auditors; empty for others.
    pub participants: Vec<QuestParticipantOut>,
}

/// One employee's verified rewards in a department.
#[derive(SimpleObject)]
pub struct QuestLeaderboardEntry {
    pub employee_id: String,
    pub employee_name: Option<String>,
    /// `leave_hours` or `points`.
    pub reward_kind: String,
    pub total: i32,
    /// Quests verified.
    pub quests: i32,
}

fn int(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Whether the viewer sees who took the quest on.
fn judges(quest: &QuestRow, viewer: &Viewer) -> bool {
    quest.poster == viewer.actor.id.to_string() || context::reads_all(viewer)
}

/// Shapes quest rows for the viewer: names, their own standing, participants where allowed.
/// Three reads whatever the number of quests: the viewer's standing, the participants of the
/// quests they judge, the names.
async fn shaped(ctx: &Context<'_>, viewer: &Viewer, quests: Vec<QuestRow>) -> async_graphql::Result<Vec<QuestOut>> {
    let org = &stores(ctx).org;
    let quests: Vec<QuestRow> = quests.into_iter().take(MAX_QUESTS).collect();
    let ids: Vec<String> = quests.iter().map(|q| q.id.clone()).collect();
    let me = viewer.actor.id.to_string();
    let mine = org.quest_standing(&me, &ids).await.map_err(error::store)?;
    let judged: Vec<String> = quests
        .iter()
        .filter(|q| judges(q, viewer))
        .map(|q| q.id.clone())
        .collect();
    let participants = org.quest_participants_of(&judged).await.map_err(error::store)?;
    let people: Vec<String> = quests
        .iter()
        .map(|q| q.poster.clone())
        .chain(participants.iter().map(|p| p.employee.clone()))
        .collect();
    let names = context::employees(ctx, &people).await?;
    let name = |id: &str| names.iter().find(|e| e.id == id).map(|e| e.name.clone());
    Ok(quests
        .into_iter()
        .map(|quest| {
            let own = mine.iter().find(|p| p.quest == quest.id);
            QuestOut {
                my_status: own.map(|p| p.status.clone()),
                my_returned_reason: own.and_then(|p| p.returned_reason.clone()),
                participants: participants
                    .iter()
                    .filter(|p| p.quest == quest.id)
                    .map(|p| QuestParticipantOut {
                        employee_name: name(&p.employee),
                        employee_id: p.employee.clone(),
                        status: p.status.clone(),
                        accepted_at: p.accepted_at.clone(),
                        returned_reason: p.returned_reason.clone(),
                    })
                    .collect(),
                poster_name: name(&quest.poster),
                id: quest.id,
                title: quest.title,
                description: quest.description,
                poster_id: quest.poster,
                audience: quest.audience,
                department_id: quest.department,
                reward_kind: quest.reward_kind,
                reward_amount: int(quest.reward_amount),
                capacity: int(quest.capacity),
                taken: int(quest.taken),
                deadline: quest.deadline,
                kind: quest.kind,
                goal: quest.goal,
                cancelled: quest.cancelled,
            }
        })
        .collect())
}

#[derive(Default)]
pub struct QuestQueries;

#[Object]
impl QuestQueries {
    /// Quests open now that the viewer may take on (their audience, not their own), soonest
    /// deadline first; those already taken on say so in `myStatus`.
    #[graphql(complexity = "cost::QUESTS * child_complexity")]
    async fn open_quests(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<QuestOut>> {
        let viewer = viewer(ctx)?;
        let open = stores(ctx)
            .org
            .open_quests(
                &infra::readmodel::fold::org::quest_time(Utc::now()),
                &viewer.actor.id.to_string(),
                viewer.detail.department.as_deref(),
                viewer.detail.manager.as_deref(),
                MAX_QUESTS,
            )
            .await
            .map_err(error::store)?;
        shaped(ctx, viewer, open).await
    }

    /// Quests the viewer took on, most recent first, with their standing in `myStatus`.
    #[graphql(complexity = "cost::QUESTS * child_complexity")]
    async fn my_quests(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<QuestOut>> {
        let viewer = viewer(ctx)?;
        let org = &stores(ctx).org;
        let taken = org
            .quest_participations(&viewer.actor.id.to_string(), MAX_QUESTS)
            .await
            .map_err(error::store)?;
        let ids: Vec<String> = taken.iter().map(|p| p.quest.clone()).collect();
        let mut quests = org.quests_by_id(&ids).await.map_err(error::store)?;
        quests.sort_by_key(|q| ids.iter().position(|id| *id == q.id));
        shaped(ctx, viewer, quests).await
    }

    /// Quests the viewer posted, latest deadline first, with everyone who took each on: the
    /// ones `submitted` are waiting for the viewer to verify or return.
    #[graphql(complexity = "cost::QUESTS * child_complexity")]
    async fn posted_quests(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<QuestOut>> {
        let viewer = viewer(ctx)?;
        let rows = stores(ctx)
            .org
            .quests_posted_by(&viewer.actor.id.to_string(), MAX_QUESTS)
            .await
            .map_err(error::store)?;
        shaped(ctx, viewer, rows).await
    }

    /// Verified quest rewards per member of `departmentId` (the viewer's own department when
    /// absent; empty for a viewer in none), largest first. Other departments' boards are for
    /// HR admins and auditors.
    #[graphql(complexity = "cost::QUESTS * child_complexity")]
    async fn quest_leaderboard(
        &self,
        ctx: &Context<'_>,
        department_id: Option<ID>,
    ) -> async_graphql::Result<Vec<QuestLeaderboardEntry>> {
        let viewer = viewer(ctx)?;
        let department = match super::lookup::department_id(department_id.as_ref())? {
            Some(named) => named,
            None => match viewer.detail.department.clone() {
                Some(own) => own,
                None => return Ok(Vec::new()),
            },
        };
        if viewer.detail.department.as_deref() != Some(department.as_str()) && !context::reads_all(viewer) {
            return Err(coded(
                error::FORBIDDEN,
                "a department's leaderboard is for its members and HR",
            ));
        }
        let rows = stores(ctx)
            .org
            .quest_leaderboard(&department)
            .await
            .map_err(error::store)?;
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let names = context::employees(ctx, &ids).await?;
        Ok(rows
            .into_iter()
            .take(MAX_QUESTS)
            .map(|(employee, reward_kind, total, quests)| QuestLeaderboardEntry {
                employee_name: names.iter().find(|e| e.id == employee).map(|e| e.name.clone()),
                employee_id: employee,
                reward_kind,
                total: int(total),
                quests: int(quests),
            })
            .collect())
    }
}
