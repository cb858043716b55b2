//! Threat intelligence: indicator lists loaded from files and folders, matched in O(1)-ish.
//!
//! Formats ([`ListFormat`]):
//! - **plain / auto**: one indicator per line, `#` (and `;` after the indicator) starts a
//!   comment; the kind is detected per line: IPv4/IPv6 address, CIDR, `ip:port`, domain
//!   (matches itself and every subdomain), URL (`http://host/path` or Maltrail's `host/path`),
//!   JA3 (32 hex), JA4 (`t13d1516h2_8daaf6152771_02713d6af862`), certificate SHA-1 (40 hex,
//!   colons allowed). Hosts-file lines (`0.0.0.0 bad.example`) give the domain.
//! - **maltrail**: the same per-line detection; the label is the file name without extension.
//! - **ipsum**: `IP<TAB>count`, entries below `min_count` are skipped (counted).
//! - **csv**: one chosen column (1-based), optional header line, `"`-quoted cells.
//!
//! Every rejected line is counted with `file:line` and a reason; [`Intel::report`] gives
//! loaded/rejected per file. [`Intel::reload`] re-reads the sources and keeps the current set
//! when any source cannot be read.
//!
//! Matching: exact IPs in a hash map; CIDRs in one hash map per prefix length present (a lookup
//! probes only the lengths in use, longest first); domains by walking the labels of the name
//! (`a.b.example.jp` → `a.b.example.jp`, `b.example.jp`, `example.jp`, `jp`); URLs, JA3, JA4
//! and SHA-1 by exact key.

use std::fmt;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use mamori_core::Counters;
use rustc_hash::FxHashMap;
use serde::Deserialize;

/// Longest line accepted (longer lines are rejected as `line_too_long`).
pub const MAX_LINE_LEN: usize = 4096;
/// Largest list file read.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Most files read from one folder (sorted by name; the rest are counted).
pub const MAX_FILES_PER_DIR: usize = 10_000;
/// Most indicators kept over all lists (the rest are counted as `intel_limit`).
pub const MAX_INDICATORS: usize = 20_000_000;
/// Rejected lines kept as samples per file.
pub const MAX_REJECT_SAMPLES: usize = 20;

/// How a list file is read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ListFormat {
    /// Per-line detection; `IP<TAB>count` lines are taken as IPsum with min count 1.
    #[default]
    Auto,
    /// Maltrail trail file (per-line detection, label = file stem).
    Maltrail,
    /// IPsum: `IP<TAB>count`, keep entries with count ≥ `min_count`.
    Ipsum {
        /// Minimum count to keep an address.
        min_count: u32,
    },
    /// CSV with the indicator in `column` (1-based).
    Csv {
        /// 1-based column.
        column: usize,
        /// Field delimiter.
        delimiter: char,
        /// Whether the first non-comment line is a header.
        header: bool,
    },
}

/// One configured list (file or folder), as in the `[[intel]]` config table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IntelSource {
    /// File or folder.
    pub path: PathBuf,
    /// `auto` (default), `plain`, `maltrail`, `ipsum`, `csv`.
    #[serde(default)]
    pub format: Option<String>,
    /// IPsum minimum count (default 3, the IPsum README's suggestion).
    #[serde(default)]
    pub min_count: Option<u32>,
    /// CSV column, 1-based.
    #[serde(default)]
    pub column: Option<usize>,
    /// CSV delimiter (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// CSV: first line is a header.
    #[serde(default)]
    pub header: bool,
    /// Label for hits (default: the file name without extension).
    #[serde(default)]
    pub label: Option<String>,
}

impl IntelSource {
    /// A source with automatic format detection.
    pub fn auto(path: impl Into<PathBuf>) -> IntelSource {
        IntelSource {
            path: path.into(),
            ..IntelSource::default()
        }
    }
    /// The list format.
    pub fn list_format(&self) -> Result<ListFormat, IntelError> {
        Ok(match self.format.as_deref().unwrap_or("auto") {
            "auto" | "plain" => ListFormat::Auto,
            "maltrail" => ListFormat::Maltrail,
            "ipsum" => ListFormat::Ipsum {
                min_count: self.min_count.unwrap_or(3),
            },
            "csv" => ListFormat::Csv {
                column: self.column.unwrap_or(1).max(1),
                delimiter: self.delimiter.unwrap_or(','),
                header: self.header,
            },
            other => {
                return Err(IntelError::Format {
                    path: self.path.display().to_string(),
                    format: other.to_owned(),
                })
            }
        })
    }
}

