//! Syslog transport (514/udp, 514 and 601/tcp): the PRI header and the header fields that
//! follow it (RFC 5424 or BSD RFC 3164 form). Full message parsing lives in the log pipeline;
//! each record carries the message as `event.original` (bounded) for it.
//!
//! Fields (ECS): `log.syslog.priority`, `log.syslog.facility.code`/`.name`,
//! `log.syslog.severity.code`/`.name`, `log.syslog.hostname`, `log.syslog.appname`,
//! `log.syslog.version` (5424 only). TCP streams are framed by octet counting (RFC 6587
//! `LEN SP MSG`) or by line feeds. A UDP datagram is complete: one message (lines included;
//! a line with its own `<PRI>` starts another), emitted at once with the datagram's time (the flow tells the dissector the
//! transport; a dissector built with `Default` treats input as a stream).

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{bounded_str, set, Emitter, MAX_RECORDS_PER_FLOW};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Longest message kept (and longest line buffered).
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
/// Longest copy in `event.original`.
pub const MAX_ORIGINAL_LEN: usize = 4096;
/// Longest host or app name.
pub const MAX_NAME_LEN: usize = 255;

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parse `<PRI>` at the start; returns the priority and the header length.
pub fn parse_pri(b: &[u8]) -> Option<(u8, usize)> {
    if b.first() != Some(&b'<') {
        return None;
    }
    let mut v: u16 = 0;
    let mut i = 1;
    while let Some(&c) = b.get(i) {
        if c == b'>' {
            if i == 1 || v > 191 {
                return None;
            }
            return Some((u8::try_from(v).ok()?, i + 1));
        }
        if !c.is_ascii_digit() || i > 3 {
            return None;
        }
        v = v * 10 + u16::from(c - b'0');
        i += 1;
    }
    None
}

/// What follows PRI looks like RFC 5424 (`1 `) or RFC 3164 (`Mmm `) or at least text.
fn plausible_after_pri(rest: &[u8]) -> Probe {
    if rest.len() < 4 {
        return Probe::Maybe;
    }
    if rest.starts_with(b"1 ") {
        return Probe::Yes;
    }
    if MONTHS.iter().any(|m| rest.starts_with(m)) && rest.get(3) == Some(&b' ') {
        return Probe::Yes;
    }
    // Many devices send a bare message or their own timestamp: accept printable text.
    if rest
        .iter()
        .take(16)
        .all(|&c| c.is_ascii_graphic() || c == b' ' || c >= 0x80)
    {
        Probe::Yes
    } else {
        Probe::No
    }
}

fn check(b: &[u8]) -> Probe {
    let Some(&c0) = b.first() else {
        return Probe::No;
    };
    // Octet counting: `LEN SP <PRI>…`.
    if c0.is_ascii_digit() {
        let sp = b.iter().take(7).position(|&c| c == b' ');
        return match sp {
            Some(p) if b.get(..p).is_some_and(|d| d.iter().all(u8::is_ascii_digit)) => {
                check(b.get(p + 1..).unwrap_or(&[]))
            }
            None if b.len() < 7 && b.iter().all(u8::is_ascii_digit) => Probe::Maybe,
            _ => Probe::No,
        };
    }
    if c0 != b'<' {
        return Probe::No;
    }
    match parse_pri(b) {
        Some((_, n)) => plausible_after_pri(b.get(n..).unwrap_or(&[])),
        None if b.len() < 5 && b.iter().skip(1).all(u8::is_ascii_digit) => Probe::Maybe,
        None => Probe::No,
    }
}

/// Probe: `<PRI>` (0–191) followed by a 5424 version, a 3164 timestamp or printable text,
/// optionally preceded by an octet count (TCP).
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    check(data)
}

fn word(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == b' ') {
        Some(p) => (b.get(..p).unwrap_or(&[]), b.get(p + 1..).unwrap_or(&[])),
        None => (b, &[]),
    }
}

