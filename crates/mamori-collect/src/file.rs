//! File inputs: read once (plain, `.gz`, `.zst`) or follow with `tail -F` semantics.
//!
//! Following uses **polling** (every `poll_interval`), not inotify: it works the same on every
//! filesystem (NFS, overlay, bind mounts) and platform, and a poll of an idle file costs two
//! `stat` calls and one 64-byte read. Per poll:
//!
//! 1. **Truncation** (`copytruncate`, `> file`): the open file is shorter than the read
//!    position, or its first bytes no longer match the recorded fingerprint → restart at 0
//!    (`file_truncated`).
//! 2. New bytes are read (at most [`MAX_READ_PER_POLL`]) and split into lines; a line longer
//!    than the maximum is cut and flagged (`oversized`), an unterminated last line waits.
//! 3. **Rotation** (the path now names another inode, `rename` + create): the old file is
//!    read to its end first, its unterminated last line delivered, then the new file is read
//!    from offset 0 (`file_rotated`). While the path is missing the old file is kept.
//!
//! Offsets are persisted in a JSON state file ([`OffsetStore`], written atomically: temporary
//! file, fsync, rename) as path → device, inode, offset of the end of the last delivered line
//! and a hash of the file's first bytes. On restart a file with the same inode and fingerprint
//! resumes at its offset; if the path was rotated while mamori was stopped, the old inode is
//! looked up in the same directory and read to its end first. The offset advances only after
//! the lines were handed to the channel, so a clean restart has no duplicates and no gaps; a
//! crash can repeat at most the lines handed over since the last save (at-least-once).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mamori_core::Counters;
use serde::{Deserialize, Serialize};

use crate::message::{now, RawMessage, SourceId, Transport};
use crate::CollectError;

/// Bytes read from a followed file per poll (the next poll comes at once when more remain).
pub const MAX_READ_PER_POLL: usize = 1024 * 1024;
/// Bytes hashed at the start of a file to recognise it (detects replacement and truncation).
pub const FINGERPRINT_LEN: usize = 64;
/// Read buffer size.
pub const READ_CHUNK: usize = 64 * 1024;
/// Version of the offset state file format.
pub const STATE_VERSION: u32 = 1;

/// Position of one followed file, as persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// Device id.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Offset just past the last delivered line.
    pub offset: u64,
    /// Number of leading bytes hashed.
    pub fp_len: u64,
    /// FNV-1a 64 hash of those bytes.
    pub fp_hash: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateDoc {
    version: u32,
    files: BTreeMap<String, FileState>,
}

/// Persisted offsets of followed files, shared by all file inputs of a collector.
#[derive(Debug)]
pub struct OffsetStore {
    path: PathBuf,
    files: Mutex<BTreeMap<String, FileState>>,
}

