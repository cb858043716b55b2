//! Sealed segments: one Parquet file (zstd) per dataset, UTC day and seal.
//!
//! # Schema
//!
//! | column | Arrow type | content |
//! |---|---|---|
//! | `@timestamp` | `Timestamp(ns, "UTC")`, not null | event time |
//! | `event.kind`, `event.dataset` | `Utf8` | always set |
//! | keyword columns ([`COLUMNS`], kind `Keyword`/`Text`) | `Utf8` (Parquet dictionary encoded) | text |
//! | IP columns (`source.ip`, `destination.ip`, …) | `Utf8` | canonical text form (`10.0.0.1`, `2001:db8::1`) |
//! | number columns (ports, bytes, packets, …) | `Int64` | |
//! | date columns (`event.start`, …) | `Timestamp(ns, "UTC")` | |
//! | `mamori.score` | `Float64` | |
//! | `_extra` | `Utf8` | JSON object of every other field (flat dotted names) |
//!
//! A field goes to its typed column only when its value has that column's type (a list in
//! `source.ip`, or text in `source.port`, goes to `_extra`), so reading gives back exactly
//! what was written. In `_extra` IPs are written `{"$ip":"10.0.0.1"}`, times
//! `{"$t":<ns>}` and non-finite floats `{"$f":"NaN"}` so their types survive.
//!
//! IPs are strings so that DuckDB/ClickHouse queries stay simple:
//! `duckdb -c "SELECT \"source.ip\", count(*) FROM 'data/segments/sshd/*/*.parquet' GROUP BY 1"`.
//! Row groups carry min/max statistics; [`BLOOM_COLUMNS`] carry bloom filters.

use std::collections::HashMap;
use std::fs::File;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use mamori_core::{Event, EventKind, Timestamp, Value};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde_json::Value as Json;

use crate::error::{Result, StoreError};

/// zstd level of segment pages.
pub const ZSTD_LEVEL: i32 = 3;
/// Rows per row group (the unit of pruning and of scan memory).
pub const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Rows decoded per batch while scanning.
pub const SCAN_BATCH_ROWS: usize = 8 * 1024;
/// Name of the JSON column with every field that has no typed column.
pub const EXTRA_COLUMN: &str = "_extra";

/// Type of a typed column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Exact text (`Utf8`).
    Keyword,
    /// IP address as canonical text (`Utf8`).
    Ip,
    /// `Int64`.
    Long,
    /// `Float64`.
    Double,
    /// `Timestamp(ns, UTC)`.
    Date,
    /// `Boolean`.
    Bool,
}

/// The typed columns after `@timestamp`, `event.kind` and `event.dataset`.
pub const COLUMNS: &[(&str, ColumnKind)] = {
    use ColumnKind::*;
    &[
        ("message", Keyword),
        ("event.category", Keyword),
        ("event.type", Keyword),
        ("event.action", Keyword),
        ("event.outcome", Keyword),
        ("event.severity", Long),
        ("event.duration", Long),
        ("event.start", Date),
        ("event.end", Date),
        ("event.ingested", Date),
        ("observer.name", Keyword),
        ("observer.type", Keyword),
        ("source.ip", Ip),
        ("source.port", Long),
        ("source.mac", Keyword),
        ("source.bytes", Long),
        ("source.packets", Long),
        ("destination.ip", Ip),
        ("destination.port", Long),
        ("destination.mac", Keyword),
        ("destination.bytes", Long),
        ("destination.packets", Long),
        ("network.transport", Keyword),
        ("network.protocol", Keyword),
        ("network.community_id", Keyword),
        ("network.direction", Keyword),
        ("network.bytes", Long),
        ("network.packets", Long),
        ("network.vlan.id", Long),
        ("dns.question.name", Keyword),
        ("dns.question.type", Keyword),
        ("dns.response_code", Keyword),
        ("http.request.method", Keyword),
        ("http.response.status_code", Long),
        ("url.original", Keyword),
        ("url.domain", Keyword),
        ("user_agent.original", Keyword),
        ("tls.version", Keyword),
        ("tls.client.server_name", Keyword),
        ("tls.client.ja3", Keyword),
        ("tls.client.ja4", Keyword),
        ("user.name", Keyword),
        ("host.name", Keyword),
        ("process.name", Keyword),
        ("process.pid", Long),
        ("rule.id", Keyword),
        ("rule.name", Keyword),
        ("rule.ruleset", Keyword),
        ("mamori.severity", Keyword),
        ("mamori.score", Double),
        ("mamori.flow.state", Keyword),
        ("mamori.flow.tcp_flags", Keyword),
        ("winlog.event_id", Long),
        ("mamori.tls.self_signed", Bool),
    ]
};

