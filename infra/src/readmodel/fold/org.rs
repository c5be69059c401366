//! The employee read model's fold: one current row per employee, department, delegation,
//! leave balance, attendance day, quest and quest participant, one ledger row per leave
//! event, and the HR notices the commit sends ([`domain::notice`]) with what live subscribers
//! are told of it ([`org_changes`]).
//!
//! An attendance day is judged by the schedule it recorded (its department's at its first
//! check-in or correction; a day from before schedules were recorded, the standard 09:00–18:00
//! KST with an hour's break), with no holiday calendar or leave: what the row holds is what
//! the punches come to.

use super::{corrupt, decode, evolve, name_of, restore, Cause, Change};
use crate::eventlog::codec::CommitRecord;
use crate::eventlog::Delivered;
use crate::readmodel::rows::{
    AttendanceDayRow, DelegationRow, DepartmentRow, EmployeeRow, FeedEntry, FeedReadRow, LeaveBalanceRow,
    LeaveEntryRow, NotificationRow, QuestParticipantRow, QuestRow,
};
use crate::readmodel::{Projection, StoreError};
use domain::attendance::{AttendanceDay, AttendanceEvent, KST};
use domain::feed::FeedReads;
use domain::ids::EmployeeId;
use domain::leave::{LeaveEvent, LeaveLedger};
use domain::notice::{attendance_notices, leave_notices, quest_notices, HrNotice};
use domain::org::{Delegation, Department, Employee};
use domain::quest::{AttendanceGoal, Audience, Quest, QuestEvent, QuestKind, Reward};
use domain::Aggregate;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The current row of one org stream.
#[derive(Debug, Clone, PartialEq)]
pub enum OrgRow {
    Employee(EmployeeRow),
    Department(DepartmentRow),
    Delegation(DelegationRow),
    LeaveBalance(LeaveBalanceRow),
    AttendanceDay(AttendanceDayRow),
    /// A quest and every participant's row (a commit may touch any of them); no row for a
    /// stream without its `quest.posted`.
    Quest(Option<QuestRow>, Vec<QuestParticipantRow>),
    FeedRead(FeedReadRow),
}

/// What one commit of an org stream folds to.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgFold {
    /// The folded aggregate, as JSON (the stream's guard keeps it).
    pub state: String,
    /// The stream's row after the commit (it replaces the one before).
    pub current: OrgRow,
    /// Rows written once (the leave ledger).
    pub ledger: Vec<LeaveEntryRow>,
    /// The HR notices the commit sends ([`domain::notice`]), written once (deterministic ids)
    /// into the projection's own notice table ([`notice_table`]).
    pub notices: Vec<NotificationRow>,
    /// The employees whose record the commit changed (whom live subscribers hear it as
    /// about): the attendance day's or the ledger's employee; the quest participants its
    /// events name (every one not yet verified for a cancellation). Empty for the org
    /// chart's own projections.
    pub people: Vec<String>,
    /// Who sees the whole commit besides HR: a quest's poster.
    pub owner: Option<String>,
}

/// The table a projection's HR notices go to, if it sends any.
pub fn notice_table(projection: Projection) -> Option<&'static str> {
    match projection {
        Projection::Leave => Some("leave_notices"),
        Projection::Attendance => Some("attendance_notices"),
        Projection::Quests => Some("quest_notices"),
        _ => None,
    }
}

/// The topic an HR projection's live changes carry.
fn topic(projection: Projection) -> Option<&'static str> {
    match projection {
        Projection::Leave => Some("leave"),
        Projection::Attendance => Some("attendance"),
        Projection::Quests => Some("quest"),
        _ => None,
    }
}

/// What live subscribers are told of one applied HR commit: a feed entry per notice, and one
/// [`Change::Hr`] whose `departments` the store fills in (it knows the employees' departments
/// as of now). Nothing for the org chart's own projections.
pub fn org_changes(projection: Projection, delivered: &Delivered, fold: &OrgFold) -> Vec<Change> {
    let Some(topic) = topic(projection) else {
        return Vec::new();
    };
    let commit = &delivered.commit;
    let Cause {
        position,
        correlation_id,
        trace_id,
    } = Cause::of(delivered);
    fold.notices
        .iter()
        .map(|row| Change::Notification {
            recipient: row.recipient.clone(),
            entry: FeedEntry::from(row.clone()),
            position: position.clone(),
            correlation_id: correlation_id.clone(),
            trace_id: trace_id.clone(),
            traceparent: commit.traceparent.clone(),
        })
        .chain(std::iter::once(Change::Hr {
            topic: topic.to_owned(),
            stream: commit.stream_id.clone(),
            version: commit.last_version(),
            events: commit.events.iter().map(|e| e.event_type.clone()).collect(),
            people: fold.people.clone(),
            owner: fold.owner.clone(),
            departments: Vec::new(),
            position: position.clone(),
            correlation_id: correlation_id.clone(),
            trace_id: trace_id.clone(),
            traceparent: commit.traceparent.clone(),
        }))
        .collect()
}

