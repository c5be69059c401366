//! Runs the domain's process managers (`domain::process`) on the approval log: final approval
//! assigns a gap-free document number and records it on the document; final approval of a
//! leave request debits the drafter's leave ledger (consuming its hold); 반려, 회수 or discard
//! of a leave request releases its hold. Every follow-up has a command id derived
//! from the document and its purpose, and every follow-up command is idempotent, so
//! re-reading the log after a restart changes nothing.

use crate::error::ApiError;
use crate::service::{derived_id, CommandService, Meta};
use chrono::FixedOffset;
use domain::approval::{Approval, ApprovalCommand, ApprovalEvent};
use domain::leave::LeaveLedger;
use domain::numbering::{NumberCommand, NumberSequence};
use domain::process::{on_approval_event, FollowUp};
use domain::Actor;
use infra::eventlog::chain::{Admission, StreamHeads};
use infra::eventlog::{streams, Checkpoint, StreamRef};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Starts the reactor task.
pub fn start(service: Arc<CommandService>, offset: FixedOffset) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = run(&service, offset).await {
                tracing::warn!(error = %e.detail, "reactor stopped; restarting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn run(service: &CommandService, offset: FixedOffset) -> Result<(), ApiError> {
    let mut subscription = service.log().subscribe(streams::APPROVAL, Checkpoint::new()).await?;
    let mut heads: HashMap<u32, StreamHeads> = HashMap::new();
    loop {
        for delivered in subscription.next_batch(200, Duration::from_millis(500)).await? {
            if heads.entry(delivered.partition).or_default().admit(&delivered.commit) != Admission::Accepted {
                continue;
            }
            for event in &delivered.commit.events {
                let Ok(event) = serde_json::from_value::<ApprovalEvent>(event.payload.clone()) else {
                    continue;
                };
                if matches!(
                    event,
                    ApprovalEvent::Approved { .. }
                        | ApprovalEvent::ProxyApproved { .. }
                        | ApprovalEvent::ApprovedAsFinal { .. }
                        | ApprovalEvent::Rejected { .. }
                        | ApprovalEvent::Withdrawn { .. }
                        | ApprovalEvent::DraftDiscarded { .. }
                ) {
                    let stream = StreamRef::new(streams::APPROVAL, delivered.commit.stream_id.clone());
                    if let Err(e) = follow_up(service, &stream, &event, delivered.commit.commit_id, offset).await {
                        tracing::warn!(stream = %stream, error = %e.detail, "follow-up failed");
                    }
                }
            }
        }
    }
}

async fn follow_up(
    service: &CommandService,
    stream: &StreamRef,
    event: &ApprovalEvent,
    cause: Uuid,
    offset: FixedOffset,
) -> Result<(), ApiError> {
    let Some(doc) = service.load::<Approval>(stream).await?.state.0 else {
        return Ok(());
    };
    let form = service.form(&doc.form.id.0, Some(doc.form.version))?.clone();
    for step in on_approval_event(&doc, event, &form, offset) {
        match step {
            FollowUp::Number(command) => {
                let NumberCommand::Assign { key, document, .. } = &command;
                let sequence = StreamRef::new(streams::NUMBERING, key.stream_id());
                let meta = Meta::system(derived_id(&format!("number/{document}")), Some(cause));
                // Concurrent final approvals race for the next number: retry on conflict.
                for attempt in 0..20 {
                    match service
                        .execute::<NumberSequence>(&sequence, None, &meta, &command)
                        .await
                    {
                        Err(e) if e.status == axum::http::StatusCode::CONFLICT && attempt < 19 => continue,
                        other => {
                            other?;
                            break;
                        }
                    }
                }
                let assigned = service.load::<NumberSequence>(&sequence).await?.state;
                if let (Some(number), None) = (assigned.number_of(doc.id), &doc.number) {
                    let record = ApprovalCommand::RecordNumber {
                        number: number.clone(),
                        by: Actor::employee(event.actor()),
                        at: event.at(),
                    };
                    let meta = Meta::system(derived_id(&format!("record-number/{document}")), Some(cause));
                    match service.execute::<Approval>(stream, None, &meta, &record).await {
                        Ok(_) => {}
                        Err(e) if e.code == "already_numbered" => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            FollowUp::Leave(command) => {
                use domain::leave::LeaveCommand as L;
                let (employee, purpose) = match &command {
                    L::Debit { employee, document, .. } => (employee, format!("leave-debit/{document}")),
                    L::Release {
                        employee,
                        document,
                        revision,
                        ..
                    } => (employee, format!("leave-release/{document}/{revision}")),
                    _ => continue,
                };
                let ledger = StreamRef::new(streams::LEAVE, employee.to_string());
                let meta = Meta::system(derived_id(&purpose), Some(cause));
                service.execute::<LeaveLedger>(&ledger, None, &meta, &command).await?;
            }
        }
    }
    Ok(())
}
