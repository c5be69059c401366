//! Runs the domain's process managers (`domain::process`) on the approval log: final approval
//! assigns a gap-free document number and records it on the document; final approval of a
//! leave request debits the drafter's leave ledger (consuming its hold); 반려, 회수 or discard
//! of a leave request releases its hold; final approval of a 근태 정정 document amends the
//! drafter's work day. Every follow-up has a command id derived
//! from the document and its purpose, and every follow-up command is idempotent, so
//! re-reading the log after a restart changes nothing — and so a follow-up that failed for a
//! passing reason (the log unavailable, another writer first) is simply tried again later,
//! with backoff, from a bounded queue: a broker outage delays numbering, it never skips it.
//!
//! A second loop follows the quest log: a quest verified with a leave reward accrues it in
//! the employee's ledger under a key of quest and employee, so a replay credits once. It
//! retries a passing failure in place (rewards are rare; nothing behind it waits long). The
//! same loop completes attendance quests whose month is over from the participants' days
//! ([`AttendanceQuests`]).

use crate::error::ApiError;
use crate::service::{derived_id, CommandService, Meta};
use crate::AppState;
use chrono::FixedOffset;
use domain::approval::{Approval, ApprovalCommand, ApprovalEvent};
use domain::attendance::{AttendanceCommand, AttendanceDay};
use domain::leave::LeaveLedger;
use domain::numbering::{NumberCommand, NumberSequence};
use domain::process::{follows_up, on_approval_event, on_quest_event, FollowUp, APPROVAL_EVENTS_FOLLOWED_UP};
use domain::quest::{AttendanceGoal, Quest, QuestCommand, QuestEvent, QuestKind};
use domain::Actor;
use infra::eventlog::chain::{Admission, StreamHeads};
use infra::eventlog::glance::Glance;
use infra::eventlog::{streams, Checkpoint, StreamRef};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use uuid::Uuid;

