//! The approval views on MongoDB (or any MongoDB-wire server): one document per approval
//! (current state and the folded document), its timeline, inbox entries and notification
//! feeds. Rows come from the same fold as the SQL store ([`super::fold`]), written with
//! `bson::to_document`; only storage differs.
//!
//! No transactions or change streams are needed (a standalone `mongod` has neither): every
//! write is an idempotent upsert keyed by a deterministic `_id`, and the approval document —
//! which carries the stream's version, hash and folded state — is written last with a filter
//! on its previous version. A crash between writes is repaired by redelivery: the guard has
//! not moved, so the commit is folded and written again, to the same ids. Checkpoints are
//! written last and only forwards (a filter on the stored offset), so an instance that lost a
//! partition mid-batch cannot wind its position back under the new owner.

mod apply;
mod queries;

use super::queries::{ApprovalCandidate, ApprovalCursor, ApprovalSearch};
use super::rows::{FeedEntry, InboxItem, TimelineEntry};
use super::{Applied, ApprovalViews, Dump, MongoShadow, Shadow, StoreError};
use crate::eventlog::chain::Head;
use crate::eventlog::{Checkpoint, Delivered};
use async_trait::async_trait;
use domain::approval::Inbox;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::{IndexOptions, ReplaceOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

const PROJECTION: &str = "approval.views";
const VIEW_COLLECTIONS: [&str; 4] = ["approvals", "approval_timeline", "inbox", "notifications"];

/// The server refusing a write (too large a document, a validation) is the data's fault and
/// would fail again ([`StoreError::Rejected`]); anything else may pass on a retry.
fn unavailable(e: mongodb::error::Error) -> StoreError {
    use mongodb::error::ErrorKind;
    match e.kind.as_ref() {
        ErrorKind::Write(_) | ErrorKind::InsertMany(_) | ErrorKind::BsonSerialization(_) => {
            StoreError::Rejected(e.to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// Whether a guard update's write error is the data's fault, so it fails again however often
/// it is retried: a document too large to store (10334, 17419, 17420, 7655103), a value or
/// path the server refuses (2, 28, 52), a document whose `_id` would change (66), a failed
/// validation (121: only if an operator set a validator). Anything else (a primary stepping
/// down, an interrupted operation) may pass on a retry and must not step over a good commit.
///
/// Without a transaction, such a refusal comes after the batch's other rows were written and
/// other streams' guards moved: the commit stepped over leaves its timeline, feed and inbox
/// rows, and the streams the commit-by-commit pass then finds moved are not announced again.
/// The one refusal that can be seen before writing (a stream holding another document) is
/// checked then instead.
fn refused_for_its_data(code: i32) -> bool {
    matches!(code, 2 | 28 | 52 | 66 | 121 | 10334 | 17419 | 17420 | 7655103)
}

/// A duplicate-key refusal, detected by the server's error code (11000), never by message text.
fn duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w)) => w.code == 11000,
        mongodb::error::ErrorKind::Command(c) => c.code == 11000,
        _ => false,
    }
}

/// Whether a bulk insert failed only on duplicate keys (code 11000).
fn only_duplicates(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::InsertMany(failure) => {
            failure.write_concern_error.is_none()
                && failure
                    .write_errors
                    .as_ref()
                    .is_some_and(|errors| errors.iter().all(|w| w.code == 11000))
        }
        _ => duplicate_key(e),
    }
}

/// The approval views in a MongoDB database.
///
/// The data lives in one *generation*: the configured database at first, then whichever
/// database the pointer document (`erp_generation` in the configured database) names after a
/// replay swapped one in. Every call follows the pointer, so a swap — one single-document
/// write — moves every reader and writer at once.
#[derive(Debug, Clone)]
pub struct MongoViews {
    client: Client,
    base: Database,
    data: Arc<RwLock<Database>>,
    /// A replay's shadow: writes to its own database, never follows the pointer.
    pinned: bool,
}

const POINTER: &str = "erp_generation";
/// Collections of one generation.
const DATA_COLLECTIONS: [&str; 5] = [
    "approvals",
    "approval_timeline",
    "inbox",
    "notifications",
    "checkpoints",
];

