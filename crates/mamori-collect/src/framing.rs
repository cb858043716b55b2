//! Syslog-over-TCP framing (RFC 6587): non-transparent (newline) and octet counting.
//!
//! The framing is detected once per connection from its first frame: a frame that starts with
//! a digit `1`-`9` followed by up to [`MAX_LEN_DIGITS`] digits and a space is octet counted
//! (`MSG-LEN SP SYSLOG-MSG`); anything else (normally `<PRI>`) is newline framed. An octet
//! count that turns out to be malformed later on the same connection is counted as
//! `framing_error` and the bytes up to the next newline are delivered as one frame, so nothing
//! is dropped silently and the stream resynchronises.
//!
//! Frames longer than the maximum message size are cut to that size and flagged
//! `truncated`; the rest of the frame is skipped (counted as `oversized`).
//!
//! ```
//! use mamori_collect::framing::Framer;
//!
//! let mut f = Framer::new(1024);
//! f.feed(b"15 <13>hello w");
//! assert!(f.next_frame().is_none());
//! f.feed(b"orld10 <13>second");
//! assert_eq!(f.next_frame().unwrap().bytes, b"<13>hello world");
//! assert_eq!(f.next_frame().unwrap().bytes, b"<13>second");
//! ```

use mamori_core::Counters;

/// Digits accepted in an octet count (RFC 6587 MSG-LEN; 10 digits would exceed any sane size).
pub const MAX_LEN_DIGITS: usize = 9;

/// How a connection frames its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Each message ends with LF (CR LF accepted; the CR is removed).
    Newline,
    /// Each message is preceded by its length in ASCII digits and a space.
    OctetCounting,
}

/// One framed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message bytes, without framing.
    pub bytes: Vec<u8>,
    /// The message was longer than the maximum size and was cut.
    pub truncated: bool,
}

/// Incremental framer for one TCP connection. Pure: no I/O, bounded memory.
#[derive(Debug)]
pub struct Framer {
    max_len: usize,
    mode: Option<Framing>,
    buf: Vec<u8>,
    /// Start of the unframed bytes in `buf` (compacted on the next feed, not per frame).
    start: usize,
    /// Bytes still to skip from an oversized octet-counted frame.
    skip_bytes: usize,
    /// Skipping the rest of an oversized newline frame up to the next LF.
    skip_to_newline: bool,
    /// Per-reason counters (`oversized`, `framing_error`, `incomplete_frame_at_close`).
    pub counters: Counters,
}

enum Header {
    /// Need more bytes to decide.
    Incomplete,
    /// Octet count and header length.
    Count(usize, usize),
    /// Not an octet-count header.
    Invalid,
}

fn parse_header(buf: &[u8]) -> Header {
    let mut len = 0usize;
    for (i, &c) in buf.iter().enumerate() {
        match c {
            b'0'..=b'9' if i < MAX_LEN_DIGITS => {
                if i == 0 && c == b'0' {
                    return Header::Invalid;
                }
                len = len * 10 + usize::from(c - b'0');
            }
            b' ' if i > 0 => return Header::Count(len, i + 1),
            _ => return Header::Invalid,
        }
    }
    Header::Incomplete
}

impl Framer {
    /// A framer that cuts messages at `max_len` bytes (at least 1).
    pub fn new(max_len: usize) -> Self {
        Framer {
            max_len: max_len.max(1),
            mode: None,
            buf: Vec::new(),
            start: 0,
            skip_bytes: 0,
            skip_to_newline: false,
            counters: Counters::new(),
        }
    }

    /// The framing detected on this connection, once known.
    pub fn framing(&self) -> Option<Framing> {
        self.mode
    }

