//! What the fuzzer knows of the server (routes, body schemas, tokens, ids, forms). A leaf: the
//! request builder fills it, the body builder reads it.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What the server knows, for requests that get past validation.
pub(super) struct Corpus {
    pub(super) routes: Vec<(String, String)>,
    pub(super) schemas: Map<String, Value>,
    pub(super) bodies: BTreeMap<(String, String), String>,
    pub(super) tokens: Vec<String>,
    pub(super) ids: Vec<String>,
    /// The form templates (`/api/forms`): document bodies typed by their fields.
    pub(super) forms: Vec<Value>,
}
