//! [`LogParser`]: one line in, one ECS event out — header, routing to a parser by program
//! name or content, time and skew, parse-error accounting.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use mamori_core::{Counters, Event, Timestamp};

use crate::parsers::{self, zeek::HEADER_LINE, Input, Outcome, ParseState, ParserInfo};
use crate::syslog::{apply_header, parse_header};
use crate::time::{SkewTracker, UnknownZone, Zone, DEFAULT_ZONE};

/// Longest line parsed; longer input is cut (and flagged `mamori.log.truncated`).
pub const MAX_LINE_LEN: usize = 64 * 1024;
/// Sources with their own counters; the rest share the `_other` entry.
pub const MAX_COUNTER_SOURCES: usize = 1024;
/// Most candidate parsers tried for one line.
pub const MAX_CANDIDATES: usize = 8;

/// Configuration of a [`LogParser`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogParserConfig {
    /// Zone for times without an offset (IANA name), default `Asia/Tokyo`.
    pub default_zone: String,
    /// Per-source zones (source name → IANA name).
    pub source_zones: BTreeMap<String, String>,
    /// Parsers to use by name; `None` enables all.
    pub enabled: Option<Vec<String>>,
    /// Generic JSON field map: (dotted path or JSON pointer, ECS field name).
    pub json_field_map: Vec<(String, String)>,
}

impl Default for LogParserConfig {
    fn default() -> Self {
        LogParserConfig {
            default_zone: DEFAULT_ZONE.into(),
            source_zones: BTreeMap::new(),
            enabled: None,
            json_field_map: Vec::new(),
        }
    }
}

/// A configuration the parser cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A zone name is not in the tz database.
    #[error(transparent)]
    Zone(#[from] UnknownZone),
    /// `enabled` names a parser that does not exist.
    #[error("unknown parser {name:?} in enabled parsers")]
    UnknownParser {
        /// The offending name.
        name: String,
    },
}

/// Where a line came from.
#[derive(Debug, Clone, Copy)]
pub struct LineContext<'a> {
    /// When mamori received it (`event.ingested`; reference for year inference).
    pub received: Timestamp,
    /// Source name (file path, `udp:1.2.3.4`, …): state, zones and counters are per source.
    pub source: &'a str,
    /// Sender address for network sources (`log.source.address`).
    pub source_ip: Option<IpAddr>,
    /// A parser name (or `zeek.<log>`) to try first, e.g. from the file name.
    pub hint: Option<&'a str>,
}

/// Which parser made an event and how it went (for `mamori parsers test`).
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The parser that matched (`None`: kept raw).
    pub parser: Option<&'static str>,
    /// `parsed`, `partial` (with reason), `raw` or `metadata`.
    pub status: LineStatus,
    /// The event produced.
    pub event: Event,
}

/// How one line was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineStatus {
    /// A parser understood it.
    Parsed,
    /// A parser recognised it but could not finish; the stable reason.
    Partial(&'static str),
    /// No parser: kept as a raw `syslog` event.
    Raw,
    /// A format header (Zeek `#fields`, …) or a blank line: no event of its own.
    Metadata,
}

/// Parses lines into events. Not thread-safe by design (one per worker); cheap to create.
///
/// ```
/// use mamori_core::Timestamp;
/// use mamori_logparse::{LineContext, LogParser};
/// let mut p = LogParser::default();
/// let ctx = LineContext { received: Timestamp::from_unix_secs(1_795_000_000), source: "gw", source_ip: None, hint: None };
/// let ev = p.parse_line(b"<38>Nov 23 10:00:01 gw sshd[12]: Failed password for root from 203.0.113.9 port 4711 ssh2", &ctx);
/// assert_eq!(ev.dataset, "sshd");
/// assert_eq!(ev.get_str("event.outcome"), Some("failure"));
/// ```
#[derive(Debug)]
pub struct LogParser {
    zone: Zone,
    source_zones: HashMap<String, Zone>,
    enabled: Vec<bool>,
    index: HashMap<&'static str, usize>,
    state: ParseState,
    counters: Counters,
    per_source: HashMap<String, Counters>,
    skew: SkewTracker,
    matched: Vec<u64>,
}

impl Default for LogParser {
    fn default() -> Self {
        // The default zone is in the bundled database; fall back to UTC rather than panic.
        LogParser::new(LogParserConfig::default())
            .unwrap_or_else(|_| LogParser::with_zone(Zone::utc()))
    }
}

