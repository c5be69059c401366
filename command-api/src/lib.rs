//! # command-api — commands in, events out
//!
//! axum HTTP endpoints that turn requests into domain commands, decide them against the
//! stream's state and append the events to the log.
