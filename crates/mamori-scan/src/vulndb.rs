//! Vulnerability data: streaming importers and the CVE database.
//!
//! Formats (detected from content, `.gz` transparently): NVD CVE JSON 2.0 feeds, CVE JSON 5
//! records (one record, or an array of records), CISA KEV JSON, JVN iPedia / MyJVN RDF/XML and
//! vulscan CSV (`<id>;<title>`). JSON is streamed element by element (`vulnerabilities[]`), so
//! memory is bounded by one record, not by the feed.
//!
//! Storage: an in-memory map keyed by (source, id), persisted as a gzip-compressed JSON-lines
//! file ([`CveDb::save`] / [`CveDb::load`]). SQLite (`rusqlite` bundled) was not used: it
//! compiles ~250k lines of C on a 2-core builder, and every query mamori needs (match by
//! vendor:product, counts per source) runs on an index built in memory anyway. Re-import is
//! idempotent: a record replaces the one with the same source and id.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use mamori_core::{Counters, Timestamp};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cpe::Cpe;
use crate::model::is_cve_id;
use crate::xmlsafe::{attr, Item, SafeXml, XmlError};

/// Largest decompressed/plain input read from one file (bytes).
pub const IMPORT_MAX_BYTES: u64 = 8 << 30;
/// Longest description kept (bytes).
pub const DESCRIPTION_MAX: usize = 8 * 1024;
/// Most CPE ranges kept per record.
pub const RANGES_MAX: usize = 4096;
/// Longest vulscan CSV line (bytes).
pub const VULSCAN_LINE_MAX: usize = 16 * 1024;
/// Database file format version.
pub const DB_FORMAT_VERSION: u32 = 1;

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// NVD CVE JSON 2.0.
    Nvd,
    /// CVE JSON 5 (CVE Program / cvelistV5).
    Cve5,
    /// CISA Known Exploited Vulnerabilities.
    Kev,
    /// JVN iPedia / MyJVN.
    Jvn,
    /// vulscan CSV.
    Vulscan,
}

impl Source {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Nvd => "nvd",
            Source::Cve5 => "cve5",
            Source::Kev => "kev",
            Source::Jvn => "jvn",
            Source::Vulscan => "vulscan",
        }
    }
}

/// A CVSS score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `3.1`, `3.0`, `4.0`, `2.0`.
    pub version: String,
    /// Base score.
    pub score: f32,
    /// Vector string.
    pub vector: String,
    /// Severity word as published.
    pub severity: Option<String>,
}

/// A vulnerable configuration: a CPE criterion with an optional version range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeRange {
    /// Criterion (may hold ANY/wildcards).
    pub criteria: Cpe,
    /// `versionStartIncluding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_including: Option<String>,
    /// `versionStartExcluding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_excluding: Option<String>,
    /// `versionEndIncluding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_including: Option<String>,
    /// `versionEndExcluding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_excluding: Option<String>,
}

impl CpeRange {
    /// Whether any bound is set.
    pub fn has_bounds(&self) -> bool {
        self.start_including.is_some()
            || self.start_excluding.is_some()
            || self.end_including.is_some()
            || self.end_excluding.is_some()
    }

    /// Whether `version` lies within the bounds (inclusive/exclusive as given).
    pub fn contains_version(&self, version: &str) -> bool {
        use crate::version::compare;
        use std::cmp::Ordering::*;
        if let Some(s) = &self.start_including {
            if compare(version, s) == Less {
                return false;
            }
        }
        if let Some(s) = &self.start_excluding {
            if compare(version, s) != Greater {
                return false;
            }
        }
        if let Some(e) = &self.end_including {
            if compare(version, e) == Greater {
                return false;
            }
        }
        if let Some(e) = &self.end_excluding {
            if compare(version, e) != Less {
                return false;
            }
        }
        true
    }
}

/// One vulnerability record from one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    /// `CVE-…`, `JVNDB-…` or a vulscan id.
    pub id: String,
    /// Source.
    pub source: Option<Source>,
    /// Published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Timestamp>,
    /// Last modified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<Timestamp>,
    /// Title (JVN, vulscan, KEV name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// English description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_en: Option<String>,
    /// Japanese description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_ja: Option<String>,
    /// CVSS v3.x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss3: Option<Cvss>,
    /// CVSS v4.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss4: Option<Cvss>,
    /// Vulnerable configurations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<CpeRange>,
    /// Related ids (CVE ids of a JVN record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// A CISA KEV entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    /// CVE id.
    pub cve: String,
    /// `dateAdded`.
    pub date_added: Option<String>,
    /// `dueDate`.
    pub due_date: Option<String>,
    /// `knownRansomwareCampaignUse` (`Known`/`Unknown`).
    pub ransomware: Option<String>,
    /// `vulnerabilityName`.
    pub name: Option<String>,
}