/// Decode one message's PRI and header into ECS `log.syslog.*` fields.
pub fn parse(msg: &[u8]) -> Option<Fields> {
    let (pri, n) = parse_pri(msg)?;
    let mut f = Fields::new();
    let fac = pri >> 3;
    let sev = pri & 7;
    set!(f, "log.syslog.priority", pri);
    set!(f, "log.syslog.facility.code", fac);
    if let Some(name) = FACILITIES.get(usize::from(fac)) {
        set!(f, "log.syslog.facility.name", *name);
    }
    set!(f, "log.syslog.severity.code", sev);
    if let Some(name) = SEVERITIES.get(usize::from(sev)) {
        set!(f, "log.syslog.severity.name", *name);
    }
    let rest = msg.get(n..).unwrap_or(&[]);
    let name = |b: &[u8]| bounded_str(b, MAX_NAME_LEN);
    if let Some(r) = rest.strip_prefix(b"1 ") {
        // VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID …
        set!(f, "log.syslog.version", "1");
        let (_ts, r) = word(r);
        let (host, r) = word(r);
        let (app, r) = word(r);
        let (procid, r) = word(r);
        let (msgid, _) = word(r);
        for (k, v) in [
            ("log.syslog.hostname", host),
            ("log.syslog.appname", app),
            ("log.syslog.procid", procid),
            ("log.syslog.msgid", msgid),
        ] {
            if !v.is_empty() && v != b"-" {
                f.insert(Cow::Borrowed(k), Value::from(name(v)));
            }
        }
    } else if MONTHS.iter().any(|m| rest.starts_with(m)) && rest.len() > 16 {
        // Mmm dd hh:mm:ss HOST TAG[pid]: msg
        let r = rest.get(16..).unwrap_or(&[]);
        let (host, r) = word(r);
        if !host.is_empty() {
            set!(f, "log.syslog.hostname", name(host));
        }
        let tag_end = r
            .iter()
            .position(|&c| c == b':' || c == b'[' || c == b' ')
            .unwrap_or(0);
        if tag_end > 0 && r.get(tag_end) != Some(&b' ') {
            if let Some(t) = r.get(..tag_end) {
                set!(f, "log.syslog.appname", name(t));
            }
        }
    }
    set!(f, "event.original", bounded_str(msg, MAX_ORIGINAL_LEN));
    Some(f)
}

/// Per-flow syslog dissector.
#[derive(Debug, Default)]
pub struct SyslogDissector {
    /// Datagrams (RFC 5426: one message each, but lines are split too); no buffering.
    udp: bool,
    bufs: [Vec<u8>; 2],
    /// When the unterminated message in each buffer started (UDP datagrams complete late).
    started: [Option<Timestamp>; 2],
    counters: Counters,
    emitter: Emitter,
    first: Option<(Option<String>, Option<String>)>,
}

/// A fresh dissector for the flow `meta`: UDP datagrams are complete messages (emitted at
/// once, with the datagram's time); TCP streams are framed as RFC 6587 describes.
pub fn new_dissector(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(SyslogDissector {
        udp: meta.transport == super::Transport::Udp,
        ..SyslogDissector::default()
    })
}

