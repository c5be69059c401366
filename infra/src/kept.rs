//! Signed-in employees kept for a moment, so that a burst of requests from one employee reads
//! their record and delegations once instead of once per request (two statements of the
//! six or so an `approval(id)` query makes).
//!
//! An entry answers only while the source's [`Accounts::generation`] is the one it was read
//! at and for at most [`ViewerCache::TTL`]. The org read model counts the write transactions
//! it commits (projection batches, replay swaps), so in one process — `erp up`, or a query
//! API instance that projects too — a deactivation, a lost role or a revoked delegation ends
//! the cached entry with the batch that records it. Writes by another process (the
//! distributed roles' projectors) and delegations that open or close with the clock reach
//! sign-in within the TTL. Sources that cannot tell (`None`) are never cached.
//!
//! [`Accounts::generation`]: super::Accounts::generation

use domain::ids::EmployeeId;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What was read for an employee (their principal), when and at which generation.
type Kept<T> = (T, Instant, u64);

/// What sign-in read per employee, each with when and at which generation it was read.
pub(super) struct ViewerCache<T> {
    entries: Mutex<HashMap<EmployeeId, Kept<T>>>,
}

impl<T> Default for ViewerCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> std::fmt::Debug for ViewerCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.entries.lock().map_or(0, |entries| entries.len());
        f.debug_struct("ViewerCache").field("kept", &kept).finish()
    }
}

impl<T: Clone> ViewerCache<T> {
    /// The longest an entry answers.
    pub(super) const TTL: Duration = Duration::from_secs(1);
    /// Entries kept at most; past it the cache starts over (it refills within a TTL).
    const MAX: usize = 10_000;

    /// What was read for `id` at `generation` less than a TTL ago.
    pub(super) fn get(&self, id: EmployeeId, generation: u64) -> Option<T> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (kept, read_at, read_gen) = entries.get(&id)?;
        (*read_gen == generation && read_at.elapsed() < Self::TTL).then(|| kept.clone())
    }

    /// Keeps what was read for `id` at `generation`.
    pub(super) fn put(&self, id: EmployeeId, kept: &T, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= Self::MAX {
            entries.clear();
        }
        entries.insert(id, (kept.clone(), Instant::now(), generation));
    }
}
