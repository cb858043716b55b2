//! Security event formats: ArcSight CEF and IBM QRadar LEEF 1.0/2.0.

use mamori_core::{Event, Timestamp};

use super::{set_int, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo};

/// Most CEF header fields (7) plus extension.
const CEF_HEADER_FIELDS: usize = 7;
/// Most extension / attribute pairs read.
pub const MAX_EXTENSION_PAIRS: usize = 128;

/// The CEF / LEEF parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "cef",
            module: "cef",
            dataset: "cef",
            description_en: "ArcSight Common Event Format (header escaping, extension keys mapped to ECS, custom string labels)",
            description_ja: "ArcSight CEF 形式 (拡張キーを ECS に変換)",
            fields: &["observer.vendor", "observer.product", "observer.version", "event.code", "rule.name", "event.severity", "source.ip", "source.port", "destination.ip", "destination.port", "source.user.name", "destination.user.name", "event.action", "url.original", "network.transport"],
        },
        parse: cef,
    },
    ParserDef {
        info: ParserInfo {
            name: "leef",
            module: "leef",
            dataset: "cef",
            description_en: "IBM QRadar LEEF 1.0 and 2.0 (custom delimiters)",
            description_ja: "IBM QRadar LEEF 1.0 / 2.0 形式",
            fields: &["observer.vendor", "observer.product", "event.code", "source.ip", "destination.ip", "source.port", "destination.port", "user.name", "event.severity", "network.transport"],
        },
        parse: leef,
    },
];

