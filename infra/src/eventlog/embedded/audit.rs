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

/// As [`scan_frames`], handing over each frame as a range of a shared buffer holding it: a
/// caller that spreads frames over threads sends the buffer along, not copies of its frames.
///
/// A segment is read [`PIECE`] bytes at a time, a frame cut by a piece's end carried over to
/// the next, and a piece's buffer is filled again once every holder has let it go: fresh
/// memory costs a page fault per page, so a whole segment read into fresh buffers costs
/// more than its hashing's share.
pub fn scan_shared(
    log_dir: &Path,
    stream_type: &str,
    visit: impl FnMut(&Arc<Vec<u8>>, u64, Result<std::ops::Range<usize>, String>),
) -> Result<(), EventLogError> {
    scan_in_pieces(log_dir, stream_type, PIECE, visit)
}

/// [`scan_shared`] reading `piece_bytes` at a time (at least one).
fn scan_in_pieces(
    log_dir: &Path,
    stream_type: &str,
    piece_bytes: usize,
    mut visit: impl FnMut(&Arc<Vec<u8>>, u64, Result<std::ops::Range<usize>, String>),
) -> Result<(), EventLogError> {
    let piece_bytes = piece_bytes.max(1);
    let dir = log_dir.join(stream_type);
    let mut offset = 0u64;
    let mut pieces = Pieces::default();
    for base in segment_bases(&dir)? {
        let path = segment_path(&dir, base);
        let mut file = fs::File::open(&path)?;
        // Where in the segment the current piece starts, and the cut frame it starts with.
        let (mut start_in_segment, mut carried) = (0usize, 0..0);
        let mut previous: Option<Arc<Vec<u8>>> = None;
        loop {
            let mut data = pieces.take(piece_bytes);
            if let Some(previous) = previous.take() {
                data.extend_from_slice(&previous[carried.clone()]);
            }
            // A piece stays within its capacity unless one frame is larger than half of it.
            let want = if data.len() < piece_bytes / 2 {
                piece_bytes - data.len()
            } else {
                piece_bytes
            };
            let read = std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, want as u64), &mut data)?;
            let last = read < want;
            let piece = Arc::new(data);
            let data = &piece[..];
            let mut pos = 0usize;
            loop {
                match frame_at(data, pos) {
                    Frame::End => break,
                    Frame::Whole { body, end } => {
                        let start = pos + FRAME_HEADER;
                        let range = start..start + body.len();
                        offset += 1;
                        pos = end;
                        visit(&piece, offset - 1, Ok(range));
                    }
                    // The next piece holds the rest (a header is judged there, whole).
                    frame if !last && frame.is_cut_short() => break,
                    Frame::Damaged(why) => {
                        let at = start_in_segment + pos;
                        visit(
                            &piece,
                            offset,
                            Err(format!("damaged frame ({why}) at byte {at} of {}", path.display())),
                        );
                        return Ok(());
                    }
                }
            }
            if last {
                break;
            }
            carried = pos..piece.len();
            start_in_segment += pos;
            previous = Some(pieces.give_back(piece, piece_bytes));
        }
    }
    Ok(())
}

/// Bytes of a segment read at a time by [`scan_shared`].
const PIECE: usize = 4 << 20;

/// The buffers [`scan_shared`] reads pieces into, kept to be filled again.
#[derive(Default)]
struct Pieces {
    kept: Vec<Arc<Vec<u8>>>,
}

impl Pieces {
    /// Pieces kept at most: more are in use only while a caller holds that many.
    const KEPT: usize = 32;

    /// An empty buffer: a kept one no one holds any more, else a fresh one.
    fn take(&mut self, capacity: usize) -> Vec<u8> {
        let free = self.kept.iter_mut().position(|piece| Arc::get_mut(piece).is_some());
        let mut data = free
            .and_then(|at| Arc::try_unwrap(self.kept.swap_remove(at)).ok())
            .unwrap_or_else(|| Vec::with_capacity(capacity));
        data.clear();
        data
    }

    /// Keeps `piece` for a later [`Self::take`] (and hands it back, for the frame it cuts),
    /// unless a frame larger than a piece grew it: that one goes once it has been read.
    fn give_back(&mut self, piece: Arc<Vec<u8>>, piece_bytes: usize) -> Arc<Vec<u8>> {
        if self.kept.len() < Self::KEPT && piece.capacity() <= 2 * piece_bytes {
            self.kept.push(piece.clone());
        }
        piece
    }
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

#[cfg(test)]
mod tests {
    use super::super::segments::push_frame;
    use super::*;

