//! Documents decoded from their stored JSON, kept beside the text they came from.
//!
//! A query for a document reads its row and decodes the JSON into the domain's type; under
//! `erp bench queries` the decoding was the largest single step of `approval(id)` after the
//! read itself (the JSON of a document with its line, comments and attachments, timestamps
//! parsed one by one). Most reads find a document unchanged since the last, so the decoded
//! value is kept with the exact text it was decoded from and handed out again while the
//! stored text is the same — compared whole, not by version, so a repaired or replayed row
//! of the same version is decoded afresh.
//!
//! Bounded by count and by the bytes of text kept; past either bound it starts over (the
//! busy documents come back at once).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Documents kept at most.
const KEPT: usize = 4096;

/// Stored text kept at most, in bytes; a decoded document takes about as much again.
const KEPT_BYTES: usize = 16 << 20;

/// Decoded documents by id, each with the text it was decoded from.
#[derive(Debug)]
pub struct Decoded<T> {
    kept: Mutex<Kept<T>>,
}

#[derive(Debug)]
struct Kept<T> {
    by_id: HashMap<String, (String, Arc<T>)>,
    bytes: usize,
}

impl<T> Default for Decoded<T> {
    fn default() -> Self {
        Self {
            kept: Mutex::new(Kept {
                by_id: HashMap::new(),
                bytes: 0,
            }),
        }
    }
}

impl<T: serde::de::DeserializeOwned> Decoded<T> {
    /// `text` (the document `id`'s stored JSON) decoded: the kept value when it was decoded
    /// from the same text, else decoded now and kept.
    pub fn decode(&self, id: &str, text: String) -> Result<Arc<T>, serde_json::Error> {
        if let Some((kept, value)) = self.lock().by_id.get(id) {
            if *kept == text {
                return Ok(value.clone());
            }
        }
        let value = Arc::new(serde_json::from_str::<T>(&text)?);
        if text.len() > KEPT_BYTES {
            // Larger than everything kept together: decoded each time, and the rest stays.
            return Ok(value);
        }
        let mut kept = self.lock();
        // Replacing a document's entry adds no entry and only its text's growth.
        let before = kept.by_id.get(id).map(|(text, _)| text.len());
        let count = kept.by_id.len() + usize::from(before.is_none());
        if count > KEPT || kept.bytes - before.unwrap_or(0) + text.len() > KEPT_BYTES {
            kept.by_id.clear();
            kept.bytes = 0;
        }
        kept.bytes += text.len();
        if let Some((before, _)) = kept.by_id.insert(id.to_owned(), (text, value.clone())) {
            kept.bytes -= before.len();
        }
        Ok(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept<T>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Documents kept now, and the bytes of their texts.
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.by_id.len(), kept.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Doc {
        title: String,
    }

    fn text(title: &str) -> String {
        format!(r#"{{"title":"{title}"}}"#)
    }

    #[test]
    fn the_same_text_is_decoded_once_and_a_changed_one_again() {
        let decoded = Decoded::<Doc>::default();
        let first = decoded.decode("d1", text("출장 신청")).unwrap();
        let again = decoded.decode("d1", text("출장 신청")).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the kept value is handed out again");
        let changed = decoded.decode("d1", text("출장 신청 (수정)")).unwrap();
        assert_eq!(changed.title, "출장 신청 (수정)");
        let other = decoded.decode("d2", text("출장 신청")).unwrap();
        assert!(!Arc::ptr_eq(&first, &other), "kept by document, not by text alone");
        assert_eq!(
            decoded.held(),
            (2, text("출장 신청 (수정)").len() + text("출장 신청").len())
        );
    }

    #[test]
    fn a_changed_document_replaces_its_entry_without_starting_over_at_the_bound() {
        let decoded = Decoded::<Doc>::default();
        for n in 0..KEPT {
            decoded.decode(&format!("d{n}"), text("t")).unwrap();
        }
        decoded.decode("d0", text("수정")).unwrap();
        assert_eq!(decoded.held().0, KEPT, "every other document is still kept");
    }

    #[test]
    fn a_text_that_does_not_decode_is_refused_and_not_kept() {
        let decoded = Decoded::<Doc>::default();
        assert!(decoded.decode("d1", "{\"title\":".into()).is_err());
        assert_eq!(decoded.held(), (0, 0));
    }

    #[test]
    fn past_its_bounds_it_starts_over() {
        let decoded = Decoded::<Doc>::default();
        for n in 0..KEPT + 10 {
            decoded.decode(&format!("d{n}"), text("t")).unwrap();
        }
        assert_eq!(decoded.held().0, 10, "started over at {KEPT} documents");
        let large = text(&"가".repeat(KEPT_BYTES / 3 / 2 + 1));
        decoded.decode("large-1", large.clone()).unwrap();
        decoded.decode("large-2", large.clone()).unwrap();
        let (count, bytes) = decoded.held();
        assert!(bytes <= KEPT_BYTES, "{bytes} bytes kept");
        assert_eq!(count, 1, "the second large text started it over");

        // A text larger than the whole bound is decoded but not kept, and what is kept stays.
        let huge = text(&"가".repeat(KEPT_BYTES / 3 + 1));
        assert_eq!(
            decoded.decode("huge", huge).unwrap().title.len(),
            3 * (KEPT_BYTES / 3 + 1)
        );
        assert_eq!(decoded.held(), (count, bytes));
    }
}
