//! Scanning: [`ScanRequest`], pruning and the streaming [`Scan`] iterator.

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;

use ipnet::IpNet;
use mamori_core::{Event, Timestamp, Value};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;

use crate::error::{Result, StoreError};
use crate::manifest::SegmentInfo;
use crate::segment::{self, ColumnKind, BLOOM_COLUMNS};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampNanosecondType};
use arrow_array::{Array, RecordBatch};

/// A predicate evaluated on every candidate event after pruning.
pub type Predicate = Box<dyn Fn(&Event) -> bool + Send + Sync>;

/// What to read. All conditions are conjunctive and applied exactly (not only for pruning):
/// an event is returned when it is in the time range, in one of the datasets, every
/// `equals` field has one of the listed values (any item for list fields), every
/// `ip_ranges` field is inside the network, and the predicate accepts it.
#[derive(Default)]
pub struct ScanRequest {
    /// `[start, end)` on `@timestamp`; `None` is unbounded.
    pub time: (Option<Timestamp>, Option<Timestamp>),
    /// Only these datasets (`None`: all).
    pub datasets: Option<Vec<String>>,
    /// Field equals one of the values.
    pub equals: Vec<(String, Vec<Value>)>,
    /// Field is an IP inside the network.
    pub ip_ranges: Vec<(String, IpNet)>,
    /// Final filter (the query's full condition).
    pub predicate: Option<Predicate>,
}

impl std::fmt::Debug for ScanRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanRequest")
            .field("time", &self.time)
            .field("datasets", &self.datasets)
            .field("equals", &self.equals)
            .field("ip_ranges", &self.ip_ranges)
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Ip(x), y) | (y, Value::Ip(x)) => y.as_ip() == Some(*x),
        (Value::Int(_), _) | (_, Value::Int(_)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        _ => a == b,
    }
}

impl ScanRequest {
    /// Whether the time range includes `t`.
    pub fn in_time(&self, t: Timestamp) -> bool {
        self.time.0.is_none_or(|s| t >= s) && self.time.1.is_none_or(|e| t < e)
    }
    /// Whether the time range overlaps `[min, max]` (inclusive, ns).
    pub fn overlaps(&self, min: i64, max: i64) -> bool {
        self.time.0.is_none_or(|s| max >= s.unix_nanos())
            && self.time.1.is_none_or(|e| min < e.unix_nanos())
    }
    /// Whether the dataset is wanted.
    pub fn wants_dataset(&self, ds: &str) -> bool {
        self.datasets
            .as_ref()
            .is_none_or(|l| l.iter().any(|d| d == ds))
    }
    /// Full evaluation of the request on one event.
    pub fn matches(&self, ev: &Event) -> bool {
        if !self.in_time(ev.timestamp) || !self.wants_dataset(&ev.dataset) {
            return false;
        }
        for (f, vals) in &self.equals {
            let Some(v) = ev.get(f) else { return false };
            if !v
                .items()
                .iter()
                .any(|x| vals.iter().any(|w| value_eq(x, w)))
            {
                return false;
            }
        }
        for (f, net) in &self.ip_ranges {
            let Some(v) = ev.get(f) else { return false };
            if !v
                .items()
                .iter()
                .any(|x| x.as_ip().is_some_and(|ip| net.contains(&ip)))
            {
                return false;
            }
        }
        self.predicate.as_ref().is_none_or(|p| p(ev))
    }
}

/// Work done by a scan (for `--stats`, benchmarks and tests that prove pruning).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Live segments in the manifest.
    pub segments_considered: u64,
    /// Skipped by dataset, day or time range without opening.
    pub segments_pruned: u64,
    /// Row groups in opened segments.
    pub row_groups_considered: u64,
    /// Row groups skipped by statistics.
    pub row_groups_pruned_stats: u64,
    /// Row groups skipped by bloom filters.
    pub row_groups_pruned_bloom: u64,
    /// Rows decoded from segments.
    pub rows_scanned: u64,
    /// Rows examined in the unsealed tail.
    pub tail_rows_scanned: u64,
    /// Events returned.
    pub rows_matched: u64,
}

