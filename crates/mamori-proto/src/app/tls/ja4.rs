//! JA4 TLS client fingerprint (FoxIO specification).
//!
//! `{t|q|d}{version}{d|i}{cipher count}{extension count}{ALPN first+last}` `_`
//! truncated SHA-256 of the sorted cipher list `_` truncated SHA-256 of the sorted extension
//! list (without SNI and ALPN) followed by `_` and the signature algorithms in original
//! order. GREASE values are ignored everywhere; hex values are 4-digit lowercase.

use sha2::{Digest, Sha256};

use super::{ext, is_grease, ClientHello};
use crate::app::http::text::hex_lower;

/// Transport marker of the fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS over TCP (`t`).
    Tcp,
    /// QUIC (`q`).
    Quic,
    /// DTLS (`d`).
    Dtls,
}

/// Two-character version code from the highest offered version.
fn version_code(ch: &ClientHello<'_>) -> &'static str {
    let v = ch
        .versions
        .iter()
        .copied()
        .filter(|&v| !is_grease(v))
        .max()
        .unwrap_or(ch.legacy_version);
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn alpn_code(ch: &ClientHello<'_>) -> String {
    let Some(first) = ch.alpn.first() else {
        return "00".into();
    };
    let (Some(&a), Some(&z)) = (first.first(), first.last()) else {
        return "00".into();
    };
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        format!("{}{}", char::from(a), char::from(z))
    } else {
        let ha = hex_lower(&[a]);
        let hz = hex_lower(&[z]);
        format!("{}{}", &ha[..1], &hz[1..])
    }
}

fn hash12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    let h = hex_lower(Sha256::digest(s.as_bytes()).as_slice());
    h.get(..12).unwrap_or(&h).to_owned()
}

fn hex_list(v: &[u16]) -> String {
    v.iter()
        .map(|x| format!("{x:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The raw (unhashed) JA4 parts: (prefix, sorted ciphers, sorted extensions + sigalgs).
pub fn ja4_raw(ch: &ClientHello<'_>, transport: Transport) -> (String, String, String) {
    let mut ciphers: Vec<u16> = ch
        .ciphers
        .iter()
        .copied()
        .filter(|&c| !is_grease(c))
        .collect();
    let exts: Vec<u16> = ch
        .extensions
        .iter()
        .copied()
        .filter(|&e| !is_grease(e))
        .collect();
    let prefix = format!(
        "{}{}{}{:02}{:02}{}",
        match transport {
            Transport::Tcp => 't',
            Transport::Quic => 'q',
            Transport::Dtls => 'd',
        },
        version_code(ch),
        if ch.extensions.contains(&ext::SERVER_NAME) {
            'd'
        } else {
            'i'
        },
        ciphers.len().min(99),
        exts.len().min(99),
        alpn_code(ch)
    );
    ciphers.sort_unstable();
    let mut sorted_exts: Vec<u16> = exts
        .into_iter()
        .filter(|&e| e != ext::SERVER_NAME && e != ext::ALPN)
        .collect();
    sorted_exts.sort_unstable();
    let sigs: Vec<u16> = ch
        .sig_algs
        .iter()
        .copied()
        .filter(|&s| !is_grease(s))
        .collect();
    let mut c = hex_list(&sorted_exts);
    if !sigs.is_empty() {
        c.push('_');
        c.push_str(&hex_list(&sigs));
    }
    (prefix, hex_list(&ciphers), c)
}

/// The JA4 fingerprint of a ClientHello.
pub fn ja4(ch: &ClientHello<'_>, transport: Transport) -> String {
    let (a, b, c) = ja4_raw(ch, transport);
    format!("{a}_{}_{}", hash12(&b), hash12(&c))
}
