//! Inbox rows, counts, feeds, leave, forms, lag, delegations and the authority table.

use super::*;

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

/// One notification of the viewer's feed: about an approval document, or an HR notice.
#[derive(SimpleObject)]
pub struct Notification {
    pub id: String,
    /// The approval document it is about (none for an HR notice).
    pub document_id: Option<String>,
    /// What an HR notice is about: the quest, or the employee whose leave or week it is.
    pub subject_id: Option<String>,
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
