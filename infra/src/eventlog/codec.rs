//! The wire format, defined once: a commit record as JSON (readable by any Kafka tool), its
//! record key, the canonical bytes the hash chain is computed over, and the conversion to
//! [`RecordedEvent`] envelopes (with upcasting).
//!
//! ## Changing the envelope (rolling upgrades)
//!
//! During a rolling upgrade old and new binaries read the same partitions, and rule R only
//! holds if they decode the same records: a reader that skips a record another reader accepts
//! has a different head from then on. So the envelope may only grow, and readers tolerate
//! what they do not know:
//!
//! - **Unknown fields are ignored** on decode, at the commit and at the event level (no
//!   `deny_unknown_fields`). A new field must be optional for new readers too (`#[serde(default)]`),
//!   since old records lack it. Renaming, removing or retyping a field is not additive: it needs
//!   every reader upgraded before the first writer (stop the writers, upgrade, start).
//! - **The hash covers a fixed set of fields**, listed in [`CommitRecord::hash_of`]; an added
//!   field is *not* covered. Old and new readers then compute the same hash over the same
//!   canonical bytes, and R (which compares stored `prev_hash`/`hash` fields, never a
//!   recomputed hash) decides alike on both. The price: an added field is not tamper-evident,
//!   and an old binary drops it when it re-encodes a record (`erp export`, then `erp import`).
//!   What must be tamper-evident belongs in the payload, which the hash covers and
//!   `schema_version` versions. Covering a new envelope field would change the hash format:
//!   old verifiers would report every new event as `hash_mismatch`, so that is a coordinated
//!   change, not a rolling one.

use super::{EventLogError, NewCommit, Position, RecordedEvent, StreamRef, Upcasters};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// `prev_hash` of a stream's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Kafka headers every record carries, so tools can route and trace without parsing JSON.
pub mod headers {
    pub const STREAM_TYPE: &str = "erp-stream-type";
    pub const STREAM_ID: &str = "erp-stream-id";
    pub const COMMAND_ID: &str = "erp-command-id";
    pub const CORRELATION_ID: &str = "erp-correlation-id";
    pub const TRACEPARENT: &str = "traceparent";
}

/// A record delivered by a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub partition: u32,
    pub offset: u64,
    pub commit: CommitRecord,
}

/// A record delivered as it is stored, not decoded
/// ([`Subscription::next_records`](super::Subscription::next_records)).
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveredRecord {
    pub partition: u32,
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// One log record: a commit of 1..n events of one stream. Fields a newer writer added are
/// ignored on decode (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub commit_id: Uuid,
    pub stream_type: String,
    pub stream_id: String,
    pub first_version: u64,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub actor: Option<String>,
    pub recorded_at: DateTime<Utc>,
    #[serde(default)]
    pub traceparent: Option<String>,
    pub events: Vec<EventRecord>,
}

/// One event inside a commit. Fields a newer writer added are ignored on decode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub event_id: Uuid,
    pub version: u64,
    pub event_type: String,
    pub schema_version: u16,
    pub payload: Value,
    pub prev_hash: String,
    pub hash: String,
}

impl CommitRecord {
    /// Builds the record for `commit` on top of a stream head (version, hash).
    pub fn build(commit: &NewCommit, head_version: u64, head_hash: &str, recorded_at: DateTime<Utc>) -> Self {
        let mut record = CommitRecord {
            commit_id: Uuid::now_v7(),
            stream_type: commit.stream.stream_type.clone(),
            stream_id: commit.stream.stream_id.clone(),
            first_version: head_version + 1,
            command_id: commit.command_id,
            correlation_id: commit.correlation_id,
            causation_id: commit.causation_id,
            actor: commit.actor.clone(),
            recorded_at,
            traceparent: commit.traceparent.clone(),
            events: Vec::with_capacity(commit.events.len()),
        };
        let mut prev = head_hash.to_owned();
        for (i, event) in commit.events.iter().enumerate() {
            // Stored with its keys sorted, the payload's bytes are its canonical form, so
            // `erp verify` hashes them as stored (see `stored`).
            let mut payload = event.payload.clone();
            payload.sort_all_objects();
            let mut e = EventRecord {
                event_id: Uuid::now_v7(),
                version: head_version + 1 + i as u64,
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
                payload,
                prev_hash: prev,
                hash: String::new(),
            };
            e.hash = record.hash_of(&e);
            prev = e.hash.clone();
            record.events.push(e);
        }
        record
    }

    /// The answer to the append that wrote this record at `position`.
    pub fn appended_at(&self, position: Position) -> super::Appended {
        super::Appended {
            stream: self.stream(),
            command_id: self.command_id,
            commit_id: self.commit_id,
            first_version: self.first_version,
            last_version: self.last_version(),
            position,
            duplicate: false,
        }
    }

    pub fn stream(&self) -> StreamRef {
        StreamRef::new(self.stream_type.clone(), self.stream_id.clone())
    }

    pub fn last_version(&self) -> u64 {
        self.first_version + self.events.len().saturating_sub(1) as u64
    }

    pub fn last_hash(&self) -> &str {
        self.events.last().map(|e| e.hash.as_str()).unwrap_or(GENESIS_HASH)
    }

    pub fn first_prev_hash(&self) -> &str {
        self.events
            .first()
            .map(|e| e.prev_hash.as_str())
            .unwrap_or(GENESIS_HASH)
    }

