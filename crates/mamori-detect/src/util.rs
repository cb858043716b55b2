//! Small text helpers shared by the checks: entropy, registered domains, %-decoding,
//! a DGA heuristic and SNI/certificate name matching.

use std::borrow::Cow;
use std::net::IpAddr;

/// Longest text the helpers look at (longer input is cut, never rejected).
pub const MAX_TEXT: usize = 8192;

/// Shannon entropy in bits per byte.
pub fn entropy(s: &str) -> f64 {
    let b = s.as_bytes();
    if b.is_empty() {
        return 0.0;
    }
    let mut freq = [0u32; 256];
    for &c in b.iter().take(MAX_TEXT) {
        freq[c as usize] += 1;
    }
    let n = b.len().min(MAX_TEXT) as f64;
    freq.iter()
        .filter(|&&f| f > 0)
        .map(|&f| {
            let p = f64::from(f) / n;
            -p * p.log2()
        })
        .sum()
}

/// Second-level labels under which registrations happen one level deeper
/// (`example.co.jp`, `example.com.au`); a heuristic instead of the full public suffix list.
const SECOND_LEVEL: &[&str] = &[
    "co", "com", "ne", "or", "ac", "go", "gr", "ed", "lg", "ad", "net", "org", "gov", "edu", "mil",
    "ltd", "plc", "nom", "sch", "gob",
];

/// The registered domain of a name: the last two labels, or three when the second-level label
/// is a common one under a two-letter country code (`example.co.jp`). Lower-case input expected.
pub fn registered_domain(name: &str) -> &str {
    let name = name.trim_end_matches('.');
    let Some(i1) = name.rfind('.') else {
        return name;
    };
    let tld = name.get(i1 + 1..).unwrap_or("");
    let rest = name.get(..i1).unwrap_or("");
    let Some(i2) = rest.rfind('.') else {
        return name;
    };
    let sld = rest.get(i2 + 1..).unwrap_or("");
    if tld.len() == 2 && SECOND_LEVEL.contains(&sld) {
        let rest2 = rest.get(..i2).unwrap_or("");
        match rest2.rfind('.') {
            Some(i3) => name.get(i3 + 1..).unwrap_or(name),
            None => name,
        }
    } else {
        name.get(i2 + 1..).unwrap_or(name)
    }
}

/// The label just left of the registered suffix (`google` in `www.google.co.jp`).
pub fn registered_label(name: &str) -> &str {
    let reg = registered_domain(name);
    reg.split('.').next().unwrap_or(reg)
}

/// Lower-case a name without allocating when it already is.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Decode `%XX` escapes (and `+` as space) once; invalid escapes stay as they are.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len().min(MAX_TEXT));
    let mut i = 0;
    while i < b.len() && out.len() < MAX_TEXT {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// DGA heuristic score of one registered label (documented in the crate docs):
/// +1 entropy ≥ 3.5 bits/char (labels ≥ 10 chars), +1 length ≥ 16, +1 a run of ≥ 5
/// consonants, +1 digits mixed with letters (≥ 2 digits, not only at the end), +1 vowel
/// share < 20 %. Labels shorter than 8 characters score 0.
pub fn dga_score(label: &str) -> u32 {
    let l = label.as_bytes();
    if l.len() < 8 || l.iter().any(|c| !c.is_ascii_alphanumeric() && *c != b'-') {
        return 0;
    }
    let mut score = 0;
    if l.len() >= 10 && entropy(label) >= 3.5 {
        score += 1;
    }
    if l.len() >= 16 {
        score += 1;
    }
    let mut run = 0;
    let mut max_run = 0;
    let mut vowels = 0;
    let mut letters = 0;
    for c in l {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphabetic() {
            letters += 1;
            if b"aeiouy".contains(&c) {
                vowels += 1;
                run = 0;
            } else {
                run += 1;
                max_run = max_run.max(run);
            }
        } else {
            run = 0;
        }
    }
    if max_run >= 5 {
        score += 1;
    }
    let digits = l.iter().filter(|c| c.is_ascii_digit()).count();
    let trailing = l.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if digits >= 2 && letters > 0 && digits > trailing {
        score += 1;
    }
    if letters >= 8 && vowels * 5 < letters {
        score += 1;
    }
    score
}

/// Whether text is a literal IPv4/IPv6 address (optionally in brackets or with a port).
pub fn is_ip_literal(s: &str) -> bool {
    let s = s.trim();
    if s.parse::<IpAddr>().is_ok() {
        return true;
    }
    let s = s.trim_start_matches('[');
    let host = match s.find(']') {
        Some(i) => s.get(..i).unwrap_or(s),
        None => s.rsplit_once(':').map_or(s, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                s
            }
        }),
    };
    host.parse::<IpAddr>().is_ok()
}

/// Whether `name` is covered by certificate name `pattern` (RFC 6125: a wildcard stands for
/// exactly one whole left-most label; case-insensitive).
pub fn cert_name_matches(pattern: &str, name: &str) -> bool {
    let p = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    if p.is_empty() {
        return false;
    }
    if let Some(rest) = p.strip_prefix("*.") {
        match n.split_once('.') {
            Some((first, tail)) => !first.is_empty() && tail == rest && rest.contains('.'),
            None => false,
        }
    } else {
        p == n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains() {
        assert_eq!(registered_domain("a.b.example.com"), "example.com");
        assert_eq!(registered_domain("www.example.co.jp"), "example.co.jp");
        assert_eq!(registered_domain("example.jp"), "example.jp");
        assert_eq!(registered_domain("x.example.com."), "example.com");
        assert_eq!(registered_label("www.google.co.jp"), "google");
    }

    #[test]
    fn decoding_and_entropy() {
        assert_eq!(percent_decode("%2e%2e%2Fetc"), "../etc");
        assert_eq!(percent_decode("a+b%zz%"), "a b%zz%");
        assert!(entropy("aaaa") < 0.01);
        assert!(entropy("abcdefgh") > 2.9);
    }

    #[test]
    fn dga_heuristic() {
        assert!(
            dga_score("xjw9qkz7vbn4plmt") >= 3,
            "{}",
            dga_score("xjw9qkz7vbn4plmt")
        );
        assert_eq!(dga_score("google"), 0);
        assert!(dga_score("microsoft") < 2);
        assert!(dga_score("wikipedia") < 2);
    }

    #[test]
    fn cert_names() {
        assert!(cert_name_matches("*.example.jp", "www.example.jp"));
        assert!(!cert_name_matches("*.example.jp", "a.b.example.jp"));
        assert!(!cert_name_matches("*.example.jp", "example.jp"));
        assert!(!cert_name_matches("*.jp", "example.jp"));
        assert!(cert_name_matches("Example.JP", "example.jp"));
    }

    #[test]
    fn ip_literals() {
        assert!(is_ip_literal("10.0.0.1"));
        assert!(is_ip_literal("10.0.0.1:8080"));
        assert!(is_ip_literal("[::1]:443"));
        assert!(!is_ip_literal("example.jp"));
    }
}