/// A source that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    /// I/O error on a file or folder.
    #[error("cannot read intel list {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("intel list {path} is too large ({bytes} bytes, limit {MAX_FILE_BYTES})")]
    TooLarge {
        /// The path.
        path: String,
        /// Its size.
        bytes: u64,
    },
    /// Unknown format name.
    #[error("intel list {path}: unknown format {format:?} (auto, plain, maltrail, ipsum, csv)")]
    Format {
        /// The path.
        path: String,
        /// The rejected name.
        format: String,
    },
}

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line number.
    pub line: usize,
    /// Stable reason (`bad_cidr`, `unrecognised_indicator`, …).
    pub reason: &'static str,
    /// The line (cut to 160 characters).
    pub text: String,
}

/// Load result of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// File name.
    pub file: String,
    /// Label given to its hits.
    pub label: String,
    /// Indicators loaded.
    pub loaded: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// Lines skipped on purpose (IPsum below the minimum count, CSV header).
    pub skipped: u64,
    /// The first rejected lines.
    pub rejects: Vec<Reject>,
}

/// Load result of all sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntelReport {
    /// Per file, in load order.
    pub files: Vec<FileReport>,
    /// Reject reasons over all files, with a `file:line` sample each.
    pub counters: Counters,
}

impl IntelReport {
    /// Indicators loaded over all files.
    pub fn loaded(&self) -> u64 {
        self.files.iter().map(|f| f.loaded).sum()
    }
    /// Lines rejected over all files.
    pub fn rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }
}

/// The kind of indicator that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndicatorKind {
    /// Exact address.
    Ip,
    /// Network.
    Cidr,
    /// Address and port.
    IpPort,
    /// Domain (exact or parent).
    Domain,
    /// URL.
    Url,
    /// JA3 hash.
    Ja3,
    /// JA4 fingerprint.
    Ja4,
    /// Certificate SHA-1.
    CertSha1,
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Cidr => "cidr",
            IndicatorKind::IpPort => "ip:port",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::Ja3 => "ja3",
            IndicatorKind::Ja4 => "ja4",
            IndicatorKind::CertSha1 => "sha1",
        })
    }
}

/// A match: which list and which indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelMatch<'a> {
    /// The list label (file stem or configured label).
    pub label: &'a str,
    /// Kind of indicator.
    pub kind: IndicatorKind,
    /// The indicator as listed (e.g. `203.0.113.0/24`, `example.jp`).
    pub indicator: String,
}

/// Loaded indicator sets.
#[derive(Debug, Default)]
pub struct Intel {
    labels: Vec<Box<str>>,
    ips: FxHashMap<IpAddr, u32>,
    ip_ports: FxHashMap<(IpAddr, u16), u32>,
    v4: FxHashMap<(u8, u32), u32>,
    v4_lens: Vec<u8>,
    v6: FxHashMap<(u8, u128), u32>,
    v6_lens: Vec<u8>,
    domains: FxHashMap<Box<str>, u32>,
    urls: FxHashMap<Box<str>, u32>,
    ja3: FxHashMap<Box<str>, u32>,
    ja4: FxHashMap<Box<str>, u32>,
    sha1: FxHashMap<[u8; 20], u32>,
    count: usize,
    sources: Vec<IntelSource>,
    report: IntelReport,
}

enum Indicator {
    Ip(IpAddr),
    Net(IpAddr, u8),
    IpPort(IpAddr, u16),
    Domain(String),
    Url(String),
    Ja3(String),
    Ja4(String),
    Sha1([u8; 20]),
}

impl Intel {
    /// No indicators.
    pub fn empty() -> Intel {
        Intel::default()
    }

    /// Load every source (files or folders). Fails only when a source cannot be read; bad
    /// lines are rejected and counted in [`Intel::report`].
    pub fn load(sources: &[IntelSource]) -> Result<Intel, IntelError> {
        let mut intel = Intel::default();
        for s in sources {
            let format = s.list_format()?;
            intel.add_path(&s.path, &format, s.label.as_deref())?;
        }
        intel.sources = sources.to_vec();
        intel.finish();
        Ok(intel)
    }

