//! A commit as stored, borrowed from its record's bytes: what `erp verify` judges the chain
//! on without building a [`CommitRecord`](super::codec::CommitRecord) (no `Value` trees, no owned strings).
//!
//! The hash is checked over the stored bytes themselves. Every field the hash covers is kept
//! as the raw JSON the writer wrote ([`RawValue`]), and those bytes are already the canonical
//! spelling [`CommitRecord::hash_of`](super::codec::CommitRecord::hash_of) writes: serde_json escapes strings and prints numbers
//! one way, and [`CommitRecord::build`](super::codec::CommitRecord::build) stores payloads with their object keys sorted. So the
//! canonical input is the stored fields spliced between the sorted keys ([`Self::intact`]),
//! and only `recorded_at` is re-spelled (stored with as many fraction digits as it needs,
//! hashed with nine).
//!
//! A record written before payloads were stored sorted, or bytes spelled any other way, gives
//! a different input and fails this check; the caller then judges the whole record the usual
//! way (decoded, with [`CommitRecord::hash_of`](super::codec::CommitRecord::hash_of)), so this
//! is only a fast way to a "yes". [`StoredCommit::parse`] is as strict as decoding (ids,
//! dates, strings, numbers and depth are checked as a decode checks them), so a record that
//! would not decode never takes the fast way. A "yes" means the stored bytes are exactly the
//! bytes the hash was computed over; every record a writer builds is spelled canonically, so
//! for them both ways agree. A forger who computes a hash over other spellings of the same
//! content gains nothing he could not do with the canonical ones.

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use uuid::Uuid;

/// A commit record borrowed from its stored bytes. The same fields [`CommitRecord`](super::codec::CommitRecord) decodes,
/// with the hashed ones raw.
#[derive(Debug, Deserialize)]
pub struct StoredCommit<'a> {
    pub commit_id: Uuid,
    #[serde(borrow)]
    stream_type: &'a RawValue,
    #[serde(borrow)]
    stream_id: &'a RawValue,
    pub first_version: u64,
    #[serde(borrow)]
    command_id: &'a RawValue,
    #[serde(borrow)]
    correlation_id: &'a RawValue,
    #[serde(borrow)]
    causation_id: &'a RawValue,
    #[serde(borrow)]
    actor: &'a RawValue,
    #[serde(borrow)]
    recorded_at: &'a RawValue,
    #[serde(default, borrow)]
    pub traceparent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub events: Vec<StoredEvent<'a>>,
}

/// One event of a [`StoredCommit`].
#[derive(Debug, Deserialize)]
pub struct StoredEvent<'a> {
    #[serde(borrow)]
    event_id: &'a RawValue,
    pub version: u64,
    #[serde(borrow)]
    event_type: &'a RawValue,
    pub schema_version: u16,
    #[serde(borrow)]
    payload: &'a RawValue,
    #[serde(borrow)]
    pub prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    pub hash: Cow<'a, str>,
}

impl<'a> StoredCommit<'a> {
    /// Borrows a commit from a record's bytes, or `None` when they do not read as one (the
    /// caller decodes them the usual way to say why). The string fields are checked to be
    /// strings and the ids UUIDs, as decoding a [`CommitRecord`](super::codec::CommitRecord) checks them.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let commit: Self = serde_json::from_slice(bytes).ok()?;
        let is_uuid = |raw: &RawValue| unquote(raw).is_some_and(|id| Uuid::try_parse(&id).is_ok());
        let valid = unquote(commit.stream_type).is_some()
            && unquote(commit.stream_id).is_some()
            && is_uuid(commit.command_id)
            && is_uuid(commit.correlation_id)
            && (commit.causation_id.get() == "null" || is_uuid(commit.causation_id))
            && (commit.actor.get() == "null" || unquote(commit.actor).is_some())
            && serde_json::from_str::<chrono::DateTime<chrono::Utc>>(commit.recorded_at.get()).is_ok()
            && commit.events.iter().all(|e| {
                is_uuid(e.event_id)
                    && unquote(e.event_type).is_some()
                    && serde_json::from_str::<Checked>(e.payload.get()).is_ok()
            });
        valid.then_some(commit)
    }

    pub fn stream_type(&self) -> Cow<'a, str> {
        unquote(self.stream_type).unwrap_or_default()
    }

    pub fn stream_id(&self) -> Cow<'a, str> {
        unquote(self.stream_id).unwrap_or_default()
    }

    pub fn has_command_id(&self) -> bool {
        unquote(self.command_id)
            .and_then(|id| Uuid::try_parse(&id).ok())
            .is_some_and(|id| !id.is_nil())
    }

    /// Whether `event`'s stored hash is the SHA-256 of its stored fields in canonical order
    /// (see the module docs). `scratch` is reused between calls.
    pub fn intact(&self, event: &StoredEvent<'_>, scratch: &mut Vec<u8>) -> bool {
        scratch.clear();
        let key = |scratch: &mut Vec<u8>, key: &str| {
            scratch.extend_from_slice(if key == "actor" { b"{\"" } else { b",\"" });
            scratch.extend_from_slice(key.as_bytes());
            scratch.extend_from_slice(b"\":");
        };
        let field = |scratch: &mut Vec<u8>, name: &str, value: &str| {
            key(scratch, name);
            scratch.extend_from_slice(value.as_bytes());
        };
        field(scratch, "actor", self.actor.get());
        field(scratch, "causation_id", self.causation_id.get());
        field(scratch, "command_id", self.command_id.get());
        field(scratch, "correlation_id", self.correlation_id.get());
        field(scratch, "event_id", event.event_id.get());
        field(scratch, "event_type", event.event_type.get());
        field(scratch, "payload", event.payload.get());
        key(scratch, "prev_hash");
        write_json(scratch, &*event.prev_hash);
        key(scratch, "recorded_at");
        if !write_nanos(self.recorded_at.get(), scratch) {
            return false;
        }
        key(scratch, "schema_version");
        write_json(scratch, &event.schema_version);
        field(scratch, "stream_id", self.stream_id.get());
        field(scratch, "stream_type", self.stream_type.get());
        key(scratch, "version");
        write_json(scratch, &event.version);
        scratch.push(b'}');
        let digest = Sha256::digest(&scratch[..]);
        let mut hex = [0u8; 64];
        hex::encode_to_slice(digest, &mut hex).is_ok() && hex[..] == *event.hash.as_bytes()
    }
}

