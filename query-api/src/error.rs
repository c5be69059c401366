//! GraphQL errors with a stable `extensions.code`, so clients branch on codes, not messages.
//! What failed inside the server (a store, the log, a stored document that does not decode) is
//! logged and answered as `INTERNAL` with a generic message: driver error text names tables,
//! hosts and queries, and is none of the client's business.

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
pub const QUERY_TOO_MANY_ALIASES: &str = "QUERY_TOO_MANY_ALIASES";
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
pub const REQUEST_REJECTED: &str = "REQUEST_REJECTED";
pub const INTERNAL: &str = "INTERNAL";

/// All a client learns of a failure inside the server.
pub const INTERNAL_MESSAGE: &str = "internal error; try again later";

/// An error carrying `extensions.code`.
pub fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

/// Logs what failed inside the server and answers `INTERNAL` without its words.
pub fn internal(what: &str, cause: impl std::fmt::Display) -> async_graphql::Error {
    tracing::error!(%cause, "{what}");
    coded(INTERNAL, INTERNAL_MESSAGE)
}

pub fn store(e: StoreError) -> async_graphql::Error {
    internal("read model failed", e)
}

pub fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    coded(BAD_USER_INPUT, message)
}

/// Gives every error of a response a code: validation failures of the engine itself (depth,
/// complexity, parse, unknown fields) arrive without one. An uncoded error raised while
/// resolving came from somewhere unforeseen, so it is logged and answered as `INTERNAL`.
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
            tracing::error!(message = %error.message, path = ?error.path, "uncoded resolver error");
            error.message = INTERNAL_MESSAGE.to_owned();
            INTERNAL
        };
        error.extensions.get_or_insert_with(Default::default).set("code", code);
    }
}