    /// Re-read the sources this set was loaded from. On error the current set stays and the
    /// error is returned (the daemon logs it and keeps running on the last good lists).
    pub fn reload(&mut self) -> Result<&IntelReport, IntelError> {
        let fresh = Intel::load(&self.sources)?;
        *self = fresh;
        Ok(&self.report)
    }

    /// Parse list text (tests, fuzzing, lists fetched by the caller); `name` is used in
    /// reports, `label` for hits.
    pub fn add_text(&mut self, name: &str, label: &str, text: &str, format: &ListFormat) {
        let label_id = self.label_id(label);
        let mut rep = FileReport {
            file: name.to_owned(),
            label: label.to_owned(),
            ..FileReport::default()
        };
        let mut header_pending = matches!(format, ListFormat::Csv { header: true, .. });
        for (i, raw) in text.lines().enumerate() {
            let lineno = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
                continue;
            }
            if header_pending {
                header_pending = false;
                rep.skipped += 1;
                continue;
            }
            if line.len() > MAX_LINE_LEN {
                self.reject(&mut rep, lineno, "line_too_long", raw);
                continue;
            }
            let parsed = match format {
                ListFormat::Auto | ListFormat::Maltrail => parse_auto(line, 1),
                ListFormat::Ipsum { min_count } => parse_ipsum(line, *min_count),
                ListFormat::Csv {
                    column, delimiter, ..
                } => match csv_cell(line, *delimiter, *column) {
                    Some(cell) => parse_auto(cell.trim(), 1),
                    None => Err("missing_column"),
                },
            };
            match parsed {
                Ok(Some(ind)) => {
                    if self.count >= MAX_INDICATORS {
                        self.reject(&mut rep, lineno, "intel_limit", raw);
                        continue;
                    }
                    self.insert(ind, label_id);
                    rep.loaded += 1;
                }
                Ok(None) => rep.skipped += 1,
                Err(reason) => self.reject(&mut rep, lineno, reason, raw),
            }
        }
        self.report.files.push(rep);
    }

    fn reject(&mut self, rep: &mut FileReport, line: usize, reason: &'static str, raw: &str) {
        rep.rejected += 1;
        let text: String = raw.chars().take(160).collect();
        let file = rep.file.clone();
        self.report
            .counters
            .incr_with_sample(reason, || format!("{file}:{line}: {text}"));
        if rep.rejects.len() < MAX_REJECT_SAMPLES {
            rep.rejects.push(Reject { line, reason, text });
        }
    }

    /// Finish after [`Intel::add_text`] calls (sorts prefix-length tables).
    pub fn finish(&mut self) {
        self.v4_lens.sort_unstable_by(|a, b| b.cmp(a));
        self.v4_lens.dedup();
        self.v6_lens.sort_unstable_by(|a, b| b.cmp(a));
        self.v6_lens.dedup();
    }

    fn add_path(
        &mut self,
        path: &Path,
        format: &ListFormat,
        label: Option<&str>,
    ) -> Result<(), IntelError> {
        let meta = fs::metadata(path).map_err(|e| IntelError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(path)
                .map_err(|e| IntelError::Io {
                    path: path.display().to_string(),
                    source: e,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && !p
                            .file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with('.'))
                })
                .collect();
            files.sort();
            if files.len() > MAX_FILES_PER_DIR {
                self.report.counters.add(
                    "intel_files_over_limit",
                    (files.len() - MAX_FILES_PER_DIR) as u64,
                );
                files.truncate(MAX_FILES_PER_DIR);
            }
            for f in files {
                self.add_file(&f, format, label)?;
            }
            Ok(())
        } else {
            self.add_file(path, format, label)
        }
    }

    fn add_file(
        &mut self,
        path: &Path,
        format: &ListFormat,
        label: Option<&str>,
    ) -> Result<(), IntelError> {
        let name = path.display().to_string();
        let meta = fs::metadata(path).map_err(|e| IntelError::Io {
            path: name.clone(),
            source: e,
        })?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(IntelError::TooLarge {
                path: name,
                bytes: meta.len(),
            });
        }
        let bytes = fs::read(path).map_err(|e| IntelError::Io {
            path: name.clone(),
            source: e,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("intel")
            .to_owned();
        let label = label.map_or(stem, str::to_owned);
        self.add_text(&name, &label, &text, format);
        Ok(())
    }

    fn label_id(&mut self, label: &str) -> u32 {
        if let Some(i) = self.labels.iter().position(|l| &**l == label) {
            return i as u32;
        }
        self.labels.push(label.into());
        (self.labels.len() - 1) as u32
    }

    fn insert(&mut self, ind: Indicator, label: u32) {
        let fresh = match ind {
            Indicator::Ip(ip) => self.ips.insert(ip, label).is_none(),
            Indicator::IpPort(ip, p) => self.ip_ports.insert((ip, p), label).is_none(),
            Indicator::Net(IpAddr::V4(a), len) => {
                let key = (len, mask4(u32::from(a), len));
                if !self.v4_lens.contains(&len) {
                    self.v4_lens.push(len);
                }
                self.v4.insert(key, label).is_none()
            }
            Indicator::Net(IpAddr::V6(a), len) => {
                let key = (len, mask6(u128::from(a), len));
                if !self.v6_lens.contains(&len) {
                    self.v6_lens.push(len);
                }
                self.v6.insert(key, label).is_none()
            }
            Indicator::Domain(d) => self.domains.insert(d.into(), label).is_none(),
            Indicator::Url(u) => self.urls.insert(u.into(), label).is_none(),
            Indicator::Ja3(h) => self.ja3.insert(h.into(), label).is_none(),
            Indicator::Ja4(h) => self.ja4.insert(h.into(), label).is_none(),
            Indicator::Sha1(h) => self.sha1.insert(h, label).is_none(),
        };
        if fresh {
            self.count += 1;
        }
    }

    /// Distinct indicators loaded.
    pub fn len(&self) -> usize {
        self.count
    }
    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// What the last load read and rejected.
    pub fn report(&self) -> &IntelReport {
        &self.report
    }
    /// The sources this set was loaded from.
    pub fn sources(&self) -> &[IntelSource] {
        &self.sources
    }

    fn label(&self, id: u32) -> &str {
        self.labels.get(id as usize).map_or("intel", |l| l)
    }

    /// Match an address against exact entries and networks.
    pub fn match_ip(&self, ip: IpAddr) -> Option<IntelMatch<'_>> {
        if let Some(&l) = self.ips.get(&ip) {
            return Some(IntelMatch {
                label: self.label(l),
                kind: IndicatorKind::Ip,
                indicator: ip.to_string(),
            });
        }
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                for &len in &self.v4_lens {
                    let net = mask4(a, len);
                    if let Some(&l) = self.v4.get(&(len, net)) {
                        return Some(IntelMatch {
                            label: self.label(l),
                            kind: IndicatorKind::Cidr,
                            indicator: format!("{}/{len}", std::net::Ipv4Addr::from(net)),
                        });
                    }
                }
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                for &len in &self.v6_lens {
                    let net = mask6(a, len);
                    if let Some(&l) = self.v6.get(&(len, net)) {
                        return Some(IntelMatch {
                            label: self.label(l),
                            kind: IndicatorKind::Cidr,
                            indicator: format!("{}/{len}", std::net::Ipv6Addr::from(net)),
                        });
                    }
                }
            }
        }
        None
    }

    /// Match an address and port (Maltrail `ip:port` trails), then the address alone.
    pub fn match_ip_port(&self, ip: IpAddr, port: u16) -> Option<IntelMatch<'_>> {
        if let Some(&l) = self.ip_ports.get(&(ip, port)) {
            return Some(IntelMatch {
                label: self.label(l),
                kind: IndicatorKind::IpPort,
                indicator: match ip {
                    IpAddr::V4(_) => format!("{ip}:{port}"),
                    IpAddr::V6(_) => format!("[{ip}]:{port}"),
                },
            });
        }
        self.match_ip(ip)
    }

    /// Match a domain name: the name itself or any parent domain listed.
    pub fn match_domain(&self, name: &str) -> Option<IntelMatch<'_>> {
        if self.domains.is_empty() {
            return None;
        }
        let n = crate::util::lower(name.trim_end_matches('.'));
        let mut rest: &str = &n;
        loop {
            if let Some(&l) = self.domains.get(rest) {
                return Some(IntelMatch {
                    label: self.label(l),
                    kind: IndicatorKind::Domain,
                    indicator: rest.to_owned(),
                });
            }
            match rest.split_once('.') {
                Some((_, tail)) if !tail.is_empty() => rest = tail,
                _ => return None,
            }
        }
    }

    /// Match a URL given host and request target (`/path?query` or an absolute URL).
    pub fn match_url(&self, host: &str, target: &str) -> Option<IntelMatch<'_>> {
        if self.urls.is_empty() {
            return None;
        }
        let (host, target) = match split_absolute(target) {
            Some((h, t)) => (h, t),
            None => (host, target),
        };
        let host = host.trim_end_matches('.');
        let host = host
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        let full = format!("{host}{target}").to_ascii_lowercase();
        let no_query = full.split_once('?').map_or(full.as_str(), |(a, _)| a);
        for cand in [full.as_str(), no_query] {
            if let Some(&l) = self.urls.get(cand) {
                return Some(IntelMatch {
                    label: self.label(l),
                    kind: IndicatorKind::Url,
                    indicator: cand.to_owned(),
                });
            }
        }
        None
    }

    /// Match a JA3 hash (hex, any case).
    pub fn match_ja3(&self, h: &str) -> Option<IntelMatch<'_>> {
        let k = crate::util::lower(h.trim());
        self.ja3.get(&*k).map(|&l| IntelMatch {
            label: self.label(l),
            kind: IndicatorKind::Ja3,
            indicator: k.into_owned(),
        })
    }

    /// Match a JA4 fingerprint.
    pub fn match_ja4(&self, h: &str) -> Option<IntelMatch<'_>> {
        let k = crate::util::lower(h.trim());
        self.ja4.get(&*k).map(|&l| IntelMatch {
            label: self.label(l),
            kind: IndicatorKind::Ja4,
            indicator: k.into_owned(),
        })
    }

    /// Match a certificate SHA-1 (hex, any case, colons allowed).
    pub fn match_cert_sha1(&self, h: &str) -> Option<IntelMatch<'_>> {
        let key = parse_sha1(h.trim())?;
        self.sha1.get(&key).map(|&l| IntelMatch {
            label: self.label(l),
            kind: IndicatorKind::CertSha1,
            indicator: key.iter().map(|b| format!("{b:02X}")).collect(),
        })
    }
}

