//! `mamori rules test`: run rules over sample events and report, per rule, events matched
//! and alerts raised.

use mamori_core::{Alert, AlertState, Event};

use super::engine::ThresholdRules;

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTestResult {
    /// Rule id.
    pub rule_id: String,
    /// Events that met the rule's `match`.
    pub matched: u64,
    /// Alerts raised (engaged).
    pub alerts: u64,
    /// Message of the first alert, if any.
    pub first_message: Option<String>,
}

/// Run fresh copies of `rules` over `events` (sorted by time first, stable) and report per
/// rule; the alerts are returned too.
pub fn test_rules(rules: &ThresholdRules, events: &[Event]) -> (Vec<RuleTestResult>, Vec<Alert>) {
    let mut eng = rules.fresh();
    let mut order: Vec<&Event> = events.iter().collect();
    order.sort_by_key(|e| e.timestamp);
    let mut out = Vec::new();
    for ev in order {
        eng.process(ev, &mut out);
    }
    eng.finish(&mut out);
    let results = eng
        .stats()
        .map(|s| {
            let mine = out
                .iter()
                .filter(|a| a.rule_id == s.id && a.state == AlertState::Engaged);
            RuleTestResult {
                rule_id: s.id.clone(),
                matched: s.matched,
                alerts: mine.clone().count() as u64,
                first_message: mine.map(|a| a.message.clone()).next(),
            }
        })
        .collect();
    (results, out)
}
