//! The span each push records, continuing the trace of the command that caused the change
//! (see `infra::telemetry::traces`).

use infra::readmodel::change::Change;

/// What a push continues: the trace and correlation ids of the change it sends.
pub(crate) struct PushCause {
    correlation_id: String,
    parent: Option<infra::trace::TraceContext>,
}

impl PushCause {
    pub(crate) fn of(change: &Change) -> Self {
        Self {
            correlation_id: change.correlation_id().to_owned(),
            parent: change.traceparent().and_then(infra::trace::TraceContext::parse),
        }
    }

    /// Records the push as a `notifier.push` span continuing the change's trace (a child of
    /// the projector's apply span when spans are exported).
    pub(crate) fn traced(self) {
        let Some(parent) = self.parent else {
            return;
        };
        let span = tracing::info_span!(
            "notifier.push",
            trace_id = %parent.trace_id_hex(),
            correlation_id = %self.correlation_id,
        );
        infra::telemetry::traces::continue_trace(&span, &parent);
        span.in_scope(|| tracing::debug!("pushed to a subscriber"));
    }
}
