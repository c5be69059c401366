//! The rules of 전자결재: one function per action, each returning the events to append or
//! the rule it would break.

use super::command::{ApprovalCommand as C, Content, RejectTarget};
use super::error::ApprovalError as Err;
use super::event::ApprovalEvent as E;
use super::line::{ApprovalLine, LineError, LineRoster, Step};
use super::state::{Approval, ApprovalDocument, Status};
use crate::actor::Actor;
use crate::aggregate::Aggregate;
use crate::authority::{AuthorityDecision, Requirement};
use crate::form::{FormKind, FormTemplate};
use crate::ids::{DelegationId, EmployeeId};
use crate::org::Delegation;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

type Decided = Result<Vec<E>, Err>;

const MAX_TEXT: usize = 2_000;
/// Most comments one document takes.
pub const MAX_COMMENTS: usize = 1_000;
/// Most comments one person adds to one document in an hour.
pub const MAX_COMMENTS_PER_HOUR: usize = 30;
/// Longest title: it is a key column (VARCHAR(191)) in the MySQL read model.
pub const MAX_TITLE: usize = 150;
const MAX_ATTACHMENTS: usize = 20;
const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;
/// Longest attachment name or content type.
const MAX_NAME: usize = 255;

/// The seat an actor decides in: the holder, and the delegation if acting as proxy.
pub(super) struct Seat {
    pub(super) step: usize,
    pub(super) member: EmployeeId,
    pub(super) proxy: Option<DelegationId>,
}

impl Aggregate for Approval {
    type Command = C;
    type Event = E;
    type Error = Err;

    fn decide(&self, command: &C) -> Decided {
        let mut events = self.decide_now(command)?;
        if let Some(doc) = self.document() {
            for event in &mut events {
                event.not_before(doc.updated_at);
            }
        }
        Ok(events)
    }

    fn evolve(&mut self, event: &E) {
        self.apply(event);
    }
}

