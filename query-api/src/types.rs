//! GraphQL object types over read-model records and folded domain documents.

use crate::content::{body_fields, AttachmentOut, BodyField, FieldDefOut, FormKindOut, LineOut};
use crate::context::{self, stores, viewer};
use crate::cost;
use crate::error;
use crate::ids::{global, Kind};
use async_graphql::{ComplexObject, Context, Enum, Interface, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use domain::approval::{Action, ApprovalDocument, Inbox, Notice, Quorum, Status, Step, Verdict};
use infra::readmodel::queries::{DepartmentRecord, EmployeeRecord, LeaveEntry};

/// Anything with a global id, fetchable by `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
#[allow(clippy::large_enum_variant)] // built once per `node` lookup and resolved at once
pub enum Node {
    Approval(ApprovalNode),
    Employee(EmployeeNode),
    Department(DepartmentNode),
}

/// Document status (문서 상태).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApprovalStatus {
    /// 임시저장
    Draft,
    /// 진행
    InProgress,
    /// 보류
    OnHold,
    /// 완료
    Approved,
    /// 반려
    Rejected,
    /// 회수
    Withdrawn,
    Discarded,
}

impl From<Status> for ApprovalStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Draft => Self::Draft,
            Status::InProgress => Self::InProgress,
            Status::OnHold => Self::OnHold,
            Status::Approved => Self::Approved,
            Status::Rejected => Self::Rejected,
            Status::Withdrawn => Self::Withdrawn,
            Status::Discarded => Self::Discarded,
        }
    }
}

impl ApprovalStatus {
    /// From the stored (snake_case) name the read models keep.
    pub fn from_stored(name: &str) -> async_graphql::Result<Self> {
        serde_json::from_value::<Status>(serde_json::Value::String(name.to_owned()))
            .map(Self::from)
            .map_err(|e| error::internal("stored status does not decode", e))
    }

    /// The stored (snake_case) name.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InProgress => "in_progress",
            Self::OnHold => "on_hold",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Discarded => "discarded",
        }
    }
}

/// The boxes of a personal inbox (결재함).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InboxBox {
    /// 대기: waiting for my decision.
    Pending,
    /// 예정: I am on a later step.
    Upcoming,
    /// 진행: mine or decided by me, still in progress.
    InProgress,
    /// 완료
    Completed,
    /// 반려
    Rejected,
    /// 참조
    Cc,
    /// 수신: my department receives it.
    Received,
    /// 임시저장
    Drafts,
}

impl From<InboxBox> for Inbox {
    fn from(b: InboxBox) -> Self {
        match b {
            InboxBox::Pending => Inbox::Pending,
            InboxBox::Upcoming => Inbox::Upcoming,
            InboxBox::InProgress => Inbox::InProgress,
            InboxBox::Completed => Inbox::Completed,
            InboxBox::Rejected => Inbox::Rejected,
            InboxBox::Cc => Inbox::Cc,
            InboxBox::Received => Inbox::Received,
            InboxBox::Drafts => Inbox::Drafts,
        }
    }
}

impl From<Inbox> for InboxBox {
    fn from(b: Inbox) -> Self {
        match b {
            Inbox::Pending => InboxBox::Pending,
            Inbox::Upcoming => InboxBox::Upcoming,
            Inbox::InProgress => InboxBox::InProgress,
            Inbox::Completed => InboxBox::Completed,
            Inbox::Rejected => InboxBox::Rejected,
            Inbox::Cc => InboxBox::Cc,
            Inbox::Received => InboxBox::Received,
            Inbox::Drafts => InboxBox::Drafts,
        }
    }
}

/// Why a notification was sent.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum NotificationKind {
    /// 결재 요청: it is your turn.
    ApprovalRequested,
    /// 참조: you were put in cc.
    CcAdded,
    /// 완료: your document was finally approved.
    Approved,
    /// 반려: your document was rejected.
    Rejected,
    /// Returned to you (rejected to the previous step).
    Returned,
    /// 보류: your document was put on hold.
    Held,
    /// 회수: a document waiting for you was withdrawn.
    Withdrawn,
    /// 의견: a new comment on a document you are involved in.
    Commented,
}

