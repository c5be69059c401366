//! Relay global ids (`base64("Approval:<uuid>")`) and opaque page cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The kinds of node a global id can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Approval,
    Employee,
    Department,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Approval => "Approval",
            Kind::Employee => "Employee",
            Kind::Department => "Department",
        }
    }
}

pub fn global(kind: Kind, id: &str) -> async_graphql::ID {
    async_graphql::ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.as_str())))
}

/// The kind and raw id a global id names; raw UUIDs are accepted too, for the kind expected.
pub fn parse(id: &str, expected: Option<Kind>) -> Option<(Kind, String)> {
    if let (Some(kind), Ok(uuid)) = (expected, uuid::Uuid::parse_str(id)) {
        return Some((kind, uuid.to_string()));
    }
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (kind, raw) = decoded.split_once(':')?;
    let kind = [Kind::Approval, Kind::Employee, Kind::Department]
        .into_iter()
        .find(|k| k.as_str() == kind)?;
    let raw = uuid::Uuid::parse_str(raw).ok()?.to_string();
    match expected {
        Some(e) if e != kind => None,
        _ => Some((kind, raw)),
    }
}

/// An opaque cursor over a list of string parts.
pub fn cursor(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join("\u{1f}"))
}

pub fn uncursor(cursor: &str, parts: usize) -> Option<Vec<String>> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let split: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
    (split.len() == parts).then_some(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_keep_their_kind() {
        let raw = "0190a3c2-0000-7000-8000-000000000106";
        let id = global(Kind::Employee, raw);
        assert_eq!(parse(&id, None), Some((Kind::Employee, raw.to_owned())));
        assert_eq!(
            parse(&id, Some(Kind::Approval)),
            None,
            "an employee id is not an approval id"
        );
        assert_eq!(parse(raw, Some(Kind::Approval)), Some((Kind::Approval, raw.to_owned())));
        assert_eq!(parse("not-an-id", None), None);
    }

    #[test]
    fn cursors_round_trip() {
        let c = cursor(&["2026-11-26T00:00:00+00:00", "abc"]);
        assert_eq!(uncursor(&c, 2).unwrap(), vec!["2026-11-26T00:00:00+00:00", "abc"]);
        assert_eq!(uncursor(&c, 3), None);
    }
}