/// Columns that carry Parquet bloom filters (needle searches).
pub const BLOOM_COLUMNS: &[&str] = &[
    "source.ip",
    "destination.ip",
    "user.name",
    "dns.question.name",
    "url.domain",
    "tls.client.server_name",
    "network.community_id",
];

/// Index of the first typed column in the Arrow schema.
const FIRST_TYPED: usize = 3;

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The Arrow schema of every segment.
pub fn schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let mut f = vec![
            Field::new("@timestamp", ts_type(), false),
            Field::new("event.kind", DataType::Utf8, false),
            Field::new("event.dataset", DataType::Utf8, false),
        ];
        for (name, kind) in COLUMNS {
            let dt = match kind {
                ColumnKind::Keyword | ColumnKind::Ip => DataType::Utf8,
                ColumnKind::Long => DataType::Int64,
                ColumnKind::Double => DataType::Float64,
                ColumnKind::Date => ts_type(),
                ColumnKind::Bool => DataType::Boolean,
            };
            f.push(Field::new(*name, dt, true));
        }
        f.push(Field::new(EXTRA_COLUMN, DataType::Utf8, true));
        Arc::new(Schema::new(f))
    })
    .clone()
}

/// Typed column index (into [`COLUMNS`]) of a field name.
pub fn column_of(name: &str) -> Option<(usize, ColumnKind)> {
    static M: OnceLock<HashMap<&'static str, (usize, ColumnKind)>> = OnceLock::new();
    M.get_or_init(|| {
        COLUMNS
            .iter()
            .enumerate()
            .map(|(i, (n, k))| (*n, (i, *k)))
            .collect()
    })
    .get(name)
    .copied()
}

/// Whether `v` has the type of a column of kind `k` (else it goes to `_extra`).
fn fits(k: ColumnKind, v: &Value) -> bool {
    matches!(
        (k, v),
        (ColumnKind::Keyword, Value::Str(_))
            | (ColumnKind::Ip, Value::Ip(_))
            | (ColumnKind::Long, Value::Int(_))
            | (ColumnKind::Double, Value::Float(_))
            | (ColumnKind::Date, Value::Time(_))
            | (ColumnKind::Bool, Value::Bool(_))
    )
}

fn value_to_extra(v: &Value) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Json::Number(n),
            None => serde_json::json!({ "$f": f.to_string() }),
        },
        Value::Str(s) => Json::String(s.clone()),
        Value::Ip(ip) => serde_json::json!({ "$ip": ip.to_string() }),
        Value::Time(t) => serde_json::json!({ "$t": t.unix_nanos() }),
        Value::List(items) => Json::Array(items.iter().map(value_to_extra).collect()),
    }
}

fn extra_to_value(j: &Json) -> Option<Value> {
    Some(match j {
        Json::Null => return None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64()?),
        },
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(a) => Value::List(a.iter().filter_map(extra_to_value).collect()),
        Json::Object(o) => {
            let one = if o.len() == 1 { o.iter().next() } else { None };
            match one {
                Some((k, Json::String(s))) if k == "$ip" => match s.parse::<IpAddr>() {
                    Ok(ip) => Value::Ip(ip),
                    Err(_) => Value::Str(s.clone()),
                },
                Some((k, Json::Number(n))) if k == "$t" => {
                    Value::Time(Timestamp::from_unix_nanos(n.as_i64()?))
                }
                Some((k, Json::String(s))) if k == "$f" => Value::Float(s.parse().ok()?),
                _ => Value::Str(j.to_string()),
            }
        }
    })
}

enum Col {
    Str(StringBuilder),
    Long(Int64Builder),
    Double(Float64Builder),
    Date(TimestampNanosecondBuilder),
    Bool(BooleanBuilder),
}