impl OffsetStore {
    /// Load the state file at `path` (an absent file is an empty state).
    pub fn load(path: &Path) -> Result<OffsetStore, CollectError> {
        let files = match std::fs::read(path) {
            Ok(b) => {
                let doc: StateDoc =
                    serde_json::from_slice(&b).map_err(|e| CollectError::State {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })?;
                if doc.version != STATE_VERSION {
                    return Err(CollectError::State {
                        path: path.to_path_buf(),
                        reason: format!("unsupported state version {}", doc.version),
                    });
                }
                doc.files
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(CollectError::Io {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        };
        Ok(OffsetStore {
            path: path.to_path_buf(),
            files: Mutex::new(files),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, FileState>> {
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The saved position of `path`.
    pub fn get(&self, path: &Path) -> Option<FileState> {
        self.lock()
            .get(&path.to_string_lossy().into_owned())
            .copied()
    }

    /// Record the position of `path` (in memory; see [`OffsetStore::save`]).
    pub fn set(&self, path: &Path, st: FileState) {
        self.lock().insert(path.to_string_lossy().into_owned(), st);
    }

    /// Write the state file atomically.
    pub fn save(&self) -> Result<(), CollectError> {
        let doc = StateDoc {
            version: STATE_VERSION,
            files: self.lock().clone(),
        };
        let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| CollectError::State {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&self.path, &bytes, false)
    }
}

/// Write `bytes` to `path` atomically (temporary file in the same directory, fsync, rename).
/// `private` makes the file readable by its owner only (Unix).
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), CollectError> {
    use std::io::Write;
    let io = |e| CollectError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp_name = format!(
        ".{}.tmp{}",
        name.unwrap_or_else(|| "state".into()),
        std::process::id()
    );
    let tmp = dir.map_or_else(|| PathBuf::from(&tmp_name), |d| d.join(&tmp_name));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(d) = dir {
        // Persist the rename itself; not every platform can open a directory.
        if let Ok(df) = File::open(d) {
            let _ = df.sync_all();
        }
    }
    Ok(())
}

/// FNV-1a, 64 bit: a stable hash for fingerprints (std's hasher may change between releases).
fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(unix)]
fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}
#[cfg(not(unix))]
fn file_id(_m: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Hash of the first `len` bytes (fewer if the file is shorter): (bytes hashed, hash).
fn fingerprint(mut f: &File, len: usize) -> std::io::Result<(u64, u64)> {
    let mut buf = vec![0u8; len];
    f.seek(SeekFrom::Start(0))?;
    let mut got = 0;
    while got < len {
        let n = f.read(buf.get_mut(got..).unwrap_or_default())?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok((got as u64, fnv1a(buf.get(..got).unwrap_or_default())))
}

/// Splits a byte stream into lines with a maximum length. Pure.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max_line: usize,
    pending: Vec<u8>,
    pending_start: u64,
    discarding: bool,
}

impl LineSplitter {
    pub(crate) fn new(max_line: usize) -> Self {
        LineSplitter {
            max_line: max_line.max(1),
            pending: Vec::new(),
            pending_start: 0,
            discarding: false,
        }
    }

    fn reset(&mut self) {
        self.pending.clear();
        self.discarding = false;
    }

    /// Offset up to which everything was delivered, given the stream position `pos`.
    fn committed(&self, pos: u64) -> u64 {
        if self.pending.is_empty() {
            pos
        } else {
            self.pending_start
        }
    }

    /// Feed `data` that starts at stream offset `start`; `emit(offset, line, truncated)`.
    pub(crate) fn push(
        &mut self,
        data: &[u8],
        start: u64,
        counters: &mut Counters,
        emit: &mut dyn FnMut(u64, &[u8], bool),
    ) {
        let mut rest = data;
        let mut off = start;
        while !rest.is_empty() {
            let nl = rest.iter().position(|&c| c == b'\n');
            let seg_len = nl.unwrap_or(rest.len());
            let seg = rest.get(..seg_len).unwrap_or_default();
            if self.discarding {
                if nl.is_some() {
                    self.discarding = false;
                }
            } else {
                if self.pending.is_empty() {
                    self.pending_start = off;
                }
                let room = (self.max_line + 1).saturating_sub(self.pending.len());
                self.pending
                    .extend_from_slice(seg.get(..seg.len().min(room)).unwrap_or_default());
                if self.pending.len() > self.max_line {
                    self.pending.truncate(self.max_line);
                    counters.incr("oversized");
                    emit(self.pending_start, &self.pending, true);
                    self.pending.clear();
                    self.discarding = nl.is_none();
                } else if nl.is_some() {
                    let mut line: &[u8] = &self.pending;
                    if line.last() == Some(&b'\r') {
                        line = line.get(..line.len() - 1).unwrap_or_default();
                    }
                    if !line.is_empty() {
                        emit(self.pending_start, line, false);
                    }
                    self.pending.clear();
                }
            }
            let consumed = seg_len + usize::from(nl.is_some());
            off += consumed as u64;
            rest = rest.get(consumed..).unwrap_or_default();
        }
    }

    /// End of stream: deliver an unterminated last line.
    pub(crate) fn finish(&mut self, emit: &mut dyn FnMut(u64, &[u8], bool)) {
        if !self.discarding && !self.pending.is_empty() {
            emit(self.pending_start, &self.pending, false);
        }
        self.reset();
    }
}

/// Whether a path is read once as a compressed file.
pub(crate) fn is_compressed(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("gz" | "zst")
    )
}

/// Read a whole file (plain, `.gz` or `.zst`) once, calling `sink` per batch of lines.
/// `sink` returns false to stop (channel closed).
pub(crate) fn read_once(
    path: &Path,
    source: &SourceId,
    max_line: usize,
    counters: &mut Counters,
    sink: &mut dyn FnMut(Vec<RawMessage>) -> bool,
) -> Result<(), CollectError> {
    let io = |e| CollectError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let f = File::open(path).map_err(io)?;
    let mut reader: Box<dyn Read> = match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            f,
        ))),
        Some("zst") => Box::new(
            ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(f)).map_err(|e| {
                CollectError::Decompress {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                }
            })?,
        ),
        _ => Box::new(f),
    };
    let path_arc = Arc::new(path.to_path_buf());
    let mut split = LineSplitter::new(max_line);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut pos = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Corrupt or truncated compressed data: keep what was read, report the rest.
                counters.incr_with_sample("read_error", || format!("{}: {e}", path.display()));
                break;
            }
        };
        let t = now();
        let mut batch = Vec::new();
        split.push(
            buf.get(..n).unwrap_or_default(),
            pos,
            counters,
            &mut |offset, line, truncated| {
                batch.push(file_msg(t, source, &path_arc, offset, line, truncated));
            },
        );
        pos += n as u64;
        if !sink(batch) {
            return Ok(());
        }
    }
    let t = now();
    let mut batch = Vec::new();
    split.finish(&mut |offset, line, truncated| {
        batch.push(file_msg(t, source, &path_arc, offset, line, truncated));
    });
    sink(batch);
    Ok(())
}