impl From<Notice> for NotificationKind {
    fn from(n: Notice) -> Self {
        match n {
            Notice::ApprovalRequested => Self::ApprovalRequested,
            Notice::CcAdded => Self::CcAdded,
            Notice::Approved => Self::Approved,
            Notice::Rejected => Self::Rejected,
            Notice::Returned => Self::Returned,
            Notice::Held => Self::Held,
            Notice::Withdrawn => Self::Withdrawn,
            Notice::Commented => Self::Commented,
        }
    }
}

impl NotificationKind {
    /// From the stored (snake_case) name the feed keeps.
    pub fn from_stored(name: &str) -> Option<Self> {
        serde_json::from_value::<Notice>(serde_json::Value::String(name.to_owned()))
            .ok()
            .map(Self::from)
    }
}

/// An action a viewer may take on a document (`viewerActions`), as the domain decides it.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApprovalAction {
    /// 임시저장
    SaveDraft,
    /// 상신
    Submit,
    /// Delete a draft never submitted.
    Discard,
    /// 승인 (as proxy: 대결)
    Approve,
    /// 전결
    ApproveAsFinal,
    /// 반려 to the drafter (in an agreement group, a vote against).
    Reject,
    /// 반려 to the previous step.
    RejectToPreviousStep,
    /// 보류
    Hold,
    /// Release one's own hold.
    Release,
    /// 회수
    Withdraw,
    /// 결재 취소
    CancelApproval,
    /// 재상신
    Resubmit,
    /// 의견
    Comment,
}

impl From<Action> for ApprovalAction {
    fn from(a: Action) -> Self {
        match a {
            Action::SaveDraft => Self::SaveDraft,
            Action::Submit => Self::Submit,
            Action::Discard => Self::Discard,
            Action::Approve => Self::Approve,
            Action::ApproveAsFinal => Self::ApproveAsFinal,
            Action::Reject => Self::Reject,
            Action::RejectToPreviousStep => Self::RejectToPreviousStep,
            Action::Hold => Self::Hold,
            Action::Release => Self::Release,
            Action::Withdraw => Self::Withdraw,
            Action::CancelApproval => Self::CancelApproval,
            Action::Resubmit => Self::Resubmit,
            Action::Comment => Self::Comment,
        }
    }
}

/// A seat the viewer may take as proxy (대결) on a document now.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProxySeat {
    /// Pass as `delegation` with the decision.
    pub delegation_id: String,
    /// Whose seat.
    pub principal_id: String,
    /// What the viewer may do in it.
    pub actions: Vec<ApprovalAction>,
}

#[ComplexObject]
impl ProxySeat {
    async fn principal(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        Ok(context::employee(ctx, &self.principal_id).await?.map(EmployeeNode))
    }
}

/// An RFC 3339 instant as a read model stores it.
pub fn instant(stored: &str) -> async_graphql::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(stored)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| error::internal("stored instant does not decode", e))
}

impl InboxBox {
    pub const ALL: [InboxBox; 8] = [
        Self::Pending,
        Self::Upcoming,
        Self::InProgress,
        Self::Completed,
        Self::Rejected,
        Self::Cc,
        Self::Received,
        Self::Drafts,
    ];
}

/// An employee of the directory.
#[derive(Clone)]
pub struct EmployeeNode(pub EmployeeRecord);

