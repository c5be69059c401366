//! Approval documents: draft, save, discard, submit, and every decision (the vocabulary is
//! the glossary in `domain/src/lib.rs`).

use super::{meta, parse_id, reply, require_version};
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders};
use crate::openapi::{Api, Doc};
use crate::submission;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use domain::approval::{
    Approval, ApprovalCommand as C, ApprovalDocument, ApprovalLine, Attachment, Content, Quorum, RejectTarget, Step,
};
use domain::form::{Body as FormBody, FieldError, FieldKind, FieldValue, FormError, FormTemplate, LineItem};
use domain::ids::{ApprovalId, AttachmentId, CommentId, DelegationId, DepartmentId, EmployeeId};
use domain::line_rule::{Drafting, LineRules, Suggestion};
use infra::eventlog::{streams, StreamRef};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};
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
        Doc::new(T, "The document as the command side sees it (ETag = version)"),
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
        Doc::new(T, "Suggest a line for the caller from the org chart").body::<SuggestRequest>(),
    )
}

/// An attachment's metadata.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentDto {
    pub id: Option<Uuid>,
    pub name: String,
    pub size: u64,
    pub content_type: String,
}

/// Title, typed body and attachments of a document, plus its approval line.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentDto {
    pub title: String,
    /// Field key → value, typed by the form: text and select as strings, numbers and money
    /// as decimal strings or numbers, dates as `YYYY-MM-DD`, date ranges as
    /// `{"start","end"}`, line items as `[{"description","quantity","unit_price"}]`.
    #[schema(value_type = Object)]
    pub body: Map<String, Value>,
    #[serde(default)]
    pub attachments: Vec<AttachmentDto>,
    /// Steps (`{"kind":"approval","approver":id}` or `{"kind":"agreement","members":[..],
    /// "quorum":{"type":"all"}}`), `cc` and `receivers`.
    #[serde(default)]
    pub line: LineDto,
}

/// The approval line as a client writes it. Every level refuses unknown fields: a misspelt
/// `recievers` is a 400, not a silently lost 수신 department.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineDto {
    #[serde(default)]
    pub steps: Vec<StepDto>,
    /// 참조: employees who read and are notified.
    #[serde(default)]
    pub cc: Vec<Uuid>,
    /// 수신: receiving departments.
    #[serde(default)]
    pub receivers: Vec<Uuid>,
}

/// One step: `approval` with `approver`, or `agreement` with `members` and `quorum`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDto {
    pub kind: StepKindDto,
    pub approver: Option<Uuid>,
    pub members: Option<Vec<Uuid>>,
    pub quorum: Option<QuorumDto>,
    /// Accepted for older clients only as `false`: 전결권 comes from the company's rules.
    pub final_authority: Option<bool>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepKindDto {
    Approval,
    Agreement,
}

/// `{"type":"all"}` or `{"type":"at_least","m":2}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuorumDto {
    #[serde(rename = "type")]
    pub kind: QuorumKindDto,
    pub m: Option<u8>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuorumKindDto {
    All,
    AtLeast,
}

impl TryFrom<LineDto> for ApprovalLine {
    type Error = ApiError;