impl MongoViews {
    /// Connects to `uri` and uses `database` (or the generation it points to); creates the
    /// named indexes if missing.
    pub async fn connect(uri: &str, database: &str) -> Result<Self, StoreError> {
        let client = Client::with_uri_str(uri).await.map_err(unavailable)?;
        let base = client.database(database);
        let views = Self {
            data: Arc::new(RwLock::new(base.clone())),
            client,
            base,
            pinned: false,
        };
        views.follow().await?;
        views.ensure_indexes().await?;
        Ok(views)
    }

    /// The generation the pointer names: (database, number); the configured one is 0.
    async fn pointer(&self) -> Result<(String, i64), StoreError> {
        let found = self
            .base
            .collection::<Document>(POINTER)
            .find_one(doc! { "_id": PROJECTION })
            .await
            .map_err(unavailable)?;
        Ok(match found {
            Some(d) => (text_of(&d, "database"), d.get_i64("generation").unwrap_or(0)),
            None => (self.base.name().to_owned(), 0),
        })
    }

    /// Moves to the generation the pointer names now.
    async fn follow(&self) -> Result<(), StoreError> {
        if self.pinned {
            return Ok(());
        }
        let (database, _) = self.pointer().await?;
        let mut data = self.data.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if data.name() != database {
            tracing::info!(database = %database, "approval views moved to a new generation");
            *data = self.client.database(&database);
        }
        Ok(())
    }

    /// These views, pinned to the generation they follow now.
    fn pinned_now(&self) -> Self {
        let db = self
            .data
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        Self {
            client: self.client.clone(),
            base: self.base.clone(),
            data: Arc::new(RwLock::new(db)),
            pinned: true,
        }
    }

    /// An empty next generation for a replay to fill, and views pinned to it.
    pub async fn shadow(&self) -> Result<(MongoViews, MongoShadow), StoreError> {
        let (_, generation) = self.pointer().await?;
        let shadow = MongoShadow {
            database: format!("{}_g{}", self.base.name(), generation + 1),
            generation: generation + 1,
        };
        let db = self.client.database(&shadow.database);
        db.drop().await.map_err(unavailable)?;
        let views = Self {
            client: self.client.clone(),
            base: self.base.clone(),
            data: Arc::new(RwLock::new(db)),
            pinned: true,
        };
        views.ensure_indexes().await?;
        Ok((views, shadow))
    }

    /// Points every reader and writer at the shadow generation (one document write), then
    /// drops the generation before the one replaced; the replaced one stays as a fallback.
    pub async fn swap_in(&self, shadow: &MongoShadow) -> Result<(), StoreError> {
        self.base
            .collection::<Document>(POINTER)
            .replace_one(
                doc! { "_id": PROJECTION },
                doc! { "_id": PROJECTION, "database": &shadow.database, "generation": shadow.generation },
            )
            .with_options(ReplaceOptions::builder().upsert(true).build())
            .await
            .map_err(unavailable)?;
        match shadow.generation - 2 {
            0 => {
                for name in DATA_COLLECTIONS {
                    self.base
                        .collection::<Document>(name)
                        .drop()
                        .await
                        .map_err(unavailable)?;
                }
            }
            older if older > 0 => {
                let name = format!("{}_g{older}", self.base.name());
                self.client.database(&name).drop().await.map_err(unavailable)?;
            }
            _ => {}
        }
        self.follow().await
    }

