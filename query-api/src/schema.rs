//! The query root. Every resolver starts from the viewer; every document passes the domain's
//! `visible_to` before it is returned — in lists, counts, node lookups and time travel alike.

use crate::context::{self, stores, viewer, Stores, Viewer};
use crate::cost::{self, AliasLimit};
use crate::error::{self, bad_input, coded};
use crate::ids::{self, Kind};
use crate::types::*;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, EmptyMutation, EmptySubscription, InputObject, Object, Schema, SimpleObject, ID};
use chrono::{DateTime, Utc};
use domain::approval::{Approval, ApprovalDocument, ApprovalEvent};
use domain::form::builtin_forms;
use domain::ids::{DepartmentId, EmployeeId};
use domain::org::{OrgChart, OrgDepartment, OrgMember};
use domain::Aggregate;
use infra::eventlog::{streams, StreamRef};
use infra::readmodel::queries::{ApprovalSearch, EmployeeFilter};
use infra::readmodel::Projection;
use rust_decimal::Decimal;
use std::str::FromStr;

/// The largest page any connection returns.
pub const MAX_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 20;
/// Documents a filtered list examines per request before it answers with what it found
/// (and `hasNextPage`), so one query cannot scan the whole store.
const SCAN_BUDGET: usize = 5_000;

pub type ErpSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Limits every request is validated against before it runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    /// Lists weigh their page size or fan-out times their selection ([`crate::cost`]).
    pub complexity: usize,
    /// Aliased fields per operation, fragments counted as often as they are spread.
    pub aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 12,
            complexity: 2_000,
            aliases: 20,
        }
    }
}

pub fn build(stores: Stores, limits: Limits) -> ErpSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(stores)
        .extension(AliasLimit(limits.aliases))
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(32)
        .finish()
}

/// The schema in SDL, as committed in `query-api/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription).finish().sdl()
}

pub(crate) fn page_size(first: Option<i32>) -> async_graphql::Result<usize> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n < 0 => Err(bad_input("`first` must not be negative")),
        Some(n) if n as usize > MAX_PAGE => Err(bad_input(format!("`first` is at most {MAX_PAGE}"))),
        Some(n) => Ok(n as usize),
    }
}

/// A document from the views, if it exists and the viewer may see it.
pub async fn visible_document(
    ctx: &Context<'_>,
    viewer: &Viewer,
    id: &str,
) -> async_graphql::Result<Option<ApprovalNode>> {
    let Some((version, json)) = stores(ctx).views.approval(id).await.map_err(error::store)? else {
        return Ok(None);
    };
    let doc: ApprovalDocument =
        serde_json::from_value(json).map_err(|e| error::internal("stored document does not decode", e))?;
    Ok(viewer.sees(&doc).then_some(ApprovalNode {
        doc,
        version,
        as_of: None,
    }))
}

/// Narrows `approvals`.
#[derive(InputObject, Default)]
pub struct ApprovalFilter {
    pub status: Option<ApprovalStatus>,
    /// Form id (any version): general, expense, leave, purchase.
    pub form_id: Option<String>,
    pub drafter_id: Option<ID>,
    /// Documents with this employee anywhere on the line.
    pub approver_id: Option<ID>,
    /// Submitted at or after.
    pub submitted_from: Option<DateTime<Utc>>,
    /// Submitted at or before.
    pub submitted_until: Option<DateTime<Utc>>,
    /// Part of the title, case-insensitive.
    pub text: Option<String>,
}

/// Narrows `employees`.
#[derive(InputObject, Default)]
pub struct EmployeeFilterInput {
    /// Part of the name or email.
    pub text: Option<String>,
    pub department_id: Option<ID>,
    pub active: Option<bool>,
}

/// An inbox box with its entries and the counts of every box.
#[derive(SimpleObject)]
pub struct InboxResult {
    pub entries: Connection<String, InboxEntry>,
    /// Every box of the viewer with its count (0 included).
    pub counts: Vec<BoxCount>,
}

fn employee_id(id: &ID) -> async_graphql::Result<String> {
    ids::parse(id, Some(Kind::Employee))
        .map(|(_, raw)| raw)
        .ok_or_else(|| bad_input(format!("{} is not an employee id", id.as_str())))
}