#[Object(name = "Employee")]
impl EmployeeNode {
    async fn id(&self) -> ID {
        global(Kind::Employee, &self.0.id)
    }
    /// The raw employee id (UUID) the command API takes.
    async fn employee_id(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn position_title(&self) -> Option<&str> {
        self.0.position_title.as_deref()
    }
    async fn rank(&self) -> i64 {
        self.0.position_rank
    }
    /// snake_case role names: employee, manager, hr_admin, auditor.
    async fn roles(&self) -> &[String] {
        &self.0.roles
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn version(&self) -> u64 {
        self.0.version
    }
    async fn department(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DepartmentNode>> {
        match &self.0.department {
            Some(id) => Ok(context::department(ctx, id).await?.map(DepartmentNode)),
            None => Ok(None),
        }
    }
    async fn manager(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        match &self.0.manager {
            Some(id) => Ok(context::employee(ctx, id).await?.map(EmployeeNode)),
            None => Ok(None),
        }
    }
}

/// A department of the org chart.
#[derive(Clone)]
pub struct DepartmentNode(pub DepartmentRecord);

#[Object(name = "Department")]
impl DepartmentNode {
    async fn id(&self) -> ID {
        global(Kind::Department, &self.0.id)
    }
    async fn department_id(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn closed(&self) -> bool {
        self.0.closed
    }
    async fn version(&self) -> u64 {
        self.0.version
    }
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DepartmentNode>> {
        match &self.0.parent {
            Some(id) => Ok(context::department(ctx, id).await?.map(DepartmentNode)),
            None => Ok(None),
        }
    }
    async fn head(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        match &self.0.head {
            Some(id) => Ok(context::employee(ctx, id).await?.map(EmployeeNode)),
            None => Ok(None),
        }
    }
    /// Sub-departments, by name.
    #[graphql(complexity = "cost::SUB_DEPARTMENTS * child_complexity")]
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DepartmentNode>> {
        let all = stores(ctx).org.departments().await.map_err(error::store)?;
        Ok(all
            .into_iter()
            .filter(|d| d.parent.as_deref() == Some(self.0.id.as_str()))
            .map(DepartmentNode)
            .collect())
    }
    /// Active members, by name: the first `first` (default 20, at most 100).
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn members(&self, ctx: &Context<'_>, first: Option<i32>) -> async_graphql::Result<Vec<EmployeeNode>> {
        let first = crate::schema::page_size(first)?;
        let filter = infra::readmodel::queries::EmployeeFilter {
            department: Some(self.0.id.clone()),
            active: Some(true),
            ..Default::default()
        };
        let found = stores(ctx)
            .org
            .find_employees(&filter, None, first)
            .await
            .map_err(error::store)?;
        Ok(found.into_iter().map(EmployeeNode).collect())
    }
}

/// A document as the viewer may see it: now, or as it stood at `asOf`.
#[derive(Clone)]
pub struct ApprovalNode {
    pub doc: ApprovalDocument,
    /// Stream version this state reflects.
    pub version: u64,
    pub as_of: Option<DateTime<Utc>>,
}

/// The kind of a line step.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum StepKind {
    /// 결재: one approver, in sequence.
    Approval,
    /// 합의: a parallel agreement group.
    Agreement,
}

/// Where a step stands in the current revision.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum StepState {
    Done,
    Current,
    Upcoming,
    /// Passed over by 전결 at an earlier step.
    Skipped,
    /// The document ended (rejected, withdrawn) before this step decided.
    NotReached,
}

/// One step of the approval line (결재선).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ApprovalStep {
    pub index: u32,
    pub kind: StepKind,
    pub state: StepState,
    /// Agreements needed to pass (1 for a 결재 step).
    pub required: u32,
    /// This approver may approve as final (전결권).
    pub final_authority: bool,
    #[graphql(skip)]
    pub seats: Vec<(String, Option<DecisionOut>)>,
}

#[ComplexObject]
impl ApprovalStep {
    /// Each seat with its decision, if made.
    #[graphql(complexity = "cost::STEP_SEATS * child_complexity")]
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StepMember>> {
        let ids: Vec<String> = self.seats.iter().map(|(id, _)| id.clone()).collect();
        let found = context::employees(ctx, &ids).await?;
        Ok(self
            .seats
            .iter()
            .map(|(id, decision)| StepMember {
                employee: found.iter().find(|e| &e.id == id).cloned().map(EmployeeNode),
                employee_id: id.clone(),
                decision: decision.clone(),
            })
            .collect())
    }
}

/// A seat on a step.
#[derive(SimpleObject)]
pub struct StepMember {
    pub employee_id: String,
    pub employee: Option<EmployeeNode>,
    pub decision: Option<DecisionOut>,
}

/// A seat holder's vote.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum VerdictOut {
    Agree,
    Disagree,
}