fn mask4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len.min(32))))
    }
}

fn mask6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(len.min(128))))
    }
}

fn split_absolute(target: &str) -> Option<(&str, &str)> {
    let rest = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
        .or_else(|| target.strip_prefix("HTTP://"))?;
    Some(match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    })
}

fn parse_ipsum(line: &str, min: u32) -> Result<Option<Indicator>, &'static str> {
    let mut it = line.split_whitespace();
    let ip = it.next().ok_or("empty")?;
    let ip: IpAddr = ip.parse().map_err(|_| "bad_ip")?;
    let count: u32 = match it.next() {
        Some(c) => c.parse().map_err(|_| "bad_count")?,
        None => return Err("missing_count"),
    };
    if it.next().is_some() {
        return Err("extra_text");
    }
    Ok((count >= min).then_some(Indicator::Ip(ip)))
}

fn csv_cell(line: &str, delim: char, column: usize) -> Option<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() {
            quoted = true;
        } else if c == delim {
            cells.push(std::mem::take(&mut cur));
            if cells.len() >= column {
                break;
            }
        } else {
            cur.push(c);
        }
    }
    if cells.len() < column {
        cells.push(cur);
    }
    cells.into_iter().nth(column.checked_sub(1)?)
}

/// Detect and parse one indicator line. `Ok(None)` = skipped on purpose.
fn parse_auto(line: &str, ipsum_min: u32) -> Result<Option<Indicator>, &'static str> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(None);
    }
    let mut tokens = line.split_whitespace();
    let mut tok = tokens.next().ok_or("empty")?;
    let second = tokens.next();
    match second {
        None => {}
        Some(s) if s.starts_with(';') => {}
        Some(s) => {
            // IPsum (`IP<TAB>count`) or hosts-file (`0.0.0.0 name`).
            if s.bytes().all(|b| b.is_ascii_digit()) && tok.parse::<IpAddr>().is_ok() {
                return parse_ipsum(line, ipsum_min);
            }
            if matches!(tok, "0.0.0.0" | "127.0.0.1" | "::" | "::1") {
                tok = s;
                if tokens.next().is_some_and(|t| !t.starts_with(';')) {
                    return Err("extra_text");
                }
            } else {
                return Err("extra_text");
            }
        }
    }
    let tok = tok.trim_end_matches(';');
    if tok.contains("://") {
        let rest = tok.split_once("://").map_or(tok, |(_, r)| r);
        return url_indicator(rest);
    }
    if let Ok(ip) = tok.parse::<IpAddr>() {
        return Ok(Some(Indicator::Ip(ip)));
    }
    if let Some((a, b)) = tok.split_once('/') {
        if let Ok(ip) = a.parse::<IpAddr>() {
            let len: u8 = b.parse().map_err(|_| "bad_cidr")?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if len > max {
                return Err("bad_cidr");
            }
            return Ok(Some(if len == max {
                Indicator::Ip(ip)
            } else {
                Indicator::Net(ip, len)
            }));
        }
        return url_indicator(tok);
    }
    if let Some(ipp) = parse_ip_port(tok) {
        return ipp;
    }
    let hexlen = tok.bytes().filter(u8::is_ascii_hexdigit).count();
    if hexlen == tok.len() && tok.len() == 32 {
        return Ok(Some(Indicator::Ja3(tok.to_ascii_lowercase())));
    }
    if let Some(h) = parse_sha1(tok) {
        return Ok(Some(Indicator::Sha1(h)));
    }
    if is_ja4(tok) {
        return Ok(Some(Indicator::Ja4(tok.to_ascii_lowercase())));
    }
    let d = tok.trim_start_matches("*.").trim_start_matches('.');
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    if is_domain(&d) {
        return Ok(Some(Indicator::Domain(d)));
    }
    Err("unrecognised_indicator")
}

