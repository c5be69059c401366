//! Approval documents: draft, save, discard, submit, and every decision (the vocabulary is
//! the glossary in `domain/src/lib.rs`). An action on an existing document is an [`Action`]
//! (caller, command headers, typed document id) and a body; [`Action::run`] does the rest,
//! so each route says only which command it is.

mod body;
mod dto;

pub use body::parse_body;
pub use dto::*;

use super::{meta, reply, require_version};
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders, Id};
use crate::openapi::{Api, Doc};
use crate::service::{Meta, Outcome, ServiceError};
use crate::submission;
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use domain::approval::{Approval, ApprovalCommand as C, ApprovalDocument};
use domain::form::FormTemplate;
use domain::ids::{ApprovalId, CommentId, DelegationId};
use domain::line_rule::{Drafting, LineRules};
use domain::Actor;
use infra::eventlog::{streams, StreamRef};
use uuid::Uuid;

pub fn routes(api: Api) -> Api {
    const T: &str = "approvals";
    api.post(
        "/api/approvals",
        draft,
        Doc::new(T, "기안: create a draft document")
            .body::<DraftRequest>()
            .created(),
    )
    .get(
        "/api/approvals/{id}",
        show,
        Doc::new(T, "The document as the command side sees it (ETag = version)").returns::<DocumentView>(),
    )
    .delete(
        "/api/approvals/{id}",
        discard,
        Doc::new(T, "Delete a never-submitted draft").if_match(),
    )
    .put(
        "/api/approvals/{id}/draft",
        save,
        Doc::new(T, "임시저장: save a draft").body::<ContentDto>().if_match(),
    )
    .post(
        "/api/approvals/{id}/submit",
        submit,
        Doc::new(T, "상신: submit along the line")
            .body::<EmptyRequest>()
            .if_match(),
    )
    .post(
        "/api/approvals/{id}/approve",
        approve,
        Doc::new(T, "승인, or 대결 with a delegation")
            .body::<DecisionRequest>()
            .if_match(),
    )
    .post(
        "/api/approvals/{id}/approve-final",
        approve_final,
        Doc::new(T, "전결: approve as final by delegated authority")
            .body::<DecisionRequest>()
            .if_match(),
    )
    .post(
        "/api/approvals/{id}/reject",
        reject,
        Doc::new(T, "반려 to the drafter or the previous step")
            .body::<RejectRequest>()
            .if_match(),
    )
    .post(
        "/api/approvals/{id}/withdraw",
        withdraw,
        Doc::new(T, "회수: the drafter takes the document back")
            .body::<EmptyRequest>()
            .if_match(),
    )
    .post(
        "/api/approvals/{id}/cancel-approval",
        cancel_approval,
        Doc::new(T, "결재 취소: take back my approval")
            .body::<EmptyRequest>()
            .if_match(),
    )
    .post(
        "/api/approvals/{id}/hold",
        hold,
        Doc::new(T, "보류: hold the document").body::<HoldRequest>().if_match(),
    )
    .post(
        "/api/approvals/{id}/release",
        release,
        Doc::new(T, "Release a hold").body::<DecisionRequest>().if_match(),
    )
    .post(
        "/api/approvals/{id}/resubmit",
        resubmit,
        Doc::new(T, "재상신: resubmit as the next revision")
            .body::<ContentDto>()
            .if_match(),
    )
    .post(
        "/api/approvals/{id}/comments",
        comment,
        Doc::new(T, "의견: comment").body::<CommentRequest>().created(),
    )
    .post(
        "/api/line-suggestions",
        suggest,
        Doc::new(T, "Suggest a line for the caller from the org chart")
            .body::<SuggestRequest>()
            .returns::<SuggestionView>(),
    )
}

fn stream(id: ApprovalId) -> StreamRef {
    StreamRef::new(streams::APPROVAL, id.to_string())
}

/// One action on an existing document, before its body: the caller, the command headers and
/// the document id, extracted in that order (401, then 400 for headers, then 400 for the id).
#[derive(Debug)]
struct Action {
    state: AppState,
    caller: Caller,
    headers: CommandHeaders,
    id: ApprovalId,
}

impl FromRequestParts<AppState> for Action {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let headers = CommandHeaders::from_request_parts(parts, state).await?;
        let Id(id) = Id::<ApprovalId>::from_request_parts(parts, state).await?;
        Ok(Self {
            state: state.clone(),
            caller,
            headers,
            id,
        })
    }
}

impl Action {
    fn meta(&self, route: &str) -> Meta {
        meta(&self.caller, &self.headers, route)
    }

