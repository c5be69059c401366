//! 상신 and 재상신 across streams: everything a submission needs from outside the document
//! (the 전결 규정 in force, the org chart's view of the line, the leave ledger) gathered before
//! the document decides, and the leave hold that keeps pending requests within the balance.
//!
//! A leave request holds its days in the drafter's ledger *before* the document records 상신:
//! the ledger is one stream with one writer, so two requests racing for the same days are
//! ordered there and the second is refused (`insufficient_leave`) however they interleave on
//! the documents. When the document then refuses the submission on its own rules (a 4xx that
//! is not a race), the hold is released again; when it loses a race (409), the hold is left
//! to the winner, who submitted the same revision. Holds of documents that end (반려, 회수,
//! discard) are released and holds of approved ones debited by the reactor.

use crate::error::ApiError;
use crate::service::{derived_id, Meta, Outcome};
use crate::AppState;
use axum::http::StatusCode;
use domain::approval::{ApprovalDocument, ApprovalLine, Content, LineRoster};
use domain::authority::Requirement;
use domain::form::{FormKind, FormTemplate};
use domain::ids::EmployeeId;
use domain::leave::{LeaveCommand, LeaveLedger};
use domain::line_rule::{Drafting, LineRules, RuleRef};
use infra::eventlog::{streams, StreamRef};
use rust_decimal::Decimal;

/// What the document's 상신 / 재상신 command carries from outside the document.
#[derive(Debug)]
pub struct Prepared {
    /// The line rule, when the line is exactly the one it suggests.
    pub rule: Option<RuleRef>,
    pub authority: Requirement,
    pub roster: LineRoster,
    /// Days available to this request (its own hold included), for leave forms.
    pub leave_balance: Option<Decimal>,
    /// The hold this submission placed, to release if the document refuses it.
    hold: Option<Hold>,
}

#[derive(Debug)]
struct Hold {
    ledger: StreamRef,
    command: LeaveCommand,
    meta: Meta,
}

/// Gathers the submission context of revision `revision` of `doc` with `content` and `line`,
/// placing the leave hold first for leave forms.
pub async fn prepare(
    state: &AppState,
    form: &FormTemplate,
    doc: &ApprovalDocument,
    content: &Content,
    line: &ApprovalLine,
    cause: &Meta,
) -> Result<Prepared, ApiError> {
    // A 근태 정정 corrects a day that has been: a day to come would be worked over the
    // correction (its check-ins refused as earlier than the corrected check-out).
    let offset = state.settings.company_offset;
    if let Some((day, _)) = form.correction(&content.body, offset) {
        if day > chrono::Utc::now().with_timezone(&offset).date_naive() {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "future_work_day",
                format!("{day} is still to come: a correction is for a day that has been"),
            ));
        }
    }
    let named: Vec<EmployeeId> = std::iter::once(doc.drafter)
        .chain(line.deciders())
        .chain(line.cc.iter().copied())
        .collect();
    let chart = state.directory.chart_knowing(&named).await;
    let table = state.service.authority_table().await?;
    let policy = &state.settings.policy;
    let (amount, leave_days) = (form.amount(&content.body), form.leave_days(&content.body));
    let rules = LineRules {
        chart: &chart,
        policy,
        table: &table,
    };
    let drafting = Drafting {
        drafter: doc.drafter,
        form,
        amount,
        leave_days,
    };
    let authority = rules.required_for(drafting)?;
    let rule = rules.suggest(drafting).ok().filter(|s| s.line == *line).map(|s| s.rule);
    let roster = LineRoster::of(line, &chart);
    let mut prepared = Prepared {
        rule,
        authority,
        roster,
        leave_balance: None,
        hold: None,
    };
    if form.kind == FormKind::Leave {
        let revision = doc.revision + 1;
        let ledger = StreamRef::new(streams::LEAVE, doc.drafter.to_string());
        if let Some(days) = leave_days.filter(|d| *d > Decimal::ZERO) {
            let reserve = LeaveCommand::Reserve {
                employee: doc.drafter,
                document: doc.id,
                revision,
                days,
                by: cause.actor.unwrap_or(doc.drafter),
                at: chrono::Utc::now(),
            };
            let meta = derived(cause, &format!("leave-hold/{}/{revision}", doc.id));
            let mut placed = state
                .service
                .execute::<LeaveLedger>(&ledger, None, &meta, &reserve)
                .await?;
            let holds = |l: &LeaveLedger| l.holds.get(&doc.id).is_some_and(|h| h.revision == revision);
            if placed.duplicate {
                // A retry of this request: its first attempt placed the hold, and if the
                // document refused that attempt the hold was released again. The first
                // answer does not say so; the ledger does, and the hold is placed anew.
                let now = state.service.leave_ledger(doc.drafter).await?;
                if !holds(&now) && !now.debits.contains_key(&doc.id) {
                    placed = state
                        .service
                        .execute::<LeaveLedger>(&ledger, None, &again(cause), &reserve)
                        .await?;
                }
            }
            if !placed.events.is_empty() {
                let release = LeaveCommand::Release {
                    employee: doc.drafter,
                    document: doc.id,
                    revision,
                    by: doc.drafter,
                    at: chrono::Utc::now(),
                };
                // A release of its own each time: a hold placed again after a release must
                // not meet that release's answer (the ledger releases a hold once either way).
                prepared.hold = Some(Hold {
                    ledger: ledger.clone(),
                    command: release,
                    meta: again(cause),
                });
            }
        }
        prepared.leave_balance = Some(state.service.leave_ledger(doc.drafter).await?.available_to(doc.id));
    }
    Ok(prepared)
}

impl Prepared {
    /// Settles the hold once the document answered: kept on success and on a lost race,
    /// released when the document refused the submission on its own rules.
    pub async fn settle(self, state: &AppState, result: &Result<Outcome, ApiError>) {
        let Some(hold) = self.hold else { return };
        let refused = matches!(result, Err(e) if e.status.is_client_error() && e.status != StatusCode::CONFLICT);
        if !refused {
            return;
        }
        if let Err(e) = state
            .service
            .execute::<LeaveLedger>(&hold.ledger, None, &hold.meta, &hold.command)
            .await
        {
            tracing::warn!(ledger = %hold.ledger, error = %e, "releasing a refused submission's leave hold");
        }
    }
}

/// A follow-up of the request under a new command id: for commands the ledger itself makes
/// idempotent (a hold is placed once per document revision, released once).
fn again(cause: &Meta) -> Meta {
    Meta {
        command_id: uuid::Uuid::now_v7(),
        ..derived(cause, "")
    }
}

/// A command id derived from the request's, so a retried request repeats the same follow-up.
fn derived(cause: &Meta, purpose: &str) -> Meta {
    let seed = format!("{}/{purpose}", cause.command_id);
    Meta {
        command_id: derived_id(&seed),
        correlation_id: cause.correlation_id,
        causation_id: Some(cause.command_id),
        actor: cause.actor,
        traceparent: cause.traceparent.clone(),
    }
}
