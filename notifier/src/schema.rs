//! The subscription root. Every stream starts from the bus subscription *before* anything is
//! read from the store, so nothing published in between is lost — except `approvalUpdated`,
//! which routes a document only once the viewer may see it, and says `resync` if it moved in
//! between. Every item passes the same visibility rule as the query API
//! (`ApprovalDocument::visible_to`, feed recipients, inbox principals), for the viewer as the
//! connection's [`Principal`] has them *now*: a revoked delegation or a lost role trims what
//! flows, and a document no longer visible ends its subscription.
//!
//! What a client read *before* it subscribed is another gap, on its side: a change between its
//! read and the subscription's routes reaches neither. `approvalUpdated(since)` compares the
//! version the client shows; `inboxChanged(resyncAtOpen)` and `hrChanged(resyncAtOpen)`, which
//! have no one version to compare, open with a resync once routed, and the client reads again.

use crate::sessions::Principal;
use async_graphql::{Context, Object, Subscription, ID};
use domain::actor::Actor;
use domain::approval::ApprovalDocument;
use futures::stream::{self, BoxStream, StreamExt};
use infra::bus::Change;
use infra::readmodel::ApprovalViews;
use query_api::HrTopic;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;

pub(crate) mod delivery;
mod hr;
mod reads;
mod routing;
mod types;

use delivery::{captured, delivered};
use reads::{counts, document, missed_since};
pub use routing::Sources;
use routing::{coded, count_resync, from_routes, internal, principal};
pub(crate) use routing::{PushClock, Routes};
pub use types::{feed_cursor, ApprovalUpdate, HrChange, InboxChange, NotificationEvent};
use types::{parse_cursor, status_of};

/// The inbox principals (`emp:…`, `dept:…`) whose boxes are the actor's.
fn inbox_principals(actor: &Actor) -> Vec<String> {
    std::iter::once(format!("emp:{}", actor.id))
        .chain(actor.department.map(|d| format!("dept:{d}")))
        .collect()
}

#[derive(Debug)]
pub struct Query;

#[Object]
impl Query {
    /// Subscriptions live on this endpoint; queries on the query API.
    async fn subscriptions_only(&self) -> bool {
        true
    }
}

