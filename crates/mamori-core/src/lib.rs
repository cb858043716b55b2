//! # mamori-core
//!
//! The vocabulary every other mamori crate speaks: [`Event`] (a timestamp, a kind, a dataset
//! and ECS fields by dotted name), [`Alert`] with [`Severity`], ATT&CK techniques and
//! compliance controls, event time ([`Timestamp`], [`Duration`]), home networks for
//! `network.direction`, and named [`Counters`] for input that could not be used.
//!
//! No I/O, no async, no wall clock.
//!
//! ```
//! use mamori_core::{Event, Timestamp};
//!
//! let mut ev = Event::new(Timestamp::from_unix_secs(1_700_000_000), "dns");
//! ev.set("dns.question.name", "example.jp").set("destination.port", 53);
//! let json = ev.to_json();
//! assert_eq!(json["dns"]["question"]["name"], "example.jp");
//! assert_eq!(json["event"]["dataset"], "dns");
//! ```

pub mod alert;
pub mod attack;
pub mod compliance;
pub mod counters;
pub mod event;
pub mod net;
pub mod schema;
pub mod time;

pub use alert::{Alert, AlertState, Ruleset, Severity};
pub use counters::{Counter, Counters};
pub use event::{Event, EventKind, FieldName, Fields, Value};
pub use net::{Direction, HomeNets};
pub use time::{Duration, Timestamp};
