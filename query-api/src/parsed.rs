//! Query documents parsed once per text. Clients send the same few documents over and over
//! (a screen's queries differ in their variables, not their text), and parsing one took about
//! a tenth of a query's CPU: a request now takes a copy of the parse its text had before.
//!
//! Only what parses is kept; the schema still runs its parse hooks (the alias bound), depth
//! and directive checks and validation on every request, as it does on a fresh parse, and a
//! document that does not parse is left to the schema to report. At most
//! [`ParsedQueries::MAX`] texts; past it the cache starts over.

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Request;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Parsed documents by their text.
#[derive(Default)]
pub(crate) struct ParsedQueries(Mutex<HashMap<String, Arc<ExecutableDocument>>>);

impl ParsedQueries {
    /// More distinct documents than the web app and the known clients send.
    pub(crate) const MAX: usize = 256;

    /// Gives `request` its document, parsed now or before, when its text parses.
    pub(crate) fn prepare(&self, request: &mut Request) {
        let cache = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = cache().get(&request.query).cloned();
        let document = match kept {
            Some(document) => document,
            None => {
                let Ok(parsed) = async_graphql::parser::parse_query(&request.query) else {
                    return;
                };
                let parsed = Arc::new(parsed);
                let mut cache = cache();
                if cache.len() >= Self::MAX {
                    cache.clear();
                }
                cache.insert(request.query.clone(), parsed.clone());
                parsed
            }
        };
        request.set_parsed_query(ExecutableDocument::clone(&document));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map_or(0, |cache| cache.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_parsed_once_and_every_request_of_it_gets_the_document() {
        let parsed = ParsedQueries::default();
        let mut first = Request::new("query Inbox { me { name } }");
        let mut again = Request::new("query Inbox { me { name } }").operation_name("Inbox");
        parsed.prepare(&mut first);
        parsed.prepare(&mut again);
        assert_eq!(parsed.len(), 1);
        let expected = async_graphql::parser::parse_query("query Inbox { me { name } }").expect("parses");
        for request in [&mut first, &mut again] {
            let document = request.parsed_query().expect("set");
            assert_eq!(format!("{document:?}"), format!("{expected:?}"));
        }
    }

    #[test]
    fn a_text_that_does_not_parse_is_left_to_the_schema_and_not_kept() {
        let parsed = ParsedQueries::default();
        let mut broken = Request::new("query { me { name ");
        parsed.prepare(&mut broken);
        assert_eq!(parsed.len(), 0);
        assert!(
            broken.parsed_query().is_err(),
            "the schema parses it again and says why"
        );
    }

    #[test]
    fn past_its_bound_the_cache_starts_over() {
        let parsed = ParsedQueries::default();
        for n in 0..=ParsedQueries::MAX {
            parsed.prepare(&mut Request::new(format!("query Q{n} {{ me {{ name }} }}")));
        }
        assert_eq!(parsed.len(), 1);
    }
}