/// A notice row: ids are deterministic, so a redelivered commit rewrites its notices, never
/// adds to them.
fn notice_row(
    stream: &str,
    version: u64,
    who: EmployeeId,
    notice: HrNotice,
    subject: String,
    title: String,
    at: chrono::DateTime<chrono::Utc>,
) -> NotificationRow {
    let kind = name_of(notice);
    NotificationRow {
        id: format!("{stream}:{version}:{who}:{kind}"),
        recipient: who.to_string(),
        doc: subject,
        kind,
        title,
        at: at.to_rfc3339(),
        is_read: false,
    }
}

/// Folds one commit of `projection`'s stream type onto the stored `state`. Not for
/// [`Projection::Approvals`] (see [`super::fold_approval_events`]).
pub fn fold_org(projection: Projection, state: Option<&str>, commit: &CommitRecord) -> Result<OrgFold, StoreError> {
    let payloads: Vec<&serde_json::Value> = commit.events.iter().map(|e| &e.payload).collect();
    let version = commit.last_version() as i64;
    match projection {
        Projection::Employees => fold_one(state, &payloads, |e| OrgRow::Employee(employee_row(e, version))),
        Projection::Departments => fold_one(state, &payloads, |d| OrgRow::Department(department_row(d, version))),
        Projection::Delegations => fold_one(state, &payloads, |d| OrgRow::Delegation(delegation_row(d, version))),
        Projection::Leave => {
            let mut fold = fold_one(state, &payloads, |l| OrgRow::LeaveBalance(leave_row(l, version)))?;
            for event in &commit.events {
                fold.ledger
                    .push(leave_entry(&commit.stream_id, event.version, &event.payload)?);
                let decoded: LeaveEvent = decode(&event.payload)?;
                if let LeaveEvent::PromotionNoticeSent {
                    unused, period_end, at, ..
                } = &decoded
                {
                    for (who, notice) in leave_notices(&decoded) {
                        let title = format!("{} · {period_end}", unused.normalize());
                        let row = notice_row(
                            &commit.stream_id,
                            event.version,
                            who,
                            notice,
                            who.to_string(),
                            title,
                            *at,
                        );
                        fold.notices.push(row);
                    }
                }
            }
            fold.people = vec![commit.stream_id.clone()];
            Ok(fold)
        }
        Projection::Attendance => {
            let mut fold = fold_one(state, &payloads, |d| OrgRow::AttendanceDay(attendance_row(d, version)))?;
            for event in &commit.events {
                let decoded: AttendanceEvent = decode(&event.payload)?;
                if let AttendanceEvent::WeeklyHoursReported {
                    employee,
                    week,
                    minutes,
                    at,
                    ..
                } = &decoded
                {
                    for (who, notice) in attendance_notices(&decoded) {
                        let title = format!("{week} · {}h{:02}m", minutes / 60, minutes % 60);
                        let row = notice_row(
                            &commit.stream_id,
                            event.version,
                            who,
                            notice,
                            employee.to_string(),
                            title,
                            *at,
                        );
                        fold.notices.push(row);
                    }
                }
            }
            if let OrgRow::AttendanceDay(row) = &fold.current {
                fold.people = vec![row.employee.clone()];
            }
            Ok(fold)
        }
        Projection::Quests => {
            let mut fold = fold_one(state, &payloads, |q| quest_rows(q, version))?;
            // Each event's notices are decided on the quest as it stood after that event.
            let mut quest: Quest = restore(state)?;
            for event in &commit.events {
                let decoded: QuestEvent = decode(&event.payload)?;
                quest.evolve(&decoded);
                let Some(after) = quest.posted() else { continue };
                for (who, notice) in quest_notices(&decoded, after) {
                    let row = notice_row(
                        &commit.stream_id,
                        event.version,
                        who,
                        notice,
                        after.id.to_string(),
                        after.title.clone(),
                        quest_event_at(&decoded),
                    );
                    fold.notices.push(row);
                }
            }
            if let Some(after) = quest.posted() {
                fold.owner = Some(after.poster.to_string());
                let mut people: Vec<String> = Vec::new();
                for event in &commit.events {
                    let decoded: QuestEvent = decode(&event.payload)?;
                    let named: Vec<EmployeeId> = match decoded {
                        QuestEvent::Posted { .. } => Vec::new(),
                        QuestEvent::Accepted { employee, .. }
                        | QuestEvent::Submitted { employee, .. }
                        | QuestEvent::Verified { employee, .. }
                        | QuestEvent::Returned { employee, .. } => vec![employee],
                        QuestEvent::Cancelled { .. } => after.participants.keys().copied().collect(),
                    };
                    people.extend(named.iter().map(ToString::to_string));
                }
                people.sort();
                people.dedup();
                fold.people = people;
            }
            Ok(fold)
        }
        Projection::FeedReads => fold_one(state, &payloads, |r| OrgRow::FeedRead(feed_read_row(r, version))),
        Projection::Approvals => Err(StoreError::Corrupt(
            "approval commits fold with fold_approval_events".into(),
        )),
    }
}