/// Build one record batch from events (any order; callers sort first).
pub fn to_batch(events: &[Event]) -> Result<RecordBatch> {
    let n = events.len();
    let mut ts = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut kind = StringBuilder::with_capacity(n, n * 5);
    let mut ds = StringBuilder::with_capacity(n, n * 8);
    let mut cols: Vec<Col> = COLUMNS
        .iter()
        .map(|(_, k)| match k {
            ColumnKind::Keyword | ColumnKind::Ip => Col::Str(StringBuilder::with_capacity(n, 0)),
            ColumnKind::Long => Col::Long(Int64Builder::with_capacity(n)),
            ColumnKind::Double => Col::Double(Float64Builder::with_capacity(n)),
            ColumnKind::Date => {
                Col::Date(TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC"))
            }
            ColumnKind::Bool => Col::Bool(BooleanBuilder::with_capacity(n)),
        })
        .collect();
    let mut extra = StringBuilder::with_capacity(n, n * 32);
    let mut row: Vec<Option<&Value>> = vec![None; COLUMNS.len()];
    for ev in events {
        ts.append_value(ev.timestamp.unix_nanos());
        kind.append_value(ev.kind.as_str());
        ds.append_value(&ev.dataset);
        row.iter_mut().for_each(|r| *r = None);
        let mut ex = serde_json::Map::new();
        for (k, v) in &ev.fields {
            match column_of(k) {
                Some((i, ck)) if fits(ck, v) => {
                    if let Some(slot) = row.get_mut(i) {
                        *slot = Some(v);
                    }
                }
                _ => {
                    ex.insert(k.to_string(), value_to_extra(v));
                }
            }
        }
        for (col, v) in cols.iter_mut().zip(&row) {
            match (col, v) {
                (Col::Str(b), Some(Value::Str(s))) => b.append_value(s),
                (Col::Str(b), Some(Value::Ip(ip))) => b.append_value(ip.to_string()),
                (Col::Str(b), _) => b.append_null(),
                (Col::Long(b), Some(Value::Int(i))) => b.append_value(*i),
                (Col::Long(b), _) => b.append_null(),
                (Col::Double(b), Some(Value::Float(f))) => b.append_value(*f),
                (Col::Double(b), _) => b.append_null(),
                (Col::Date(b), Some(Value::Time(t))) => b.append_value(t.unix_nanos()),
                (Col::Date(b), _) => b.append_null(),
                (Col::Bool(b), Some(Value::Bool(x))) => b.append_value(*x),
                (Col::Bool(b), _) => b.append_null(),
            }
        }
        if ex.is_empty() {
            extra.append_null();
        } else {
            extra.append_value(Json::Object(ex).to_string());
        }
    }
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(ts.finish()),
        Arc::new(kind.finish()),
        Arc::new(ds.finish()),
    ];
    for c in cols {
        arrays.push(match c {
            Col::Str(mut b) => Arc::new(b.finish()) as ArrayRef,
            Col::Long(mut b) => Arc::new(b.finish()) as ArrayRef,
            Col::Double(mut b) => Arc::new(b.finish()) as ArrayRef,
            Col::Date(mut b) => Arc::new(b.finish()) as ArrayRef,
            Col::Bool(mut b) => Arc::new(b.finish()) as ArrayRef,
        });
    }
    arrays.push(Arc::new(extra.finish()));
    Ok(RecordBatch::try_new(schema(), arrays)?)
}

/// Writer properties: zstd, row-group statistics, bloom filters on [`BLOOM_COLUMNS`].
pub fn writer_properties() -> WriterProperties {
    let level = ZstdLevel::try_new(ZSTD_LEVEL).unwrap_or_default();
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by("mamori-store".into());
    for c in BLOOM_COLUMNS {
        b = b
            .set_column_bloom_filter_enabled(ColumnPath::from(*c), true)
            .set_column_bloom_filter_fpp(ColumnPath::from(*c), 0.01);
    }
    b.build()
}

/// Key-value metadata key listing typed fields that some rows keep in `_extra`.
pub const SPILLED_KEY: &str = "mamori.spilled";

/// Typed fields that some rows of a file keep in `_extra` (their statistics are partial).
pub fn spilled_fields(md: &parquet::file::metadata::ParquetMetaData) -> Vec<String> {
    md.file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == SPILLED_KEY))
        .and_then(|k| k.value.as_deref())
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Write `events` (sorted by time) as a Parquet file at `path` and fsync it.
pub fn write_segment(path: &Path, events: &[Event]) -> Result<()> {
    let pq = |source| StoreError::Parquet {
        path: path.to_owned(),
        source,
    };
    let mut spilled: Vec<&str> = Vec::new();
    for ev in events {
        for (k, v) in &ev.fields {
            if let Some((_, ck)) = column_of(k) {
                if !fits(ck, v) && !spilled.contains(&k.as_ref()) {
                    spilled.push(k);
                }
            }
        }
    }
    let mut props = writer_properties();
    if !spilled.is_empty() {
        let mut b = writer_properties().into_builder();
        b = b.set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            SPILLED_KEY.to_owned(),
            spilled.join(","),
        )]));
        props = b.build();
    }
    let file = File::create(path).map_err(|e| StoreError::io(path, e))?;
    let mut w = ArrowWriter::try_new(file, schema(), Some(props)).map_err(pq)?;
    for chunk in events.chunks(ROW_GROUP_ROWS) {
        let batch = to_batch(chunk)?;
        w.write(&batch).map_err(pq)?;
    }
    let file = w.into_inner().map_err(pq)?;
    file.sync_all().map_err(|e| StoreError::io(path, e))?;
    Ok(())
}