pub struct Query;

#[Object]
impl Query {
    /// The signed-in employee.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<EmployeeNode> {
        Ok(EmployeeNode(viewer(ctx)?.detail.clone()))
    }

    /// Any object by its global id; null when it does not exist or is not visible.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        let viewer = viewer(ctx)?;
        let Some((kind, raw)) = ids::parse(&id, None) else {
            return Err(bad_input(format!("{} is not a global id", id.as_str())));
        };
        Ok(match kind {
            Kind::Approval => visible_document(ctx, viewer, &raw).await?.map(Node::Approval),
            Kind::Employee => context::employee(ctx, &raw)
                .await?
                .map(|e| Node::Employee(EmployeeNode(e))),
            Kind::Department => context::department(ctx, &raw)
                .await?
                .map(|d| Node::Department(DepartmentNode(d))),
        })
    }

    /// One document, with line, recipients, comments and timeline; null when it does not
    /// exist or the viewer may not see it (the two are not told apart).
    async fn approval(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<ApprovalNode>> {
        let viewer = viewer(ctx)?;
        let (_, raw) = ids::parse(&id, Some(Kind::Approval))
            .ok_or_else(|| bad_input(format!("{} is not a document id", id.as_str())))?;
        visible_document(ctx, viewer, &raw).await
    }

    /// The document as it stood at `at`, folded from its events in the log that happened at
    /// or before it (each event's `at`, as the timeline shows it). Null before it was drafted,
    /// when the viewer may not see the document (as it is now), and — for everyone but the
    /// drafter — before its first submission (상신): an unsubmitted draft is the drafter's
    /// alone, whatever became of it later.
    async fn approval_as_of(
        &self,
        ctx: &Context<'_>,
        id: ID,
        at: DateTime<Utc>,
    ) -> async_graphql::Result<Option<ApprovalNode>> {
        let viewer = viewer(ctx)?;
        let (_, raw) = ids::parse(&id, Some(Kind::Approval))
            .ok_or_else(|| bad_input(format!("{} is not a document id", id.as_str())))?;
        let stream = StreamRef::new(streams::APPROVAL, raw);
        let recorded = stores(ctx)
            .log
            .read_stream(&stream)
            .await
            .map_err(|e| error::internal("event log failed", e))?;
        let mut events = Vec::with_capacity(recorded.len());
        for r in &recorded {
            let event: ApprovalEvent = serde_json::from_value(r.payload.clone())
                .map_err(|e| error::internal(&format!("approval event {} does not decode", r.version), e))?;
            // The instant an event happened is its own `at` — the time the timeline shows.
            events.push((r.version, event.at(), event));
        }
        let now = Approval::fold(events.iter().map(|(_, _, e)| e));
        if !now.document().is_some_and(|d| viewer.sees(d)) {
            return Ok(None);
        }
        let (then, folded) = Approval::as_of(events.iter().map(|(_, _, e)| e), at);
        let submitted = events[..folded]
            .iter()
            .any(|(_, _, e)| matches!(e, ApprovalEvent::Submitted { .. }));
        if !submitted && now.document().is_some_and(|d| d.drafter != viewer.actor.id) {
            return Ok(None);
        }
        Ok(then.0.map(|doc| ApprovalNode {
            doc,
            version: folded
                .checked_sub(1)
                .and_then(|i| events.get(i))
                .map_or(0, |(v, _, _)| *v),
            as_of: Some(at),
        }))
    }

    /// Documents the viewer may see, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn approvals(
        &self,
        ctx: &Context<'_>,
        filter: Option<ApprovalFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ApprovalNode>> {
        let viewer = viewer(ctx)?;
        let first = page_size(first)?;
        let filter = filter.unwrap_or_default();
        let search = ApprovalSearch {
            status: filter.status.map(|s| s.stored().to_owned()),
            drafter: filter.drafter_id.as_ref().map(employee_id).transpose()?,
            form: filter.form_id.clone(),
            submitted_from: filter.submitted_from.map(|t| t.to_rfc3339()),
            submitted_until: filter.submitted_until.map(|t| t.to_rfc3339()),
        };
        let approver: Option<EmployeeId> = match &filter.approver_id {
            Some(id) => Some(
                employee_id(id)?
                    .parse()
                    .map_err(|_| bad_input("approverId is not an employee id"))?,
            ),
            None => None,
        };
        let text = filter.text.as_ref().map(|t| t.to_lowercase());
        let mut position = match &after {
            Some(c) => {
                let parts = ids::uncursor(c, 2).ok_or_else(|| bad_input("`after` is not a cursor of this list"))?;
                Some((parts[0].clone(), parts[1].clone()))
            }
            None => None,
        };
        let mut edges: Vec<(String, ApprovalNode)> = Vec::new();
        let mut scanned = 0;
        let mut exhausted = false;
        const CHUNK: usize = 200;
        while edges.len() <= first && scanned < SCAN_BUDGET {
            let chunk = stores(ctx)
                .views
                .search(&search, position.as_ref(), CHUNK)
                .await
                .map_err(error::store)?;
            exhausted = chunk.len() < CHUNK;
            for (version, updated_at, json) in chunk {
                scanned += 1;
                let doc: ApprovalDocument =
                    serde_json::from_value(json).map_err(|e| error::internal("stored document does not decode", e))?;
                position = Some((updated_at.clone(), doc.id.to_string()));
                let wanted = viewer.sees(&doc)
                    && approver.is_none_or(|a| doc.line.involves(a))
                    && text
                        .as_ref()
                        .is_none_or(|t| doc.content.title.to_lowercase().contains(t));
                if wanted {
                    let cursor = ids::cursor(&[&updated_at, &doc.id.to_string()]);
                    edges.push((
                        cursor,
                        ApprovalNode {
                            doc,
                            version,
                            as_of: None,
                        },
                    ));
                    if edges.len() > first {
                        break;
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        let has_next = edges.len() > first || !exhausted;
        edges.truncate(first);
        let mut connection = Connection::new(after.is_some(), has_next);
        connection
            .edges
            .extend(edges.into_iter().map(|(cursor, node)| Edge::new(cursor, node)));
        Ok(connection)
    }

    /// One box of the viewer's inbox (결재함), newest first, with the counts of every box.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        r#box: InboxBox,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(desc = "Part of the title, case-insensitive.")] text: Option<String>,
    ) -> async_graphql::Result<InboxResult> {
        let viewer = viewer(ctx)?;
        let first = page_size(first)?;
        let views = &stores(ctx).views;
        let me = format!("emp:{}", viewer.actor.id);
        let department = viewer.actor.department.map(|d| format!("dept:{d}"));
        let principal = match r#box {
            InboxBox::Received => department.clone(),
            _ => Some(me.clone()),
        };
        let items = match &principal {
            Some(p) => views.inbox(p, r#box.into()).await.map_err(error::store)?,
            None => Vec::new(),
        };
        let text = text.map(|t| t.to_lowercase());
        let items: Vec<_> = items
            .into_iter()
            .filter(|i| text.as_ref().is_none_or(|t| i.title.to_lowercase().contains(t)))
            .collect();
        let start = match &after {
            Some(c) => {
                let parts = ids::uncursor(c, 1).ok_or_else(|| bad_input("`after` is not a cursor of this list"))?;
                parts[0]
                    .parse::<usize>()
                    .map_err(|_| bad_input("`after` is not a cursor of this list"))?
                    + 1
            }
            None => 0,
        };
        let mut entries = Connection::new(start > 0, items.len() > start + first);
        for (i, item) in items.into_iter().enumerate().skip(start).take(first) {
            entries.edges.push(Edge::new(
                ids::cursor(&[&i.to_string()]),
                InboxEntry {
                    document_id: item.doc,
                    title: item.title,
                    status: ApprovalStatus::from_stored(&item.status)?,
                    drafter_id: item.drafter,
                    updated_at: instant(&item.updated_at)?,
                },
            ));
        }
        let mut counts: Vec<(String, i64)> = views.inbox_counts(&me).await.map_err(error::store)?;
        if let Some(d) = &department {
            counts.extend(
                views
                    .inbox_counts(d)
                    .await
                    .map_err(error::store)?
                    .into_iter()
                    .filter(|(b, _)| b == domain::approval::Inbox::Received.as_str()),
            );
        }
        let counts = InboxBox::ALL
            .into_iter()
            .map(|b| BoxCount {
                inbox: b,
                count: counts
                    .iter()
                    .filter(|(name, _)| name == domain::approval::Inbox::from(b).as_str())
                    .map(|(_, n)| *n)
                    .sum(),
            })
            .collect();
        Ok(InboxResult { entries, counts })
    }

    /// The viewer's notification feed, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn notifications(&self, ctx: &Context<'_>, first: Option<i32>) -> async_graphql::Result<Vec<Notification>> {
        let viewer = viewer(ctx)?;
        let first = page_size(first)?;
        let feed = stores(ctx)
            .views
            .notifications(&viewer.actor.id.to_string())
            .await
            .map_err(error::store)?;
        feed.into_iter()
            .take(first)
            .map(|n| -> async_graphql::Result<Notification> {
                Ok(Notification {
                    id: n.id,
                    document_id: n.doc,
                    kind: NotificationKind::from_stored(&n.kind)
                        .ok_or_else(|| error::internal("stored notification kind does not decode", &n.kind))?,
                    title: n.title,
                    at: instant(&n.at)?,
                    read: n.read,
                })
            })
            .collect()
    }

    /// Delegations that let the viewer act as proxy (대결) right now.
    #[graphql(complexity = "cost::DELEGATIONS * child_complexity")]
    async fn my_delegations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DelegationToMe>> {
        let viewer = viewer(ctx)?;
        let found = stores(ctx)
            .org
            .open_delegations_to(&viewer.actor.id.to_string(), Utc::now())
            .await
            .map_err(error::store)?;
        found
            .into_iter()
            .map(|d| -> async_graphql::Result<DelegationToMe> {
                Ok(DelegationToMe {
                    valid_from: instant(&d.valid_from)?,
                    valid_until: instant(&d.valid_until)?,
                    delegation_id: d.id,
                    principal_id: d.principal,
                })
            })
            .collect()
    }

    /// The employee directory, by name.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn employees(
        &self,
        ctx: &Context<'_>,
        filter: Option<EmployeeFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, EmployeeNode>> {
        viewer(ctx)?;
        let first = page_size(first)?;
        let filter = filter.unwrap_or_default();
        let department = match &filter.department_id {
            Some(id) => Some(
                ids::parse(id, Some(Kind::Department))
                    .map(|(_, raw)| raw)
                    .ok_or_else(|| bad_input("departmentId is not a department id"))?,
            ),
            None => None,
        };
        let position = match &after {
            Some(c) => {
                let parts = ids::uncursor(c, 2).ok_or_else(|| bad_input("`after` is not a cursor of this list"))?;
                Some((parts[0].clone(), parts[1].clone()))
            }
            None => None,
        };
        let store_filter = EmployeeFilter {
            text: filter.text.clone(),
            department,
            active: filter.active,
        };
        let mut found = stores(ctx)
            .org
            .find_employees(&store_filter, position.as_ref(), first + 1)
            .await
            .map_err(error::store)?;
        let has_next = found.len() > first;
        found.truncate(first);
        let mut connection = Connection::new(after.is_some(), has_next);
        connection.edges.extend(
            found
                .into_iter()
                .map(|e| Edge::new(ids::cursor(&[&e.name, &e.id]), EmployeeNode(e))),
        );
        Ok(connection)
    }

    async fn employee(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<EmployeeNode>> {
        viewer(ctx)?;
        let raw = employee_id(&id)?;
        Ok(context::employee(ctx, &raw).await?.map(EmployeeNode))
    }

    /// Every department, by name.
    #[graphql(complexity = "cost::DEPARTMENTS * child_complexity")]
    async fn departments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DepartmentNode>> {
        viewer(ctx)?;
        let all = stores(ctx).org.departments().await.map_err(error::store)?;
        Ok(all.into_iter().map(DepartmentNode).collect())
    }

    /// The open top-level departments; walk `children` and `members` for the tree.
    #[graphql(complexity = "cost::ORG_ROOTS * child_complexity")]
    async fn org_chart(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DepartmentNode>> {
        viewer(ctx)?;
        let all = stores(ctx).org.departments().await.map_err(error::store)?;
        Ok(all
            .into_iter()
            .filter(|d| d.parent.is_none() && !d.closed)
            .map(DepartmentNode)
            .collect())
    }

    /// Leave balance and ledger: the viewer's own, or anyone's for HR admins and auditors.
    async fn leave_balance(
        &self,
        ctx: &Context<'_>,
        employee_id: Option<ID>,
    ) -> async_graphql::Result<Option<LeaveBalance>> {
        let viewer = viewer(ctx)?;
        let whom = match &employee_id {
            Some(id) => self::employee_id(id)?,
            None => viewer.actor.id.to_string(),
        };
        if whom != viewer.actor.id.to_string() && !context::reads_all(viewer) {
            return Err(coded(
                error::FORBIDDEN,
                "only HR admins and auditors read others' leave",
            ));
        }
        let org = &stores(ctx).org;
        let Some((balance, used)) = org.leave_balance(&whom).await.map_err(error::store)? else {
            return Ok(None);
        };
        let entries = org.leave_entries(&whom).await.map_err(error::store)?;
        let held = held_days(&entries);
        let available = Decimal::from_str(&balance)
            .map(|b| (b - held).normalize().to_string())
            .ok();
        Ok(Some(LeaveBalance {
            employee_id: whom,
            balance,
            used,
            held: held.normalize().to_string(),
            available: available.unwrap_or_default(),
            entries: entries
                .into_iter()
                .map(LeaveEntryOut::new)
                .collect::<async_graphql::Result<_>>()?,
        }))
    }

    /// Form templates with their field definitions, for the compose screen.
    #[graphql(complexity = "cost::FORMS * child_complexity")]
    async fn forms(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Form>> {
        viewer(ctx)?;
        Ok(builtin_forms()
            .into_iter()
            .map(|f| Form {
                id: f.id.to_string(),
                version: f.version,
                kind: f.kind.into(),
                prefix: f.prefix.clone(),
                name_ko: f.name_ko.clone(),
                name_en: f.name_en.clone(),
                fields: f.fields.iter().map(crate::content::FieldDefOut::from).collect(),
                amount_field: f.amount_field.clone(),
                leave_days_field: f.leave_days_field.clone(),
            })
            .collect())
    }

    /// The line the standard rule suggests for the viewer drafting `formId` over `amount`.
    async fn suggest_line(
        &self,
        ctx: &Context<'_>,
        form_id: String,
        #[graphql(desc = "Decimal, for money forms.")] amount: Option<String>,
        #[graphql(desc = "Decimal, for leave requests.")] leave_days: Option<String>,
    ) -> async_graphql::Result<LineSuggestion> {
        let viewer = viewer(ctx)?;
        let form = builtin_forms()
            .into_iter()
            .find(|f| f.id.to_string() == form_id)
            .ok_or_else(|| coded(error::NOT_FOUND, format!("no form {form_id:?}")))?;
        let decimal = |v: &Option<String>, what: &str| -> async_graphql::Result<Option<Decimal>> {
            v.as_deref()
                .map(|s| Decimal::from_str(s.trim()).map_err(|_| bad_input(format!("{what} is not a decimal: {s:?}"))))
                .transpose()
        };
        let amount = decimal(&amount, "amount")?;
        let leave_days = decimal(&leave_days, "leaveDays")?;
        let chart = org_chart(stores(ctx)).await?;
        let table = authority_table(stores(ctx)).await?;
        let rules = domain::line_rule::LineRules {
            chart: &chart,
            policy: &stores(ctx).policy,
            table: &table,
        };
        let suggestion = rules
            .suggest(domain::line_rule::Drafting {
                drafter: viewer.actor.id,
                form: &form,
                amount,
                leave_days,
            })
            .map_err(|e| coded("RULE_VIOLATION", e.to_string()))?;
        let preview = ApprovalDocument {
            id: domain::ids::ApprovalId(uuid::Uuid::nil()),
            drafter: viewer.actor.id,
            form: domain::form::FormRef {
                id: form.id.clone(),
                version: form.version,
            },
            content: domain::approval::Content {
                title: String::new(),
                body: Default::default(),
                attachments: Vec::new(),
            },
            line: suggestion.line.clone(),
            status: domain::approval::Status::Draft,
            revision: 0,
            steps: Vec::new(),
            current: 0,
            hold: None,
            rule: None,
            authority: Some(suggestion.requirement.decision(&suggestion.line)),
            amount,
            leave_days,
            number: None,
            comments: Vec::new(),
            drafted_at: Utc::now(),
            submitted_at: None,
            completed_at: None,
            updated_at: Utc::now(),
        };
        let steps = ApprovalNode {
            doc: preview,
            version: 0,
            as_of: None,
        };
        Ok(LineSuggestion {
            rule_id: suggestion.rule.id.clone(),
            rule_version: suggestion.rule.version,
            required_approver_ids: suggestion
                .requirement
                .approvers
                .iter()
                .map(ToString::to_string)
                .collect(),
            authority: AuthorityOut::new(&suggestion.requirement.decision(&suggestion.line)),
            line: crate::content::LineOut::from(&suggestion.line),
            steps: steps.line_steps(),
        })
    }

    /// 전결 규정: the delegation-of-authority table in force (version 0: the built-in one).
    async fn authority_table(&self, ctx: &Context<'_>) -> async_graphql::Result<AuthorityTableOut> {
        viewer(ctx)?;
        Ok(AuthorityTableOut::new(&authority_table(stores(ctx)).await?))
    }

    /// How far each projection is behind the log.
    #[graphql(complexity = "Projection::ALL.len() * child_complexity")]
    async fn projection_status(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProjectionLag>> {
        viewer(ctx)?;
        crate::lag::lags(stores(ctx)).await
    }
}

/// The 전결 규정 in force, folded from its stream in the log (one short stream).
async fn authority_table(stores: &Stores) -> async_graphql::Result<domain::authority::AuthorityTable> {
    let stream = StreamRef::new(streams::POLICY, domain::authority::COMPANY);
    let recorded = stores
        .log
        .read_stream(&stream)
        .await
        .map_err(|e| error::internal("event log failed", e))?;
    let mut policy = domain::authority::AuthorityPolicy::default();
    for r in recorded {
        let event: domain::authority::AuthorityEvent = serde_json::from_value(r.payload)
            .map_err(|e| error::internal(&format!("authority event {} does not decode", r.version), e))?;
        policy.evolve(&event);
    }
    Ok(policy.table)
}

/// Days pending requests hold, from the ledger's entries: a hold stands from `reserved` until
/// its document is `released` or `debited` (a newer revision's hold replaces an older one).
fn held_days(entries: &[infra::readmodel::queries::LeaveEntry]) -> Decimal {
    let mut holds: std::collections::BTreeMap<&str, Decimal> = std::collections::BTreeMap::new();
    for e in entries {
        let Some(document) = e.document.as_deref() else {
            continue;
        };
        match e.kind.as_str() {
            "reserved" => {
                holds.insert(document, Decimal::from_str(&e.days).unwrap_or_default());
            }
            "released" | "debited" => {
                holds.remove(document);
            }
            _ => {}
        }
    }
    holds.values().sum()
}

/// The org chart line rules walk, from the employee read model.
async fn org_chart(stores: &Stores) -> async_graphql::Result<OrgChart> {
    let employees = stores
        .org
        .find_employees(&EmployeeFilter::default(), None, usize::MAX)
        .await
        .map_err(error::store)?;
    let departments = stores.org.departments().await.map_err(error::store)?;
    Ok(OrgChart {
        employees: employees
            .into_iter()
            .filter_map(|e| {
                Some((
                    e.id.parse::<EmployeeId>().ok()?,
                    OrgMember {
                        department: e.department.as_deref()?.parse::<DepartmentId>().ok()?,
                        manager: e.manager.as_deref().and_then(|m| m.parse().ok()),
                        rank: e.position_rank.clamp(0, 255) as u8,
                        active: e.active,
                    },
                ))
            })
            .collect(),
        departments: departments
            .into_iter()
            .filter(|d| !d.closed)
            .filter_map(|d| {
                Some((
                    d.id.parse::<DepartmentId>().ok()?,
                    OrgDepartment {
                        parent: d.parent.as_deref().and_then(|p| p.parse().ok()),
                        head: d.head.as_deref().and_then(|h| h.parse().ok()),
                    },
                ))
            })
            .collect(),
    })
}
