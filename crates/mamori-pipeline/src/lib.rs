//! # mamori-pipeline
//!
//! The synchronous building blocks every way of running mamori shares — `mamori analyze`
//! (offline files), `ingest` (files into the store), `collect` (listeners) and `serve` (the
//! daemon): one configuration file ([`config::MamoriConfig`]), input files with format
//! detection and decompression ([`files`]), rule files split by format ([`rulefiles`]) and
//! every detector behind one call ([`detection::Detection`]). Nothing here is async and
//! nothing reads the wall clock: time comes from the events, so the same inputs give the
//! same alerts whether they come from a file or from the wire.
//!
//! ```
//! use mamori_core::{Event, EventKind, Timestamp};
//! use mamori_pipeline::{config::MamoriConfig, detection::Detection};
//!
//! let cfg = MamoriConfig::parse("[rules]\ntrap_accounts = [\"backup-admin\"]\n", "mamori.toml")?;
//! let mut detection = Detection::new(cfg.detect, &cfg.rules, &[], &[])?;
//!
//! // A logon attempt with a decoy account is an alert from the built-in log rules.
//! let mut ev = Event::new(Timestamp::from_unix_secs(1_700_000_000), "sshd");
//! ev.set("event.category", "authentication")
//!     .set("event.outcome", "failure")
//!     .set("user.name", "backup-admin")
//!     .set("source.ip", std::net::Ipv4Addr::new(10, 0, 0, 5));
//! let mut alerts = Vec::new();
//! detection.process(&ev, &mut alerts);
//! detection.finish(&mut alerts);
//! assert!(alerts.iter().any(|a| a.kind == EventKind::Alert));
//! # Ok::<(), mamori_pipeline::PipelineError>(())
//! ```

pub mod config;
pub mod detection;
pub mod error;
pub mod files;
pub mod rulefiles;

pub use error::{PipelineError, Result, SinkError};
