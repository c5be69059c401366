//! A commit as stored, borrowed from its record's bytes: what `erp verify` judges the chain
//! on without building a [`CommitRecord`](super::codec::CommitRecord) (no `Value` trees, no owned strings).
//!
//! The hash is checked over the stored bytes themselves. Every field the hash covers is kept
//! as the JSON text the writer wrote, and those bytes are already the canonical
//! spelling [`CommitRecord::hash_of`](super::codec::CommitRecord::hash_of) writes: serde_json escapes strings and prints numbers
//! one way, and [`CommitRecord::build`](super::codec::CommitRecord::build) stores payloads with their object keys sorted. So the
//! canonical input is the stored fields spliced between the sorted keys ([`Self::intact`]),
//! and only `recorded_at` is re-spelled (stored with as many fraction digits as it needs,
//! hashed with nine).
//!
//! A record written before payloads were stored sorted, or bytes spelled any other way, gives
//! a different input and fails this check; the caller then judges the whole record the usual
//! way (decoded, with [`CommitRecord::hash_of`](super::codec::CommitRecord::hash_of)), so this
//! is only a fast way to a "yes". [`StoredCommit::parse`] reads the record in one strict
//! pass ([`scan`]) that accepts only what a decode accepts (ids, dates, strings, numbers and
//! depth are checked as a decode checks them, and whatever the pass is unsure of goes the
//! usual way), so a record that would not decode never takes the fast way. A "yes" means the stored bytes are exactly the
//! bytes the hash was computed over; every record a writer builds is spelled canonically, so
//! for them both ways agree. A forger who computes a hash over other spellings of the same
//! content gains nothing he could not do with the canonical ones.

mod scan;

use scan::Scan;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use uuid::Uuid;

/// A commit record borrowed from its stored bytes: the same fields
/// [`CommitRecord`](super::codec::CommitRecord) decodes, the hashed ones as their stored
/// JSON text.
#[derive(Debug)]
pub struct StoredCommit<'a> {
    pub commit_id: Uuid,
    stream_type: &'a str,
    stream_id: &'a str,
    pub first_version: u64,
    command_id: &'a str,
    correlation_id: &'a str,
    causation_id: &'a str,
    actor: &'a str,
    recorded_at: RecordedAt<'a>,
    pub traceparent: Option<Cow<'a, str>>,
    pub events: Vec<StoredEvent<'a>>,
}

/// One event of a [`StoredCommit`].
#[derive(Debug)]
pub struct StoredEvent<'a> {
    event_id: &'a str,
    pub version: u64,
    event_type: &'a str,
    pub schema_version: u16,
    payload: &'a str,
    pub prev_hash: Cow<'a, str>,
    pub hash: Cow<'a, str>,
}

