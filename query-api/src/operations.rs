//! The operation name a GraphQL request is timed under.
//!
//! Clients name their operations (`query Inbox { … }`, or `operationName`); the name is the
//! metric label, so a dashboard shows which screens are slow. Names come from clients, so they
//! are bounded: a name that is not a GraphQL name, or one past the first [`MAX_NAMES`] seen by
//! this process, is counted as `other`; an unnamed operation as `anonymous`.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Distinct operation names one process labels separately.
pub const MAX_NAMES: usize = 200;

/// Longest name taken as a label.
const MAX_LEN: usize = 64;

static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// The label for `request`: its `operationName`, else the name of the document's only
/// operation (read from the request's parsed document, parsing it if it has none).
pub fn label(request: &mut async_graphql::Request) -> String {
    let named = match request.operation_name.clone() {
        Some(name) => Some(name),
        None => request.parsed_query().ok().and_then(only_operation_name),
    };
    match named {
        None => "anonymous".to_owned(),
        Some(name) => bounded(name),
    }
}

fn only_operation_name(document: &async_graphql::parser::types::ExecutableDocument) -> Option<String> {
    match &document.operations {
        async_graphql::parser::types::DocumentOperations::Single(_) => None,
        async_graphql::parser::types::DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            operations.keys().next().map(|name| name.to_string())
        }
        async_graphql::parser::types::DocumentOperations::Multiple(_) => None,
    }
}

fn bounded(name: String) -> String {
    let valid = !name.is_empty()
        && name.len() <= MAX_LEN
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return "other".to_owned();
    }
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if seen.contains(&name) || seen.len() < MAX_NAMES {
        seen.insert(name.clone());
        name
    } else {
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_is_the_operation_name_bounded() {
        let mut named = async_graphql::Request::new("query Inbox { me { name } }");
        assert_eq!(label(&mut named), "Inbox");
        let mut chosen =
            async_graphql::Request::new("query A { me { name } } query B { me { name } }").operation_name("B");
        assert_eq!(label(&mut chosen), "B");
        assert_eq!(label(&mut async_graphql::Request::new("{ me { name } }")), "anonymous");
        assert_eq!(
            label(&mut async_graphql::Request::new(
                "query A { me { name } } query B { me { name } }"
            )),
            "anonymous"
        );
        let mut odd = async_graphql::Request::new("{ me { name } }").operation_name("drop table; --");
        assert_eq!(label(&mut odd), "other");
    }
}
