//! The approval views' fold: a document's list row and folded document, its timeline, the
//! inbox boxes it sits in, the notifications each event sends, and the changes pushed live.

use super::{corrupt, decode, name_of, Cause, Change};
use crate::eventlog::Delivered;
use crate::readmodel::rows::{ApprovalRow, FeedEntry, InboxRow, NotificationRow, TimelineRow};
use crate::readmodel::StoreError;
use domain::approval::{notices_after, Approval, ApprovalDocument, ApprovalEvent};
use domain::Aggregate;

/// What one commit's events add: rows written once, and what live subscribers are told.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApprovalEvents {
    pub timeline: Vec<TimelineRow>,
    pub notifications: Vec<NotificationRow>,
    pub published: Vec<Change>,
}

/// What a stream's folded aggregate keeps as rows: its state (the guard's) and, once a
/// document exists, its list row and inbox rows. Built once per stream per batch, after its
/// last commit: the rows of earlier commits would be replaced anyway.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRows {
    pub state: String,
    pub current: Option<(ApprovalRow, Vec<InboxRow>)>,
}

/// Folds one approval commit's events onto `approval`. With `notify` false (replays publish
/// nothing) the changes for live subscribers are not built at all.
pub fn fold_approval_events(
    approval: &mut Approval,
    delivered: &Delivered,
    notify: bool,
) -> Result<ApprovalEvents, StoreError> {
    let commit = &delivered.commit;
    let cause = notify.then(|| Cause::of(delivered));
    let boxes_before: Vec<String> = match (&cause, approval.document()) {
        (Some(_), Some(d)) => d.boxes().into_iter().map(|(p, _)| p.to_string()).collect(),
        _ => Vec::new(),
    };
    let mut folded = ApprovalEvents::default();
    for recorded in &commit.events {
        // All the notices read of the document before the event: not a copy of it per event.
        let was_current = approval.document().map(|d| d.current_approvers()).unwrap_or_default();
        let event: ApprovalEvent = decode(&recorded.payload)?;
        approval.evolve(&event);
        let Some(after) = approval.document() else { continue };
        let (note, on_behalf_of) = note_of(&event);
        let at = event.at().to_rfc3339();
        folded.timeline.push(TimelineRow {
            doc: after.id.to_string(),
            version: recorded.version as i64,
            revision: after.revision as i64,
            event_type: recorded.event_type.clone(),
            actor: event.actor().to_string(),
            on_behalf_of,
            at: at.clone(),
            note,
        });
        for (who, notice) in notices_after(&was_current, &event, after) {
            let kind = name_of(notice);
            // Deterministic ids: a redelivered event rewrites its notifications, never adds.
            let row = NotificationRow {
                id: format!("{}:{}:{}:{kind}", after.id, recorded.version, who),
                recipient: who.to_string(),
                doc: after.id.to_string(),
                kind,
                title: after.content.title.clone(),
                at: at.clone(),
                is_read: false,
            };
            if let Some(cause) = &cause {
                folded.published.push(Change::Notification {
                    recipient: row.recipient.clone(),
                    position: cause.position.clone(),
                    correlation_id: cause.correlation_id.clone(),
                    trace_id: cause.trace_id.clone(),
                    traceparent: commit.traceparent.clone(),
                    entry: FeedEntry::from(row.clone()),
                });
            }
            folded.notifications.push(row);
        }
    }
    if let (Some(cause), Some(doc)) = (cause, approval.document()) {
        let mut boxes: Vec<String> = doc.boxes().into_iter().map(|(p, _)| p.to_string()).collect();
        boxes.extend(boxes_before);
        boxes.sort();
        boxes.dedup();
        folded.published.push(Change::Document {
            doc: doc.id.to_string(),
            version: commit.last_version(),
            events: commit.events.iter().map(|e| e.event_type.clone()).collect(),
            position: cause.position,
            correlation_id: cause.correlation_id,
            trace_id: cause.trace_id,
            traceparent: commit.traceparent.clone(),
            boxes,
            document: serde_json::to_value(doc).map_err(corrupt)?,
        });
    }
    Ok(folded)
}

/// The rows `approval` keeps at stream version `version` ([`DocumentRows`]).
pub fn document_rows(approval: &Approval, version: u64) -> Result<DocumentRows, StoreError> {
    let state = serde_json::to_string(approval).map_err(corrupt)?;
    let Some(doc) = approval.document() else {
        return Ok(DocumentRows { state, current: None });
    };
    // The aggregate is its document (a newtype over it), so its state is the document's
    // JSON: serialized once for both.
    let row = approval_row(doc, version, state.clone())?;
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
    Ok(DocumentRows {
        state,
        current: Some((row, inbox)),
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

fn approval_row(doc: &ApprovalDocument, version: u64, document: String) -> Result<ApprovalRow, StoreError> {
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
        document,
        version: version as i64,
    })
}
