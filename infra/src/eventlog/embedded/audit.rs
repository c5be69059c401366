//! Reading the log as stored, for audit tooling (`erp verify`, `erp export`), and the
//! explicit repair of a damaged log (`erp repair-log`).

use super::super::codec::CommitRecord;
use super::super::EventLogError;
use super::segments::{
    frame_at, is_torn_tail, lock_exclusively, segment_bases, segment_path, sync_dir, Frame, FRAME_HEADER,
};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// One record as stored, before any interpretation: its offset in the topic and either the
/// decoded record or why it could not be read (damaged frame, undecodable bytes).
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub offset: u64,
    pub record: Result<CommitRecord, String>,
}

/// Reads every frame of one stream type of an embedded log directory, read-only and without
/// the log's lock (so `erp verify` can run beside `erp up`). Frames that fail their CRC or do
/// not decode are reported, not repaired; scanning stops at a damaged frame (its length
/// cannot be trusted).
pub fn scan_topic(log_dir: &Path, stream_type: &str, mut visit: impl FnMut(RawRecord)) -> Result<(), EventLogError> {
    scan_frames(log_dir, stream_type, |offset, frame| {
        let record = frame.and_then(|bytes| CommitRecord::decode(bytes).map_err(|e| e.to_string()));
        visit(RawRecord { offset, record });
    })
}

/// As [`scan_topic`], handing over each frame's bytes undecoded (so decoding can be spread
/// over threads).
pub fn scan_frames(
    log_dir: &Path,
    stream_type: &str,
    mut visit: impl FnMut(u64, Result<&[u8], String>),
) -> Result<(), EventLogError> {
    scan_shared(log_dir, stream_type, |segment, offset, frame| {
        visit(offset, frame.map(|range| &segment[range]));
    })
}