/// Canonical text for comparing a value against a string column.
fn as_column_text(k: ColumnKind, v: &Value) -> Option<String> {
    match (k, v) {
        (ColumnKind::Ip, v) => v.as_ip().map(|ip| ip.to_string()),
        (ColumnKind::Keyword, Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Whether statistics of a row group allow skipping it.
/// `spilled` lists typed fields that some rows of the file keep in `_extra` (other type):
/// column statistics and bloom filters say nothing about those, so they are not used.
fn prune_by_stats(req: &ScanRequest, rg: &RowGroupMetaData, spilled: &[String]) -> bool {
    let col_stats = |idx: usize| rg.columns().get(idx).and_then(|c| c.statistics());
    if let Some(Statistics::Int64(s)) = col_stats(0) {
        if let (Some(min), Some(max)) = (s.min_opt(), s.max_opt()) {
            if !req.overlaps(*min, *max) {
                return true;
            }
        }
    }
    for (field, vals) in &req.equals {
        if spilled.iter().any(|f| f == field) {
            continue;
        }
        let Some((_, kind)) = segment::column_of(field) else {
            continue;
        };
        let Some(idx) = segment::schema_index(field) else {
            continue;
        };
        let Some(st) = col_stats(idx) else { continue };
        if st.null_count_opt() == Some(rg.num_rows() as u64) {
            // All null here; the field may still be in `_extra` with another type.
            continue;
        }
        let any_in = match (kind, st) {
            (ColumnKind::Long, Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(min), Some(max)) => {
                    // Non-integer values may match `_extra`; keep the row group then.
                    vals.iter().any(|v| match v.as_i64() {
                        Some(i) => i >= *min && i <= *max,
                        None => true,
                    })
                }
                _ => true,
            },
            (ColumnKind::Ip | ColumnKind::Keyword, Statistics::ByteArray(s)) => {
                match (s.min_opt(), s.max_opt()) {
                    (Some(min), Some(max)) => vals.iter().any(|v| match as_column_text(kind, v) {
                        Some(t) => t.as_bytes() >= min.data() && t.as_bytes() <= max.data(),
                        None => true,
                    }),
                    _ => true,
                }
            }
            _ => true,
        };
        if !any_in {
            return true;
        }
    }
    false
}

struct Open {
    reader: ParquetRecordBatchReader,
    path: PathBuf,
    spilled: Vec<String>,
}

/// Rows of a batch that can match, decided on the Arrow columns before any row is turned
/// into an [`Event`]: the time range and `equals` on typed columns that hold every value of
/// their field in this file. [`ScanRequest::matches`] still runs on the survivors.
fn prefilter(req: &ScanRequest, batch: &RecordBatch, spilled: &[String]) -> Vec<bool> {
    let n = batch.num_rows();
    let mut keep = vec![true; n];
    let schema = batch.schema();
    let col = |name: &str| {
        schema
            .index_of(name)
            .ok()
            .and_then(|i| batch.columns().get(i))
    };
    if req.time != (None, None) {
        if let Some(ts) =
            col("@timestamp").and_then(|a| a.as_primitive_opt::<TimestampNanosecondType>())
        {
            for (r, k) in keep.iter_mut().enumerate() {
                *k = req.in_time(Timestamp::from_unix_nanos(ts.value(r)));
            }
        }
    }
    for (field, vals) in &req.equals {
        if spilled.iter().any(|f| f == field) {
            continue;
        }
        let Some((_, kind)) = segment::column_of(field) else {
            continue;
        };
        let Some(arr) = col(field) else { continue };
        match kind {
            ColumnKind::Ip | ColumnKind::Keyword => {
                let Some(texts) = vals
                    .iter()
                    .map(|v| as_column_text(kind, v))
                    .collect::<Option<Vec<String>>>()
                else {
                    continue;
                };
                let Some(a) = arr.as_string_opt::<i32>() else {
                    continue;
                };
                for (r, k) in keep.iter_mut().enumerate() {
                    if *k {
                        *k = !a.is_null(r) && texts.iter().any(|t| t == a.value(r));
                    }
                }
            }
            ColumnKind::Long => {
                let Some(ints) = vals.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>()
                else {
                    continue;
                };
                let Some(a) = arr.as_primitive_opt::<Int64Type>() else {
                    continue;
                };
                for (r, k) in keep.iter_mut().enumerate() {
                    if *k {
                        *k = !a.is_null(r) && ints.contains(&a.value(r));
                    }
                }
            }
            _ => {}
        }
    }
    keep
}

/// A streaming scan: segments one batch at a time, then the unsealed tail.
pub struct Scan<'r> {
    req: &'r ScanRequest,
    segments: VecDeque<SegmentInfo>,
    current: Option<Open>,
    pending: VecDeque<Event>,
    tail: std::vec::IntoIter<Event>,
    stats: ScanStats,
    failed: bool,
}

impl<'r> Scan<'r> {
    pub(crate) fn new(
        req: &'r ScanRequest,
        segments: Vec<SegmentInfo>,
        tail: Vec<Event>,
    ) -> Scan<'r> {
        let mut stats = ScanStats::default();
        let mut keep = VecDeque::new();
        for s in segments {
            stats.segments_considered += 1;
            if req.wants_dataset(&s.entry.dataset) && req.overlaps(s.entry.min_ts, s.entry.max_ts) {
                keep.push_back(s);
            } else {
                stats.segments_pruned += 1;
            }
        }
        let mut keep: Vec<SegmentInfo> = keep.into();
        keep.sort_by_key(|s| (s.entry.min_ts, s.entry.seq));
        Scan {
            req,
            segments: keep.into(),
            current: None,
            pending: VecDeque::new(),
            tail: tail.into_iter(),
            stats,
            failed: false,
        }
    }

    /// Work done so far.
    pub fn stats(&self) -> ScanStats {
        self.stats
    }

    fn open_next(&mut self) -> Result<bool> {
        while let Some(seg) = self.segments.pop_front() {
            let path = seg.path.clone();
            let pq = |source| StoreError::Parquet {
                path: path.clone(),
                source,
            };
            let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
            let md = builder.metadata().clone();
            let spilled = segment::spilled_fields(&md);
            let mut groups = Vec::new();
            for (i, rg) in md.row_groups().iter().enumerate() {
                self.stats.row_groups_considered += 1;
                if prune_by_stats(self.req, rg, &spilled) {
                    self.stats.row_groups_pruned_stats += 1;
                    continue;
                }
                if self.bloom_excludes(&builder, i, &spilled) {
                    self.stats.row_groups_pruned_bloom += 1;
                    continue;
                }
                groups.push(i);
            }
            if groups.is_empty() {
                continue;
            }
            let reader = builder
                .with_row_groups(groups)
                .with_batch_size(segment::SCAN_BATCH_ROWS)
                .build()
                .map_err(pq)?;
            self.current = Some(Open {
                reader,
                path,
                spilled,
            });
            return Ok(true);
        }
        Ok(false)
    }

    fn bloom_excludes(
        &self,
        b: &ParquetRecordBatchReaderBuilder<File>,
        rg: usize,
        spilled: &[String],
    ) -> bool {
        for (field, vals) in &self.req.equals {
            if !BLOOM_COLUMNS.contains(&field.as_str()) || spilled.iter().any(|f| f == field) {
                continue;
            }
            let (Some((_, kind)), Some(idx)) =
                (segment::column_of(field), segment::schema_index(field))
            else {
                continue;
            };
            let texts: Option<Vec<String>> = vals.iter().map(|v| as_column_text(kind, v)).collect();
            let Some(texts) = texts else { continue };
            let Ok(Some(sbbf)) = b.get_row_group_column_bloom_filter(rg, idx) else {
                continue;
            };
            if !texts.iter().any(|t| sbbf.check(t.as_str())) {
                return true;
            }
        }
        false
    }

    fn fill(&mut self) -> Result<bool> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(false);
            }
            let Some(cur) = self.current.as_mut() else {
                return Ok(false);
            };
            match cur.reader.next() {
                None => self.current = None,
                Some(Err(e)) => {
                    return Err(StoreError::Corrupt {
                        location: cur.path.display().to_string(),
                        reason: e.to_string(),
                    })
                }
                Some(Ok(batch)) => {
                    self.stats.rows_scanned += batch.num_rows() as u64;
                    let keep = prefilter(self.req, &batch, &cur.spilled);
                    let mut evs = Vec::new();
                    segment::from_batch_rows(&batch, Some(&keep), &mut evs)?;
                    self.pending
                        .extend(evs.into_iter().filter(|e| self.req.matches(e)));
                    if !self.pending.is_empty() {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

impl Iterator for Scan<'_> {
    type Item = Result<Event>;
    fn next(&mut self) -> Option<Result<Event>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(e) = self.pending.pop_front() {
                self.stats.rows_matched += 1;
                return Some(Ok(e));
            }
            match self.fill() {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        for e in self.tail.by_ref() {
            self.stats.tail_rows_scanned += 1;
            if self.req.matches(&e) {
                self.stats.rows_matched += 1;
                return Some(Ok(e));
            }
        }
        None
    }
}