/// Result of importing one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// File name.
    pub file: String,
    /// Detected format.
    pub format: String,
    /// Records stored (new or replaced).
    pub records: u64,
    /// Of which new.
    pub new: u64,
    /// KEV entries stored.
    pub kev: u64,
    /// Skipped items by reason.
    pub counters: Counters,
    /// True when the file broke part way; records before the break were kept.
    pub partial: bool,
    /// The error that stopped the import, naming file and position.
    pub error: Option<String>,
}

/// Errors that stop an import before anything was stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// File could not be read.
    #[error("{file}: {source}")]
    Io {
        /// File.
        file: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Content is not a recognised format.
    #[error("{file}: unrecognised vulnerability data (expected nvd/cve5/kev json, jvn rdf/xml or vulscan csv): {detail}")]
    Format {
        /// File.
        file: String,
        /// What was seen.
        detail: String,
    },
    /// Malformed content before any record.
    #[error("{file}: {message}")]
    Parse {
        /// File.
        file: String,
        /// Message with position.
        message: String,
    },
    /// Hardened XML refused the file.
    #[error(transparent)]
    Xml(#[from] XmlError),
}

/// An import in the database's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportLog {
    /// File name.
    pub file: String,
    /// Format.
    pub format: String,
    /// When.
    pub at: Timestamp,
    /// Records stored.
    pub records: u64,
}

/// Coverage of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    /// Source name.
    pub source: String,
    /// Records.
    pub records: u64,
    /// Newest published/modified date among its records.
    pub newest_record: Option<Timestamp>,
    /// Last import of this source.
    pub last_import: Option<Timestamp>,
    /// `now - last_import`, seconds.
    pub import_age_secs: Option<i64>,
}

/// Database status (`mamori cve status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbStatus {
    /// Per source.
    pub sources: Vec<SourceStatus>,
    /// All records.
    pub total_records: u64,
    /// KEV entries.
    pub kev_entries: u64,
}

/// Errors reading or writing the database file.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// IO.
    #[error("{file}: {source}")]
    Io {
        /// File.
        file: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Corrupt line.
    #[error("{file}: corrupt database at line {line}: {message}")]
    Corrupt {
        /// File.
        file: String,
        /// Line.
        line: u64,
        /// Why.
        message: String,
    },
}

/// The CVE database.
#[derive(Debug, Clone, Default)]
pub struct CveDb {
    records: BTreeMap<(Source, String), CveRecord>,
    kev: BTreeMap<String, KevEntry>,
    imports: Vec<ImportLog>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
enum DbLine {
    Header { format: String, version: u32 },
    Cve(Box<CveRecord>),
    Kev(KevEntry),
    Import(ImportLog),
}

fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Parse NVD/CVE5/JVN dates: RFC 3339 with or without offset, or a bare date.
pub fn parse_date(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Some(t);
    }
    if s.len() == 10 {
        return Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z")).ok();
    }
    // `2021-10-06T12:00+09:00` (JVN): minutes without seconds
    if s.len() > 16 && s.as_bytes().get(10) == Some(&b'T') && s.as_bytes().get(16) != Some(&b':') {
        if let (Some(a), Some(b)) = (s.get(..16), s.get(16..)) {
            if let Ok(t) = Timestamp::parse_rfc3339(&format!("{a}:00{b}")) {
                return Some(t);
            }
        }
    }
    Timestamp::parse_rfc3339(&format!("{s}Z")).ok()
}

fn s_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn descriptions(v: Option<&Value>, rec: &mut CveRecord) {
    for d in v.and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
        let lang = s_of(d, "lang").unwrap_or("");
        let Some(text) = s_of(d, "value") else {
            continue;
        };
        let text = clip(text.to_string(), DESCRIPTION_MAX);
        if lang.starts_with("en") && rec.description_en.is_none() {
            rec.description_en = Some(text);
        } else if lang.starts_with("ja") && rec.description_ja.is_none() {
            rec.description_ja = Some(text);
        }
    }
}

