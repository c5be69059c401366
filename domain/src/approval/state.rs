//! The folded document: status, per-step progress, hold, number, comments. `evolve` is the
//! single place where events change state; projectors and time travel fold with it too.

use super::command::Content;
use super::event::ApprovalEvent;
use super::line::ApprovalLine;
use crate::authority::AuthorityDecision;
use crate::form::FormRef;
use crate::ids::{ApprovalId, CommentId, EmployeeId};
use crate::line_rule::RuleRef;
use crate::numbering::DocumentNumber;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Document status (문서 상태).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 임시저장
    Draft,
    /// 진행 (상신됨)
    InProgress,
    /// 보류
    OnHold,
    /// 완료
    Approved,
    /// 반려
    Rejected,
    /// 회수
    Withdrawn,
    /// Deleted draft.
    Discarded,
}

impl Status {
    /// No decision is possible in this status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Approved | Status::Rejected | Status::Withdrawn | Status::Discarded
        )
    }
}

/// A seat holder's vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Agree,
    Disagree,
}

/// One decision in a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The seat holder on the line.
    pub member: EmployeeId,
    /// Who acted: the member, or their proxy (대결).
    pub by: EmployeeId,
    pub verdict: Verdict,
    pub at: DateTime<Utc>,
    /// 전결
    pub final_authority: bool,
}

/// Progress of one step in the current revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepProgress {
    pub decisions: Vec<Decision>,
    /// Skipped by 전결 at an earlier step.
    pub skipped: bool,
}

impl StepProgress {
    pub fn decision_of(&self, member: EmployeeId) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.member == member)
    }

    pub fn agreed(&self) -> usize {
        self.decisions.iter().filter(|d| d.verdict == Verdict::Agree).count()
    }

    pub fn disagreed(&self) -> usize {
        self.decisions.iter().filter(|d| d.verdict == Verdict::Disagree).count()
    }
}

/// A comment (의견).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub by: EmployeeId,
    pub text: String,
    pub at: DateTime<Utc>,
    pub revision: u32,
}

/// A hold on the current step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub step: usize,
    pub member: EmployeeId,
    pub reason: String,
}

/// An existing document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDocument {
    pub id: ApprovalId,
    pub drafter: EmployeeId,
    pub form: FormRef,
    pub content: Content,
    pub line: ApprovalLine,
    pub status: Status,
    /// 1 for the first submission; +1 per 재상신.
    pub revision: u32,
    pub steps: Vec<StepProgress>,
    /// Index of the step that decides now.
    pub current: usize,
    pub hold: Option<Hold>,
    pub rule: Option<RuleRef>,
    /// The 전결 규정 row this revision was checked against and who holds 전결권.
    #[serde(default)]
    pub authority: Option<AuthorityDecision>,
    pub amount: Option<Decimal>,
    pub leave_days: Option<Decimal>,
    pub number: Option<DocumentNumber>,
    pub comments: Vec<Comment>,
    pub drafted_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl ApprovalDocument {
    /// Seat holders who may decide right now (empty unless in progress or on hold).
    pub fn current_approvers(&self) -> Vec<EmployeeId> {
        if !matches!(self.status, Status::InProgress | Status::OnHold) {
            return Vec::new();
        }
        let (Some(step), Some(progress)) = (self.line.steps.get(self.current), self.steps.get(self.current)) else {
            return Vec::new();
        };
        step.members()
            .iter()
            .copied()
            .filter(|m| progress.decision_of(*m).is_none())
            .collect()
    }

    /// Whether any approver acted on this revision (a decision or a hold).
    pub fn any_action(&self) -> bool {
        self.hold.is_some() || self.steps.iter().any(|s| !s.decisions.is_empty())
    }

    /// Whether a step has enough agreement to pass.
    pub fn step_passed(&self, index: usize) -> bool {
        match (self.line.steps.get(index), self.steps.get(index)) {
            (Some(step), Some(progress)) => progress.skipped || progress.agreed() >= step.required(),
            _ => false,
        }
    }

    /// Records the authority of a new revision and marks the 전결권 seat on the line (and no
    /// other: a flag that came in with the draft is not authority).
    fn grant_authority(&mut self, authority: &Option<AuthorityDecision>) {
        self.authority = authority.clone();
        let holder = authority.as_ref().and_then(|a| a.final_approver);
        for step in &mut self.line.steps {
            if let super::Step::Approval {
                approver,
                final_authority,
            } = step
            {
                *final_authority = Some(*approver) == holder;
            }
        }
    }

    fn start_revision(&mut self, at: DateTime<Utc>) {
        self.status = Status::InProgress;
        self.steps = vec![StepProgress::default(); self.line.steps.len()];
        self.current = 0;
        self.hold = None;
        self.number = None;
        self.submitted_at = Some(at);
        self.completed_at = None;
    }

    fn record(&mut self, step: usize, decision: Decision) {
        if let Some(progress) = self.steps.get_mut(step) {
            progress.decisions.retain(|d| d.member != decision.member);
            progress.decisions.push(decision);
        }
        self.hold = None;
        if self.status == Status::OnHold {
            self.status = Status::InProgress;
        }
    }

    fn advance(&mut self, at: DateTime<Utc>) {
        while self.current < self.line.steps.len() && self.step_passed(self.current) {
            self.current += 1;
        }
        if self.current >= self.line.steps.len() {
            self.status = Status::Approved;
            self.completed_at = Some(at);
        }
    }
}

/// The aggregate: `None` until drafted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval(pub Option<ApprovalDocument>);

impl Approval {
    pub fn document(&self) -> Option<&ApprovalDocument> {
        self.0.as_ref()
    }

