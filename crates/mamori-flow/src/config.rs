//! Sensor configuration (serde, `deny_unknown_fields`); the field docs are the reference.

use mamori_core::{Duration, HomeNets};
use serde::{Deserialize, Deserializer};

/// Default idle timeout of a TCP flow after FIN or RST.
pub const DEFAULT_TCP_CLOSED_TIMEOUT: Duration = Duration::from_secs(30);
/// Default idle timeout of other TCP flows (established, half-open, midstream).
pub const DEFAULT_TCP_TIMEOUT: Duration = Duration::from_mins(5);
/// Default idle timeout of UDP flows.
pub const DEFAULT_UDP_TIMEOUT: Duration = Duration::from_secs(60);
/// Default idle timeout of ICMP and ICMPv6 flows.
pub const DEFAULT_ICMP_TIMEOUT: Duration = Duration::from_secs(30);
/// Default idle timeout of flows of any other IP protocol.
pub const DEFAULT_OTHER_TIMEOUT: Duration = Duration::from_secs(60);
/// Default active timeout: long flows are exported as a partial record this often.
pub const DEFAULT_ACTIVE_TIMEOUT: Duration = Duration::from_mins(5);
/// Default flow-table capacity.
pub const DEFAULT_MAX_FLOWS: usize = 1_000_000;
/// Default per-direction out-of-order buffer of TCP reassembly.
pub const DEFAULT_REASSEMBLY_OOO_BYTES: usize = 64 * 1024;
/// Default number of stream bytes per flow fed to a dissector before it stops.
pub const DEFAULT_L7_MAX_BYTES: u64 = 1024 * 1024;

/// Configuration of a [`crate::Sensor`]. Durations accept seconds (`30`) or text (`"5m"`).
///
/// ```
/// let cfg: mamori_flow::SensorConfig =
///     serde_json::from_str(r#"{"udp_timeout": "2m", "home_nets": ["10.0.0.0/8"]}"#).unwrap();
/// assert_eq!(cfg.udp_timeout, mamori_core::Duration::from_mins(2));
/// assert_eq!(cfg.max_flows, 1_000_000);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SensorConfig {
    /// Idle timeout of a TCP flow once a FIN or RST was seen (default 30 s); flows ending
    /// this way are exported with `event.reason: tcp_close`.
    #[serde(deserialize_with = "de_duration")]
    pub tcp_closed_timeout: Duration,
    /// Idle timeout of other TCP flows (default 5 min).
    #[serde(deserialize_with = "de_duration")]
    pub tcp_timeout: Duration,
    /// Idle timeout of UDP flows (default 60 s).
    #[serde(deserialize_with = "de_duration")]
    pub udp_timeout: Duration,
    /// Idle timeout of ICMP/ICMPv6 flows (default 30 s).
    #[serde(deserialize_with = "de_duration")]
    pub icmp_timeout: Duration,
    /// Idle timeout of other IP protocols (default 60 s).
    #[serde(deserialize_with = "de_duration")]
    pub other_timeout: Duration,
    /// Active timeout (default 5 min): a flow still active this long after its record
    /// period began is exported as a partial record (`event.type: ["connection"]`,
    /// `mamori.flow.continuing: true`) and its counters restart from zero.
    #[serde(deserialize_with = "de_duration")]
    pub active_timeout: Duration,
    /// Flow-table capacity (default 1,000,000; at least 1). When full, the least recently
    /// active flow is exported with `event.reason: evicted` and counted as `flow_evicted`.
    pub max_flows: usize,
    /// Home networks for `network.direction` (default: RFC 1918, RFC 4193, link-local).
    /// A list of CIDRs or one comma-separated string.
    #[serde(deserialize_with = "de_home_nets")]
    pub home_nets: HomeNets,
    /// Out-of-order bytes buffered per TCP direction before a gap is declared (default 64 KiB).
    pub reassembly_ooo_bytes: usize,
    /// Stream bytes per flow fed to a dissector (default 1 MiB); beyond it the dissector is
    /// stopped and `l7_byte_limit` counted.
    pub l7_max_bytes: u64,
    /// `observer.name` on every record (none by default: the field is omitted). The caller
    /// passes the sensor's name, e.g. the host name; `observer.type` is always `sensor`.
    pub observer_name: Option<String>,
}

impl Default for SensorConfig {
    fn default() -> SensorConfig {
        SensorConfig {
            tcp_closed_timeout: DEFAULT_TCP_CLOSED_TIMEOUT,
            tcp_timeout: DEFAULT_TCP_TIMEOUT,
            udp_timeout: DEFAULT_UDP_TIMEOUT,
            icmp_timeout: DEFAULT_ICMP_TIMEOUT,
            other_timeout: DEFAULT_OTHER_TIMEOUT,
            active_timeout: DEFAULT_ACTIVE_TIMEOUT,
            max_flows: DEFAULT_MAX_FLOWS,
            home_nets: HomeNets::private_defaults(),
            reassembly_ooo_bytes: DEFAULT_REASSEMBLY_OOO_BYTES,
            l7_max_bytes: DEFAULT_L7_MAX_BYTES,
            observer_name: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DurationRepr {
    Secs(u64),
    Text(String),
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    match DurationRepr::deserialize(d)? {
        DurationRepr::Secs(s) => i64::try_from(s)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000_000))
            .map(Duration::from_nanos)
            .ok_or_else(|| serde::de::Error::custom(format!("duration {s} s is too large"))),
        DurationRepr::Text(t) => Duration::parse_human(&t)
            .filter(|d| d.as_nanos() >= 0)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid duration {t:?} (expected e.g. 30, \"30s\", \"5m\")"
                ))
            }),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NetsRepr {
    List(Vec<String>),
    Text(String),
}

fn de_home_nets<'de, D: Deserializer<'de>>(d: D) -> Result<HomeNets, D::Error> {
    let text = match NetsRepr::deserialize(d)? {
        NetsRepr::List(v) => v.join(","),
        NetsRepr::Text(t) => t,
    };
    HomeNets::parse_list(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c: SensorConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c.tcp_timeout, Duration::from_mins(5));
        assert_eq!(c.icmp_timeout, Duration::from_secs(30));
        let c: SensorConfig =
            serde_json::from_str(r#"{"tcp_timeout": 10, "home_nets": "192.0.2.0/24"}"#).unwrap();
        assert_eq!(c.tcp_timeout, Duration::from_secs(10));
        assert!(c.home_nets.contains("192.0.2.7".parse().unwrap()));
        assert!(!c.home_nets.contains("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn rejects_unknown_fields_and_bad_values() {
        assert!(serde_json::from_str::<SensorConfig>(r#"{"tcp_timout": 1}"#).is_err());
        let e = serde_json::from_str::<SensorConfig>(r#"{"udp_timeout": "soon"}"#).unwrap_err();
        assert!(e.to_string().contains("soon"), "{e}");
        let e = serde_json::from_str::<SensorConfig>(r#"{"home_nets": ["nonsense"]}"#).unwrap_err();
        assert!(e.to_string().contains("nonsense"), "{e}");
    }
}