impl Approval {
    /// The rules, one arm per action; [`Aggregate::decide`] then keeps times monotonic.
    fn decide_now(&self, command: &C) -> Decided {
        let Some(doc) = self.document() else {
            return match command {
                C::Draft {
                    id,
                    form,
                    content,
                    line,
                    by,
                    at,
                } => {
                    let content = checked_content(content)?;
                    form.validate_draft(&content.body)?;
                    line.validate_shape(by.id).map_err(line_error)?;
                    Ok(vec![E::Drafted {
                        id: *id,
                        drafter: by.id,
                        form: form.form_ref(),
                        content,
                        line: line.clone(),
                        by: by.id,
                        at: *at,
                    }])
                }
                _ => Err(Err::NotFound),
            };
        };
        match command {
            C::Draft { .. } => Err(Err::AlreadyExists),
            C::SaveDraft {
                form,
                content,
                line,
                by,
                at,
            } => {
                doc.ensure_editable_draft(by)?;
                doc.ensure_form(form)?;
                let content = checked_content(content)?;
                form.validate_draft(&content.body)?;
                line.validate_shape(by.id).map_err(line_error)?;
                Ok(vec![E::DraftSaved {
                    content,
                    line: line.clone(),
                    by: by.id,
                    at: *at,
                }])
            }
            C::Discard { by, at } => {
                doc.ensure_editable_draft(by)?;
                Ok(vec![E::DraftDiscarded { by: by.id, at: *at }])
            }
            C::Submit {
                form,
                rule,
                authority,
                roster,
                leave_balance,
                by,
                at,
            } => {
                doc.ensure_editable_draft(by)?;
                let submission = Submission {
                    form,
                    content: &doc.content,
                    line: &doc.line,
                    authority,
                    roster,
                    leave_balance: *leave_balance,
                };
                let (amount, leave_days, authority) = doc.check_submission(&submission)?;
                Ok(vec![E::Submitted {
                    rule: rule.clone(),
                    authority: Some(authority),
                    amount,
                    leave_days,
                    by: by.id,
                    at: *at,
                }])
            }
            C::Approve { comment, proxy, by, at } => {
                let comment = optional_text(comment)?;
                let seat = doc.seat(by, proxy.as_ref(), *at)?;
                Ok(vec![match (seat.proxy, proxy) {
                    (Some(delegation), Some(_)) => E::ProxyApproved {
                        step: seat.step,
                        on_behalf_of: seat.member,
                        delegation,
                        comment,
                        by: by.id,
                        at: *at,
                    },
                    _ => E::Approved {
                        step: seat.step,
                        comment,
                        by: by.id,
                        at: *at,
                    },
                }])
            }
            C::ApproveAsFinal { comment, by, at } => {
                let comment = optional_text(comment)?;
                let seat = doc.seat(by, None, *at)?;
                // 전결권 is the company's (recorded at 상신), never the line's own say-so.
                let holds_authority = doc.authority.as_ref().and_then(|a| a.final_approver) == Some(seat.member);
                if !holds_authority || !matches!(doc.line.steps.get(seat.step), Some(Step::Approval { .. })) {
                    return Err(Err::NoFinalAuthority);
                }
                let skipped = (seat.step + 1..doc.line.steps.len()).collect();
                Ok(vec![E::ApprovedAsFinal {
                    step: seat.step,
                    skipped,
                    comment,
                    by: by.id,
                    at: *at,
                }])
            }
            C::Reject {
                reason,
                to,
                proxy,
                by,
                at,
            } => {
                let reason = required_text(reason, Err::ReasonRequired)?;
                let seat = doc.seat(by, proxy.as_ref(), *at)?;
                let on_behalf_of = seat.proxy.map(|_| seat.member);
                if *to == RejectTarget::PreviousStep && seat.step == 0 {
                    return Err(Err::NoPreviousStep);
                }
                if *to == RejectTarget::Drafter && doc.quorum_still_reachable_after_no(seat.step) {
                    return Ok(vec![E::Disagreed {
                        step: seat.step,
                        reason,
                        on_behalf_of,
                        by: by.id,
                        at: *at,
                    }]);
                }
                Ok(vec![E::Rejected {
                    step: seat.step,
                    to: *to,
                    reason,
                    on_behalf_of,
                    by: by.id,
                    at: *at,
                }])
            }
            C::Withdraw { by, at } => {
                doc.ensure_drafter(by)?;
                doc.ensure_open()?;
                if doc.any_action() {
                    return Err(Err::ApproverActed);
                }
                Ok(vec![E::Withdrawn { by: by.id, at: *at }])
            }
            C::CancelApproval { by, at } => doc.cancel_approval(by, *at),
            C::Hold { reason, proxy, by, at } => {
                let reason = required_text(reason, Err::ReasonRequired)?;
                if doc.status == Status::OnHold {
                    doc.ensure_open()?;
                    return Err(Err::AlreadyOnHold);
                }
                let seat = doc.seat(by, proxy.as_ref(), *at)?;
                Ok(vec![E::Held {
                    step: seat.step,
                    member: seat.member,
                    reason,
                    by: by.id,
                    at: *at,
                }])
            }
            C::Release { proxy, by, at } => {
                doc.ensure_open()?;
                if doc.status != Status::OnHold {
                    return Err(Err::NotOnHold);
                }
                let seat = doc.seat(by, proxy.as_ref(), *at)?;
                Ok(vec![E::Released {
                    step: seat.step,
                    by: by.id,
                    at: *at,
                }])
            }
            C::Resubmit {
                form,
                content,
                line,
                rule,
                authority,
                roster,
                leave_balance,
                by,
                at,
            } => {
                doc.ensure_resubmittable(by)?;
                let content = checked_content(content)?;
                let submission = Submission {
                    form,
                    content: &content,
                    line,
                    authority,
                    roster,
                    leave_balance: *leave_balance,
                };
                let (amount, leave_days, authority) = doc.check_submission(&submission)?;
                Ok(vec![E::Resubmitted {
                    revision: doc.revision + 1,
                    content,
                    line: line.clone(),
                    rule: rule.clone(),
                    authority: Some(authority),
                    amount,
                    leave_days,
                    by: by.id,
                    at: *at,
                }])
            }
            C::Comment { id, text, by, at } => {
                let text = required_text(text, Err::InvalidComment)?;
                if doc.status == Status::Discarded {
                    return Err(Err::Terminal { status: doc.status });
                }
                if !doc.may_comment(by) {
                    return Err(Err::NotParticipant);
                }
                doc.ensure_comment_room(by, *at)?;
                Ok(vec![E::Commented {
                    comment_id: *id,
                    text,
                    by: by.id,
                    at: *at,
                }])
            }
            C::RecordNumber { number, by, at } => {
                if doc.status != Status::Approved {
                    return Err(Err::NotApproved);
                }
                if doc.number.is_some() {
                    return Err(Err::AlreadyNumbered);
                }
                Ok(vec![E::Numbered {
                    number: number.clone(),
                    by: by.id,
                    at: *at,
                }])
            }
        }
    }
}

