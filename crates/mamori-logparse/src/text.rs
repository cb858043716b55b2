//! Small text helpers shared by the parsers (no allocation unless noted).

use std::net::IpAddr;

/// Maximum number of key=value pairs read from one line.
pub const MAX_KV_PAIRS: usize = 256;

/// The text after the first occurrence of `pat`.
pub fn after<'a>(s: &'a str, pat: &str) -> Option<&'a str> {
    // std's short-needle search beats building a memmem searcher per call here.
    s.find(pat).map(|i| &s[i + pat.len()..])
}

/// The text between `a` and the next `b` after it.
pub fn between<'a>(s: &'a str, a: &str, b: &str) -> Option<&'a str> {
    let rest = after(s, a)?;
    let end = rest.find(b)?;
    Some(&rest[..end])
}

/// The first whitespace-delimited word and the rest (leading spaces skipped).
pub fn word(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches([' ', '\t']);
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

/// The word following `pat` (e.g. `word_after(s, " from ")`).
pub fn word_after<'a>(s: &'a str, pat: &str) -> Option<&'a str> {
    let w = word(after(s, pat)?).0;
    (!w.is_empty()).then_some(w)
}

/// Parse an IP address, tolerating brackets and an IPv4-mapped `::ffff:` prefix.
pub fn ip(s: &str) -> Option<IpAddr> {
    let s = s.trim_matches(['[', ']', ',', ';', '(', ')']);
    let ip: IpAddr = s.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// Split `addr:port`, `[v6]:port`, `addr/port`, `addr#port` or `addr.port` (IPv4 + 5th part).
pub fn ip_port(s: &str) -> Option<(IpAddr, Option<u16>)> {
    let s = s.trim_matches([',', ';', '(', ')']);
    if let Some(a) = ip(s) {
        return Some((a, None));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once("]:")?;
        return Some((ip(a)?, p.parse().ok()));
    }
    for sep in [':', '/', '#', '.'] {
        if let Some((a, p)) = s.rsplit_once(sep) {
            if let (Some(a), Ok(p)) = (ip(a), p.parse::<u16>()) {
                return Some((a, Some(p)));
            }
        }
    }
    None
}

/// Integer parse (tolerates a leading `+`).
pub fn int(s: &str) -> Option<i64> {
    s.trim().trim_start_matches('+').parse().ok()
}

/// Iterate `key=value` pairs; values may be `"quoted"` (with `\"` escapes kept as-is).
/// Keys are `[A-Za-z0-9_.-]`; text that is not a pair is skipped word by word.
pub fn kv_pairs(s: &str) -> KvIter<'_> {
    KvIter { s, n: 0 }
}

/// Iterator from [`kv_pairs`].
#[derive(Debug)]
pub struct KvIter<'a> {
    s: &'a str,
    n: usize,
}

impl<'a> Iterator for KvIter<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.n >= MAX_KV_PAIRS {
                return None;
            }
            let s = self.s.trim_start_matches([' ', '\t', ',', ';']);
            if s.is_empty() {
                return None;
            }
            let key_end = s
                .bytes()
                .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')))
                .unwrap_or(s.len());
            if key_end == 0 || s.as_bytes().get(key_end) != Some(&b'=') {
                // Not a pair: skip this word.
                let skip = s.find([' ', '\t']).map_or(s.len(), |i| i + 1);
                self.s = &s[skip..];
                continue;
            }
            let key = &s[..key_end];
            let rest = &s[key_end + 1..];
            let (val, tail) = if let Some(q) = rest.strip_prefix('"') {
                let b = q.as_bytes();
                let mut i = 0;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let i = i.min(b.len());
                (&q[..i], q.get(i + 1..).unwrap_or(""))
            } else {
                let e = rest.find([' ', '\t']).unwrap_or(rest.len());
                (&rest[..e], &rest[e..])
            };
            self.s = tail;
            self.n += 1;
            return Some((key, val));
        }
    }
}

/// Split one CSV record (RFC 4180 quotes with `""` escapes); at most `max` fields.
pub fn csv_split(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() >= max {
            return out;
        }
        match (c, in_q) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => in_q = false,
            ('"', false) if cur.is_empty() => in_q = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if out.len() < max {
        out.push(cur);
    }
    out
}

/// Strip one pair of surrounding quotes.
pub fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_with_quotes_and_noise() {
        let v: Vec<_> = kv_pairs(r#"date=2026-11-23 junk msg="a \"b\" c" x= y=1"#).collect();
        assert_eq!(
            v,
            vec![
                ("date", "2026-11-23"),
                ("msg", r#"a \"b\" c"#),
                ("x", ""),
                ("y", "1")
            ]
        );
        assert_eq!(
            kv_pairs(r#"k="unterminated"#).next(),
            Some(("k", "unterminated"))
        );
    }

    #[test]
    fn ip_port_forms() {
        assert_eq!(
            ip_port("10.0.0.1:22"),
            Some((ip("10.0.0.1").unwrap(), Some(22)))
        );
        assert_eq!(
            ip_port("10.0.0.1.5353"),
            Some((ip("10.0.0.1").unwrap(), Some(5353)))
        );
        assert_eq!(ip_port("[::1]:22"), Some((ip("::1").unwrap(), Some(22))));
        assert_eq!(
            ip_port("10.0.0.1/443"),
            Some((ip("10.0.0.1").unwrap(), Some(443)))
        );
        assert_eq!(ip("::ffff:10.1.2.3"), ip("10.1.2.3"));
        assert_eq!(ip_port("nope"), None);
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(
            csv_split(r#"a,"b,c","d""e",,f"#, 10),
            vec!["a", "b,c", "d\"e", "", "f"]
        );
        assert_eq!(csv_split("a,b,c", 2), vec!["a", "b"]);
    }
}