/// Convert a record batch of the segment schema back into events.
pub fn from_batch(batch: &RecordBatch, out: &mut Vec<Event>) -> Result<()> {
    from_batch_rows(batch, None, out)
}

/// Like [`from_batch`] for the rows whose `keep` flag is set (all rows when `None`).
pub fn from_batch_rows(
    batch: &RecordBatch,
    keep: Option<&[bool]>,
    out: &mut Vec<Event>,
) -> Result<()> {
    let corrupt = |what: &str| StoreError::Corrupt {
        location: "segment batch".into(),
        reason: format!("column {what} missing or of the wrong type"),
    };
    let s = batch.schema();
    let col = |name: &str| -> Option<&ArrayRef> {
        s.index_of(name).ok().and_then(|i| batch.columns().get(i))
    };
    let ts = col("@timestamp")
        .and_then(|a| a.as_primitive_opt::<TimestampNanosecondType>())
        .ok_or_else(|| corrupt("@timestamp"))?;
    let kind = col("event.kind")
        .and_then(|a| a.as_string_opt::<i32>())
        .ok_or_else(|| corrupt("event.kind"))?;
    let ds = col("event.dataset")
        .and_then(|a| a.as_string_opt::<i32>())
        .ok_or_else(|| corrupt("event.dataset"))?;
    let typed: Vec<(&str, ColumnKind, Option<&ArrayRef>)> =
        COLUMNS.iter().map(|(n, k)| (*n, *k, col(n))).collect();
    let extra = col(EXTRA_COLUMN).and_then(|a| a.as_string_opt::<i32>());
    for r in 0..batch.num_rows() {
        if keep.is_some_and(|k| !k.get(r).copied().unwrap_or(false)) {
            continue;
        }
        let mut ev = Event::new(
            Timestamp::from_unix_nanos(ts.value(r)),
            ds.value(r).to_owned(),
        )
        .with_kind(EventKind::parse(kind.value(r)).unwrap_or(EventKind::Event));
        for (name, k, arr) in &typed {
            let Some(arr) = arr else { continue };
            if arr.is_null(r) {
                continue;
            }
            let v = match k {
                ColumnKind::Keyword => arr
                    .as_string_opt::<i32>()
                    .map(|a| Value::Str(a.value(r).to_owned())),
                ColumnKind::Ip => arr.as_string_opt::<i32>().map(|a| {
                    let t = a.value(r);
                    t.parse::<IpAddr>()
                        .map(Value::Ip)
                        .unwrap_or_else(|_| Value::Str(t.to_owned()))
                }),
                ColumnKind::Long => arr
                    .as_primitive_opt::<Int64Type>()
                    .map(|a| Value::Int(a.value(r))),
                ColumnKind::Double => arr
                    .as_primitive_opt::<Float64Type>()
                    .map(|a| Value::Float(a.value(r))),
                ColumnKind::Date => arr
                    .as_primitive_opt::<TimestampNanosecondType>()
                    .map(|a| Value::Time(Timestamp::from_unix_nanos(a.value(r)))),
                ColumnKind::Bool => arr.as_boolean_opt().map(|a| Value::Bool(a.value(r))),
            };
            if let Some(v) = v {
                ev.fields.insert((*name).into(), v);
            }
        }
        if let Some(ex) = extra {
            if !ex.is_null(r) {
                if let Ok(Json::Object(m)) = serde_json::from_str::<Json>(ex.value(r)) {
                    for (k, j) in m {
                        if let Some(v) = extra_to_value(&j) {
                            ev.fields.insert(k.into(), v);
                        }
                    }
                }
            }
        }
        out.push(ev);
    }
    Ok(())
}

/// Open a segment for reading (metadata only until batches are pulled).
pub fn open_reader(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| StoreError::Parquet {
        path: path.to_owned(),
        source,
    })
}

/// Read a whole segment (tests, small files).
pub fn read_segment(path: &Path) -> Result<Vec<Event>> {
    let r = open_reader(path)?
        .with_batch_size(SCAN_BATCH_ROWS)
        .build()
        .map_err(|source| StoreError::Parquet {
            path: path.to_owned(),
            source,
        })?;
    let mut out = Vec::new();
    for b in r {
        from_batch(&b?, &mut out)?;
    }
    Ok(out)
}

/// Index of `name` in the Arrow schema (typed columns are offset by the three fixed ones).
pub fn schema_index(name: &str) -> Option<usize> {
    match name {
        "@timestamp" => Some(0),
        "event.kind" => Some(1),
        "event.dataset" => Some(2),
        _ => column_of(name).map(|(i, _)| i + FIRST_TYPED),
    }
}
