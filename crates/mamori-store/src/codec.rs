//! Compact binary encoding of one [`Event`] (the WAL payload).
//!
//! Stable, versioned and self-contained (no serde format crate whose wire format could change
//! between versions). Layout, all integers little-endian:
//!
//! ```text
//! u8  version (= 1)
//! i64 @timestamp (ns)
//! u8  event.kind (0 event, 1 alert, 2 state, 3 metric)
//! str event.dataset            (str = u32 length + UTF-8 bytes)
//! u32 field count, then per field: str name, value
//! value = u8 tag + body: 0 bool(u8) 1 int(i64) 2 float(f64 bits) 3 str 4 ipv4([4]) 5 ipv6([16])
//!         6 time(i64 ns) 7 list(u32 count + values)
//! ```
//!
//! Decoding never panics and bounds list nesting by [`MAX_DEPTH`].

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mamori_core::{Event, EventKind, Timestamp, Value};

/// Format version written in the first byte.
pub const CODEC_VERSION: u8 = 1;
/// Deepest list nesting accepted when decoding.
pub const MAX_DEPTH: usize = 16;

/// Append the encoding of `ev` to `out`.
pub fn encode_event(ev: &Event, out: &mut Vec<u8>) {
    out.push(CODEC_VERSION);
    out.extend_from_slice(&ev.timestamp.unix_nanos().to_le_bytes());
    out.push(match ev.kind {
        EventKind::Event => 0,
        EventKind::Alert => 1,
        EventKind::State => 2,
        EventKind::Metric => 3,
    });
    put_str(out, &ev.dataset);
    put_u32(out, ev.fields.len());
    for (k, v) in &ev.fields {
        put_str(out, k);
        put_value(out, v);
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Bool(b) => {
            out.push(0);
            out.push(u8::from(*b));
        }
        Value::Int(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(2);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            out.push(3);
            put_str(out, s);
        }
        Value::Ip(IpAddr::V4(a)) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        Value::Ip(IpAddr::V6(a)) => {
            out.push(5);
            out.extend_from_slice(&a.octets());
        }
        Value::Time(t) => {
            out.push(6);
            out.extend_from_slice(&t.unix_nanos().to_le_bytes());
        }
        Value::List(items) => {
            out.push(7);
            put_u32(out, items.len());
            for x in items {
                put_value(out, x);
            }
        }
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload ended early.
    #[error("payload truncated at byte {0}")]
    Truncated(usize),
    /// Unknown version byte.
    #[error("unknown codec version {0}")]
    Version(u8),
    /// Unknown kind or value tag.
    #[error("unknown tag {tag} at byte {at}")]
    Tag {
        /// The tag.
        tag: u8,
        /// Offset.
        at: usize,
    },
    /// Text was not UTF-8.
    #[error("invalid utf-8 at byte {0}")]
    Utf8(usize),
    /// Lists nested deeper than [`MAX_DEPTH`].
    #[error("list nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// Bytes left after the event.
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(DecodeError::Truncated(self.pos))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.arr::<1>()?[0])
    }
    fn u32(&mut self) -> Result<usize, DecodeError> {
        Ok(u32::from_le_bytes(self.arr()?) as usize)
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.u32()?;
        let at = self.pos;
        let b = self.take(n)?;
        std::str::from_utf8(b).map_err(|_| DecodeError::Utf8(at))
    }
    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let at = self.pos;
        Ok(match self.u8()? {
            0 => Value::Bool(self.u8()? != 0),
            1 => Value::Int(self.i64()?),
            2 => Value::Float(f64::from_bits(u64::from_le_bytes(self.arr()?))),
            3 => Value::Str(self.str()?.to_owned()),
            4 => Value::Ip(IpAddr::V4(Ipv4Addr::from(self.arr::<4>()?))),
            5 => Value::Ip(IpAddr::V6(Ipv6Addr::from(self.arr::<16>()?))),
            6 => Value::Time(Timestamp::from_unix_nanos(self.i64()?)),
            7 => {
                if depth >= MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
                let n = self.u32()?;
                // Each value takes at least 2 bytes: never reserve more than the input allows.
                let mut items =
                    Vec::with_capacity(n.min(self.buf.len().saturating_sub(self.pos) / 2));
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::List(items)
            }
            tag => return Err(DecodeError::Tag { tag, at }),
        })
    }
}

/// Decode one event encoded by [`encode_event`].
pub fn decode_event(buf: &[u8]) -> Result<Event, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let v = r.u8()?;
    if v != CODEC_VERSION {
        return Err(DecodeError::Version(v));
    }
    let ts = Timestamp::from_unix_nanos(r.i64()?);
    let at = r.pos;
    let kind = match r.u8()? {
        0 => EventKind::Event,
        1 => EventKind::Alert,
        2 => EventKind::State,
        3 => EventKind::Metric,
        tag => return Err(DecodeError::Tag { tag, at }),
    };
    let dataset = r.str()?.to_owned();
    let mut ev = Event::new(ts, dataset).with_kind(kind);
    let n = r.u32()?;
    for _ in 0..n {
        let k = r.str()?.to_owned();
        let v = r.value(0)?;
        ev.fields.insert(Cow::Owned(k), v);
    }
    if r.pos != buf.len() {
        return Err(DecodeError::Trailing(buf.len() - r.pos));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_value_type() {
        let mut e = Event::new(Timestamp::from_unix_parts(1_700_000_000, 123), "flow")
            .with_kind(EventKind::Alert);
        e.set("b", true)
            .set("i", -42i64)
            .set("f", 1.5f64)
            .set("s", "テキスト")
            .set("v4", Ipv4Addr::new(10, 1, 2, 3))
            .set("v6", "2001:db8::1".parse::<Ipv6Addr>().unwrap())
            .set("t", Timestamp::from_unix_secs(-5))
            .set(
                "l",
                Value::List(vec![
                    Value::Int(1),
                    Value::List(vec![Value::Str("x".into())]),
                ]),
            );
        let mut buf = Vec::new();
        encode_event(&e, &mut buf);
        assert_eq!(decode_event(&buf).unwrap(), e);
        // Every strict prefix is rejected, never panics.
        for cut in 0..buf.len() {
            assert!(decode_event(&buf[..cut]).is_err(), "prefix {cut} accepted");
        }
        buf.push(0);
        assert_eq!(decode_event(&buf), Err(DecodeError::Trailing(1)));
    }

    #[test]
    fn rejects_garbage_and_deep_nesting() {
        assert_eq!(decode_event(&[9]), Err(DecodeError::Version(9)));
        let mut buf = vec![CODEC_VERSION];
        buf.extend_from_slice(&0i64.to_le_bytes());
        buf.push(0);
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&1u32.to_le_bytes());
        buf.extend_from_slice(&1u32.to_le_bytes());
        buf.push(b'k');
        for _ in 0..100 {
            buf.push(7);
            buf.extend_from_slice(&1u32.to_le_bytes());
        }
        assert_eq!(decode_event(&buf), Err(DecodeError::TooDeep));
        // A huge declared list count with no data fails without allocating it.
        let mut b2 = buf[..buf.len() - 500].to_vec();
        b2.push(7);
        b2.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_event(&b2).is_err());
    }
}
