//! Applying a batch of commits to the SQL read model: one transaction holding the rows, each
//! stream's guard (version, hash, folded state) and the projection's checkpoint.
//!
//! The fold and the store work side by side: rows written once go out a statement at a time
//! while the rest of the batch is still being folded (on SQLite the connection's own thread
//! inserts them; on MariaDB the server does), and what has one current value per key is
//! written once the fold is done. Nothing is visible before the commit, so a batch that fails
//! half way leaves nothing behind.

use super::schema::{
    bound, bound_in, insert_row, insert_rows, replace_rows, rows_per_statement, text_at, Bound, Value,
    GUARDS_WITH_STATE,
};
use super::SqlReadModel;
use crate::eventlog::chain::Head;
use crate::eventlog::{Checkpoint, Delivered};
use crate::readmodel::fold::org::{notice_table, org_changes};
use crate::readmodel::fold::{document_rows, fold_approval_events, fold_org, restore, Change, DocumentRows, OrgRow};
use crate::readmodel::rows::{CheckpointRow, InboxRow, StreamGuardRow};
use crate::readmodel::{moved_partitions, Applied, Projection, StoreError};
use domain::approval::Approval;
use sqlx::Row;
use std::collections::HashMap;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

impl SqlReadModel {
    /// Applies a batch of commits and moves the checkpoint, in one transaction. Each stream
    /// takes a commit only at its next version (rule R, and idempotent under redelivery).
    pub async fn apply(
        &self,
        projection: Projection,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
    ) -> Result<Applied, StoreError> {
        self.apply_with(projection, batch, checkpoint, true).await
    }

    /// As [`Self::apply_with`] for a follower whose batch starts at `from`: refused with
    /// [`StoreError::Moved`], writing nothing, unless the stored checkpoint is still `from`
    /// (checked inside the transaction, so a replay's swap cannot slip in between).
    pub async fn apply_from(
        &self,
        projection: Projection,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        self.apply_retrying(projection, Some(from), batch, checkpoint, notify)
            .await
    }

    /// As [`Self::apply`]; `notify = false` (replays) rebuilds feed rows but reports none as
    /// new, so nothing is pushed to subscribers again.
    pub async fn apply_with(
        &self,
        projection: Projection,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        self.apply_retrying(projection, None, batch, checkpoint, notify).await
    }