/// A decision on a step.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Decision")]
pub struct DecisionOut {
    pub verdict: VerdictOut,
    /// Who acted: the seat holder or their proxy (대결).
    pub by_employee_id: String,
    pub proxy: bool,
    /// 전결
    pub final_authority: bool,
    pub at: DateTime<Utc>,
}

/// A comment (의견).
#[derive(SimpleObject)]
pub struct CommentOut {
    pub id: String,
    pub by_employee_id: String,
    pub text: String,
    pub at: DateTime<Utc>,
    pub revision: u32,
}

/// One event in a document's history.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TimelineEvent {
    pub version: u64,
    /// The event type, e.g. `approval.approved`.
    pub action: String,
    pub actor_id: String,
    pub at: DateTime<Utc>,
    /// Comment, reason or assigned number, as the action carries.
    pub note: Option<String>,
}

#[ComplexObject]
impl TimelineEvent {
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        Ok(context::employee(ctx, &self.actor_id).await?.map(EmployeeNode))
    }
}

fn step_state(doc: &ApprovalDocument, index: usize) -> StepState {
    let skipped = doc.steps.get(index).is_some_and(|p| p.skipped);
    if skipped {
        StepState::Skipped
    } else if doc.step_passed(index) {
        StepState::Done
    } else if matches!(doc.status, Status::InProgress | Status::OnHold) {
        if index == doc.current {
            StepState::Current
        } else {
            StepState::Upcoming
        }
    } else if matches!(doc.status, Status::Draft) {
        StepState::Upcoming
    } else {
        StepState::NotReached
    }
}

impl ApprovalNode {
    /// The line's steps with their state and decisions.
    pub fn line_steps(&self) -> Vec<ApprovalStep> {
        self.doc
            .line
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let progress = self.doc.steps.get(index);
                let decision_of = |member: &domain::ids::EmployeeId| {
                    progress.and_then(|p| p.decision_of(*member)).map(|d| DecisionOut {
                        verdict: match d.verdict {
                            Verdict::Agree => VerdictOut::Agree,
                            Verdict::Disagree => VerdictOut::Disagree,
                        },
                        by_employee_id: d.by.to_string(),
                        proxy: d.by != d.member,
                        final_authority: d.final_authority,
                        at: d.at,
                    })
                };
                let (kind, final_authority) = match step {
                    Step::Approval { final_authority, .. } => (StepKind::Approval, *final_authority),
                    Step::Agreement { quorum, .. } => {
                        let _: &Quorum = quorum;
                        (StepKind::Agreement, false)
                    }
                };
                ApprovalStep {
                    index: index as u32,
                    kind,
                    state: step_state(&self.doc, index),
                    required: step.required() as u32,
                    final_authority,
                    seats: step.members().iter().map(|m| (m.to_string(), decision_of(m))).collect(),
                }
            })
            .collect()
    }
}

