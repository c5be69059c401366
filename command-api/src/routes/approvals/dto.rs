//! What clients send to act on documents, and what they get back: request bodies (every
//! level refuses unknown fields) and the approval line's conversion into the domain's, and
//! the document as `GET /api/approvals/{id}` answers it.

use crate::error::ApiError;
use domain::approval::{ApprovalDocument, ApprovalLine, Quorum, RejectTarget, Step};
use domain::authority::Requirement;
use domain::ids::{DepartmentId, EmployeeId};
use domain::line_rule::Suggestion;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// An attachment's metadata.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentDto {
    pub id: Option<Uuid>,
    pub name: String,
    /// Ignored for content named by `sha256`: the stored size is recorded.
    #[serde(default)]
    pub size: u64,
    pub content_type: String,
    /// What `POST /api/attachments` answered for the file's bytes.
    pub sha256: Option<String>,
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

/// A document as the command side sees it: the folded document, its version (also the
/// `ETag`), its number as text once numbered, and who may decide now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    /// Every field of the document as folded from its events (the query API's `approval`
    /// types them).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub document: ApprovalDocument,
    pub version: u64,
    /// `GEN-2026-000001` once final approval numbered it.
    pub number_text: Option<String>,
    /// Employee ids of the seats that decide now.
    #[schema(value_type = Vec<String>)]
    pub current_approvers: Vec<EmployeeId>,
}

impl DocumentView {
    pub fn new(document: ApprovalDocument, version: u64) -> Self {
        Self {
            number_text: document.number.as_ref().map(ToString::to_string),
            current_approvers: document.current_approvers(),
            document,
            version,
        }
    }
}

/// A suggested line for the caller, the rule that built it, and what the 전결 규정 requires
/// of the line.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuggestionView {
    /// Steps, `cc` and `receivers`, as the document will hold them.
    #[schema(value_type = Object)]
    pub line: ApprovalLine,
    pub rule: RuleRefView,
    /// The authority row that applies, and who will hold 전결권.
    #[schema(value_type = Object)]
    pub requirement: Requirement,
}

/// Which rule (and version) built a line.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleRefView {
    pub id: String,
    pub version: u32,
}

impl From<Suggestion> for SuggestionView {
    fn from(s: Suggestion) -> Self {
        Self {
            line: s.line,
            rule: RuleRefView {
                id: s.rule.id,
                version: s.rule.version,
            },
            requirement: s.requirement,
        }
    }
}