/// Starts the reactor tasks: approvals, and quests (rewards and attendance quests that
/// complete themselves).
pub fn start(state: AppState) {
    let quests = state.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = run(&state).await {
                tracing::warn!(error = %e.detail, "reactor stopped; restarting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    tokio::spawn(async move {
        loop {
            if let Err(e) = run_quests(&quests).await {
                tracing::warn!(error = %e.detail, "quest reactor stopped; restarting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn run_quests(state: &AppState) -> Result<(), ApiError> {
    let (service, offset) = (&*state.service, state.settings.company_offset);
    let mut subscription = service.log().subscribe(streams::QUEST, Checkpoint::new()).await?;
    let mut heads: HashMap<u32, StreamHeads> = HashMap::new();
    let mut attendance = AttendanceQuests::default();
    loop {
        attendance.sweep_if_due(state).await;
        for delivered in subscription.next_batch(200, Duration::from_millis(500)).await? {
            if heads.entry(delivered.partition).or_default().admit(&delivered.commit) != Admission::Accepted {
                continue;
            }
            let stream = StreamRef::new(streams::QUEST, delivered.commit.stream_id.clone());
            for event in &delivered.commit.events {
                let Ok(event) = serde_json::from_value::<QuestEvent>(event.payload.clone()) else {
                    continue;
                };
                attendance.follow(state, &stream, &event).await;
                if !matches!(event, QuestEvent::Verified { .. }) {
                    continue;
                }
                let mut wait = RETRY_FIRST;
                loop {
                    let commit = &delivered.commit;
                    match reward(
                        service,
                        &stream,
                        &event,
                        commit.commit_id,
                        commit.last_version(),
                        offset,
                    )
                    .await
                    {
                        Ok(()) => break,
                        Err(e) if passing(&e) => {
                            tracing::info!(stream = %stream, error = %e.detail, retry_in = ?wait, "quest reward failed; will retry");
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(RETRY_MAX);
                        }
                        Err(e) => {
                            tracing::warn!(stream = %stream, error = %e.detail, "quest reward failed");
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// A read of `stream` at `read` that does not reach the commit an event came in (`version`)
/// yet — a replica, a cache behind the subscription. Deciding on it would see too little and
/// do nothing, for good; it is a passing failure, tried again shortly.
fn behind(stream: &StreamRef, read: u64, version: u64) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "stream_behind",
        format!("{stream} read at v{read}, the event is at v{version}"),
    )
}

/// Credits a verified quest's leave reward, once per quest and employee. `version` is the
/// commit that carried the event: a read behind it (which would see no quest and credit
/// nothing, for good) is a passing failure, tried again.
async fn reward(
    service: &CommandService,
    stream: &StreamRef,
    event: &QuestEvent,
    cause: Uuid,
    version: u64,
    offset: FixedOffset,
) -> Result<(), ApiError> {
    let loaded = service.load::<Quest>(stream).await?;
    if loaded.version < version {
        return Err(behind(stream, loaded.version, version));
    }
    for step in on_quest_event(&loaded.state, event, offset) {
        if let FollowUp::Leave(command @ domain::leave::LeaveCommand::Accrue { employee, key, .. }) = &step {
            let ledger = StreamRef::new(streams::LEAVE, employee.to_string());
            let meta = Meta::system(derived_id(&format!("quest-reward/{key}")), Some(cause));
            service.execute::<LeaveLedger>(&ledger, None, &meta, command).await?;
        }
    }
    Ok(())
}

/// Follow-ups that failed for a passing reason, waiting for their next try. Bounded: when it
/// is full the reactor stops reading new events until tries drain it.
const MAX_PENDING: usize = 10_000;

/// The first retry of a failed follow-up waits this long, each next one twice as long, up to
/// [`RETRY_MAX`]; a follow-up is retried for as long as its failure is a passing one.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// A follow-up to try again: every follow-up is idempotent, so trying twice is harmless.
struct Pending {
    stream: StreamRef,
    event: ApprovalEvent,
    cause: Uuid,
    /// The version of the commit that carried the event.
    version: u64,
    due: tokio::time::Instant,
    wait: Duration,
}

/// Whether a failure may pass: the log was unavailable, or another writer got there first.
fn passing(e: &ApiError) -> bool {
    e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE
        || e.status == axum::http::StatusCode::CONFLICT
        || e.status == axum::http::StatusCode::TOO_MANY_REQUESTS
}

async fn run(state: &AppState) -> Result<(), ApiError> {
    let service = &*state.service;
    let mut subscription = service.log().subscribe(streams::APPROVAL, Checkpoint::new()).await?;
    let mut heads: HashMap<u32, StreamHeads> = HashMap::new();
    let mut pending: VecDeque<Pending> = VecDeque::new();
    loop {
        retry_due(state, &mut pending).await;
        if pending.len() >= MAX_PENDING {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        // Records as stored, glanced at: most approval events need no follow-up, and only
        // those that may are decoded (decoding every commit whole was a tenth of the command
        // role's work under load).
        for record in subscription.next_records(200, Duration::from_millis(500)).await? {
            let commit = match Glance::read(&record.bytes) {
                Ok(commit) => commit,
                Err(e) => {
                    // No reader can read it, so none accepts it: stepping over it keeps every
                    // head where a decode would, and numbering goes on behind it.
                    subscription.unreadable(record.partition, record.offset, &e);
                    continue;
                }
            };
            let stream_id = commit.stream_id();
            if heads
                .entry(record.partition)
                .or_default()
                .admit_span(&stream_id, commit.span())
                != Admission::Accepted
            {
                continue;
            }
            for event in commit.events() {
                if !APPROVAL_EVENTS_FOLLOWED_UP.contains(&&*event.event_type()) {
                    continue;
                }
                let Ok(event) = event.decode::<ApprovalEvent>() else {
                    continue;
                };
                if follows_up(&event) {
                    let stream = StreamRef::new(streams::APPROVAL, stream_id.clone().into_owned());
                    let cause = commit.commit_id();
                    let version = commit.last_version();
                    if let Err(e) = follow_up(state, &stream, &event, cause, version).await {
                        if passing(&e) {
                            tracing::info!(stream = %stream, error = %e.detail, "follow-up failed; will retry");
                            pending.push_back(Pending {
                                stream,
                                event,
                                cause,
                                version,
                                due: tokio::time::Instant::now() + RETRY_FIRST,
                                wait: RETRY_FIRST,
                            });
                        } else {
                            tracing::warn!(stream = %stream, error = %e.detail, "follow-up failed");
                        }
                    }
                }
            }
        }
    }
}

/// Tries again every pending follow-up whose time has come, in the order they failed.
async fn retry_due(state: &AppState, pending: &mut VecDeque<Pending>) {
    let now = tokio::time::Instant::now();
    for _ in 0..pending.len() {
        let Some(mut p) = pending.pop_front() else { break };
        if p.due > now {
            pending.push_back(p);
            continue;
        }
        match follow_up(state, &p.stream, &p.event, p.cause, p.version).await {
            Ok(()) => tracing::info!(stream = %p.stream, "follow-up done on retry"),
            Err(e) if passing(&e) => {
                p.wait = (p.wait * 2).min(RETRY_MAX);
                p.due = tokio::time::Instant::now() + p.wait;
                tracing::warn!(stream = %p.stream, error = %e.detail, retry_in = ?p.wait, "follow-up failed again");
                pending.push_back(p);
            }
            Err(e) => tracing::warn!(stream = %p.stream, error = %e.detail, "follow-up failed"),
        }
    }
}

async fn follow_up(
    state: &AppState,
    stream: &StreamRef,
    event: &ApprovalEvent,
    cause: Uuid,
    version: u64,
) -> Result<(), ApiError> {
    let (service, offset) = (&*state.service, state.settings.company_offset);
    let loaded = service.load::<Approval>(stream).await?;
    if loaded.version < version {
        // A read that does not reach the commit the event came in yet (a replica, a cache
        // behind the subscription): deciding on it would see no approval and do nothing, for
        // good. Try again shortly instead.
        return Err(behind(stream, loaded.version, version));
    }
    let Some(doc) = loaded.state.0 else {
        return Ok(());
    };
    let form = service.form(&doc.form.id.0, Some(doc.form.version))?.clone();
    for step in on_approval_event(&doc, event, &form, offset) {
        match step {
            FollowUp::Number(command) => {
                let NumberCommand::Assign { key, document, .. } = &command;
                let sequence = StreamRef::new(streams::NUMBERING, key.stream_id());
                let meta = Meta::system(derived_id(&format!("number/{document}")), Some(cause));
                // Concurrent final approvals race for the next number: retry on conflict.
                for attempt in 0..20 {
                    match service
                        .execute::<NumberSequence>(&sequence, None, &meta, &command)
                        .await
                        .map_err(ApiError::from)
                    {
                        Err(e) if e.status == axum::http::StatusCode::CONFLICT && attempt < 19 => continue,
                        other => {
                            other?;
                            break;
                        }
                    }
                }
                let assigned = service.load::<NumberSequence>(&sequence).await?.state;
                if let (Some(number), None) = (assigned.number_of(doc.id), &doc.number) {
                    let record = ApprovalCommand::RecordNumber {
                        number: number.clone(),
                        by: Actor::employee(event.actor()),
                        at: event.at(),
                    };
                    let meta = Meta::system(derived_id(&format!("record-number/{document}")), Some(cause));
                    match service
                        .execute::<Approval>(stream, None, &meta, &record)
                        .await
                        .map_err(ApiError::from)
                    {
                        Ok(_) => {}
                        Err(e) if e.code == "already_numbered" => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            FollowUp::Leave(command) => {
                use domain::leave::LeaveCommand as L;
                let (employee, purpose) = match &command {
                    L::Debit { employee, document, .. } => (employee, format!("leave-debit/{document}")),
                    L::Release {
                        employee,
                        document,
                        revision,
                        ..
                    } => (employee, format!("leave-release/{document}/{revision}")),
                    _ => continue,
                };
                let ledger = StreamRef::new(streams::LEAVE, employee.to_string());
                let meta = Meta::system(derived_id(&purpose), Some(cause));
                service.execute::<LeaveLedger>(&ledger, None, &meta, &command).await?;
            }
            FollowUp::Attendance(mut command) => {
                let AttendanceCommand::Correct {
                    employee,
                    day,
                    schedule,
                    ..
                } = &mut command
                else {
                    continue;
                };
                // A day never checked into records the drafter's department's schedule.
                *schedule = Some(crate::routes::attendance::schedule_of(state, *employee));
                let (employee, day) = (*employee, *day);
                let stream = StreamRef::new(streams::ATTENDANCE, AttendanceDay::stream_id(employee, day));
                let meta = Meta::system(derived_id(&format!("attendance-correct/{}", doc.id)), Some(cause));
                service.execute::<AttendanceDay>(&stream, None, &meta, &command).await?;
            }
        }
    }
    Ok(())
}

/// How often every attendance quest whose month is over is looked at again (a participant
/// whose days were corrected after the month may meet the goal late).
const ATTENDANCE_SWEEP: Duration = Duration::from_secs(3600);

/// How long after its month an attendance quest is still looked at: time enough for the
/// month's corrections to be approved. After it the quest is no longer followed.
const ATTENDANCE_GRACE_DAYS: u64 = 40;

/// Most attendance quests followed at once; beyond it the one with the smallest id is let
/// go (a restart reads them all again from the log).
const MAX_ATTENDANCE_QUESTS: usize = 10_000;

/// Most participants whose month of days one sweep reads (each a month of stream reads);
/// the rest wait for the next sweep.
const MAX_SWEPT_PARTICIPANTS: usize = 500;

/// Attendance quests that complete themselves: each is followed from its posting until it is
/// cancelled or its grace after the month has passed. When a participant takes one on (or
/// submits it) after its month is over, and hourly for every such quest, the participant's
/// days are read and the domain decides ([`QuestCommand::CompleteByAttendance`]); a goal not
/// met changes nothing.
#[derive(Default)]
struct AttendanceQuests {
    goals: std::collections::BTreeMap<domain::ids::QuestId, AttendanceGoal>,
    swept: Option<tokio::time::Instant>,
}

impl AttendanceQuests {
    async fn follow(&mut self, state: &AppState, stream: &StreamRef, event: &QuestEvent) {
        let Ok(id) = stream.stream_id.parse().map(domain::ids::QuestId) else {
            return;
        };
        match event {
            QuestEvent::Posted {
                kind: QuestKind::Attendance { goal },
                ..
            } => {
                if self.goals.len() >= MAX_ATTENDANCE_QUESTS {
                    self.goals.pop_first();
                }
                self.goals.insert(id, *goal);
            }
            QuestEvent::Cancelled { .. } => {
                self.goals.remove(&id);
            }
            QuestEvent::Accepted { employee, .. } | QuestEvent::Submitted { employee, .. } => {
                if let Some(goal) = self.goals.get(&id).copied() {
                    if month_over(state, &goal) {
                        complete_waiting(state, id, &goal, Some(*employee)).await;
                    }
                }
            }
            _ => {}
        }
    }

    /// Every followed quest whose month is over, at most once per [`ATTENDANCE_SWEEP`] and
    /// [`MAX_SWEPT_PARTICIPANTS`] participants; quests past their grace are let go.
    async fn sweep_if_due(&mut self, state: &AppState) {
        let now = tokio::time::Instant::now();
        if self.swept.is_some_and(|at| now < at + ATTENDANCE_SWEEP) {
            return;
        }
        self.swept = Some(now);
        let today = chrono::Utc::now()
            .with_timezone(&state.settings.company_offset)
            .date_naive();
        self.goals.retain(|_, goal| {
            goal.month()
                .and_then(|(_, last)| last.checked_add_days(chrono::Days::new(ATTENDANCE_GRACE_DAYS)))
                .is_some_and(|until| until >= today)
        });
        let mut budget = MAX_SWEPT_PARTICIPANTS;
        for (id, goal) in self.goals.clone() {
            if budget == 0 {
                break;
            }
            if month_over(state, &goal) {
                budget = budget.saturating_sub(complete_waiting(state, id, &goal, None).await);
            }
        }
    }
}

/// Whether `goal`'s month is over, company-local.
fn month_over(state: &AppState, goal: &AttendanceGoal) -> bool {
    let today = chrono::Utc::now()
        .with_timezone(&state.settings.company_offset)
        .date_naive();
    goal.month().is_some_and(|(_, last)| last < today)
}

/// Completes the participations of attendance quest `id` not yet verified (only `only`'s,
/// when given) whose days meet `goal`; returns how many participants' days it read. A goal not
/// met, or the log unavailable, leaves a participation for the next look.
async fn complete_waiting(
    state: &AppState,
    id: domain::ids::QuestId,
    goal: &AttendanceGoal,
    only: Option<domain::ids::EmployeeId>,
) -> usize {
    let stream = StreamRef::new(streams::QUEST, id.to_string());
    let Ok(loaded) = state.service.load::<Quest>(&stream).await else {
        return 0;
    };
    let Some(quest) = loaded.state.posted().filter(|q| !q.cancelled) else {
        return 0;
    };
    let waiting: Vec<domain::ids::EmployeeId> = quest
        .participants
        .iter()
        .filter(|(e, p)| p.status != domain::quest::ParticipationStatus::Verified && only.is_none_or(|o| o == **e))
        .map(|(e, _)| *e)
        .collect();
    for employee in &waiting {
        let attendance = match crate::routes::quests::month_attendance(state, *employee, goal).await {
            Ok(days) => days,
            Err(e) => {
                tracing::info!(quest = %id, error = %ApiError::from(e).detail, "attendance quest: days unread; next sweep");
                continue;
            }
        };
        let command = QuestCommand::CompleteByAttendance {
            employee: *employee,
            attendance,
            at: chrono::Utc::now(),
        };
        let meta = Meta::system(derived_id(&format!("quest-complete/{id}/{employee}")), None);
        match state
            .service
            .execute::<Quest>(&stream, None, &meta, &command)
            .await
            .map_err(ApiError::from)
        {
            Ok(outcome) if !outcome.events.is_empty() => {
                tracing::info!(quest = %id, %employee, "attendance quest completed itself")
            }
            Ok(_) => {}
            Err(e) if e.code == "attendance_goal_not_met" => {}
            Err(e) => tracing::info!(quest = %id, error = %e.detail, "attendance quest: not completed; next sweep"),
        }
    }
    waiting.len()
}
