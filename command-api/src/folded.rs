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
//! stream's version without reading it keeps nothing here (Kafka, while the partition's owner
//! cannot say: restoring, moving, unreachable; otherwise the owner tells it from its heads,
//! to itself or to another instance asking over `/internal/log`).
//!
//! At most [`KEPT`] streams are kept. Past that a new one takes the place of one not used
//! since the clock's hand last passed it (second chance, an approximation of least recently
//! used): the streams commands keep coming back to — the callers' own employee streams, a
//! busy document — stay while a stream of new drafts, each kept once, passes through.
//! (Letting an arbitrary one go let the same few go again and again: a map gives up its
//! entries in bucket order, and a stream read back lands in its old bucket.) A state is
//! cloned for each command that takes it, outside the lock: for a stream whose state grows
//! with its history (a numbering sequence's assignments, a ledger) that is still far less
//! than reading and folding the history again.

use infra::eventlog::StreamRef;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Streams kept at most: a working set of documents, employees and ledgers being acted on.
/// Most states are a few KiB (an approval with its line and comments), so this is tens of
/// MiB; one that grows with its history (a year's numbering sequence) counts once.
pub const KEPT: usize = 4096;

/// The kept states, one per stream.
#[derive(Default)]
pub struct Folded {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    entries: HashMap<StreamRef, Entry>,
    /// Every kept stream once, in the order the clock's hand visits them.
    ring: Vec<StreamRef>,
    hand: usize,
}

struct Entry {
    version: u64,
    state: Arc<dyn Any + Send + Sync>,
    /// Used since the hand last passed: spared once, and cleared.
    used: bool,
}

impl Kept {
    /// Makes room for one more: the first stream at or after the hand not used since the hand
    /// last passed it goes (at most one turn: a turn clears every mark), and its place in the
    /// ring is returned for the new one.
    fn let_one_go(&mut self) -> usize {
        loop {
            let at = self.hand % self.ring.len();
            self.hand = at + 1;
            match self.entries.get_mut(&self.ring[at]) {
                Some(entry) if entry.used => entry.used = false,
                _ => {
                    self.entries.remove(&self.ring[at]);
                    return at;
                }
            }
        }
    }
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
            let mut kept = self.lock();
            let entry = kept.entries.get_mut(stream).filter(|e| e.version == version)?;
            entry.used = true;
            entry.state.clone()
        };
        state.downcast_ref::<A>().cloned()
    }

    /// Keeps `state` as `stream`'s fold up to `version`, unless a later one is kept already.
    pub fn keep<A: Send + Sync + 'static>(&self, stream: &StreamRef, version: u64, state: A) {
        // A state replaced or refused is dropped after the lock (a large one takes a while).
        let _dropped = self.keep_locked(stream, version, Arc::new(state));
    }

    /// [`Self::keep`] under the lock; returns the state that is no longer kept, if any.
    fn keep_locked(
        &self,
        stream: &StreamRef,
        version: u64,
        state: Arc<dyn Any + Send + Sync>,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        let mut kept = self.lock();
        if let Some(entry) = kept.entries.get_mut(stream) {
            if entry.version >= version {
                return Some(state);
            }
            let before = std::mem::replace(
                entry,
                Entry {
                    version,
                    state,
                    used: true,
                },
            );
            return Some(before.state);
        }
        if kept.entries.len() >= KEPT {
            let at = kept.let_one_go();
            kept.ring[at] = stream.clone();
        } else {
            kept.ring.push(stream.clone());
        }
        let entry = Entry {
            version,
            state,
            used: false,
        };
        kept.entries.insert(stream.clone(), entry);
        None
    }

    /// Streams kept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
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

    #[test]
    fn streams_used_on_every_command_stay_while_new_drafts_pass_through() {
        let folded = Folded::default();
        let callers: Vec<StreamRef> = (0..50)
            .map(|i| StreamRef::new("employee", format!("emp-{i}")))
            .collect();
        for (i, caller) in callers.iter().enumerate() {
            folded.keep(caller, 1, i);
        }
        // Ten times the bound of new documents, each written by a caller who signs in first.
        for i in 0..10 * KEPT {
            let caller = &callers[i % callers.len()];
            assert!(
                folded.get::<usize>(caller, 1).is_some(),
                "{caller} let go after {i} new drafts"
            );
            folded.keep(&stream(i), 1, i);
        }
        assert_eq!(folded.len(), KEPT);
    }
}