fn url_indicator(rest: &str) -> Result<Option<Indicator>, &'static str> {
    let (host, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host_only = host
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
        .to_ascii_lowercase();
    if host_only.is_empty() || !(is_domain(&host_only) || host_only.parse::<IpAddr>().is_ok()) {
        return Err("bad_url");
    }
    let path = path.split('#').next().unwrap_or("/");
    Ok(Some(Indicator::Url(
        format!("{host_only}{path}").to_ascii_lowercase(),
    )))
}

fn parse_ip_port(tok: &str) -> Option<Result<Option<Indicator>, &'static str>> {
    let (h, p) = if let Some(rest) = tok.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        (h, p)
    } else {
        let (h, p) = tok.rsplit_once(':')?;
        if h.contains(':') {
            return None;
        }
        (h, p)
    };
    let ip: IpAddr = h.parse().ok()?;
    Some(match p.parse::<u16>() {
        Ok(port) => Ok(Some(Indicator::IpPort(ip, port))),
        Err(_) => Err("bad_port"),
    })
}

fn parse_sha1(s: &str) -> Option<[u8; 20]> {
    let clean: Vec<u8> = s.bytes().filter(|&b| b != b':').collect();
    if clean.len() != 40 || (s.contains(':') && s.len() != 59) {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (*clean.get(2 * i)? as char).to_digit(16)?;
        let lo = (*clean.get(2 * i + 1)? as char).to_digit(16)?;
        *o = (hi * 16 + lo) as u8;
    }
    Some(out)
}