#[Object(name = "Approval")]
impl ApprovalNode {
    async fn id(&self) -> ID {
        global(Kind::Approval, &self.doc.id.to_string())
    }
    /// The raw document id (UUID) the command API takes.
    async fn document_id(&self) -> String {
        self.doc.id.to_string()
    }
    async fn title(&self) -> &str {
        &self.doc.content.title
    }
    async fn status(&self) -> ApprovalStatus {
        self.doc.status.into()
    }
    async fn form_id(&self) -> String {
        self.doc.form.id.to_string()
    }
    async fn form_version(&self) -> u32 {
        self.doc.form.version
    }
    /// 1 for the first submission; +1 per 재상신.
    async fn revision(&self) -> u32 {
        self.doc.revision
    }
    /// The stream version this state reflects (use as `If-Match`).
    async fn version(&self) -> u64 {
        self.version
    }
    /// Set by `approvalAsOf`: the instant this state is taken at.
    async fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }
    /// Document number (문서번호), once finally approved.
    async fn number(&self) -> Option<String> {
        self.doc.number.as_ref().map(ToString::to_string)
    }
    /// The 전결 규정 row this revision was submitted under and who holds 전결권 (null for
    /// drafts and for documents submitted before the table existed).
    async fn authority(&self) -> Option<AuthorityOut> {
        self.doc.authority.as_ref().map(AuthorityOut::new)
    }
    /// Decimal amount, for money forms.
    async fn amount(&self) -> Option<String> {
        self.doc.amount.map(|a| a.normalize().to_string())
    }
    async fn leave_days(&self) -> Option<String> {
        self.doc.leave_days.map(|d| d.normalize().to_string())
    }
    /// Field values by key, in the order the form defines its fields.
    async fn body(&self) -> Vec<BodyField> {
        let form = domain::form::builtin_forms()
            .into_iter()
            .find(|f| f.form_ref() == self.doc.form);
        body_fields(
            &self.doc.content.body,
            form.map(|f| f.fields).as_deref().unwrap_or_default(),
        )
    }
    async fn attachments(&self) -> Vec<AttachmentOut> {
        self.doc.content.attachments.iter().map(AttachmentOut::from).collect()
    }
    /// What the viewer may do to this document now in their own name, as the domain decides
    /// it (`ApprovalDocument::viewer_actions`); empty for a past state (`approvalAsOf`).
    async fn viewer_actions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApprovalAction>> {
        let viewer = viewer(ctx)?;
        if self.as_of.is_some() {
            return Ok(Vec::new());
        }
        Ok(self
            .doc
            .viewer_actions(&viewer.actor, Utc::now())
            .into_iter()
            .map(ApprovalAction::from)
            .collect())
    }
    /// The seats the viewer may take as proxy (대결) now, each with what they may do in it;
    /// empty for a past state.
    async fn proxy_actions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProxySeat>> {
        let viewer = viewer(ctx)?;
        if self.as_of.is_some() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        Ok(viewer
            .delegations
            .iter()
            .filter_map(|d| {
                let actions = self.doc.proxy_actions(&viewer.actor, d, now);
                Some(ProxySeat {
                    delegation_id: d.id?.to_string(),
                    principal_id: d.principal?.to_string(),
                    actions: actions.into_iter().map(ApprovalAction::from).collect(),
                })
            })
            .filter(|seat| !seat.actions.is_empty())
            .collect())
    }
    async fn drafter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        Ok(context::employee(ctx, &self.doc.drafter.to_string())
            .await?
            .map(EmployeeNode))
    }
    async fn drafter_id(&self) -> String {
        self.doc.drafter.to_string()
    }
    /// The approval line (결재선) with each step's state and decisions.
    #[graphql(complexity = "cost::LINE_STEPS * child_complexity")]
    async fn steps(&self) -> Vec<ApprovalStep> {
        self.line_steps()
    }
    /// The line as the command API takes it (`line` of a draft or a 재상신).
    async fn line(&self) -> LineOut {
        LineOut::from(&self.doc.line)
    }
    /// Whoever may decide right now.
    #[graphql(complexity = "cost::STEP_SEATS * child_complexity")]
    async fn current_approvers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EmployeeNode>> {
        let ids: Vec<String> = self.doc.current_approvers().iter().map(ToString::to_string).collect();
        Ok(context::employees(ctx, &ids)
            .await?
            .into_iter()
            .map(EmployeeNode)
            .collect())
    }
    /// 참조
    #[graphql(complexity = "cost::CC * child_complexity")]
    async fn cc(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EmployeeNode>> {
        let ids: Vec<String> = self.doc.line.cc.iter().map(ToString::to_string).collect();
        Ok(context::employees(ctx, &ids)
            .await?
            .into_iter()
            .map(EmployeeNode)
            .collect())
    }
    /// 수신 departments.
    #[graphql(complexity = "cost::RECEIVERS * child_complexity")]
    async fn receivers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DepartmentNode>> {
        let mut out = Vec::new();
        for id in &self.doc.line.receivers {
            if let Some(d) = context::department(ctx, &id.to_string()).await? {
                out.push(DepartmentNode(d));
            }
        }
        Ok(out)
    }
    /// The reason of a hold (보류), while held.
    async fn hold_reason(&self) -> Option<&str> {
        self.doc.hold.as_ref().map(|h| h.reason.as_str())
    }
    #[graphql(complexity = "cost::COMMENTS * child_complexity")]
    async fn comments(&self) -> Vec<CommentOut> {
        self.doc
            .comments
            .iter()
            .map(|c| CommentOut {
                id: c.id.to_string(),
                by_employee_id: c.by.to_string(),
                text: c.text.clone(),
                at: c.at,
                revision: c.revision,
            })
            .collect()
    }
    /// Every event of the document up to this state, oldest first.
    #[graphql(complexity = "cost::TIMELINE * child_complexity")]
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TimelineEvent>> {
        let entries = stores(ctx)
            .views
            .timeline(&self.doc.id.to_string())
            .await
            .map_err(error::store)?;
        entries
            .into_iter()
            .filter(|e| e.version <= self.version)
            .map(|e| -> async_graphql::Result<TimelineEvent> {
                Ok(TimelineEvent {
                    version: e.version,
                    action: e.event_type,
                    actor_id: e.actor,
                    at: instant(&e.at)?,
                    note: e.note,
                })
            })
            .collect()
    }
    async fn drafted_at(&self) -> DateTime<Utc> {
        self.doc.drafted_at
    }
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.doc.submitted_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.doc.completed_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.doc.updated_at
    }
}