impl<'a> StoredCommit<'a> {
    /// Borrows a commit from a record's bytes in one strict pass ([`scan`]), or `None` when
    /// they do not read as one or read in a way the pass is unsure of (the caller decodes them
    /// the usual way). Ids are checked to be UUIDs and `recorded_at` a date, as decoding a
    /// [`CommitRecord`](super::codec::CommitRecord) checks them.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let mut scan = Scan::new(simdutf8::basic::from_utf8(bytes).ok()?);
        let mut fields = Fields::default();
        scan.object(|scan, key| fields.read(scan, key))?;
        scan.end()?;
        let Fields {
            commit_id: Some(commit_id),
            stream_type: Some(stream_type),
            stream_id: Some(stream_id),
            first_version: Some(first_version),
            command_id: Some(command_id),
            correlation_id: Some(correlation_id),
            causation_id: Some(causation_id),
            actor: Some(actor),
            recorded_at: Some(recorded_at),
            traceparent,
            events: Some(events),
        } = fields
        else {
            return None;
        };
        let recorded_at = RecordedAt::read(recorded_at)?;
        Some(Self {
            commit_id,
            stream_type,
            stream_id,
            first_version,
            command_id,
            correlation_id,
            causation_id,
            actor,
            recorded_at,
            traceparent: traceparent.flatten(),
            events,
        })
    }

    pub fn stream_type(&self) -> Cow<'a, str> {
        unquote(self.stream_type).unwrap_or_default()
    }

    pub fn stream_id(&self) -> Cow<'a, str> {
        unquote(self.stream_id).unwrap_or_default()
    }

    pub fn has_command_id(&self) -> bool {
        let id = unquote(self.command_id).unwrap_or_default();
        match id.len() {
            // Checked to be a UUID by the parse: nil is all zeros.
            36 => id.bytes().any(|b| !matches!(b, b'0' | b'-')),
            _ => Uuid::try_parse(&id).is_ok_and(|id| !id.is_nil()),
        }
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
        field(scratch, "actor", self.actor);
        field(scratch, "causation_id", self.causation_id);
        field(scratch, "command_id", self.command_id);
        field(scratch, "correlation_id", self.correlation_id);
        field(scratch, "event_id", event.event_id);
        field(scratch, "event_type", event.event_type);
        field(scratch, "payload", event.payload);
        key(scratch, "prev_hash");
        match &event.prev_hash {
            // Borrowed: stored without escapes, so spelled as serde_json writes it.
            Cow::Borrowed(text) => {
                scratch.push(b'"');
                scratch.extend_from_slice(text.as_bytes());
                scratch.push(b'"');
            }
            Cow::Owned(text) => write_json(scratch, text),
        }
        key(scratch, "recorded_at");
        self.recorded_at.write_nanos(scratch);
        key(scratch, "schema_version");
        write_json(scratch, &event.schema_version);
        field(scratch, "stream_id", self.stream_id);
        field(scratch, "stream_type", self.stream_type);
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
        self.payload
    }

    pub fn event_type(&self) -> Cow<'_, str> {
        unquote(self.event_type).unwrap_or_default()
    }
}

/// A JSON string's text, borrowed when it has no escapes; `None` when `raw` is not a string.
fn unquote(text: &str) -> Option<Cow<'_, str>> {
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

/// A stored `recorded_at` in the writer's shape, `"YYYY-MM-DDTHH:MM:SS[.f…]Z"` with a date
/// and time that exist: its seconds and its fraction digits (at most nine). `None` for any
/// other spelling, which is then read as a date by chrono.
fn writer_spelled(raw: &str) -> Option<(&str, &str)> {
    let text = raw.strip_prefix('"')?.strip_suffix("Z\"")?;
    let (seconds, fraction) = text.split_at_checked(19)?;
    // A dot needs digits after it: chrono refuses `…:00.Z`.
    let digits = match fraction {
        "" => "",
        _ => fraction.strip_prefix('.').filter(|d| !d.is_empty())?,
    };
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let number = |range: std::ops::Range<usize>| seconds.get(range).filter(|s| plain(s))?.parse::<u32>().ok();
    let b = seconds.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if digits.len() > 9 || !plain(digits) || separators.iter().any(|(at, sep)| b[*at] != *sep) {
        return None;
    }
    let year = i32::try_from(number(0..4)?).ok().filter(|y| *y >= 1000)?;
    chrono::NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?;
    chrono::NaiveTime::from_hms_opt(number(11..13)?, number(14..16)?, number(17..19)?)?;
    Some((seconds, digits))
}

/// A stored `recorded_at` that decodes as a date, read once per record.
#[derive(Debug)]
enum RecordedAt<'a> {
    /// In the writer's shape: its seconds and fraction digits ([`writer_spelled`]).
    Spelled { seconds: &'a str, digits: &'a str },
    /// Any other spelling, read as a date by chrono: as the hash spells it.
    Read(String),
}

