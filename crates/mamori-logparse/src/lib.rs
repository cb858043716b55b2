//! # mamori-logparse
//!
//! Pure log parsers (no sockets, no threads, no clock): syslog stream framing
//! ([`framing::Framer`]), RFC 5424 / lenient RFC 3164 headers ([`syslog`]), per-product
//! parsers ([`parsers`]: sshd, sudo, PAM, firewalls, Squid, DNS, DHCP, mail, VPN, FTP, web
//! servers, Suricata, Zeek, CEF/LEEF, generic JSON, ClamAV, Windows), EVTX records, time
//! zones and clock skew ([`time`]), and file format detection ([`format`]).
//!
//! [`LogParser::parse_line`] turns one line into one ECS [`mamori_core::Event`]: it always
//! returns an event. A line no parser understands is kept as a raw `syslog` event with
//! `event.outcome: unknown`; a line a parser recognised but could not finish carries
//! `error.message` and `mamori.parse_error` and is counted per source and parser.
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_logparse::{LineContext, LogParser, LogParserConfig};
//!
//! let mut p = LogParser::new(LogParserConfig::default()).unwrap();
//! let ctx = LineContext {
//!     received: Timestamp::from_civil(2026, 11, 23, 1, 0, 5, 0).unwrap(),
//!     source: "udp:192.0.2.1",
//!     source_ip: None,
//!     hint: None,
//! };
//! let ev = p.parse_line(
//!     b"<38>Nov 23 10:00:01 gw sshd[4242]: Accepted publickey for alice from 192.0.2.10 port 50022 ssh2",
//!     &ctx,
//! );
//! assert_eq!(ev.dataset, "sshd");
//! assert_eq!(ev.get_str("user.name"), Some("alice"));
//! assert_eq!(ev.get_str("mamori.auth.method"), Some("publickey"));
//! // "10:00:01" without a zone is read in Asia/Tokyo (UTC+9).
//! assert_eq!(ev.timestamp, Timestamp::from_civil(2026, 11, 23, 1, 0, 1, 0).unwrap());
//! assert_eq!(ev.get_i64("mamori.log.clock_skew_ms"), Some(4000));
//! ```

pub mod dispatch;
pub mod format;
pub mod framing;
pub mod parsers;
pub mod syslog;
pub mod text;
pub mod time;

pub use dispatch::{
    Catalog, ConfigError, Explanation, LineContext, LineStatus, LogParser, LogParserConfig,
};
pub use format::{detect_format, hint_for_file_name, FileFormat};
pub use framing::{Frame, Framer, Framing, MAX_MESSAGE_SIZE};
#[cfg(feature = "evtx")]
pub use parsers::windows::{for_each_evtx_event, EvtxReadError, EvtxStats};
pub use parsers::ParserInfo;
pub use time::{SkewStats, SkewTracker, Zone, DEFAULT_ZONE};
