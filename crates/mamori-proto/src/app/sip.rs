//! SIP (RFC 3261) over UDP and TCP (5060): one `sip` record per message.
//!
//! Requests: `mamori.sip.method`, `mamori.sip.uri` (Request-URI); responses:
//! `mamori.sip.status_code`, `mamori.sip.reason`. Both: `mamori.sip.from_user`,
//! `mamori.sip.to_user` (user part of the From/To URIs), `mamori.sip.from`, `mamori.sip.to`,
//! `mamori.sip.call_id`, `mamori.sip.cseq`, `user_agent.original` (User-Agent) and
//! `mamori.sip.server`. Compact header forms are understood. TCP messages are framed by
//! `Content-Length`; bytes that do not start a SIP message (a UDP body sent without
//! `Content-Length`) are dropped until the next message starts.

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{bounded_str, set, Emitter, MAX_RECORDS_PER_FLOW};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Largest header block buffered.
pub const MAX_HEADER_LEN: usize = 16 * 1024;
/// Largest body waited for before it is skipped.
pub const MAX_BODY_LEN: usize = 64 * 1024;
/// Longest header value copied.
pub const MAX_VALUE_LEN: usize = 512;
/// Header lines read per message.
pub const MAX_HEADERS: usize = 128;

/// Request methods.
pub const METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];

const VERSION: &[u8] = b"SIP/2.0";
/// Longest method name (`SUBSCRIBE`).
const MAX_METHOD_LEN: usize = 9;

/// Whether `b` starts a SIP message: Yes, No or Maybe (too short to tell).
fn start_line(b: &[u8]) -> Probe {
    // Cheap rejection first: every start line begins with an upper-case method or `SIP/`.
    if !b.first().is_some_and(u8::is_ascii_uppercase) {
        return Probe::No;
    }
    let word_end = b.iter().take(MAX_METHOD_LEN + 1).position(|&c| c == b' ');
    let word = b
        .get(..word_end.unwrap_or(b.len().min(MAX_METHOD_LEN + 1)))
        .unwrap_or(&[]);
    let word_ok = if word_end.is_some() {
        word == b"SIP/2.0" || METHODS.iter().any(|m| m.as_bytes() == word)
    } else {
        VERSION.starts_with(word) || METHODS.iter().any(|m| m.as_bytes().starts_with(word))
    };
    if !word_ok {
        return Probe::No;
    }
    let line_end = b
        .iter()
        .take(MAX_VALUE_LEN * 4 + 2)
        .position(|&c| c == b'\n');
    let line = match line_end {
        Some(e) => b.get(..e).unwrap_or(b),
        None => b,
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.starts_with(b"SIP/2.0 ") {
        return match line.get(8..11) {
            Some(code) if code.iter().all(u8::is_ascii_digit) => Probe::Yes,
            Some(_) => Probe::No,
            None if line_end.is_none() => Probe::Maybe,
            None => Probe::No,
        };
    }
    if line.len() < 8 && line_end.is_none() && VERSION.starts_with(line) {
        return Probe::Maybe;
    }
    let sp = line.iter().position(|&c| c == b' ');
    let method = line.get(..sp.unwrap_or(line.len())).unwrap_or(&[]);
    let known = METHODS.iter().any(|m| m.as_bytes() == method);
    match sp {
        None => {
            if line_end.is_none() && METHODS.iter().any(|m| m.as_bytes().starts_with(method)) {
                Probe::Maybe
            } else {
                Probe::No
            }
        }
        Some(_) if !known => Probe::No,
        Some(_) if line_end.is_none() => {
            // Wait for the line end unless the version is already visible.
            if line.ends_with(VERSION) {
                Probe::Yes
            } else if line.len() > MAX_VALUE_LEN * 4 {
                Probe::No
            } else {
                Probe::Maybe
            }
        }
        Some(_) => {
            if line.ends_with(VERSION) {
                Probe::Yes
            } else {
                Probe::No
            }
        }
    }
}

/// Probe: a request line `METHOD uri SIP/2.0` or a status line `SIP/2.0 nnn`.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    if data.is_empty() {
        return Probe::No;
    }
    start_line(data)
}

fn find(h: &[u8], pat: &[u8]) -> Option<usize> {
    h.windows(pat.len()).position(|w| w == pat)
}

