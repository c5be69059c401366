//! A commit read for the few events a reader acts on: its chain fields and each event's type,
//! with a payload decoded only when the reader asks for it.
//!
//! A process manager follows every commit of its stream type (rule R needs each one's chain
//! fields) but acts on a handful of event types. Decoding each record whole — a JSON tree per
//! payload, then the tree again as a domain event — cost more than the acting: on the command
//! role under load the reactor's decoding was a tenth of all work. A glance reads the record
//! in the strict one-pass scan `erp verify` uses ([`StoredCommit::parse`]), borrowing every
//! field from the stored bytes, and decodes a payload straight from its JSON text. A record the
//! scan is unsure of (an escaped key, an exponent, deep nesting) is decoded the usual way
//! instead, so a glance reads exactly the records a decode reads, and the same fields.
//!
//! Payloads are given as stored: no upcasting, as with [`Delivered`](super::Delivered).

use super::chain::Span;
use super::codec::CommitRecord;
use super::stored::StoredCommit;
use super::EventLogError;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use uuid::Uuid;

/// One commit record, read either way (see the module docs).
#[derive(Debug)]
pub struct Glance<'a> {
    read: Read<'a>,
}

#[derive(Debug)]
enum Read<'a> {
    Stored(StoredCommit<'a>),
    Decoded(Box<CommitRecord>),
}

/// One event of a [`Glance`].
#[derive(Debug, Clone, Copy)]
pub struct GlancedEvent<'g> {
    glance: &'g Glance<'g>,
    index: usize,
}

impl<'a> Glance<'a> {
    /// Reads `bytes` as a commit record; fails exactly when decoding them would.
    pub fn read(bytes: &'a [u8]) -> Result<Self, EventLogError> {
        let read = match StoredCommit::parse(bytes) {
            Some(stored) => Read::Stored(stored),
            None => Read::Decoded(Box::new(CommitRecord::decode(bytes)?)),
        };
        Ok(Self { read })
    }

    pub fn commit_id(&self) -> Uuid {
        match &self.read {
            Read::Stored(c) => c.commit_id,
            Read::Decoded(c) => c.commit_id,
        }
    }

    pub fn stream_id(&self) -> Cow<'_, str> {
        match &self.read {
            Read::Stored(c) => c.stream_id(),
            Read::Decoded(c) => Cow::Borrowed(&c.stream_id),
        }
    }

    /// The version of the commit's last event.
    pub fn last_version(&self) -> u64 {
        match &self.read {
            Read::Stored(c) => c.first_version + c.events.len().saturating_sub(1) as u64,
            Read::Decoded(c) => c.last_version(),
        }
    }

    /// Where the commit's events lie in the stream's chain, as
    /// [`CommitRecord::span`] gives it (`None`: no events).
    pub fn span(&self) -> Option<Span<'_>> {
        match &self.read {
            Read::Stored(c) => {
                let (first, last) = (c.events.first()?, c.events.last()?);
                Some(Span {
                    first_version: c.first_version,
                    first_prev_hash: &first.prev_hash,
                    last_version: self.last_version(),
                    last_hash: &last.hash,
                })
            }
            Read::Decoded(c) => c.span(),
        }
    }

    /// The commit's events, in order.
    pub fn events(&self) -> impl Iterator<Item = GlancedEvent<'_>> {
        let len = match &self.read {
            Read::Stored(c) => c.events.len(),
            Read::Decoded(c) => c.events.len(),
        };
        (0..len).map(move |index| GlancedEvent { glance: self, index })
    }
}