impl<'a> RecordedAt<'a> {
    /// `None` when `raw` is not a date.
    fn read(raw: &'a str) -> Option<Self> {
        if let Some((seconds, digits)) = writer_spelled(raw) {
            return Some(Self::Spelled { seconds, digits });
        }
        let at = serde_json::from_str::<chrono::DateTime<chrono::Utc>>(raw).ok()?;
        let mut spelled = Vec::new();
        write_json(&mut spelled, &at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
        String::from_utf8(spelled).ok().map(Self::Read)
    }

    /// Writes it with nine fraction digits, as the hash covers it: the writer's spelling
    /// padded, anything else as chrono spells it again.
    fn write_nanos(&self, out: &mut Vec<u8>) {
        match self {
            Self::Spelled { seconds, digits } => {
                out.push(b'"');
                out.extend_from_slice(seconds.as_bytes());
                out.push(b'.');
                out.extend_from_slice(digits.as_bytes());
                out.extend(std::iter::repeat_n(b'0', 9 - digits.len()));
                out.extend_from_slice(b"Z\"");
            }
            Self::Read(spelled) => out.extend_from_slice(spelled.as_bytes()),
        }
    }
}

/// What one pass has read of a commit so far. A field met twice ends the pass, as serde
/// refuses a duplicate field.
#[derive(Default)]
struct Fields<'a> {
    commit_id: Option<Uuid>,
    stream_type: Option<&'a str>,
    stream_id: Option<&'a str>,
    first_version: Option<u64>,
    command_id: Option<&'a str>,
    correlation_id: Option<&'a str>,
    causation_id: Option<&'a str>,
    actor: Option<&'a str>,
    recorded_at: Option<&'a str>,
    traceparent: Option<Option<Cow<'a, str>>>,
    events: Option<Vec<StoredEvent<'a>>>,
}

impl<'a> Fields<'a> {
    /// Reads the member `key`; members a newer writer added are checked and skipped.
    fn read(&mut self, scan: &mut Scan<'a>, key: &str) -> Option<()> {
        match key {
            "commit_id" => once(
                &mut self.commit_id,
                scanned_text(scan).and_then(|id| Uuid::try_parse(&id).ok()),
            ),
            "stream_type" => once(&mut self.stream_type, text(scan)),
            "stream_id" => once(&mut self.stream_id, stream_id_text(scan)),
            "first_version" => once(&mut self.first_version, scan.u64()),
            "command_id" => once(&mut self.command_id, uuid_text(scan)),
            "correlation_id" => once(&mut self.correlation_id, uuid_text(scan)),
            "causation_id" => once(&mut self.causation_id, or_null(scan, uuid_text)),
            "actor" => once(&mut self.actor, or_null(scan, text)),
            "recorded_at" => once(&mut self.recorded_at, text(scan)),
            "traceparent" => {
                let traceparent = if scan.null() {
                    Some(None)
                } else {
                    scanned_text(scan).map(Some)
                };
                once(&mut self.traceparent, traceparent)
            }
            "events" => {
                let mut events = Vec::with_capacity(1);
                let read = scan.array(|scan| {
                    events.push(event(scan)?);
                    Some(())
                });
                once(&mut self.events, read.map(|()| events))
            }
            _ => scan.value().map(drop),
        }
    }
}

/// One event object, every field present once.
fn event<'a>(scan: &mut Scan<'a>) -> Option<StoredEvent<'a>> {
    let (mut event_id, mut version, mut event_type, mut schema_version) = (None, None, None, None);
    let (mut payload, mut prev_hash, mut hash) = (None, None, None);
    scan.object(|scan, key| match key {
        "event_id" => once(&mut event_id, uuid_text(scan)),
        "version" => once(&mut version, scan.u64()),
        "event_type" => once(&mut event_type, text(scan)),
        "schema_version" => once(&mut schema_version, scan.u64().and_then(|v| u16::try_from(v).ok())),
        "payload" => once(&mut payload, scan.value()),
        "prev_hash" => once(&mut prev_hash, hash_text(scan)),
        "hash" => once(&mut hash, hash_text(scan)),
        _ => scan.value().map(drop),
    })?;
    Some(StoredEvent {
        event_id: event_id?,
        version: version?,
        event_type: event_type?,
        schema_version: schema_version?,
        payload: payload?,
        prev_hash: prev_hash?,
        hash: hash?,
    })
}