    /// A segment of framed bodies as the writer lays them out, some larger than the pieces
    /// the tests read in; `damage` flips a bit in that frame's body.
    fn segment(dir: &Path, base: u64, bodies: &[Vec<u8>], damage: Option<usize>) -> Vec<usize> {
        let (mut bytes, mut starts) = (Vec::new(), Vec::new());
        for (i, body) in bodies.iter().enumerate() {
            starts.push(bytes.len());
            push_frame(&mut bytes, body);
            if damage == Some(i) {
                bytes[starts[i] + FRAME_HEADER] ^= 1;
            }
        }
        fs::create_dir_all(dir).unwrap();
        fs::write(segment_path(dir, base), bytes).unwrap();
        starts
    }

    fn bodies(count: usize, seed: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| vec![b'a' + (i % 26) as u8; 1 + (i * 37 + seed) % 300])
            .collect()
    }

    /// Every frame's offset and bytes (or why it is damaged), read `piece` bytes at a time.
    fn read(log: &Path, piece: usize) -> Vec<(u64, Result<Vec<u8>, String>)> {
        let mut seen = Vec::new();
        scan_in_pieces(log, "doc", piece, |data, offset, frame| {
            seen.push((offset, frame.map(|range| data[range].to_vec())))
        })
        .unwrap();
        seen
    }

    #[test]
    fn frames_cut_by_a_pieces_end_are_read_whole_whatever_the_piece_size() {
        let log = tempfile::tempdir().unwrap();
        let (first, second) = (bodies(40, 0), bodies(25, 11));
        segment(&log.path().join("doc"), 0, &first, None);
        segment(&log.path().join("doc"), 40, &second, None);
        let expected: Vec<_> = first
            .iter()
            .chain(&second)
            .enumerate()
            .map(|(offset, body)| (offset as u64, Ok(body.clone())))
            .collect();
        for piece in [9, 64, 301, 1000, PIECE] {
            assert_eq!(read(log.path(), piece), expected, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn a_segment_ending_exactly_where_a_piece_ends_is_read_once() {
        let log = tempfile::tempdir().unwrap();
        let frames = bodies(6, 2);
        segment(&log.path().join("doc"), 0, &frames, None);
        let size = fs::metadata(segment_path(&log.path().join("doc"), 0)).unwrap().len() as usize;
        let expected: Vec<_> = (0u64..).zip(frames.iter().map(|b| Ok(b.clone()))).collect();
        for piece in [size, size / 2, size / 3] {
            assert_eq!(read(log.path(), piece), expected, "pieces of {piece} of {size} bytes");
        }
    }

    #[test]
    fn a_header_announcing_too_long_a_frame_says_so_even_when_a_piece_cuts_it() {
        let log = tempfile::tempdir().unwrap();
        let starts = segment(&log.path().join("doc"), 0, &bodies(8, 1), None);
        let path = segment_path(&log.path().join("doc"), 0);
        let mut bytes = fs::read(&path).unwrap();
        bytes[starts[5]..starts[5] + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        fs::write(&path, &bytes).unwrap();
        let at = format!(
            "damaged frame (length beyond the largest record) at byte {} of",
            starts[5]
        );
        // Every piece size that ends a piece somewhere inside that header.
        for piece in (1..40).chain([PIECE]) {
            let seen = read(log.path(), piece);
            assert_eq!(seen.len(), 6, "pieces of {piece} bytes");
            assert!(
                seen[5].1.as_ref().unwrap_err().contains(&at),
                "pieces of {piece}: {:?}",
                seen[5].1
            );
        }
    }

    #[test]
    fn a_damaged_frame_is_placed_at_its_byte_in_the_segment_whatever_the_piece_size() {
        let log = tempfile::tempdir().unwrap();
        let starts = segment(&log.path().join("doc"), 0, &bodies(30, 5), Some(17));
        let at = format!("damaged frame (checksum mismatch) at byte {} of", starts[17]);
        for piece in [9, 64, 301, PIECE] {
            let seen = read(log.path(), piece);
            assert_eq!(seen.len(), 18, "pieces of {piece} bytes");
            let (offset, why) = seen.last().unwrap();
            assert_eq!(*offset, 17);
            assert!(why.as_ref().unwrap_err().contains(&at), "{why:?}");
        }
    }

    #[test]
    fn a_torn_last_frame_is_reported_as_such_whatever_the_piece_size() {
        let log = tempfile::tempdir().unwrap();
        let starts = segment(&log.path().join("doc"), 0, &bodies(12, 3), None);
        let path = segment_path(&log.path().join("doc"), 0);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let at = format!(
            "damaged frame (frame runs past the end of the segment) at byte {} of",
            starts[11]
        );
        for piece in [9, 64, 301, PIECE] {
            let seen = read(log.path(), piece);
            assert_eq!(seen.len(), 12, "pieces of {piece} bytes");
            assert!(seen[11].1.as_ref().unwrap_err().contains(&at), "{:?}", seen[11].1);
        }
    }
}
