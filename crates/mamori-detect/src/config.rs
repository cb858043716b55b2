//! Detection config: one TOML file, `deny_unknown_fields`, validated once into typed values.
//!
//! ```toml
//! host_score_threshold = 300
//! allowed_dns_servers = ["10.0.0.53", "10.0.1.0/24"]
//!
//! [[authorized_scanners]]
//! source = "10.0.0.5"
//! windows = [{ daily = "22:00-04:00", zone = "Asia/Tokyo" }]
//!
//! [checks."mamori.net.port_scan"]
//! severity = "critical"
//! thresholds = { min_ports = 50 }
//! exclude = { sources = ["10.9.0.0/16"], ports = [9100] }
//!
//! [checks.beaconing]          # the `mamori.net.` prefix may be left out
//! enabled = false
//! ```
//!
//! Errors name the origin, the line (TOML syntax errors keep the parser's line and column;
//! semantic errors give the line where the offending value first appears) and the key path.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use mamori_core::{Severity, Timestamp};
use serde::Deserialize;

use crate::catalogue::{CheckId, CHECK_COUNT};
use crate::intel::IntelSource;

/// Default host-score threshold for `mamori.net.dangerous_host` (points per minute).
pub const DEFAULT_HOST_SCORE_THRESHOLD: u64 = 300;
/// Most entries accepted in any one list of the config (servers, exclusions, scanners).
pub const MAX_LIST_ENTRIES: usize = 10_000;

/// The detection config as written in TOML.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Scanners whose scan alerts are suppressed (and recorded as `mamori.net.authorized_scan`).
    pub authorized_scanners: Vec<AuthorizedScanner>,
    /// DNS servers hosts may use (IP or CIDR); empty disables `unexpected_dns_server`.
    pub allowed_dns_servers: Vec<String>,
    /// NTP servers hosts may use; empty disables `unexpected_ntp_server`.
    pub allowed_ntp_servers: Vec<String>,
    /// SMTP servers hosts may send to; empty disables `unexpected_smtp_server`.
    pub allowed_smtp_servers: Vec<String>,
    /// DHCP servers allowed to answer; empty disables `unexpected_dhcp_server` and enables
    /// the "more than one server" rogue heuristic instead.
    pub allowed_dhcp_servers: Vec<String>,
    /// Points per minute at which a host becomes a dangerous host (default 300).
    pub host_score_threshold: Option<u64>,
    /// Threat-intelligence lists the caller should load (see [`crate::intel`]).
    pub intel: Vec<IntelSource>,
    /// Per-check settings keyed by check id (full or short).
    pub checks: BTreeMap<String, CheckConfig>,
    /// Where the config came from (file name), for error messages.
    #[serde(skip)]
    pub origin: String,
}

/// Settings of one check.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CheckConfig {
    /// Turn the check on or off (default: on).
    pub enabled: Option<bool>,
    /// Severity override (`low`, `medium`, `high`, `critical`).
    pub severity: Option<String>,
    /// Threshold overrides by name (see `mamori checks explain ID`).
    pub thresholds: BTreeMap<String, f64>,
    /// Exclusions.
    pub exclude: ExcludeConfig,
}

/// What a check ignores.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExcludeConfig {
    /// Sources (IP or CIDR).
    pub sources: Vec<String>,
    /// Destinations (IP or CIDR).
    pub destinations: Vec<String>,
    /// Any end (IP or CIDR), source or destination.
    pub hosts: Vec<String>,
    /// Source → destination pairs (each IP or CIDR).
    pub pairs: Vec<[String; 2]>,
    /// Domains: exact (`example.jp`) or wildcard (`*.example.jp` = every subdomain).
    pub domains: Vec<String>,
    /// Destination ports.
    pub ports: Vec<u16>,
}

/// One authorised scanner.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthorizedScanner {
    /// IP or CIDR of the scanner.
    pub source: String,
    /// When it may scan; empty = always.
    #[serde(default)]
    pub windows: Vec<TimeWindowConfig>,
}

