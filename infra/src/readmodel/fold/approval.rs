//! The approval views' fold: a document's list row and folded document, its timeline, the
//! inbox boxes it sits in, the notifications each event sends, and the changes pushed live.

use super::{corrupt, name_of, restore, Cause, Change};
use crate::eventlog::Delivered;
use crate::readmodel::rows::{ApprovalRow, FeedEntry, InboxRow, NotificationRow, TimelineRow};
use crate::readmodel::StoreError;
use domain::approval::{notices, Approval, ApprovalDocument, ApprovalEvent};
use domain::Aggregate;

/// What one approval commit folds to.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalFold {
    /// The folded aggregate, as JSON (the stream's guard keeps it).
    pub state: String,
    /// The document's row after the commit; `None` while no document exists.
    pub approval: Option<ApprovalRow>,
    /// One row per event, written once.
    pub timeline: Vec<TimelineRow>,
    /// The notifications the events sent, written once (deterministic ids).
    pub notifications: Vec<NotificationRow>,
    /// The document's inbox rows now: they replace all its earlier ones. `None` while no
    /// document exists.
    pub inbox: Option<Vec<InboxRow>>,
    /// What live subscribers are told.
    pub published: Vec<Change>,
}

/// Folds one approval commit onto the stored `state`.
pub fn fold_approval(state: Option<&str>, delivered: &Delivered) -> Result<ApprovalFold, StoreError> {
    let commit = &delivered.commit;
    let Cause {
        position,
        correlation_id,
        trace_id,
    } = Cause::of(delivered);
    let mut approval: Approval = restore(state)?;
    let boxes_before: Vec<String> = approval
        .document()
        .map(|d| d.boxes().into_iter().map(|(p, _)| p.to_string()).collect())
        .unwrap_or_default();
    let mut timeline = Vec::new();
    let mut notifications = Vec::new();
    let mut published = Vec::new();
    for recorded in &commit.events {
        let before = approval.document().cloned();
        let event: ApprovalEvent = serde_json::from_value(recorded.payload.clone()).map_err(corrupt)?;
        approval.evolve(&event);
        let Some(after) = approval.document() else { continue };
        let (note, on_behalf_of) = note_of(&event);
        timeline.push(TimelineRow {
            doc: after.id.to_string(),
            version: recorded.version as i64,
            revision: after.revision as i64,
            event_type: recorded.event_type.clone(),
            actor: event.actor().to_string(),
            on_behalf_of,
            at: event.at().to_rfc3339(),
            note,
        });
        for (who, notice) in notices(before.as_ref(), &event, after) {
            let kind = name_of(notice);
            // Deterministic ids: a redelivered event rewrites its notifications, never adds.
            let row = NotificationRow {
                id: format!("{}:{}:{}:{kind}", after.id, recorded.version, who),
                recipient: who.to_string(),
                doc: after.id.to_string(),
                kind,
                title: after.content.title.clone(),
                at: event.at().to_rfc3339(),
                is_read: false,
            };
            published.push(Change::Notification {
                recipient: row.recipient.clone(),
                position: position.clone(),
                correlation_id: correlation_id.clone(),
                trace_id: trace_id.clone(),
                traceparent: commit.traceparent.clone(),
                entry: FeedEntry::from(row.clone()),
            });
            notifications.push(row);
        }
    }
    let state = serde_json::to_string(&approval).map_err(corrupt)?;
    let Some(doc) = approval.document() else {
        return Ok(ApprovalFold {
            state,
            approval: None,
            timeline,
            notifications,
            inbox: None,
            published,
        });
    };
    let version = commit.last_version();
    let row = approval_row(doc, version)?;
    let inbox = doc
        .boxes()
        .into_iter()
        .map(|(principal, inbox)| InboxRow {
            principal: principal.to_string(),
            inbox: inbox.as_str().to_owned(),
            doc: row.id.clone(),
            title: row.title.clone(),
            status: row.status.clone(),
            drafter: row.drafter.clone(),
            updated_at: row.updated_at.clone(),
        })
        .collect();
    let mut boxes: Vec<String> = doc.boxes().into_iter().map(|(p, _)| p.to_string()).collect();
    boxes.extend(boxes_before);
    boxes.sort();
    boxes.dedup();
    published.push(Change::Document {
        doc: row.id.clone(),
        version,
        events: commit.events.iter().map(|e| e.event_type.clone()).collect(),
        position,
        correlation_id,
        trace_id,
        traceparent: commit.traceparent.clone(),
        boxes,
        document: serde_json::to_value(doc).map_err(corrupt)?,
    });
    Ok(ApprovalFold {
        state,
        approval: Some(row),
        timeline,
        notifications,
        inbox: Some(inbox),
        published,
    })
}

/// The note a timeline shows for an event (comment, reason, number) and whom a proxy acted for.
fn note_of(event: &ApprovalEvent) -> (Option<String>, Option<String>) {
    match event {
        ApprovalEvent::Approved { comment, .. } | ApprovalEvent::ApprovedAsFinal { comment, .. } => {
            (comment.clone(), None)
        }
        ApprovalEvent::ProxyApproved {
            comment, on_behalf_of, ..
        } => (comment.clone(), Some(on_behalf_of.to_string())),
        ApprovalEvent::Rejected {
            reason, on_behalf_of, ..
        }
        | ApprovalEvent::Disagreed {
            reason, on_behalf_of, ..
        } => (Some(reason.clone()), on_behalf_of.map(|p| p.to_string())),
        ApprovalEvent::Held { reason, .. } => (Some(reason.clone()), None),
        ApprovalEvent::Commented { text, .. } => (Some(text.clone()), None),
        ApprovalEvent::Numbered { number, .. } => (Some(number.to_string()), None),
        _ => (None, None),
    }
}

fn approval_row(doc: &ApprovalDocument, version: u64) -> Result<ApprovalRow, StoreError> {
    let current: Vec<String> = doc.current_approvers().iter().map(ToString::to_string).collect();
    Ok(ApprovalRow {
        id: doc.id.to_string(),
        title: doc.content.title.clone(),
        status: name_of(doc.status),
        drafter: doc.drafter.to_string(),
        form: format!("{}@{}", doc.form.id, doc.form.version),
        revision: doc.revision as i64,
        number: doc.number.as_ref().map(ToString::to_string),
        current_approvers: current.join(","),
        amount: doc.amount.map(|a| a.normalize().to_string()),
        submitted_at: doc.submitted_at.map(|t| t.to_rfc3339()),
        completed_at: doc.completed_at.map(|t| t.to_rfc3339()),
        updated_at: doc.updated_at.to_rfc3339(),
        document: serde_json::to_string(doc).map_err(corrupt)?,
        version: version as i64,
    })
}