impl StoredEvent<'_> {
    /// The payload's JSON as stored.
    pub fn payload(&self) -> &str {
        self.payload.get()
    }

    pub fn event_type(&self) -> Cow<'_, str> {
        unquote(self.event_type).unwrap_or_default()
    }
}

/// Any JSON value, read only to check that it decodes as a `serde_json::Value` would — numbers
/// in range, escapes valid, nesting within the depth limit — without building it. (Skipping a
/// value, as `RawValue` and `IgnoredAny` do, checks less.)
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// A JSON string's text, borrowed when it has no escapes; `None` when `raw` is not a string.
fn unquote(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// A value as serde_json writes it, as the canonical form spells it.
fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Writes a stored `recorded_at` (`"YYYY-MM-DDTHH:MM:SS[.f…]Z"`, fraction digits as needed)
/// with nine fraction digits, as the hash covers it, into `out`. Anything else is read as a
/// date and spelled again; false when it is none.
fn write_nanos(raw: &str, out: &mut Vec<u8>) -> bool {
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let text = raw.strip_prefix('"').and_then(|t| t.strip_suffix("Z\""));
    if let Some((seconds, fraction)) = text.filter(|t| t.len() >= 19).and_then(|t| t.split_at_checked(19)) {
        let digits = fraction.strip_prefix('.').unwrap_or(fraction);
        let shaped = seconds.as_bytes()[4] == b'-' && seconds.as_bytes()[10] == b'T' && plain(&seconds[..4]);
        if shaped && (fraction.is_empty() || fraction.starts_with('.')) && digits.len() <= 9 && plain(digits) {
            out.push(b'"');
            out.extend_from_slice(seconds.as_bytes());
            out.push(b'.');
            out.extend_from_slice(digits.as_bytes());
            out.extend(std::iter::repeat_n(b'0', 9 - digits.len()));
            out.extend_from_slice(b"Z\"");
            return true;
        }
    }
    let Ok(at) = serde_json::from_str::<chrono::DateTime<chrono::Utc>>(raw) else {
        return false;
    };
    write_json(out, &at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::codec::CommitRecord;
    use crate::eventlog::codec::GENESIS_HASH;
    use crate::eventlog::{ExpectedVersion, NewCommit, NewEvent, StreamRef};
    use chrono::{TimeZone, Utc};

    fn commit(payload: serde_json::Value, actor: Option<&str>, at: chrono::DateTime<Utc>) -> CommitRecord {
        let commit = NewCommit {
            stream: StreamRef::new("doc", "doc-\"1\""),
            expected: ExpectedVersion::NoStream,
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: Some(Uuid::now_v7()),
            actor: actor.map(str::to_owned),
            traceparent: None,
            events: vec![
                NewEvent {
                    event_type: "doc.noted".into(),
                    schema_version: 1,
                    payload,
                },
                NewEvent {
                    event_type: "doc.closed".into(),
                    schema_version: 2,
                    payload: serde_json::json!({}),
                },
            ],
        };
        CommitRecord::build(&commit, 0, GENESIS_HASH, at)
    }

    fn intact_all(record: &CommitRecord) -> Vec<bool> {
        let bytes = record.encode().unwrap();
        let stored = StoredCommit::parse(&bytes).expect("a written record parses");
        let mut scratch = Vec::new();
        stored.events.iter().map(|e| stored.intact(e, &mut scratch)).collect()
    }

    #[test]
    fn every_record_the_writer_builds_is_intact_read_from_its_stored_bytes() {
        let payload = serde_json::json!({ "z": [{ "b": 1, "a": "한글 \u{1} \"q\"" }], "a": 1.5, "m": null });
        let times = [
            Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap(),
            Utc.timestamp_opt(1_790_000_000, 120_000_000).unwrap(),
            Utc.timestamp_opt(1_790_000_000, 123_456_789).unwrap(),
            Utc::now(),
        ];
        for at in times {
            for actor in [None, Some("kim"), Some("이 \\ 부장")] {
                assert_eq!(
                    intact_all(&commit(payload.clone(), actor, at)),
                    [true, true],
                    "{at} {actor:?}"
                );
            }
        }
    }

    #[test]
    fn an_altered_payload_or_envelope_is_not_intact() {
        let record = commit(serde_json::json!({ "amount": 100 }), Some("kim"), Utc::now());
        let bytes = String::from_utf8(record.encode().unwrap()).unwrap();
        for (from, to) in [
            ("\"amount\":100", "\"amount\":900"),
            ("\"kim\"", "\"lee\""),
            ("doc.noted", "doc.xoted"),
        ] {
            let altered = bytes.replacen(from, to, 1);
            assert_ne!(altered, bytes, "{from} is in the record");
            let stored = StoredCommit::parse(altered.as_bytes()).unwrap();
            assert!(!stored.intact(&stored.events[0], &mut Vec::new()), "{from} → {to}");
        }
    }

    /// Records written before payloads were stored sorted: the fast check says no, and the
    /// verifier falls back to the canonical hash (covered in `audit`).
    #[test]
    fn a_payload_stored_with_unsorted_keys_is_not_judged_intact_from_its_bytes() {
        let record = commit(serde_json::json!({ "b": 1, "a": 2 }), None, Utc::now());
        let bytes = String::from_utf8(record.encode().unwrap()).unwrap();
        let unsorted = bytes.replacen("{\"a\":2,\"b\":1}", "{\"b\":1,\"a\":2}", 1);
        assert_ne!(unsorted, bytes);
        let stored = StoredCommit::parse(unsorted.as_bytes()).unwrap();
        assert!(!stored.intact(&stored.events[0], &mut Vec::new()));
        let decoded = CommitRecord::decode(unsorted.as_bytes()).unwrap();
        assert_eq!(decoded.hash_of(&decoded.events[0]), decoded.events[0].hash);
    }

    #[test]
    fn bytes_that_do_not_decode_as_a_commit_record_do_not_parse_either() {
        let record = commit(serde_json::json!({}), None, Utc::now());
        let bytes = String::from_utf8(record.encode().unwrap()).unwrap();
        let command_id = serde_json::to_string(&record.command_id).unwrap();
        let at = serde_json::to_string(&record.recorded_at).unwrap();
        for broken in [
            bytes.replacen(&command_id, "\"not-a-uuid\"", 1),
            bytes.replacen(&at, "\"yesterday\"", 1),
            bytes.replacen("\"stream_type\":\"doc\"", "\"stream_type\":7", 1),
            bytes[..bytes.len() - 1].to_owned(),
        ] {
            assert!(CommitRecord::decode(broken.as_bytes()).is_err());
            assert!(StoredCommit::parse(broken.as_bytes()).is_none(), "{broken}");
        }
    }

    /// What a decode refuses must not take the fast way, even with a hash over its bytes.
    #[test]
    fn what_a_decode_refuses_does_not_parse_even_where_a_raw_read_would() {
        let record = commit(serde_json::json!({ "n": 1 }), None, Utc::now());
        let bytes = String::from_utf8(record.encode().unwrap()).unwrap();
        let at = serde_json::to_string(&record.recorded_at).unwrap();
        for broken in [
            bytes.replacen(&at, "\"2026-13-45T25:61:61Z\"", 1),
            bytes.replacen("{\"n\":1}", "{\"n\":1e400}", 1),
            bytes.replacen("{\"n\":1}", "{\"n\":\"\\uD800\"}", 1),
            bytes.replacen("{\"n\":1}", &format!("{}1{}", "[".repeat(200), "]".repeat(200)), 1),
        ] {
            assert!(CommitRecord::decode(broken.as_bytes()).is_err(), "{broken}");
            assert!(StoredCommit::parse(broken.as_bytes()).is_none(), "{broken}");
        }
        let nil = bytes.replacen(
            &serde_json::to_string(&record.command_id).unwrap(),
            "\"00000000000000000000000000000000\"",
            1,
        );
        assert!(!StoredCommit::parse(nil.as_bytes()).unwrap().has_command_id());
    }

    #[test]
    fn recorded_at_is_spelled_with_nine_fraction_digits() {
        let spelled = |raw: &str| {
            let mut out = Vec::new();
            write_nanos(raw, &mut out).then(|| String::from_utf8(out).unwrap())
        };
        assert_eq!(
            spelled("\"2026-12-04T09:00:00Z\"").unwrap(),
            "\"2026-12-04T09:00:00.000000000Z\""
        );
        assert_eq!(
            spelled("\"2026-12-04T09:00:00.12Z\"").unwrap(),
            "\"2026-12-04T09:00:00.120000000Z\""
        );
        assert_eq!(
            spelled("\"2026-12-04T18:00:00.5+09:00\"").unwrap(),
            "\"2026-12-04T09:00:00.500000000Z\""
        );
        assert!(spelled("\"noon\"").is_none());
    }
}
