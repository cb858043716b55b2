//! The [`Store`]: WAL + in-memory tail + sealed segments + manifest.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ed25519_dalek::VerifyingKey;
use mamori_core::{Counters, Event, Timestamp};

use crate::error::{Result, StoreError};
use crate::manifest::{hash_file, Entry, Head, Manifest, Op, VerifyReport};
use crate::scan::{Scan, ScanRequest};
use crate::segment;
use crate::wal::{Ack, Wal, WalOptions};
use crate::{keys, manifest};

/// Nanoseconds per day.
pub const DAY_NS: i64 = 86_400 * 1_000_000_000;
/// Default rows buffered before sealing.
pub const DEFAULT_SEAL_ROWS: usize = 1_000_000;
/// Default encoded bytes buffered before sealing.
pub const DEFAULT_SEAL_BYTES: usize = 512 * 1024 * 1024;
/// Default age of the oldest unsealed event (wall time) before sealing.
pub const DEFAULT_SEAL_AGE: std::time::Duration = std::time::Duration::from_secs(300);
/// Longest dataset name used in a path (longer names are cut).
pub const MAX_DATASET_PATH: usize = 64;

/// When the tail is sealed into segments (any trigger seals every buffered dataset/day).
#[derive(Debug, Clone)]
pub struct SealPolicy {
    /// Buffered rows.
    pub max_rows: usize,
    /// Buffered bytes (WAL encoding size).
    pub max_bytes: usize,
    /// Wall-clock age of the oldest buffered event (checked on append and [`Store::tick`]).
    pub max_age: std::time::Duration,
    /// Seal when event time enters a new UTC day.
    pub end_of_day: bool,
}

impl Default for SealPolicy {
    fn default() -> Self {
        SealPolicy {
            max_rows: DEFAULT_SEAL_ROWS,
            max_bytes: DEFAULT_SEAL_BYTES,
            max_age: DEFAULT_SEAL_AGE,
            end_of_day: true,
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The data directory (`--data`, default `./data`).
    pub data: PathBuf,
    /// Where the signing key lives; default [`keys::default_key_dir`] (outside `data`).
    pub key_dir: Option<PathBuf>,
    /// WAL tuning.
    pub wal: WalOptions,
    /// Seal triggers.
    pub seal: SealPolicy,
}

impl StoreConfig {
    /// Defaults for a data directory.
    pub fn new(data: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data: data.into(),
            key_dir: None,
            wal: WalOptions::default(),
            seal: SealPolicy::default(),
        }
    }
    /// The key directory in effect.
    pub fn key_dir(&self) -> PathBuf {
        self.key_dir
            .clone()
            .unwrap_or_else(|| keys::default_key_dir(&self.data))
    }
}

/// What one seal wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Manifest entries of the new segments.
    pub segments: Vec<Entry>,
    /// Rows sealed.
    pub rows: u64,
}

/// UTC day number of a timestamp.
pub fn day_of(t: Timestamp) -> i64 {
    t.unix_nanos().div_euclid(DAY_NS)
}

/// `yyyy-mm-dd` of a day number.
pub fn day_string(day: i64) -> String {
    Timestamp::from_unix_secs(day.saturating_mul(86_400)).date_string()
}

/// A dataset name made safe as one path component.
pub fn dataset_dir(ds: &str) -> String {
    let mut s: String = ds
        .chars()
        .take(MAX_DATASET_PATH)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        s = format!("_{}", s.len());
    }
    s
}

/// The embedded event store of one data directory.
pub struct Store {
    cfg: StoreConfig,
    wal: Wal,
    manifest: Manifest,
    tail: BTreeMap<(String, i64), Vec<Event>>,
    tail_rows: usize,
    tail_bytes: usize,
    oldest: Option<Instant>,
    max_day: Option<i64>,
    counters: Counters,
    messages: Vec<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data", &self.cfg.data)
            .field("tail_rows", &self.tail_rows)
            .finish()
    }
}