/// One row of an inbox box.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct InboxEntry {
    pub document_id: String,
    pub title: String,
    pub status: ApprovalStatus,
    pub drafter_id: String,
    pub updated_at: DateTime<Utc>,
}

#[ComplexObject]
impl InboxEntry {
    /// The document's global id, for `node(id:)`/`approval(id:)`.
    async fn id(&self) -> ID {
        global(Kind::Approval, &self.document_id)
    }
    async fn drafter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        Ok(context::employee(ctx, &self.drafter_id).await?.map(EmployeeNode))
    }
}

/// How many documents a box holds.
#[derive(SimpleObject)]
pub struct BoxCount {
    pub inbox: InboxBox,
    pub count: i64,
}

/// One notification of the viewer's feed.
#[derive(SimpleObject)]
pub struct Notification {
    pub id: String,
    pub document_id: String,
    pub kind: NotificationKind,
    pub title: String,
    pub at: DateTime<Utc>,
    pub read: bool,
}

/// Leave balance and ledger of an employee.
#[derive(SimpleObject)]
pub struct LeaveBalance {
    pub employee_id: String,
    /// Days granted and adjusted less days taken, decimal.
    pub balance: String,
    pub used: String,
    /// Days held by pending requests (submitted, not yet decided).
    pub held: String,
    /// Days a new request may take: balance less held.
    pub available: String,
    #[graphql(complexity = "cost::LEAVE_ENTRIES * child_complexity")]
    pub entries: Vec<LeaveEntryOut>,
}

