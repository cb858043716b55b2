//! Tor identification — a documented heuristic, not a certainty.
//!
//! Tor relays speak TLS, but the client sends a random server name of the form
//! `www.<base32>.com` and relay certificates use random `www.<base32>.net` subject and
//! `www.<base32>.com` issuer names that are not real domains. mamori names a flow `tor` only
//! when such a name is seen: the probe requires a ClientHello whose SNI looks like one, and
//! the TLS dissector sets `mamori.tls.tor_like: true` when the SNI or the certificate names do.
//!
//! "Random-looking" means: the label between `www.` and `.com`/`.net` has 8–20 characters,
//! all lowercase base32 (`a-z`, `2-7`), and either contains a digit with few vowels or has a
//! long run of consonants. Real names can match (false positives are possible, e.g. unusual
//! brand names); names that fail any rule are never reported as Tor.

use super::tls::{self, Reader};
use super::{Dir, Dissector, FlowMeta, Probe};

/// Shortest random label Tor generates.
pub const MIN_LABEL: usize = 8;
/// Longest random label Tor generates.
pub const MAX_LABEL: usize = 20;
/// Consonant run that alone marks a label as random.
pub const CONSONANT_RUN: usize = 6;

/// True when `name` looks like a Tor random host name (`www.<random>.com|net`).
pub fn is_tor_like_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("www.") else {
        return false;
    };
    let Some(label) = rest
        .strip_suffix(".com")
        .or_else(|| rest.strip_suffix(".net"))
    else {
        return false;
    };
    let b = label.as_bytes();
    if !(MIN_LABEL..=MAX_LABEL).contains(&b.len())
        || !b
            .iter()
            .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(c))
    {
        return false;
    }
    let is_vowel = |c: &u8| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
    let vowels = b.iter().filter(|c| is_vowel(c)).count();
    let has_digit = b.iter().any(u8::is_ascii_digit);
    let mut run = 0usize;
    let mut max_run = 0usize;
    for c in b {
        if c.is_ascii_lowercase() && !is_vowel(c) {
            run += 1;
            max_run = max_run.max(run);
        } else {
            run = 0;
        }
    }
    (has_digit && vowels * 4 <= b.len()) || max_run >= CONSONANT_RUN
}

/// Probe: a TLS ClientHello (complete in this payload) whose SNI is Tor-like.
pub fn probe(meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    if dir != Dir::ToServer {
        return Probe::No;
    }
    match tls::probe(meta, dir, data) {
        Probe::Yes => {}
        Probe::Maybe => return Probe::Maybe,
        Probe::No => return Probe::No,
    }
    let mut r = Reader::new(data.get(5..).unwrap_or(&[]));
    let (Some(1), Some(len)) = (r.u8(), r.u24()) else {
        return Probe::No;
    };
    let Some(body) = r.take(len) else {
        // The ClientHello continues in a later segment: the TLS probe decides.
        return Probe::No;
    };
    match tls::parse_client_hello(body).and_then(|ch| ch.sni) {
        Some(sni) if std::str::from_utf8(sni).is_ok_and(is_tor_like_name) => Probe::Yes,
        _ => Probe::No,
    }
}

/// A TLS dissector (Tor is TLS on the wire; the dissector sets `mamori.tls.tor_like`).
pub fn new_dissector(meta: &FlowMeta) -> Box<dyn Dissector> {
    tls::new_dissector(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tor_names() {
        assert!(is_tor_like_name("www.q4nfvbxk2hcl3m.com"));
        assert!(is_tor_like_name("www.xkcdqwrtzpl.net"));
        assert!(!is_tor_like_name("www.google.com"));
        assert!(!is_tor_like_name("www.stackoverflow.com"));
        assert!(!is_tor_like_name("www.wikipedia.org"));
        assert!(!is_tor_like_name("mail.q4nfvbxk2hcl3m.com"));
        assert!(!is_tor_like_name("www.Q4NFVBXK2HCL.com"));
    }
}
