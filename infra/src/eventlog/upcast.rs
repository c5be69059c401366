//! Upcasting: events are stored in the schema version they were written with; readers lift
//! them step by step to the current version. Hashes cover the stored form, so upcasting never
//! disturbs chain verification.

use super::EventLogError;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Lifts a payload from schema version `n` to `n + 1`.
pub type Upcaster = Arc<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;

/// Upcasters by (event type, from version).
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: HashMap<(String, u16), Upcaster>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upcasters")
            .field("steps", &self.steps.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Upcasters {
    /// Registers the step from `from` to `from + 1` for `event_type`.
    pub fn register(
        mut self,
        event_type: &str,
        from: u16,
        step: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.steps.insert((event_type.to_owned(), from), Arc::new(step));
        self
    }

    /// No steps registered: every payload is read as stored.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Applies every registered step from `version` on.
    pub fn upcast(
        &self,
        event_type: &str,
        mut version: u16,
        mut payload: Value,
    ) -> Result<(u16, Value), EventLogError> {
        while let Some(step) = self.steps.get(&(event_type.to_owned(), version)) {
            payload =
                step(payload).map_err(|e| EventLogError::Codec(format!("upcasting {event_type} v{version}: {e}")))?;
            version += 1;
        }
        Ok((version, payload))
    }
}
