//! # notifier — live updates
//!
//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`, [`protocol`]):
//! `myNotifications(after)`, `inboxChanged`, `approvalUpdated(id)`. The approval projection
//! publishes each change after it commits (`infra::bus`: in process for `erp up`, Redis
//! pub/sub across instances), and every notifier instance delivers to its own connections
//! what each connection's employee may see — recipients for the feed, inbox principals for
//! box changes, the domain's `visible_to` for documents.
//!
//! Routing: one task per instance reads the bus and hands each change only to the
//! subscriptions of its recipients, inbox principals or document (`hub.rs`).
//!
//! Resuming: every notification carries a cursor; `myNotifications(after: cursor)` first
//! replays the persisted feed since then, then continues live, skipping what it replayed.
//! Falling behind: the bus ring per subscriber is bounded; a subscriber that overflows it gets
//! one `resync: true` item (re-read, or resume from the last cursor) — never unbounded memory,
//! never a silent gap.

mod hub;
pub mod protocol;
mod schema;

pub use protocol::{router, sdl, NotifierConfig};
pub use schema::{feed_cursor, Sources};
