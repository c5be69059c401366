//! Reads kept for a moment, so that a burst of requests reads a record once instead of once
//! per request: the signed-in employee (their record and delegations, two statements of the
//! six or so an `approval(id)` query made) and the employees a page names.
//!
//! An entry answers only while its source's generation is the one it was read at and for at
//! most [`KeptReads::TTL`]. The org read model counts the write transactions it commits
//! (projection batches, replay swaps; `SqlReadModel::writes_committed`), so in one process —
//! `erp up`, or a query API instance that projects too — a deactivation, a lost role, a
//! revoked delegation or a renamed employee ends the kept entry with the batch that records
//! it. Writes by another process (the distributed roles' projectors) and delegations that
//! open or close with the clock show within the TTL. A source that cannot tell its generation
//! is never kept from. The generation is read before the source: a write that lands during
//! the read leaves the entry marked with the generation before it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What was read, when and at which generation.
type Kept<T> = (T, Instant, u64);

/// What was read per key, each with when and at which generation it was read.
pub struct KeptReads<K, T> {
    entries: Mutex<HashMap<K, Kept<T>>>,
}

impl<K, T> Default for KeptReads<K, T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, T> std::fmt::Debug for KeptReads<K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.entries.lock().map_or(0, |entries| entries.len());
        f.debug_struct("KeptReads").field("kept", &kept).finish()
    }
}

impl<K: Hash + Eq, T: Clone> KeptReads<K, T> {
    /// The longest an entry answers.
    pub const TTL: Duration = Duration::from_secs(1);
    /// Entries kept at most; past it the cache starts over (it refills within a TTL).
    const MAX: usize = 10_000;

    /// What was read for `key` at `generation` less than a TTL ago.
    pub fn get<Q>(&self, key: &Q, generation: u64) -> Option<T>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (kept, read_at, read_gen) = entries.get(key)?;
        (*read_gen == generation && read_at.elapsed() < Self::TTL).then(|| kept.clone())
    }

    /// Keeps what was read for `key` at `generation`.
    pub fn put(&self, key: K, kept: &T, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= Self::MAX {
            entries.clear();
        }
        entries.insert(key, (kept.clone(), Instant::now(), generation));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_answers_at_the_generation_it_was_read_at_and_no_other() {
        let kept = KeptReads::<String, u32>::default();
        kept.put("a".into(), &1, 7);
        assert_eq!(kept.get(&"a".to_owned(), 7), Some(1));
        assert_eq!(kept.get(&"a".to_owned(), 8), None, "a write since");
        assert_eq!(kept.get(&"b".to_owned(), 7), None);
    }

    #[test]
    fn past_its_bound_it_starts_over() {
        let kept = KeptReads::<usize, usize>::default();
        for n in 0..KeptReads::<usize, usize>::MAX {
            kept.put(n, &n, 1);
        }
        assert_eq!(kept.get(&0, 1), Some(0));
        kept.put(usize::MAX, &0, 1);
        assert_eq!(kept.get(&0, 1), None, "started over");
        assert_eq!(kept.get(&usize::MAX, 1), Some(0));
    }
}
