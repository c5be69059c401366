//! What subscriptions send: the items of each field, the feed's resume cursor.

use async_graphql::SimpleObject;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use domain::approval::ApprovalDocument;
use infra::readmodel::FeedEntry;
use query_api::{ApprovalStatus, HrTopic, InboxBox, NotificationKind};

/// `(at, id)` of a feed entry as an opaque resume cursor.
pub fn feed_cursor(entry: &FeedEntry) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\u{1f}{}", entry.at, entry.id))
}

pub(super) fn parse_cursor(cursor: &str) -> Option<(String, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (at, id) = text.split_once('\u{1f}')?;
    Some((at.to_owned(), id.to_owned()))
}

/// One notification, live or replayed on resume. `resync` means the connection fell behind:
/// entries were missed; re-read the feed (query API) or resubscribe with the last cursor.
#[derive(SimpleObject, Clone, Debug)]
pub struct NotificationEvent {
    pub resync: bool,
    /// Resume point: pass it as `after` to continue after this entry.
    pub cursor: Option<String>,
    /// Log position of the commit (empty for entries replayed from the feed).
    pub position: Option<String>,
    pub correlation_id: Option<String>,
    /// The trace id (W3C trace context) of the command that caused it, for following one
    /// command through the log, the projection and this push.
    pub trace_id: Option<String>,
    pub id: Option<String>,
    /// The approval document it is about (none for an HR notice).
    pub document_id: Option<String>,
    /// What an HR notice is about: the quest, or the employee whose leave or week it is.
    pub subject_id: Option<String>,
    pub kind: Option<NotificationKind>,
    pub title: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// Delivered from the persisted feed on resume, not live.
    pub replayed: bool,
    /// Set when delivered to a proxy (대결자): whose request this is.
    pub for_employee_id: Option<String>,
}

impl NotificationEvent {
    pub(super) fn lagged() -> Self {
        Self {
            resync: true,
            cursor: None,
            position: None,
            correlation_id: None,
            trace_id: None,
            id: None,
            document_id: None,
            subject_id: None,
            kind: None,
            title: None,
            at: None,
            replayed: false,
            for_employee_id: None,
        }
    }

    pub(super) fn of(
        entry: &FeedEntry,
        position: Option<String>,
        correlation_id: Option<String>,
        replayed: bool,
    ) -> Self {
        let kind = NotificationKind::from_stored(&entry.kind);
        let hr = kind.is_some_and(NotificationKind::is_hr);
        Self {
            resync: false,
            cursor: Some(feed_cursor(entry)),
            position,
            correlation_id,
            trace_id: None,
            id: Some(entry.id.clone()),
            document_id: (!hr).then(|| entry.doc.clone()),
            subject_id: hr.then(|| entry.doc.clone()),
            kind,
            title: Some(entry.title.clone()),
            at: DateTime::parse_from_rfc3339(&entry.at)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            replayed,
            for_employee_id: None,
        }
    }
}

/// A box count. Its box and the statuses here are the query API's own enums
/// (`query_api::InboxBox`, `query_api::ApprovalStatus`), so both schemas name them alike and
/// merge for clients.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "InboxCount")]
pub struct BoxCount {
    pub inbox: InboxBox,
    pub count: i64,
}

/// A document moved in or out of one of the viewer's boxes.
#[derive(SimpleObject, Clone, Debug)]
pub struct InboxChange {
    pub resync: bool,
    pub document_id: Option<String>,
    pub title: Option<String>,
    pub status: Option<ApprovalStatus>,
    pub position: Option<String>,
    pub correlation_id: Option<String>,
    /// The trace id (W3C trace context) of the command that caused it, for following one
    /// command through the log, the projection and this push.
    pub trace_id: Option<String>,
    /// The commit's event types, e.g. `approval.approved`.
    pub events: Vec<String>,
    /// Every box of the viewer with its count after the change.
    pub counts: Vec<BoxCount>,
}

impl InboxChange {
    /// Read the boxes again: changes may have been missed.
    pub(super) fn lagged() -> Self {
        Self {
            resync: true,
            document_id: None,
            title: None,
            status: None,
            position: None,
            correlation_id: None,
            trace_id: None,
            events: Vec::new(),
            counts: Vec::new(),
        }
    }
}

/// A change of one document.
#[derive(SimpleObject, Clone, Debug)]
pub struct ApprovalUpdate {
    pub resync: bool,
    pub document_id: String,
    pub version: Option<u64>,
    pub status: Option<ApprovalStatus>,
    pub position: Option<String>,
    pub correlation_id: Option<String>,
    /// The trace id (W3C trace context) of the command that caused it, for following one
    /// command through the log, the projection and this push.
    pub trace_id: Option<String>,
    pub events: Vec<String>,
}

/// An HR record changed: a check-in or check-out, a leave ledger entry, a quest moving.
#[derive(SimpleObject, Clone, Debug)]
pub struct HrChange {
    /// The subscriber fell behind and missed changes: re-read what it shows.
    pub resync: bool,
    pub topic: Option<HrTopic>,
    /// The stream: `employee/day` (attendance), the employee (leave) or the quest id.
    pub stream: Option<String>,
    pub version: Option<u64>,
    /// The commit's event types, e.g. `attendance.checked_in`.
    pub events: Vec<String>,
    /// Whose record it is: the employee, or a quest's poster and participants.
    pub employee_ids: Vec<String>,
    pub position: Option<String>,
    pub correlation_id: Option<String>,
    pub trace_id: Option<String>,
}

impl HrChange {
    pub(super) fn lagged() -> Self {
        Self {
            resync: true,
            topic: None,
            stream: None,
            version: None,
            events: Vec::new(),
            employee_ids: Vec::new(),
            position: None,
            correlation_id: None,
            trace_id: None,
        }
    }
}

pub(super) fn status_of(doc: &ApprovalDocument) -> ApprovalStatus {
    doc.status.into()
}
