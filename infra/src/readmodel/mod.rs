//! # Read models: what projections write and queries read
//!
//! - [`projection`](mod@projection): the projections, each folding one stream type;
//! - [`rows`]: the typed rows of every table, and the shapes queries answer with;
//! - [`fold`]: what one commit changes, as typed rows — store-independent, so both stores
//!   write what one fold produced;
//! - [`ports`]: the approval views port ([`ApprovalViews`]) and what its stores share;
//! - [`sql`]: the employee read model (employees, departments, delegations, leave balances and
//!   their ledger) and the approval views (document, timeline, inbox boxes, notification feed)
//!   in SQL — MySQL 8 / MariaDB 10.11 in the distributed deployment, SQLite in the embedded
//!   default — through one sqlx `Any` code path, so both run the same statements;
//! - [`mongo`]: the approval views on MongoDB for the distributed deployment;
//! - [`queries`]: the records and filters readers use; [`lag`]: how far a projection is
//!   behind, and the read-your-writes wait.
//!
//! Every projection write is one transaction holding the rows, the per-stream guard (version
//! and folded state) and the projection's checkpoint: a redelivered commit finds its version
//! already applied and changes nothing, and a crash loses either the whole batch or nothing.
//!
//! Checkpoints are kept per partition, and a follower's batch (`apply_from`) checks and moves
//! only the partitions it touches ([`moved_partitions`]): several projector instances that
//! share a projection's partitions (a consumer group, see `projector`) write side by side, and
//! an instance that lost a partition while writing a batch of it finds that partition's
//! position moved and writes nothing, so a partition's position never goes back and no commit
//! is applied twice.

pub mod change;
pub mod decoded;
pub mod fold;
pub mod lag;
pub mod mongo;
mod ports;
mod projection;
pub mod queries;
pub mod rows;
pub mod sql;

pub use ports::{moved_partitions, Applied, ApprovalViews, Dump, MongoShadow, Shadow, SqlShadow, StoreError};
pub use projection::{projections_of, Projection};
pub use rows::{FeedEntry, InboxItem, TimelineEntry};

/// `items` cut into runs of at most `count` items and `bytes` by `size` (a single item larger
/// than `bytes` goes alone), in order: what one statement or command may carry, for every
/// store that writes many rows or documents at once.
pub(crate) fn cut_by_size<T>(items: &[T], count: usize, bytes: usize, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut cut = Vec::new();
    let (mut start, mut taken) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        let item_bytes = size(item);
        if i > start && (i - start == count || taken + item_bytes > bytes) {
            cut.push(&items[start..i]);
            (start, taken) = (i, 0);
        }
        taken += item_bytes;
    }
    if start < items.len() {
        cut.push(&items[start..]);
    }
    cut
}