/// Split on unescaped `|` (`\|` and `\\` unescaped), at most `max` parts; the last part is
/// the rest of the line verbatim.
fn split_pipes(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut it = s.char_indices();
    while let Some((i, c)) = it.next() {
        if out.len() + 1 == max {
            out.push(s[i..].to_owned());
            return out;
        }
        match c {
            '\\' => match it.next() {
                Some((_, e @ ('|' | '\\'))) => cur.push(e),
                Some((_, e)) => {
                    cur.push('\\');
                    cur.push(e);
                }
                None => cur.push('\\'),
            },
            '|' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// CEF extension: `k=v` where a value runs until the next ` key=`; `\=`, `\\`, `\n`, `\r`.
fn cef_extension(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    // Find key starts: positions after a space (or at 0) of `[A-Za-z0-9_.\[\]-]+=` not escaped.
    let mut starts = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if i == 0 || b[i - 1] == b' ' {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric()
                    || matches!(b[j], b'_' | b'.' | b'-' | b'[' | b']'))
            {
                j += 1;
            }
            if j > i && j < b.len() && b[j] == b'=' && (j == 0 || b[j - 1] != b'\\') {
                starts.push((i, j));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    for (n, &(ks, ke)) in starts.iter().enumerate().take(MAX_EXTENSION_PAIRS) {
        let vend = starts
            .get(n + 1)
            .map_or(s.len(), |&(next, _)| next.saturating_sub(1));
        let raw = s.get(ke + 1..vend.max(ke + 1)).unwrap_or("");
        let mut v = String::with_capacity(raw.len());
        let mut it = raw.chars();
        while let Some(c) = it.next() {
            if c == '\\' {
                match it.next() {
                    Some('n') => v.push('\n'),
                    Some('r') => v.push('\r'),
                    Some(e) => v.push(e),
                    None => v.push('\\'),
                }
            } else {
                v.push(c);
            }
        }
        out.push((s[ks..ke].to_owned(), v.trim_end().to_owned()));
    }
    out
}

/// CEF severity (0–10 or Low/Medium/High/Very-High) to mamori 1–4.
fn severity(s: &str) -> Option<i64> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "very-high" | "veryhigh" | "critical" => 4,
        n => match n.parse::<i64>().ok()? {
            0..=3 => 1,
            4..=6 => 2,
            7..=8 => 3,
            9..=10 => 4,
            _ => return None,
        },
    })
}

/// Common key → ECS mapping for CEF and LEEF.
fn map_key(ev: &mut Event, k: &str, v: &str) -> bool {
    match k {
        "src" | "sourceAddress" | "srcPreNAT" => {
            set_ip(ev, "source.ip", v);
        }
        "dst" | "destinationAddress" | "dstPreNAT" => {
            set_ip(ev, "destination.ip", v);
        }
        "spt" | "srcPort" | "sourcePort" => set_int(ev, "source.port", v),
        "dpt" | "dstPort" | "destinationPort" => set_int(ev, "destination.port", v),
        "smac" | "srcMAC" => set_str(ev, "source.mac", v),
        "dmac" | "dstMAC" => set_str(ev, "destination.mac", v),
        "shost" | "srcHost" => set_str(ev, "source.domain", v),
        "dhost" | "dstHost" => set_str(ev, "destination.domain", v),
        "suser" | "usrName" | "srcUser" => {
            set_str(ev, "source.user.name", v);
            set_str(ev, "user.name", v);
        }
        "duser" | "dstUser" => set_str(ev, "destination.user.name", v),
        "proto" => {
            let p = match v {
                "6" => "tcp",
                "17" => "udp",
                "1" => "icmp",
                other => other,
            };
            ev.set("network.transport", p.to_ascii_lowercase());
        }
        "act" | "action" => set_str(ev, "event.action", v),
        "app" => set_str(ev, "network.protocol", &v.to_ascii_lowercase()),
        "request" | "url" => set_str(ev, "url.original", v),
        "requestMethod" => set_str(ev, "http.request.method", v),
        "requestClientApplication" | "userAgent" => set_str(ev, "user_agent.original", v),
        "in" | "srcBytes" | "bytesIn" => set_int(ev, "source.bytes", v),
        "out" | "dstBytes" | "bytesOut" => set_int(ev, "destination.bytes", v),
        "msg" => set_str(ev, "message", v),
        "outcome" => set_str(ev, "event.outcome", &v.to_ascii_lowercase()),
        "fname" => set_str(ev, "file.name", v),
        "filePath" => set_str(ev, "file.path", v),
        "fsize" => set_int(ev, "file.size", v),
        "fileHash" => set_str(ev, "file.hash.sha256", v),
        "dvc" => {
            set_ip(ev, "observer.ip", v);
        }
        "dvchost" => set_str(ev, "observer.hostname", v),
        "deviceExternalId" => set_str(ev, "observer.serial_number", v),
        "cat" => set_str(ev, "mamori.cef.category", v),
        "cnt" => set_int(ev, "mamori.cef.count", v),
        "identSrc" => {
            set_ip(ev, "source.ip", v);
        }
        "sproc" => set_str(ev, "process.name", v),
        "spid" => set_int(ev, "process.pid", v),
        "cs1" | "cs2" | "cs3" | "cs4" | "cs5" | "cs6" | "cn1" | "cn2" | "cn3" => return false,
        _ => return false,
    }
    true
}

/// `rt`/`devTime`: epoch milliseconds or `MMM dd yyyy HH:mm:ss[.SSS]`.
fn cef_time(v: &str, zone: &crate::time::Zone) -> Option<Timestamp> {
    if let Ok(ms) = v.parse::<i64>() {
        return Some(Timestamp::from_unix_millis(ms));
    }
    if let Some((t, _)) = crate::time::parse_iso_prefix(v, zone) {
        return Some(t);
    }
    let b = v.as_bytes();
    let mo = crate::time::month_from_abbr(b.get(..3)?)?;
    let mut w = v.split_whitespace().skip(1);
    let d = w.next()?.parse().ok()?;
    let y = w.next()?.parse().ok()?;
    let (h, mi, s, ns, _) = crate::time::parse_hms(w.next()?.as_bytes())?;
    zone.civil(y, mo, d, h, mi, s, ns)
}

fn cef(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let Some(pos) = memchr::memmem::find(inp.line.as_bytes(), b"CEF:") else {
        return Outcome::NoMatch;
    };
    let body = &inp.line[pos + 4..];
    let h = split_pipes(body, CEF_HEADER_FIELDS + 1);
    if h.len() < CEF_HEADER_FIELDS {
        return Outcome::Partial("truncated_header");
    }
    ev.set("mamori.cef.version", h[0].trim());
    set_str(ev, "observer.vendor", &h[1]);
    set_str(ev, "observer.product", &h[2]);
    set_str(ev, "observer.version", &h[3]);
    set_str(ev, "event.code", &h[4]);
    set_str(ev, "rule.id", &h[4]);
    set_str(ev, "rule.name", &h[5]);
    if let Some(s) = severity(&h[6]) {
        ev.set("event.severity", s);
    }
    let ext = h.get(7).map(String::as_str).unwrap_or("");
    let pairs = cef_extension(ext);
    let labels: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k.ends_with("Label"))
        .cloned()
        .collect();
    for (k, v) in &pairs {
        if k == "rt" || k == "end" {
            if let Some(t) = cef_time(v, inp.zone) {
                ev.timestamp = t;
            }
            continue;
        }
        if k.ends_with("Label") {
            continue;
        }
        if !map_key(ev, k, v) {
            let label = labels
                .iter()
                .find(|(lk, _)| lk.strip_suffix("Label") == Some(k.as_str()))
                .map(|(_, l)| l.clone());
            let name = label.unwrap_or_else(|| k.clone());
            let clean: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            ev.set(format!("mamori.cef.ext.{clean}"), v.as_str());
        }
    }
    Outcome::Done
}