    async fn apply_retrying(
        &self,
        projection: Projection,
        from: Option<&Checkpoint>,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        // A deadlock between two projections' transactions rolls one back whole; run it again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(projection, from, batch, checkpoint, notify).await {
                Err(StoreError::Transient(e)) if attempt < 5 => {
                    tracing::debug!(projection = projection.name(), error = %e, "retrying a transient conflict");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn apply_once(
        &self,
        projection: Projection,
        from: Option<&Checkpoint>,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
        notify: bool,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.pool.begin().await?;
        let written = match from {
            Some(from) => {
                self.claim_positions(&mut tx, projection, from, batch, checkpoint)
                    .await?
            }
            None => checkpoint.clone(),
        };
        let guards = guards(&mut tx, projection, batch).await?;
        // Rows written once go to the store a statement at a time while the rest of the batch
        // is still being folded: the store's connection inserts them as this task folds on.
        let (statements, queued) = tokio::sync::mpsc::channel(STATEMENTS_AHEAD);
        let (folded, inserted) = tokio::join!(
            fold_batch(projection, batch, guards, notify, Appender::new(statements)),
            insert_queued(&mut tx, queued),
        );
        // A fold stops when the inserts fail; their error is the one that says why.
        inserted?;
        let Folded {
            mut outcome,
            current,
            replaced_inboxes,
        } = folded?;
        for rows in current.into_tables().into_values() {
            replace_rows(&mut tx, rows).await?;
        }
        let replaced: Vec<&str> = replaced_inboxes.iter().map(|(doc, _)| doc.as_str()).collect();
        for chunk in replaced.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("DELETE FROM inbox WHERE doc IN ({marks})");
            let mut delete = sqlx::query(&sql);
            for doc in chunk {
                delete = delete.bind(*doc);
            }
            delete.execute(&mut *tx).await?;
        }
        let inbox_rows = replaced_inboxes
            .iter()
            .flat_map(|(_, rows)| rows.iter().map(bound))
            .collect::<Result<Vec<_>, _>>()?;
        insert_rows(&mut tx, inbox_rows).await?;
        let positions = written
            .iter()
            .map(|(partition, next)| {
                bound(&CheckpointRow {
                    projection: projection.name().to_owned(),
                    partition_no: i64::from(*partition),
                    next_offset: *next as i64,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        replace_rows(&mut tx, positions).await?;
        departments_of_people(&mut tx, &mut outcome.published).await?;
        let committed = tx.commit().await;
        self.wrote();
        committed?;
        Ok(outcome)
    }

    /// A follower's claim on the partitions its batch moves: refused with
    /// [`StoreError::Moved`] unless each is still stored at `from`; returns the positions
    /// this transaction writes (only those partitions: other instances may hold the rest).
    async fn claim_positions(
        &self,
        tx: &mut Tx<'_>,
        projection: Projection,
        from: &Checkpoint,
        batch: &[Delivered],
        checkpoint: &Checkpoint,
    ) -> Result<Checkpoint, StoreError> {
        let moved = moved_partitions(from, batch, checkpoint);
        let mut written = checkpoint.clone();
        written.retain(|p, _| moved.contains(p));
        if moved.is_empty() {
            return Ok(written);
        }
        // Locks these partitions' rows (MySQL), so a concurrent swap or another instance
        // writing the same partition waits for this batch, then finds it moved.
        let lock = if self.mysql { " FOR UPDATE" } else { "" };
        let marks = vec!["?"; moved.len()].join(", ");
        let sql = format!(
            "SELECT partition_no, next_offset FROM erp_checkpoints WHERE projection = ? AND partition_no IN ({marks}){lock}"
        );
        let mut query = sqlx::query(&sql).bind(projection.name());
        for p in &moved {
            query = query.bind(*p as i64);
        }
        let stored = query
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get::<i64, _>(0)? as u32, r.try_get::<i64, _>(1)? as u64)))
            .collect::<Result<Checkpoint, sqlx::Error>>()?;
        let at = |c: &Checkpoint, p: &u32| c.get(p).copied().unwrap_or(0);
        if let Some(p) = moved.iter().find(|p| at(&stored, p) != at(from, p)) {
            return Err(StoreError::Moved(format!(
                "{} partition {p} is stored at {}, the batch starts at {}",
                projection.name(),
                at(&stored, p),
                at(from, p)
            )));
        }
        // A partition's first position: its row is created now, so a second writer of the
        // same partition waits for this transaction (rather than both finding no row), and
        // its retry then finds the partition moved.
        for p in moved.iter().filter(|p| !stored.contains_key(p)) {
            let row = CheckpointRow {
                projection: projection.name().to_owned(),
                partition_no: i64::from(*p),
                next_offset: 0,
            };
            insert_row(tx, bound(&row)?).await.map_err(|e| match e {
                StoreError::Rejected(e) => StoreError::Transient(e),
                other => other,
            })?;
        }
        Ok(written)
    }
}

/// What folding a batch leaves to write after its rows written once: rows with one current
/// value per key, and the inbox rows of documents that had some before.
struct Folded {
    outcome: Applied,
    current: Latest,
    replaced_inboxes: Vec<(String, Vec<InboxRow>)>,
}

/// Folds a batch into its rows: those written once (timeline, feed, ledger, and a new
/// stream's rows) go to `appended` as they come; the rest is returned. Each stream takes a
/// commit only at its next version past its guard.
async fn fold_batch(
    projection: Projection,
    batch: &[Delivered],
    mut guards: HashMap<String, (Head, Option<String>)>,
    notify: bool,
    mut appended: Appender,
) -> Result<Folded, StoreError> {
    let mut outcome = Applied::default();
    // A stream without a guard has no rows yet (its guard is written with them, in one
    // transaction): its rows are inserted without deleting first.
    let stored: std::collections::HashSet<String> = guards.keys().cloned().collect();
    // Rows with one current value per key are written once per batch, whatever number of
    // commits touched them; append-only rows (timeline, feed, ledger) as they came — the
    // guard passed inside this transaction, so they cannot exist yet.
    let mut current = Latest::default();
    let mut replaced_inboxes: Vec<(String, Vec<InboxRow>)> = Vec::new();
    // Approval aggregates folded in this batch, by stream, in first-touched order.
    let mut documents: Vec<(String, Approval)> = Vec::new();
    let mut document_at: HashMap<String, usize> = HashMap::new();
    for delivered in batch {
        let commit = &delivered.commit;
        let (head, state) = guards.remove(&commit.stream_id).unwrap_or_default();
        if commit.events.is_empty() || commit.first_version != head.version + 1 {
            outcome.skipped += 1;
            guards.insert(commit.stream_id.clone(), (head, state));
            continue;
        }
        let head = Head {
            version: commit.last_version(),
            hash: commit.last_hash().to_owned(),
        };
        if projection == Projection::Approvals {
            // The aggregate stays folded across the batch: its state, list row and inbox
            // rows are built once, after the stream's last commit in it.
            let at = match document_at.get(&commit.stream_id) {
                Some(at) => *at,
                None => {
                    documents.push((commit.stream_id.clone(), restore(state.as_deref())?));
                    document_at.insert(commit.stream_id.clone(), documents.len() - 1);
                    documents.len() - 1
                }
            };
            let approval = &mut documents[at].1;
            let fold = fold_approval_events(approval, delivered, notify)?;
            for row in &fold.timeline {
                appended.push(bound(row)?).await?;
            }
            for row in &fold.notifications {
                appended.push(bound(row)?).await?;
            }
            outcome.published.extend(fold.published);
            outcome.applied += 1;
            guards.insert(commit.stream_id.clone(), (head, None));
            continue;
        }
        let state = {
            let fold = fold_org(projection, state.as_deref(), commit)?;
            for row in &fold.ledger {
                appended.push(bound(row)?).await?;
            }
            if let Some(table) = notice_table(projection) {
                for row in &fold.notices {
                    appended.push(bound_in(table, row)?).await?;
                }
            }
            if notify {
                outcome.published.extend(org_changes(projection, delivered, &fold));
            }
            let row = match &fold.current {
                OrgRow::Employee(row) => Some(bound(row)?),
                OrgRow::Department(row) => Some(bound(row)?),
                OrgRow::Delegation(row) => Some(bound(row)?),
                OrgRow::LeaveBalance(row) => Some(bound(row)?),
                OrgRow::AttendanceDay(row) => Some(bound(row)?),
                OrgRow::FeedRead(row) => Some(bound(row)?),
                OrgRow::Quest(row, participants) => {
                    for participant in participants {
                        current.keep(bound(participant)?);
                    }
                    row.as_ref().map(bound).transpose()?
                }
            };
            if let Some(row) = row {
                current.keep(row);
            }
            fold.state
        };
        current.keep(bound(&StreamGuardRow {
            projection: projection.name().to_owned(),
            stream_id: commit.stream_id.clone(),
            version: head.version as i64,
            hash: head.hash.clone(),
            state: Some(state.clone()),
        })?);
        outcome.applied += 1;
        guards.insert(commit.stream_id.clone(), (head, Some(state)));
    }
    for (stream_id, approval) in &documents {
        let Some((head, _)) = guards.get(stream_id) else {
            continue;
        };
        let DocumentRows { state, current: rows } = document_rows(approval, head.version)?;
        let guard = bound(&StreamGuardRow {
            projection: projection.name().to_owned(),
            stream_id: stream_id.clone(),
            version: head.version as i64,
            hash: head.hash.clone(),
            // A document's row holds the aggregate's JSON (`document_rows`): the guard
            // keeps it only when there is no row (read back by `GUARDS_WITH_STATE`).
            state: rows.is_none().then_some(state),
        })?;
        let new = !stored.contains(stream_id);
        match rows {
            Some((row, inbox)) if new => {
                appended.push(bound(&row)?).await?;
                for row in &inbox {
                    appended.push(bound(row)?).await?;
                }
            }
            Some((row, inbox)) => {
                current.keep(bound(&row)?);
                replaced_inboxes.push((row.id, inbox));
            }
            None => {}
        }
        if new {
            appended.push(guard).await?;
        } else {
            current.keep(guard);
        }
    }
    appended.finish().await?;
    Ok(Folded {
        outcome,
        current,
        replaced_inboxes,
    })
}

/// The stored guards — head applied and folded state — of every stream in the batch, read
/// with one statement per few hundred streams. Streams without one are new. An approval's
/// state is its document row's JSON when the guard keeps none ([`GUARDS_WITH_STATE`]).
async fn guards(
    tx: &mut Tx<'_>,
    projection: Projection,
    batch: &[Delivered],
) -> Result<HashMap<String, (Head, Option<String>)>, StoreError> {
    let mut ids: Vec<&str> = batch.iter().map(|d| d.commit.stream_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut guards = HashMap::new();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("{GUARDS_WITH_STATE} WHERE s.projection = ? AND s.stream_id IN ({marks})");
        let mut query = sqlx::query(&sql).bind(projection.name());
        for id in chunk {
            query = query.bind(id.to_string());
        }
        for r in query.fetch_all(&mut **tx).await? {
            let head = Head {
                version: r.try_get::<i64, _>(2)? as u64,
                hash: text_at(&r, 3)?.unwrap_or_default(),
            };
            guards.insert(text_at(&r, 1)?.unwrap_or_default(), (head, text_at(&r, 4)?));
        }
    }
    Ok(guards)
}

/// Statements of rows written once a fold may have queued ahead of the store.
const STATEMENTS_AHEAD: usize = 4;

/// Rows written once, by table, in the order they came: each table's rows go to the store
/// as soon as they fill a statement.
struct Appender {
    by_table: std::collections::BTreeMap<&'static str, Vec<Bound>>,
    statements: tokio::sync::mpsc::Sender<Vec<Bound>>,
}

impl Appender {
    fn new(statements: tokio::sync::mpsc::Sender<Vec<Bound>>) -> Self {
        Self {
            by_table: Default::default(),
            statements,
        }
    }

    async fn push(&mut self, row: Bound) -> Result<(), StoreError> {
        let per_statement = rows_per_statement(row.values.len());
        let rows = self.by_table.entry(row.table).or_default();
        rows.push(row);
        if rows.len() >= per_statement {
            let full = std::mem::take(rows);
            self.send(full).await?;
            // Lets the inserts take the statement while this task folds on.
            tokio::task::yield_now().await;
        }
        Ok(())
    }

    /// Queues what is left of every table.
    async fn finish(mut self) -> Result<(), StoreError> {
        let left = std::mem::take(&mut self.by_table).into_values();
        for rows in left.filter(|rows| !rows.is_empty()) {
            self.send(rows).await?;
        }
        Ok(())
    }

    async fn send(&self, rows: Vec<Bound>) -> Result<(), StoreError> {
        // Closed only when the inserts failed; the caller reports their error.
        self.statements
            .send(rows)
            .await
            .map_err(|_| StoreError::Transient("the batch's inserts stopped".into()))
    }
}

/// Inserts the statements a fold queues, in the order they come, until it is done.
async fn insert_queued(tx: &mut Tx<'_>, mut queued: tokio::sync::mpsc::Receiver<Vec<Bound>>) -> Result<(), StoreError> {
    while let Some(rows) = queued.recv().await {
        insert_rows(tx, rows).await?;
    }
    Ok(())
}

/// The last value of each keyed row a batch wrote, in first-written order.
#[derive(Default)]
struct Latest {
    rows: Vec<Bound>,
    at: HashMap<(&'static str, Vec<Value>), usize>,
}

impl Latest {
    /// The rows to write, by table.
    fn into_tables(self) -> std::collections::BTreeMap<&'static str, Vec<Bound>> {
        let mut tables: std::collections::BTreeMap<&'static str, Vec<Bound>> = Default::default();
        for row in self.rows {
            tables.entry(row.table).or_default().push(row);
        }
        tables
    }

    fn keep(&mut self, row: Bound) {
        match self.at.entry((row.table, row.key().to_vec())) {
            std::collections::hash_map::Entry::Occupied(at) => self.rows[*at.get()] = row,
            std::collections::hash_map::Entry::Vacant(at) => {
                at.insert(self.rows.len());
                self.rows.push(row);
            }
        }
    }
}

/// Fills in each attendance change's `departments`: those of its people as the employee rows
/// say now (one query for the batch), so a notifier routes it to their heads without a read
/// of its own. Leave and quest changes are not for heads: they stay without.
async fn departments_of_people(tx: &mut Tx<'_>, changes: &mut [Change]) -> Result<(), StoreError> {
    let mut people: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Hr { topic, people, .. } if topic == "attendance" => Some(people.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect();
    people.sort();
    people.dedup();
    let mut departments: HashMap<String, String> = HashMap::new();
    for chunk in people.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("SELECT id, department FROM employees WHERE id IN ({marks}) AND department IS NOT NULL");
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id.clone());
        }
        for row in query.fetch_all(&mut **tx).await? {
            departments.insert(row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?);
        }
    }
    for change in changes {
        if let Change::Hr {
            topic,
            people,
            departments: of_people,
            ..
        } = change
        {
            if topic != "attendance" {
                continue;
            }
            *of_people = people.iter().filter_map(|p| departments.get(p).cloned()).collect();
            of_people.sort();
            of_people.dedup();
        }
    }
    Ok(())
}
