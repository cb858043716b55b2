//! DHCP lease → host name enrichment of alerts that only carry an IP.

use std::net::IpAddr;

use mamori_core::{Alert, Counters, Event, Timestamp, Value};
use rustc_hash::FxHashMap;

/// Most leases remembered; beyond it the oldest eighth is forgotten (`lease_evicted`).
pub const MAX_LEASES: usize = 100_000;
/// Longest host name kept.
pub const MAX_HOSTNAME_LEN: usize = 253;

/// Learns IP → host name from DHCP events and names the terminal on alerts.
///
/// ```
/// use mamori_core::{Alert, Event, Severity, Timestamp};
/// use mamori_detect::rules::Enricher;
///
/// let mut e = Enricher::new();
/// let mut lease = Event::new(Timestamp::from_unix_secs(100), "dhcp");
/// lease.set("client.ip", "192.168.1.23").set("mamori.dhcp.hostname", "PC-SATO");
/// assert!(e.learn(&lease));
/// let mut a = Alert::new("x", "x", Severity::High, Timestamp::from_unix_secs(200), "m");
/// a.source_ip = Some("192.168.1.23".parse().unwrap());
/// assert!(e.enrich(&mut a));
/// assert_eq!(a.host_name.as_deref(), Some("PC-SATO"));
/// ```
#[derive(Debug, Default)]
pub struct Enricher {
    leases: FxHashMap<IpAddr, (String, Timestamp)>,
    counters: Counters,
}

impl Enricher {
    /// Empty.
    pub fn new() -> Enricher {
        Enricher::default()
    }

    /// Learn from a `dhcp` event (`mamori.dhcp.assigned_ip` or `client.ip`, and
    /// `mamori.dhcp.hostname`); `true` when a lease was recorded.
    pub fn learn(&mut self, ev: &Event) -> bool {
        if ev.dataset != "dhcp" {
            return false;
        }
        let ip = ["mamori.dhcp.assigned_ip", "client.ip"]
            .iter()
            .find_map(|f| {
                ev.get_ip(f)
                    .or_else(|| ev.get_str(f).and_then(|s| s.trim().parse().ok()))
            });
        let host = ev.get_str("mamori.dhcp.hostname").map(str::trim);
        let (Some(ip), Some(host)) = (ip, host) else {
            return false;
        };
        if host.is_empty() || host.len() > MAX_HOSTNAME_LEN {
            self.counters.incr("hostname_rejected");
            return false;
        }
        if let Some(old) = self.leases.get(&ip) {
            if old.1 > ev.timestamp {
                self.counters.incr("stale_lease");
                return false;
            }
        }
        if self.leases.len() >= MAX_LEASES && !self.leases.contains_key(&ip) {
            let mut ages: Vec<Timestamp> = self.leases.values().map(|v| v.1).collect();
            let (_, cut, _) = ages.select_nth_unstable(MAX_LEASES / 8);
            let cut = *cut;
            let before = self.leases.len();
            self.leases.retain(|_, v| v.1 > cut);
            self.counters
                .add("lease_evicted", (before - self.leases.len()) as u64);
        }
        self.leases.insert(ip, (host.to_owned(), ev.timestamp));
        true
    }

    /// The host name last leased to `ip`.
    pub fn host_of(&self, ip: IpAddr) -> Option<&str> {
        self.leases.get(&ip).map(|v| v.0.as_str())
    }

    /// Fill `host.name` of an alert that has a source IP but no host name; `true` when filled.
    pub fn enrich(&self, alert: &mut Alert) -> bool {
        if alert.host_name.is_some() {
            return false;
        }
        let Some(ip) = alert.source_ip else {
            return false;
        };
        let Some(h) = self.host_of(ip) else {
            return false;
        };
        alert.host_name = Some(h.to_owned());
        alert
            .fields
            .insert("mamori.enrich.host_name_source".into(), Value::from("dhcp"));
        true
    }

    /// Leases rejected or evicted.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}
