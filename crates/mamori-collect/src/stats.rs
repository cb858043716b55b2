//! Per-listener counters and last-seen times per source (for the "silent source" check).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use mamori_core::{Counters, Timestamp};

/// Sources whose last-seen time is remembered per listener; beyond it the stalest is evicted
/// (counted as `last_seen_evicted`).
pub const MAX_TRACKED_SOURCES: usize = 10_000;

/// A snapshot of one listener's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// Listener name.
    pub name: String,
    /// Kind: `syslog_udp`, `syslog_tcp`, `syslog_tls`, `netflow`, `file`.
    pub kind: &'static str,
    /// Local address the listener is bound to (none for files).
    pub local_addr: Option<SocketAddr>,
    /// Named counters: `received`, `bytes`, `connections`, `udp_dropped_queue_full`,
    /// `udp_socket_drops` (from `/proc/net/udp`), `tls_handshake_failed`, `oversized`, …
    pub counters: Counters,
    /// Last time each source (peer IP; `None` for files) delivered a message.
    pub last_seen: BTreeMap<String, Timestamp>,
}

#[derive(Debug, Default)]
struct Inner {
    counters: Counters,
    last_seen: HashMap<Option<IpAddr>, Timestamp>,
}

/// Shared, cheaply clonable statistics of one listener.
#[derive(Debug, Clone)]
pub(crate) struct StatsHandle {
    pub(crate) name: Arc<str>,
    pub(crate) kind: &'static str,
    pub(crate) local_addr: Option<SocketAddr>,
    inner: Arc<Mutex<Inner>>,
}

impl StatsHandle {
    pub(crate) fn new(name: Arc<str>, kind: &'static str, local_addr: Option<SocketAddr>) -> Self {
        StatsHandle {
            name,
            kind,
            local_addr,
            inner: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another task panicked mid-update of plain counters.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count one received message of `len` bytes from `peer` at `now`.
    pub(crate) fn received(&self, peer: Option<IpAddr>, len: usize, now: Timestamp) {
        self.received_batch(peer, 1, len, now);
    }

    /// Count `n` messages totalling `len` bytes from `peer` at `now` (one lock per batch).
    pub(crate) fn received_batch(&self, peer: Option<IpAddr>, n: u64, len: usize, now: Timestamp) {
        if n == 0 {
            return;
        }
        let mut g = self.lock();
        g.counters.add("received", n);
        g.counters.add("bytes", len as u64);
        if !g.last_seen.contains_key(&peer) && g.last_seen.len() >= MAX_TRACKED_SOURCES {
            let stalest = g.last_seen.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k);
            if let Some(k) = stalest {
                g.last_seen.remove(&k);
                g.counters.incr("last_seen_evicted");
            }
        }
        g.last_seen.insert(peer, now);
    }

    pub(crate) fn incr(&self, name: &str) {
        self.lock().counters.incr(name);
    }

    pub(crate) fn incr_with_sample(&self, name: &str, sample: impl FnOnce() -> String) {
        self.lock().counters.incr_with_sample(name, sample);
    }

    pub(crate) fn merge(&self, c: &Counters) {
        if !c.is_empty() {
            self.lock().counters.merge(c);
        }
    }

    pub(crate) fn snapshot(&self) -> ListenerStats {
        let g = self.lock();
        ListenerStats {
            name: self.name.to_string(),
            kind: self.kind,
            local_addr: self.local_addr,
            counters: g.counters.clone(),
            last_seen: g
                .last_seen
                .iter()
                .map(|(k, v)| (k.map_or_else(|| "-".to_owned(), |ip| ip.to_string()), *v))
                .collect(),
        }
    }
}

/// Receive-queue drops of the UDP socket bound to `local`, from the text of
/// `/proc/net/udp` or `/proc/net/udp6` (last column, `drops`). `None` when no line matches.
pub fn parse_proc_net_udp_drops(text: &str, local: SocketAddr) -> Option<u64> {
    let want_port = format!("{:04X}", local.port());
    let want_ip = match local.ip() {
        IpAddr::V4(v4) => format!("{:08X}", u32::from_le_bytes(v4.octets())),
        IpAddr::V6(v6) => v6
            .octets()
            .chunks(4)
            .map(|c| {
                let w = [
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                    c.get(2).copied().unwrap_or(0),
                    c.get(3).copied().unwrap_or(0),
                ];
                format!("{:08X}", u32::from_le_bytes(w))
            })
            .collect(),
    };
    for line in text.lines().skip(1) {
        let mut cols = line.split_whitespace();
        let Some(local_col) = cols.nth(1) else {
            continue;
        };
        let Some((ip, port)) = local_col.split_once(':') else {
            continue;
        };
        if !port.eq_ignore_ascii_case(&want_port) || !ip.eq_ignore_ascii_case(&want_ip) {
            continue;
        }
        return line.split_whitespace().last()?.parse().ok();
    }
    None
}

/// Read the socket drop counter for a UDP socket bound to `local` (Linux; `None` elsewhere).
pub(crate) fn udp_socket_drops(local: SocketAddr) -> Option<u64> {
    let file = if local.is_ipv4() {
        "/proc/net/udp"
    } else {
        "/proc/net/udp6"
    };
    let text = std::fs::read_to_string(file).ok()?;
    parse_proc_net_udp_drops(&text, local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_udp_drops_column() {
        let text = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  123: 0100007F:1582 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17\n\
  124: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 0\n";
        let a: SocketAddr = "127.0.0.1:5506".parse().unwrap();
        assert_eq!(parse_proc_net_udp_drops(text, a), Some(17));
        let b: SocketAddr = "0.0.0.0:53".parse().unwrap();
        assert_eq!(parse_proc_net_udp_drops(text, b), Some(0));
        let c: SocketAddr = "127.0.0.1:53".parse().unwrap();
        assert_eq!(parse_proc_net_udp_drops(text, c), None);
        assert_eq!(parse_proc_net_udp_drops("garbage\n:::\n", a), None);
    }

    #[test]
    fn last_seen_is_bounded() {
        let s = StatsHandle::new("t".into(), "syslog_udp", None);
        for i in 0..(MAX_TRACKED_SOURCES + 5) {
            let ip = IpAddr::from([10, 0, (i >> 8) as u8, i as u8]);
            s.received(Some(ip), 3, Timestamp::from_unix_secs(i as i64));
        }
        let snap = s.snapshot();
        assert_eq!(snap.last_seen.len(), MAX_TRACKED_SOURCES);
        assert_eq!(snap.counters.get("last_seen_evicted"), 5);
        assert_eq!(
            snap.counters.get("received"),
            (MAX_TRACKED_SOURCES + 5) as u64
        );
    }
}
