//! # mamori-notify
//!
//! Alert notifications, modelled on ntopng: **endpoints** are server configurations (SMTP,
//! Slack, Microsoft Teams, generic webhook, syslog forward) and **recipients** are an endpoint
//! plus filters (minimum severity, rule ids / prefixes, ATT&CK tactics, host groups, state),
//! a language (Japanese by default, English fallback), immediate or digest mode and a rate
//! limit whose overflow is summarised.
//!
//! - [`config`]: serde structs (`deny_unknown_fields`), secrets inline / `env:VAR` /
//!   `file:/path`, [`NotifyConfig::validate_and_build`].
//! - [`render`]: email text + HTML, Slack blocks, Teams Adaptive Card, webhook JSON (or a
//!   `{{field}}` template), RFC 5424 syslog with JSON, CEF or ECS payloads.
//! - [`transport`]: blocking SMTP (STARTTLS / TLS / AUTH), HTTP(S) with HMAC-SHA256 signature
//!   and timestamp headers, syslog over UDP / TCP / TLS.
//! - [`Dispatcher`]: routing, rate limits, digests, retries with backoff and jitter, dead
//!   letters, per-endpoint statistics; time is passed in, so it is deterministic.
//! - [`Notifier`]: the dispatcher on a worker thread behind a bounded, non-blocking queue.
//!
//! ```
//! use mamori_core::{Alert, Severity, Timestamp};
//! use mamori_notify::{Dispatcher, NotifyConfig};
//!
//! let cfg = NotifyConfig::from_json(r#"{
//!     "endpoints": [{"kind": "syslog", "id": "siem", "address": "127.0.0.1:9",
//!                    "transport": "udp", "format": "cef"}],
//!     "recipients": [{"id": "soc", "endpoint": "siem", "min_severity": "high",
//!                     "mode": "digest", "digest_minutes": 5}]
//! }"#).unwrap().validate_and_build().unwrap();
//! let mut d = Dispatcher::new(cfg);
//! let t0 = 1_700_000_000_000;
//! let alert = Alert::new("mamori.net.port_scan", "TCP port scan", Severity::High,
//!                        Timestamp::from_unix_secs(1_700_000_000), "10.0.0.5 probed 312 ports");
//! d.handle_alert(&alert, t0);
//! assert_eq!(d.pending_digest_alerts(), 1); // held until the 5-minute window closes
//! assert_eq!(d.next_due(), Some(t0 + 5 * 60_000));
//! ```

pub mod config;
pub mod dispatch;
pub mod filter;
pub mod notifier;
pub mod render;
pub mod template;
pub mod transport;

pub use config::{Config, ConfigError, NotifyConfig};
pub use dispatch::{
    Clock, DeadLetter, Dispatcher, EndpointStats, ManualClock, NotifyError, SystemClock,
};
pub use notifier::Notifier;
pub use render::{Notification, Payload};
pub use transport::DeliveryError;