/// LEEF 2.0 delimiter: a character, `xHH` or `0xHH`.
fn leef_delim(s: &str) -> Option<char> {
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix('x'));
    match hex {
        Some(h) if !h.is_empty() => u32::from_str_radix(h, 16).ok().and_then(char::from_u32),
        _ => {
            let mut c = s.chars();
            let first = c.next()?;
            c.next().is_none().then_some(first)
        }
    }
}

fn leef(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let Some(pos) = memchr::memmem::find(inp.line.as_bytes(), b"LEEF:") else {
        return Outcome::NoMatch;
    };
    let body = &inp.line[pos + 5..];
    let v2 = body.starts_with('2');
    let nhead = if v2 { 6 } else { 5 };
    let h = split_pipes(body, nhead + 1);
    if h.len() < nhead {
        return Outcome::Partial("truncated_header");
    }
    ev.set("mamori.leef.version", h[0].trim());
    set_str(ev, "observer.vendor", &h[1]);
    set_str(ev, "observer.product", &h[2]);
    set_str(ev, "observer.version", &h[3]);
    set_str(ev, "event.code", &h[4]);
    let (delim, attrs) = if v2 {
        match leef_delim(h[5].trim()) {
            Some(d) => (d, h.get(6).map(String::as_str).unwrap_or("")),
            None => ('\t', h.get(6).map(String::as_str).unwrap_or("")),
        }
    } else {
        ('\t', h.get(5).map(String::as_str).unwrap_or(""))
    };
    let mut dev_time = None;
    let mut dev_fmt = None;
    for part in attrs.split(delim).take(MAX_EXTENSION_PAIRS) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let k = k.trim();
        match k {
            "devTime" => dev_time = Some(v),
            "devTimeFormat" => dev_fmt = Some(v),
            "sev" => {
                if let Some(s) = severity(v) {
                    ev.set("event.severity", s);
                }
            }
            "cat" => set_str(ev, "mamori.leef.category", v),
            _ => {
                if !map_key(ev, k, v) {
                    let clean: String = k
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '_' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    ev.set(format!("mamori.leef.attr.{clean}"), v);
                }
            }
        }
    }
    if let Some(f) = dev_fmt {
        // Java date patterns are not interpreted; epoch ms, ISO 8601 and the CEF
        // "MMM dd yyyy HH:mm:ss" form are.
        set_str(ev, "mamori.leef.dev_time_format", f);
    }
    if let Some(t) = dev_time {
        match cef_time(t, inp.zone) {
            Some(ts) => ev.timestamp = ts,
            None => return Outcome::Partial("bad_dev_time"),
        }
    }
    Outcome::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_and_extension_escapes() {
        let h = split_pipes(r"0|Ven\|dor|P|1|100|Name \\ x|5|a=b", 8);
        assert_eq!(h[1], "Ven|dor");
        assert_eq!(h[5], "Name \\ x");
        assert_eq!(h[7], "a=b");
        let e = cef_extension(r"src=10.0.0.1 msg=hello world a\=b cs1=x cs1Label=My Label");
        assert_eq!(e[0], ("src".into(), "10.0.0.1".into()));
        assert_eq!(e[1], ("msg".into(), "hello world a=b".into()));
        assert_eq!(e[3], ("cs1Label".into(), "My Label".into()));
    }

    #[test]
    fn leef_delimiters() {
        assert_eq!(leef_delim("^"), Some('^'));
        assert_eq!(leef_delim("x5E"), Some('^'));
        assert_eq!(leef_delim("0x09"), Some('\t'));
        assert_eq!(leef_delim("ab"), None);
    }
}
