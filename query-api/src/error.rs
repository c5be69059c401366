//! GraphQL errors with a stable `extensions.code`, so clients branch on codes, not messages.

use async_graphql::ErrorExtensions;
use infra::readmodel::StoreError;

pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const STALE_READ: &str = "STALE_READ";
pub const UNAVAILABLE: &str = "UNAVAILABLE";
pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
pub const REQUEST_REJECTED: &str = "REQUEST_REJECTED";
pub const INTERNAL: &str = "INTERNAL";

/// An error carrying `extensions.code`.
pub fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

pub fn store(e: StoreError) -> async_graphql::Error {
    tracing::warn!(error = %e, "read model unavailable");
    coded(UNAVAILABLE, format!("read model unavailable: {e}"))
}

pub fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    coded(BAD_USER_INPUT, message)
}

/// Gives every error of a response a code: validation failures of the engine itself (depth,
/// complexity, parse, unknown fields) arrive without one.
pub fn ensure_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
        if has_code {
            continue;
        }
        let message = error.message.to_ascii_lowercase();
        let code = if message.contains("nested too deep") || message.contains("recursion") {
            QUERY_TOO_DEEP
        } else if message.contains("too complex") {
            QUERY_TOO_COMPLEX
        } else if message.contains("parse") || message.starts_with(" --> ") || message.contains("expected") {
            PARSE_FAILED
        } else if error.path.is_empty() {
            VALIDATION_FAILED
        } else {
            INTERNAL
        };
        error.extensions.get_or_insert_with(Default::default).set("code", code);
    }
}
