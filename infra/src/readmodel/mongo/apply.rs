//! Applying a batch to the MongoDB views without a transaction: append-only rows and the
//! inbox first, the guarded approval document last, the checkpoint only forwards (see the
//! module above for why that is safe).

use super::{duplicate_key, unavailable, MongoViews, PROJECTION};
use crate::eventlog::chain::Head;
use crate::eventlog::{Checkpoint, Delivered};
use crate::readmodel::fold::{document_rows, fold_approval_events, restore, DocumentRows};
use crate::readmodel::rows::{ApprovalRow, NotificationRow, TableRow, TimelineRow};
use crate::readmodel::{moved_partitions, Applied, StoreError};
use domain::approval::Approval;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReplaceOptions;
use std::collections::HashMap;

/// One stream's share of a batch, folded and waiting to be written.
struct Pending {
    start: Head,
    head: Head,
    /// The aggregate, folded across the batch; its rows are built after its last commit.
    approval: Approval,
    commits: usize,
    published: Vec<crate::readmodel::fold::Change>,
}

/// Statements of one command: at most 500, and at most 8 MiB of documents (a command may hold
/// 16 MiB; each statement carries a whole folded document).
fn by_size<'a>(approvals: &'a [(&'a String, u64, Document)]) -> Vec<&'a [(&'a String, u64, Document)]> {
    const MAX_STATEMENTS: usize = 500;
    const MAX_BYTES: usize = 8 * 1024 * 1024;
    crate::readmodel::cut_by_size(approvals, MAX_STATEMENTS, MAX_BYTES, |(_, _, approval)| {
        mongodb::bson::to_vec(approval).map_or(0, |b| b.len())
    })
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
        // Fold every commit of a stream in the batch first, then write a few requests for the
        // whole batch: append-only rows, the inbox rows, and last each stream's guarded
        // approval document (a stream's guard always moves after its other rows).
        let mut outcome = Applied::default();
        let mut order: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for delivered in batch {
            if seen.insert(delivered.commit.stream_id.as_str()) {
                order.push(delivered.commit.stream_id.clone());
            }
        }
        let mut guards = self.guards(&order).await?;
        let mut pending: HashMap<String, Pending> = HashMap::new();
        let mut appends: HashMap<&'static str, Vec<Document>> = HashMap::new();
        for delivered in batch {
            let commit = &delivered.commit;
            let p = match pending.entry(commit.stream_id.clone()) {
                std::collections::hash_map::Entry::Occupied(p) => p.into_mut(),
                std::collections::hash_map::Entry::Vacant(p) => {
                    let (head, state) = guards.remove(&commit.stream_id).unwrap_or_default();
                    p.insert(Pending {
                        start: head.clone(),
                        head,
                        approval: restore(state.as_deref())?,
                        commits: 0,
                        published: Vec::new(),
                    })
                }
            };
            if commit.events.is_empty() || commit.first_version != p.head.version + 1 {
                outcome.skipped += 1;
                continue;
            }
            let fold = fold_approval_events(&mut p.approval, delivered, notify)?;
            p.head = Head {
                version: commit.last_version(),
                hash: commit.last_hash().to_owned(),
            };
            for row in &fold.timeline {
                appends.entry(TimelineRow::TABLE).or_default().push(document(row)?);
            }
            for row in &fold.notifications {
                appends.entry(NotificationRow::TABLE).or_default().push(document(row)?);
            }
            p.commits += 1;
            p.published.extend(fold.published);
        }
        let mut approvals = Vec::new();
        let mut inboxes = Vec::new();
        for stream_id in &order {
            let Some(p) = pending.get(stream_id).filter(|p| p.commits > 0) else {
                continue;
            };
            let DocumentRows { state, current } = document_rows(&p.approval, p.head.version)?;
            let Some((row, inbox)) = current else { continue };
            if row.id != *stream_id {
                // The view is kept under its stream's id. A stream holding another document
                // (only a hand-made log can) is refused before anything of the batch is
                // written, so stepping over its commit leaves no row of it behind.
                return Err(StoreError::Rejected(format!(
                    "stream {stream_id} holds document {}; its view is kept under the stream's id",
                    row.id
                )));
            }
            let mut approval = approval_document(&row)?;
            approval.insert("_version", p.head.version as i64);
            approval.insert("_hash", p.head.hash.clone());
            approval.insert("_state", state);
            approvals.push((stream_id, p.start.version, approval));
            for row in &inbox {
                inboxes.push(document(row)?);
            }
        }
        for (table, documents) in appends {
            self.insert_all(table, documents).await?;
        }
        for chunk in approvals.chunks(500) {
            let streams: Vec<&String> = chunk.iter().map(|(stream_id, _, _)| *stream_id).collect();
            self.coll("inbox")
                .delete_many(doc! { "doc": { "$in": streams } })
                .await
                .map_err(unavailable)?;
        }
        self.insert_all("inbox", inboxes).await?;
        // The guards move last, each only from the version this batch started from: one
        // `update` command of many statements, unordered. A statement refused as a duplicate
        // key is a stream another writer moved first: its commits count as skipped.
        let mut refused = std::collections::HashSet::new();
        for chunk in by_size(&approvals) {
            let updates: Vec<Document> = chunk
                .iter()
                .map(|(stream_id, start, approval)| {
                    doc! {
                        "q": { "_id": *stream_id, "_version": *start as i64 },
                        "u": approval.clone(),
                        "upsert": true,
                    }
                })
                .collect();
            // A command is not a retryable write and takes no write concern from the client:
            // it asks for a majority itself, and a write-concern failure fails the batch.
            let answer = self
                .database()
                .run_command(doc! {
                    "update": "approvals",
                    "updates": updates,
                    "ordered": false,
                    "writeConcern": { "w": "majority" },
                })
                .await
                .map_err(unavailable)?;
            if let Ok(failure) = answer.get_document("writeConcernError") {
                return Err(StoreError::Unavailable(format!("writing approvals: {failure:?}")));
            }
            for error in answer.get_array("writeErrors").map(Vec::as_slice).unwrap_or_default() {
                let error = error.as_document();
                let code = error.and_then(|e| e.get_i32("code").ok());
                let index = error.and_then(|e| e.get_i32("index").ok());
                match (code, index.and_then(|i| chunk.get(i as usize))) {
                    (Some(11000), Some((stream_id, _, _))) => {
                        refused.insert((*stream_id).clone());
                    }
                    // The batch is applied again commit by commit, stepping over the one refused.
                    (Some(code), _) if super::refused_for_its_data(code) => {
                        return Err(StoreError::Rejected(format!("writing approvals: {error:?}")))
                    }
                    _ => return Err(StoreError::Unavailable(format!("writing approvals: {error:?}"))),
                }
            }
        }
        for stream_id in &order {
            let Some(p) = pending.remove(stream_id) else { continue };
            if refused.contains(stream_id) {
                outcome.skipped += p.commits;
                continue;
            }
            outcome.applied += p.commits;
            outcome.published.extend(p.published);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A catch-up batch moves thousands of guards, each with its whole document: the command
    /// carrying them must stay under MongoDB's 16 MiB, or the batch fails on every retry.
    #[test]
    fn guard_updates_are_cut_by_count_and_by_size() {
        let id = "doc".to_owned();
        let small: Vec<_> = (0..1_201).map(|i| (&id, i, doc! { "n": i as i64 })).collect();
        let sizes: Vec<usize> = by_size(&small).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);
        let text = "가".repeat(1024 * 1024 / 3);
        let large: Vec<_> = (0..20).map(|i| (&id, i, doc! { "document": text.clone() })).collect();
        let chunks = by_size(&large);
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 20);
        for chunk in chunks {
            let bytes: usize = chunk
                .iter()
                .map(|(_, _, d)| mongodb::bson::to_vec(d).unwrap().len())
                .sum();
            assert!(bytes <= 8 * 1024 * 1024, "{bytes} bytes in one command");
        }
    }
}
