//! The document half of the query root: the viewer, nodes, documents (now and as of a
//! moment), lists, the inbox, notifications and the delegations naming the viewer.

use super::lookup::{employee_id, visible_document};
use super::*;
use crate::paging::{page_size, SCAN_BUDGET};
use infra::readmodel::rows::FeedEntry;
use infra::readmodel::sql::{merge_feeds, with_reads};

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
    /// Words, each of which must appear (case-insensitive, any part of a word: Korean is
    /// matched by its characters, not by a dictionary) in the title, the document number, the
    /// body's text, line items and choices, or an attachment's name.
    pub text: Option<String>,
}

/// An inbox box with its entries and the counts of every box.
#[derive(SimpleObject)]
pub struct InboxResult {
    pub entries: Connection<String, InboxEntry>,
    /// Every box of the viewer with its count (0 included).
    pub counts: Vec<BoxCount>,
}

#[derive(Default)]
pub struct DocumentQueries;

#[Object]
impl DocumentQueries {
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
            doc: doc.into(),
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
        let terms = crate::content::search_terms(filter.text.as_deref().unwrap_or_default());
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
                    && (terms.is_empty() || crate::content::matches_terms(&doc, &terms));
                if wanted {
                    let cursor = ids::cursor(&[&updated_at, &doc.id.to_string()]);
                    edges.push((
                        cursor,
                        ApprovalNode {
                            doc: doc.into(),
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

    /// The viewer's notification feed, newest first, each read or unread as the viewer marked
    /// it (`POST /api/notifications/read`, `/read-all`). `unread: true` leaves out what was
    /// read.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        unread: Option<bool>,
    ) -> async_graphql::Result<Vec<Notification>> {
        let first = page_size(first)?;
        let feed = my_feed(ctx).await?;
        feed.into_iter()
            .filter(|n| !(unread == Some(true) && n.read))
            .take(first)
            .map(|n| -> async_graphql::Result<Notification> {
                let kind = NotificationKind::from_stored(&n.kind)
                    .ok_or_else(|| error::internal("stored notification kind does not decode", &n.kind))?;
                let (document_id, subject_id) = if kind.is_hr() {
                    (None, Some(n.doc))
                } else {
                    (Some(n.doc), None)
                };
                Ok(Notification {
                    id: n.id,
                    document_id,
                    subject_id,
                    kind,
                    title: n.title,
                    at: instant(&n.at)?,
                    read: n.read,
                })
            })
            .collect()
    }

    /// How many of the viewer's notifications are unread (the header's badge).
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let unread = my_feed(ctx).await?.iter().filter(|n| !n.read).count();
        Ok(i32::try_from(unread).unwrap_or(i32::MAX))
    }

    /// Delegations that let the viewer act as proxy (대결) right now.
    #[graphql(complexity = "cost::DELEGATIONS * child_complexity")]
    async fn my_delegations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DelegationToMe>> {
        let viewer = viewer(ctx)?;
        let found = stores(ctx)
            .org
            .open_delegations_to(&[viewer.actor.id.to_string()], Utc::now())
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
}

/// The viewer's whole feed, newest first, with their read marks applied.
async fn my_feed(ctx: &Context<'_>) -> async_graphql::Result<Vec<FeedEntry>> {
    let me = viewer(ctx)?.actor.id.to_string();
    let stores = stores(ctx);
    let feed = merge_feeds(
        stores.views.notifications(&me).await.map_err(error::store)?,
        stores.org.hr_feed(&me).await.map_err(error::store)?,
    );
    Ok(with_reads(
        feed,
        &stores.org.feed_reads(&me).await.map_err(error::store)?,
    ))
}