impl Store {
    /// Open (creating) the store: load the key and manifest, finish an interrupted seal,
    /// replay the WAL (truncating a torn tail) into the unsealed tail.
    pub fn open(cfg: StoreConfig) -> Result<Store> {
        let data = cfg.data.clone();
        for d in ["wal", "segments", "manifest", "archive"] {
            let p = data.join(d);
            fs::create_dir_all(&p).map_err(|e| StoreError::io(&p, e))?;
        }
        let key = keys::load_or_create(&cfg.key_dir())?;
        let mut manifest = Manifest::open(&data, key)?;
        let mut counters = Counters::new();
        let mut messages = Vec::new();
        // A seal is complete when its last entry carries `wal_through`; seal entries after
        // the last such entry belong to an interrupted seal whose events are still in the
        // WAL: withdraw them (recorded in the chain) so replay seals them once.
        let last_complete = manifest
            .entries()
            .iter()
            .rposition(|e| e.wal_through.is_some());
        let orphans: Vec<Entry> = manifest
            .entries()
            .iter()
            .enumerate()
            .filter(|(i, e)| last_complete.is_none_or(|l| *i > l) && e.op == Op::Seal)
            .map(|(_, e)| e.clone())
            .collect();
        let deleted: Vec<u64> = manifest
            .entries()
            .iter()
            .filter(|e| e.op == Op::Delete)
            .filter_map(|e| e.of)
            .collect();
        for o in orphans.into_iter().filter(|o| !deleted.contains(&o.seq)) {
            let (path, _) = manifest.locate(&o.path);
            manifest.append(Entry {
                op: Op::Delete,
                of: Some(o.seq),
                wal_through: None,
                ..o.clone()
            })?;
            let _ = fs::remove_file(&path);
            counters.incr("seal_interrupted_withdrawn");
            messages.push(format!(
                "segment #{} {} withdrawn: its seal was interrupted, events replayed from the wal",
                o.seq, o.path
            ));
        }
        let stale = remove_unsealed_files(&data.join("segments"), manifest.next_seq());
        if stale > 0 {
            counters.add("seal_orphan_file_removed", stale);
            messages.push(format!(
                "{stale} segment file(s) of an interrupted seal removed; their events are replayed from the wal"
            ));
        }
        let (wal, replay) = Wal::open(&data.join("wal"), cfg.wal.clone(), manifest.wal_through())?;
        counters.merge(&replay.counters);
        messages.extend(replay.messages);
        let mut st = Store {
            cfg,
            wal,
            manifest,
            tail: BTreeMap::new(),
            tail_rows: 0,
            tail_bytes: 0,
            oldest: None,
            max_day: None,
            counters,
            messages,
        };
        for ev in replay.events {
            st.buffer(ev, 64);
        }
        Ok(st)
    }

    fn buffer(&mut self, ev: Event, approx_bytes: usize) {
        let day = day_of(ev.timestamp);
        self.tail_rows += 1;
        self.tail_bytes += approx_bytes;
        self.oldest.get_or_insert_with(Instant::now);
        self.tail
            .entry((ev.dataset.to_string(), day))
            .or_default()
            .push(ev);
    }

    /// Append a batch (one WAL write, group commit), buffer it in the tail and seal if a
    /// trigger fires. On error nothing of the batch is acknowledged or buffered.
    pub fn append_batch(&mut self, events: &[Event]) -> Result<Ack> {
        let ack = match self.wal.append_batch(events) {
            Ok(a) => a,
            Err(e) => {
                if matches!(e, StoreError::DiskFull { .. }) {
                    self.counters
                        .incr_with_sample("disk_full", || e.to_string());
                }
                return Err(e);
            }
        };
        let mut new_day = false;
        for ev in events {
            let d = day_of(ev.timestamp);
            if self.max_day.is_some_and(|m| d > m) {
                new_day = true;
            }
            if self.max_day.is_none_or(|m| d > m) {
                self.max_day = Some(d);
            }
            self.buffer(ev.clone(), 64 + ev.fields.len() * 24);
        }
        let p = &self.cfg.seal;
        if self.tail_rows >= p.max_rows
            || self.tail_bytes >= p.max_bytes
            || (p.end_of_day && new_day)
            || self.oldest.is_some_and(|o| o.elapsed() >= p.max_age)
        {
            self.seal()?;
        }
        Ok(ack)
    }

    /// Periodic work: interval fsync and the age seal trigger.
    pub fn tick(&mut self) -> Result<()> {
        self.wal.sync_if_due()?;
        if self
            .oldest
            .is_some_and(|o| o.elapsed() >= self.cfg.seal.max_age)
        {
            self.seal()?;
        }
        Ok(())
    }

    /// `fsync` the WAL now.
    pub fn sync(&mut self) -> Result<()> {
        self.wal.sync()
    }