/// A time window: absolute (`from`/`to` RFC 3339) or daily (`daily = "22:00-04:00"` in `zone`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TimeWindowConfig {
    /// Start, RFC 3339 (absolute window).
    pub from: Option<String>,
    /// End, RFC 3339 (absolute window).
    pub to: Option<String>,
    /// Daily window `HH:MM-HH:MM` (may wrap midnight).
    pub daily: Option<String>,
    /// Zone of the daily window: `UTC`, `Asia/Tokyo`/`JST` or a fixed offset `+09:00`.
    pub zone: Option<String>,
}

/// A config that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// TOML syntax or type error (the message carries line and column).
    #[error("{origin}: {message}")]
    Toml {
        /// File name or other origin.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A value that parses but is not valid.
    #[error("{}", fmt_invalid(origin, *line, key, reason))]
    Invalid {
        /// File name or other origin.
        origin: String,
        /// Line of the offending value when it could be found.
        line: Option<usize>,
        /// Key path, e.g. `checks."mamori.net.port_scan".thresholds.min_portz`.
        key: String,
        /// Why it was rejected.
        reason: String,
    },
}

fn fmt_invalid(origin: &str, line: Option<usize>, key: &str, reason: &str) -> String {
    match line {
        Some(l) => format!("{origin}:{l}: {key}: {reason}"),
        None => format!("{origin}: {key}: {reason}"),
    }
}

