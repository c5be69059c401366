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

use super::Principal;
use domain::ids::EmployeeId;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A principal, when it was read and at which generation.
type Kept<D> = (Principal<D>, Instant, u64);

/// Principals by employee, each with when and at which generation it was read.
pub(super) struct ViewerCache<D> {
    entries: Mutex<HashMap<EmployeeId, Kept<D>>>,
}

impl<D> Default for ViewerCache<D> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<D> std::fmt::Debug for ViewerCache<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.entries.lock().map_or(0, |entries| entries.len());
        f.debug_struct("ViewerCache").field("kept", &kept).finish()
    }
}

impl<D: Clone> ViewerCache<D> {
    /// The longest an entry answers.
    pub(super) const TTL: Duration = Duration::from_secs(1);
    /// Entries kept at most; past it the cache starts over (it refills within a TTL).
    const MAX: usize = 10_000;

    /// The principal read for `id` at `generation` less than a TTL ago.
    pub(super) fn get(&self, id: EmployeeId, generation: u64) -> Option<Principal<D>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (principal, read_at, read_gen) = entries.get(&id)?;
        (*read_gen == generation && read_at.elapsed() < Self::TTL).then(|| principal.clone())
    }

    /// Keeps `principal`, read at `generation`.
    pub(super) fn put(&self, principal: &Principal<D>, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= Self::MAX {
            entries.clear();
        }
        entries.insert(principal.actor.id, (principal.clone(), Instant::now(), generation));
    }
}
