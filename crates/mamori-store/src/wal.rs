//! The write-ahead log: append-only, checksummed, hash-chained records, group commit.
//!
//! Record layout (little-endian): `len: u32 | crc32c: u32 | prev_hash: [u8; 32] | payload`,
//! where `len` is the payload length, the CRC32C covers `prev_hash || payload` and the chain
//! hash of a record is `SHA-256(prev_hash || payload)`. The payload is one event in the
//! [`crate::codec`] format. Files are `wal/<seq:020>.wal` and rotate at
//! [`WalOptions::max_file_bytes`]; the chain continues across files.
//!
//! On open every file is replayed; the first record that is short, over
//! [`MAX_RECORD_BYTES`], fails its CRC, breaks the chain or does not decode ends the valid
//! log: the file is truncated there, the offset is reported and `wal_torn_tail` is counted.
//! Acknowledged (fsynced) records are never beyond such a point.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mamori_core::{Counters, Event};
use sha2::{Digest, Sha256};

use crate::codec::{decode_event, encode_event};
use crate::error::{Result, StoreError};

/// Largest payload accepted for one record (an event); larger writes are rejected.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Bytes of a record header.
pub const HEADER_BYTES: usize = 4 + 4 + 32;
/// Default size at which a WAL file is closed and a new one started.
pub const DEFAULT_WAL_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Default interval for [`FsyncPolicy::Interval`].
pub const DEFAULT_FSYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// When appended records are flushed to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `fsync` after every batch: an [`Ack`] means durable.
    Always,
    /// `fsync` when at least this long has passed since the last one (checked on append and
    /// on [`Wal::sync_if_due`]).
    Interval(std::time::Duration),
    /// Never `fsync` (the OS decides; for tests and throwaway data).
    Never,
}

impl std::str::FromStr for FsyncPolicy {
    type Err = StoreError;
    /// `always`, `never`, `interval` (default 200ms) or `interval=<dur>` (`500ms`, `1s`, `2m`).
    fn from_str(s: &str) -> Result<FsyncPolicy> {
        let bad = |reason: &str| StoreError::Config {
            name: "fsync",
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        match s {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            "interval" => Ok(FsyncPolicy::Interval(DEFAULT_FSYNC_INTERVAL)),
            _ => {
                let d = s
                    .strip_prefix("interval=")
                    .ok_or_else(|| bad("expected always, never or interval=<duration>"))?;
                let dur = mamori_core::Duration::parse_human(d)
                    .filter(|d| d.as_nanos() > 0)
                    .ok_or_else(|| bad("duration must look like 500ms, 1s or 2m"))?;
                Ok(FsyncPolicy::Interval(std::time::Duration::from_nanos(
                    u64::try_from(dur.as_nanos()).unwrap_or(u64::MAX),
                )))
            }
        }
    }
}

/// Tuning of the WAL.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Flush policy.
    pub fsync: FsyncPolicy,
    /// Size at which the current file is closed and a new one begun.
    pub max_file_bytes: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            fsync: FsyncPolicy::Interval(DEFAULT_FSYNC_INTERVAL),
            max_file_bytes: DEFAULT_WAL_FILE_BYTES,
        }
    }
}

/// Acknowledgement of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Events appended.
    pub count: usize,
    /// Whether the batch (and everything before it) is on stable storage.
    pub durable: bool,
}

/// What replay found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Events recovered, in append order.
    pub events: Vec<Event>,
    /// One message per truncation, naming the file and byte offset.
    pub messages: Vec<String>,
    /// `wal_torn_tail` and friends.
    pub counters: Counters,
}

/// The open write-ahead log.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    seq: u64,
    len: u64,
    last_hash: [u8; 32],
    opts: WalOptions,
    last_sync: Instant,
    dirty: bool,
    buf: Vec<u8>,
}

fn file_name(seq: u64) -> String {
    format!("{seq:020}.wal")
}

