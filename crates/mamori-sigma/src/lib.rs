//! # mamori-sigma
//!
//! Sigma rules (detection, filters and correlation) loaded as SigmaHQ publishes them,
//! compiled once (lowercased needles, regexes only where wildcards need them) and evaluated
//! over mamori events.
//!
//! - [`RuleSet::load_dir`] / [`RuleSet::load_str`] load rules and return a [`LoadReport`]
//!   (per document: loaded, error with line and reason, or unsupported log source).
//! - [`RuleSet::matches`] returns the rules an event matches; candidates are picked by
//!   dataset, Windows channel and EventID first, so an event meets only a few rules.
//! - Field names and log sources are mapped to mamori's ECS events by data files
//!   (`mappings/*.yml`); Windows EventData stays reachable as `winlog.event_data.<Name>`.
//! - [`Correlator`] evaluates correlation rules (event-time driven, bounded state).
//! - [`RuleSet::to_alert`] and [`RuleSet::correlation_alert`] build [`mamori_core::Alert`]s.
//!
//! ```
//! use mamori_core::{Event, Timestamp};
//! use mamori_sigma::RuleSet;
//!
//! let yaml = r#"
//! title: Whoami Execution
//! id: 11111111-2222-4333-8444-555555555555
//! level: high
//! tags: [attack.discovery, attack.t1033]
//! logsource: {product: windows, category: process_creation}
//! detection:
//!   selection:
//!     Image|endswith: '\whoami.exe'
//!   condition: selection
//! "#;
//! let (rules, report) = RuleSet::load_str(yaml, "example.yml");
//! assert_eq!(report.loaded(), 1);
//!
//! let mut ev = Event::new(Timestamp::from_unix_secs(1_700_000_000), "windows.sysmon");
//! ev.set("event.code", "1")
//!     .set("winlog.channel", "Microsoft-Windows-Sysmon/Operational")
//!     .set("winlog.event_data.Image", "C:\\Windows\\System32\\WHOAMI.EXE");
//! let hits: Vec<_> = rules.matches(&ev).collect();
//! assert_eq!(hits.len(), 1);
//! let alert = rules.to_alert(hits[0], &ev);
//! assert_eq!(alert.techniques, vec!["T1033"]);
//! assert!(alert.message.contains("Whoami Execution"));
//! ```

pub mod condition;
pub mod correlation;
pub mod detection;
pub mod document;
pub mod error;
pub mod mapping;
pub mod pattern;
mod prefilter;
pub mod rule;
pub mod ruleset;

pub use correlation::{Correlation, CorrelationHit, CorrelationType, Correlator, Limits};
pub use document::{Document, FieldValue};
pub use error::RuleError;
pub use mapping::Mappings;
pub use rule::{LogSource, Rule};
pub use ruleset::{FileReport, LoadOptions, LoadReport, Outcome, RuleSet, RuleSetBuilder};

use mamori_core::{Event, Timestamp};

/// The engine interface the rest of mamori uses, so the Sigma implementation can be
/// replaced without touching callers.
pub trait RuleEngine {
    /// Indices of the rules that match the event.
    fn matching_rules(&self, event: &Event) -> Vec<usize>;
    /// Alerts for one event: rule matches (those that generate alerts) and correlation
    /// hits, with correlation state kept in `correlator`.
    fn alerts(&self, correlator: &mut Correlator, event: &Event) -> Vec<mamori_core::Alert>;
}

impl RuleEngine for RuleSet {
    fn matching_rules(&self, event: &Event) -> Vec<usize> {
        self.matches(event).map(Rule::index).collect()
    }

    fn alerts(&self, correlator: &mut Correlator, event: &Event) -> Vec<mamori_core::Alert> {
        let matched: Vec<&Rule> = self.matches(event).collect();
        let mut out: Vec<mamori_core::Alert> = matched
            .iter()
            .filter(|r| r.generate)
            .map(|r| self.to_alert(r, event))
            .collect();
        if !self.correlations().is_empty() && !matched.is_empty() {
            let ts: Timestamp = event.timestamp;
            for hit in correlator.process(self.correlations(), event, ts, matched) {
                out.extend(self.correlation_alert(&hit));
            }
        }
        out
    }
}