impl DetectConfig {
    /// Parse and validate TOML text; `origin` names it in errors (a file name).
    pub fn from_toml_str(s: &str, origin: &str) -> Result<DetectConfig, ConfigError> {
        let mut cfg: DetectConfig = toml::from_str(s).map_err(|e| ConfigError::Toml {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        cfg.origin = origin.to_owned();
        cfg.build_with_source(Some(s))?;
        Ok(cfg)
    }

    /// Validate into the typed form the engine runs on.
    pub(crate) fn build(&self) -> Result<Built, ConfigError> {
        self.build_with_source(None)
    }

    fn build_with_source(&self, src: Option<&str>) -> Result<Built, ConfigError> {
        let origin = if self.origin.is_empty() {
            "config"
        } else {
            self.origin.as_str()
        };
        let err = |key: String, needle: &str, reason: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            line: src.and_then(|s| line_of(s, needle)),
            key,
            reason,
        };
        let nets = |key: &str, list: &[String]| -> Result<NetSet, ConfigError> {
            if list.len() > MAX_LIST_ENTRIES {
                return Err(err(
                    key.to_owned(),
                    key,
                    format!(
                        "too many entries ({}, limit {MAX_LIST_ENTRIES})",
                        list.len()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(list.len());
            for (i, s) in list.iter().enumerate() {
                out.push(parse_net(s).ok_or_else(|| {
                    err(
                        format!("{key}[{i}]"),
                        s,
                        format!("{s:?} is not an IP address or CIDR"),
                    )
                })?);
            }
            Ok(NetSet { nets: out })
        };
        let mut b = Built {
            checks: CheckId::ALL
                .iter()
                .map(|c| {
                    let info = c.info();
                    BuiltCheck {
                        enabled: info.enabled_by_default,
                        severity: info.severity,
                        thresholds: info.thresholds.iter().map(|t| t.default).collect(),
                        exclude: Exclusions::default(),
                    }
                })
                .collect(),
            scanners: Vec::new(),
            allowed_dns: nets("allowed_dns_servers", &self.allowed_dns_servers)?,
            allowed_ntp: nets("allowed_ntp_servers", &self.allowed_ntp_servers)?,
            allowed_smtp: nets("allowed_smtp_servers", &self.allowed_smtp_servers)?,
            allowed_dhcp: nets("allowed_dhcp_servers", &self.allowed_dhcp_servers)?,
            host_score_threshold: self
                .host_score_threshold
                .unwrap_or(DEFAULT_HOST_SCORE_THRESHOLD),
        };
        if b.host_score_threshold == 0 {
            return Err(err(
                "host_score_threshold".into(),
                "host_score_threshold",
                "must be at least 1".into(),
            ));
        }
        if self.authorized_scanners.len() > MAX_LIST_ENTRIES {
            return Err(err(
                "authorized_scanners".into(),
                "authorized_scanners",
                "too many entries".into(),
            ));
        }
        for (i, s) in self.authorized_scanners.iter().enumerate() {
            let key = format!("authorized_scanners[{i}]");
            let net = parse_net(&s.source).ok_or_else(|| {
                err(
                    format!("{key}.source"),
                    &s.source,
                    format!("{:?} is not an IP address or CIDR", s.source),
                )
            })?;
            let mut windows = Vec::new();
            for (j, w) in s.windows.iter().enumerate() {
                let wkey = format!("{key}.windows[{j}]");
                windows.push(
                    parse_window(w)
                        .map_err(|(needle, reason)| err(wkey.clone(), &needle, reason))?,
                );
            }
            b.scanners.push(Scanner { net, windows });
        }
        for (name, cc) in &self.checks {
            let key = format!("checks.{}", quote_key(name));
            let id = CheckId::parse(name).ok_or_else(|| {
                err(
                    key.clone(),
                    name,
                    format!("unknown check {name:?} (see `mamori checks list`)"),
                )
            })?;
            let info = id.info();
            let bc = &mut b.checks[id.index()];
            if let Some(e) = cc.enabled {
                bc.enabled = e;
            }
            if let Some(s) = &cc.severity {
                bc.severity = Severity::parse(s).ok_or_else(|| {
                    err(
                        format!("{key}.severity"),
                        s,
                        format!("{s:?} is not a severity (low, medium, high, critical)"),
                    )
                })?;
            }
            for (tname, v) in &cc.thresholds {
                let pos = info
                    .thresholds
                    .iter()
                    .position(|t| t.name == tname)
                    .ok_or_else(|| {
                        let known: Vec<&str> = info.thresholds.iter().map(|t| t.name).collect();
                        err(
                            format!("{key}.thresholds.{tname}"),
                            tname,
                            if known.is_empty() {
                                "unknown threshold (this check has none)".to_owned()
                            } else {
                                format!("unknown threshold (known: {})", known.join(", "))
                            },
                        )
                    })?;
                if !v.is_finite() || *v < 0.0 {
                    return Err(err(
                        format!("{key}.thresholds.{tname}"),
                        tname,
                        format!("{v} must be a finite number ≥ 0"),
                    ));
                }
                if let Some(slot) = bc.thresholds.get_mut(pos) {
                    *slot = *v;
                }
            }
            let x = &cc.exclude;
            let ex = &mut bc.exclude;
            ex.sources = nets(&format!("{key}.exclude.sources"), &x.sources)?;
            ex.destinations = nets(&format!("{key}.exclude.destinations"), &x.destinations)?;
            ex.hosts = nets(&format!("{key}.exclude.hosts"), &x.hosts)?;
            for (i, [a, bb]) in x.pairs.iter().enumerate() {
                let pk = format!("{key}.exclude.pairs[{i}]");
                let na = parse_net(a)
                    .ok_or_else(|| err(pk.clone(), a, format!("{a:?} is not an IP or CIDR")))?;
                let nb = parse_net(bb)
                    .ok_or_else(|| err(pk.clone(), bb, format!("{bb:?} is not an IP or CIDR")))?;
                ex.pairs.push((na, nb));
            }
            for (i, d) in x.domains.iter().enumerate() {
                let dl = d.trim().trim_end_matches('.').to_ascii_lowercase();
                let (wild, base) = match dl.strip_prefix("*.") {
                    Some(rest) => (true, rest.to_owned()),
                    None => (false, dl.clone()),
                };
                if base.is_empty() || base.contains('*') || base.contains(' ') {
                    return Err(err(
                        format!("{key}.exclude.domains[{i}]"),
                        d,
                        format!("{d:?} is not a domain or *.domain wildcard"),
                    ));
                }
                ex.domains.push(DomainPattern { base, wild });
            }
            ex.ports.clone_from(&x.ports);
        }
        Ok(b)
    }
}

fn quote_key(k: &str) -> String {
    if k.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_owned()
    } else {
        format!("{k:?}")
    }
}

/// 1-based line of the first occurrence of `needle` in `src`.
fn line_of(src: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let pos = src.find(needle)?;
    Some(src.get(..pos)?.bytes().filter(|&b| b == b'\n').count() + 1)
}

fn parse_net(s: &str) -> Option<IpNet> {
    mamori_core::net::parse_net(s).ok()
}

fn parse_window(w: &TimeWindowConfig) -> Result<Window, (String, String)> {
    match (&w.from, &w.to, &w.daily) {
        (Some(f), Some(t), None) => {
            if w.zone.is_some() {
                return Err((f.clone(), "zone applies to daily windows only".into()));
            }
            let from = Timestamp::parse_rfc3339(f).map_err(|e| (f.clone(), e.to_string()))?;
            let to = Timestamp::parse_rfc3339(t).map_err(|e| (t.clone(), e.to_string()))?;
            if to <= from {
                return Err((t.clone(), format!("to {t:?} is not after from {f:?}")));
            }
            Ok(Window::Absolute { from, to })
        }
        (None, None, Some(d)) => {
            let offset = match &w.zone {
                None => 0,
                Some(z) => zone_offset_secs(z).ok_or_else(|| {
                    (
                        z.clone(),
                        format!(
                            "unsupported zone {z:?} (use UTC, Asia/Tokyo or an offset like +09:00)"
                        ),
                    )
                })?,
            };
            let (a, b) = d
                .split_once('-')
                .or_else(|| d.split_once('–'))
                .ok_or_else(|| (d.clone(), format!("{d:?} is not HH:MM-HH:MM")))?;
            let start = hhmm(a).ok_or_else(|| (d.clone(), format!("{a:?} is not HH:MM")))?;
            let end = hhmm(b).ok_or_else(|| (d.clone(), format!("{b:?} is not HH:MM")))?;
            Ok(Window::Daily { start, end, offset })
        }
        _ => Err((
            String::new(),
            "a window needs either from and to, or daily (with an optional zone)".into(),
        )),
    }
}

fn hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    if (0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 24 * 60 {
        Some(h * 3600 + m * 60)
    } else {
        None
    }
}

/// Offset from UTC in seconds for the zones the config accepts. Japan has no DST, so
/// `Asia/Tokyo` is a fixed +09:00.
fn zone_offset_secs(z: &str) -> Option<i64> {
    let z = z.trim();
    match z {
        "UTC" | "utc" | "Z" | "Etc/UTC" | "GMT" => return Some(0),
        "Asia/Tokyo" | "JST" | "Japan" => return Some(9 * 3600),
        _ => {}
    }
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1, z.get(1..)?),
        b'-' => (-1, z.get(1..)?),
        _ => return None,
    };
    let secs = hhmm(rest)?;
    (secs <= 14 * 3600).then_some(sign * secs)
}

/// A list of networks (small; linear scan).
#[derive(Debug, Clone, Default)]
pub(crate) struct NetSet {
    pub(crate) nets: Vec<IpNet>,
}

impl NetSet {
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DomainPattern {
    base: String,
    wild: bool,
}

impl DomainPattern {
    fn matches(&self, name: &str) -> bool {
        if self.wild {
            name.len() > self.base.len()
                && name.ends_with(self.base.as_str())
                && name.as_bytes().get(name.len() - self.base.len() - 1) == Some(&b'.')
        } else {
            name == self.base
        }
    }
}

/// Per-check exclusions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Exclusions {
    sources: NetSet,
    destinations: NetSet,
    hosts: NetSet,
    pairs: Vec<(IpNet, IpNet)>,
    domains: Vec<DomainPattern>,
    ports: Vec<u16>,
}

impl Exclusions {
    /// Whether a hit with these entities is excluded.
    pub(crate) fn excludes(
        &self,
        src: Option<IpAddr>,
        dst: Option<IpAddr>,
        port: Option<u16>,
        domain: Option<&str>,
    ) -> bool {
        if let Some(s) = src {
            if self.sources.contains(s) || self.hosts.contains(s) {
                return true;
            }
        }
        if let Some(d) = dst {
            if self.destinations.contains(d) || self.hosts.contains(d) {
                return true;
            }
        }
        if let (Some(s), Some(d)) = (src, dst) {
            if self
                .pairs
                .iter()
                .any(|(a, b)| a.contains(&s) && b.contains(&d))
            {
                return true;
            }
        }
        if let Some(p) = port {
            if self.ports.contains(&p) {
                return true;
            }
        }
        if let Some(name) = domain {
            if !self.domains.is_empty() {
                let host = name
                    .rsplit_once(':')
                    .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(name, |(h, _)| h);
                let n = host.trim_end_matches('.').to_ascii_lowercase();
                if self.domains.iter().any(|d| d.matches(&n)) {
                    return true;
                }
            }
        }
        false
    }
}

/// When an authorised scanner may scan.
#[derive(Debug, Clone)]
pub(crate) enum Window {
    Absolute { from: Timestamp, to: Timestamp },
    Daily { start: i64, end: i64, offset: i64 },
}

impl Window {
    fn contains(&self, t: Timestamp) -> bool {
        match *self {
            Window::Absolute { from, to } => t >= from && t < to,
            Window::Daily { start, end, offset } => {
                let sod = (t.unix_secs() + offset).rem_euclid(86_400);
                if start <= end {
                    sod >= start && sod < end
                } else {
                    sod >= start || sod < end
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    net: IpNet,
    windows: Vec<Window>,
}

/// Validated per-check settings.
#[derive(Debug, Clone)]
pub(crate) struct BuiltCheck {
    pub(crate) enabled: bool,
    pub(crate) severity: Severity,
    pub(crate) thresholds: Vec<f64>,
    pub(crate) exclude: Exclusions,
}

/// The validated config.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) checks: Vec<BuiltCheck>,
    pub(crate) scanners: Vec<Scanner>,
    pub(crate) allowed_dns: NetSet,
    pub(crate) allowed_ntp: NetSet,
    pub(crate) allowed_smtp: NetSet,
    pub(crate) allowed_dhcp: NetSet,
    pub(crate) host_score_threshold: u64,
}

impl Built {
    /// `window_secs` of a check as a duration (zero when the check has no window).
    pub(crate) fn window(&self, id: CheckId) -> mamori_core::Duration {
        let info = id.info();
        let secs = info
            .thresholds
            .iter()
            .position(|t| t.name == "window_secs")
            .and_then(|p| self.checks.get(id.index())?.thresholds.get(p).copied())
            .unwrap_or(0.0);
        mamori_core::Duration::from_nanos((secs * 1e9) as i64)
    }
    /// Whether `src` is an authorised scanner at `t`.
    pub(crate) fn authorized_scanner(&self, src: IpAddr, t: Timestamp) -> bool {
        self.scanners.iter().any(|s| {
            s.net.contains(&src)
                && (s.windows.is_empty() || s.windows.iter().any(|w| w.contains(t)))
        })
    }
    /// A threshold by name (the catalogue default if the name is unknown).
    pub(crate) fn th(&self, id: CheckId, name: &str) -> f64 {
        let info = id.info();
        let pos = info.thresholds.iter().position(|t| t.name == name);
        match pos {
            Some(p) => self
                .checks
                .get(id.index())
                .and_then(|c| c.thresholds.get(p))
                .copied()
                .unwrap_or(info.thresholds[p].default),
            None => {
                debug_assert!(false, "unknown threshold {name} for {}", info.id);
                0.0
            }
        }
    }
}

const _: () = assert!(CHECK_COUNT > 0);

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Absolute { from, to } => write!(f, "{from}–{to}"),
            Window::Daily { start, end, offset } => write!(
                f,
                "daily {:02}:{:02}–{:02}:{:02} (UTC{:+})",
                start / 3600,
                start % 3600 / 60,
                end / 3600,
                end % 3600 / 60,
                offset / 3600
            ),
        }
    }
}
