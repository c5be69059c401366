//! # projector — the read side
//!
//! Consumer groups on the event log that build the employee read model (MySQL/SQLite) and the
//! approval views, inboxes and notification feeds (MongoDB/SQLite).
