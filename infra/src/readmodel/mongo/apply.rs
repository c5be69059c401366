//! Applying a batch to the MongoDB views without a transaction: append-only rows and the
//! inbox first, the guarded approval document last, the checkpoint only forwards (see the
//! module above for why that is safe).

use super::{duplicate_key, unavailable, MongoViews, PROJECTION};
use crate::eventlog::chain::Head;
use crate::eventlog::{Checkpoint, Delivered};
use crate::readmodel::fold::fold_approval;
use crate::readmodel::rows::{ApprovalRow, NotificationRow, TableRow, TimelineRow};
use crate::readmodel::{moved_partitions, Applied, StoreError};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReplaceOptions;
use std::collections::HashMap;

/// One stream's share of a batch, folded and waiting to be written.
struct Pending {
    start: Head,
    head: Head,
    state: Option<String>,
    commits: usize,
    appends: HashMap<&'static str, Vec<Document>>,
    inbox: Option<Vec<Document>>,
    approval: Option<Document>,
    published: Vec<crate::readmodel::fold::Change>,
}

impl Pending {
    fn new(head: Head, state: Option<String>) -> Self {
        Self {
            start: head.clone(),
            head,
            state,
            commits: 0,
            appends: HashMap::new(),
            inbox: None,
            approval: None,
            published: Vec::new(),
        }
    }
}

/// A typed row as a BSON document, with a deterministic `_id` from its key columns.
pub(super) fn document<R: TableRow>(row: &R) -> Result<Document, StoreError> {
    let mut document = mongodb::bson::to_document(row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let key: Vec<String> = R::KEY
        .iter()
        .map(|k| match document.get(*k) {
            Some(Bson::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        })
        .collect();
    document.insert("_id", key.join("|"));
    Ok(document)
}

/// An approval row with its folded document stored as a subdocument, not as JSON text.
fn approval_document(row: &ApprovalRow) -> Result<Document, StoreError> {
    let mut document = document(row)?;
    let parsed: serde_json::Value =
        serde_json::from_str(&row.document).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let parsed = mongodb::bson::to_bson(&parsed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    document.insert("document", parsed);
    Ok(document)
}

impl MongoViews {
    pub(super) async fn stored_checkpoint(&self) -> Result<Checkpoint, StoreError> {
        self.follow().await?;
        let mut cursor = self
            .coll("checkpoints")
            .find(doc! { "projection": PROJECTION })
            .await
            .map_err(unavailable)?;
        let mut checkpoint = Checkpoint::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            checkpoint.insert(
                d.get_i64("partition").unwrap_or(0) as u32,
                d.get_i64("next_offset").unwrap_or(0) as u64,
            );
        }
        Ok(checkpoint)
    }

    pub(super) async fn apply_batch_from(
        &self,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        self.follow().await?;
        let here = self.pinned_now();
        let stored = here.stored_checkpoint().await?;
        // Only the partitions this batch moves: other instances may hold the rest.
        let moved = moved_partitions(from, batch, checkpoint);
        let at = |c: &Checkpoint, p: &u32| c.get(p).copied().unwrap_or(0);
        if let Some(p) = moved.iter().find(|p| at(&stored, p) != at(from, p)) {
            return Err(StoreError::Moved(format!(
                "{PROJECTION} partition {p} is stored at {}, the batch starts at {}",
                at(&stored, p),
                at(from, p)
            )));
        }
        let mut written = checkpoint.clone();
        written.retain(|p, _| moved.contains(p));
        here.apply_batch(batch, &written, notify).await
    }

    pub(super) async fn apply_batch(
        &self,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        if !self.pinned {
            // One batch writes to one generation, whatever a concurrent reader follows to.
            self.follow().await?;
            return self.pinned_now().apply_pinned(batch, checkpoint, notify).await;
        }
        self.apply_pinned(batch, checkpoint, notify).await
    }

    /// [`Self::apply_batch`] on the generation these views are pinned to.
    async fn apply_pinned(
        &self,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        // Fold every commit of a stream in the batch first, then write once per stream:
        // append-only rows, the stream's inbox rows, and last the guarded approval document.
        let mut outcome = Applied::default();
        let mut order: Vec<String> = Vec::new();
        let mut pending: HashMap<String, Pending> = HashMap::new();
        for delivered in batch {
            let commit = &delivered.commit;
            if !pending.contains_key(&commit.stream_id) {
                let (head, state) = self.guard(&commit.stream_id).await?;
                order.push(commit.stream_id.clone());
                pending.insert(commit.stream_id.clone(), Pending::new(head, state));
            }
            let Some(p) = pending.get_mut(&commit.stream_id) else {
                continue;
            };
            if commit.events.is_empty() || commit.first_version != p.head.version + 1 {
                outcome.skipped += 1;
                continue;
            }
            let fold = fold_approval(p.state.as_deref(), delivered)?;
            p.head = Head {
                version: commit.last_version(),
                hash: commit.last_hash().to_owned(),
            };
            for row in &fold.timeline {
                p.appends.entry(TimelineRow::TABLE).or_default().push(document(row)?);
            }
            for row in &fold.notifications {
                p.appends
                    .entry(NotificationRow::TABLE)
                    .or_default()
                    .push(document(row)?);
            }
            if let Some(row) = &fold.approval {
                p.approval = Some(approval_document(row)?);
            }
            if let Some(inbox) = &fold.inbox {
                p.inbox = Some(inbox.iter().map(document).collect::<Result<_, _>>()?);
            }
            p.state = Some(fold.state);
            p.commits += 1;
            p.published.extend(fold.published);
        }
        for stream_id in order {
            let Some(p) = pending.remove(&stream_id) else { continue };
            if p.commits == 0 {
                continue;
            }
            for (table, documents) in p.appends {
                self.insert_all(table, documents).await?;
            }
            if let Some(inbox) = p.inbox {
                self.coll("inbox")
                    .delete_many(doc! { "doc": &stream_id })
                    .await
                    .map_err(unavailable)?;
                self.insert_all("inbox", inbox).await?;
            }
            if let Some(mut approval) = p.approval {
                approval.insert("_version", p.head.version as i64);
                approval.insert("_hash", p.head.hash.clone());
                approval.insert("_state", p.state.clone().unwrap_or_default());
                // The guard moves last, and only from the version this batch started from.
                let written = self
                    .coll("approvals")
                    .replace_one(doc! { "_id": &stream_id, "_version": p.start.version as i64 }, approval)
                    .with_options(ReplaceOptions::builder().upsert(true).build())
                    .await;
                match written {
                    Ok(_) => {}
                    Err(e) if duplicate_key(&e) => {
                        outcome.skipped += p.commits;
                        continue;
                    }
                    Err(e) => return Err(unavailable(e)),
                }
            }
            outcome.applied += p.commits;
            if notify {
                outcome.published.extend(p.published);
            }
        }
        for (partition, next) in checkpoint {
            // Never backwards: without a transaction, an instance that lost the partition
            // while writing may come after its new owner; the later position stays.
            let id = format!("{PROJECTION}|{partition}");
            let written = self
                .coll("checkpoints")
                .replace_one(
                    doc! { "_id": &id, "next_offset": { "$lte": *next as i64 } },
                    doc! { "_id": &id, "projection": PROJECTION, "partition": *partition as i64, "next_offset": *next as i64 },
                )
                .with_options(ReplaceOptions::builder().upsert(true).build())
                .await;
            match written {
                Ok(_) => {}
                Err(e) if duplicate_key(&e) => {
                    tracing::info!(partition, "checkpoint already past this batch; left where it is");
                }
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(outcome)
    }
}
