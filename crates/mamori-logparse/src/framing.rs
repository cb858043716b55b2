//! Syslog stream framing: newline-delimited and RFC 6587 octet counting, auto-detected per
//! connection, streaming (bytes may arrive split anywhere), bounded message size.

use mamori_core::Counters;

/// Largest message kept; longer messages are truncated to this size and flagged.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Longest octet count prefix accepted (digits), per RFC 6587 `MSG-LEN`.
pub const MAX_OCTET_COUNT_DIGITS: usize = 9;

/// Which framing a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Not decided yet (no byte seen).
    Unknown,
    /// LF-terminated (CR before LF and NUL terminators tolerated).
    Newline,
    /// `MSG-LEN SP MSG` (RFC 6587 §3.4.1).
    OctetCounting,
}

/// One framed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message bytes (at most [`MAX_MESSAGE_SIZE`]).
    pub data: Vec<u8>,
    /// Whether the message was longer than the limit and cut.
    pub truncated: bool,
}

/// A streaming framer for one connection.
///
/// ```
/// use mamori_logparse::framing::Framer;
/// let mut f = Framer::new();
/// let frames: Vec<_> = f.push(b"11 <13>hello a").collect();
/// assert_eq!(frames[0].data, b"<13>hello a");
/// ```
#[derive(Debug)]
pub struct Framer {
    framing: Framing,
    max: usize,
    buf: Vec<u8>,
    /// Octet counting: bytes still expected for the current message.
    remaining: Option<usize>,
    /// Bytes of the current message being discarded past the limit.
    discarding: bool,
    truncated_current: bool,
    /// First bytes of the connection while the framing is undecided.
    probe: Vec<u8>,
    /// Frames completed by the last push, drained by the iterator.
    out: Vec<Frame>,
    counters: Counters,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    /// A framer with the default message size limit.
    pub fn new() -> Framer {
        Framer::with_max_size(MAX_MESSAGE_SIZE)
    }
    /// A framer with an explicit message size limit (at least 1 byte).
    pub fn with_max_size(max: usize) -> Framer {
        Framer {
            framing: Framing::Unknown,
            max: max.max(1),
            buf: Vec::new(),
            remaining: None,
            discarding: false,
            truncated_current: false,
            probe: Vec::new(),
            out: Vec::new(),
            counters: Counters::new(),
        }
    }
    /// The framing detected for this connection.
    pub fn framing(&self) -> Framing {
        self.framing
    }
    /// Counters: `oversized` (truncated messages), `bad_octet_count` (non-digit length
    /// prefix; the connection falls back to newline framing).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// Feed bytes; returns the messages completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> std::vec::Drain<'_, Frame> {
        let mut rest = bytes;
        while self.framing == Framing::Unknown {
            let Some((&c, tail)) = rest.split_first() else {
                return self.out.drain(..);
            };
            self.probe.push(c);
            rest = tail;
            if let Some(f) = decide(&self.probe) {
                self.framing = f;
                let probe = std::mem::take(&mut self.probe);
                self.feed(&probe);
            }
        }
        self.feed(rest);
        self.out.drain(..)
    }
    fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            rest = match self.framing {
                Framing::OctetCounting => self.push_counted(rest),
                _ => self.push_newline(rest),
            };
        }
    }

    /// End of stream: returns a last unterminated newline-framed message, if any.
    pub fn finish(&mut self) -> Option<Frame> {
        if self.framing == Framing::Unknown && !self.probe.is_empty() {
            self.framing = Framing::Newline;
            let probe = std::mem::take(&mut self.probe);
            self.feed(&probe);
            if let Some(f) = self.out.pop() {
                return Some(f);
            }
        }
        if self.framing == Framing::OctetCounting && self.remaining.is_some() {
            self.counters.incr("truncated_at_eof");
        }
        if self.buf.is_empty() && !self.truncated_current {
            return None;
        }
        let data = std::mem::take(&mut self.buf);
        let truncated = std::mem::take(&mut self.truncated_current);
        self.discarding = false;
        self.remaining = None;
        if data.iter().all(|b| b.is_ascii_whitespace()) && !truncated {
            return None;
        }
        Some(Frame { data, truncated })
    }

    fn emit(&mut self) {
        let mut data = std::mem::take(&mut self.buf);
        while matches!(data.last(), Some(b'\r' | b'\0')) {
            data.pop();
        }
        let truncated = std::mem::take(&mut self.truncated_current);
        self.discarding = false;
        if data.is_empty() && !truncated {
            return;
        }
        self.out.push(Frame { data, truncated });
    }

    fn append(&mut self, chunk: &[u8]) {
        if self.discarding {
            return;
        }
        let room = self.max.saturating_sub(self.buf.len());
        if chunk.len() > room {
            self.buf.extend_from_slice(&chunk[..room]);
            self.discarding = true;
            self.truncated_current = true;
            self.counters.incr("oversized");
        } else {
            self.buf.extend_from_slice(chunk);
        }
    }

    fn push_newline<'a>(&mut self, rest: &'a [u8]) -> &'a [u8] {
        match memchr::memchr2(b'\n', b'\0', rest) {
            Some(i) => {
                self.append(&rest[..i]);
                self.emit();
                &rest[i + 1..]
            }
            None => {
                self.append(rest);
                &[]
            }
        }
    }

    fn push_counted<'a>(&mut self, mut rest: &'a [u8]) -> &'a [u8] {
        loop {
            match self.remaining {
                None => {
                    // Reading the length prefix into `buf`.
                    let Some((&c, tail)) = rest.split_first() else {
                        return rest;
                    };
                    if c == b' ' && !self.buf.is_empty() {
                        let n = std::str::from_utf8(&self.buf)
                            .ok()
                            .and_then(|s| s.parse::<usize>().ok())
                            .unwrap_or(0);
                        self.buf.clear();
                        self.remaining = Some(n);
                        if n == 0 {
                            self.remaining = None;
                        }
                        rest = tail;
                    } else if c.is_ascii_digit() && self.buf.len() < MAX_OCTET_COUNT_DIGITS {
                        self.buf.push(c);
                        rest = tail;
                    } else if self.buf.is_empty() && matches!(c, b'\n' | b'\r' | b'\0') {
                        // Stray terminators between counted frames are tolerated.
                        rest = tail;
                    } else {
                        // Not a length: fall back to newline framing for the connection and
                        // keep what was read as the start of a message.
                        self.counters.incr("bad_octet_count");
                        self.framing = Framing::Newline;
                        return rest;
                    }
                }
                Some(n) => {
                    let take = n.min(rest.len());
                    let (chunk, tail) = rest.split_at(take);
                    self.append(chunk);
                    let left = n - take;
                    rest = tail;
                    if left == 0 {
                        self.remaining = None;
                        let data = std::mem::take(&mut self.buf);
                        let truncated = std::mem::take(&mut self.truncated_current);
                        self.discarding = false;
                        self.out.push(Frame { data, truncated });
                    } else {
                        self.remaining = Some(left);
                        return rest;
                    }
                }
            }
        }
    }
}

