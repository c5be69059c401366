//! Where a request is served: this instance's writers, or the announced owner it is
//! forwarded to; and the reads and appends an owner serves from its own writers.

use super::*;

/// One request's search for the instance that writes a partition: until when it may wait,
/// and the announcement whose owner already answered that it does not hold the partition (a
/// stale announcement: refused at once there, so the sender waits for the next one instead of
/// answering 503 while the current owner's announcement is on its way).
pub(super) struct WriterSearch {
    deadline: tokio::time::Instant,
    refused: Option<u64>,
}

impl WriterSearch {
    pub(super) fn new(wait: Duration) -> Self {
        Self {
            deadline: tokio::time::Instant::now() + wait,
            refused: None,
        }
    }

    pub(super) fn refused_by(&mut self, (_, heard): (owners::Owner, u64)) {
        self.refused = Some(heard);
    }
}

impl KafkaLog {
    /// Appends here when this instance holds the stream's partition, else on its announced
    /// owner ([`EventLog::append`], which times it).
    pub(super) async fn append_anywhere(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        if commit.events.is_empty() || commit.events.len() > 1000 {
            return Err(EventLogError::EmptyOrHugeCommit);
        }
        if !self.config.stream_types.contains(&commit.stream.stream_type) {
            return Err(EventLogError::Codec(format!(
                "unknown stream type {:?}",
                commit.stream.stream_type
            )));
        }
        let partition = partition_for(&commit.stream.stream_id, self.config.partitions);
        let mut writer = WriterSearch::new(self.config.ownership_wait);
        loop {
            let Some(owner) = self.writer_of(&commit.stream.stream_type, partition, &writer).await? else {
                return self.append_here(partition, commit).await;
            };
            let request = owners::Forwarded::Append { commit: commit.clone() };
            match self.forward(&owner.0, request).await? {
                owners::ForwardedAnswer::Appended { result } => return result,
                owners::ForwardedAnswer::NotOwner { .. } => writer.refused_by(owner),
                _ => return Err(EventLogError::Unavailable("owner answered another request".into())),
            }
        }
    }