    /// The document as it stood at `at` (time travel), and how many events that is: the
    /// stream's events in version order up to the first that happened after `at`, by each
    /// event's own time. Decisions keep times monotonic per stream, so this is every event at
    /// or before `at`; on a stream written before that rule, the prefix stops at the first
    /// later event, so time travel never shows a state that never existed. Every reader (the
    /// GraphQL `approvalAsOf`, `erp history --as-of`) answers with this one definition.
    pub fn as_of<'a>(events: impl IntoIterator<Item = &'a ApprovalEvent>, at: DateTime<Utc>) -> (Self, usize) {
        let mut state = Self::default();
        let mut folded = 0;
        for event in events.into_iter().take_while(|e| e.at() <= at) {
            state.apply(event);
            folded += 1;
        }
        (state, folded)
    }

    /// Applies one event. Events that do not fit (impossible by construction) leave the state
    /// unchanged rather than panic.
    pub(crate) fn apply(&mut self, event: &ApprovalEvent) {
        use ApprovalEvent as E;
        if let E::Drafted {
            id,
            drafter,
            form,
            content,
            line,
            at,
            ..
        } = event
        {
            self.0 = Some(ApprovalDocument {
                id: *id,
                drafter: *drafter,
                form: form.clone(),
                content: content.clone(),
                line: line.clone(),
                status: Status::Draft,
                revision: 0,
                steps: Vec::new(),
                current: 0,
                hold: None,
                rule: None,
                authority: None,
                amount: None,
                leave_days: None,
                number: None,
                comments: Vec::new(),
                drafted_at: *at,
                submitted_at: None,
                completed_at: None,
                updated_at: *at,
            });
            return;
        }
        let Some(doc) = self.0.as_mut() else { return };
        doc.updated_at = event.at();
        let decision = |member, by, verdict, at, final_authority| Decision {
            member,
            by,
            verdict,
            at,
            final_authority,
        };
        match event {
            E::Drafted { .. } => {}
            E::DraftSaved { content, line, .. } => {
                doc.content = content.clone();
                doc.line = line.clone();
            }
            E::DraftDiscarded { .. } => doc.status = Status::Discarded,
            E::Submitted {
                rule,
                authority,
                amount,
                leave_days,
                at,
                ..
            } => {
                doc.revision = 1;
                doc.rule = rule.clone();
                doc.grant_authority(authority);
                doc.amount = *amount;
                doc.leave_days = *leave_days;
                doc.start_revision(*at);
            }
            E::Approved { step, by, at, .. } => {
                doc.record(*step, decision(*by, *by, Verdict::Agree, *at, false));
                doc.advance(*at);
            }
            E::ProxyApproved {
                step,
                on_behalf_of,
                by,
                at,
                ..
            } => {
                doc.record(*step, decision(*on_behalf_of, *by, Verdict::Agree, *at, false));
                doc.advance(*at);
            }
            E::ApprovedAsFinal {
                step, skipped, by, at, ..
            } => {
                doc.record(*step, decision(*by, *by, Verdict::Agree, *at, true));
                for index in skipped {
                    if let Some(progress) = doc.steps.get_mut(*index) {
                        progress.skipped = true;
                    }
                }
                doc.advance(*at);
            }
            E::Disagreed {
                step,
                on_behalf_of,
                by,
                at,
                ..
            } => {
                doc.record(
                    *step,
                    decision(on_behalf_of.unwrap_or(*by), *by, Verdict::Disagree, *at, false),
                );
            }
            E::Rejected {
                step,
                to,
                on_behalf_of,
                by,
                at,
                ..
            } => match to {
                super::RejectTarget::Drafter => {
                    doc.record(
                        *step,
                        decision(on_behalf_of.unwrap_or(*by), *by, Verdict::Disagree, *at, false),
                    );
                    doc.status = Status::Rejected;
                    doc.completed_at = Some(*at);
                }
                super::RejectTarget::PreviousStep => {
                    let back = step.saturating_sub(1);
                    for progress in doc.steps.iter_mut().skip(back) {
                        *progress = StepProgress::default();
                    }
                    doc.current = back;
                    doc.hold = None;
                    doc.status = Status::InProgress;
                }
            },
            E::Withdrawn { at, .. } => {
                doc.status = Status::Withdrawn;
                doc.completed_at = Some(*at);
            }
            E::ApprovalCancelled { step, member, .. } => {
                if let Some(progress) = doc.steps.get_mut(*step) {
                    progress.decisions.retain(|d| d.member != *member);
                }
                doc.current = *step;
                doc.status = Status::InProgress;
            }
            E::Held {
                step, member, reason, ..
            } => {
                doc.status = Status::OnHold;
                doc.hold = Some(Hold {
                    step: *step,
                    member: *member,
                    reason: reason.clone(),
                });
            }
            E::Released { .. } => {
                doc.status = Status::InProgress;
                doc.hold = None;
            }
            E::Resubmitted {
                revision,
                content,
                line,
                rule,
                authority,
                amount,
                leave_days,
                at,
                ..
            } => {
                doc.revision = *revision;
                doc.content = content.clone();
                doc.line = line.clone();
                doc.rule = rule.clone();
                doc.grant_authority(authority);
                doc.amount = *amount;
                doc.leave_days = *leave_days;
                doc.start_revision(*at);
            }
            E::Commented {
                comment_id,
                text,
                by,
                at,
            } => doc.comments.push(Comment {
                id: *comment_id,
                by: *by,
                text: text.clone(),
                at: *at,
                revision: doc.revision,
            }),
            E::Numbered { number, .. } => doc.number = Some(number.clone()),
        }
    }
}