fn file_msg(
    t: mamori_core::Timestamp,
    source: &SourceId,
    path: &Arc<PathBuf>,
    offset: u64,
    line: &[u8],
    truncated: bool,
) -> RawMessage {
    RawMessage {
        received: t,
        source: source.clone(),
        transport: Transport::File {
            path: path.clone(),
            offset,
        },
        bytes: line.to_vec(),
        truncated,
    }
}

/// Where a followed file without saved state starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// From the first byte (default: nothing already in the file is missed).
    #[default]
    Beginning,
    /// From the current end (like `tail -F`).
    End,
}

#[derive(Debug)]
struct OpenFile {
    file: File,
    id: (u64, u64),
    pos: u64,
    fp: (u64, u64),
}

/// Follows one path across rotation and truncation. Synchronous; driven by [`crate::Collector`].
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    path_arc: Arc<PathBuf>,
    source: SourceId,
    start_at: StartAt,
    cur: Option<OpenFile>,
    split: LineSplitter,
    first_open: bool,
    /// Counters: `file_rotated`, `file_truncated`, `oversized`, `read_error`, …
    pub counters: Counters,
}

impl Follower {
    /// Follow `path`; messages carry `source`.
    pub fn new(path: PathBuf, source: SourceId, max_line: usize, start_at: StartAt) -> Self {
        Follower {
            path_arc: Arc::new(path.clone()),
            path,
            source,
            start_at,
            cur: None,
            split: LineSplitter::new(max_line),
            first_open: true,
            counters: Counters::new(),
        }
    }

    /// Current position to persist (end of the last delivered line), if a file is open.
    pub fn state(&self) -> Option<FileState> {
        let c = self.cur.as_ref()?;
        Some(FileState {
            dev: c.id.0,
            ino: c.id.1,
            offset: self.split.committed(c.pos),
            fp_len: c.fp.0,
            fp_hash: c.fp.1,
        })
    }