/// Fills `slot` with `value` unless it is already filled or there is no value.
fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value?);
    Some(())
}

/// A string's stored text, quotes included.
fn text<'a>(scan: &mut Scan<'a>) -> Option<&'a str> {
    scan.string().map(|(raw, _)| raw)
}

/// A string's text without its quotes, as [`unquote`] gives it (borrowed exactly when it
/// has no escapes).
fn scanned_text<'a>(scan: &mut Scan<'a>) -> Option<Cow<'a, str>> {
    let (raw, escaped) = scan.string()?;
    unquoted(raw, escaped)
}

/// A string that reads as a UUID, as stored. The quoted hyphenated form every writer stores
/// is taken in one check; any other spelling is scanned as a string and parsed.
fn uuid_text<'a>(scan: &mut Scan<'a>) -> Option<&'a str> {
    if let Some(raw) = scan.fixed(38, quoted_uuid) {
        return Some(raw);
    }
    let (raw, escaped) = scan.string()?;
    is_uuid(&unquoted(raw, escaped)?).then_some(raw)
}

/// A stream id as stored: a UUID in every stream this project writes, taken in one check;
/// any other text is scanned as a string.
fn stream_id_text<'a>(scan: &mut Scan<'a>) -> Option<&'a str> {
    scan.fixed(38, quoted_uuid).or_else(|| text(scan))
}

/// A string's text, as [`scanned_text`] gives it; a quoted run of 64 hex digits (a SHA-256
/// as every writer stores it) is taken in one check.
fn hash_text<'a>(scan: &mut Scan<'a>) -> Option<Cow<'a, str>> {
    match scan.fixed(66, quoted_hash) {
        Some(raw) => Some(Cow::Borrowed(&raw[1..65])),
        None => scanned_text(scan),
    }
}

/// Whether `token` is a quoted UUID in its hyphenated form.
fn quoted_uuid(token: &[u8]) -> bool {
    quoted(token) && hyphenated_uuid(&token[1..token.len() - 1])
}

/// Whether `token` is a quoted SHA-256 in hex.
fn quoted_hash(token: &[u8]) -> bool {
    quoted(token) && all_hex(&token[1..token.len() - 1])
}

/// Whether `token` starts and ends with a quote.
fn quoted(token: &[u8]) -> bool {
    token.len() >= 2 && token[0] == b'"' && token[token.len() - 1] == b'"'
}

/// Whether every byte is a hex digit; without early exits, so many bytes are checked at a time.
fn all_hex(run: &[u8]) -> bool {
    run.iter().fold(true, |ok, c| ok & c.is_ascii_hexdigit())
}

/// Whether `b` is a UUID in its hyphenated form, `8-4-4-4-12` hex digits.
fn hyphenated_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && (b[8] == b'-') & (b[13] == b'-') & (b[18] == b'-') & (b[23] == b'-')
        && all_hex(&b[..8]) & all_hex(&b[9..13]) & all_hex(&b[14..18]) & all_hex(&b[19..23]) & all_hex(&b[24..])
}

/// [`unquote`], knowing from the scan whether `raw` holds escapes (no second search for a
/// backslash).
fn unquoted(raw: &str, escaped: bool) -> Option<Cow<'_, str>> {
    match escaped {
        false => Some(Cow::Borrowed(&raw[1..raw.len() - 1])),
        true => unquote(raw),
    }
}

/// Whether `text` parses as a [`Uuid`]: the hyphenated form every writer stores is checked
/// byte by byte, any other form by the parser.
fn is_uuid(text: &str) -> bool {
    match text.len() {
        36 => hyphenated_uuid(text.as_bytes()),
        _ => Uuid::try_parse(text).is_ok(),
    }
}

/// `null` as stored, or what `read` reads.
fn or_null<'a>(scan: &mut Scan<'a>, read: fn(&mut Scan<'a>) -> Option<&'a str>) -> Option<&'a str> {
    if scan.null() {
        Some("null")
    } else {
        read(scan)
    }
}

#[cfg(test)]
mod tests;
