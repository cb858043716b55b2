//! Bounded IP fragment reassembly (IPv4 and IPv6).
//!
//! Datagrams are keyed by (source, destination, identification, protocol). Each keeps the
//! payload bytes received so far and the byte ranges covered. Overlapping fragments never
//! overwrite bytes already received (first arrival wins) and are counted as
//! `fragment_overlap`. Limits: datagrams in flight, bytes in flight, fragments per datagram
//! and a timeout in event time; the oldest datagram is evicted first.

use std::collections::HashMap;
use std::net::IpAddr;

use mamori_core::{Counters, Duration, Timestamp};

use super::Skip;

/// Default most datagrams under reassembly at once.
pub const MAX_FRAG_DATAGRAMS: usize = 1024;
/// Default most payload bytes held for reassembly at once.
pub const MAX_FRAG_BYTES: usize = 8 * 1024 * 1024;
/// Default time (event time) after the first fragment when an incomplete datagram is dropped.
pub const FRAG_TIMEOUT: Duration = Duration::from_secs(30);
/// Default most distinct fragments (byte ranges) kept for one datagram.
pub const MAX_FRAGMENTS_PER_DATAGRAM: usize = 128;
/// Largest reassembled payload (IP length fields are 16 bits).
pub const MAX_DATAGRAM_LEN: usize = 65_535;

/// Limits of fragment reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentLimits {
    /// Most datagrams under reassembly at once (at least 1).
    pub max_datagrams: usize,
    /// Most payload bytes held (raised to [`MAX_DATAGRAM_LEN`] if lower).
    pub max_bytes: usize,
    /// Incomplete datagrams older than this (event time) are dropped (`fragment_timeout`).
    pub timeout: Duration,
    /// Most distinct fragments per datagram; more drops it (`fragment_too_many`).
    pub max_fragments: usize,
}

impl Default for FragmentLimits {
    fn default() -> Self {
        FragmentLimits {
            max_datagrams: MAX_FRAG_DATAGRAMS,
            max_bytes: MAX_FRAG_BYTES,
            timeout: FRAG_TIMEOUT,
            max_fragments: MAX_FRAGMENTS_PER_DATAGRAM,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    /// IPv4 protocol; 0 for IPv6 (the next header is taken from the first fragment).
    pub proto: u8,
}

/// What the first fragment (offset 0) says about the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FragInfo {
    pub protocol: u8,
    pub ttl: u8,
    pub header_len: u32,
}

#[derive(Debug)]
struct Entry {
    first_seen: i64,
    data: Vec<u8>,
    /// Sorted, disjoint, non-adjacent covered ranges.
    ranges: Vec<(usize, usize)>,
    total: Option<usize>,
    info: Option<FragInfo>,
}

#[derive(Debug)]
pub(crate) struct FragTable {
    limits: FragmentLimits,
    map: HashMap<FragKey, Entry>,
    bytes: usize,
    oldest: i64,
}

impl Default for FragTable {
    fn default() -> Self {
        FragTable::new(FragmentLimits::default())
    }
}

impl FragTable {
    pub fn new(limits: FragmentLimits) -> FragTable {
        FragTable {
            limits: FragmentLimits {
                max_datagrams: limits.max_datagrams.max(1),
                max_bytes: limits.max_bytes.max(MAX_DATAGRAM_LEN),
                timeout: limits.timeout,
                max_fragments: limits.max_fragments.max(1),
            },
            map: HashMap::new(),
            bytes: 0,
            oldest: i64::MAX,
        }
    }

    pub fn limits(&self) -> FragmentLimits {
        self.limits
    }

    pub fn in_flight(&self) -> usize {
        self.map.len()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn remove(&mut self, key: &FragKey) {
        if let Some(e) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(e.data.len());
        }
    }

    /// Drop datagrams older than the timeout.
    pub fn expire(&mut self, now: Timestamp, counters: &mut Counters) {
        let now = now.unix_nanos();
        let timeout = self.limits.timeout.as_nanos();
        if self.map.is_empty() || now.saturating_sub(self.oldest) <= timeout {
            return;
        }
        let mut dropped = 0u64;
        let mut freed = 0usize;
        let mut oldest = i64::MAX;
        self.map.retain(|_, e| {
            if now.saturating_sub(e.first_seen) > timeout {
                dropped += 1;
                freed += e.data.len();
                false
            } else {
                oldest = oldest.min(e.first_seen);
                true
            }
        });
        self.bytes = self.bytes.saturating_sub(freed);
        self.oldest = oldest;
        counters.add("fragment_timeout", dropped);
    }

