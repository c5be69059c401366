//! The strict reader's verdicts held to the general decode's, and the canonical bytes it hashes.

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

#[test]
fn a_uuid_is_told_apart_exactly_as_the_uuid_parser_tells_it() {
    let id = "0190f3a2-7c1e-7d3a-9b2c-0123456789ab";
    let mut cases = vec![
        id.replace('-', ""),
        format!("{{{id}}}"),
        format!("urn:uuid:{id}"),
        id.to_uppercase(),
    ];
    for at in 0..36 {
        for c in ['-', '0', 'f', 'F', 'g', ' ', '+'] {
            let mut case = id.to_owned();
            case.replace_range(at..at + 1, &c.to_string());
            cases.push(case);
        }
    }
    for case in &cases {
        assert_eq!(is_uuid(case), Uuid::try_parse(case).is_ok(), "{case}");
    }
    assert!(
        cases.iter().filter(|c| is_uuid(c)).count() > 36,
        "valid spellings are among the cases"
    );
}

/// Stored ids and hashes as JSON tokens: the writer's spelling, and others around it
/// (escaped, cut, grown, with a quote, a backslash or a control character inside).
fn tokens_around(plain: &str) -> Vec<String> {
    let mut tokens = vec![
        format!("\"{plain}\""),
        format!("  \"{plain}\""),
        format!("\"{}\"", plain.to_uppercase()),
        format!("\"\\u0030{}\"", &plain[1..]),
        format!("\"{}\"", &plain[1..]),
        format!("\"{plain}0\""),
        format!("\"{plain}é\""),
        format!("\"{plain}"),
        format!("{plain}\""),
        "null".to_owned(),
    ];
    for at in 0..plain.len() {
        for c in ["-", "0", "g", " ", "\"", "\\", "\u{1}", "é"] {
            let mut token = plain.to_owned();
            token.replace_range(at..at + 1, c);
            tokens.push(format!("\"{token}\""));
        }
    }
    tokens
}

/// What `read` made of `token`, and where the scan stood after it.
fn read_with<T>(token: &str, read: impl FnOnce(&mut Scan<'_>) -> Option<T>) -> Option<(T, Option<u8>)> {
    let text = format!("{token},");
    let mut scan = Scan::new(&text);
    let read = read(&mut scan)?;
    Some((read, scan.peek()))
}

#[test]
fn a_stored_id_or_hash_taken_in_one_check_reads_as_the_general_scan_reads_it() {
    let general_uuid = |scan: &mut Scan<'_>| {
        let (raw, escaped) = scan.string()?;
        is_uuid(&unquoted(raw, escaped)?).then_some(raw.to_owned())
    };
    for token in tokens_around("0190f3a2-7c1e-7d3a-9b2c-0123456789ab") {
        let fast = read_with(&token, |scan| uuid_text(scan).map(str::to_owned));
        assert_eq!(fast, read_with(&token, general_uuid), "{token:?} as a UUID");
        assert_eq!(
            read_with(&token, |scan| stream_id_text(scan).map(str::to_owned)),
            read_with(&token, |scan| text(scan).map(str::to_owned)),
            "{token:?} as a stream id"
        );
    }
    let hash = "163e70bb69e8dc575d65ac0c468d0c0ac8563d617e6f3889a63d16941d0eb926";
    for token in tokens_around(hash) {
        // Borrowed or owned matters too: `intact` hashes a borrowed hash as stored.
        let kind = |text: Cow<'_, str>| (matches!(text, Cow::Borrowed(_)), text.into_owned());
        assert_eq!(
            read_with(&token, |scan| hash_text(scan).map(kind)),
            read_with(&token, |scan| scanned_text(scan).map(kind)),
            "{token:?} as a hash"
        );
    }
    // The writer's spellings are the ones taken in one check.
    let (id, hash) = ("\"0190f3a2-7c1e-7d3a-9b2c-0123456789ab\",", format!("\"{hash}\","));
    assert!(Scan::new(id).fixed(38, quoted_uuid).is_some());
    assert!(Scan::new(&hash).fixed(66, quoted_hash).is_some());
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
        bytes.replacen(&at, "\"2026-01-01T00:00:00.Z\"", 1),
        bytes.replacen("{\"n\":1}", "{\"n\":1e400}", 1),
        bytes.replacen("{\"n\":1}", "{\"n\":\"\\uD800\"}", 1),
        bytes.replacen("{\"n\":1}", &format!("{}1{}", "[".repeat(200), "]".repeat(200)), 1),
    ] {
        assert!(CommitRecord::decode(broken.as_bytes()).is_err(), "{broken}");
        assert!(StoredCommit::parse(broken.as_bytes()).is_none(), "{broken}");
    }
    let command_id = serde_json::to_string(&record.command_id).unwrap();
    assert!(StoredCommit::parse(bytes.as_bytes()).unwrap().has_command_id());
    for nil in [
        "00000000000000000000000000000000",
        "00000000-0000-0000-0000-000000000000",
    ] {
        let nil = bytes.replacen(&command_id, &format!("\"{nil}\""), 1);
        assert!(!StoredCommit::parse(nil.as_bytes()).unwrap().has_command_id(), "{nil}");
    }
}

#[test]
fn a_field_a_newer_writer_added_is_read_past_and_a_field_given_twice_is_refused() {
    let record = commit(serde_json::json!({ "n": 1 }), None, Utc::now());
    let bytes = String::from_utf8(record.encode().unwrap()).unwrap();
    let added = bytes.replacen("{\"commit_id\"", "{\"tenant\":{\"id\":[1,\"x\"]},\"commit_id\"", 1);
    let stored = StoredCommit::parse(added.as_bytes()).expect("an added field is read past");
    assert!(stored.events.iter().all(|e| stored.intact(e, &mut Vec::new())));
    let twice = bytes.replacen("{\"commit_id\"", "{\"first_version\":1,\"commit_id\"", 1);
    assert!(CommitRecord::decode(twice.as_bytes()).is_err());
    assert!(StoredCommit::parse(twice.as_bytes()).is_none());
}

#[test]
fn recorded_at_is_spelled_with_nine_fraction_digits() {
    let spelled = |raw: &str| {
        let mut out = Vec::new();
        RecordedAt::read(raw).map(|at| at.write_nanos(&mut out))?;
        Some(String::from_utf8(out).unwrap())
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
