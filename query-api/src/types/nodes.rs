//! The node types — documents, employees, departments — and the `Node` interface over them;
//! the proxy seats a document offers and the authority it was decided under.

use super::*;

/// Anything with a global id, fetchable by `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
#[allow(clippy::large_enum_variant)] // built once per `node` lookup and resolved at once
pub enum Node {
    Approval(ApprovalNode),
    Employee(EmployeeNode),
    Department(DepartmentNode),
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
    /// The work schedule (근무 일정) its members' days are judged by: its own, else the
    /// nearest ancestor's, else the standard day.
    async fn schedule(&self, ctx: &Context<'_>) -> async_graphql::Result<WorkScheduleOut> {
        let all = stores(ctx).org.departments().await.map_err(error::store)?;
        let department = self.0.id.parse().ok().map(domain::ids::DepartmentId);
        Ok(WorkScheduleOut::from(schedules(&all).for_department(department)))
    }
    /// Whether it sets its own schedule rather than inheriting one.
    async fn has_own_schedule(&self) -> bool {
        self.0.schedule.is_some()
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
        let first = crate::paging::page_size(first)?;
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
    pub doc: std::sync::Arc<ApprovalDocument>,
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
#[graphql(name = "Decision", complex)]
pub struct DecisionOut {
    pub verdict: VerdictOut,
    /// Who acted: the seat holder or their proxy (대결).
    pub by_employee_id: String,
    pub proxy: bool,
    /// 전결
    pub final_authority: bool,
    pub at: DateTime<Utc>,
}

#[ComplexObject]
impl DecisionOut {
    /// Who acted, by name: the 결재란 writes a proxy's (대결) name in the seat's box.
    async fn by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmployeeNode>> {
        Ok(context::employee(ctx, &self.by_employee_id).await?.map(EmployeeNode))
    }
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
    pub(super) fn new(row: &domain::authority::AuthorityRow) -> Self {
        Self {
            form: row.form.into(),
            up_to: row.up_to.map(|u| u.normalize().to_string()),
            final_rank: u32::from(row.final_rank),
        }
    }
}