    fn try_from(dto: LineDto) -> Result<Self, ApiError> {
        let steps = dto
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| {
                let bad = |what: &str| ApiError::bad_request(format!("line.steps[{i}]: {what}"));
                match (step.kind, step.approver, step.members, step.quorum) {
                    (StepKindDto::Approval, Some(approver), None, None) => Ok(Step::Approval {
                        approver: EmployeeId(approver),
                        final_authority: step.final_authority.unwrap_or(false),
                    }),
                    (StepKindDto::Agreement, None, Some(members), Some(quorum)) if step.final_authority.is_none() => {
                        let quorum = match (quorum.kind, quorum.m) {
                            (QuorumKindDto::All, None) => Quorum::All,
                            (QuorumKindDto::AtLeast, Some(m)) => Quorum::AtLeast(m),
                            _ => return Err(bad("quorum is {\"type\":\"all\"} or {\"type\":\"at_least\",\"m\":n}")),
                        };
                        Ok(Step::Agreement {
                            members: members.into_iter().map(EmployeeId).collect(),
                            quorum,
                        })
                    }
                    (StepKindDto::Approval, ..) => Err(bad("an approval step has `approver` only")),
                    (StepKindDto::Agreement, ..) => Err(bad("an agreement step has `members` and `quorum`")),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(ApprovalLine {
            steps,
            cc: dto.cc.into_iter().map(EmployeeId).collect(),
            receivers: dto.receivers.into_iter().map(DepartmentId).collect(),
        })
    }
}

/// 기안: create a draft.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftRequest {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    pub form: String,
    pub form_version: Option<u32>,
    #[serde(flatten)]
    pub content: ContentDto,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub comment: Option<String>,
    /// Act as proxy (대결) under this delegation.
    pub delegation: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    pub reason: String,
    /// `drafter` (default) or `previous_step`.
    #[serde(default = "to_drafter")]
    #[schema(value_type = String)]
    pub to: RejectTarget,
    pub delegation: Option<Uuid>,
}

fn to_drafter() -> RejectTarget {
    RejectTarget::Drafter
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub reason: String,
    pub delegation: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub text: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestRequest {
    pub form: String,
    #[schema(value_type = Option<String>)]
    pub amount: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub leave_days: Option<Decimal>,
}

fn stream(id: ApprovalId) -> StreamRef {
    StreamRef::new(streams::APPROVAL, id.to_string())
}

/// Converts an untyped JSON body into typed field values, per the form's field kinds.
pub fn parse_body(form: &FormTemplate, raw: &Map<String, Value>) -> Result<FormBody, ApiError> {
    let mut body = FormBody::new();
    let mut errors = Vec::new();
    for (key, value) in raw {
        let Some(field) = form.field(key) else {
            errors.push(FieldError::Unknown { field: key.clone() });
            continue;
        };
        if value.is_null() {
            continue;
        }
        match typed(&field.kind, value) {
            Some(v) => {
                body.insert(key.clone(), v);
            }
            None => errors.push(FieldError::WrongType {
                field: key.clone(),
                expected: kind_name(&field.kind).into(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(domain::approval::ApprovalError::InvalidBody(FormError { errors }).into())
    }
}

fn kind_name(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Text { .. } => "text",
        FieldKind::Number { .. } => "number",
        FieldKind::Money { .. } => "money",
        FieldKind::Date => "date",
        FieldKind::DateRange => "date_range",
        FieldKind::Select { .. } => "select",
        FieldKind::LineItems => "line_items",
    }
}

fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn date(value: &Value) -> Option<NaiveDate> {
    value.as_str()?.parse().ok()
}

fn typed(kind: &FieldKind, value: &Value) -> Option<FieldValue> {
    Some(match kind {
        FieldKind::Text { .. } => FieldValue::Text(value.as_str()?.to_owned()),
        FieldKind::Number { .. } => FieldValue::Number(decimal(value)?),
        FieldKind::Money { .. } => FieldValue::Money(decimal(value)?),
        FieldKind::Date => FieldValue::Date(date(value)?),
        FieldKind::DateRange => FieldValue::DateRange {
            start: date(value.get("start")?)?,
            end: date(value.get("end")?)?,
        },
        FieldKind::Select { .. } => FieldValue::Select(value.as_str()?.to_owned()),
        FieldKind::LineItems => {
            let items = value
                .as_array()?
                .iter()
                .map(|item| {
                    Some(LineItem {
                        description: item.get("description")?.as_str()?.to_owned(),
                        quantity: decimal(item.get("quantity")?)?,
                        unit_price: decimal(item.get("unit_price")?)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            // The amount is Σ quantity × unit price: a total beyond the decimal range is bad input.
            items.iter().try_fold(Decimal::ZERO, |sum, i| {
                sum.checked_add(i.quantity.checked_mul(i.unit_price)?)
            })?;
            FieldValue::LineItems(items)
        }
    })
}

fn content(form: &FormTemplate, dto: ContentDto) -> Result<(Content, ApprovalLine), ApiError> {
    let body = parse_body(form, &dto.body)?;
    let attachments = dto
        .attachments
        .into_iter()
        .map(|a| Attachment {
            id: AttachmentId(a.id.unwrap_or_else(Uuid::now_v7)),
            name: a.name,
            size: a.size,
            content_type: a.content_type,
        })
        .collect();
    Ok((
        Content {
            title: dto.title,
            body,
            attachments,
        },
        dto.line.try_into()?,
    ))
}

/// The document as the command side sees it, for those who may see it.
async fn load_visible(
    state: &AppState,
    caller: &Caller,
    id: ApprovalId,
) -> Result<(domain::approval::ApprovalDocument, u64), ApiError> {
    let loaded = state.service.load::<Approval>(&stream(id)).await?;
    let doc = loaded.state.0.ok_or_else(|| ApiError::not_found("no such document"))?;
    let visible = doc.visible_to(&caller.actor);
    if !visible {
        // Not 403: whether a document exists is itself not everyone's business.
        return Err(ApiError::not_found("no such document"));
    }
    Ok((doc, loaded.version))
}

async fn proxy(state: &AppState, delegation: Option<Uuid>) -> Result<Option<domain::org::Delegation>, ApiError> {
    match delegation {
        None => Ok(None),
        Some(id) => Ok(Some(state.service.delegation(DelegationId(id)).await?)),
    }
}

async fn draft(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<DraftRequest>,
) -> Result<Response, ApiError> {
    let form = state.service.form(&req.form, req.form_version)?.clone();
    let id = ApprovalId(headers.new_id(req.id, caller.actor.id, "draft"));
    let (content, line) = content(&form, req.content)?;
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

async fn show(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (doc, version) = load_visible(&state, &caller, parse_id(&id, "document id")?).await?;
    let mut json = serde_json::to_value(&doc).map_err(|e| ApiError::internal("serialising a document", e))?;
    if let Some(o) = json.as_object_mut() {
        o.insert("version".into(), version.into());
        o.insert(
            "number_text".into(),
            doc.number.as_ref().map(ToString::to_string).into(),
        );
        o.insert(
            "current_approvers".into(),
            serde_json::to_value(doc.current_approvers()).unwrap_or_default(),
        );
    }
    let mut response = Json(json).into_response();
    if let Ok(etag) = format!("\"{version}\"").parse() {
        response.headers_mut().insert(axum::http::header::ETAG, etag);
    }
    Ok(response)
}

/// Runs one document action. A document the caller may not see (or that does not exist)
/// answers 404 before `If-Match` is compared, so a 409's `current_version` never tells an
/// outsider that a document exists or how far it got.
async fn act(
    state: &AppState,
    caller: &Caller,
    headers: &CommandHeaders,
    id: &str,
    route: &str,
    command: C,
) -> Result<Response, ApiError> {
    let id: ApprovalId = parse_id(id, "document id")?;
    let expected = require_version(headers)?;
    let outcome = execute_visible(
        state,
        caller,
        id,
        Some(expected),
        &meta(caller, headers, route),
        &command,
    )
    .await?;
    Ok(reply(outcome, false))
}

/// Executes `command` on a document the caller may act on, 404 otherwise.
async fn execute_visible(
    state: &AppState,
    caller: &Caller,
    id: ApprovalId,
    expected: Option<u64>,
    meta: &crate::service::Meta,
    command: &C,
) -> Result<crate::service::Outcome, ApiError> {
    let guard = |approval: &Approval| match approval.document() {
        Some(doc) if may_act(doc, caller, command) => Ok(()),
        _ => Err(ApiError::not_found("no such document")),
    };
    state
        .service
        .execute_guarded::<Approval>(&stream(id), expected, meta, command, &guard)
        .await
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
    doc.visible_to(&caller.actor)
        || proxy.is_some_and(|d| {
            d.principal.is_some_and(|principal| {
                d.authorises(caller.actor.id, principal, Utc::now()) && doc.visible_to_proxy_of(principal)
            })
        })
}

/// The document's form version, for commands that validate against it.
async fn form_of(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(FormTemplate, domain::approval::ApprovalDocument), ApiError> {
    let (doc, _) = load_visible(state, caller, parse_id(id, "document id")?).await?;
    let form = state.service.form(&doc.form.id.0, Some(doc.form.version))?.clone();
    Ok((form, doc))
}

async fn save(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<ContentDto>,
) -> Result<Response, ApiError> {
    let (form, _) = form_of(&state, &caller, &id).await?;
    let (content, line) = content(&form, req)?;
    let command = C::SaveDraft {
        form,
        content,
        line,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "save", command).await
}

async fn discard(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let command = C::Discard {
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "discard", command).await
}

/// 상신 under the company's 전결 규정, holding a leave request's days first
/// ([`crate::submission`]).
async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(_): Body<EmptyRequest>,
) -> Result<Response, ApiError> {
    let meta = meta(&caller, &headers, "submit");
    let doc_id: ApprovalId = parse_id(&id, "document id")?;
    if let Some(first) = state.service.replayed(&stream(doc_id), &meta).await? {
        return Ok(reply(first, false));
    }
    let expected = require_version(&headers)?;
    let (form, doc) = form_of(&state, &caller, &id).await?;
    // Refused before any hold is placed: what the document would refuse anyway.
    doc.ensure_editable_draft(&caller.actor)?;
    let prepared = submission::prepare(&state, &form, &doc, &doc.content, &doc.line, &meta).await?;
    let command = C::Submit {
        form,
        rule: prepared.rule.clone(),
        authority: prepared.authority.clone(),
        roster: prepared.roster.clone(),
        leave_balance: prepared.leave_balance,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let result = execute_visible(&state, &caller, doc_id, Some(expected), &meta, &command).await;
    prepared.settle(&state, &result).await;
    Ok(reply(result?, false))
}

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<DecisionRequest>,
) -> Result<Response, ApiError> {
    let proxy = proxy(&state, req.delegation).await?;
    let command = C::Approve {
        comment: req.comment,
        proxy,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "approve", command).await
}

async fn approve_final(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<DecisionRequest>,
) -> Result<Response, ApiError> {
    if req.delegation.is_some() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "proxy_not_allowed",
            "전결 cannot be exercised by a proxy",
        ));
    }
    let command = C::ApproveAsFinal {
        comment: req.comment,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "approve-final", command).await
}

async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<RejectRequest>,
) -> Result<Response, ApiError> {
    let proxy = proxy(&state, req.delegation).await?;
    let command = C::Reject {
        reason: req.reason,
        to: req.to,
        proxy,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "reject", command).await
}

async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(_): Body<EmptyRequest>,
) -> Result<Response, ApiError> {
    let command = C::Withdraw {
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "withdraw", command).await
}

async fn cancel_approval(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(_): Body<EmptyRequest>,
) -> Result<Response, ApiError> {
    let command = C::CancelApproval {
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "cancel-approval", command).await
}

async fn hold(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<HoldRequest>,
) -> Result<Response, ApiError> {
    let proxy = proxy(&state, req.delegation).await?;
    let command = C::Hold {
        reason: req.reason,
        proxy,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "hold", command).await
}

async fn release(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<DecisionRequest>,
) -> Result<Response, ApiError> {
    let proxy = proxy(&state, req.delegation).await?;
    let command = C::Release {
        proxy,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    act(&state, &caller, &headers, &id, "release", command).await
}

async fn resubmit(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<ContentDto>,
) -> Result<Response, ApiError> {
    let meta = meta(&caller, &headers, "resubmit");
    let doc_id: ApprovalId = parse_id(&id, "document id")?;
    if let Some(first) = state.service.replayed(&stream(doc_id), &meta).await? {
        return Ok(reply(first, false));
    }
    let expected = require_version(&headers)?;
    let (form, doc) = form_of(&state, &caller, &id).await?;
    doc.ensure_resubmittable(&caller.actor)?;
    let (content, line) = content(&form, req)?;
    let prepared = submission::prepare(&state, &form, &doc, &content, &line, &meta).await?;
    let command = C::Resubmit {
        form,
        content,
        line,
        rule: prepared.rule.clone(),
        authority: prepared.authority.clone(),
        roster: prepared.roster.clone(),
        leave_balance: prepared.leave_balance,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let result = execute_visible(&state, &caller, doc_id, Some(expected), &meta, &command).await;
    prepared.settle(&state, &result).await;
    Ok(reply(result?, false))
}

async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Path(id): Path<String>,
    Body(req): Body<CommentRequest>,
) -> Result<Response, ApiError> {
    let doc_id: ApprovalId = parse_id(&id, "document id")?;
    let command = C::Comment {
        id: CommentId(Uuid::now_v7()),
        text: req.text,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    // Comments do not race decisions: no If-Match needed (one given is honoured).
    let meta = meta(&caller, &headers, "comment");
    let outcome = execute_visible(&state, &caller, doc_id, headers.expected, &meta, &command).await?;
    Ok(reply(outcome, true))
}

async fn suggest(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<SuggestRequest>,
) -> Result<Json<Suggestion>, ApiError> {
    let form = state.service.form(&req.form, None)?;
    let chart = state.directory.org_chart();
    let table = state.service.authority_table().await?;
    let rules = LineRules {
        chart: &chart,
        policy: &state.settings.policy,
        table: &table,
    };
    Ok(Json(rules.suggest(Drafting {
        drafter: caller.actor.id,
        form,
        amount: req.amount,
        leave_days: req.leave_days,
    })?))
}