    /// Runs the command `make` builds (from the caller and now) at the version the client
    /// names in `If-Match` (428 without one). A document the caller may not see (or that
    /// does not exist) answers 404 before `If-Match` is compared, so a 409's
    /// `current_version` never tells an outsider that a document exists or how far it got.
    async fn run(&self, route: &str, make: impl FnOnce(Actor, DateTime<Utc>) -> C) -> Result<Response, ApiError> {
        let expected = require_version(&self.headers)?;
        let command = make(self.caller.actor.clone(), Utc::now());
        let outcome = self.execute(Some(expected), &self.meta(route), &command).await?;
        Ok(reply(outcome, false))
    }

    /// Executes `command` on the document if the caller may act on it, 404 otherwise.
    async fn execute(&self, expected: Option<u64>, meta: &Meta, command: &C) -> Result<Outcome, ApiError> {
        let guard = |approval: &Approval| match approval.document() {
            Some(doc) if may_act(doc, &self.caller, command) => Ok(()),
            _ => Err(ServiceError::NotFound("document")),
        };
        Ok(self
            .state
            .service
            .execute_guarded::<Approval>(&stream(self.id), expected, meta, command, &guard)
            .await?)
    }

    /// The document and its form version, for commands that validate against it.
    async fn form(&self) -> Result<(FormTemplate, ApprovalDocument), ApiError> {
        let (doc, _) = load_visible(&self.state, &self.caller, self.id).await?;
        let form = self.state.service.form(&doc.form.id.0, Some(doc.form.version))?.clone();
        Ok((form, doc))
    }

    /// The delegation a 대결 names, if any (404 when there is no such delegation).
    async fn proxy(&self, delegation: Option<Uuid>) -> Result<Option<domain::org::Delegation>, ApiError> {
        match delegation {
            None => Ok(None),
            Some(id) => Ok(Some(self.state.service.delegation(DelegationId(id)).await?)),
        }
    }
}

/// The document as the command side sees it, for those who may see it.
async fn load_visible(state: &AppState, caller: &Caller, id: ApprovalId) -> Result<(ApprovalDocument, u64), ApiError> {
    let loaded = state.service.load::<Approval>(&stream(id)).await?;
    let doc = loaded.state.0.ok_or_else(|| ApiError::not_found("no such document"))?;
    if !doc.visible_to(&caller.actor) {
        // Not 403: whether a document exists is itself not everyone's business.
        return Err(ApiError::not_found("no such document"));
    }
    Ok((doc, loaded.version))
}

/// Whether the caller may act on `doc` at all: they may see it, or they act as the proxy of
/// someone who may (대결) under the delegation the command carries.
fn may_act(doc: &ApprovalDocument, caller: &Caller, command: &C) -> bool {
    let proxy = match command {
        C::Approve { proxy, .. } | C::Reject { proxy, .. } | C::Hold { proxy, .. } | C::Release { proxy, .. } => {
            proxy.as_ref()
        }
        _ => None,
    };
    super::proxy::may_read(doc, caller, proxy)
}

async fn draft(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<DraftRequest>,
) -> Result<Response, ApiError> {
    let form = state.service.form(&req.form, req.form_version)?.clone();
    let id = ApprovalId(headers.new_id(req.id, caller.actor.id, "draft"));
    let (content, line) = body::content(&form, req.content)?;
    let content = super::attachments::stored(&state, caller.actor.id, content).await?;
    let command = C::Draft {
        id,
        form,
        content,
        line,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<Approval>(&stream(id), None, &meta(&caller, &headers, "draft"), &command)
        .await?;
    Ok(reply(outcome, true))
}

async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id<ApprovalId>) -> Result<Response, ApiError> {
    let (doc, version) = load_visible(&state, &caller, id).await?;
    let mut response = Json(DocumentView::new(doc, version)).into_response();
    if let Ok(etag) = format!("\"{version}\"").parse() {
        response.headers_mut().insert(axum::http::header::ETAG, etag);
    }
    Ok(response)
}

async fn save(action: Action, Body(req): Body<ContentDto>) -> Result<Response, ApiError> {
    let (form, _) = action.form().await?;
    let (content, line) = body::content(&form, req)?;
    let content = super::attachments::stored(&action.state, action.caller.actor.id, content).await?;
    action
        .run("save", |by, at| C::SaveDraft {
            form,
            content,
            line,
            by,
            at,
        })
        .await
}

async fn discard(action: Action) -> Result<Response, ApiError> {
    action.run("discard", |by, at| C::Discard { by, at }).await
}