fn fold_one<A>(
    state: Option<&str>,
    payloads: &[&serde_json::Value],
    row: impl FnOnce(&A) -> OrgRow,
) -> Result<OrgFold, StoreError>
where
    A: Aggregate + Serialize + DeserializeOwned,
    A::Event: DeserializeOwned,
{
    let mut aggregate: A = restore(state)?;
    evolve(&mut aggregate, payloads)?;
    Ok(OrgFold {
        state: serde_json::to_string(&aggregate).map_err(corrupt)?,
        current: row(&aggregate),
        ledger: Vec::new(),
        notices: Vec::new(),
        people: Vec::new(),
        owner: None,
    })
}

/// When a quest event happened.
fn quest_event_at(event: &QuestEvent) -> chrono::DateTime<chrono::Utc> {
    use QuestEvent as E;
    match event {
        E::Posted { at, .. }
        | E::Accepted { at, .. }
        | E::Submitted { at, .. }
        | E::Verified { at, .. }
        | E::Returned { at, .. }
        | E::Cancelled { at, .. } => *at,
    }
}

fn feed_read_row(r: &FeedReads, version: i64) -> FeedReadRow {
    let marks: std::collections::BTreeMap<&str, String> =
        r.marks.iter().map(|(id, at)| (id.as_str(), at.to_rfc3339())).collect();
    FeedReadRow {
        reader: r.reader.map(|id| id.to_string()).unwrap_or_default(),
        read_through: r.read_through.map(|at| at.to_rfc3339()),
        marks: serde_json::to_string(&marks).unwrap_or_else(|_| "{}".to_owned()),
        version,
    }
}

fn employee_row(e: &Employee, version: i64) -> EmployeeRow {
    let roles: Vec<String> = e.roles.iter().map(name_of).collect();
    EmployeeRow {
        id: e.id.map(|id| id.to_string()),
        name: e.name.clone(),
        email: e.email.clone(),
        department: e.department.map(|d| d.to_string()),
        position_title: e.position.as_ref().map(|p| p.title.clone()),
        position_rank: e.position.as_ref().map_or(0, |p| p.rank as i64),
        manager: e.manager.map(|m| m.to_string()),
        roles: roles.join(","),
        active: e.active,
        version,
    }
}

fn department_row(d: &Department, version: i64) -> DepartmentRow {
    DepartmentRow {
        id: d.id.map(|id| id.to_string()),
        name: d.name.clone(),
        code: d.code.clone(),
        parent: d.parent.map(|p| p.to_string()),
        head: d.head.map(|h| h.to_string()),
        closed: d.closed,
        version,
        schedule: d.schedule.as_ref().and_then(|s| serde_json::to_string(s).ok()),
    }
}

fn delegation_row(d: &Delegation, version: i64) -> DelegationRow {
    DelegationRow {
        id: d.id.map(|id| id.to_string()),
        principal: d.principal.map(|p| p.to_string()),
        proxy: d.proxy.map(|p| p.to_string()),
        valid_from: d.window.map(|w| w.from.to_rfc3339()),
        valid_until: d.window.map(|w| w.until.to_rfc3339()),
        revoked: d.revoked,
        version,
    }
}

fn leave_row(l: &LeaveLedger, version: i64) -> LeaveBalanceRow {
    LeaveBalanceRow {
        employee: l.employee.map(|e| e.to_string()),
        balance: l.balance.normalize().to_string(),
        used: l.used.normalize().to_string(),
        version,
    }
}

/// The day as its recorded schedule (its department's when it was first checked into, else
/// the standard day) judges it.
pub fn attendance_row(d: &AttendanceDay, version: i64) -> AttendanceDayRow {
    let day = d.day.unwrap_or_default();
    let assessment = d.assess(day, &d.schedule(), false, &[], KST);
    let state = if d.open_shift().is_some() {
        "working"
    } else if d.shifts.is_empty() {
        "absent"
    } else {
        "done"
    };
    AttendanceDayRow {
        employee: d.employee.map(|e| e.to_string()).unwrap_or_default(),
        day: day.to_string(),
        first_in: d.shifts.first().map(|s| s.start.to_rfc3339()),
        last_out: d.shifts.iter().rev().find_map(|s| s.end).map(|t| t.to_rfc3339()),
        regular_minutes: i64::from(assessment.worked.regular),
        overtime_minutes: i64::from(assessment.worked.overtime),
        night_minutes: i64::from(assessment.worked.night),
        late_minutes: i64::from(assessment.late_minutes),
        early_leave_minutes: i64::from(assessment.early_leave_minutes),
        state: state.to_owned(),
        version,
    }
}

