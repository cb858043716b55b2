//! Per-direction TCP stream reassembly: in-order delivery, bounded out-of-order buffering,
//! retransmission/overlap trimming and explicit gaps.
//!
//! Policy: data behind the next expected sequence number is trimmed (retransmission); data
//! ahead is buffered while it fits in the byte and segment limits. When it does not fit, the
//! stream declares a gap up to the earliest data it holds (or the new segment), delivers what
//! is then contiguous and continues — memory stays bounded and the dissector learns exactly
//! how many bytes it missed. Segments more than [`MAX_SEQ_WINDOW`] away from the expected
//! sequence number in either direction are out of any plausible window and are dropped.

/// Most segments buffered out of order per direction (bounds per-segment overhead).
pub const MAX_OOO_SEGMENTS: usize = 128;
/// Largest plausible distance between a segment and the expected sequence number.
pub const MAX_SEQ_WINDOW: u32 = 1 << 30;

/// Stream events delivered to the consumer in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// In-order bytes.
    Data(&'a [u8]),
    /// This many bytes are missing before the next data.
    Gap(usize),
}

/// Reassembly counters (plain integers: updated on the hot path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Segments whose data was already delivered, fully or in part (`tcp_retransmit`).
    pub retransmit: u64,
    /// Gaps declared (`tcp_gap`).
    pub gaps: u64,
    /// Bytes skipped by gaps (`tcp_gap_bytes`).
    pub gap_bytes: u64,
    /// Segments dropped as out of window (`tcp_ooo_dropped`).
    pub ooo_dropped: u64,
}

/// One direction of a TCP stream.
#[derive(Debug, Default)]
pub struct Stream {
    next: u32,
    init: bool,
    segs: Vec<(u32, Vec<u8>)>,
    buffered: usize,
}

fn rel(seq: u32, next: u32) -> i64 {
    // Signed distance in sequence space, in (-2^31, 2^31].
    i64::from(seq.wrapping_sub(next) as i32)
}

impl Stream {
    /// A stream whose first byte will have sequence number `isn + 1` (SYN seen).
    pub fn with_isn(isn: u32) -> Stream {
        Stream {
            next: isn.wrapping_add(1),
            init: true,
            ..Stream::default()
        }
    }

