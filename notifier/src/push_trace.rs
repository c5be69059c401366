//! The span each push records, continuing the trace of the command that caused the change
//! (see `infra::telemetry::traces`).

use infra::readmodel::change::Change;

/// What a push continues: the trace and correlation ids of the change it sends.
pub(crate) struct PushCause {
    correlation_id: String,
    parent: infra::trace::TraceContext,
}

impl PushCause {
    /// `None` when spans are not exported or the change carries no trace: nothing to record.
    pub(crate) fn of(change: &Change) -> Option<Self> {
        if !infra::telemetry::traces::exporting() {
            return None;
        }
        Some(Self {
            correlation_id: change.correlation_id().to_owned(),
            parent: change.traceparent().and_then(infra::trace::TraceContext::parse)?,
        })
    }

    /// Records the push as a `notifier.push` span continuing the change's trace (a child of
    /// the projector's apply span).
    pub(crate) fn traced(self) {
        let parent = self.parent;
        let span = tracing::info_span!(
            "notifier.push",
            trace_id = %parent.trace_id_hex(),
            correlation_id = %self.correlation_id,
        );
        infra::telemetry::traces::continue_trace(&span, &parent);
        span.in_scope(|| tracing::debug!("pushed to a subscriber"));
    }
}
