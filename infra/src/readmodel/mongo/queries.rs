//! The MongoDB views' reads: boxes, feeds, documents, timelines, filtered lists, and the
//! checksum and dump replays compare.

use super::{text_of, unavailable, MongoViews, VIEW_COLLECTIONS};
use crate::readmodel::queries::{ApprovalCandidate, ApprovalCursor, ApprovalSearch};
use crate::readmodel::rows::*;
use crate::readmodel::{Dump, StoreError};
use domain::approval::Inbox;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use sha2::{Digest, Sha256};

/// A stored document as its typed row (its `_id` and guard fields are left aside).
fn row<R: TableRow>(document: Document) -> Result<R, StoreError> {
    mongodb::bson::from_document(document).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl MongoViews {
    pub(super) async fn inbox_items(&self, principal: &str, inbox: Inbox) -> Result<Vec<InboxItem>, StoreError> {
        self.follow().await?;
        let mut cursor = self
            .coll("inbox")
            .find(doc! { "principal": principal, "box": inbox.as_str() })
            .sort(doc! { "updated_at": -1, "doc": 1 })
            .await
            .map_err(unavailable)?;
        let mut items = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            items.push(InboxItem::from(row::<InboxRow>(d)?));
        }
        Ok(items)
    }

    pub(super) async fn box_counts(&self, principal: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.follow().await?;
        let pipeline = vec![
            doc! { "$match": { "principal": principal } },
            doc! { "$group": { "_id": "$box", "n": { "$sum": 1 } } },
            doc! { "$sort": { "_id": 1 } },
        ];
        let mut cursor = self.coll("inbox").aggregate(pipeline).await.map_err(unavailable)?;
        let mut counts = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            let n = d.get_i32("n").map(i64::from).or_else(|_| d.get_i64("n")).unwrap_or(0);
            counts.push((text_of(&d, "_id"), n));
        }
        Ok(counts)
    }

    pub(super) async fn feed(&self, recipient: &str) -> Result<Vec<FeedEntry>, StoreError> {
        self.follow().await?;
        let mut cursor = self
            .coll("notifications")
            .find(doc! { "recipient": recipient })
            .sort(doc! { "at": -1, "_id": -1 })
            .await
            .map_err(unavailable)?;
        let mut feed = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            feed.push(FeedEntry::from(row::<NotificationRow>(d)?));
        }
        Ok(feed)
    }

    pub(super) async fn approval_view(&self, id: &str) -> Result<Option<(u64, serde_json::Value)>, StoreError> {
        self.follow().await?;
        let Some(d) = self
            .coll("approvals")
            .find_one(doc! { "_id": id })
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let document = d
            .get_document("document")
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let json = serde_json::to_value(document).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some((d.get_i64("_version").unwrap_or(0) as u64, json)))
    }

    pub(super) async fn timeline_of(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        self.follow().await?;
        let mut cursor = self
            .coll("approval_timeline")
            .find(doc! { "doc": id })
            .sort(doc! { "version": 1 })
            .await
            .map_err(unavailable)?;
        let mut entries = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            entries.push(TimelineEntry::from(row::<TimelineRow>(d)?));
        }
        Ok(entries)
    }

    pub(super) async fn search_approvals(
        &self,
        search: &ApprovalSearch,
        after: Option<&ApprovalCursor>,
        limit: usize,
    ) -> Result<Vec<ApprovalCandidate>, StoreError> {
        self.follow().await?;
        let mut filter = Document::new();
        if let Some(status) = &search.status {
            filter.insert("status", status);
        }
        if let Some(drafter) = &search.drafter {
            filter.insert("drafter", drafter);
        }
        let mut submitted = Document::new();
        if let Some(from) = &search.submitted_from {
            submitted.insert("$gte", from);
        }
        if let Some(until) = &search.submitted_until {
            submitted.insert("$lte", until);
        }
        if !submitted.is_empty() {
            filter.insert("submitted_at", submitted);
        }
        if let Some((updated_at, id)) = after {
            filter.insert(
                "$or",
                vec![
                    doc! { "updated_at": { "$lt": updated_at } },
                    doc! { "updated_at": updated_at, "_id": { "$lt": id } },
                ],
            );
        }
        if let Some(form) = &search.form {
            // `id@version`, versions being digits: every version of `id` sorts in [id@, id@~).
            filter.insert("form", doc! { "$gte": format!("{form}@"), "$lt": format!("{form}@~") });
        }
        let mut cursor = self
            .coll("approvals")
            .find(filter)
            .sort(doc! { "updated_at": -1, "_id": -1 })
            .limit(limit.min(1000) as i64)
            .await
            .map_err(unavailable)?;
        let mut found = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            let document = d
                .get_document("document")
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let json = serde_json::to_value(document).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            found.push((
                d.get_i64("_version").unwrap_or(0) as u64,
                text_of(&d, "updated_at"),
                json,
            ));
        }
        Ok(found)
    }

    pub(super) async fn checksum_views(&self) -> Result<String, StoreError> {
        let mut hasher = Sha256::new();
        for (name, rows) in self.dump_views().await? {
            for row in rows.values() {
                hasher.update(name.as_bytes());
                hasher.update(row.as_bytes());
            }
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    pub(super) async fn dump_views(&self) -> Result<Dump, StoreError> {
        self.follow().await?;
        let mut dump = Dump::new();
        for name in VIEW_COLLECTIONS {
            let rows = dump.entry(name.to_owned()).or_default();
            let mut cursor = self.coll(name).find(doc! {}).await.map_err(unavailable)?;
            while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
                let json = serde_json::to_value(&d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let key = json.get("_id").map(ToString::to_string).unwrap_or_default();
                let mut bytes = Vec::new();
                crate::eventlog::codec::canonical_json(&json, &mut bytes);
                rows.insert(key, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(dump)
    }
}
