//! The in-memory index of one topic, rebuilt on open: where each offset's frame lies, each
//! stream's offsets, the stream heads and the command ids seen.

use super::super::chain::StreamHeads;
use super::super::Appended;
use std::collections::HashMap;
use uuid::Uuid;

/// Where one frame lies: its segment, its byte position in it and its length.
#[derive(Debug, Clone, Copy)]
pub(super) struct Loc {
    pub(super) segment: usize,
    pub(super) pos: u64,
    pub(super) len: u32,
}

/// Offsets to frames, streams to offsets, heads and command ids.
#[derive(Default)]
pub(super) struct Index {
    pub(super) records: Vec<Loc>,
    pub(super) streams: HashMap<String, Vec<u64>>,
    pub(super) heads: StreamHeads,
    pub(super) commands: HashMap<Uuid, Appended>,
}
