//! # mamori-detect
//!
//! Detection engine: built-in network checks, threat-intelligence matching, exclusions and
//! the alert lifecycle. Pure and synchronous, driven by event time: the same events in the
//! same order give the same alerts in the same order.
//!
//! - [`catalogue()`] lists every check (id, English/Japanese name and description, default
//!   severity, ATT&CK techniques, compliance controls, thresholds).
//! - [`DetectConfig`] is the TOML config (`deny_unknown_fields`); [`Engine::new`] validates it.
//! - [`Intel`] loads indicator lists (plain, Maltrail, IPsum, CSV) from files and folders.
//! - [`Engine::process`] feeds flow and protocol records; [`Engine::advance`] moves event time
//!   (alerts whose condition ended turn *past*, host scores per minute close and
//!   `mamori.net.dangerous_host` fires); [`Engine::finish`] ends everything.
//!
//! ## Alert lifecycle
//! Hits are deduplicated per (check, entity key). The first hit appends an alert in state
//! `engaged` to the output; further hits update count, last seen and the message (the
//! latest numbers). When no hit came for the check's window (one-shot checks: 5 min) the alert
//! is appended again in state `past` with its final count. `mamori.alert.key` identifies the
//! pair of records.
//!
//! ## Authorised scanners
//! A scan-family hit (`port_scan`, `host_sweep`, `tcp_flag_scan`, `udp_scan`, `icmp_sweep`,
//! `unanswered_scan`, `conn_refused_burst`) from an authorised scanner inside its time
//! window is not raised; it is counted as `suppressed` and recorded as a low-severity
//! `mamori.net.authorized_scan` alert carrying the suppressed rule id and message. Those
//! alerts add nothing to the host score.
//!
//! ## Host score
//! Every alert adds its weight (low 10, medium 30, high 100, critical 200) once per minute to
//! its source (attacker) and destination (victim). Closed minutes are available from
//! [`Engine::drain_host_scores`]; a host at or above `host_score_threshold` (default 300)
//! in a minute raises `mamori.net.dangerous_host`.
//!
//! ## Windows and state
//! Windowed checks count per entity key in tumbling windows that start at the key's first
//! event and restart once `window_secs` has passed. Scan checks (`port_scan`, `host_sweep`,
//! `unanswered_scan`) start a key only at its first failed attempt, so ordinary traffic
//! creates no scan state. Every table has a named limit (`engine::MAX_TRACKED_KEYS`,
//! `engine::MAX_DISTINCT_PER_KEY`, `engine::MAX_DISTINCT_PER_CHECK`,
//! `engine::MAX_OPEN_ALERTS`, all listed in [`limits`]); hitting one is counted in
//! [`Engine::stats`] (`<check>.state_full`, `<check>.distinct_budget`, `alert_evicted`,
//! `beacon_state_full`, `lateral_learning_full`, …) and never grows memory further.
//! Per-check `evaluated`/`fired`/`suppressed`/`excluded` counts come from
//! [`Engine::all_check_counters`] (for `mamori checks status`).
//!
//! ## Exclusions
//! `[checks.<id>.exclude]` takes `sources`, `destinations`, `hosts` (either end), `pairs`
//! (`[["src", "dst"]]`), each an IP or CIDR, `domains` (exact, or `*.example.jp` for every
//! subdomain; matched against the alert's domain or the DNS name / SNI / HTTP host of the
//! record that raised it) and destination `ports`.
//!
//! ## Heuristics worth knowing
//! - DGA: the registered label (left of the public suffix; `co.jp`-style second levels
//!   honoured) scores one point each for entropy ≥ 3.5 bits (≥ 10 chars), length ≥ 16, a run
//!   of ≥ 5 consonants, digits mixed inside letters, and vowels under 20 %; `min_score` (3)
//!   points make a name DGA-like, `min_names` (5) distinct ones from a client fire.
//! - DNS tunnelling: per client and registered domain (no public suffix list; see
//!   `util::registered_domain`), unique names or long/high-entropy labels; `*.arpa` ignored.
//! - Remote access: RDP (3389 or protocol `rdp`) and VNC (5900–5902, `vnc`/`rfb`) only when
//!   inbound; AnyDesk (TCP 7070, protocol `anydesk`, SNI under `anydesk.com`) and TeamViewer
//!   (TCP 5938, protocol `teamviewer`, SNI under `teamviewer.com`) in any direction.
//! - Flow fields read: `mamori.flow.state`, `mamori.flow.source_tcp_flags` or
//!   `mamori.flow.tcp_flags` (client part), `mamori.flow.source_payload_bytes` /
//!   `destination_payload_bytes`, `mamori.flow.icmp_error`, `mamori.flow.nonstandard_port`,
//!   `mamori.icmp.type`, `event.start`/`event.end`, `event.reason` (`active_timeout` or
//!   `mamori.flow.continuing: true` marks a partial record that the next one continues).
//! - Beaconing follows answered TCP/UDP flows except DNS, NTP, NetBIOS, mDNS, LLMNR, SSDP
//!   and DHCP; the interval mean must lie between `min_interval_secs` and
//!   `max_interval_secs` (default 1 h) and its standard deviation stay under
//!   `max_jitter_pct` of the mean.
//!
//! ```
//! use mamori_core::{Event, Timestamp};
//! use mamori_detect::{DetectConfig, Engine, Intel, ListFormat};
//!
//! let cfg = DetectConfig::from_toml_str(
//!     "[checks.port_scan]\nthresholds = { min_ports = 20 }\n",
//!     "mamori.toml",
//! ).unwrap();
//! let mut intel = Intel::empty();
//! intel.add_text("inline", "demo", "203.0.113.7\n", &ListFormat::Auto);
//! intel.finish();
//! let mut engine = Engine::new(cfg, intel).unwrap();
//!
//! let mut alerts = Vec::new();
//! for port in 1..=30u16 {
//!     let mut ev = Event::new(Timestamp::from_unix_secs(1_700_000_000 + i64::from(port)), "flow");
//!     ev.set("source.ip", "10.0.0.5").set("destination.ip", "10.0.0.9")
//!       .set("source.port", 40000).set("destination.port", port)
//!       .set("network.transport", "tcp").set("mamori.flow.state", "rejected");
//!     engine.process(&ev, &mut alerts);
//! }
//! assert_eq!(alerts[0].rule_id, "mamori.net.port_scan");
//! assert!(alerts[0].message.starts_with("10.0.0.5 probed 20 TCP ports on 10.0.0.9"));
//! engine.finish(&mut alerts);
//! assert!(alerts.iter().any(|a| a.state == mamori_core::AlertState::Past));
//! ```

