//! Small helpers shared by the group-a dissectors: byte readers, bounded text, per-direction
//! stream framing with a bounded buffer, and a per-flow record budget.

use std::net::{Ipv4Addr, Ipv6Addr};

use mamori_core::{Counters, Fields, Timestamp};

use crate::app::{Dir, Record};

/// Bytes one direction may buffer while waiting for the rest of a frame.
pub(crate) const MAX_STREAM_BUF: usize = 64 * 1024 + 16;
/// Records a single flow may emit (each protocol may use its own smaller budget).
pub(crate) const MAX_RECORDS_PER_FLOW: usize = 10_000;

pub(crate) fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}
pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}
pub(crate) fn le16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}
pub(crate) fn le32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}
pub(crate) fn ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}
pub(crate) fn ipv6(b: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

/// Lossy UTF-8 of at most `max` bytes, control characters replaced by `.`.
pub(crate) fn bounded_str(b: &[u8], max: usize) -> String {
    let cut = b.get(..max.min(b.len())).unwrap_or(b);
    String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect()
}

/// Decode at most `max_chars` UTF-16LE code units (lossy), trailing NULs dropped.
pub(crate) fn utf16le(b: &[u8], max_chars: usize) -> String {
    let units = b.chunks_exact(2).take(max_chars).map(|c| {
        u16::from_le_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ])
    });
    let s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .map(|c| if c.is_control() && c != '\0' { '.' } else { c })
        .collect();
    s.trim_end_matches('\0').to_owned()
}

/// Lower-case hex of at most `max` bytes.
pub(crate) fn hex(b: &[u8], max: usize) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(max.min(b.len()) * 2);
    for x in b.iter().take(max) {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// `aa:bb:cc:dd:ee:ff` for a 6-byte hardware address.
pub(crate) fn mac(b: &[u8]) -> Option<String> {
    let m = b.get(..6)?;
    Some(
        m.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// What a framing callback found at the start of the bytes it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A frame needs more bytes than are available (and fits the buffer).
    Need,
    /// A frame of this many bytes was handled; when larger than what was available, the
    /// remainder is skipped as it arrives without being buffered.
    Take(usize),
    /// The bytes are not a frame of this protocol; framing stops for this direction.
    Bad,
}

/// Per-direction framing state: a bounded buffer for a partial frame and a skip count for
/// the unbuffered tail of a large frame.
#[derive(Debug, Default)]
pub(crate) struct StreamBuf {
    buf: Vec<u8>,
    skip: usize,
    dead: bool,
}

impl StreamBuf {
    /// Whether framing was lost (bad frame, overflow or gap).
    pub(crate) fn is_dead(&self) -> bool {
        self.dead
    }
    /// Mark framing as lost (after a gap).
    pub(crate) fn kill(&mut self) {
        self.dead = true;
        self.buf = Vec::new();
    }
    /// Feed stream bytes; `f` is called on each frame start. Returns false once framing is
    /// lost. Zero-copy when frames arrive whole.
    pub(crate) fn feed(
        &mut self,
        mut data: &[u8],
        counters: &mut Counters,
        mut f: impl FnMut(&[u8]) -> Frame,
    ) -> bool {
        if self.dead {
            return false;
        }
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = data.get(n..).unwrap_or(&[]);
            if data.is_empty() {
                return true;
            }
        }
        if self.buf.is_empty() {
            let (ok, used) = Self::run(data, &mut self.skip, &mut f);
            if !ok {
                return self.fail(counters, "bad_frame");
            }
            let rest = data.get(used..).unwrap_or(&[]);
            if rest.len() > MAX_STREAM_BUF {
                return self.fail(counters, "stream_buffer_overflow");
            }
            self.buf.extend_from_slice(rest);
            return true;
        }
        if self.buf.len().saturating_add(data.len()) > MAX_STREAM_BUF {
            // Take what fits: a frame may complete within it; the rest is retried below.
            let room = MAX_STREAM_BUF - self.buf.len().min(MAX_STREAM_BUF);
            let (now, later) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(now);
            let buf = std::mem::take(&mut self.buf);
            let (ok, used) = Self::run(&buf, &mut self.skip, &mut f);
            if !ok {
                return self.fail(counters, "bad_frame");
            }
            if used == 0 {
                return self.fail(counters, "stream_buffer_overflow");
            }
            let left = buf.get(used..).unwrap_or(&[]);
            // Re-feed the leftovers and the remainder through the zero-copy path.
            let mut joined = Vec::with_capacity(left.len() + later.len());
            joined.extend_from_slice(left);
            joined.extend_from_slice(later);
            return self.feed(&joined, counters, f);
        }
        self.buf.extend_from_slice(data);
        let buf = std::mem::take(&mut self.buf);
        let (ok, used) = Self::run(&buf, &mut self.skip, &mut f);
        if !ok {
            return self.fail(counters, "bad_frame");
        }
        let mut buf = buf;
        buf.drain(..used.min(buf.len()));
        self.buf = buf;
        true
    }

    fn run(data: &[u8], skip: &mut usize, f: &mut impl FnMut(&[u8]) -> Frame) -> (bool, usize) {
        let mut off = 0usize;
        while off < data.len() {
            let cur = data.get(off..).unwrap_or(&[]);
            match f(cur) {
                Frame::Need => break,
                Frame::Bad => return (false, off),
                Frame::Take(0) => return (false, off),
                Frame::Take(n) if n > cur.len() => {
                    *skip = n - cur.len();
                    return (true, data.len());
                }
                Frame::Take(n) => off += n,
            }
        }
        (true, off)
    }

    fn fail(&mut self, counters: &mut Counters, reason: &str) -> bool {
        counters.incr(reason);
        self.kill();
        false
    }
}

/// Both directions' framing state.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    pub(crate) to_server: StreamBuf,
    pub(crate) to_client: StreamBuf,
}

