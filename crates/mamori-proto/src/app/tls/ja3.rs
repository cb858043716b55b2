//! JA3 (client) and JA3S (server) fingerprints (Salesforce JA3): decimal fields joined by
//! `-`, groups by `,`, GREASE values removed, MD5 in lowercase hex.

use md5::{Digest, Md5};

use super::{is_grease, ClientHello, ServerHello};
use crate::app::http::text::hex_lower;

fn join<T: std::fmt::Display>(it: impl Iterator<Item = T>) -> String {
    let mut s = String::new();
    for (i, v) in it.enumerate() {
        if i > 0 {
            s.push('-');
        }
        s.push_str(&v.to_string());
    }
    s
}

/// `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`.
pub fn ja3_string(ch: &ClientHello<'_>) -> String {
    format!(
        "{},{},{},{},{}",
        ch.legacy_version,
        join(ch.ciphers.iter().filter(|&&c| !is_grease(c))),
        join(ch.extensions.iter().filter(|&&e| !is_grease(e))),
        join(ch.groups.iter().filter(|&&g| !is_grease(g))),
        join(ch.point_formats.iter()),
    )
}

/// `SSLVersion,Cipher,Extensions` of a ServerHello.
pub fn ja3s_string(sh: &ServerHello) -> String {
    format!(
        "{},{},{}",
        sh.legacy_version,
        sh.cipher,
        join(sh.extensions.iter().filter(|&&e| !is_grease(e)))
    )
}

/// MD5 of `s` in lowercase hex (the JA3 / JA3S / HASSH hash form).
pub fn md5_hex(s: &[u8]) -> String {
    hex_lower(Md5::digest(s).as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_empty_string() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn grease_is_removed() {
        let ch = ClientHello {
            legacy_version: 771,
            ciphers: vec![0x0a0a, 0x1301],
            extensions: vec![0xfafa, 0, 10],
            groups: vec![0x2a2a, 29],
            point_formats: vec![0],
            ..ClientHello::default()
        };
        assert_eq!(ja3_string(&ch), "771,4865,0-10,29,0");
    }
}
