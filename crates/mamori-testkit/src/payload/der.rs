//! A tiny DER/BER encoder for certificates, SNMP, LDAP and Kerberos messages.
//!
//! ```
//! use mamori_testkit::payload::der;
//! assert_eq!(der::integer_u64(5), vec![0x02, 0x01, 0x05]);
//! assert_eq!(der::oid(&[2, 5, 4, 3]), vec![0x06, 0x03, 0x55, 0x04, 0x03]);
//! assert_eq!(der::seq(&[der::null()]), vec![0x30, 0x02, 0x05, 0x00]);
//! ```

use mamori_core::Timestamp;

/// Universal tag: BOOLEAN.
pub const BOOLEAN: u8 = 0x01;
/// Universal tag: INTEGER.
pub const INTEGER: u8 = 0x02;
/// Universal tag: BIT STRING.
pub const BIT_STRING: u8 = 0x03;
/// Universal tag: OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// Universal tag: NULL.
pub const NULL: u8 = 0x05;
/// Universal tag: OBJECT IDENTIFIER.
pub const OID: u8 = 0x06;
/// Universal tag: ENUMERATED.
pub const ENUMERATED: u8 = 0x0A;
/// Universal tag: UTF8String.
pub const UTF8_STRING: u8 = 0x0C;
/// Universal tag: PrintableString.
pub const PRINTABLE_STRING: u8 = 0x13;
/// Universal tag: IA5String.
pub const IA5_STRING: u8 = 0x16;
/// Universal tag: UTCTime.
pub const UTC_TIME: u8 = 0x17;
/// Universal tag: GeneralizedTime.
pub const GENERALIZED_TIME: u8 = 0x18;
/// Universal tag: GeneralString.
pub const GENERAL_STRING: u8 = 0x1B;
/// Constructed SEQUENCE.
pub const SEQUENCE: u8 = 0x30;
/// Constructed SET.
pub const SET: u8 = 0x31;

/// Append a DER length.
pub fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let sig = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | sig.len() as u8);
        out.extend_from_slice(sig);
    }
}

/// A tag-length-value element.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    write_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.iter().flatten().copied().collect()
}

/// SEQUENCE of already-encoded elements.
pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(SEQUENCE, &concat(parts))
}

/// SET of already-encoded elements (kept in the given order).
pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(SET, &concat(parts))
}

/// Context-specific constructed `[n]` wrapping already-encoded elements (EXPLICIT tagging).
pub fn explicit(n: u8, parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0xA0 | (n & 0x1F), &concat(parts))
}

/// Context-specific primitive `[n]` with raw content (IMPLICIT tagging of a primitive).
pub fn implicit(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0x80 | (n & 0x1F), content)
}

/// Application constructed `[APPLICATION n]`.
pub fn application(n: u8, parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x60 | (n & 0x1F), &concat(parts))
}

