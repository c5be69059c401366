//! The organisation half of the query root: employees, departments, the org chart, leave,
//! forms, line suggestions, the authority table and projection status.

use super::lookup::{self, employee_id};
use super::*;
use crate::paging::page_size;

/// Narrows `employees`.
#[derive(InputObject, Default)]
pub struct EmployeeFilterInput {
    /// Part of the name or email.
    pub text: Option<String>,
    pub department_id: Option<ID>,
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct OrgQueries;

#[Object]
impl OrgQueries {
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
        let department = lookup::department_id(filter.department_id.as_ref())?;
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
            doc: preview.into(),
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