fn cvss_from(data: &Value, default_version: &str) -> Option<Cvss> {
    let score = data.get("baseScore").and_then(Value::as_f64)? as f32;
    Some(Cvss {
        version: s_of(data, "version").unwrap_or(default_version).to_string(),
        score,
        vector: s_of(data, "vectorString").unwrap_or("").to_string(),
        severity: s_of(data, "baseSeverity").map(str::to_string),
    })
}

/// NVD metrics: prefer the `Primary` entry.
fn nvd_metric(metrics: &Value, key: &str, version: &str) -> Option<Cvss> {
    let arr = metrics.get(key)?.as_array()?;
    let pick = arr
        .iter()
        .find(|m| s_of(m, "type") == Some("Primary"))
        .or_else(|| arr.first())?;
    cvss_from(pick.get("cvssData")?, version)
}

fn ver_opt(v: &Value, key: &str) -> Option<String> {
    s_of(v, key)
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "*" && *s != "-")
        .map(str::to_string)
}

fn nvd_record(cve: &Value, counters: &mut Counters) -> Option<CveRecord> {
    let id = s_of(cve, "id")?.to_string();
    if !is_cve_id(&id) {
        counters.incr_with_sample("nvd_bad_id", || id.clone());
        return None;
    }
    if s_of(cve, "vulnStatus").is_some_and(|s| s.eq_ignore_ascii_case("rejected")) {
        counters.incr("nvd_rejected_cve_skipped");
        return None;
    }
    let mut rec = CveRecord {
        id,
        source: Some(Source::Nvd),
        published: s_of(cve, "published").and_then(parse_date),
        last_modified: s_of(cve, "lastModified").and_then(parse_date),
        ..CveRecord::default()
    };
    descriptions(cve.get("descriptions"), &mut rec);
    if let Some(m) = cve.get("metrics") {
        rec.cvss3 =
            nvd_metric(m, "cvssMetricV31", "3.1").or_else(|| nvd_metric(m, "cvssMetricV30", "3.0"));
        rec.cvss4 = nvd_metric(m, "cvssMetricV40", "4.0");
    }
    let configs = cve.get("configurations").and_then(Value::as_array);
    for cfg in configs.map_or(&[][..], Vec::as_slice) {
        let nodes = cfg.get("nodes").and_then(Value::as_array);
        for node in nodes.map_or(&[][..], Vec::as_slice) {
            if node.get("negate").and_then(Value::as_bool) == Some(true) {
                counters.incr("nvd_negated_node_skipped");
                continue;
            }
            let matches = node.get("cpeMatch").and_then(Value::as_array);
            for m in matches.map_or(&[][..], Vec::as_slice) {
                if m.get("vulnerable").and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                let Some(crit) = s_of(m, "criteria") else {
                    counters.incr("nvd_cpematch_without_criteria");
                    continue;
                };
                let criteria = match Cpe::parse(crit) {
                    Ok(c) => c,
                    Err(e) => {
                        counters.incr_with_sample("nvd_bad_cpe", || e.to_string());
                        continue;
                    }
                };
                if rec.configurations.len() >= RANGES_MAX {
                    counters.incr("nvd_ranges_over_limit");
                    continue;
                }
                rec.configurations.push(CpeRange {
                    criteria,
                    start_including: ver_opt(m, "versionStartIncluding"),
                    start_excluding: ver_opt(m, "versionStartExcluding"),
                    end_including: ver_opt(m, "versionEndIncluding"),
                    end_excluding: ver_opt(m, "versionEndExcluding"),
                });
            }
        }
    }
    Some(rec)
}

