//! The store reads of the subscription resolvers. Each resolver awaits them boxed: the
//! resolver's future lives inside its subscription's stream for as long as the subscription
//! runs, so a read inlined there would cost every idle subscription its size.

use super::types::BoxCount;
use domain::actor::Actor;
use domain::approval::{ApprovalDocument, Inbox};
use infra::readmodel::sql::{merge_feeds, SqlReadModel};
use infra::readmodel::{ApprovalViews, FeedEntry, StoreError};
use std::sync::Arc;

/// A document from the views with its version.
pub(super) async fn document(
    views: &Arc<dyn ApprovalViews>,
    id: &str,
) -> Result<Option<(u64, ApprovalDocument)>, infra::readmodel::StoreError> {
    Ok(views
        .approval(id)
        .await?
        .and_then(|(version, json)| Some((version, serde_json::from_value(json).ok()?))))
}

/// A feed's entries after `after` (an `at`, `id` cursor), oldest first: what a resubscribing
/// client missed.
pub(super) async fn missed_since(
    views: &Arc<dyn ApprovalViews>,
    org: &SqlReadModel,
    me: &str,
    (at, id): &(String, String),
) -> Result<Vec<FeedEntry>, StoreError> {
    let mut missed: Vec<FeedEntry> = merge_feeds(views.notifications(me).await?, org.hr_feed(me).await?)
        .into_iter()
        .filter(|e| (e.at.as_str(), e.id.as_str()) > (at.as_str(), id.as_str()))
        .collect();
    missed.sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
    Ok(missed)
}

pub(super) async fn counts(views: &Arc<dyn ApprovalViews>, actor: &Actor) -> Vec<BoxCount> {
    let mut all = views
        .inbox_counts(&format!("emp:{}", actor.id))
        .await
        .unwrap_or_default();
    if let Some(d) = actor.department {
        all.extend(
            views
                .inbox_counts(&format!("dept:{d}"))
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|(b, _)| b == Inbox::Received.as_str()),
        );
    }
    Inbox::ALL
        .into_iter()
        .map(|b| BoxCount {
            inbox: b.into(),
            count: all.iter().filter(|(n, _)| n == b.as_str()).map(|(_, c)| *c).sum(),
        })
        .collect()
}