    /// Evict the oldest datagram other than `keep`; false when there is none.
    fn evict_oldest(&mut self, keep: &FragKey, counters: &mut Counters) -> bool {
        let victim = self
            .map
            .iter()
            .filter(|(k, _)| *k != keep)
            .min_by_key(|(_, e)| e.first_seen)
            .map(|(k, _)| *k);
        match victim {
            Some(k) => {
                self.remove(&k);
                counters.incr("fragment_evicted");
                true
            }
            None => false,
        }
    }

    /// Add one fragment. On completion the payload is written to `out` and the first
    /// fragment's info returned; `Ok(None)` while incomplete.
    #[allow(clippy::too_many_arguments)] // reason: one call site, all values are per-fragment
    pub fn add(
        &mut self,
        ts: Timestamp,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        info: FragInfo,
        counters: &mut Counters,
        out: &mut Vec<u8>,
    ) -> Result<Option<FragInfo>, Skip> {
        self.expire(ts, counters);
        let now = ts.unix_nanos();
        let end = offset.saturating_add(data.len());
        if end > MAX_DATAGRAM_LEN {
            return Err(Skip::Error("fragment_too_large"));
        }
        if !self.map.contains_key(&key) {
            while self.map.len() >= self.limits.max_datagrams {
                if !self.evict_oldest(&key, counters) {
                    break;
                }
            }
            self.map.insert(
                key,
                Entry {
                    first_seen: now,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    info: None,
                },
            );
            self.oldest = self.oldest.min(now);
        }
        let have = self.map.get(&key).map_or(0, |e| e.data.len());
        let growth = end.saturating_sub(have);
        while self.bytes + growth > self.limits.max_bytes {
            if !self.evict_oldest(&key, counters) {
                break;
            }
        }
        let max_fragments = self.limits.max_fragments;
        let Some(e) = self.map.get_mut(&key) else {
            return Err(Skip::Error("fragment_evicted"));
        };
        if e.ranges.len() >= max_fragments {
            self.remove(&key);
            return Err(Skip::Error("fragment_too_many"));
        }
        // Consistency with a known end of datagram.
        let inconsistent = match e.total {
            Some(t) => end > t || (!more && end != t),
            None => !more && e.ranges.last().is_some_and(|r| r.1 > end),
        };
        if inconsistent {
            self.remove(&key);
            return Err(Skip::Error("fragment_inconsistent"));
        }
        if e.data.len() < end {
            e.data.resize(end, 0);
            self.bytes += growth;
        }
        // Fill only the holes: bytes already received are kept (first arrival wins).
        let mut overlap = false;
        let mut cur = offset;
        let copy = |from: usize, to: usize, dst: &mut Vec<u8>| {
            if let (Some(d), Some(s)) =
                (dst.get_mut(from..to), data.get(from - offset..to - offset))
            {
                d.copy_from_slice(s);
            }
        };
        for &(s, en) in &e.ranges {
            if en <= cur {
                continue;
            }
            if s >= end {
                break;
            }
            overlap = true;
            if s > cur {
                copy(cur, s, &mut e.data);
            }
            cur = cur.max(en);
        }
        if cur < end {
            copy(cur, end, &mut e.data);
        }
        if end > offset {
            e.ranges.push((offset, end));
            e.ranges.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(e.ranges.len());
            for &(s, en) in &e.ranges {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(en),
                    _ => merged.push((s, en)),
                }
            }
            e.ranges = merged;
        }
        if overlap {
            counters.incr("fragment_overlap");
        }
        if !more {
            e.total = Some(end);
        }
        if offset == 0 {
            e.info.get_or_insert(info);
        }
        let complete = match (e.total, e.info) {
            (Some(t), Some(_)) => t == 0 || e.ranges.as_slice() == [(0, t)],
            _ => false,
        };
        if !complete {
            return Ok(None);
        }
        let t = e.total.unwrap_or(0);
        let first = e.info;
        out.clear();
        out.extend_from_slice(e.data.get(..t).unwrap_or(&[]));
        self.remove(&key);
        counters.incr("fragment_reassembled");
        Ok(first)
    }
}
