//! The shape every aggregate shares: a pure `decide` that turns a command into events (or a
//! typed error) against the current state, and a pure `evolve` that folds one event into state.
//! Whatever a decision needs from elsewhere (a delegation, a form template, a leave balance) is
//! looked up by the caller first and carried in the command.

/// An event-sourced aggregate.
pub trait Aggregate: Default + Clone {
    type Command;
    type Event: Clone;
    type Error: std::error::Error;

    /// Decides a command against the current state. Never mutates; never panics on bad input.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// Folds one event into the state. Events are facts: evolve accepts every event `decide`
    /// could have produced and ignores nothing silently.
    fn evolve(&mut self, event: &Self::Event);

    /// Rebuilds state from an event history.
    fn fold<'a, I>(events: I) -> Self
    where
        I: IntoIterator<Item = &'a Self::Event>,
        Self::Event: 'a,
    {
        let mut state = Self::default();
        for event in events {
            state.evolve(event);
        }
        state
    }
}

/// Stable wire identity of an event: a type name that never changes once published, and the
/// schema version of its payload (readers upcast older versions).
pub trait EventType {
    /// e.g. `approval.submitted`.
    fn event_type(&self) -> &'static str;
    /// Schema version of this event's payload.
    fn schema_version(&self) -> u16 {
        1
    }
}