    /// Append received bytes. Bytes that belong to the skipped tail of an oversized frame are
    /// discarded immediately, so the buffer stays bounded by the maximum message size plus one
    /// read.
    pub fn feed(&mut self, mut data: &[u8]) {
        if self.skip_bytes > 0 {
            let n = self.skip_bytes.min(data.len());
            self.skip_bytes -= n;
            data = data.get(n..).unwrap_or_default();
        }
        if self.skip_to_newline {
            match data.iter().position(|&c| c == b'\n') {
                Some(p) => {
                    self.skip_to_newline = false;
                    data = data.get(p + 1..).unwrap_or_default();
                }
                None => return,
            }
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    fn rest(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.buf.len());
        if self.start == self.buf.len() {
            self.clear_buf();
        }
    }

    fn clear_buf(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.skip_to_newline {
            match self.rest().iter().position(|&c| c == b'\n') {
                Some(p) => {
                    self.consume(p + 1);
                    self.skip_to_newline = false;
                }
                None => {
                    self.clear_buf();
                    return None;
                }
            }
        }
        if self.skip_bytes > 0 {
            let n = self.skip_bytes.min(self.rest().len());
            self.consume(n);
            self.skip_bytes -= n;
            if self.skip_bytes > 0 {
                return None;
            }
        }
        // Blank separators between frames (some senders add LF after octet frames).
        let lead = self
            .rest()
            .iter()
            .take_while(|&&c| c == b'\n' || c == b'\r')
            .count();
        if lead > 0 {
            self.consume(lead);
        }
        if self.rest().is_empty() {
            return None;
        }
        let mode = match self.mode {
            Some(m) => m,
            None => match parse_header(self.rest()) {
                Header::Incomplete => return None,
                Header::Count(..) => *self.mode.insert(Framing::OctetCounting),
                Header::Invalid => *self.mode.insert(Framing::Newline),
            },
        };
        match mode {
            Framing::Newline => self.newline_frame(),
            Framing::OctetCounting => match parse_header(self.rest()) {
                Header::Incomplete => None,
                Header::Count(len, hdr) => self.counted_frame(len, hdr),
                Header::Invalid => {
                    let rest = self.buf.get(self.start..).unwrap_or_default();
                    self.counters.incr_with_sample("framing_error", || {
                        let head: Vec<u8> = rest.iter().take(32).copied().collect();
                        format!(
                            "expected an octet count, got {:?}",
                            String::from_utf8_lossy(&head)
                        )
                    });
                    self.newline_frame()
                }
            },
        }
    }

    fn newline_frame(&mut self) -> Option<Frame> {
        match self.rest().iter().position(|&c| c == b'\n') {
            Some(p) if p <= self.max_len => {
                let mut bytes: Vec<u8> = self.rest().get(..p).unwrap_or_default().to_vec();
                self.consume(p + 1);
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                Some(Frame {
                    bytes,
                    truncated: false,
                })
            }
            Some(p) => {
                let bytes: Vec<u8> = self.rest().get(..self.max_len)?.to_vec();
                self.consume(p + 1);
                self.counters.incr("oversized");
                Some(Frame {
                    bytes,
                    truncated: true,
                })
            }
            None if self.rest().len() > self.max_len => {
                let bytes: Vec<u8> = self.rest().get(..self.max_len)?.to_vec();
                self.clear_buf();
                self.skip_to_newline = true;
                self.counters.incr("oversized");
                Some(Frame {
                    bytes,
                    truncated: true,
                })
            }
            None => None,
        }
    }

    fn counted_frame(&mut self, len: usize, hdr: usize) -> Option<Frame> {
        if len > self.max_len {
            let have = self.rest().len().saturating_sub(hdr);
            if have < self.max_len {
                return None;
            }
            let bytes = self.rest().get(hdr..hdr + self.max_len)?.to_vec();
            let consumed_body = have.min(len);
            self.consume(hdr + consumed_body);
            self.skip_bytes = len - consumed_body;
            self.counters.incr("oversized");
            return Some(Frame {
                bytes,
                truncated: true,
            });
        }
        let end = hdr.checked_add(len)?;
        if self.rest().len() < end {
            return None;
        }
        let bytes = self.rest().get(hdr..end)?.to_vec();
        self.consume(end);
        Some(Frame {
            bytes,
            truncated: false,
        })
    }

    /// At connection close: the unterminated rest, if any. A newline-framed message without
    /// its final LF is delivered as is; an incomplete octet-counted frame is delivered with
    /// `truncated` set and counted as `incomplete_frame_at_close`.
    pub fn finish(&mut self) -> Option<Frame> {
        let rest = self.rest().to_vec();
        self.clear_buf();
        if self.skip_to_newline || self.skip_bytes > 0 {
            return None;
        }
        let trimmed: &[u8] = {
            let start = rest
                .iter()
                .position(|&c| c != b'\n' && c != b'\r')
                .unwrap_or(rest.len());
            rest.get(start..).unwrap_or_default()
        };
        if trimmed.is_empty() {
            return None;
        }
        match (self.mode, parse_header(trimmed)) {
            (Some(Framing::OctetCounting), Header::Count(_, hdr)) => {
                self.counters.incr("incomplete_frame_at_close");
                Some(Frame {
                    bytes: trimmed.get(hdr..).unwrap_or_default().to_vec(),
                    truncated: true,
                })
            }
            _ => {
                let mut bytes = trimmed.to_vec();
                bytes.truncate(self.max_len);
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                Some(Frame {
                    truncated: trimmed.len() > self.max_len,
                    bytes,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer) -> Vec<Frame> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    #[test]
    fn newline_frames_with_crlf_and_blank_lines() {
        let mut f = Framer::new(100);
        f.feed(b"<13>one\r\n\n<13>two\n<13>thr");
        let got = all(&mut f);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].bytes, b"<13>one");
        assert_eq!(got[1].bytes, b"<13>two");
        assert_eq!(f.framing(), Some(Framing::Newline));
        assert_eq!(f.finish().unwrap().bytes, b"<13>thr");
    }

    #[test]
    fn octet_counting_split_everywhere() {
        let stream = b"5 <1>ab12 <13>message!\n3 xyz";
        for split in 0..stream.len() {
            let mut f = Framer::new(100);
            let mut got = Vec::new();
            f.feed(&stream[..split]);
            got.extend(all(&mut f));
            f.feed(&stream[split..]);
            got.extend(all(&mut f));
            let texts: Vec<&[u8]> = got.iter().map(|g| g.bytes.as_slice()).collect();
            assert_eq!(
                texts,
                vec![&b"<1>ab"[..], b"<13>message!", b"xyz"],
                "split {split}"
            );
        }
    }

    #[test]
    fn byte_by_byte_newline() {
        let mut f = Framer::new(100);
        let mut got = Vec::new();
        for b in b"<1>a\n<2>bb\n" {
            f.feed(&[*b]);
            got.extend(all(&mut f));
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].bytes, b"<2>bb");
    }

    #[test]
    fn oversized_newline_is_truncated_and_rest_skipped() {
        let mut f = Framer::new(8);
        f.feed(b"<1>0123456789");
        let a = f.next_frame().unwrap();
        assert_eq!(a.bytes, b"<1>01234");
        assert!(a.truncated);
        f.feed(b"abcdef\n<1>ok\n");
        let b = f.next_frame().unwrap();
        assert_eq!(b.bytes, b"<1>ok");
        assert!(!b.truncated);
        assert_eq!(f.counters.get("oversized"), 1);
    }

    #[test]
    fn oversized_octet_frame_is_truncated_and_skipped() {
        let mut f = Framer::new(4);
        f.feed(b"10 abcdef");
        let a = f.next_frame().unwrap();
        assert_eq!(a.bytes, b"abcd");
        assert!(a.truncated);
        assert!(f.next_frame().is_none());
        f.feed(b"ghij2 ok");
        assert_eq!(f.next_frame().unwrap().bytes, b"ok");
        assert_eq!(f.counters.get("oversized"), 1);
    }

    #[test]
    fn bad_count_resyncs_on_newline() {
        let mut f = Framer::new(100);
        f.feed(b"2 ok");
        assert_eq!(f.next_frame().unwrap().bytes, b"ok");
        f.feed(b"garbage line\n3 abc");
        assert_eq!(f.next_frame().unwrap().bytes, b"garbage line");
        assert_eq!(f.next_frame().unwrap().bytes, b"abc");
        assert_eq!(f.counters.get("framing_error"), 1);
    }

    #[test]
    fn digits_without_space_are_newline_framed() {
        let mut f = Framer::new(100);
        f.feed(b"12345x\n");
        assert_eq!(f.next_frame().unwrap().bytes, b"12345x");
        assert_eq!(f.framing(), Some(Framing::Newline));
        let mut g = Framer::new(100);
        g.feed(b"0 zero\n");
        assert_eq!(g.next_frame().unwrap().bytes, b"0 zero");
    }

    #[test]
    fn incomplete_counted_frame_at_close_is_flagged() {
        let mut f = Framer::new(100);
        f.feed(b"10 abc");
        assert!(f.next_frame().is_none());
        let r = f.finish().unwrap();
        assert_eq!(r.bytes, b"abc");
        assert!(r.truncated);
        assert_eq!(f.counters.get("incomplete_frame_at_close"), 1);
    }

    #[test]
    fn binary_garbage_never_panics_and_stays_bounded() {
        let mut f = Framer::new(64);
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            f.feed(&[(x >> 16) as u8]);
            while f.next_frame().is_some() {}
            assert!(f.buffered() <= 64 + MAX_LEN_DIGITS + 2);
        }
        let _ = f.finish();
    }
}