impl LogParser {
    /// Build from a configuration.
    pub fn new(cfg: LogParserConfig) -> Result<LogParser, ConfigError> {
        let mut p = LogParser::with_zone(Zone::get(&cfg.default_zone)?);
        for (src, z) in &cfg.source_zones {
            p.source_zones.insert(src.clone(), Zone::get(z)?);
        }
        if let Some(names) = &cfg.enabled {
            p.enabled.iter_mut().for_each(|e| *e = false);
            for n in names {
                let Some(&i) = p.index.get(n.as_str()) else {
                    return Err(ConfigError::UnknownParser { name: n.clone() });
                };
                p.enabled[i] = true;
            }
        }
        p.state.json_map = cfg.json_field_map;
        Ok(p)
    }

    fn with_zone(zone: Zone) -> LogParser {
        let all = parsers::all();
        LogParser {
            zone,
            source_zones: HashMap::new(),
            enabled: vec![true; all.len()],
            index: all
                .iter()
                .enumerate()
                .map(|(i, d)| (d.info.name, i))
                .collect(),
            state: ParseState::default(),
            counters: Counters::new(),
            per_source: HashMap::new(),
            skew: SkewTracker::new(),
            matched: vec![0; all.len()],
        }
    }

    /// Parse one line; always returns an event (format header lines give a raw event marked
    /// `mamori.log.metadata`; use [`LogParser::parse`] to skip them).
    pub fn parse_line(&mut self, line: &[u8], ctx: &LineContext<'_>) -> Event {
        self.explain_line(line, ctx).event
    }

    /// Parse one line; `None` for format metadata (Zeek `#` headers) and blank lines.
    pub fn parse(&mut self, line: &[u8], ctx: &LineContext<'_>) -> Option<Event> {
        let e = self.explain_line(line, ctx);
        (e.status != LineStatus::Metadata).then_some(e.event)
    }

    /// Parse one line and say which parser matched and how.
    pub fn explain_line(&mut self, line: &[u8], ctx: &LineContext<'_>) -> Explanation {
        let mut truncated = false;
        let mut bytes = line;
        if bytes.len() > MAX_LINE_LEN {
            bytes = &bytes[..MAX_LINE_LEN];
            truncated = true;
            self.count(ctx.source, "line_truncated", line);
        }
        while let [rest @ .., b'\n' | b'\r' | b'\0'] = bytes {
            bytes = rest;
        }
        let text = String::from_utf8_lossy(bytes);
        let zone = self
            .source_zones
            .get(ctx.source)
            .unwrap_or(&self.zone)
            .clone();
        let header = parse_header(&text, &zone, ctx.received);
        let mut base = base_event(&header, ctx, truncated);
        if text.trim().is_empty() {
            return self.finish(base, None, LineStatus::Metadata, ctx);
        }
        let inp = Input {
            line: &text,
            header: &header,
            text: header.message,
            zone: &zone,
            received: ctx.received,
            source: ctx.source,
            hint: ctx.hint,
        };
        let mut cands = [usize::MAX; MAX_CANDIDATES];
        let n = self.candidates(&inp, ctx.hint, &mut cands);
        let all = parsers::all();
        for (k, &ci) in cands[..n].iter().enumerate() {
            let Some(def) = all.get(ci) else { continue };
            // Parsers may set fields before deciding a line is not theirs, so each gets a
            // fresh copy; the last one takes the original (one clone saved per line).
            let last = k + 1 == n;
            let mut trial = if last {
                std::mem::replace(&mut base, Event::new(Timestamp::MIN, "syslog"))
            } else {
                base.clone()
            };
            match (def.parse)(&inp, &mut trial, &mut self.state) {
                Outcome::NoMatch => {
                    if last {
                        base = base_event(&header, ctx, truncated);
                    }
                    continue;
                }
                Outcome::Done => {
                    self.matched[ci] += 1;
                    stamp(&mut trial, &def.info);
                    return self.finish(trial, Some(def.info.name), LineStatus::Parsed, ctx);
                }
                Outcome::Partial(reason) if reason == HEADER_LINE => {
                    trial.set("mamori.log.metadata", true);
                    return self.finish(trial, Some(def.info.name), LineStatus::Metadata, ctx);
                }
                Outcome::Partial(reason) => {
                    stamp(&mut trial, &def.info);
                    trial.set(
                        "error.message",
                        format!(
                            "{} parser could not finish this line: {reason}",
                            def.info.name
                        ),
                    );
                    trial.set("mamori.parse_error", reason);
                    if !trial.fields.contains_key("event.outcome") {
                        trial.set("event.outcome", "unknown");
                    }
                    let name = format!("parse_error.{}.{reason}", def.info.name);
                    self.count(ctx.source, &name, bytes);
                    return self.finish(
                        trial,
                        Some(def.info.name),
                        LineStatus::Partial(reason),
                        ctx,
                    );
                }
            }
        }
        base.set("event.outcome", "unknown");
        self.count(ctx.source, "unparsed", bytes);
        self.finish(base, None, LineStatus::Raw, ctx)
    }