/// 상신 under the company's 전결 규정, holding a leave request's days first
/// ([`crate::submission`]).
async fn submit(action: Action, Body(_): Body<EmptyRequest>) -> Result<Response, ApiError> {
    let meta = action.meta("submit");
    if let Some(first) = action.state.service.replayed(&stream(action.id), &meta).await? {
        return Ok(reply(first, false));
    }
    let expected = require_version(&action.headers)?;
    let (form, doc) = action.form().await?;
    // Refused before any hold is placed: what the document would refuse anyway.
    doc.ensure_editable_draft(&action.caller.actor)?;
    let prepared = submission::prepare(&action.state, &form, &doc, &doc.content, &doc.line, &meta).await?;
    let command = C::Submit {
        form,
        rule: prepared.rule.clone(),
        authority: prepared.authority.clone(),
        roster: prepared.roster.clone(),
        leave_balance: prepared.leave_balance,
        by: action.caller.actor.clone(),
        at: Utc::now(),
    };
    let result = action.execute(Some(expected), &meta, &command).await;
    prepared.settle(&action.state, &result).await;
    Ok(reply(result?, false))
}

async fn approve(action: Action, Body(req): Body<DecisionRequest>) -> Result<Response, ApiError> {
    let proxy = action.proxy(req.delegation).await?;
    action
        .run("approve", |by, at| C::Approve {
            comment: req.comment,
            proxy,
            by,
            at,
        })
        .await
}

async fn approve_final(action: Action, Body(req): Body<DecisionRequest>) -> Result<Response, ApiError> {
    if req.delegation.is_some() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "proxy_not_allowed",
            "전결 cannot be exercised by a proxy",
        ));
    }
    action
        .run("approve-final", |by, at| C::ApproveAsFinal {
            comment: req.comment,
            by,
            at,
        })
        .await
}

async fn reject(action: Action, Body(req): Body<RejectRequest>) -> Result<Response, ApiError> {
    let proxy = action.proxy(req.delegation).await?;
    action
        .run("reject", |by, at| C::Reject {
            reason: req.reason,
            to: req.to,
            proxy,
            by,
            at,
        })
        .await
}

async fn withdraw(action: Action, Body(_): Body<EmptyRequest>) -> Result<Response, ApiError> {
    action.run("withdraw", |by, at| C::Withdraw { by, at }).await
}

async fn cancel_approval(action: Action, Body(_): Body<EmptyRequest>) -> Result<Response, ApiError> {
    action
        .run("cancel-approval", |by, at| C::CancelApproval { by, at })
        .await
}

async fn hold(action: Action, Body(req): Body<HoldRequest>) -> Result<Response, ApiError> {
    let proxy = action.proxy(req.delegation).await?;
    action
        .run("hold", |by, at| C::Hold {
            reason: req.reason,
            proxy,
            by,
            at,
        })
        .await
}

async fn release(action: Action, Body(req): Body<DecisionRequest>) -> Result<Response, ApiError> {
    let proxy = action.proxy(req.delegation).await?;
    action.run("release", |by, at| C::Release { proxy, by, at }).await
}

async fn resubmit(action: Action, Body(req): Body<ContentDto>) -> Result<Response, ApiError> {
    let meta = action.meta("resubmit");
    if let Some(first) = action.state.service.replayed(&stream(action.id), &meta).await? {
        return Ok(reply(first, false));
    }
    let expected = require_version(&action.headers)?;
    let (form, doc) = action.form().await?;
    doc.ensure_resubmittable(&action.caller.actor)?;
    let (content, line) = body::content(&form, req)?;
    let content = super::attachments::stored(&action.state, action.caller.actor.id, content).await?;
    let prepared = submission::prepare(&action.state, &form, &doc, &content, &line, &meta).await?;
    let command = C::Resubmit {
        form,
        content,
        line,
        rule: prepared.rule.clone(),
        authority: prepared.authority.clone(),
        roster: prepared.roster.clone(),
        leave_balance: prepared.leave_balance,
        by: action.caller.actor.clone(),
        at: Utc::now(),
    };
    let result = action.execute(Some(expected), &meta, &command).await;
    prepared.settle(&action.state, &result).await;
    Ok(reply(result?, false))
}

async fn comment(action: Action, Body(req): Body<CommentRequest>) -> Result<Response, ApiError> {
    let command = C::Comment {
        id: CommentId(Uuid::now_v7()),
        text: req.text,
        by: action.caller.actor.clone(),
        at: Utc::now(),
    };
    // Comments do not race decisions: no If-Match needed (one given is honoured).
    let outcome = action
        .execute(action.headers.expected, &action.meta("comment"), &command)
        .await?;
    Ok(reply(outcome, true))
}

async fn suggest(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<SuggestRequest>,
) -> Result<Json<SuggestionView>, ApiError> {
    let form = state.service.form(&req.form, None)?;
    let chart = state.directory.chart_knowing(&[caller.actor.id]).await;
    let table = state.service.authority_table().await?;
    let rules = LineRules {
        chart: &chart,
        policy: &state.settings.policy,
        table: &table,
    };
    let suggestion = rules.suggest(Drafting {
        drafter: caller.actor.id,
        form,
        amount: req.amount,
        leave_days: req.leave_days,
    })?;
    Ok(Json(suggestion.into()))
}