fn quest_rows(q: &Quest, version: i64) -> OrgRow {
    let Some(quest) = q.posted() else {
        return OrgRow::Quest(None, Vec::new());
    };
    let id = quest.id.to_string();
    let (audience, department) = match quest.audience {
        Audience::Team => ("team", None),
        Audience::Department { department } => ("department", Some(department.to_string())),
        Audience::Company => ("company", None),
    };
    let (reward_kind, reward_amount) = reward_parts(quest.reward);
    let (kind, goal) = match quest.kind {
        QuestKind::Task => ("task", None),
        QuestKind::Attendance {
            goal: AttendanceGoal::OnTimeEveryWorkDay { year, month },
        } => (
            "attendance",
            Some(format!("on_time_every_work_day {year:04}-{month:02}")),
        ),
    };
    let participants = quest
        .participants
        .iter()
        .map(|(employee, p)| QuestParticipantRow {
            quest: id.clone(),
            employee: employee.to_string(),
            status: name_of(p.status),
            accepted_at: quest_time(p.accepted_at),
            returned_reason: p.returned_reason.clone(),
            earned: if p.status == domain::quest::ParticipationStatus::Verified {
                reward_amount
            } else {
                0
            },
            version,
        })
        .collect();
    let row = QuestRow {
        id,
        title: quest.title.clone(),
        description: quest.description.clone(),
        poster: quest.poster.to_string(),
        audience: audience.to_owned(),
        department,
        reward_kind: reward_kind.to_owned(),
        reward_amount,
        capacity: i64::from(quest.capacity),
        taken: quest.participants.len() as i64,
        deadline: quest_time(quest.deadline),
        kind: kind.to_owned(),
        goal,
        cancelled: quest.cancelled,
        version,
    };
    OrgRow::Quest(Some(row), participants)
}

/// A time as the quest rows hold it: UTC with milliseconds, so text order is time order and
/// every browser parses it.
pub fn quest_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A reward as (kind, amount): leave in hours, or points.
fn reward_parts(reward: Reward) -> (&'static str, i64) {
    match reward {
        Reward::LeaveHours { hours } => ("leave_hours", i64::from(hours)),
        Reward::Points { points } => ("points", i64::from(points)),
    }
}

fn leave_entry(employee: &str, version: u64, payload: &serde_json::Value) -> Result<LeaveEntryRow, StoreError> {
    let event: LeaveEvent = decode(payload)?;
    let (kind, days, document, reason, at) = match &event {
        LeaveEvent::Granted { days, year, at, .. } => ("granted", *days, None, Some(format!("{year}")), at),
        LeaveEvent::Debited { days, document, at, .. } => ("debited", -*days, Some(document.to_string()), None, at),
        LeaveEvent::Adjusted { days, reason, at, .. } => ("adjusted", *days, None, Some(reason.clone()), at),
        // Holds move days between available and pending; the balance itself is unchanged.
        LeaveEvent::Reserved {
            days,
            document,
            revision,
            at,
            ..
        } => (
            "reserved",
            *days,
            Some(document.to_string()),
            Some(format!("revision {revision}")),
            at,
        ),
        LeaveEvent::Released {
            days,
            document,
            revision,
            at,
            ..
        } => (
            "released",
            *days,
            Some(document.to_string()),
            Some(format!("revision {revision}")),
            at,
        ),
        LeaveEvent::Accrued { days, key, at, .. } => ("accrued", *days, None, Some(key.clone()), at),
        LeaveEvent::LotExpired { days, key, at, .. } => ("expired", -*days, None, Some(key.clone()), at),
        // A notice moves no days; the entry says which notice told how many unused days.
        LeaveEvent::PromotionNoticeSent {
            notice,
            unused,
            period_end,
            at,
            ..
        } => (
            "promotion_notice",
            Default::default(),
            None,
            Some(format!("{notice:?}: {unused} unused until {period_end}")),
            at,
        ),
    };
    Ok(LeaveEntryRow {
        employee: employee.to_owned(),
        version: version as i64,
        kind: kind.to_owned(),
        days: days.normalize().to_string(),
        document,
        reason,
        at: at.to_rfc3339(),
    })
}
