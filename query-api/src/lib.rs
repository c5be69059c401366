//! # query-api — GraphQL reads
//!
//! async-graphql over axum: inbox, documents, timeline, time travel, org chart.
