//! A small, bounded BER/DER reader shared by the SNMP, Kerberos and LDAP dissectors.
//!
//! Only definite lengths are accepted (the three protocols never use the indefinite form on
//! the wire), tag numbers are limited to [`MAX_TAG_BYTES`] continuation bytes and lengths to
//! [`MAX_LENGTH_BYTES`] bytes. Nothing recurses: callers walk the structure they expect.
//!
//! ```
//! use mamori_proto::app::ber::{read_tlv, Class};
//!
//! // SEQUENCE { INTEGER 5 }
//! let (tlv, rest) = read_tlv(&[0x30, 0x03, 0x02, 0x01, 0x05]).unwrap();
//! assert_eq!((tlv.class, tlv.constructed, tlv.tag), (Class::Universal, true, 16));
//! assert!(rest.is_empty());
//! let (int, _) = read_tlv(tlv.value).unwrap();
//! assert_eq!(int.as_i64(), Some(5));
//! ```

use thiserror::Error;

/// Most bytes a long-form length may use (4 GiB is far beyond any frame we buffer).
pub const MAX_LENGTH_BYTES: usize = 4;
/// Most continuation bytes of a high tag number.
pub const MAX_TAG_BYTES: usize = 4;
/// Most sub-identifiers rendered from an OBJECT IDENTIFIER.
pub const MAX_OID_ARCS: usize = 64;

/// Universal tag numbers used by the dissectors.
pub mod tag {
    /// BOOLEAN.
    pub const BOOLEAN: u32 = 1;
    /// INTEGER.
    pub const INTEGER: u32 = 2;
    /// BIT STRING.
    pub const BIT_STRING: u32 = 3;
    /// OCTET STRING.
    pub const OCTET_STRING: u32 = 4;
    /// NULL.
    pub const NULL: u32 = 5;
    /// OBJECT IDENTIFIER.
    pub const OID: u32 = 6;
    /// ENUMERATED.
    pub const ENUMERATED: u32 = 10;
    /// SEQUENCE / SEQUENCE OF.
    pub const SEQUENCE: u32 = 16;
    /// SET / SET OF.
    pub const SET: u32 = 17;
    /// GeneralString (Kerberos strings).
    pub const GENERAL_STRING: u32 = 27;
}

/// Tag class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Universal (ASN.1 built-in types).
    Universal,
    /// Application-specific.
    Application,
    /// Context-specific (`[n]`).
    Context,
    /// Private.
    Private,
}

/// Why bytes could not be read as a TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BerError {
    /// Fewer bytes than the header or the announced length need.
    #[error("ber element truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes the element needs (header plus content, when known).
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The indefinite length form (0x80), which these protocols do not use.
    #[error("ber indefinite length at offset {offset}")]
    IndefiniteLength {
        /// Offset of the length byte.
        offset: usize,
    },
    /// A long-form length of more than [`MAX_LENGTH_BYTES`] bytes.
    #[error("ber length of {bytes} bytes exceeds the limit of {MAX_LENGTH_BYTES}")]
    LengthTooLong {
        /// Length-of-length announced.
        bytes: usize,
    },
    /// A high tag number longer than [`MAX_TAG_BYTES`] continuation bytes.
    #[error("ber tag number longer than {MAX_TAG_BYTES} bytes")]
    TagTooLong,
}

/// One element: its tag and its content bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Tag class.
    pub class: Class,
    /// Constructed (contains further elements) or primitive.
    pub constructed: bool,
    /// Tag number.
    pub tag: u32,
    /// Content bytes.
    pub value: &'a [u8],
    /// Bytes of identifier and length octets.
    pub header_len: usize,
}

impl<'a> Tlv<'a> {
    /// Whether this is the universal type `t`.
    pub fn is_universal(&self, t: u32) -> bool {
        self.class == Class::Universal && self.tag == t
    }
    /// Whether this is the context tag `[n]`.
    pub fn is_context(&self, n: u32) -> bool {
        self.class == Class::Context && self.tag == n
    }
    /// The content as a signed integer (INTEGER/ENUMERATED), at most 8 bytes.
    pub fn as_i64(&self) -> Option<i64> {
        int_value(self.value)
    }
    /// Iterate over the elements inside a constructed value.
    pub fn children(&self) -> Iter<'a> {
        Iter { rest: self.value }
    }
    /// For an explicit tag `[n] { inner }`: the single inner element.
    pub fn inner(&self) -> Option<Tlv<'a>> {
        read_tlv(self.value).ok().map(|(t, _)| t)
    }
}