    fn finish(
        &mut self,
        mut ev: Event,
        parser: Option<&'static str>,
        status: LineStatus,
        ctx: &LineContext<'_>,
    ) -> Explanation {
        if ev.timestamp == Timestamp::MIN {
            ev.timestamp = ctx.received;
        } else if status != LineStatus::Metadata {
            let ms = self.skew.observe(ctx.source, ev.timestamp, ctx.received);
            ev.set("mamori.log.clock_skew_ms", ms);
        }
        if let Some(p) = parser {
            ev.set("mamori.log.parser", p);
        }
        Explanation {
            parser,
            status,
            event: ev,
        }
    }

    fn count(&mut self, source: &str, name: &str, sample: &[u8]) {
        let mk = || {
            let s = String::from_utf8_lossy(
                &sample[..sample.len().min(mamori_core::counters::SAMPLE_MAX)],
            );
            format!("{source}: {s}")
        };
        self.counters.incr_with_sample(name, mk);
        let key = if self.per_source.contains_key(source)
            || self.per_source.len() < MAX_COUNTER_SOURCES
        {
            source
        } else {
            "_other"
        };
        self.per_source
            .entry(key.to_owned())
            .or_default()
            .incr_with_sample(name, mk);
    }

    /// All counters (`unparsed`, `parse_error.<parser>.<reason>`, `line_truncated`).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// Counters of one source.
    pub fn source_counters(&self, source: &str) -> Option<&Counters> {
        self.per_source.get(source)
    }
    /// Per-source clock skew.
    pub fn skew(&self) -> &SkewTracker {
        &self.skew
    }
    /// Lines each parser parsed fully, by parser name.
    pub fn matched_counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        parsers::all()
            .iter()
            .zip(&self.matched)
            .map(|(d, &n)| (d.info.name, n))
    }

    fn push(&self, out: &mut [usize; MAX_CANDIDATES], n: &mut usize, name: &str) {
        if let Some(&i) = self.index.get(name) {
            if *n < MAX_CANDIDATES && self.enabled[i] && !out[..*n].contains(&i) {
                out[*n] = i;
                *n += 1;
            }
        }
    }

    fn candidates(
        &self,
        inp: &Input<'_>,
        hint: Option<&str>,
        out: &mut [usize; MAX_CANDIDATES],
    ) -> usize {
        let mut n = 0;
        if let Some(h) = hint {
            self.push(out, &mut n, if h.starts_with("zeek") { "zeek" } else { h });
        }
        let t = inp.text.trim_start();
        if t.starts_with("pam_") {
            self.push(out, &mut n, "pam");
        }
        if let Some(app) = inp.header.app {
            for name in by_program(app) {
                self.push(out, &mut n, name);
            }
        }
        for name in sniff(inp) {
            self.push(out, &mut n, name);
        }
        n
    }
}

/// The event every line starts as: header fields, message, receive time, source.
fn base_event(
    header: &crate::syslog::SyslogHeader<'_>,
    ctx: &LineContext<'_>,
    truncated: bool,
) -> Event {
    let mut base = Event::new(header.timestamp.unwrap_or(Timestamp::MIN), "syslog");
    apply_header(header, &mut base);
    base.set("message", header.message);
    base.set("event.ingested", ctx.received);
    base.set("mamori.log.source", ctx.source);
    if let Some(ip) = ctx.source_ip {
        base.set("log.source.address", ip);
    }
    if truncated {
        base.set("mamori.log.truncated", true);
    }
    base
}

fn stamp(ev: &mut Event, info: &ParserInfo) {
    if ev.dataset == "syslog" && !info.dataset.contains('<') {
        ev.dataset = info.dataset.into();
    }
    if !ev.fields.contains_key("event.module") {
        ev.set("event.module", info.module);
    }
}

