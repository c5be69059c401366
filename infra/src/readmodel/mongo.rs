//! The approval views on MongoDB (or any MongoDB-wire server): one document per approval
//! (current state and the folded document), its timeline, inbox entries and notification
//! feeds. Rows come from the same fold as the SQL store (`sql::approval_rows`); only storage
//! differs.
//!
//! No transactions or change streams are needed (a standalone `mongod` has neither): every
//! write is an idempotent upsert keyed by a deterministic `_id`, and the approval document —
//! which carries the stream's version, hash and folded state — is written last with a filter
//! on its previous version. A crash between writes is repaired by redelivery: the guard has
//! not moved, so the commit is folded and written again, to the same ids. Checkpoints are
//! written last and only forwards (a filter on the stored offset), so an instance that lost a
//! partition mid-batch cannot wind its position back under the new owner.

use super::sql::{approval_rows, Kind, Value, TABLES};
use super::{Applied, ApprovalViews, FeedEntry, InboxItem, StoreError, TimelineEntry};
use crate::eventlog::chain::Head;
use crate::eventlog::{Checkpoint, Delivered};
use async_trait::async_trait;
use domain::approval::Inbox;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::{IndexOptions, ReplaceOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use sha2::{Digest, Sha256};
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

/// One stream's share of a batch, folded and waiting to be written.
struct Pending {
    start: Head,
    head: Head,
    state: Option<String>,
    commits: usize,
    appends: HashMap<&'static str, Vec<Document>>,
    inbox: Option<Vec<Document>>,
    approval: Option<Document>,
    published: Vec<crate::bus::Change>,
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

/// A shadow generation a replay fills before [`MongoViews::swap_in`].
#[derive(Debug, Clone)]
pub struct MongoShadow {
    database: String,
    generation: i64,
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

    fn coll(&self, name: &str) -> Collection<Document> {
        self.data
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .collection(name)
    }

    /// A row of the shared fold as a BSON document with a deterministic `_id`.
    fn document(table: &str, key_columns: usize, values: &[Value]) -> Result<Document, StoreError> {
        let (_, columns, _) = TABLES
            .iter()
            .find(|(t, _, _)| *t == table)
            .ok_or_else(|| StoreError::Corrupt(format!("no table {table}")))?;
        let mut document = Document::new();
        let mut key = Vec::new();
        for (i, ((name, kind), value)) in columns.iter().zip(values).enumerate() {
            let bson = match (value, kind) {
                (Value::Int(v), _) => Bson::Int64(*v),
                (Value::Text(None), _) => Bson::Null,
                (Value::Text(Some(json)), Kind::Text) if *name == "document" => {
                    let parsed: serde_json::Value =
                        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    mongodb::bson::to_bson(&parsed).map_err(|e| StoreError::Corrupt(e.to_string()))?
                }
                (Value::Text(Some(text)), _) => Bson::String(text.clone()),
            };
            if i < key_columns {
                key.push(match &bson {
                    Bson::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
            document.insert(*name, bson);
        }
        document.insert("_id", key.join("|"));
        Ok(document)
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

    async fn guard(&self, stream_id: &str) -> Result<(Head, Option<String>), StoreError> {
        let found = self
            .coll("approvals")
            .find_one(doc! { "_id": stream_id })
            .await
            .map_err(unavailable)?;
        Ok(match found {
            Some(d) => (
                Head {
                    version: d.get_i64("_version").unwrap_or(0) as u64,
                    hash: d.get_str("_hash").unwrap_or_default().to_owned(),
                },
                d.get_str("_state").ok().map(str::to_owned),
            ),
            None => (Head::default(), None),
        })
    }
}

fn text_of(d: &Document, key: &str) -> String {
    d.get_str(key).unwrap_or_default().to_owned()
}

#[async_trait]
impl ApprovalViews for MongoViews {
    async fn checkpoint(&self) -> Result<Checkpoint, StoreError> {
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

    async fn apply_from(
        &self,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        self.follow().await?;
        let here = self.pinned_now();
        let stored = here.checkpoint().await?;
        // Only the partitions this batch moves: other instances may hold the rest.
        let moved = super::moved_partitions(from, batch, checkpoint);
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
        here.apply(batch, &written, notify).await
    }

    async fn apply(&self, batch: &[Delivered], checkpoint: &Checkpoint, notify: bool) -> Result<Applied, StoreError> {
        if !self.pinned {
            // One batch writes to one generation, whatever a concurrent reader follows to.
            self.follow().await?;
            return self.pinned_now().apply(batch, checkpoint, notify).await;
        }
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
            let (state, rows, _, published) = approval_rows(p.state.as_deref(), delivered)?;
            p.head = Head {
                version: commit.last_version(),
                hash: commit.last_hash().to_owned(),
            };
            p.inbox = Some(Vec::new());
            for (table, key_columns, mut values) in rows {
                match table {
                    "approvals" => {
                        if let Some(last) = values.last_mut() {
                            *last = Value::Int(p.head.version as i64);
                        }
                        p.approval = Some(Self::document(table, key_columns, &values)?);
                    }
                    "inbox" => p
                        .inbox
                        .get_or_insert_with(Vec::new)
                        .push(Self::document(table, key_columns, &values)?),
                    _ => p
                        .appends
                        .entry(table)
                        .or_default()
                        .push(Self::document(table, key_columns, &values)?),
                }
            }
            p.state = Some(state);
            p.commits += 1;
            p.published.extend(published);
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

    async fn inbox(&self, principal: &str, inbox: Inbox) -> Result<Vec<InboxItem>, StoreError> {
        self.follow().await?;
        let mut cursor = self
            .coll("inbox")
            .find(doc! { "principal": principal, "box": inbox.as_str() })
            .sort(doc! { "updated_at": -1, "doc": 1 })
            .await
            .map_err(unavailable)?;
        let mut items = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            items.push(InboxItem {
                doc: text_of(&d, "doc"),
                title: text_of(&d, "title"),
                status: text_of(&d, "status"),
                drafter: text_of(&d, "drafter"),
                updated_at: text_of(&d, "updated_at"),
            });
        }
        Ok(items)
    }

    async fn inbox_counts(&self, principal: &str) -> Result<Vec<(String, i64)>, StoreError> {
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

    async fn notifications(&self, recipient: &str) -> Result<Vec<FeedEntry>, StoreError> {
        self.follow().await?;
        let mut cursor = self
            .coll("notifications")
            .find(doc! { "recipient": recipient })
            .sort(doc! { "at": -1, "_id": -1 })
            .await
            .map_err(unavailable)?;
        let mut feed = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            feed.push(FeedEntry {
                id: text_of(&d, "_id"),
                doc: text_of(&d, "doc"),
                kind: text_of(&d, "kind"),
                title: text_of(&d, "title"),
                at: text_of(&d, "at"),
                read: d.get_i64("is_read").unwrap_or(0) != 0,
            });
        }
        Ok(feed)
    }

    async fn approval(&self, id: &str) -> Result<Option<(u64, serde_json::Value)>, StoreError> {
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

    async fn timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        self.follow().await?;
        let mut cursor = self
            .coll("approval_timeline")
            .find(doc! { "doc": id })
            .sort(doc! { "version": 1 })
            .await
            .map_err(unavailable)?;
        let mut entries = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(unavailable)? {
            entries.push(TimelineEntry {
                version: d.get_i64("version").unwrap_or(0) as u64,
                event_type: text_of(&d, "event_type"),
                actor: text_of(&d, "actor"),
                at: text_of(&d, "at"),
                note: d.get_str("note").ok().map(str::to_owned),
            });
        }
        Ok(entries)
    }

    async fn shadow(&self) -> Result<(Arc<dyn ApprovalViews>, super::Shadow), StoreError> {
        let (views, shadow) = MongoViews::shadow(self).await?;
        Ok((Arc::new(views), super::Shadow::Mongo(shadow)))
    }

    async fn swap_in(&self, shadow: &super::Shadow) -> Result<u64, StoreError> {
        match shadow {
            super::Shadow::Mongo(shadow) => MongoViews::swap_in(self, shadow).await.map(|()| 0),
            other => Err(StoreError::Unavailable(format!("not a MongoDB shadow: {other:?}"))),
        }
    }

    async fn discard(&self, _: &super::Shadow) -> Result<(), StoreError> {
        // A swapped-in generation is live; a failed one is dropped by the next replay.
        Ok(())
    }

    async fn search(
        &self,
        search: &super::queries::ApprovalSearch,
        after: Option<&super::queries::ApprovalCursor>,
        limit: usize,
    ) -> Result<Vec<super::queries::ApprovalCandidate>, StoreError> {
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

    async fn checksum(&self) -> Result<String, StoreError> {
        let mut hasher = Sha256::new();
        for (name, rows) in self.dump().await? {
            for row in rows.values() {
                hasher.update(name.as_bytes());
                hasher.update(row.as_bytes());
            }
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    async fn dump(&self) -> Result<super::Dump, StoreError> {
        self.follow().await?;
        let mut dump = super::Dump::new();
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