/// Header of an element: `(class, constructed, tag, header length, content length)`.
pub fn read_header(data: &[u8]) -> Result<(Class, bool, u32, usize, usize), BerError> {
    let have = data.len();
    let first = *data.first().ok_or(BerError::Truncated { need: 2, have })?;
    let class = match first >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = first & 0x20 != 0;
    let mut pos = 1usize;
    let mut tag = u32::from(first & 0x1f);
    if tag == 0x1f {
        tag = 0;
        let mut n = 0;
        loop {
            let b = *data.get(pos).ok_or(BerError::Truncated {
                need: pos + 2,
                have,
            })?;
            pos += 1;
            n += 1;
            if n > MAX_TAG_BYTES {
                return Err(BerError::TagTooLong);
            }
            tag = (tag << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let lb = *data.get(pos).ok_or(BerError::Truncated {
        need: pos + 1,
        have,
    })?;
    let len_off = pos;
    pos += 1;
    let len = if lb < 0x80 {
        usize::from(lb)
    } else if lb == 0x80 {
        return Err(BerError::IndefiniteLength { offset: len_off });
    } else {
        let n = usize::from(lb & 0x7f);
        if n > MAX_LENGTH_BYTES {
            return Err(BerError::LengthTooLong { bytes: n });
        }
        let bytes = data.get(pos..pos + n).ok_or(BerError::Truncated {
            need: pos + n,
            have,
        })?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    Ok((class, constructed, tag, pos, len))
}

/// Read one element from the start of `data`; returns it and the bytes after it.
pub fn read_tlv(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), BerError> {
    let (class, constructed, tag, hl, len) = read_header(data)?;
    let end = hl.checked_add(len).ok_or(BerError::Truncated {
        need: usize::MAX,
        have: data.len(),
    })?;
    let value = data.get(hl..end).ok_or(BerError::Truncated {
        need: end,
        have: data.len(),
    })?;
    let rest = data.get(end..).unwrap_or(&[]);
    Ok((
        Tlv {
            class,
            constructed,
            tag,
            value,
            header_len: hl,
        },
        rest,
    ))
}

/// Total encoded size of the element starting `data` (header plus content), if the header
/// is complete; used for stream framing.
pub fn element_len(data: &[u8]) -> Result<usize, BerError> {
    let (_, _, _, hl, len) = read_header(data)?;
    hl.checked_add(len)
        .ok_or(BerError::LengthTooLong { bytes: 8 })
}

/// Iterator over consecutive elements; stops at the first malformed one.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iter<'a> {
    /// Elements of `data`.
    pub fn new(data: &'a [u8]) -> Iter<'a> {
        Iter { rest: data }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Tlv<'a>;
    fn next(&mut self) -> Option<Tlv<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        match read_tlv(self.rest) {
            Ok((t, rest)) => {
                self.rest = rest;
                Some(t)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

/// Two's-complement big-endian integer content (1 to 8 bytes).
pub fn int_value(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    let neg = v.first().is_some_and(|b| b & 0x80 != 0);
    let mut x: i64 = if neg { -1 } else { 0 };
    for b in v {
        x = (x << 8) | i64::from(*b);
    }
    Some(x)
}

/// Dotted text of an OBJECT IDENTIFIER, at most [`MAX_OID_ARCS`] arcs.
pub fn oid_string(v: &[u8]) -> Option<String> {
    use std::fmt::Write;
    if v.is_empty() {
        return None;
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    for (i, b) in v.iter().enumerate() {
        if cur > (u64::MAX >> 7) {
            return None;
        }
        cur = (cur << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = if cur < 40 {
                    0
                } else if cur < 80 {
                    1
                } else {
                    2
                };
                arcs.push(first);
                arcs.push(cur - first * 40);
            } else {
                arcs.push(cur);
            }
            cur = 0;
            if arcs.len() >= MAX_OID_ARCS {
                break;
            }
        } else if i + 1 == v.len() {
            return None;
        }
    }
    let mut s = String::new();
    for (i, a) in arcs.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        let _ = write!(s, "{a}");
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_long_form_lengths_and_high_tags() {
        let mut d = vec![0x04, 0x81, 0x80];
        d.extend(std::iter::repeat_n(7u8, 0x80));
        let (t, rest) = read_tlv(&d).unwrap();
        assert_eq!(t.value.len(), 0x80);
        assert!(rest.is_empty());
        let (t, _) = read_tlv(&[0x9f, 0x81, 0x01, 0x00]).unwrap();
        assert_eq!((t.class, t.tag), (Class::Context, 129));
    }

    #[test]
    fn rejects_indefinite_oversized_and_truncated() {
        assert!(matches!(
            read_tlv(&[0x30, 0x80, 0, 0]),
            Err(BerError::IndefiniteLength { offset: 1 })
        ));
        assert!(matches!(
            read_tlv(&[0x30, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
            Err(BerError::LengthTooLong { bytes: 9 })
        ));
        assert!(matches!(
            read_tlv(&[0x30, 0x05, 1]),
            Err(BerError::Truncated { need: 7, have: 3 })
        ));
        assert!(read_tlv(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
        assert!(read_tlv(&[]).is_err());
    }

    #[test]
    fn integers_and_oids() {
        assert_eq!(int_value(&[0xff]), Some(-1));
        assert_eq!(int_value(&[0x00, 0x80]), Some(128));
        assert_eq!(int_value(&[]), None);
        assert_eq!(
            oid_string(&[0x2b, 6, 1, 2, 1, 1, 1, 0]).as_deref(),
            Some("1.3.6.1.2.1.1.1.0")
        );
        assert_eq!(oid_string(&[0x2b, 0x86]), None);
    }
}
