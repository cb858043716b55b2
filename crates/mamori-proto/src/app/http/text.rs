//! Small shared helpers for the text and fingerprinting dissectors of this group: a bounded
//! line splitter for CRLF protocols, base64 decoding, hex encoding and bounded string copies.

use mamori_core::Counters;

/// Longest line kept by [`LineBuf`]; longer lines are skipped up to their end and counted.
pub(crate) const MAX_LINE: usize = 8 * 1024;

/// Bounded splitter of a byte stream into lines (LF or CRLF terminated).
#[derive(Debug, Default)]
pub(crate) struct LineBuf {
    buf: Vec<u8>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
}

impl LineBuf {
    /// Feed bytes; `f` is called with every complete line (terminator stripped).
    /// Lines over [`MAX_LINE`] are dropped and counted as `line_too_long`.
    pub(crate) fn feed(
        &mut self,
        mut data: &[u8],
        counters: &mut Counters,
        mut f: impl FnMut(&[u8]) -> bool,
    ) {
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let (head, rest) = data.split_at(i);
                    data = rest.get(1..).unwrap_or(&[]);
                    if self.skipping {
                        self.skipping = false;
                        self.buf.clear();
                        continue;
                    }
                    let keep_going = if self.buf.is_empty() {
                        f(strip_cr(head))
                    } else {
                        if self.buf.len() + head.len() > MAX_LINE {
                            counters.incr("line_too_long");
                            self.buf.clear();
                            continue;
                        }
                        self.buf.extend_from_slice(head);
                        let line = std::mem::take(&mut self.buf);
                        let r = f(strip_cr(&line));
                        self.buf = line;
                        self.buf.clear();
                        r
                    };
                    if !keep_going {
                        return;
                    }
                }
                None => {
                    if !self.skipping {
                        if self.buf.len() + data.len() > MAX_LINE {
                            counters.incr("line_too_long");
                            self.buf.clear();
                            self.skipping = true;
                        } else {
                            self.buf.extend_from_slice(data);
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Bytes of an incomplete line held.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Lossy UTF-8 copy of at most `max` bytes (cut on a character boundary), control
/// characters replaced by `?` so log lines stay single-line.
pub(crate) fn bounded_str(b: &[u8], max: usize) -> String {
    let b = b.get(..max.min(b.len())).unwrap_or(b);
    let s = String::from_utf8_lossy(b);
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Trim ASCII spaces and tabs on both ends.
pub(crate) fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t'))
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or(&[])
}

/// Split at the first space: (word, rest with leading spaces trimmed).
pub(crate) fn split_word(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == b' ') {
        Some(i) => (
            b.get(..i).unwrap_or(&[]),
            trim(b.get(i + 1..).unwrap_or(&[])),
        ),
        None => (b, &[]),
    }
}

/// ASCII case-insensitive prefix test.
pub(crate) fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b.iter().zip(prefix).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// ASCII case-insensitive substring test.
pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Decode standard or URL-safe base64 (padding optional, whitespace ignored). `None` on a
/// character outside the alphabet. Output is bounded by the input length.
pub(crate) fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Lowercase hex.
pub(crate) fn hex_lower(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(H[usize::from(x >> 4)]));
        s.push(char::from(H[usize::from(x & 15)]));
    }
    s
}

/// Uppercase hex.
pub(crate) fn hex_upper(b: &[u8]) -> String {
    hex_lower(b).to_ascii_uppercase()
}

/// Parse an unsigned decimal (at most 19 digits).
pub(crate) fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u64, |a, &d| {
        a.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Push `v` to a bounded list field held as a `Vec`; counts `limit_name` when full.
pub(crate) fn push_bounded(
    list: &mut Vec<String>,
    v: String,
    max: usize,
    counters: &mut Counters,
    limit_name: &str,
) {
    if list.len() >= max {
        counters.incr(limit_name);
    } else if !list.contains(&v) {
        list.push(v);
    }
}

/// A list of strings as a field value.
pub(crate) fn str_list(list: &[String]) -> mamori_core::Value {
    mamori_core::Value::List(
        list.iter()
            .map(|s| mamori_core::Value::Str(s.clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere() {
        let mut c = Counters::new();
        let mut lb = LineBuf::default();
        let mut got = Vec::new();
        for b in b"ab\r\ncd\nef".iter() {
            lb.feed(std::slice::from_ref(b), &mut c, |l| {
                got.push(l.to_vec());
                true
            });
        }
        assert_eq!(got, vec![b"ab".to_vec(), b"cd".to_vec()]);
        assert_eq!(lb.pending(), b"ef");
    }

    #[test]
    fn long_line_is_skipped_and_counted() {
        let mut c = Counters::new();
        let mut lb = LineBuf::default();
        let mut got = Vec::new();
        let long = vec![b'x'; MAX_LINE + 10];
        lb.feed(&long, &mut c, |l| {
            got.push(l.to_vec());
            true
        });
        lb.feed(b"tail\nok\n", &mut c, |l| {
            got.push(l.to_vec());
            true
        });
        assert_eq!(got, vec![b"ok".to_vec()]);
        assert_eq!(c.get("line_too_long"), 1);
    }

    #[test]
    fn base64_roundtrip_known() {
        assert_eq!(
            base64_decode(b"dXNlcjpwYXNz").as_deref(),
            Some(&b"user:pass"[..])
        );
        assert_eq!(base64_decode(b"YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode(b"!!"), None);
    }
}
