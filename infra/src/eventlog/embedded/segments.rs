//! Segment files and their frames: naming, durable directories, recovery of a torn tail,
//! and the lock that keeps a second process out of the log directory.

use super::super::chain::Admission;
use super::super::codec::CommitRecord;
use super::super::{EventLogError, Position};
use super::index::{Index, Loc};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

/// Bytes before each frame's record: length and CRC-32, little-endian.
pub(super) const FRAME_HEADER: usize = 8;
/// A single commit record may not exceed this (guards recovery against garbage lengths).
pub(super) const MAX_RECORD_BYTES: u32 = 16 * 1024 * 1024;

/// Appends one record's frame — its length and CRC-32 (the header), then its bytes — as the
/// writer lays frames out in a segment.
pub(super) fn push_frame(bytes: &mut Vec<u8>, record: &[u8]) {
    bytes.extend_from_slice(&(record.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
    bytes.extend_from_slice(record);
}

pub(super) fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

pub(super) fn segment_bases(dir: &Path) -> Result<Vec<u64>, EventLogError> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(base) = name.strip_suffix(".log").and_then(|b| b.parse::<u64>().ok()) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` (and missing parents) so that it survives a crash: a new directory's entry
/// is durable only once its parent directory is synced.
pub(super) fn create_dir_durably(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_durably(parent)?;
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Scans one segment into the index; truncates a torn tail of the last segment and refuses
/// any other damage.
pub(super) fn recover_segment(
    name: &str,
    path: &Path,
    segment: usize,
    is_last: bool,
    index: &mut Index,
) -> Result<(), EventLogError> {
    let data = fs::read(path)?;
    let mut pos = 0usize;
    loop {
        let (body, end) = match frame_at(&data, pos) {
            Frame::End => return Ok(()),
            Frame::Whole { body, end } => (body, end),
            Frame::Damaged(why) if is_last && is_torn_tail(&data, pos) => {
                tracing::warn!(topic = name, segment = %path.display(), at = pos, dropped = data.len() - pos, why, "truncating torn tail");
                let file = OpenOptions::new().write(true).open(path)?;
                file.set_len(pos as u64)?;
                file.sync_all()?;
                return Ok(());
            }
            Frame::Damaged(why) => {
                return Err(EventLogError::Corrupt(format!(
                    "{name}: damaged frame ({why}) at byte {pos} of {}, record offset {}; {} bytes follow it, \
                     which may hold acknowledged commits. Nothing was changed: `erp repair-log` lists \
                     what a repair would drop",
                    path.display(),
                    index.records.len(),
                    data.len() - pos
                )))
            }
        };
        let offset = index.records.len() as u64;
        let record = CommitRecord::decode(body).map_err(|e| {
            EventLogError::Corrupt(format!(
                "{name}: record offset {offset} at byte {pos} of {} does not decode: {e}",
                path.display()
            ))
        })?;
        index.records.push(Loc {
            segment,
            pos: pos as u64,
            len: body.len() as u32,
        });
        if index.heads.admit(&record) == Admission::Accepted {
            index.streams.entry(record.stream_id.clone()).or_default().push(offset);
            let position = Position {
                stream_type: name.to_owned(),
                partition: 0,
                offset,
            };
            index.commands.insert(record.command_id, record.appended_at(position));
        }
        pos = end;
    }
}

/// What is at a byte position of a segment.
pub(super) enum Frame<'a> {
    /// The segment ends here.
    End,
    /// A whole frame whose checksum matches: its body, and where the next frame starts.
    Whole { body: &'a [u8], end: usize },
    /// No valid frame: why not.
    Damaged(&'static str),
}

/// Why a frame that the end of the bytes read cuts short is damaged.
const TORN_HEADER: &str = "torn frame header";
const RUNS_PAST_END: &str = "frame runs past the end of the segment";

impl Frame<'_> {
    /// Damaged only because the bytes end inside it (its header, or the body its header
    /// announces): a reader that stopped early holds the rest further on.
    pub(super) fn is_cut_short(&self) -> bool {
        matches!(self, Self::Damaged(why) if *why == TORN_HEADER || *why == RUNS_PAST_END)
    }
}

pub(super) fn frame_at(data: &[u8], pos: usize) -> Frame<'_> {
    let Some(rest) = data.get(pos..).filter(|rest| !rest.is_empty()) else {
        return Frame::End;
    };
    let Some((header, rest)) = rest.split_first_chunk::<FRAME_HEADER>() else {
        return Frame::Damaged(TORN_HEADER);
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    // An empty frame is never written (a record is never empty), and zeros would pass the
    // checksum: the CRC-32 of nothing is 0.
    if len == 0 {
        return Frame::Damaged("empty frame");
    }
    if len > MAX_RECORD_BYTES {
        return Frame::Damaged("length beyond the largest record");
    }
    let Some(body) = rest.get(..len as usize) else {
        return Frame::Damaged(RUNS_PAST_END);
    };
    if crc32fast::hash(body) != crc {
        return Frame::Damaged("checksum mismatch");
    }
    Frame::Whole {
        body,
        end: pos + FRAME_HEADER + body.len(),
    }
}

/// Whether damage at `pos` is what a crash mid-write leaves at the end of the last segment:
/// part of a frame, then nothing but zeros (space the file grew by whose data never reached
/// the disk). A damaged frame followed by anything else is corruption.
pub(super) fn is_torn_tail(data: &[u8], pos: usize) -> bool {
    let rest = &data[pos..];
    let zeros = |bytes: &[u8]| bytes.iter().all(|b| *b == 0);
    let Some(header) = rest.first_chunk::<4>() else {
        return true;
    };
    let len = u32::from_le_bytes(*header);
    let claimed_end = FRAME_HEADER.saturating_add(len as usize).min(rest.len());
    zeros(rest) || (len <= MAX_RECORD_BYTES && zeros(&rest[claimed_end..]))
}

/// A record's bytes, refused when larger than a frame may be.
pub(super) fn encode_bounded(record: &CommitRecord) -> Result<Vec<u8>, EventLogError> {
    let encoded = record.encode()?;
    if encoded.len() > MAX_RECORD_BYTES as usize {
        return Err(EventLogError::Codec("commit larger than 16 MiB".into()));
    }
    Ok(encoded)
}

/// Takes the log directory's lock, held while the returned file is open.
pub(super) fn lock_exclusively(dir: &Path) -> Result<File, EventLogError> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))?;
    if let Err(e) = lock.try_lock() {
        return Err(EventLogError::Unavailable(format!(
            "the log in {} is open in another process (is `erp up` running?): {e}",
            dir.display()
        )));
    }
    Ok(lock)
}