#[derive(Debug)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// New entries of the viewer's notification feed. With `after` (a cursor from an earlier
    /// event), the entries since then come first from the persisted feed, then live ones,
    /// with no gap and no duplicate.
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<BoxStream<'static, NotificationEvent>> {
        if let Some(item) = delivered(ctx) {
            return Ok(item);
        }
        let (principal, subscriber) = principal(ctx)?;
        let me = subscriber.actor.id.to_string();
        let sources = ctx.data_unchecked::<Sources>().clone();
        let hub = ctx.data_unchecked::<Routes>();
        // My feed, and — as their proxy (대결자) — my principals' requests to decide, for as
        // long as the delegation stays open.
        let receivers = std::iter::once(me.clone())
            .chain(subscriber.acting_for().iter().map(ToString::to_string))
            .map(|who| hub.subscribe(&format!("feed:{who}")))
            .collect();
        let after = match after {
            Some(c) => Some(parse_cursor(&c).ok_or_else(|| coded("BAD_USER_INPUT", "`after` is not a cursor"))?),
            None => None,
        };
        // Store reads are awaited boxed (see `reads`).
        let backlog = match &after {
            Some(after) => Box::pin(missed_since(&sources.views, &sources.org, &me, after))
                .await
                .map_err(internal)?,
            None => Vec::new(),
        };
        let seen: HashSet<String> = backlog.iter().map(|e| e.id.clone()).collect();
        let replayed = stream::iter(
            backlog
                .into_iter()
                .map(|e| NotificationEvent::of(&e, None, None, true))
                .collect::<Vec<_>>(),
        );
        let live = from_routes(
            ctx,
            receivers,
            |_| NotificationEvent::lagged(),
            move |arrived| {
                let item = match &arrived.change {
                    Change::Notification {
                        recipient,
                        entry,
                        position,
                        correlation_id,
                        trace_id,
                        ..
                    } if *recipient == me
                        && !seen.contains(&entry.id)
                        && after.as_ref().is_none_or(|(at, id)| {
                            (entry.at.as_str(), entry.id.as_str()) > (at.as_str(), id.as_str())
                        }) =>
                    {
                        let mut event =
                            NotificationEvent::of(entry, Some(position.clone()), Some(correlation_id.clone()), false);
                        event.trace_id = trace_id.clone();
                        Some(event)
                    }
                    Change::Notification {
                        recipient,
                        entry,
                        position,
                        correlation_id,
                        trace_id,
                        ..
                    } if entry.kind == "approval_requested"
                        && principal
                            .now()
                            .is_some_and(|now| now.acting_for().iter().any(|p| p.to_string() == *recipient)) =>
                    {
                        let mut event =
                            NotificationEvent::of(entry, Some(position.clone()), Some(correlation_id.clone()), false);
                        event.for_employee_id = Some(recipient.clone());
                        event.trace_id = trace_id.clone();
                        Some(event)
                    }
                    _ => None,
                };
                Box::pin(async move { item })
            },
        );
        Ok(captured(ctx, replayed.chain(live).boxed()))
    }

    /// HR records the viewer may see as they change, by the query API's rules: their own
    /// attendance, leave and quest participation (naming only them); a quest's poster, all
    /// of its changes; a department head, the attendance of the departments they head (read
    /// again every few seconds, routed as at subscription); an HR admin or auditor,
    /// everyone's. `topics` narrows it.
    async fn hr_changed(
        &self,
        ctx: &Context<'_>,
        topics: Option<Vec<HrTopic>>,
        #[graphql(
            default,
            desc = "Start with a resync once the subscription is routed: a client that read before subscribing (or subscribes again after a lost connection) reads again then, so a change between its read and the subscription is not lost."
        )]
        resync_at_open: bool,
    ) -> async_graphql::Result<BoxStream<'static, HrChange>> {
        hr::changed(ctx, topics, resync_at_open).await
    }

    /// A document entered or left one of the viewer's boxes (or changed in it), with every
    /// box count after the change.
    async fn inbox_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Start with a resync once the subscription is routed: a client that read before subscribing (or subscribes again after a lost connection) reads again then, so a change between its read and the subscription is not lost."
        )]
        resync_at_open: bool,
    ) -> async_graphql::Result<BoxStream<'static, InboxChange>> {
        if let Some(item) = delivered(ctx) {
            return Ok(item);
        }
        let (principal, subscriber) = principal(ctx)?;
        let views = ctx.data_unchecked::<Sources>().views.clone();
        let hub = ctx.data_unchecked::<Routes>();
        let receivers = inbox_principals(&subscriber.actor)
            .iter()
            .map(|p| hub.subscribe(&format!("box:{p}")))
            .collect();
        // A change in both my own and my department's boxes arrives on both routes: once is
        // enough.
        let last: Arc<std::sync::Mutex<Option<(String, u64)>>> = Arc::default();
        let items = from_routes(
            ctx,
            receivers,
            |_| InboxChange::lagged(),
            move |arrived| {
                let (views, last) = (views.clone(), last.clone());
                // The boxes of the viewer as they are now (a transfer moves the department).
                let actor = principal.now().map(|now| now.actor);
                Box::pin(async move {
                    let actor = actor?;
                    let Change::Document {
                        doc: id,
                        version,
                        boxes,
                        document,
                        position,
                        correlation_id,
                        trace_id,
                        events,
                        ..
                    } = &arrived.change
                    else {
                        return None;
                    };
                    let mine = inbox_principals(&actor);
                    if !boxes.iter().any(|b| mine.contains(b)) {
                        return None;
                    }
                    {
                        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                        if last.as_ref() == Some(&(id.clone(), *version)) {
                            return None;
                        }
                        *last = Some((id.clone(), *version));
                    }
                    let doc = ApprovalDocument::deserialize(document).ok()?;
                    Some(InboxChange {
                        resync: false,
                        document_id: Some(doc.id.to_string()),
                        title: Some(doc.content.title.clone()),
                        status: Some(status_of(&doc)),
                        position: Some(position.clone()),
                        correlation_id: Some(correlation_id.clone()),
                        trace_id: trace_id.clone(),
                        events: events.clone(),
                        counts: counts(&views, &actor).await,
                    })
                })
            },
        );
        let first = resync_at_open.then(InboxChange::lagged);
        Ok(captured(ctx, stream::iter(first).chain(items).boxed()))
    }

    /// Each change of one document the viewer may see; it ends when the viewer may no longer
    /// see the document (a revoked delegation, a lost role).
    async fn approval_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The document id (UUID).")] id: ID,
        #[graphql(
            desc = "The version the client shows, read before subscribing: if the document is at another by the time the subscription opens, its first item is a resync (a change between the read and the subscription reaches neither)."
        )]
        since: Option<u64>,
    ) -> async_graphql::Result<BoxStream<'static, ApprovalUpdate>> {
        if let Some(item) = delivered(ctx) {
            return Ok(item);
        }
        let (principal, subscriber) = principal(ctx)?;
        let views = ctx.data_unchecked::<Sources>().views.clone();
        let id = id.to_string();
        let checked = match Box::pin(document(&views, &id)).await.map_err(internal)? {
            Some((version, doc)) if subscriber.sees(&doc) => version,
            // Not told apart from a missing document, and no route for it.
            _ => return Err(coded("NOT_FOUND", format!("no document {id}"))),
        };
        let route = ctx.data_unchecked::<Routes>().subscribe(&format!("doc:{id}"));
        // A change between the check and the route would be lost, and so would one between
        // the client's read and the check: say so.
        let moved = document(&views, &id)
            .await
            .map_err(internal)?
            .is_none_or(|(version, _)| version != checked)
            || since.is_some_and(|shown| shown != checked);
        let resync = {
            let id = id.clone();
            move || ApprovalUpdate {
                resync: true,
                document_id: id.clone(),
                version: None,
                status: None,
                position: None,
                correlation_id: None,
                trace_id: None,
                events: Vec::new(),
            }
        };
        let first = moved.then(&resync);
        if first.is_some() {
            count_resync();
        }
        let wanted = id.clone();
        let viewer = principal.clone();
        let updates = from_routes(
            ctx,
            vec![route],
            move |_| resync(),
            move |arrived| {
                let item = match &arrived.change {
                    Change::Document {
                        doc,
                        version,
                        events,
                        position,
                        correlation_id,
                        trace_id,
                        document,
                        ..
                    } if *doc == wanted => ApprovalDocument::deserialize(document)
                        .ok()
                        .filter(|d| viewer.now().is_some_and(|now| now.sees(d)))
                        .map(|d| ApprovalUpdate {
                            resync: false,
                            document_id: doc.clone(),
                            version: Some(*version),
                            status: Some(status_of(&d)),
                            position: Some(position.clone()),
                            correlation_id: Some(correlation_id.clone()),
                            trace_id: trace_id.clone(),
                            events: events.clone(),
                        }),
                    _ => None,
                };
                Box::pin(async move { item })
            },
        );
        let items = stream::iter(first)
            .chain(updates)
            .take_until(out_of_sight(principal, views, id))
            .boxed();
        Ok(captured(ctx, items))
    }
}

/// Resolves once the principal has changed so that it may no longer see document `id` (or is
/// gone altogether).
async fn out_of_sight(mut principal: Principal, views: Arc<dyn ApprovalViews>, id: String) {
    while principal.changed().await {
        let Some(now) = principal.now() else { return };
        match document(&views, &id).await {
            Ok(Some((_, doc))) if now.sees(&doc) => {}
            Ok(_) => return,
            // Unknown for now: the next change asks again.
            Err(e) => tracing::warn!(error = %e, "visibility recheck failed"),
        }
    }
}

#[cfg(test)]
mod tests;