impl SyslogDissector {
    /// Counters of malformed or over-limit input (`no_pri`, `message_too_long`, …).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn message(&mut self, m: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        let m = m.strip_suffix(b"\r").unwrap_or(m);
        let m = m.strip_suffix(b"\0").unwrap_or(m);
        if m.is_empty() {
            return;
        }
        match parse(m) {
            Some(f) => {
                if self.first.is_none() {
                    let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_owned);
                    self.first = Some((s("log.syslog.hostname"), s("log.syslog.appname")));
                }
                self.emitter.emit(
                    out,
                    &mut self.counters,
                    MAX_RECORDS_PER_FLOW,
                    "syslog",
                    ts,
                    f,
                );
            }
            None => self.counters.incr("no_pri"),
        }
    }

    /// One UDP datagram: one message (RFC 5426), which may span lines; a line that starts
    /// with its own `<PRI>` begins another message (senders that batch several per
    /// datagram). Trailing line feeds and NULs are dropped.
    fn datagram(&mut self, d: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        if d.len() > MAX_MESSAGE_LEN {
            self.counters.incr("message_too_long");
        }
        let mut d = d.get(..MAX_MESSAGE_LEN.min(d.len())).unwrap_or(&[]);
        while let Some((&last, rest)) = d.split_last() {
            if !matches!(last, b'\n' | b'\r' | 0) {
                break;
            }
            d = rest;
        }
        let mut start = 0;
        let mut pos = 0;
        while let Some(nl) = d
            .get(pos..)
            .and_then(|r| r.iter().position(|&c| c == b'\n'))
        {
            let next = pos + nl + 1;
            if parse_pri(d.get(next..).unwrap_or(&[])).is_some() {
                let m = d.get(start..pos + nl).unwrap_or(&[]);
                self.message(m, ts, out);
                start = next;
            }
            pos = next;
        }
        self.message(d.get(start..).unwrap_or(&[]), ts, out);
    }

    fn drain(&mut self, i: usize, ts: Timestamp, out: &mut Vec<Record>) {
        loop {
            let Some(buf) = self.bufs.get(i) else { return };
            if buf.is_empty() {
                return;
            }
            // Octet counting.
            if buf.first().is_some_and(u8::is_ascii_digit) {
                let Some(sp) = buf.iter().take(8).position(|&c| c == b' ') else {
                    if buf.len() >= 8 {
                        self.counters.incr("bad_octet_count");
                        if let Some(b) = self.bufs.get_mut(i) {
                            b.clear();
                        }
                    }
                    return;
                };
                let len: usize = std::str::from_utf8(buf.get(..sp).unwrap_or(&[]))
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(usize::MAX);
                if len > MAX_MESSAGE_LEN {
                    self.counters.incr("message_too_long");
                    if let Some(b) = self.bufs.get_mut(i) {
                        b.clear();
                    }
                    return;
                }
                let Some(m) = buf.get(sp + 1..sp + 1 + len) else {
                    return;
                };
                let m = m.to_vec();
                self.message(&m, ts, out);
                if let Some(b) = self.bufs.get_mut(i) {
                    b.drain(..sp + 1 + len);
                }
                continue;
            }
            let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
                if buf.len() > MAX_MESSAGE_LEN {
                    self.counters.incr("message_too_long");
                    let m = buf.clone();
                    self.message(&m, ts, out);
                    if let Some(b) = self.bufs.get_mut(i) {
                        b.clear();
                    }
                }
                return;
            };
            let m = buf.get(..nl).unwrap_or(&[]).to_vec();
            self.message(&m, ts, out);
            if let Some(b) = self.bufs.get_mut(i) {
                b.drain(..=nl);
            }
        }
    }
}

impl Dissector for SyslogDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.udp {
            self.datagram(data, ts, out);
            return Progress::Continue;
        }
        let i = usize::from(dir == Dir::ToClient);
        // Transport unknown (built with `Default`) or TCP: a chunk that itself starts a complete-looking message while an unterminated one is
        // pending: the pending one was a whole datagram.
        let pending_whole = self
            .bufs
            .get(i)
            .is_some_and(|b| !b.is_empty() && b.first() == Some(&b'<'))
            && parse_pri(data).is_some()
            && data.len() > 4;
        if pending_whole {
            let m = self.bufs.get_mut(i).map(std::mem::take).unwrap_or_default();
            let at = self.started.get(i).copied().flatten().unwrap_or(ts);
            self.message(&m, at, out);
        }
        if let Some(b) = self.bufs.get_mut(i) {
            if b.is_empty() {
                if let Some(s) = self.started.get_mut(i) {
                    *s = Some(ts);
                }
            }
            b.extend_from_slice(data);
        }
        self.drain(i, ts, out);
        Progress::Continue
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        for i in 0..2 {
            let m = self.bufs.get_mut(i).map(std::mem::take).unwrap_or_default();
            if !m.is_empty() {
                let at = self.started.get(i).copied().flatten().unwrap_or(ts);
                self.message(&m, at, out);
            }
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some((h, a)) = &self.first {
            if let Some(h) = h {
                fields.insert(Cow::Borrowed("log.syslog.hostname"), Value::from(h.clone()));
            }
            if let Some(a) = a {
                fields.insert(Cow::Borrowed("log.syslog.appname"), Value::from(a.clone()));
            }
        }
    }
}