    fn open_path(&mut self, saved: Option<FileState>) -> std::io::Result<bool> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        let id = file_id(&meta);
        let first = std::mem::replace(&mut self.first_open, false);
        let mut pos = 0;
        if let Some(s) = saved {
            if (s.dev, s.ino) == id {
                let fp_now = fingerprint(&file, s.fp_len as usize)?;
                if meta.len() >= s.offset && fp_now == (s.fp_len, s.fp_hash) {
                    pos = s.offset;
                } else {
                    self.counters.incr("file_truncated");
                }
            } else if let Some(old) = find_by_id(&self.path, (s.dev, s.ino)) {
                // Rotated while stopped: finish the old file first.
                let fp_now = fingerprint(&old, s.fp_len as usize)?;
                let olen = old.metadata()?.len();
                if olen >= s.offset && fp_now == (s.fp_len, s.fp_hash) {
                    let fp = fingerprint(&old, FINGERPRINT_LEN)?;
                    self.cur = Some(OpenFile {
                        file: old,
                        id: (s.dev, s.ino),
                        pos: s.offset,
                        fp,
                    });
                    return Ok(true);
                }
            }
        } else if first && self.start_at == StartAt::End {
            pos = meta.len();
        }
        let fp = fingerprint(&file, FINGERPRINT_LEN)?;
        self.cur = Some(OpenFile { file, id, pos, fp });
        Ok(true)
    }

    /// One poll: check truncation, read new lines (bounded), handle rotation. Returns whether
    /// more data is known to be waiting (poll again without sleeping).
    pub fn poll(&mut self, saved: Option<FileState>, out: &mut Vec<RawMessage>) -> bool {
        match self.poll_inner(saved, out) {
            Ok(more) => more,
            Err(e) => {
                self.counters
                    .incr_with_sample("read_error", || format!("{}: {e}", self.path.display()));
                false
            }
        }
    }

    fn poll_inner(
        &mut self,
        saved: Option<FileState>,
        out: &mut Vec<RawMessage>,
    ) -> std::io::Result<bool> {
        if self.cur.is_none() {
            let saved = if self.first_open { saved } else { None };
            if !self.open_path(saved)? {
                return Ok(false);
            }
        }
        let Some(cur) = self.cur.as_mut() else {
            return Ok(false);
        };
        let len = cur.file.metadata()?.len();
        let fp_now = fingerprint(&cur.file, cur.fp.0 as usize)?;
        if len < cur.pos || fp_now != cur.fp {
            self.counters.incr_with_sample("file_truncated", || {
                format!("{}: size {len} < offset {}", self.path.display(), cur.pos)
            });
            cur.pos = 0;
            cur.fp = fingerprint(&cur.file, FINGERPRINT_LEN)?;
            self.split.reset();
        }
        if cur.fp.0 < FINGERPRINT_LEN as u64 {
            cur.fp = fingerprint(&cur.file, FINGERPRINT_LEN)?;
        }
        cur.file.seek(SeekFrom::Start(cur.pos))?;
        let t = now();
        let mut read_total = 0usize;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut at_eof = false;
        while read_total < MAX_READ_PER_POLL {
            let n = match cur.file.read(&mut buf) {
                Ok(0) => {
                    at_eof = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let (source, path) = (&self.source, &self.path_arc);
            self.split.push(
                buf.get(..n).unwrap_or_default(),
                cur.pos,
                &mut self.counters,
                &mut |offset, line, truncated| {
                    out.push(file_msg(t, source, path, offset, line, truncated));
                },
            );
            cur.pos += n as u64;
            read_total += n;
        }
        if !at_eof {
            return Ok(true);
        }
        let rotated = match std::fs::metadata(&self.path) {
            Ok(m) => file_id(&m) != cur.id,
            Err(_) => false, // renamed away, new file not there yet: keep the old one
        };
        if rotated {
            let (source, path) = (&self.source, &self.path_arc);
            self.split.finish(&mut |offset, line, truncated| {
                out.push(file_msg(t, source, path, offset, line, truncated));
            });
            self.counters.incr("file_rotated");
            self.cur = None;
            if !self.open_path(None)? {
                return Ok(false);
            }
            return Ok(true);
        }
        Ok(false)
    }
}

/// A file in the directory of `path` with the given (device, inode), if any.
fn find_by_id(path: &Path, id: (u64, u64)) -> Option<File> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        if let Ok(m) = std::fs::metadata(&p) {
            if m.is_file() && file_id(&m) == id {
                return File::open(&p).ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(split: &mut LineSplitter, chunks: &[&[u8]]) -> Vec<(u64, Vec<u8>, bool)> {
        let mut c = Counters::new();
        let mut out = Vec::new();
        let mut pos = 0u64;
        for ch in chunks {
            split.push(ch, pos, &mut c, &mut |o, l, t| out.push((o, l.to_vec(), t)));
            pos += ch.len() as u64;
        }
        out
    }

    #[test]
    fn splits_lines_with_offsets_across_chunks() {
        let mut s = LineSplitter::new(100);
        let got = lines(&mut s, &[b"ab", b"c\r\nde\n\nf", b"g\n"]);
        assert_eq!(
            got,
            vec![
                (0, b"abc".to_vec(), false),
                (5, b"de".to_vec(), false),
                (9, b"fg".to_vec(), false)
            ]
        );
        assert_eq!(s.committed(12), 12);
    }

    #[test]
    fn long_line_is_cut_and_rest_skipped() {
        let mut s = LineSplitter::new(4);
        let got = lines(&mut s, &[b"abcdefgh", b"ij\nxy\n"]);
        assert_eq!(
            got,
            vec![(0, b"abcd".to_vec(), true), (11, b"xy".to_vec(), false)]
        );
    }

    #[test]
    fn committed_offset_excludes_partial_line() {
        let mut s = LineSplitter::new(100);
        let got = lines(&mut s, &[b"one\ntw"]);
        assert_eq!(got.len(), 1);
        assert_eq!(s.committed(6), 4);
    }

    fn follower(p: &Path) -> Follower {
        let src = SourceId {
            listener: "t".into(),
            peer: None,
        };
        Follower::new(p.to_path_buf(), src, 1024, StartAt::Beginning)
    }

    fn texts(out: &[RawMessage]) -> Vec<String> {
        out.iter()
            .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
            .collect()
    }

    #[test]
    fn copytruncate_to_a_longer_file_is_caught_by_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "first line\n").unwrap();
        let mut f = follower(&p);
        let mut out = Vec::new();
        f.poll(None, &mut out);
        assert_eq!(texts(&out), ["first line"]);
        // Truncated and rewritten between two polls, longer than before: size alone misses it.
        std::fs::write(&p, "second generation line, longer\n").unwrap();
        out.clear();
        f.poll(None, &mut out);
        assert_eq!(texts(&out), ["second generation line, longer"]);
        assert_eq!(f.counters.get("file_truncated"), 1);
        assert_eq!(f.state().unwrap().offset, 31);
    }

    #[test]
    fn start_at_end_skips_existing_content_only_without_state() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.log");
        std::fs::write(&p, "old\n").unwrap();
        let src = SourceId {
            listener: "t".into(),
            peer: None,
        };
        let mut f = Follower::new(p.clone(), src, 1024, StartAt::End);
        let mut out = Vec::new();
        f.poll(None, &mut out);
        assert!(out.is_empty());
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .and_then(|mut h| std::io::Write::write_all(&mut h, b"new\n"))
            .unwrap();
        f.poll(None, &mut out);
        assert_eq!(texts(&out), ["new"]);
    }

    #[test]
    fn saved_state_with_other_content_restarts_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.log");
        std::fs::write(&p, "aaaa\nbbbb\n").unwrap();
        let mut f = follower(&p);
        let mut out = Vec::new();
        f.poll(None, &mut out);
        let mut st = f.state().unwrap();
        assert_eq!(st.offset, 10);
        st.fp_hash ^= 1; // same inode, different first bytes: the file was replaced in place
        let mut g = follower(&p);
        out.clear();
        g.poll(Some(st), &mut out);
        assert_eq!(texts(&out), ["aaaa", "bbbb"]);
        assert_eq!(g.counters.get("file_truncated"), 1);
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