/// INTEGER from big-endian magnitude bytes (leading zeros stripped; a zero byte is prefixed
/// when the high bit is set so the value stays positive).
pub fn integer(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let mut v: Vec<u8> = be.get(skip..).unwrap_or(&[]).to_vec();
    if v.is_empty() {
        v.push(0);
    }
    if v.first().is_some_and(|&b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    tlv(INTEGER, &v)
}

/// INTEGER from an unsigned value.
pub fn integer_u64(n: u64) -> Vec<u8> {
    integer(&n.to_be_bytes())
}

/// INTEGER from a signed value (two's complement, minimal).
pub fn integer_i64(n: i64) -> Vec<u8> {
    let b = n.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (cur, next) = (b[start], b[start + 1]);
        if (cur == 0 && next & 0x80 == 0) || (cur == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(INTEGER, &b[start..])
}

/// ENUMERATED.
pub fn enumerated(n: u8) -> Vec<u8> {
    tlv(ENUMERATED, &[n])
}

/// BOOLEAN.
pub fn boolean(v: bool) -> Vec<u8> {
    tlv(BOOLEAN, &[if v { 0xFF } else { 0 }])
}

/// NULL.
pub fn null() -> Vec<u8> {
    vec![NULL, 0]
}

/// OCTET STRING.
pub fn octets(v: &[u8]) -> Vec<u8> {
    tlv(OCTET_STRING, v)
}

/// BIT STRING with no unused bits.
pub fn bit_string(v: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(v.len() + 1);
    c.push(0);
    c.extend_from_slice(v);
    tlv(BIT_STRING, &c)
}

/// UTF8String.
pub fn utf8(s: &str) -> Vec<u8> {
    tlv(UTF8_STRING, s.as_bytes())
}

/// PrintableString.
pub fn printable(s: &str) -> Vec<u8> {
    tlv(PRINTABLE_STRING, s.as_bytes())
}

/// IA5String.
pub fn ia5(s: &str) -> Vec<u8> {
    tlv(IA5_STRING, s.as_bytes())
}

/// GeneralString (Kerberos).
pub fn general_string(s: &str) -> Vec<u8> {
    tlv(GENERAL_STRING, s.as_bytes())
}

fn base128(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    let n = tmp.len();
    for (k, b) in tmp.iter().enumerate().skip(i) {
        out.push(if k + 1 < n { b | 0x80 } else { *b });
    }
}

/// OBJECT IDENTIFIER from its arcs (fewer than two arcs encode as `0.0`-style padding).
pub fn oid(arcs: &[u64]) -> Vec<u8> {
    let a0 = arcs.first().copied().unwrap_or(0).min(2);
    let a1 = arcs.get(1).copied().unwrap_or(0);
    let mut c = Vec::with_capacity(arcs.len() * 2);
    base128(&mut c, a0 * 40 + a1);
    for &a in arcs.iter().skip(2) {
        base128(&mut c, a);
    }
    tlv(OID, &c)
}

/// UTCTime `YYMMDDHHMMSSZ` (years 1950–2049) for certificate validity.
pub fn utc_time(ts: Timestamp) -> Vec<u8> {
    let (y, m, d, h, mi, s, _) = ts.to_civil();
    let s = format!("{:02}{m:02}{d:02}{h:02}{mi:02}{s:02}Z", y.rem_euclid(100));
    tlv(UTC_TIME, s.as_bytes())
}

/// GeneralizedTime `YYYYMMDDHHMMSSZ`.
pub fn generalized_time(ts: Timestamp) -> Vec<u8> {
    let (y, m, d, h, mi, s, _) = ts.to_civil();
    let s = format!("{y:04}{m:02}{d:02}{h:02}{mi:02}{s:02}Z");
    tlv(GENERALIZED_TIME, s.as_bytes())
}

/// Certificate time: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
pub fn cert_time(ts: Timestamp) -> Vec<u8> {
    let (y, ..) = ts.to_civil();
    if (1950..2050).contains(&y) {
        utc_time(ts)
    } else {
        generalized_time(ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_short_and_long_form() {
        assert_eq!(tlv(4, &[0; 5])[..2], [4, 5]);
        assert_eq!(tlv(4, &[0; 200])[..3], [4, 0x81, 200]);
        assert_eq!(tlv(4, &[0; 300])[..4], [4, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(integer_u64(0), vec![2, 1, 0]);
        assert_eq!(integer_u64(128), vec![2, 2, 0, 0x80]);
        assert_eq!(integer_u64(0x0100), vec![2, 2, 1, 0]);
        assert_eq!(integer_i64(-1), vec![2, 1, 0xFF]);
        assert_eq!(integer_i64(-129), vec![2, 2, 0xFF, 0x7F]);
        assert_eq!(integer_i64(127), vec![2, 1, 0x7F]);
    }

    #[test]
    fn oids_match_known_encodings() {
        // sha256WithRSAEncryption 1.2.840.113549.1.1.11
        assert_eq!(
            oid(&[1, 2, 840, 113_549, 1, 1, 11]),
            vec![0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]
        );
        // subjectAltName 2.5.29.17
        assert_eq!(oid(&[2, 5, 29, 17]), vec![0x06, 0x03, 0x55, 0x1D, 0x11]);
        assert_eq!(oid(&[]), vec![0x06, 0x01, 0x00]);
    }

    #[test]
    fn times_format() {
        let t = Timestamp::from_civil(2026, 11, 2, 9, 0, 0, 0).unwrap();
        assert_eq!(&utc_time(t)[2..], b"261102090000Z");
        assert_eq!(&generalized_time(t)[2..], b"20261102090000Z");
        let far = Timestamp::from_civil(2051, 1, 1, 0, 0, 0, 0).unwrap();
        assert_eq!(cert_time(far)[0], GENERALIZED_TIME);
    }
}