fn cve5_record(v: &Value, counters: &mut Counters) -> Option<CveRecord> {
    let meta = v.get("cveMetadata")?;
    let id = s_of(meta, "cveId")?.to_string();
    if !is_cve_id(&id) {
        counters.incr_with_sample("cve5_bad_id", || id.clone());
        return None;
    }
    if s_of(meta, "state").is_some_and(|s| s.eq_ignore_ascii_case("rejected")) {
        counters.incr("cve5_rejected_cve_skipped");
        return None;
    }
    let mut rec = CveRecord {
        id,
        source: Some(Source::Cve5),
        published: s_of(meta, "datePublished").and_then(parse_date),
        last_modified: s_of(meta, "dateUpdated").and_then(parse_date),
        ..CveRecord::default()
    };
    let containers = v.get("containers");
    let cna = containers.and_then(|c| c.get("cna"));
    let Some(cna) = cna else {
        counters.incr("cve5_without_cna");
        return Some(rec);
    };
    rec.title = s_of(cna, "title").map(str::to_string);
    descriptions(cna.get("descriptions"), &mut rec);
    let adp = containers
        .and_then(|c| c.get("adp"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for holder in std::iter::once(cna).chain(adp.iter()) {
        for m in holder
            .get("metrics")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
        {
            if rec.cvss3.is_none() {
                rec.cvss3 = m
                    .get("cvssV3_1")
                    .and_then(|d| cvss_from(d, "3.1"))
                    .or_else(|| m.get("cvssV3_0").and_then(|d| cvss_from(d, "3.0")));
            }
            if rec.cvss4.is_none() {
                rec.cvss4 = m.get("cvssV4_0").and_then(|d| cvss_from(d, "4.0"));
            }
        }
    }
    for a in cna
        .get("affected")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        let (Some(vendor), Some(product)) = (s_of(a, "vendor"), s_of(a, "product")) else {
            counters.incr("cve5_affected_without_vendor_product");
            continue;
        };
        if vendor.eq_ignore_ascii_case("n/a") || product.eq_ignore_ascii_case("n/a") {
            counters.incr("cve5_affected_unnamed");
            continue;
        }
        // CVE 5 names are free text; known products map to their NVD vendor:product.
        let base = crate::ident::cpes_for_product(product, None)
            .into_iter()
            .next()
            .unwrap_or_else(|| Cpe::application(vendor, product, None));
        for ver in a
            .get("versions")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
        {
            if s_of(ver, "status") != Some("affected") {
                continue;
            }
            let version = ver_opt(ver, "version").filter(|v| {
                v != "0" && !v.eq_ignore_ascii_case("unspecified") && !v.eq_ignore_ascii_case("n/a")
            });
            let lt = ver_opt(ver, "lessThan");
            let le = ver_opt(ver, "lessThanOrEqual");
            if rec.configurations.len() >= RANGES_MAX {
                counters.incr("cve5_ranges_over_limit");
                break;
            }
            let range = if lt.is_some() || le.is_some() {
                CpeRange {
                    criteria: base.clone(),
                    start_including: version,
                    start_excluding: None,
                    end_including: le,
                    end_excluding: lt,
                }
            } else if let Some(v) = version {
                CpeRange {
                    criteria: base.with_version(&v),
                    start_including: None,
                    start_excluding: None,
                    end_including: None,
                    end_excluding: None,
                }
            } else {
                counters.incr("cve5_version_unspecified");
                continue;
            };
            rec.configurations.push(range);
        }
    }
    Some(rec)
}

fn kev_entry(v: &Value, counters: &mut Counters) -> Option<KevEntry> {
    let cve = s_of(v, "cveID")?.trim().to_string();
    if !is_cve_id(&cve) {
        counters.incr_with_sample("kev_bad_id", || cve.clone());
        return None;
    }
    Some(KevEntry {
        cve,
        date_added: s_of(v, "dateAdded").map(str::to_string),
        due_date: s_of(v, "dueDate").map(str::to_string),
        ransomware: s_of(v, "knownRansomwareCampaignUse").map(str::to_string),
        name: s_of(v, "vulnerabilityName").map(str::to_string),
    })
}

/// What the JSON stream produced, element by element.
enum JsonItem {
    Element(Value),
    Cve5(Value),
}

struct Top<'a> {
    sink: &'a mut dyn FnMut(JsonItem),
}

struct Elements<'a> {
    sink: &'a mut dyn FnMut(JsonItem),
    cve5: bool,
}

impl<'de> DeserializeSeed<'de> for Elements<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            (self.sink)(if self.cve5 {
                JsonItem::Cve5(v)
            } else {
                JsonItem::Element(v)
            });
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a feed object or an array of cve records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Elements {
            sink: self.sink,
            cve5: true,
        }
        .visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut single = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "vulnerabilities" | "cves" => map.next_value_seed(Elements {
                    sink: &mut *self.sink,
                    cve5: key == "cves",
                })?,
                "cveMetadata" | "containers" | "dataType" => {
                    let v = map.next_value::<Value>()?;
                    single.insert(key, v);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if single.contains_key("cveMetadata") {
            (self.sink)(JsonItem::Cve5(Value::Object(single)));
        }
        Ok(())
    }
}

