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
//!   `mamori.icmp.type`, `event.start`/`event.end`, `event.reason`.
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
pub mod util;

pub use catalogue::{catalogue, check_info, CheckId, CheckInfo, Family, Threshold};
pub use config::{ConfigError, DetectConfig};
pub use engine::{CheckCounters, Engine, HostScore};
pub use intel::{Intel, IntelError, IntelMatch, IntelReport, IntelSource, ListFormat};