/// Everything 상신 and 재상신 check, gathered.
struct Submission<'a> {
    form: &'a FormTemplate,
    content: &'a Content,
    line: &'a ApprovalLine,
    authority: &'a Requirement,
    roster: &'a LineRoster,
    leave_balance: Option<Decimal>,
}

fn line_error(e: LineError) -> Err {
    match e {
        LineError::DrafterOnLine => Err::SelfApproval,
        other => Err::InvalidLine(other),
    }
}

impl ApprovalDocument {
    fn ensure_drafter(&self, by: &Actor) -> Result<(), Err> {
        if by.id == self.drafter {
            Ok(())
        } else {
            Err(Err::NotDrafter)
        }
    }

    /// 임시저장, discard and 상신 are the drafter's, on a draft. Public so that a caller
    /// gathering a submission's context (a leave hold) can refuse first what the document would.
    pub fn ensure_editable_draft(&self, by: &Actor) -> Result<(), Err> {
        self.ensure_drafter(by)?;
        if self.status == Status::Draft {
            Ok(())
        } else {
            Err(Err::NotDraft)
        }
    }

    /// 재상신 is the drafter's, on a rejected or withdrawn document.
    pub fn ensure_resubmittable(&self, by: &Actor) -> Result<(), Err> {
        self.ensure_drafter(by)?;
        if matches!(self.status, Status::Rejected | Status::Withdrawn) {
            Ok(())
        } else {
            Err(Err::NotResubmittable)
        }
    }

    fn ensure_form(&self, form: &FormTemplate) -> Result<(), Err> {
        if form.form_ref() == self.form {
            Ok(())
        } else {
            Err(Err::FormMismatch)
        }
    }

    /// In progress or on hold: decisions are possible.
    pub(super) fn ensure_open(&self) -> Result<(), Err> {
        match self.status {
            Status::InProgress | Status::OnHold => Ok(()),
            Status::Draft => Err(Err::NotSubmitted),
            status => Err(Err::Terminal { status }),
        }
    }

    /// Everything 상신 and 재상신 check: form version, body, line (every name active, every
    /// approver the 전결 규정 requires on it), leave balance. Returns the amount, the leave
    /// days and the authority the revision is decided under.
    fn check_submission(
        &self,
        s: &Submission<'_>,
    ) -> Result<(Option<Decimal>, Option<Decimal>, AuthorityDecision), Err> {
        self.ensure_form(s.form)?;
        s.form.validate(&s.content.body)?;
        s.line.validate(self.drafter, s.roster).map_err(line_error)?;
        s.authority
            .satisfied_by(s.line)
            .map_err(|missing| Err::InvalidLine(LineError::MissingRequiredApprovers { missing }))?;
        let leave_days = s.form.leave_days(&s.content.body);
        if s.form.kind == FormKind::Leave {
            let requested = leave_days.unwrap_or_default();
            let available = s.leave_balance.ok_or(Err::LeaveBalanceRequired)?;
            if requested > available {
                return Err(Err::InsufficientLeave { requested, available });
            }
        }
        Ok((s.form.amount(&s.content.body), leave_days, s.authority.decision(s.line)))
    }

    /// Resolves the seat `by` decides in now, checking every decision invariant.
    pub(super) fn seat(&self, by: &Actor, proxy: Option<&Delegation>, at: DateTime<Utc>) -> Result<Seat, Err> {
        self.ensure_open()?;
        if by.id == self.drafter {
            return Err(Err::SelfApproval);
        }
        let (member, delegation) = match proxy {
            None => (by.id, None),
            Some(d) => match (d.principal, d.id) {
                (Some(principal), Some(id)) if d.authorises(by.id, principal, at) => (principal, Some(id)),
                _ => return Err(Err::ProxyNotAuthorised),
            },
        };
        if member == self.drafter {
            return Err(Err::SelfApproval);
        }
        let step = self.current;
        let seated = self.line.steps.get(step).is_some_and(|s| s.members().contains(&member));
        let decided_here = self.steps.get(step).and_then(|p| p.decision_of(member)).is_some();
        if !seated || decided_here {
            let decided_before = self
                .steps
                .iter()
                .take(step + 1)
                .any(|p| p.decision_of(member).is_some());
            return Err(if decided_before {
                Err::AlreadyDecided { by: member }
            } else {
                Err::NotCurrentApprover { by: by.id }
            });
        }
        // One person, one seat per revision: whoever already decided in any seat (their own
        // or as a proxy) does not decide in a second one.
        let acted_elsewhere = self
            .steps
            .iter()
            .flat_map(|p| &p.decisions)
            .any(|d| d.by == by.id || (d.member == by.id && delegation.is_some()));
        if acted_elsewhere {
            return Err(Err::SecondSeat { by: by.id });
        }
        if let Some(hold) = &self.hold {
            if hold.member != member {
                return Err(Err::HeldByOther);
            }
        }
        Ok(Seat {
            step,
            member,
            proxy: delegation,
        })
    }

