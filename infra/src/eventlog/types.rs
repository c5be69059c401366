//! Types of the event-log port: what goes in, what comes out, where it is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

/// A stream: its type (one topic per type) and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamRef {
    pub stream_type: String,
    pub stream_id: String,
}

impl StreamRef {
    pub fn new(stream_type: impl Into<String>, stream_id: impl Into<String>) -> Self {
        Self {
            stream_type: stream_type.into(),
            stream_id: stream_id.into(),
        }
    }
}

impl fmt::Display for StreamRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.stream_type, self.stream_id)
    }
}

/// What the writer expects the stream's current version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check (process managers whose commands are idempotent by themselves).
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be exactly at this version.
    Exact(u64),
}

impl ExpectedVersion {
    pub fn admits(self, current: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exact(v) => v == current,
        }
    }
}

/// One event to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub event_type: String,
    pub schema_version: u16,
    pub payload: serde_json::Value,
}

impl NewEvent {
    /// Serialises a domain event with its stable type name and schema version.
    pub fn from_domain<E: Serialize + domain::EventType>(event: &E) -> Result<Self, EventLogError> {
        Ok(Self {
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: serde_json::to_value(event).map_err(|e| EventLogError::Codec(e.to_string()))?,
        })
    }
}

/// One command's commit: 1..n events of one stream, appended atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCommit {
    pub stream: StreamRef,
    pub expected: ExpectedVersion,
    /// Client command id (Idempotency-Key): a retry returns the first result.
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub actor: Option<String>,
    /// W3C `traceparent`, carried as a Kafka header too.
    pub traceparent: Option<String>,
    pub events: Vec<NewEvent>,
}

impl NewCommit {
    /// `events` of domain type `E` for `stream` at `expected`, as a command of its own (fresh
    /// command and correlation ids, no actor or trace): what seeds, fixtures and benches write.
    pub fn of<E: Serialize + domain::EventType>(
        stream: StreamRef,
        expected: ExpectedVersion,
        events: &[E],
    ) -> Result<Self, EventLogError> {
        Ok(Self {
            stream,
            expected,
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: None,
            traceparent: None,
            events: events.iter().map(NewEvent::from_domain).collect::<Result<_, _>>()?,
        })
    }
}

/// Where a commit is: stream type, partition, offset. Comparable within a partition, so a
/// query can wait until a projection has passed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    pub stream_type: String,
    pub partition: u32,
    pub offset: u64,
}

impl Position {
    /// Opaque token form: `type:partition:offset`.
    pub fn token(&self) -> String {
        format!("{}:{}:{}", self.stream_type, self.partition, self.offset)
    }

    pub fn parse_token(token: &str) -> Option<Self> {
        let mut parts = token.rsplitn(3, ':');
        let offset = parts.next()?.parse().ok()?;
        let partition = parts.next()?.parse().ok()?;
        let stream_type = parts.next()?.to_owned();
        (!stream_type.is_empty()).then_some(Self {
            stream_type,
            partition,
            offset,
        })
    }

    /// Whether a reader whose next offsets are `checkpoint` has processed this position.
    pub fn reached_by(&self, checkpoint: &Checkpoint) -> bool {
        checkpoint.get(&self.partition).is_some_and(|next| *next > self.offset)
    }
}

/// Partition → next offset to read.
pub type Checkpoint = BTreeMap<u32, u64>;

/// The answer to an append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub stream: StreamRef,
    pub command_id: Uuid,
    pub commit_id: Uuid,
    pub first_version: u64,
    pub last_version: u64,
    pub position: Position,
    /// True when this was a retry of a command already in the log: nothing was appended.
    pub duplicate: bool,
}

/// One event as read back, with its full envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub event_id: Uuid,
    pub stream: StreamRef,
    pub version: u64,
    pub event_type: String,
    /// The schema version after upcasting (the stored one is in `stored_schema_version`).
    pub schema_version: u16,
    pub stored_schema_version: u16,
    pub recorded_at: DateTime<Utc>,
    pub actor: Option<String>,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub commit_id: Uuid,
    pub payload: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
    pub position: Position,
}

/// Errors of the event log. Each says what the command API answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum EventLogError {
    /// 409: the stream is not at the expected version.
    #[error("expected version {expected:?} but the stream is at {actual}")]
    Conflict { expected: ExpectedVersion, actual: u64 },
    /// 400: a commit must hold 1..=1000 events.
    #[error("a commit holds 1..=1000 events")]
    EmptyOrHugeCommit,
    /// 409: the command id was already used for a different stream.
    #[error("command id {0} was already used for another stream")]
    CommandIdReused(Uuid),
    /// 503: the log cannot take writes now (broker down, partition moving, shutting down).
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    /// 500: a record could not be encoded or decoded.
    #[error("event codec: {0}")]
    Codec(String),
    /// 500: the log on disk or in the broker is damaged.
    #[error("event log corrupt: {0}")]
    Corrupt(String),
    /// 500
    #[error("event log I/O: {0}")]
    Io(String),
    /// The broker's topics do not fit this instance's settings (partition count, cleanup
    /// policy, replication); the instance refuses to start rather than fork streams.
    #[error("event log misconfigured: {0}")]
    Misconfigured(String),
}

impl From<std::io::Error> for EventLogError {
    fn from(e: std::io::Error) -> Self {
        EventLogError::Io(e.to_string())
    }
}