/// WAL files in `dir`, sorted by sequence number.
pub fn list_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let rd = fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| StoreError::io(dir, e))?;
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seq) = name
            .strip_suffix(".wal")
            .and_then(|s| s.parse::<u64>().ok())
        {
            out.push((seq, ent.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn chain(prev: &[u8; 32], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(payload);
    h.finalize().into()
}

fn crc(prev: &[u8; 32], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(prev), payload)
}

/// Scan the records of one file. Returns the valid length, the chain hash after the last
/// valid record and why scanning stopped early (if it did).
pub fn scan_records(
    data: &[u8],
    mut expect_prev: Option<[u8; 32]>,
    mut on_event: impl FnMut(Event),
) -> (usize, Option<[u8; 32]>, Option<String>) {
    let mut pos = 0usize;
    while pos < data.len() {
        let Some(hdr) = data.get(pos..pos + HEADER_BYTES) else {
            return (pos, expect_prev, Some("short record header".into()));
        };
        let mut l = [0u8; 4];
        l.copy_from_slice(&hdr[..4]);
        let len = u32::from_le_bytes(l) as usize;
        let mut c = [0u8; 4];
        c.copy_from_slice(&hdr[4..8]);
        let want_crc = u32::from_le_bytes(c);
        let mut prev = [0u8; 32];
        prev.copy_from_slice(&hdr[8..HEADER_BYTES]);
        if len > MAX_RECORD_BYTES {
            return (
                pos,
                expect_prev,
                Some(format!("record length {len} over limit")),
            );
        }
        let start = pos + HEADER_BYTES;
        let Some(payload) = data.get(start..start + len) else {
            return (
                pos,
                expect_prev,
                Some(format!("short payload ({len} bytes declared)")),
            );
        };
        if crc(&prev, payload) != want_crc {
            return (pos, expect_prev, Some("crc32c mismatch".into()));
        }
        if let Some(e) = expect_prev {
            if e != prev {
                return (pos, expect_prev, Some("hash chain break".into()));
            }
        }
        match decode_event(payload) {
            Ok(ev) => on_event(ev),
            Err(e) => return (pos, expect_prev, Some(format!("undecodable payload: {e}"))),
        }
        expect_prev = Some(chain(&prev, payload));
        pos = start + len;
    }
    (pos, expect_prev, None)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

impl Wal {
    /// Open (creating) the WAL in `dir`: delete files with sequence `<= sealed_through`
    /// (their events are in durable segments), replay the rest, truncate a torn tail.
    pub fn open(
        dir: &Path,
        opts: WalOptions,
        sealed_through: Option<u64>,
    ) -> Result<(Wal, Replay)> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let mut replay = Replay::default();
        let mut files = list_files(dir)?;
        if let Some(t) = sealed_through {
            for (_, p) in files.iter().filter(|(s, _)| *s <= t) {
                fs::remove_file(p).map_err(|e| StoreError::io(p, e))?;
            }
            files.retain(|(s, _)| *s > t);
        }
        let mut expect: Option<[u8; 32]> = None;
        let mut last_hash = [0u8; 32];
        for (_, path) in &files {
            let data = fs::read(path).map_err(|e| StoreError::io(path, e))?;
            let (valid, h, why) = scan_records(&data, expect, |ev| replay.events.push(ev));
            if let Some(why) = why {
                let dropped = data.len() - valid;
                let msg = format!(
                    "wal {}: torn tail at byte {valid} ({why}), {dropped} bytes truncated",
                    path.display()
                );
                replay
                    .counters
                    .incr_with_sample("wal_torn_tail", || msg.clone());
                replay.counters.add("wal_truncated_bytes", dropped as u64);
                replay.messages.push(msg);
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| StoreError::io(path, e))?;
                f.set_len(valid as u64)
                    .map_err(|e| StoreError::io(path, e))?;
                f.sync_all().map_err(|e| StoreError::io(path, e))?;
            }
            if let Some(h) = h {
                last_hash = h;
            }
            expect = h;
        }
        let seq = files
            .last()
            .map_or(sealed_through.map_or(0, |t| t + 1), |(s, _)| *s);
        let path = dir.join(file_name(seq));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        sync_dir(dir)?;
        Ok((
            Wal {
                dir: dir.to_owned(),
                file,
                path,
                seq,
                len,
                last_hash,
                opts,
                last_sync: Instant::now(),
                dirty: false,
                buf: Vec::new(),
            },
            replay,
        ))
    }

    /// Sequence number of the file being written.
    pub fn current_seq(&self) -> u64 {
        self.seq
    }

    /// Append a batch as one write (group commit) and flush per the policy.
    ///
    /// On failure the file is cut back to where it was, so nothing of the batch is kept and
    /// the log stays valid; [`StoreError::DiskFull`] reports ENOSPC.
    pub fn append_batch(&mut self, events: &[Event]) -> Result<Ack> {
        if self.len >= self.opts.max_file_bytes {
            self.rotate()?;
        }
        self.buf.clear();
        let mut payload = Vec::with_capacity(512);
        let mut h = self.last_hash;
        for ev in events {
            payload.clear();
            encode_event(ev, &mut payload);
            if payload.len() > MAX_RECORD_BYTES {
                return Err(StoreError::EventTooLarge {
                    dataset: ev.dataset.to_string(),
                    size: payload.len(),
                    limit: MAX_RECORD_BYTES,
                });
            }
            self.buf.extend_from_slice(
                &u32::try_from(payload.len())
                    .unwrap_or(u32::MAX)
                    .to_le_bytes(),
            );
            self.buf.extend_from_slice(&crc(&h, &payload).to_le_bytes());
            self.buf.extend_from_slice(&h);
            self.buf.extend_from_slice(&payload);
            h = chain(&h, &payload);
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            // Undo a partial write; if even that fails replay will truncate the torn tail.
            let _ = self.file.set_len(self.len);
            return Err(StoreError::io(&self.path, e));
        }
        let durable = match self.opts.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::Interval(d) => self.last_sync.elapsed() >= d,
            FsyncPolicy::Never => false,
        };
        if durable {
            if let Err(e) = self.file.sync_data() {
                let _ = self.file.set_len(self.len);
                return Err(StoreError::io(&self.path, e));
            }
            self.last_sync = Instant::now();
            self.dirty = false;
        } else {
            self.dirty = true;
        }
        self.len += self.buf.len() as u64;
        self.last_hash = h;
        Ok(Ack {
            count: events.len(),
            durable,
        })
    }

    /// `fsync` now if anything is unsynced.
    pub fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.file
                .sync_data()
                .map_err(|e| StoreError::io(&self.path, e))?;
            self.dirty = false;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    /// `fsync` if the interval policy says it is time (call from a timer).
    pub fn sync_if_due(&mut self) -> Result<bool> {
        if let FsyncPolicy::Interval(d) = self.opts.fsync {
            if self.dirty && self.last_sync.elapsed() >= d {
                self.sync()?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Close the current file (synced) and start the next; returns the closed file's sequence.
    pub fn rotate(&mut self) -> Result<u64> {
        self.file
            .sync_data()
            .map_err(|e| StoreError::io(&self.path, e))?;
        let closed = self.seq;
        let seq = closed + 1;
        let path = self.dir.join(file_name(seq));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        sync_dir(&self.dir)?;
        self.file = file;
        self.path = path;
        self.seq = seq;
        self.len = 0;
        self.dirty = false;
        Ok(closed)
    }

    /// Delete every file with sequence `<= through` (after their events were sealed durably).
    pub fn remove_through(&mut self, through: u64) -> Result<()> {
        for (seq, p) in list_files(&self.dir)? {
            if seq <= through && seq != self.seq {
                fs::remove_file(&p).map_err(|e| StoreError::io(&p, e))?;
            }
        }
        sync_dir(&self.dir)
    }
}
