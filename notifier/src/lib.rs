//! # notifier — live updates
//!
//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`, [`protocol`]):
//! `myNotifications(after)`, `inboxChanged`, `approvalUpdated(id)`, `hrChanged(topics)`. The
//! approval projection and the HR side's projections (attendance, leave, quests) publish each
//! change after it commits (`infra::bus`: in process for `erp up`, Redis pub/sub across
//! instances), and every notifier instance delivers to its own connections what each
//! connection's employee may see — recipients for the feed, inbox principals for box changes,
//! the domain's `visible_to` for documents, and for HR records the employee's own, a head's
//! departments' and, for HR admins and auditors, everyone's.
//!
//! Routing: one task per instance reads the bus and hands each change only to the
//! subscriptions of its recipients, inbox principals or document (`hub.rs`); a route exists
//! while someone listens, and a document's only once the listener may see it. A route's
//! queue holds memory only while changes wait on it (`ring.rs`).
//!
//! Still allowed? The token is checked at `connection_init`; after that, connected employees
//! are re-read every few seconds (`sessions.rs`), so a revoked delegation, a lost role or a
//! deactivation trims or ends subscriptions and connections within seconds, not at token
//! expiry. Subscriptions per connection and connections per employee are bounded (4429).
//!
//! Resuming: every notification carries a cursor; `myNotifications(after: cursor)` first
//! replays the persisted feed since then, then continues live, skipping what it replayed.
//! Falling behind: the bus ring per subscriber is bounded; a subscriber that overflows it gets
//! one `resync: true` item (re-read, or resume from the last cursor) — never unbounded memory,
//! never a silent gap.
//!
//! Measured: connections and subscriptions by field (gauges), pushes and their latency from
//! the bus, overflows and resyncs (`erp_notifier_*`); readiness is the bus answering
//! ([`Sources::ready`]).

mod hub;
pub mod protocol;
mod push_trace;
mod ring;
mod schema;
mod sessions;
mod subscriptions;

pub use protocol::{router, sdl, NotifierConfig};
pub use schema::{feed_cursor, Sources};