    /// Where a write to a partition goes: `None` when this instance holds the partition (or
    /// cannot forward), else its announced owner and which announcement named it. While the
    /// partition is between owners — revoked from one, not yet restored and announced by the
    /// next — or announced only by an owner that already refused it, it waits for either, up
    /// to the search's deadline, rather than betting on a partition the group never gave here.
    pub(super) async fn writer_of(
        &self,
        stream_type: &str,
        partition: u32,
        search: &WriterSearch,
    ) -> Result<Option<(owners::Owner, u64)>, EventLogError> {
        loop {
            if self.writers.holds(stream_type, partition) || self.config.internal_token.is_none() {
                return Ok(None);
            }
            if let Some(owner) = self
                .remote_announcement(stream_type, partition)
                .filter(|(_, heard)| search.refused != Some(*heard))
            {
                return Ok(Some(owner));
            }
            if tokio::time::Instant::now() >= search.deadline {
                return Err(EventLogError::Unavailable(format!(
                    "no instance owns {stream_type}/{partition} yet; retry"
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The announced owner of a partition, when it is another instance and this one does not
    /// own the partition itself.
    pub(super) fn remote_owner(&self, stream_type: &str, partition: u32) -> Option<owners::Owner> {
        self.remote_announcement(stream_type, partition).map(|(owner, _)| owner)
    }

    /// [`Self::remote_owner`] with which record of the owners topic announced it.
    pub(super) fn remote_announcement(&self, stream_type: &str, partition: u32) -> Option<(owners::Owner, u64)> {
        if self.writers.owns(stream_type, partition) {
            return None;
        }
        self.owners
            .announcement(stream_type, partition)
            .filter(|(o, _)| o.instance_id != self.config.instance_id)
    }

    pub(super) async fn forward(
        &self,
        owner: &owners::Owner,
        request: owners::Forwarded,
    ) -> Result<owners::ForwardedAnswer, EventLogError> {
        let kind = request.kind();
        let answer = self.forwarder.forward(owner, &request).await;
        let result = match &answer {
            Ok(owners::ForwardedAnswer::NotOwner { .. }) => "not_owner",
            Ok(_) => "ok",
            Err(_) => "error",
        };
        metrics::counter!("erp_eventlog_forwarded_total", "request" => kind, "result" => result).increment(1);
        answer
    }

    /// A stream's whole history without forwarding: from the writer's memory when it holds all
    /// of it, otherwise read from the partition up to its end with rule R (and kept in memory
    /// when this instance owns the partition, so the next read is served from there).
    pub(super) async fn read_here(
        &self,
        stream: &StreamRef,
        partition: u32,
    ) -> Result<Vec<RecordedEvent>, EventLogError> {
        let commits = self.history_here(stream, partition).await?;
        commits
            .iter()
            .map(|(offset, record)| {
                record.to_recorded(&self.position(&stream.stream_type, partition, *offset), &self.upcasters)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.into_iter().flatten().collect())
    }

    /// Appends on this instance's writer. A command id is answered with its first result
    /// however long ago it was acknowledged, as on the embedded log: an owner restored from
    /// snapshots remembers only each stream's recent command ids, so when it does not hold a
    /// stream's whole history it reads it once (then keeps it) and looks there first.
    pub(super) async fn append_here(&self, partition: u32, commit: NewCommit) -> Result<Appended, EventLogError> {
        if let Some(first) = self
            .find_in_history(&commit.stream, partition, commit.command_id)
            .await?
        {
            return Ok(first);
        }
        let headers = record_headers(&commit);
        self.writers.append(partition, commit, headers).await
    }

    /// The first answer to a command id: from the writer's memory, else from the stream's
    /// history (see [`Self::append_here`]).
    pub(super) async fn find_command_here(
        &self,
        stream: &StreamRef,
        partition: u32,
        command_id: uuid::Uuid,
    ) -> Result<Option<Appended>, EventLogError> {
        if let Some(found) = self.writers.find_command(stream, partition, command_id).await? {
            return Ok(Some(found));
        }
        self.find_in_history(stream, partition, command_id).await
    }

    /// Looks a command id up in the stream's accepted history when the writer does not hold
    /// that history in memory (what it holds, it has checked already). Commits the tail applies
    /// after the read are in the writer's memory, so the two together cover the whole log.
    pub(super) async fn find_in_history(
        &self,
        stream: &StreamRef,
        partition: u32,
        command_id: uuid::Uuid,
    ) -> Result<Option<Appended>, EventLogError> {
        if self.writers.holds_history(stream, partition) {
            return Ok(None);
        }
        let history = self.history_here(stream, partition).await?;
        Ok(history
            .iter()
            .find(|(_, record)| record.command_id == command_id)
            .map(|(offset, record)| Appended {
                duplicate: true,
                ..record.appended_at(self.position(&stream.stream_type, partition, *offset))
            }))
    }

    /// A stream's accepted commits with their offsets; see [`Self::read_here`].
    pub(super) async fn history_here(
        &self,
        stream: &StreamRef,
        partition: u32,
    ) -> Result<Vec<(u64, Arc<CommitRecord>)>, EventLogError> {
        Ok(match self.writers.cached_stream(stream, partition) {
            Some(cached) => cached,
            None => {
                let this = self.clone();
                let wanted = stream.clone();
                let from = self.writers.first_offset(stream, partition).unwrap_or(0);
                let (read, high) = tokio::task::spawn_blocking(move || {
                    let prefix = format!("{}@", wanted.stream_id);
                    let mut heads = super::super::chain::StreamHeads::default();
                    let mut read = Vec::new();
                    let high = this.scan_partition(&wanted.stream_type, partition, from, |offset, key, payload| {
                        if !key.starts_with(prefix.as_bytes()) {
                            return Ok(());
                        }
                        let record = CommitRecord::decode(payload)?;
                        if record.stream_id == wanted.stream_id
                            && heads.admit(&record) == super::super::chain::Admission::Accepted
                        {
                            read.push((offset, Arc::new(record)));
                        }
                        Ok(())
                    })?;
                    Ok::<_, EventLogError>((read, high))
                })
                .await
                .map_err(|e| EventLogError::Unavailable(e.to_string()))??;
                self.writers.adopt_read(stream, partition, read, high)
            }
        })
    }

    pub(super) fn position(&self, stream_type: &str, partition: u32, offset: u64) -> Position {
        Position {
            stream_type: stream_type.to_owned(),
            partition,
            offset,
        }
    }
}
