//! What one instance asks the owner of a partition over `/internal/log`, and what the owner
//! answers: plain data of the log's own types, so that the log's port ([`super::EventLog`])
//! can serve it whatever carries it.

use super::chain::Head;
use super::{Appended, EventLogError, NewCommit, RecordedEvent, StreamRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The heads an owner holds for one partition, and up to which offset it has applied rule R
/// (`erp verify` compares them with the log's at that offset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerHeads {
    pub instance_id: String,
    /// The next offset the owner will apply: its heads cover every record below.
    pub applied_to: u64,
    /// Stream id → (version, hash).
    pub heads: BTreeMap<String, (u64, String)>,
}

impl OwnerHeads {
    pub fn head(&self, stream_id: &str) -> Head {
        self.heads
            .get(stream_id)
            .map(|(version, hash)| Head {
                version: *version,
                hash: hash.clone(),
            })
            .unwrap_or_default()
    }
}

/// What a forwarded request asks the owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Forwarded {
    Append {
        commit: NewCommit,
    },
    FindCommand {
        stream: StreamRef,
        command_id: uuid::Uuid,
    },
    ReadStream {
        stream: StreamRef,
    },
    /// The stream's version as the owner holds it, without its history: the asker folds a
    /// state it kept at that version instead of having the history sent.
    StreamVersion {
        stream: StreamRef,
    },
    /// The owner's heads of one partition.
    Heads {
        stream_type: String,
        partition: u32,
    },
}

impl Forwarded {
    /// What is asked, as a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Forwarded::Append { .. } => "append",
            Forwarded::FindCommand { .. } => "find_command",
            Forwarded::ReadStream { .. } => "read_stream",
            Forwarded::StreamVersion { .. } => "stream_version",
            Forwarded::Heads { .. } => "heads",
        }
    }
}

/// The owner's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum ForwardedAnswer {
    Appended {
        result: Result<Appended, EventLogError>,
    },
    Found {
        result: Result<Option<Appended>, EventLogError>,
    },
    Stream {
        result: Result<Vec<RecordedEvent>, EventLogError>,
    },
    /// `None`: the owner does not know it without a read (not restored yet, or moved away).
    Version {
        result: Result<Option<u64>, EventLogError>,
    },
    Heads {
        result: Result<OwnerHeads, EventLogError>,
    },
    /// The request came on a stale announcement: this instance does not hold the partition
    /// and did nothing. The sender waits for a newer announcement and sends it there.
    NotOwner {
        partition: u32,
    },
}
