//! What the change bus carries: one [`Change`] per feed entry and per changed document of a
//! commit the approval projection applied. The folds produce them, the ports hand them over
//! to be published after the store committed.

use super::rows::FeedEntry;
use serde::{Deserialize, Serialize};

/// One change, after its projection committed it: what the change bus carries to notifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A new entry of one recipient's notification feed.
    Notification {
        /// Employee id.
        recipient: String,
        entry: FeedEntry,
        /// Log position token of the commit (`type:partition:offset`).
        position: String,
        correlation_id: String,
        /// The trace id of the command that caused it (absent on changes published before
        /// traces were carried).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace_id: Option<String>,
    },
    /// A document changed.
    Document {
        doc: String,
        version: u64,
        /// Event types of the commit, in order.
        events: Vec<String>,
        position: String,
        correlation_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace_id: Option<String>,
        /// Inbox principals (`emp:…`, `dept:…`) whose boxes held or now hold the document.
        boxes: Vec<String>,
        /// The folded document after the commit (visibility is decided on it by the domain).
        document: serde_json::Value,
    },
}
