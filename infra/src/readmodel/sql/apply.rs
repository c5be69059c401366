//! Applying a batch of commits to the SQL read model: one transaction holding the rows, each
//! stream's guard (version, hash, folded state) and the projection's checkpoint.

use super::schema::{bound, insert_row, text_at, write_row, Bound};
use super::SqlReadModel;
use crate::eventlog::chain::Head;
use crate::eventlog::{Checkpoint, Delivered};
use crate::readmodel::fold::{fold_approval, fold_org, OrgRow};
use crate::readmodel::rows::{CheckpointRow, InboxRow, StreamGuardRow};
use crate::readmodel::{moved_partitions, Applied, Projection, StoreError};
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
        let mut outcome = Applied::default();
        let mut guards: HashMap<String, (Head, Option<String>)> = HashMap::new();
        // Rows with one current value per key are written once per batch, whatever number of
        // commits touched them; append-only rows (timeline, feed, ledger) are inserted as
        // they come: the guard passed inside this transaction, so they cannot exist yet.
        let mut current = Latest::default();
        let mut inboxes: HashMap<String, Vec<InboxRow>> = HashMap::new();
        for delivered in batch {
            let commit = &delivered.commit;
            let (head, state) = match guards.remove(&commit.stream_id) {
                Some(guard) => guard,
                None => guard(&mut tx, projection, &commit.stream_id).await?,
            };
            if commit.events.is_empty() || commit.first_version != head.version + 1 {
                outcome.skipped += 1;
                guards.insert(commit.stream_id.clone(), (head, state));
                continue;
            }
            let state = if projection == Projection::Approvals {
                let fold = fold_approval(state.as_deref(), delivered)?;
                for row in &fold.timeline {
                    insert_row(&mut tx, &bound(row)?).await?;
                }
                for row in &fold.notifications {
                    insert_row(&mut tx, &bound(row)?).await?;
                }
                if let (Some(row), Some(inbox)) = (&fold.approval, fold.inbox) {
                    current.keep(bound(row)?);
                    inboxes.insert(row.id.clone(), inbox);
                }
                if notify {
                    outcome.published.extend(fold.published);
                }
                fold.state
            } else {
                let fold = fold_org(projection, state.as_deref(), commit)?;
                for row in &fold.ledger {
                    insert_row(&mut tx, &bound(row)?).await?;
                }
                current.keep(match &fold.current {
                    OrgRow::Employee(row) => bound(row)?,
                    OrgRow::Department(row) => bound(row)?,
                    OrgRow::Delegation(row) => bound(row)?,
                    OrgRow::LeaveBalance(row) => bound(row)?,
                });
                fold.state
            };
            let head = Head {
                version: commit.last_version(),
                hash: commit.last_hash().to_owned(),
            };
            current.keep(bound(&StreamGuardRow {
                projection: projection.name().to_owned(),
                stream_id: commit.stream_id.clone(),
                version: head.version as i64,
                hash: head.hash.clone(),
                state: state.clone(),
            })?);
            outcome.applied += 1;
            guards.insert(commit.stream_id.clone(), (head, Some(state)));
        }
        for row in &current.rows {
            write_row(&mut tx, row).await?;
        }
        for (doc, rows) in inboxes {
            sqlx::query("DELETE FROM inbox WHERE doc = ?")
                .bind(doc)
                .execute(&mut *tx)
                .await?;
            for row in &rows {
                insert_row(&mut tx, &bound(row)?).await?;
            }
        }
        for (partition, next) in &written {
            let row = CheckpointRow {
                projection: projection.name().to_owned(),
                partition_no: i64::from(*partition),
                next_offset: *next as i64,
            };
            write_row(&mut tx, &bound(&row)?).await?;
        }
        tx.commit().await?;
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
            insert_row(tx, &bound(&row)?).await.map_err(|e| match e {
                StoreError::Rejected(e) => StoreError::Transient(e),
                other => other,
            })?;
        }
        Ok(written)
    }
}

/// A stream's guard as stored: the head applied and the folded state.
async fn guard(tx: &mut Tx<'_>, projection: Projection, stream_id: &str) -> Result<(Head, Option<String>), StoreError> {
    let row = sqlx::query("SELECT version, hash, state FROM erp_streams WHERE projection = ? AND stream_id = ?")
        .bind(projection.name())
        .bind(stream_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => (
            Head {
                version: r.try_get::<i64, _>(0)? as u64,
                hash: text_at(&r, 1)?.unwrap_or_default(),
            },
            text_at(&r, 2)?,
        ),
        None => (Head::default(), None),
    })
}

/// The last value of each keyed row a batch wrote, in first-written order.
#[derive(Default)]
struct Latest {
    rows: Vec<Bound>,
    at: HashMap<(&'static str, String), usize>,
}

impl Latest {
    fn keep(&mut self, row: Bound) {
        match self.at.get(&(row.table, row.key())) {
            Some(i) => self.rows[*i] = row,
            None => {
                self.at.insert((row.table, row.key()), self.rows.len());
                self.rows.push(row);
            }
        }
    }
}