    /// The record key: unique per commit, so compaction never drops history.
    pub fn key(&self) -> String {
        format!("{}@{}#{}", self.stream_id, self.first_version, self.commit_id)
    }

    pub fn encode(&self) -> Result<Vec<u8>, EventLogError> {
        serde_json::to_vec(self).map_err(|e| EventLogError::Codec(e.to_string()))
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EventLogError> {
        serde_json::from_slice(bytes).map_err(|e| EventLogError::Codec(e.to_string()))
    }

    /// SHA-256 (hex) over the canonical bytes of one event's envelope and payload.
    ///
    /// Covered: actor, causation, command and correlation ids, event id and type, payload,
    /// `prev_hash`, recorded-at, schema version, stream id and type, version. Not covered:
    /// `commit_id`, `first_version` (each event's own version is), `traceparent`, and any
    /// field added to the envelope later (see the module docs).
    ///
    /// The envelope is written straight into the buffer with its keys in sorted order —
    /// the same bytes `canonical_json` gives for the envelope as a JSON object, without
    /// building (and cloning the payload into) one.
    pub fn hash_of(&self, e: &EventRecord) -> String {
        let mut bytes = Vec::with_capacity(512);
        let recorded_at = self.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let field = |bytes: &mut Vec<u8>, first: bool, key: &str| {
            if !first {
                bytes.push(b',');
            }
            bytes.push(b'"');
            bytes.extend_from_slice(key.as_bytes());
            bytes.extend_from_slice(b"\":");
        };
        bytes.push(b'{');
        field(&mut bytes, true, "actor");
        write_scalar(&mut bytes, &self.actor);
        field(&mut bytes, false, "causation_id");
        write_scalar(&mut bytes, &self.causation_id);
        field(&mut bytes, false, "command_id");
        write_scalar(&mut bytes, &self.command_id);
        field(&mut bytes, false, "correlation_id");
        write_scalar(&mut bytes, &self.correlation_id);
        field(&mut bytes, false, "event_id");
        write_scalar(&mut bytes, &e.event_id);
        field(&mut bytes, false, "event_type");
        write_scalar(&mut bytes, &e.event_type);
        field(&mut bytes, false, "payload");
        canonical_json(&e.payload, &mut bytes);
        field(&mut bytes, false, "prev_hash");
        write_scalar(&mut bytes, &e.prev_hash);
        field(&mut bytes, false, "recorded_at");
        write_scalar(&mut bytes, &recorded_at);
        field(&mut bytes, false, "schema_version");
        write_scalar(&mut bytes, &e.schema_version);
        field(&mut bytes, false, "stream_id");
        write_scalar(&mut bytes, &self.stream_id);
        field(&mut bytes, false, "stream_type");
        write_scalar(&mut bytes, &self.stream_type);
        field(&mut bytes, false, "version");
        write_scalar(&mut bytes, &e.version);
        bytes.push(b'}');
        hex::encode(Sha256::digest(&bytes))
    }

    /// Events as envelopes, upcast to their current schema versions.
    pub fn to_recorded(&self, position: &Position, upcasters: &Upcasters) -> Result<Vec<RecordedEvent>, EventLogError> {
        self.events
            .iter()
            .map(|e| {
                let (schema_version, payload) = upcasters.upcast(&e.event_type, e.schema_version, e.payload.clone())?;
                Ok(RecordedEvent {
                    event_id: e.event_id,
                    stream: self.stream(),
                    version: e.version,
                    event_type: e.event_type.clone(),
                    schema_version,
                    stored_schema_version: e.schema_version,
                    recorded_at: self.recorded_at,
                    actor: self.actor.clone(),
                    command_id: self.command_id,
                    correlation_id: self.correlation_id,
                    causation_id: self.causation_id,
                    commit_id: self.commit_id,
                    payload,
                    prev_hash: e.prev_hash.clone(),
                    hash: e.hash.clone(),
                    position: position.clone(),
                })
            })
            .collect()
    }
}

/// Writes JSON with object keys sorted at every level and no whitespace: the canonical form
/// the hash chain is computed over, independent of map ordering in any library.
pub fn canonical_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(out, key);
                out.push(b':');
                canonical_json(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(out, scalar),
    }
}

/// A scalar as serde_json writes it (strings escaped, numbers as serde_json prints them).
fn write_scalar<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::{ExpectedVersion, NewEvent};

    fn record() -> CommitRecord {
        let commit = NewCommit {
            stream: StreamRef::new("doc", "doc-1"),
            expected: ExpectedVersion::NoStream,
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: Some("tester".into()),
            traceparent: None,
            events: vec![NewEvent {
                event_type: "doc.noted".into(),
                schema_version: 1,
                payload: serde_json::json!({ "n": 1 }),
            }],
        };
        CommitRecord::build(&commit, 0, GENESIS_HASH, Utc::now())
    }

    /// During a rolling upgrade old readers meet records of newer writers. An added envelope
    /// field must not make them skip a commit the new readers accept (that forks rule R).
    #[test]
    fn a_record_with_envelope_fields_added_by_a_newer_writer_decodes_with_its_hash_intact() {
        let original = record();
        let mut json = serde_json::to_value(&original).unwrap();
        json["tenant"] = "acme".into();
        json["events"][0]["signature"] = serde_json::json!({ "alg": "ed25519" });
        let decoded = CommitRecord::decode(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(decoded, original, "added fields are ignored, known ones kept");
        assert_eq!(decoded.hash_of(&decoded.events[0]), original.events[0].hash);
    }
}