    /// In an agreement group, whether the quorum can still be reached after one more "no".
    fn quorum_still_reachable_after_no(&self, step: usize) -> bool {
        let (Some(Step::Agreement { members, .. }), Some(progress)) = (self.line.steps.get(step), self.steps.get(step))
        else {
            return false;
        };
        let required = self.line.steps[step].required();
        let disagreed = progress.disagreed() + 1;
        members.len().saturating_sub(disagreed) >= required
    }

    /// 결재 취소: the actor's own agreement in the current step, or in the step just passed
    /// while the current step has not acted.
    pub(super) fn cancel_approval(&self, by: &Actor, at: DateTime<Utc>) -> Decided {
        self.ensure_open()?;
        let mine = |index: usize| {
            self.steps
                .get(index)
                .and_then(|p| {
                    p.decisions
                        .iter()
                        .find(|d| d.by == by.id && d.verdict == super::Verdict::Agree)
                })
                .map(|d| d.member)
        };
        let current = self.current;
        if let Some(member) = mine(current) {
            return Ok(vec![E::ApprovalCancelled {
                step: current,
                member,
                by: by.id,
                at,
            }]);
        }
        let Some(previous) = current.checked_sub(1) else {
            return Err(Err::NothingToCancel);
        };
        let Some(member) = mine(previous) else {
            return Err(Err::NothingToCancel);
        };
        let next_acted = self.hold.is_some() || self.steps.get(current).is_some_and(|p| !p.decisions.is_empty());
        if next_acted {
            return Err(Err::NextStepActed);
        }
        Ok(vec![E::ApprovalCancelled {
            step: previous,
            member,
            by: by.id,
            at,
        }])
    }

    /// Comments are bounded: [`MAX_COMMENTS`] per document, [`MAX_COMMENTS_PER_HOUR`] per
    /// person and document in any hour (by the commands' own times).
    pub(super) fn ensure_comment_room(&self, by: &Actor, at: DateTime<Utc>) -> Result<(), Err> {
        if self.comments.len() >= MAX_COMMENTS {
            return Err(Err::CommentLimit { retry_after_secs: None });
        }
        let window_start = at - chrono::Duration::hours(1);
        let mine: Vec<DateTime<Utc>> = self
            .comments
            .iter()
            .filter(|c| c.by == by.id && c.at > window_start)
            .map(|c| c.at)
            .collect();
        if mine.len() >= MAX_COMMENTS_PER_HOUR {
            let oldest = mine.iter().min().copied().unwrap_or(at);
            let free_at = oldest + chrono::Duration::hours(1);
            let wait = (free_at - at).num_seconds().max(1) as u64;
            return Err(Err::CommentLimit {
                retry_after_secs: Some(wait),
            });
        }
        Ok(())
    }

    pub(super) fn may_comment(&self, by: &Actor) -> bool {
        if by.id == self.drafter {
            return true;
        }
        if self.status == Status::Draft {
            return false;
        }
        self.line.involves(by.id) || by.department.is_some_and(|d| self.line.receivers.contains(&d))
    }
}

fn checked_content(content: &Content) -> Result<Content, Err> {
    let title = content.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(Err::InvalidTitle);
    }
    let bad_attachment = content.attachments.iter().any(|a| {
        a.name.trim().is_empty()
            || a.name.chars().count() > MAX_NAME
            || a.content_type.chars().count() > MAX_NAME
            || a.size > MAX_ATTACHMENT_BYTES
            || a.sha256
                .as_deref()
                .is_some_and(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    });
    if content.attachments.len() > MAX_ATTACHMENTS || bad_attachment {
        return Err(Err::InvalidAttachments);
    }
    Ok(Content {
        title: title.to_owned(),
        ..content.clone()
    })
}

fn required_text(text: &str, error: Err) -> Result<String, Err> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(error);
    }
    Ok(text.to_owned())
}

fn optional_text(text: &Option<String>) -> Result<Option<String>, Err> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > MAX_TEXT => Err(Err::InvalidComment),
        Some(t) => Ok(Some(t.to_owned())),
    }
}