pub mod catalogue;
mod checks;
pub mod config;
pub mod engine;
pub mod intel;
/// SEM-style threshold/absence/rate log rules, built-in log checks, lint and test helpers.
pub mod rules;
pub mod util;

/// Every named limit in one place.
pub mod limits {
    pub use crate::checks::dns::MAX_NAME_LEN;
    pub use crate::checks::{
        BEACON_HISTORY, CONTINUATION_GAP_SECS, MAX_BEACON_PAIRS, MAX_DHCP_SERVERS,
        MAX_LEARNED_PAIRS, MAX_LONG_LIVED,
    };
    pub use crate::config::MAX_LIST_ENTRIES;
    pub use crate::engine::{
        MAX_DISTINCT_PER_CHECK, MAX_DISTINCT_PER_KEY, MAX_OPEN_ALERTS, MAX_SCORED_HOSTS,
        MAX_TRACKED_KEYS, PURGE_INTERVAL,
    };
    pub use crate::intel::{
        MAX_FILES_PER_DIR, MAX_FILE_BYTES, MAX_INDICATORS, MAX_LINE_LEN, MAX_REJECT_SAMPLES,
    };
}

pub use catalogue::{catalogue, check_info, CheckId, CheckInfo, Family, Threshold};
pub use config::{ConfigError, DetectConfig};
pub use engine::{CheckCounters, Engine, HostScore};
pub use intel::{Intel, IntelError, IntelMatch, IntelReport, IntelSource, ListFormat};
