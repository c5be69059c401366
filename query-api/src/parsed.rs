//! Query documents parsed once per text. Clients send the same few documents over and over
//! (a screen's queries differ in their variables, not their text), and parsing one took about
//! a tenth of a query's CPU: a request now takes a copy of the parse its text had before.
//!
//! The alias bound is judged here too, once per text, and a document past it is refused
//! before the schema sees it. It used to be a schema extension, and any extension at all
//! sends every field of every query through the extension chain (a type lookup, a boxed
//! future per field), which cost more than the bound itself (docs/performance.md, "No
//! extension on every field"). The schema still runs its depth and complexity checks and
//! validation on every request, as it does on a fresh parse, and a document that does not
//! parse is left to the schema to report. At most [`ParsedQueries::MAX`] texts; past it the
//! cache starts over.

use crate::cost;
use crate::error;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A parsed document and the aliases of its largest operation.
struct Parsed {
    document: ExecutableDocument,
    aliases: usize,
}

/// Parsed documents by their text.
#[derive(Default)]
pub(crate) struct ParsedQueries(Mutex<HashMap<String, Arc<Parsed>>>);

impl ParsedQueries {
    /// More distinct documents than the web app and the known clients send.
    pub(crate) const MAX: usize = 256;

    /// Gives `request` its document, parsed now or before, when its text parses; refuses it
    /// (`QUERY_TOO_MANY_ALIASES`) when an operation aliases more than `max_aliases` fields.
    pub(crate) fn prepare(&self, request: &mut Request, max_aliases: usize) -> Result<(), ServerError> {
        let cache = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = cache().get(&request.query).cloned();
        let parsed = match kept {
            Some(parsed) => parsed,
            None => {
                let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
                    return Ok(());
                };
                let parsed = Arc::new(Parsed {
                    aliases: cost::most_aliases(&document),
                    document,
                });
                let mut cache = cache();
                if cache.len() >= Self::MAX {
                    cache.clear();
                }
                cache.insert(request.query.clone(), parsed.clone());
                parsed
            }
        };
        if parsed.aliases > max_aliases {
            let mut refusal = ServerError::new(
                format!("{} aliases; at most {max_aliases} are allowed", parsed.aliases),
                None,
            );
            refusal
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", error::QUERY_TOO_MANY_ALIASES);
            return Err(refusal);
        }
        request.set_parsed_query(ExecutableDocument::clone(&parsed.document));
        Ok(())
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
        parsed.prepare(&mut first, 20).unwrap();
        parsed.prepare(&mut again, 20).unwrap();
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
        parsed.prepare(&mut broken, 20).unwrap();
        assert_eq!(parsed.len(), 0);
        assert!(
            broken.parsed_query().is_err(),
            "the schema parses it again and says why"
        );
    }

    #[test]
    fn a_text_past_the_alias_bound_is_refused_each_time_it_comes() {
        let parsed = ParsedQueries::default();
        let text = "{ a: me { name } b: me { name } c: me { name } }";
        for _ in 0..2 {
            let mut request = Request::new(text);
            let refusal = parsed.prepare(&mut request, 2).expect_err("three aliases, two allowed");
            assert!(refusal.message.contains("3 aliases"), "{}", refusal.message);
            let code = refusal.extensions.as_ref().and_then(|x| x.get("code")).cloned();
            assert_eq!(code, Some(async_graphql::Value::from(error::QUERY_TOO_MANY_ALIASES)));
        }
        assert_eq!(parsed.len(), 1, "judged from the kept parse the second time");
        parsed
            .prepare(&mut Request::new(text), 3)
            .expect("within a bound of three");
    }

    #[test]
    fn past_its_bound_the_cache_starts_over() {
        let parsed = ParsedQueries::default();
        for n in 0..=ParsedQueries::MAX {
            parsed
                .prepare(&mut Request::new(format!("query Q{n} {{ me {{ name }} }}")), 20)
                .unwrap();
        }
        assert_eq!(parsed.len(), 1);
    }
}