/// End of the header block (after the blank line).
fn header_end(b: &[u8]) -> Option<usize> {
    let crlf = find(b, b"\r\n\r\n").map(|p| p + 4);
    let lf = find(b, b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The user part of a SIP/SIPS/TEL URI inside a header value.
fn uri_user(v: &str) -> Option<String> {
    let start = ["sip:", "sips:", "tel:"]
        .iter()
        .filter_map(|p| v.find(p).map(|i| i + p.len()))
        .min()?;
    let rest = v.get(start..)?;
    let end = rest.find(['>', ';', ' ', '?']).unwrap_or(rest.len());
    let uri = rest.get(..end)?;
    let user = match uri.find('@') {
        Some(at) => uri.get(..at)?,
        None if v.get(..start)?.ends_with("tel:") => uri,
        None => return None,
    };
    let user = user.split(':').next().unwrap_or(user);
    if user.is_empty() {
        None
    } else {
        Some(user.to_owned())
    }
}

/// Parse the header block of one message.
fn parse_headers(h: &[u8]) -> (Fields, usize) {
    let mut f = Fields::new();
    let mut lines = h
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or(&[]);
    let first = String::from_utf8_lossy(first);
    if let Some(rest) = first.strip_prefix("SIP/2.0 ") {
        set!(f, "mamori.sip.type", "response");
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Ok(c) = code.parse::<u16>() {
            set!(f, "mamori.sip.status_code", c);
        }
        set!(
            f,
            "mamori.sip.reason",
            bounded_str(reason.as_bytes(), MAX_VALUE_LEN)
        );
    } else {
        set!(f, "mamori.sip.type", "request");
        let mut parts = first.splitn(3, ' ');
        if let Some(m) = parts.next() {
            set!(f, "mamori.sip.method", m.to_owned());
        }
        if let Some(u) = parts.next() {
            set!(
                f,
                "mamori.sip.uri",
                bounded_str(u.as_bytes(), MAX_VALUE_LEN)
            );
        }
    }
    let mut content_length = 0usize;
    for line in lines.take(MAX_HEADERS) {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(line.get(..colon).unwrap_or(&[]))
            .trim()
            .to_ascii_lowercase();
        let value = bounded_str(line.get(colon + 1..).unwrap_or(&[]), MAX_VALUE_LEN)
            .trim()
            .to_owned();
        match name.as_str() {
            "from" | "f" => {
                if let Some(u) = uri_user(&value) {
                    set!(f, "mamori.sip.from_user", u);
                }
                set!(f, "mamori.sip.from", value);
            }
            "to" | "t" => {
                if let Some(u) = uri_user(&value) {
                    set!(f, "mamori.sip.to_user", u);
                }
                set!(f, "mamori.sip.to", value);
            }
            "call-id" | "i" => {
                set!(f, "mamori.sip.call_id", value);
            }
            "cseq" => {
                set!(f, "mamori.sip.cseq", value);
            }
            "user-agent" => {
                set!(f, "user_agent.original", value);
            }
            "server" => {
                set!(f, "mamori.sip.server", value);
            }
            "content-length" | "l" => {
                content_length = value.parse().unwrap_or(0);
            }
            _ => {}
        }
    }
    (f, content_length)
}

/// Per-flow SIP dissector.
#[derive(Debug, Default)]
pub struct SipDissector {
    bufs: [Vec<u8>; 2],
    skip: [usize; 2],
    counters: Counters,
    emitter: Emitter,
    summary: Option<(Option<String>, Option<String>)>,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<SipDissector>::default()
}

impl SipDissector {
    /// Counters of malformed or over-limit input (`not_sip_dropped`, `header_too_large`, …).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Dissector for SipDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let i = usize::from(dir == Dir::ToClient);
        let mut data = data;
        let skip = self.skip.get_mut(i).map(std::mem::take).unwrap_or(0);
        if skip > 0 {
            let n = skip.min(data.len());
            data = data.get(n..).unwrap_or(&[]);
            if let Some(s) = self.skip.get_mut(i) {
                *s = skip - n;
            }
        }
        let Some(buf) = self.bufs.get_mut(i) else {
            return Progress::Continue;
        };
        buf.extend_from_slice(data);
        loop {
            if buf.is_empty() {
                break;
            }
            match start_line(buf) {
                Probe::Maybe => break,
                Probe::No => {
                    self.counters.incr("not_sip_dropped");
                    buf.clear();
                    break;
                }
                Probe::Yes => {}
            }
            let Some(hend) = header_end(buf) else {
                if buf.len() > MAX_HEADER_LEN {
                    self.counters.incr("header_too_large");
                    buf.clear();
                }
                break;
            };
            let (f, cl) = parse_headers(buf.get(..hend).unwrap_or(&[]));
            let total = hend.saturating_add(cl);
            if buf.len() < total && cl <= MAX_BODY_LEN {
                break;
            }
            if self.summary.is_none() {
                let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_owned);
                self.summary = Some((s("mamori.sip.method"), s("user_agent.original")));
            }
            self.emitter
                .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "sip", ts, f);
            if buf.len() < total {
                if let Some(s) = self.skip.get_mut(i) {
                    *s = total - buf.len();
                }
                buf.clear();
                break;
            }
            buf.drain(..total);
        }
        Progress::Continue
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some((m, ua)) = &self.summary {
            if let Some(m) = m {
                fields.insert(Cow::Borrowed("mamori.sip.method"), Value::from(m.clone()));
            }
            if let Some(ua) = ua {
                fields.insert(
                    Cow::Borrowed("user_agent.original"),
                    Value::from(ua.clone()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_uri_users() {
        assert_eq!(
            uri_user("\"Bob\" <sip:bob@example.jp>;tag=1").as_deref(),
            Some("bob")
        );
        assert_eq!(uri_user("<sips:alice:pw@h>").as_deref(), Some("alice"));
        assert_eq!(
            uri_user("<tel:+81312345678>").as_deref(),
            Some("+81312345678")
        );
        assert_eq!(uri_user("<sip:example.jp>"), None);
    }
}
