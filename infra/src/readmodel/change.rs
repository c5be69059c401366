//! What the change bus carries: one [`Change`] per feed entry and per changed document of a
//! commit the approval projection applied, and one per commit of the HR side (attendance,
//! leave, quests) the employee read model applied. The folds produce them, the ports hand them over
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
        /// Where the trace continues from: the projector's apply span when spans are exported,
        /// else the commit's `traceparent` (see `infra::telemetry::traces`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traceparent: Option<String>,
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traceparent: Option<String>,
        /// Inbox principals (`emp:…`, `dept:…`) whose boxes held or now hold the document.
        boxes: Vec<String>,
        /// The folded document after the commit (visibility is decided on it by the domain).
        document: serde_json::Value,
    },
    /// An HR record changed: an attendance day, a leave ledger or a quest. Who may hear of it
    /// is the read side's rule for each record: HR admins and auditors always; the employees
    /// it is about, each of their own part; a quest's poster (`owner`) of all of it; and for
    /// attendance only, the heads of the employees' departments.
    Hr {
        /// `attendance`, `leave` or `quest`: the stream type.
        topic: String,
        /// The stream (`employee/day` for attendance, the employee for leave, the quest id).
        stream: String,
        version: u64,
        /// Event types of the commit, in order.
        events: Vec<String>,
        /// The employees whose record it is: the day's or the ledger's employee; the quest
        /// participants the commit's events name.
        people: Vec<String>,
        /// Who sees all of it besides HR: a quest's poster.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// For attendance, the employees' departments when the projection applied it (their
        /// heads see it); empty for leave and quests, which heads do not see.
        departments: Vec<String>,
        position: String,
        correlation_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traceparent: Option<String>,
    },
}

impl Change {
    /// The log position token of the commit that caused it.
    pub fn position(&self) -> &str {
        match self {
            Change::Notification { position, .. } | Change::Document { position, .. } | Change::Hr { position, .. } => {
                position
            }
        }
    }

    /// The correlation id of the command that caused it.
    pub fn correlation_id(&self) -> &str {
        match self {
            Change::Notification { correlation_id, .. }
            | Change::Document { correlation_id, .. }
            | Change::Hr { correlation_id, .. } => correlation_id,
        }
    }

    /// Where its trace continues from, if the command carried one.
    pub fn traceparent(&self) -> Option<&str> {
        match self {
            Change::Notification { traceparent, .. }
            | Change::Document { traceparent, .. }
            | Change::Hr { traceparent, .. } => traceparent.as_deref(),
        }
    }

    /// Makes the trace continue from `span` (the span that applied it).
    pub fn continue_from(&mut self, span: String) {
        match self {
            Change::Notification { traceparent, .. }
            | Change::Document { traceparent, .. }
            | Change::Hr { traceparent, .. } => *traceparent = Some(span),
        }
    }
}