/// Parsers by syslog program name.
fn by_program(app: &str) -> &'static [&'static str] {
    if app.starts_with("postfix") {
        return &["postfix"];
    }
    if app.starts_with("%ASA-") || app.starts_with("%FTD-") {
        return &["cisco-asa"];
    }
    if app.contains("(pam_") {
        return &["pam"];
    }
    if app.starts_with("ovpn-") {
        return &["openvpn"];
    }
    match app {
        "sshd" | "sshd-session" => &["sshd"],
        "sudo" => &["sudo"],
        "su" => &["su"],
        "systemd-logind" => &["systemd-logind"],
        "kernel" | "ufw" | "firewalld" => &["iptables"],
        "filterlog" => &["filterlog"],
        "squid" | "(squid-1)" => &["squid", "http-access"],
        "named" | "bind" => &["bind"],
        "dnsmasq" | "dnsmasq-dhcp" => &["dnsmasq"],
        "unbound" => &["unbound"],
        "dhcpd" => &["dhcpd"],
        "kea-dhcp4" | "kea-dhcp6" => &["kea"],
        "dovecot" => &["dovecot"],
        "exim" | "exim4" => &["exim"],
        "openvpn" => &["openvpn"],
        "charon" | "charon-systemd" | "ipsec" | "strongswan" => &["strongswan"],
        "vsftpd" => &["vsftpd"],
        "proftpd" => &["proftpd"],
        "nginx" | "httpd" | "apache" | "apache2" => &["http-access", "http-error"],
        "suricata" => &["suricata"],
        "clamd" | "freshclam" | "clamav" | "clamscan" => &["clamav"],
        "zeek" | "bro" => &["zeek"],
        _ => &[],
    }
}

fn has(s: &str, pat: &str) -> bool {
    s.contains(pat)
}

/// Parsers by content, for lines without a known program.
fn sniff(inp: &Input<'_>) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    let t = inp.text.trim_start();
    let line = inp.line.trim_start();
    let head = &line[..floor_char(line, 200)];
    match t.as_bytes().first().or(line.as_bytes().first()) {
        Some(b'{') => return vec!["suricata", "windows", "zeek", "json"],
        Some(b'#') if line.starts_with('#') => return vec!["zeek"],
        _ => {}
    }
    if has(head, "CEF:") {
        v.push("cef");
    }
    if has(head, "LEEF:") {
        v.push("leef");
    }
    if has(head, "%ASA-") || has(head, "%FTD-") {
        v.push("cisco-asa");
    }
    if has(head, "MSWinEventLog") {
        v.push("snare");
    }
    if (has(t, "IN=") || has(t, "OUT=")) && has(t, " SRC=") {
        v.push("iptables");
    }
    if has(head, "devname=") || has(head, "logid=") || t.starts_with("date=") {
        v.push("fortigate");
    }
    if has(head, ",TRAFFIC,") || has(head, ",THREAT,") {
        v.push("paloalto");
    }
    if line.contains('\t') && line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        v.push("zeek");
    }
    if t.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        v.push("squid");
        if t.as_bytes().get(1).is_some_and(|c| *c == b',') || has(&t[..floor_char(t, 16)], ",") {
            v.push("filterlog");
        }
    }
    if line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        if crate::parsers::mail::looks_like_exim(line) {
            v.push("exim");
        }
        if has(head, "-") && has(head, " client ") {
            v.push("bind");
        }
        if has(head, "DHCP4_") || has(head, "DHCP6_") {
            v.push("kea");
        }
        if line.as_bytes().get(4) == Some(&b'/') {
            v.push("http-error");
        }
    }
    if crate::parsers::web::looks_like_access(t) {
        v.push("http-access");
    }
    if t.starts_with('[') {
        v.push("http-error");
        v.push("unbound");
    }
    if has(t, " query: ") || has(t, "query[") {
        v.push("bind");
        v.push("dnsmasq");
    }
    if has(t, "DHCP") {
        v.push("dhcpd");
        v.push("dnsmasq");
        v.push("kea");
    }
    if t.ends_with(" FOUND") || has(t, ".cvd ") || has(t, "Database updated") {
        v.push("clamav");
    }
    if has(t, "[pid ") || has(t, " LOGIN: Client ") {
        v.push("vsftpd");
    }
    if has(line, "Peer Connection Initiated")
        || has(line, "TLS Error")
        || has(line, "AUTH_FAILED")
        || has(line, "pool returned IPv4")
    {
        v.push("openvpn");
    }
    if has(t, "IKE_SA") || has(t, "CHILD_SA") {
        v.push("strongswan");
    }
    if has(t, ") - ") || t.starts_with("proftpd[") {
        v.push("proftpd");
    }
    v.truncate(MAX_CANDIDATES);
    v
}

fn floor_char(s: &str, max: usize) -> usize {
    let mut n = s.len().min(max);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// The parser catalog, for `mamori parsers list`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Catalog;

impl Catalog {
    /// Every parser's declaration in catalog order.
    pub fn parsers() -> impl Iterator<Item = &'static ParserInfo> {
        parsers::all().iter().map(|d| &d.info)
    }
    /// One parser by name.
    pub fn get(name: &str) -> Option<&'static ParserInfo> {
        parsers::all()
            .iter()
            .map(|d| &d.info)
            .find(|i| i.name == name)
    }
}