/// As [`scan_frames`], handing over each frame as a range of its whole segment's bytes,
/// shared: a caller that spreads frames over threads sends the segment along, not copies of
/// its frames. A segment's buffer is filled again once every holder has let it go (a fresh
/// one costs a page fault per page).
pub fn scan_shared(
    log_dir: &Path,
    stream_type: &str,
    mut visit: impl FnMut(&Arc<Vec<u8>>, u64, Result<std::ops::Range<usize>, String>),
) -> Result<(), EventLogError> {
    let dir = log_dir.join(stream_type);
    let mut offset = 0u64;
    // The buffers of the last two segments: the one before may still be held by a reader.
    let mut buffers: [Arc<Vec<u8>>; 2] = Default::default();
    for base in segment_bases(&dir)? {
        let path = segment_path(&dir, base);
        buffers.swap(0, 1);
        if Arc::get_mut(&mut buffers[0]).is_none() {
            buffers[0] = Arc::default();
        }
        if let Some(data) = Arc::get_mut(&mut buffers[0]) {
            data.clear();
            std::io::Read::read_to_end(&mut fs::File::open(&path)?, data)?;
        }
        let data = &buffers[0];
        let mut pos = 0usize;
        loop {
            match frame_at(data, pos) {
                Frame::End => break,
                Frame::Whole { body, end } => {
                    let start = pos + FRAME_HEADER;
                    visit(data, offset, Ok(start..start + body.len()));
                    offset += 1;
                    pos = end;
                }
                Frame::Damaged(why) => {
                    visit(
                        data,
                        offset,
                        Err(format!("damaged frame ({why}) at byte {pos} of {}", path.display())),
                    );
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Stream types (topic directories) of an embedded log directory.
pub fn topics(log_dir: &Path) -> Result<Vec<String>, EventLogError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(log_dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// What a repair would drop of one frame: the commit it holds, as far as it can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedCommit {
    pub stream_id: String,
    pub first_version: u64,
    pub last_version: u64,
    pub commit_id: Uuid,
}

/// One frame a repair would drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedFrame {
    pub offset: u64,
    pub segment: PathBuf,
    pub byte: u64,
    /// The commit in the frame, or why it cannot be read.
    pub commit: Result<DroppedCommit, String>,
}

/// How [`apply_repair`] would repair one stream type: cut its log at the first damaged frame.
/// Offsets are positions, so every frame after the damaged one goes too; the cut bytes are
/// kept aside, never deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRepair {
    pub stream_type: String,
    /// The segment holding the damaged frame, and the byte the frame starts at.
    pub segment: PathBuf,
    pub byte: u64,
    /// The damaged frame's offset: the end of the log after the repair.
    pub offset: u64,
    /// What is wrong with the frame.
    pub why: String,
    /// The damaged frame and every frame after it, in offset order.
    pub dropped: Vec<DroppedFrame>,
    /// Bytes that could not be split into frames (a damaged length hides where the next
    /// frame starts); 0 when every dropped frame is listed.
    pub unframed_bytes: u64,
    /// Segments after the damaged one, dropped whole (renamed to `*.log.cut`).
    pub later_segments: Vec<PathBuf>,
    /// Where the bytes cut from the damaged segment are kept.
    pub saved_to: PathBuf,
}

/// Plans the repair of an embedded log directory, changing nothing: for each stream type
/// whose log would not open because of a damaged frame, what cutting it there drops. A torn
/// tail is not listed: opening the log truncates it by itself.
pub fn plan_repair(log_dir: &Path) -> Result<Vec<TopicRepair>, EventLogError> {
    let mut plan = Vec::new();
    for stream_type in topics(log_dir)? {
        if let Some(repair) = plan_topic_repair(log_dir, &stream_type)? {
            plan.push(repair);
        }
    }
    Ok(plan)
}

pub(super) fn plan_topic_repair(log_dir: &Path, stream_type: &str) -> Result<Option<TopicRepair>, EventLogError> {
    let dir = log_dir.join(stream_type);
    let bases = segment_bases(&dir)?;
    let mut offset = 0u64;
    for (i, base) in bases.iter().enumerate() {
        let path = segment_path(&dir, *base);
        let data = fs::read(&path)?;
        let mut pos = 0usize;
        let why = loop {
            match frame_at(&data, pos) {
                Frame::End => break None,
                Frame::Whole { end, .. } => {
                    offset += 1;
                    pos = end;
                }
                Frame::Damaged(why) => break Some(why),
            }
        };
        let Some(why) = why else { continue };
        let later = &bases[i + 1..];
        if later.is_empty() && is_torn_tail(&data, pos) {
            return Ok(None);
        }
        let mut dropped = Vec::new();
        let mut unframed_bytes = frames_from(&data, pos, offset, &path, &mut dropped);
        for base in later {
            let later_path = segment_path(&dir, *base);
            unframed_bytes += frames_from(&fs::read(&later_path)?, 0, *base, &later_path, &mut dropped);
        }
        let saved_to = dir.join(format!("{base:020}.log.cut-at-{pos}"));
        return Ok(Some(TopicRepair {
            stream_type: stream_type.to_owned(),
            segment: path,
            byte: pos as u64,
            offset,
            why: why.to_owned(),
            dropped,
            unframed_bytes,
            later_segments: later.iter().map(|b| segment_path(&dir, *b)).collect(),
            saved_to,
        }));
    }
    Ok(None)
}

/// Lists the frames of a segment from byte `pos` (numbered from `offset`) into `out`. A
/// damaged frame is stepped over when its length leads to a whole frame (or the end), as
/// after a flipped bit in its body; otherwise the rest cannot be split into frames and its
/// size is returned.
pub(super) fn frames_from(
    data: &[u8],
    mut pos: usize,
    mut offset: u64,
    path: &Path,
    out: &mut Vec<DroppedFrame>,
) -> u64 {
    loop {
        let (commit, next) = match frame_at(data, pos) {
            Frame::End => return 0,
            Frame::Whole { body, end } => {
                let commit = CommitRecord::decode(body)
                    .map(|r| DroppedCommit {
                        first_version: r.first_version,
                        last_version: r.last_version(),
                        stream_id: r.stream_id,
                        commit_id: r.commit_id,
                    })
                    .map_err(|e| format!("does not decode: {e}"));
                (commit, end)
            }
            Frame::Damaged(why) => {
                let next = data
                    .get(pos..pos + 4)
                    .and_then(|len| len.try_into().ok())
                    .map(|len| pos + FRAME_HEADER + u32::from_le_bytes(len) as usize)
                    .filter(|next| {
                        *next <= data.len() && matches!(frame_at(data, *next), Frame::End | Frame::Whole { .. })
                    });
                match next {
                    Some(next) if next > pos + FRAME_HEADER => (Err(why.to_owned()), next),
                    _ => {
                        out.push(DroppedFrame {
                            offset,
                            segment: path.to_owned(),
                            byte: pos as u64,
                            commit: Err(format!("{why}; where the frames after it start is unknown")),
                        });
                        return (data.len() - pos) as u64;
                    }
                }
            }
        };
        out.push(DroppedFrame {
            offset,
            segment: path.to_owned(),
            byte: pos as u64,
            commit,
        });
        offset += 1;
        pos = next;
    }
}

/// Carries out a plan from [`plan_repair`], with the log closed (it takes the log's lock), and
/// only if planning again gives the same plan. For each stream type: keeps the cut bytes in
/// `saved_to`, renames later segments to `*.log.cut`, then truncates the damaged segment.
/// Projections that read past a cut must be rebuilt: the offsets will be used again.
pub fn apply_repair(log_dir: &Path, plan: &[TopicRepair]) -> Result<(), EventLogError> {
    let _lock = lock_exclusively(log_dir)?;
    if plan_repair(log_dir)? != plan {
        return Err(EventLogError::Unavailable(
            "the log changed since this repair was planned; plan it again".into(),
        ));
    }
    for repair in plan {
        let data = fs::read(&repair.segment)?;
        let cut = data.get(repair.byte as usize..).unwrap_or_default();
        keep_aside(&repair.saved_to, cut)?;
        for later in &repair.later_segments {
            fs::rename(later, later.with_extension("log.cut"))?;
        }
        if let Some(dir) = repair.segment.parent() {
            sync_dir(dir)?;
        }
        let file = OpenOptions::new().write(true).open(&repair.segment)?;
        file.set_len(repair.byte)?;
        file.sync_all()?;
        tracing::warn!(stream_type = %repair.stream_type, segment = %repair.segment.display(), byte = repair.byte,
                       dropped = repair.dropped.len(), saved_to = %repair.saved_to.display(), "log repaired");
    }
    Ok(())
}

/// Writes `bytes` to a new file, durably. A file already holding exactly these bytes (a repair
/// interrupted after saving them) is kept as it is.
pub(super) fn keep_aside(path: &Path, bytes: &[u8]) -> Result<(), EventLogError> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut file) => {
            file.write_all(bytes)?;
            file.sync_all()?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && fs::read(path)? == bytes => Ok(()),
        Err(e) => Err(EventLogError::Io(format!(
            "keeping the cut bytes in {}: {e}",
            path.display()
        ))),
    }
}
