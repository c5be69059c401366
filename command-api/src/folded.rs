//! Folded aggregates kept by stream and version, so a command on a stream this process just
//! wrote does not read and fold the whole stream again.
//!
//! An entry answers only while the log says the stream is still at the entry's version
//! ([`EventLog::stream_version`](infra::eventlog::EventLog::stream_version)): a commit anyone
//! else wrote moves the version, and the next load reads the stream as it always did. A state
//! is kept after a load that read the stream, and after an append, folded with the appended
//! events decoded from the payloads as written — what a reader of the log decodes, since
//! upcasters only lift schema versions older than the ones the domain writes — so an entry is
//! always the fold of the stream's events up to its version. A log that cannot tell a
//! stream's version without reading it (Kafka) keeps nothing here.
//!
//! At most [`KEPT`] streams are kept; a new one past that lets an arbitrary one go. A state is
//! cloned for each command that takes it, outside the lock: for a stream whose state grows
//! with its history (a numbering sequence's assignments, a ledger) that is still far less
//! than reading and folding the history again.

use infra::eventlog::StreamRef;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Streams kept at most: a working set of documents, employees and ledgers being acted on.
/// Most states are a few KiB (an approval with its line and comments), so this is tens of
/// MiB; one that grows with its history (a year's numbering sequence) counts once.
pub const KEPT: usize = 4096;

/// The kept states, one per stream.
#[derive(Default)]
pub struct Folded {
    entries: Mutex<HashMap<StreamRef, Entry>>,
}

struct Entry {
    version: u64,
    state: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Folded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Folded").field("streams", &self.len()).finish()
    }
}

impl Folded {
    /// The state kept for `stream` at exactly `version`, if any.
    pub fn get<A: Clone + 'static>(&self, stream: &StreamRef, version: u64) -> Option<A> {
        let state = {
            let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            entries.get(stream).filter(|e| e.version == version)?.state.clone()
        };
        state.downcast_ref::<A>().cloned()
    }

    /// Keeps `state` as `stream`'s fold up to `version`, unless a later one is kept already.
    pub fn keep<A: Send + Sync + 'static>(&self, stream: &StreamRef, version: u64, state: A) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(kept) = entries.get(stream) {
            if kept.version >= version {
                return;
            }
        } else if entries.len() >= KEPT {
            if let Some(any) = entries.keys().next().cloned() {
                entries.remove(&any);
            }
        }
        entries.insert(
            stream.clone(),
            Entry {
                version,
                state: Arc::new(state),
            },
        );
    }

    /// Streams kept.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(i: usize) -> StreamRef {
        StreamRef::new("approval", format!("doc-{i}"))
    }

    #[test]
    fn a_state_answers_only_at_the_version_it_was_kept_at() {
        let folded = Folded::default();
        folded.keep(&stream(1), 3, String::from("at three"));

        assert_eq!(folded.get::<String>(&stream(1), 3), Some("at three".into()));
        assert_eq!(folded.get::<String>(&stream(1), 4), None);
        assert_eq!(folded.get::<String>(&stream(1), 2), None);
        assert_eq!(folded.get::<u64>(&stream(1), 3), None, "another type is not this state");
        assert_eq!(folded.get::<String>(&stream(2), 3), None);
    }

    #[test]
    fn an_older_state_never_replaces_a_newer_one() {
        let folded = Folded::default();
        folded.keep(&stream(1), 5, String::from("five"));
        folded.keep(&stream(1), 4, String::from("four"));
        folded.keep(&stream(1), 5, String::from("five again"));

        assert_eq!(folded.get::<String>(&stream(1), 5), Some("five".into()));
        folded.keep(&stream(1), 6, String::from("six"));
        assert_eq!(folded.get::<String>(&stream(1), 6), Some("six".into()));
    }

    #[test]
    fn past_the_bound_a_new_stream_lets_another_go() {
        let folded = Folded::default();
        for i in 0..KEPT + 10 {
            folded.keep(&stream(i), 1, i);
        }

        assert_eq!(folded.len(), KEPT);
        assert_eq!(folded.get::<usize>(&stream(KEPT + 9), 1), Some(KEPT + 9));
    }
}