    /// Bytes currently buffered out of order.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Add a segment with sequence number `seq`; deliver what became contiguous.
    pub fn push(
        &mut self,
        seq: u32,
        data: &[u8],
        limit: usize,
        st: &mut ReassemblyStats,
        f: &mut impl FnMut(Chunk<'_>),
    ) {
        if data.is_empty() {
            return;
        }
        if !self.init {
            self.next = seq;
            self.init = true;
        }
        loop {
            let off = rel(seq, self.next);
            if off.unsigned_abs() > u64::from(MAX_SEQ_WINDOW) {
                st.ooo_dropped += 1;
                return;
            }
            if off <= 0 {
                let skip = usize::try_from(off.unsigned_abs()).unwrap_or(usize::MAX);
                if skip > 0 {
                    st.retransmit += 1;
                }
                let Some(fresh) = data.get(skip..).filter(|d| !d.is_empty()) else {
                    return;
                };
                self.advance(fresh.len());
                f(Chunk::Data(fresh));
                self.drain(st, f);
                return;
            }
            // Ahead of the expected sequence number.
            if self.segs.len() < MAX_OOO_SEGMENTS && self.buffered + data.len() <= limit {
                self.insert(seq, data, st);
                return;
            }
            // Limit reached: skip to the earliest data we hold (or this segment).
            let first = self
                .segs
                .first()
                .map_or(off, |(s, _)| rel(*s, self.next).min(off));
            self.gap(first, st, f);
            self.drain(st, f);
        }
    }

    /// End of the flow: deliver everything buffered, with gaps where data is missing.
    pub fn flush(&mut self, st: &mut ReassemblyStats, f: &mut impl FnMut(Chunk<'_>)) {
        while let Some((s, _)) = self.segs.first() {
            let off = rel(*s, self.next);
            if off > 0 {
                self.gap(off, st, f);
            }
            self.drain(st, f);
        }
    }

    /// Drop all buffered data (the consumer lost interest).
    pub fn clear(&mut self) {
        self.segs = Vec::new();
        self.buffered = 0;
    }

    fn advance(&mut self, n: usize) {
        // Sequence space is modulo 2^32: truncation is the arithmetic we want.
        self.next = self.next.wrapping_add(n as u32);
    }

    fn gap(&mut self, len: i64, st: &mut ReassemblyStats, f: &mut impl FnMut(Chunk<'_>)) {
        let len = u64::try_from(len).unwrap_or(0);
        if len == 0 {
            return;
        }
        st.gaps += 1;
        st.gap_bytes += len;
        self.advance(usize::try_from(len).unwrap_or(usize::MAX));
        f(Chunk::Gap(usize::try_from(len).unwrap_or(usize::MAX)));
    }

    fn insert(&mut self, seq: u32, data: &[u8], st: &mut ReassemblyStats) {
        let off = rel(seq, self.next);
        let pos = self.segs.partition_point(|(s, _)| rel(*s, self.next) < off);
        if let Some((s, d)) = self.segs.get_mut(pos) {
            if *s == seq {
                // Same start: keep the longer copy.
                st.retransmit += 1;
                if data.len() > d.len() {
                    self.buffered = self.buffered.saturating_sub(d.len()) + data.len();
                    d.clear();
                    d.extend_from_slice(data);
                }
                return;
            }
        }
        self.buffered += data.len();
        self.segs.insert(pos, (seq, data.to_vec()));
    }

    fn drain(&mut self, st: &mut ReassemblyStats, f: &mut impl FnMut(Chunk<'_>)) {
        while let Some((s, _)) = self.segs.first() {
            let off = rel(*s, self.next);
            if off > 0 {
                return;
            }
            let (_, d) = self.segs.remove(0);
            self.buffered = self.buffered.saturating_sub(d.len());
            let skip = usize::try_from(off.unsigned_abs()).unwrap_or(usize::MAX);
            match d.get(skip..).filter(|x| !x.is_empty()) {
                Some(fresh) => {
                    if skip > 0 {
                        st.retransmit += 1;
                    }
                    self.advance(fresh.len());
                    f(Chunk::Data(fresh));
                }
                None => st.retransmit += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        stream: &mut Stream,
        segs: &[(u32, &[u8])],
        limit: usize,
    ) -> (Vec<u8>, Vec<usize>, ReassemblyStats) {
        let mut out = Vec::new();
        let mut gaps = Vec::new();
        let mut st = ReassemblyStats::default();
        for (seq, d) in segs {
            stream.push(*seq, d, limit, &mut st, &mut |c| match c {
                Chunk::Data(x) => out.extend_from_slice(x),
                Chunk::Gap(n) => gaps.push(n),
            });
        }
        (out, gaps, st)
    }

    #[test]
    fn in_order_and_out_of_order() {
        let mut s = Stream::with_isn(999);
        let (out, gaps, st) = run(
            &mut s,
            &[(1000, b"abc"), (1006, b"ghi"), (1003, b"def"), (1009, b"j")],
            1024,
        );
        assert_eq!(out, b"abcdefghij");
        assert!(gaps.is_empty());
        assert_eq!(st.retransmit, 0);
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn retransmission_and_overlap_are_trimmed() {
        let mut s = Stream::with_isn(0);
        let (out, _, st) = run(
            &mut s,
            &[(1, b"hello"), (1, b"hello"), (4, b"lo world"), (6, b" wor")],
            1024,
        );
        assert_eq!(out, b"hello world");
        assert_eq!(st.retransmit, 3);
    }

    #[test]
    fn gap_declared_when_buffer_limit_hit() {
        let mut s = Stream::with_isn(0);
        // Bytes 1..=4 never arrive; the buffer holds 8 bytes at most.
        let (out, gaps, st) = run(&mut s, &[(5, b"EFGH"), (9, b"IJKL"), (13, b"MNOP")], 8);
        assert_eq!(gaps, vec![4]);
        assert_eq!(out, b"EFGHIJKLMNOP");
        assert_eq!(st.gaps, 1);
        assert_eq!(st.gap_bytes, 4);
    }

    #[test]
    fn flush_reports_gaps_and_delivers_rest() {
        let mut s = Stream::with_isn(0);
        let (out, _, _) = run(&mut s, &[(1, b"ab"), (10, b"xy")], 1024);
        assert_eq!(out, b"ab");
        let mut out = Vec::new();
        let mut gaps = Vec::new();
        let mut st = ReassemblyStats::default();
        s.flush(&mut st, &mut |c| match c {
            Chunk::Data(x) => out.extend_from_slice(x),
            Chunk::Gap(n) => gaps.push(n),
        });
        assert_eq!(gaps, vec![7]);
        assert_eq!(out, b"xy");
    }

    #[test]
    fn sequence_wraparound() {
        let mut s = Stream::with_isn(u32::MAX - 2);
        let (out, gaps, _) = run(&mut s, &[(u32::MAX - 1, b"ab"), (0, b"cd")], 64);
        assert_eq!(out, b"abcd");
        assert!(gaps.is_empty());
    }

    #[test]
    fn far_away_segment_dropped() {
        let mut s = Stream::with_isn(0);
        let (out, _, st) = run(&mut s, &[(1, b"a"), (0x8000_0000, b"zz")], 64);
        assert_eq!(out, b"a");
        assert_eq!(st.ooo_dropped, 1);
    }

    #[test]
    fn segment_larger_than_limit_still_delivered_after_gap() {
        let mut s = Stream::with_isn(0);
        let big = vec![7u8; 100];
        let (out, gaps, _) = run(&mut s, &[(11, &big)], 16);
        assert_eq!(gaps, vec![10]);
        assert_eq!(out.len(), 100);
    }
}
