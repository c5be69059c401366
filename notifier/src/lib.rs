//! # notifier — live updates
//!
//! GraphQL subscriptions over WebSocket (graphql-ws), fanned out through Redis pub/sub.