impl CveDb {
    /// Empty database.
    pub fn new() -> CveDb {
        CveDb::default()
    }

    /// Number of records (all sources).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.kev.is_empty()
    }

    /// All records.
    pub fn records(&self) -> impl Iterator<Item = &CveRecord> {
        self.records.values()
    }

    /// A record of one source.
    pub fn get(&self, source: Source, id: &str) -> Option<&CveRecord> {
        self.records.get(&(source, id.to_string()))
    }

    /// KEV entry of a CVE.
    pub fn kev(&self, cve: &str) -> Option<&KevEntry> {
        self.kev.get(cve)
    }

    /// Import log.
    pub fn imports(&self) -> &[ImportLog] {
        &self.imports
    }

    /// Insert a record (replacing the same source and id). Returns true when new.
    pub fn insert(&mut self, rec: CveRecord) -> bool {
        let key = (rec.source.unwrap_or(Source::Nvd), rec.id.clone());
        self.records.insert(key, rec).is_none()
    }

    /// Insert a KEV entry.
    pub fn insert_kev(&mut self, e: KevEntry) {
        self.kev.insert(e.cve.clone(), e);
    }

    /// Import a file (plain or gzip), format detected from its content.
    pub fn import_file(
        &mut self,
        path: &Path,
        now: Timestamp,
    ) -> Result<ImportReport, ImportError> {
        let name = path.display().to_string();
        let f = File::open(path).map_err(|source| ImportError::Io {
            file: name.clone(),
            source,
        })?;
        self.import_reader(BufReader::new(f), &name, now)
    }

    /// Import from memory (plain or gzip).
    pub fn import_bytes(
        &mut self,
        bytes: &[u8],
        name: &str,
        now: Timestamp,
    ) -> Result<ImportReport, ImportError> {
        self.import_reader(bytes, name, now)
    }

    /// Import from a reader (plain or gzip).
    pub fn import_reader<R: BufRead>(
        &mut self,
        mut r: R,
        name: &str,
        now: Timestamp,
    ) -> Result<ImportReport, ImportError> {
        let io = |source| ImportError::Io {
            file: name.to_string(),
            source,
        };
        let gz = r.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
        if gz {
            let inner = BufReader::new(GzDecoder::new(r).take(IMPORT_MAX_BYTES));
            self.import_plain(inner, name, now)
        } else {
            self.import_plain(r.take(IMPORT_MAX_BYTES), name, now)
        }
    }

    fn import_plain<R: BufRead>(
        &mut self,
        mut r: R,
        name: &str,
        now: Timestamp,
    ) -> Result<ImportReport, ImportError> {
        let first = loop {
            let buf = r.fill_buf().map_err(|source| ImportError::Io {
                file: name.to_string(),
                source,
            })?;
            if buf.is_empty() {
                return Err(ImportError::Format {
                    file: name.into(),
                    detail: "empty file".into(),
                });
            }
            let skip = buf
                .iter()
                .take_while(|b| b.is_ascii_whitespace() || matches!(b, 0xef | 0xbb | 0xbf))
                .count();
            if skip < buf.len() {
                let c = buf.get(skip).copied().unwrap_or(0);
                r.consume(skip);
                break c;
            }
            let n = buf.len();
            r.consume(n);
        };
        let mut report = ImportReport {
            file: name.into(),
            ..ImportReport::default()
        };
        let result = match first {
            b'{' | b'[' => self.import_json(r, &mut report),
            b'<' => self.import_jvn(r, &mut report),
            _ => self.import_vulscan(r, &mut report),
        };
        if let Err(e) = result {
            if report.records == 0 && report.kev == 0 {
                return Err(e);
            }
            report.partial = true;
            report.error = Some(e.to_string());
        }
        self.imports.push(ImportLog {
            file: name.into(),
            format: report.format.clone(),
            at: now,
            records: report.records + report.kev,
        });
        Ok(report)
    }

    fn store(&mut self, rec: CveRecord, report: &mut ImportReport) {
        report.records += 1;
        if self.insert(rec) {
            report.new += 1;
        }
    }

    fn import_json<R: Read>(&mut self, r: R, report: &mut ImportReport) -> Result<(), ImportError> {
        let mut de = serde_json::Deserializer::from_reader(r);
        let mut counters = Counters::new();
        let mut format = String::new();
        let res = {
            let db = &mut *self;
            let rep = &mut *report;
            let mut sink = |item: JsonItem| {
                let (rec, kev) = match item {
                    JsonItem::Element(v) => {
                        if let Some(cve) = v.get("cve") {
                            if format.is_empty() {
                                format = "nvd-json-2.0".into();
                            }
                            (nvd_record(cve, &mut counters), None)
                        } else if v.get("cveID").is_some() {
                            if format.is_empty() {
                                format = "cisa-kev".into();
                            }
                            (None, kev_entry(&v, &mut counters))
                        } else if v.get("cveMetadata").is_some() {
                            if format.is_empty() {
                                format = "cve-json-5".into();
                            }
                            (cve5_record(&v, &mut counters), None)
                        } else {
                            counters.incr("json_element_unrecognised");
                            (None, None)
                        }
                    }
                    JsonItem::Cve5(v) => {
                        if format.is_empty() {
                            format = "cve-json-5".into();
                        }
                        if v.get("cveMetadata").is_none() {
                            counters.incr("json_element_unrecognised");
                        }
                        (cve5_record(&v, &mut counters), None)
                    }
                };
                // Each element is stored as soon as it is parsed: memory holds one element at a time.
                if let Some(rec) = rec {
                    db.store(rec, rep);
                }
                if let Some(k) = kev {
                    rep.kev += 1;
                    db.insert_kev(k);
                }
            };
            Top { sink: &mut sink }.deserialize(&mut de)
        };
        report.format = if format.is_empty() {
            "json".into()
        } else {
            format
        };
        report.counters.merge(&counters);
        let res = res.and_then(|()| de.end());
        res.map_err(|e| ImportError::Parse {
            file: report.file.clone(),
            message: format!("json error at line {} column {}: {e}", e.line(), e.column()),
        })?;
        if report.records == 0 && report.kev == 0 && report.counters.is_empty() {
            return Err(ImportError::Format {
                file: report.file.clone(),
                detail: "json without vulnerabilities[], cveMetadata or cves[]".into(),
            });
        }
        Ok(())
    }

    fn import_vulscan<R: BufRead>(
        &mut self,
        r: R,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        report.format = "vulscan-csv".into();
        let mut lineno = 0u64;
        let mut good = 0u64;
        let mut buf = Vec::new();
        let mut r = r;
        loop {
            buf.clear();
            let n = r
                .by_ref()
                .take(VULSCAN_LINE_MAX as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|source| ImportError::Io {
                    file: report.file.clone(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            lineno += 1;
            if buf.len() > VULSCAN_LINE_MAX && !buf.ends_with(b"\n") {
                report
                    .counters
                    .incr_with_sample("vulscan_line_too_long", || {
                        format!("{} line {lineno}", report.file)
                    });
                // skip the rest of the line
                let mut sink = Vec::new();
                let _ = r.read_until(b'\n', &mut sink);
                continue;
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\r', '\n']);
            if line.trim().is_empty() {
                continue;
            }
            let Some((id, title)) = line.split_once(';') else {
                report.counters.incr_with_sample("vulscan_bad_line", || {
                    format!("{} line {lineno}: {line}", report.file)
                });
                if good == 0 && lineno >= 3 {
                    return Err(ImportError::Format {
                        file: report.file.clone(),
                        detail: format!("line {lineno} is not `<id>;<title>`"),
                    });
                }
                continue;
            };
            let id = id.trim();
            if id.is_empty() || id.len() > 64 || id.chars().any(char::is_whitespace) {
                report.counters.incr_with_sample("vulscan_bad_id", || {
                    format!("{} line {lineno}", report.file)
                });
                continue;
            }
            good += 1;
            let id = if is_cve_id(&id.to_ascii_uppercase()) {
                id.to_ascii_uppercase()
            } else {
                id.to_string()
            };
            self.store(
                CveRecord {
                    id,
                    source: Some(Source::Vulscan),
                    title: Some(clip(title.trim().to_string(), DESCRIPTION_MAX)),
                    ..CveRecord::default()
                },
                report,
            );
        }
        if good == 0 {
            return Err(ImportError::Format {
                file: report.file.clone(),
                detail: "no `<id>;<title>` lines".into(),
            });
        }
        Ok(())
    }

    fn import_jvn<R: BufRead>(
        &mut self,
        r: R,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        report.format = "jvn-rdf".into();
        let mut x = SafeXml::new(r, &report.file);
        let mut cur: Option<CveRecord> = None;
        let mut field: Option<String> = None;
        let mut text = String::new();
        let mut cpe_attrs: Vec<(String, String)> = Vec::new();
        let mut saw_root = false;
        loop {
            let item = x.next_item()?;
            match item {
                Item::Eof => break,
                Item::Start { name, attrs, empty } => {
                    if !saw_root {
                        saw_root = true;
                        if !matches!(
                            name.as_str(),
                            "RDF" | "rss" | "feed" | "VULDEF-Document" | "Result"
                        ) {
                            return Err(ImportError::Format {
                                file: report.file.clone(),
                                detail: format!("xml root <{name}> is not a jvn rdf document"),
                            });
                        }
                    }
                    if name == "item" || name == "Vulinfo" {
                        cur = Some(CveRecord {
                            source: Some(Source::Jvn),
                            ..CveRecord::default()
                        });
                        continue;
                    }
                    let Some(rec) = cur.as_mut() else { continue };
                    match name.as_str() {
                        "references" => {
                            if let Some(id) = attr(&attrs, "id") {
                                let id = id.trim().to_ascii_uppercase();
                                if is_cve_id(&id) && !rec.aliases.contains(&id) {
                                    rec.aliases.push(id);
                                }
                            }
                        }
                        "cvss" => {
                            if let Some(score) =
                                attr(&attrs, "score").and_then(|s| s.parse::<f32>().ok())
                            {
                                let version = attr(&attrs, "version").unwrap_or("").to_string();
                                let c = Cvss {
                                    version: version.clone(),
                                    score,
                                    vector: attr(&attrs, "vector").unwrap_or("").to_string(),
                                    severity: attr(&attrs, "severity").map(str::to_string),
                                };
                                if version.starts_with('3') {
                                    rec.cvss3 = Some(c);
                                } else if version.starts_with('4') {
                                    rec.cvss4 = Some(c);
                                }
                            }
                        }
                        "cpe" => cpe_attrs = attrs,
                        _ => {}
                    }
                    if !empty {
                        field = Some(name);
                        text.clear();
                    }
                }
                Item::Text(t) => {
                    if field.is_some() && text.len() < DESCRIPTION_MAX {
                        text.push_str(&t);
                    }
                }
                Item::End(name) => {
                    if name == "item" || name == "Vulinfo" {
                        if let Some(rec) = cur.take() {
                            if rec.id.is_empty() {
                                report.counters.incr("jvn_item_without_identifier");
                            } else {
                                self.store(rec, report);
                            }
                        }
                        continue;
                    }
                    let (Some(rec), Some(f)) = (cur.as_mut(), field.take()) else {
                        continue;
                    };
                    let t = std::mem::take(&mut text).trim().to_string();
                    match f.as_str() {
                        "identifier" | "VulinfoID" => rec.id = t,
                        "title" | "Title" => rec.title = Some(t),
                        "description" | "Overview" => {
                            rec.description_ja = Some(clip(t, DESCRIPTION_MAX))
                        }
                        "issued" | "DateFirstPublished" => rec.published = parse_date(&t),
                        "modified" | "DateLastUpdated" => rec.last_modified = parse_date(&t),
                        "date" if rec.last_modified.is_none() => rec.last_modified = parse_date(&t),
                        "cpe" => match Cpe::parse(&t) {
                            Ok(c) => rec.configurations.push(CpeRange {
                                criteria: c,
                                start_including: None,
                                start_excluding: None,
                                end_including: None,
                                end_excluding: None,
                            }),
                            Err(_) => {
                                let _ = &cpe_attrs;
                                report
                                    .counters
                                    .incr_with_sample("jvn_bad_cpe", || t.clone());
                            }
                        },
                        _ => {}
                    }
                }
            }
        }
        if !saw_root {
            return Err(ImportError::Format {
                file: report.file.clone(),
                detail: "no xml root element".into(),
            });
        }
        if x.depth > 0 {
            return Err(ImportError::Parse {
                file: report.file.clone(),
                message: format!(
                    "xml ended at byte {} inside an element (truncated)",
                    x.position()
                ),
            });
        }
        Ok(())
    }

    /// Coverage per source (`now` gives the import age).
    pub fn status(&self, now: Timestamp) -> DbStatus {
        let mut per: BTreeMap<Source, (u64, Option<Timestamp>)> = BTreeMap::new();
        for ((src, _), rec) in &self.records {
            let e = per.entry(*src).or_default();
            e.0 += 1;
            let d = rec.last_modified.or(rec.published);
            if d > e.1 {
                e.1 = d;
            }
        }
        if !self.kev.is_empty() {
            let newest = self
                .kev
                .values()
                .filter_map(|k| k.date_added.as_deref().and_then(parse_date))
                .max();
            per.insert(Source::Kev, (self.kev.len() as u64, newest));
        }
        let format_source = |f: &str| -> Option<Source> {
            Some(match f {
                "nvd-json-2.0" => Source::Nvd,
                "cve-json-5" => Source::Cve5,
                "cisa-kev" => Source::Kev,
                "jvn-rdf" => Source::Jvn,
                "vulscan-csv" => Source::Vulscan,
                _ => return None,
            })
        };
        let mut last: HashMap<Source, Timestamp> = HashMap::new();
        for i in &self.imports {
            if let Some(s) = format_source(&i.format) {
                let e = last.entry(s).or_insert(i.at);
                if i.at > *e {
                    *e = i.at;
                }
            }
        }
        DbStatus {
            sources: per
                .into_iter()
                .map(|(s, (n, newest))| {
                    let li = last.get(&s).copied();
                    SourceStatus {
                        source: s.as_str().into(),
                        records: n,
                        newest_record: newest,
                        last_import: li,
                        import_age_secs: li.map(|t| (now - t).as_nanos() / 1_000_000_000),
                    }
                })
                .collect(),
            total_records: self.records.len() as u64,
            kev_entries: self.kev.len() as u64,
        }
    }

    /// Write the database (gzip JSON lines) atomically: to `path.tmp`, then renamed.
    pub fn save(&self, path: &Path) -> Result<(), DbError> {
        let name = path.display().to_string();
        let io = |source| DbError::Io {
            file: name.clone(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let f = File::create(&tmp).map_err(io)?;
        let mut w =
            flate2::write::GzEncoder::new(std::io::BufWriter::new(f), flate2::Compression::fast());
        let mut line = |l: &DbLine| -> std::io::Result<()> {
            serde_json::to_writer(&mut w, l).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        };
        line(&DbLine::Header {
            format: "mamori-cvedb".into(),
            version: DB_FORMAT_VERSION,
        })
        .map_err(io)?;
        for r in self.records.values() {
            line(&DbLine::Cve(Box::new(r.clone()))).map_err(io)?;
        }
        for k in self.kev.values() {
            line(&DbLine::Kev(k.clone())).map_err(io)?;
        }
        for i in &self.imports {
            line(&DbLine::Import(i.clone())).map_err(io)?;
        }
        let buf = w.finish().map_err(io)?;
        buf.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Read a database written by [`CveDb::save`]; a missing file is an empty database.
    pub fn load(path: &Path) -> Result<CveDb, DbError> {
        let name = path.display().to_string();
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CveDb::new()),
            Err(source) => return Err(DbError::Io { file: name, source }),
        };
        let r = BufReader::new(GzDecoder::new(BufReader::new(f)));
        let mut db = CveDb::new();
        for (i, l) in r.lines().enumerate() {
            let lineno = i as u64 + 1;
            let l = l.map_err(|source| DbError::Io {
                file: name.clone(),
                source,
            })?;
            let parsed: DbLine = serde_json::from_str(&l).map_err(|e| DbError::Corrupt {
                file: name.clone(),
                line: lineno,
                message: e.to_string(),
            })?;
            match parsed {
                DbLine::Header { format, version } => {
                    if format != "mamori-cvedb" || version != DB_FORMAT_VERSION {
                        return Err(DbError::Corrupt {
                            file: name,
                            line: lineno,
                            message: format!("unsupported format {format} v{version}"),
                        });
                    }
                }
                DbLine::Cve(r) => {
                    db.insert(*r);
                }
                DbLine::Kev(k) => db.insert_kev(k),
                DbLine::Import(i) => db.imports.push(i),
            }
        }
        Ok(db)
    }
}