#[derive(SimpleObject)]
pub struct LeaveEntryOut {
    pub version: u64,
    pub kind: String,
    pub days: String,
    pub document_id: Option<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl LeaveEntryOut {
    pub fn new(e: LeaveEntry) -> async_graphql::Result<Self> {
        Ok(Self {
            version: e.version,
            kind: e.kind,
            days: e.days,
            document_id: e.document,
            reason: e.reason,
            at: instant(&e.at)?,
        })
    }
}

/// A form template for the compose screen.
#[derive(SimpleObject)]
pub struct Form {
    pub id: String,
    pub version: u32,
    pub kind: FormKindOut,
    /// Document-number prefix.
    pub prefix: String,
    pub name_ko: String,
    pub name_en: String,
    /// Field definitions: key, labels, type with its constraints, required.
    pub fields: Vec<FieldDefOut>,
    pub amount_field: Option<String>,
    pub leave_days_field: Option<String>,
}

/// A suggested line (결재선) from the line rule.
#[derive(SimpleObject)]
pub struct LineSuggestion {
    pub rule_id: String,
    pub rule_version: u32,
    /// Approvers the 전결 규정 requires on the line, in order (others may be added).
    pub required_approver_ids: Vec<String>,
    /// The 전결 규정 row and who would hold 전결권 on this line.
    pub authority: AuthorityOut,
    /// The line as the command API takes it (`line` of a draft).
    pub line: LineOut,
    #[graphql(complexity = "cost::LINE_STEPS * child_complexity")]
    pub steps: Vec<ApprovalStep>,
}

/// How far a projection is behind the log.
#[derive(SimpleObject)]
pub struct ProjectionLag {
    pub projection: String,
    pub events_behind: u64,
    /// Age of the oldest commit not yet applied; 0 when caught up.
    pub seconds_behind: i64,
}

/// A delegation naming the viewer as proxy (대결자), open now.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DelegationToMe {
    /// Pass as `delegation` with a decision to act in the principal's seat.
    pub delegation_id: String,
    pub principal_id: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

#[ComplexObject]
impl DelegationToMe {
    async fn principal(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        Ok(context::employee(ctx, &self.principal_id).await?.map(EmployeeNode))
    }
}

/// One row of the 전결 규정.
#[derive(SimpleObject)]
pub struct AuthorityRowOut {
    pub form: FormKindOut,
    /// Decimal upper bound of the amount (days for leave); null for no bound.
    pub up_to: Option<String>,
    /// The lowest position rank that decides as final.
    pub final_rank: u32,
}

impl AuthorityRowOut {
    fn new(row: &domain::authority::AuthorityRow) -> Self {
        Self {
            form: row.form.into(),
            up_to: row.up_to.map(|u| u.normalize().to_string()),
            final_rank: u32::from(row.final_rank),
        }
    }
}

/// 전결 규정: the delegation-of-authority table.
#[derive(SimpleObject)]
#[graphql(name = "AuthorityTable")]
pub struct AuthorityTableOut {
    /// 0 for the built-in table; +1 per change HR recorded.
    pub version: u32,
    pub rows: Vec<AuthorityRowOut>,
}

impl AuthorityTableOut {
    pub fn new(table: &domain::authority::AuthorityTable) -> Self {
        Self {
            version: table.version,
            rows: table.rows.iter().map(AuthorityRowOut::new).collect(),
        }
    }
}

/// The authority a document was decided under.
#[derive(SimpleObject)]
#[graphql(name = "Authority", complex)]
pub struct AuthorityOut {
    pub table_version: u32,
    pub row: AuthorityRowOut,
    /// Who may approve as final (전결), skipping the steps after their seat.
    pub final_approver_id: Option<String>,
}

impl AuthorityOut {
    pub fn new(decision: &domain::authority::AuthorityDecision) -> Self {
        Self {
            table_version: decision.rule.table_version,
            row: AuthorityRowOut::new(&decision.rule.row),
            final_approver_id: decision.final_approver.map(|e| e.to_string()),
        }
    }
}

#[ComplexObject]
impl AuthorityOut {
    async fn final_approver(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        match &self.final_approver_id {
            Some(id) => Ok(context::employee(ctx, id).await?.map(EmployeeNode)),
            None => Ok(None),
        }
    }
}