fn is_ja4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('_').collect();
    let [a, b, c] = parts.as_slice() else {
        return false;
    };
    let ab = a.as_bytes();
    ab.len() == 10
        && matches!(ab.first(), Some(b't' | b'q' | b'd'))
        && ab
            .get(1..3)
            .is_some_and(|v| v.iter().all(u8::is_ascii_alphanumeric))
        && matches!(ab.get(3), Some(b'd' | b'i'))
        && ab
            .get(4..8)
            .is_some_and(|v| v.iter().all(u8::is_ascii_digit))
        && b.len() == 12
        && c.len() == 12
        && b.bytes().chain(c.bytes()).all(|x| x.is_ascii_hexdigit())
}

fn is_domain(d: &str) -> bool {
    if d.len() > 253 || !d.contains('.') {
        return false;
    }
    let mut labels = d.split('.');
    let ok = labels.all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
    });
    let tld_alpha = d
        .rsplit('.')
        .next()
        .is_some_and(|t| t.bytes().any(|b| b.is_ascii_alphabetic()));
    ok && tld_alpha
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_edges() {
        assert_eq!(mask4(0xffff_ffff, 0), 0);
        assert_eq!(mask4(0xffff_ffff, 32), 0xffff_ffff);
        assert_eq!(mask4(0x0a01_0203, 8), 0x0a00_0000);
        assert_eq!(mask6(u128::MAX, 128), u128::MAX);
    }

    #[test]
    fn ja4_shape() {
        assert!(is_ja4("t13d1516h2_8daaf6152771_02713d6af862"));
        assert!(!is_ja4("t13d1516h2_8daaf6152771"));
    }
}
