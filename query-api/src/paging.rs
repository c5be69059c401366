//! How much one request may read: page sizes of connections and the scan budget of filtered
//! lists. A leaf, read by the query root and by the node types' own connections.

use crate::error::bad_input;

/// The largest page any connection returns.
pub const MAX_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 20;
/// Documents a filtered list examines per request before it answers with what it found
/// (and `hasNextPage`), so one query cannot scan the whole store.
pub(crate) const SCAN_BUDGET: usize = 5_000;

/// The page size a connection's `first` asks for: the default without one, refused when
/// negative or above [`MAX_PAGE`].
pub(crate) fn page_size(first: Option<i32>) -> async_graphql::Result<usize> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n < 0 => Err(bad_input("`first` must not be negative")),
        Some(n) if n as usize > MAX_PAGE => Err(bad_input(format!("`first` is at most {MAX_PAGE}"))),
        Some(n) => Ok(n as usize),
    }
}