    /// Seal every buffered dataset/day into segments, record them in the manifest, sign the
    /// head, then drop the WAL files they cover.
    pub fn seal(&mut self) -> Result<SealReport> {
        let mut report = SealReport::default();
        if self.tail.is_empty() {
            return Ok(report);
        }
        let through = self.wal.rotate()?;
        let groups = std::mem::take(&mut self.tail);
        let n = groups.len();
        let mut result = Ok(());
        let mut pending: Vec<((String, i64), Vec<Event>)> = groups.into_iter().collect();
        for (i, ((ds, day), evs)) in pending.iter_mut().enumerate() {
            evs.sort_by_key(|e| e.timestamp);
            match self.write_one(ds, *day, evs, (i + 1 == n).then_some(through)) {
                Ok(e) => {
                    report.rows += e.rows;
                    report.segments.push(e);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if let Err(e) = result {
            // Keep everything buffered (the WAL still has it); segments written so far are
            // withdrawn on the next open or re-sealed by the next successful seal.
            if matches!(e, StoreError::DiskFull { .. }) {
                self.counters
                    .incr_with_sample("disk_full", || e.to_string());
            }
            for s in &report.segments {
                let (path, _) = self.manifest.locate(&s.path);
                let _ = self.manifest.append(Entry {
                    op: Op::Delete,
                    of: Some(s.seq),
                    wal_through: None,
                    ..s.clone()
                });
                let _ = fs::remove_file(path);
            }
            for (k, v) in pending {
                self.tail.insert(k, v);
            }
            return Err(e);
        }
        self.wal.remove_through(through)?;
        self.tail_rows = 0;
        self.tail_bytes = 0;
        self.oldest = None;
        self.counters
            .add("segments_sealed", report.segments.len() as u64);
        Ok(report)
    }

    fn write_one(
        &mut self,
        ds: &str,
        day: i64,
        evs: &[Event],
        through: Option<u64>,
    ) -> Result<Entry> {
        let seq = self.manifest.next_seq();
        let day_s = day_string(day);
        let rel = format!("{}/{}/{:012}.parquet", dataset_dir(ds), day_s, seq);
        let final_path = self.cfg.data.join("segments").join(&rel);
        let dir = final_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let tmp = final_path.with_extension("parquet.tmp");
        if let Err(e) = segment::write_segment(&tmp, evs) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        fs::rename(&tmp, &final_path).map_err(|e| StoreError::io(&final_path, e))?;
        fs::File::open(&dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(&dir, e))?;
        let (sha, size) = hash_file(&final_path).map_err(|e| StoreError::io(&final_path, e))?;
        let min_ts = evs.first().map_or(0, |e| e.timestamp.unix_nanos());
        let max_ts = evs.last().map_or(0, |e| e.timestamp.unix_nanos());
        self.manifest.append(Entry {
            seq,
            op: Op::Seal,
            path: rel,
            sha256: sha,
            size,
            rows: evs.len() as u64,
            dataset: ds.to_owned(),
            day: day_s,
            min_ts,
            max_ts,
            wal_through: through,
            of: None,
            prev: String::new(),
            hash: String::new(),
        })
    }

    /// Seal everything and fsync (call on shutdown).
    pub fn close(mut self) -> Result<SealReport> {
        let r = self.seal()?;
        self.wal.sync()?;
        Ok(r)
    }

    /// Stream events matching `req` from sealed segments (pruned) and then the unsealed tail.
    pub fn scan<'r>(&self, req: &'r ScanRequest) -> Scan<'r> {
        let mut tail: Vec<Event> = Vec::new();
        for ((ds, _), evs) in &self.tail {
            if !req.wants_dataset(ds) {
                continue;
            }
            let start = tail.len();
            tail.extend(evs.iter().filter(|e| req.in_time(e.timestamp)).cloned());
            if let Some(s) = tail.get_mut(start..) {
                s.sort_by_key(|e| e.timestamp);
            }
        }
        Scan::new(req, self.manifest.live_segments(), tail)
    }

    /// Verify the data directory against the trusted key from the key directory.
    pub fn verify(&self) -> VerifyReport {
        let vk = self.manifest.head();
        let trusted =
            manifest::unhex::<32>(&vk.public_key).and_then(|b| VerifyingKey::from_bytes(&b).ok());
        Manifest::verify(&self.cfg.data, trusted.as_ref())
    }

    /// The signed manifest head, for an external anchor (print it, send it by syslog).
    pub fn export_anchor(&self) -> Head {
        self.manifest.head()
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub(crate) fn manifest_mut(&mut self) -> &mut Manifest {
        &mut self.manifest
    }

    /// Counters: `wal_torn_tail`, `wal_truncated_bytes`, `disk_full`, `segments_sealed`, ….
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Messages from opening (torn tails with byte offsets, withdrawn segments).
    pub fn recovery_messages(&self) -> &[String] {
        &self.messages
    }

    /// Rows not yet sealed.
    pub fn tail_rows(&self) -> usize {
        self.tail_rows
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.cfg.data
    }
}

/// Remove `*.parquet.tmp` files and the segment file numbered `next_seq` (written by a seal
/// that crashed before its manifest entry; its events are still in the WAL). Any other
/// unlisted file is left for `verify` to report. Returns how many files were removed.
fn remove_unsealed_files(dir: &Path, next_seq: u64) -> u64 {
    let mut n = 0;
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    for ent in rd.flatten() {
        let p = ent.path();
        if p.is_dir() {
            n += remove_unsealed_files(&p, next_seq);
            continue;
        }
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let stale = name.ends_with(".parquet.tmp")
            || name
                .strip_suffix(".parquet")
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|s| s == next_seq);
        if stale && fs::remove_file(&p).is_ok() {
            n += 1;
        }
    }
    n
}