/// Octet counting is `NONZERO-DIGIT *DIGIT SP "<"` (a counted syslog message starts with its
/// PRI); anything else is newline framing. `None` while undecided.
fn decide(probe: &[u8]) -> Option<Framing> {
    let digits = probe.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || probe[0] == b'0' {
        return Some(Framing::Newline);
    }
    if digits == probe.len() {
        return (digits > MAX_OCTET_COUNT_DIGITS).then_some(Framing::Newline);
    }
    if probe[digits] != b' ' {
        return Some(Framing::Newline);
    }
    match probe.get(digits + 1) {
        None => None,
        Some(b'<') => Some(Framing::OctetCounting),
        Some(_) => Some(Framing::Newline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_bytewise(input: &[u8]) -> Vec<Frame> {
        let mut f = Framer::new();
        let mut v = Vec::new();
        for b in input {
            v.extend(f.push(std::slice::from_ref(b)));
        }
        v.extend(f.finish());
        v
    }

    #[test]
    fn octet_counting_byte_by_byte() {
        let v = all_bytewise(b"5 <1>hi3 abc11 <13>x\ny z w");
        let d: Vec<_> = v.iter().map(|f| f.data.clone()).collect();
        assert_eq!(
            d,
            vec![b"<1>hi".to_vec(), b"abc".to_vec(), b"<13>x\ny z w".to_vec()]
        );
    }

    #[test]
    fn newline_byte_by_byte_with_crlf() {
        let v = all_bytewise(b"<13>a b\r\n\n<14>c\nlast");
        let d: Vec<_> = v.iter().map(|f| f.data.clone()).collect();
        assert_eq!(
            d,
            vec![b"<13>a b".to_vec(), b"<14>c".to_vec(), b"last".to_vec()]
        );
    }

    #[test]
    fn oversized_newline_is_truncated_and_counted() {
        let mut f = Framer::with_max_size(8);
        let v: Vec<_> = f.push(b"<1>0123456789abcdef\nok\n").collect();
        assert_eq!(v[0].data, b"<1>01234");
        assert!(v[0].truncated);
        assert_eq!(v[1].data, b"ok");
        assert!(!v[1].truncated);
        assert_eq!(f.counters().get("oversized"), 1);
    }

    #[test]
    fn oversized_counted_frame_keeps_sync() {
        let mut f = Framer::with_max_size(4);
        let v: Vec<_> = f.push(b"10 <123456789").collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].data, b"<123");
        assert!(v[0].truncated);
        let v: Vec<_> = f.push(b"2 ok").collect();
        assert_eq!(v[0].data, b"ok");
    }

    #[test]
    fn digits_without_pri_are_newline_framed() {
        let mut f = Framer::new();
        let v: Vec<_> = f.push(b"12x hello\n").collect();
        assert_eq!(f.framing(), Framing::Newline);
        assert_eq!(v[0].data, b"12x hello");
        let mut f = Framer::new();
        let v: Vec<_> = f
            .push(b"1795395900.1 150 10.0.0.1 TCP_MISS/200\n")
            .collect();
        assert_eq!(f.framing(), Framing::Newline);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn bad_length_mid_stream_falls_back_to_newline() {
        let mut f = Framer::new();
        let v: Vec<_> = f.push(b"4 <1>a12x hello\n").collect();
        assert_eq!(v[0].data, b"<1>a");
        assert_eq!(f.framing(), Framing::Newline);
        assert_eq!(f.counters().get("bad_octet_count"), 1);
        assert_eq!(v[1].data, b"12x hello");
    }
}