impl GlancedEvent<'_> {
    /// The event's wire type, e.g. `approval.approved`.
    pub fn event_type(&self) -> Cow<'_, str> {
        match &self.glance.read {
            Read::Stored(c) => c.events[self.index].event_type(),
            Read::Decoded(c) => Cow::Borrowed(&c.events[self.index].event_type),
        }
    }

    /// The payload decoded as `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, EventLogError> {
        let decoded = match &self.glance.read {
            Read::Stored(c) => serde_json::from_str(c.events[self.index].payload()),
            Read::Decoded(c) => T::deserialize(&c.events[self.index].payload),
        };
        decoded.map_err(|e| EventLogError::Codec(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::{ExpectedVersion, NewCommit, NewEvent, StreamRef};
    use chrono::{TimeZone, Utc};
    use serde_json::{json, Value};

    fn record(stream_id: &str, payloads: Vec<Value>) -> CommitRecord {
        let commit = NewCommit {
            stream: StreamRef::new("doc", stream_id),
            expected: ExpectedVersion::Exact(4),
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: Some("emp-1".into()),
            traceparent: None,
            events: payloads
                .into_iter()
                .enumerate()
                .map(|(i, payload)| NewEvent {
                    event_type: format!("doc.step_{i}"),
                    schema_version: 1,
                    payload,
                })
                .collect(),
        };
        let head = "ab".repeat(32);
        CommitRecord::build(&commit, 4, &head, Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap())
    }

    /// Everything a glance gives, for comparing one with the record it was read from.
    #[derive(Debug, PartialEq)]
    struct Seen {
        commit_id: Uuid,
        stream_id: String,
        last_version: u64,
        span: Option<(u64, String, u64, String)>,
        events: Vec<(String, Value)>,
    }

    fn owned(span: Option<Span<'_>>) -> Option<(u64, String, u64, String)> {
        span.map(|s| {
            (
                s.first_version,
                s.first_prev_hash.to_owned(),
                s.last_version,
                s.last_hash.to_owned(),
            )
        })
    }

    fn seen(glance: &Glance<'_>) -> Seen {
        Seen {
            commit_id: glance.commit_id(),
            stream_id: glance.stream_id().into_owned(),
            last_version: glance.last_version(),
            span: owned(glance.span()),
            events: glance
                .events()
                .map(|e| (e.event_type().into_owned(), e.decode::<Value>().unwrap()))
                .collect(),
        }
    }

    fn decoded(record: &CommitRecord) -> Seen {
        Seen {
            commit_id: record.commit_id,
            stream_id: record.stream_id.clone(),
            last_version: record.last_version(),
            span: owned(record.span()),
            events: record
                .events
                .iter()
                .map(|e| (e.event_type.clone(), e.payload.clone()))
                .collect(),
        }
    }

    #[test]
    fn a_written_record_is_read_in_one_pass_and_gives_what_a_decode_gives() {
        let record = record(
            "doc-\"7\"",
            vec![
                json!({ "type": "doc.noted", "title": "출장 보고 \"초안\"", "amount": 12.5, "lines": [1, 2, { "by": null }] }),
                json!({ "type": "doc.closed" }),
            ],
        );
        let bytes = record.encode().unwrap();
        let glance = Glance::read(&bytes).unwrap();
        assert!(
            matches!(glance.read, Read::Stored(_)),
            "a writer's record takes the one-pass way"
        );
        assert_eq!(seen(&glance), decoded(&record));
        assert_eq!(glance.stream_id(), "doc-\"7\"");
        assert_eq!(glance.span().unwrap().first_version, 5);
    }

    #[test]
    fn a_record_the_scan_is_unsure_of_is_decoded_and_gives_the_same() {
        let record = record("doc-8", vec![json!({ "type": "doc.noted", "n": 1 })]);
        // An exponent: the one-pass scan leaves numbers spelled so to the decoder.
        let text = String::from_utf8(record.encode().unwrap())
            .unwrap()
            .replace("\"n\":1", "\"n\":1e0");
        let glance = Glance::read(text.as_bytes()).unwrap();
        assert!(matches!(glance.read, Read::Decoded(_)), "{text}");
        assert_eq!(seen(&glance), decoded(&CommitRecord::decode(text.as_bytes()).unwrap()));
        assert_eq!(seen(&glance).events[0].1["n"], json!(1.0));
    }

    #[test]
    fn a_commit_without_events_has_no_span() {
        let mut record = record("doc-9", vec![json!({ "type": "doc.noted" })]);
        record.events.clear();
        let bytes = record.encode().unwrap();
        let glance = Glance::read(&bytes).unwrap();
        assert!(glance.span().is_none());
        assert_eq!(glance.events().count(), 0);
    }

    #[test]
    fn bytes_a_decode_refuses_are_refused() {
        for bytes in [&b"{"[..], b"[]", b"{\"commit_id\":\"not-a-uuid\"}", b"\xff\xfe"] {
            assert!(matches!(Glance::read(bytes), Err(EventLogError::Codec(_))), "{bytes:?}");
            assert!(CommitRecord::decode(bytes).is_err());
        }
    }

    #[test]
    fn a_payload_that_is_not_the_asked_type_is_a_codec_error() {
        let record = record("doc-10", vec![json!({ "type": "doc.noted", "n": "one" })]);
        let bytes = record.encode().unwrap();
        let glance = Glance::read(&bytes).unwrap();
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Noted {
            n: u64,
        }
        let event = glance.events().next().unwrap();
        assert!(matches!(event.decode::<Noted>(), Err(EventLogError::Codec(_))));
    }

    /// A subscription that holds only decoded commits (the trait's default).
    struct DecodedOnly(Vec<crate::eventlog::Delivered>);

    #[async_trait::async_trait]
    impl crate::eventlog::Subscription for DecodedOnly {
        async fn next_batch(
            &mut self,
            _max: usize,
            _wait: std::time::Duration,
        ) -> Result<Vec<crate::eventlog::Delivered>, EventLogError> {
            Ok(std::mem::take(&mut self.0))
        }

        fn checkpoint(&self) -> &crate::eventlog::Checkpoint {
            unimplemented!("not asked")
        }
    }

    #[tokio::test]
    async fn a_subscription_without_the_stored_bytes_gives_its_commits_encoded() {
        use crate::eventlog::Subscription;
        let commit = record("doc-11", vec![json!({ "type": "doc.noted", "title": "초안" })]);
        let mut subscription = DecodedOnly(vec![crate::eventlog::Delivered {
            partition: 3,
            offset: 9,
            commit: commit.clone(),
        }]);
        let records = subscription.next_records(10, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].partition, records[0].offset), (3, 9));
        let glance = Glance::read(&records[0].bytes).unwrap();
        assert!(matches!(glance.read, Read::Stored(_)), "encoded as a writer writes");
        assert_eq!(seen(&glance), decoded(&commit));
    }
}