impl Streams {
    pub(crate) fn get(&mut self, dir: Dir) -> &mut StreamBuf {
        match dir {
            Dir::ToServer => &mut self.to_server,
            Dir::ToClient => &mut self.to_client,
        }
    }
    pub(crate) fn both_dead(&self) -> bool {
        self.to_server.is_dead() && self.to_client.is_dead()
    }
}

/// A per-flow record budget that counts what it drops.
#[derive(Debug, Default)]
pub(crate) struct Emitter {
    emitted: usize,
}

impl Emitter {
    /// Push a record unless the flow already emitted `max`.
    pub(crate) fn emit(
        &mut self,
        out: &mut Vec<Record>,
        counters: &mut Counters,
        max: usize,
        dataset: &'static str,
        ts: Timestamp,
        fields: Fields,
    ) {
        if self.emitted >= max {
            counters.incr("records_over_limit");
            return;
        }
        self.emitted += 1;
        out.push(Record {
            dataset,
            ts,
            fields,
        });
    }
}

/// Insert a field.
macro_rules! set {
    ($f:expr, $k:expr, $v:expr) => {
        $f.insert(
            ::std::borrow::Cow::Borrowed($k),
            ::mamori_core::Value::from($v),
        )
    };
}
pub(crate) use set;

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_of(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, bool) {
        // 1-byte length prefix framing.
        let mut sb = StreamBuf::default();
        let mut c = Counters::new();
        let mut got = Vec::new();
        let mut ok = true;
        for ch in chunks {
            ok = sb.feed(ch, &mut c, |d| match d.first() {
                None => Frame::Need,
                Some(0) => Frame::Bad,
                Some(&n) => {
                    let n = usize::from(n);
                    match d.get(1..n) {
                        Some(b) => {
                            got.push(b.to_vec());
                            Frame::Take(n)
                        }
                        None => Frame::Need,
                    }
                }
            });
        }
        (got, ok)
    }

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let whole: &[u8] = &[3, b'a', b'b', 2, b'c', 4, b'd', b'e', b'f'];
        let (a, _) = frames_of(&[whole]);
        let parts: Vec<&[u8]> = whole.chunks(1).collect();
        let (b, _) = frames_of(&parts);
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn bad_frame_stops_direction() {
        let (got, ok) = frames_of(&[&[2, b'a', 0, 9], &[2, b'b']]);
        assert_eq!(got.len(), 1);
        assert!(!ok);
    }

    #[test]
    fn text_helpers_are_bounded() {
        assert_eq!(bounded_str(b"ab\x01cd", 4), "ab.c");
        assert_eq!(utf16le(&[b'h', 0, b'i', 0, 0, 0], 10), "hi");
        assert_eq!(hex(&[1, 2, 255], 2), "0102");
        assert_eq!(
            mac(&[0, 1, 2, 3, 4, 5]).as_deref(),
            Some("00:01:02:03:04:05")
        );
    }
}