    async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let index = |keys: Document, name: &str| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().name(name.to_owned()).build())
                .build()
        };
        self.coll("inbox")
            .create_index(index(
                doc! { "principal": 1, "box": 1, "updated_at": -1 },
                "inbox_by_principal",
            ))
            .await
            .map_err(unavailable)?;
        self.coll("inbox")
            .create_index(index(doc! { "doc": 1 }, "inbox_by_doc"))
            .await
            .map_err(unavailable)?;
        self.coll("approval_timeline")
            .create_index(index(doc! { "doc": 1, "version": 1 }, "timeline_by_doc"))
            .await
            .map_err(unavailable)?;
        self.coll("notifications")
            .create_index(index(doc! { "recipient": 1, "at": -1 }, "feed_by_recipient"))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The generation these views write to now.
    fn database(&self) -> Database {
        self.data
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn coll(&self, name: &str) -> Collection<Document> {
        self.data
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .collection(name)
    }

    /// Inserts rows with deterministic ids; rows a crashed earlier attempt already wrote are
    /// recognised by their duplicate key and kept.
    async fn insert_all(&self, collection: &str, documents: Vec<Document>) -> Result<(), StoreError> {
        if documents.is_empty() {
            return Ok(());
        }
        match self.coll(collection).insert_many(documents).ordered(false).await {
            Ok(_) => Ok(()),
            Err(e) if only_duplicates(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Each stream's guard — the head its document was written at and its folded state — a
    /// few hundred per request; streams without a document are missing.
    async fn guards(&self, stream_ids: &[String]) -> Result<HashMap<String, (Head, Option<String>)>, StoreError> {
        let mut guards = HashMap::new();
        for chunk in stream_ids.chunks(500) {
            let mut found = self
                .coll("approvals")
                .find(doc! { "_id": { "$in": chunk } })
                .projection(doc! { "_version": 1, "_hash": 1, "_state": 1 })
                .await
                .map_err(unavailable)?;
            while let Some(d) = found.try_next().await.map_err(unavailable)? {
                let head = Head {
                    version: d.get_i64("_version").unwrap_or(0) as u64,
                    hash: d.get_str("_hash").unwrap_or_default().to_owned(),
                };
                guards.insert(text_of(&d, "_id"), (head, d.get_str("_state").ok().map(str::to_owned)));
            }
        }
        Ok(guards)
    }
}

fn text_of(d: &Document, key: &str) -> String {
    d.get_str(key).unwrap_or_default().to_owned()
}

#[async_trait]
impl ApprovalViews for MongoViews {
    async fn checkpoint(&self) -> Result<Checkpoint, StoreError> {
        self.stored_checkpoint().await
    }

    async fn apply(&self, batch: &[Delivered], checkpoint: &Checkpoint, notify: bool) -> Result<Applied, StoreError> {
        self.apply_batch(batch, checkpoint, notify).await
    }

    async fn apply_from(
        &self,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        self.apply_batch_from(from, batch, checkpoint, notify).await
    }

    async fn inbox(&self, principal: &str, inbox: Inbox) -> Result<Vec<InboxItem>, StoreError> {
        self.inbox_items(principal, inbox).await
    }

    async fn inbox_counts(&self, principal: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.box_counts(principal).await
    }

    async fn notifications(&self, recipient: &str) -> Result<Vec<FeedEntry>, StoreError> {
        self.feed(recipient).await
    }

    async fn approval(&self, id: &str) -> Result<Option<(u64, serde_json::Value)>, StoreError> {
        self.approval_view(id).await
    }

    async fn timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        self.timeline_of(id).await
    }

    async fn search(
        &self,
        search: &ApprovalSearch,
        after: Option<&ApprovalCursor>,
        limit: usize,
    ) -> Result<Vec<ApprovalCandidate>, StoreError> {
        self.search_approvals(search, after, limit).await
    }

    async fn checksum(&self) -> Result<String, StoreError> {
        self.checksum_views().await
    }

    async fn dump(&self) -> Result<Dump, StoreError> {
        self.dump_views().await
    }
    async fn shadow(&self) -> Result<(Arc<dyn ApprovalViews>, Shadow), StoreError> {
        let (views, shadow) = MongoViews::shadow(self).await?;
        Ok((Arc::new(views), Shadow::Mongo(shadow)))
    }

    async fn swap_in(&self, shadow: &Shadow) -> Result<u64, StoreError> {
        match shadow {
            Shadow::Mongo(shadow) => MongoViews::swap_in(self, shadow).await.map(|()| 0),
            other => Err(StoreError::Unavailable(format!("not a MongoDB shadow: {other:?}"))),
        }
    }

    async fn discard(&self, _: &Shadow) -> Result<(), StoreError> {
        // A swapped-in generation is live; a failed one is dropped by the next replay.
        Ok(())
    }
}
