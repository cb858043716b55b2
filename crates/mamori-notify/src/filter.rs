//! Recipient filters: minimum severity, rule ids / prefixes, ATT&CK tactics, host groups
//! (CIDR lists) and alert state. Empty lists match everything.

use ipnet::IpNet;
use mamori_core::{attack, Alert, AlertState, Severity};

/// A compiled recipient filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    min_severity: Option<Severity>,
    exact: Vec<String>,
    prefixes: Vec<String>,
    tactics: Vec<String>,
    host_groups: Vec<IpNet>,
    states: Vec<AlertState>,
}

/// Normalise a tactic name: `Command and Control`, `command-and-control` → `commandandcontrol`.
fn norm_tactic(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Filter {
    /// Build; an error is (field, value, reason).
    pub fn new(
        min_severity: Option<Severity>,
        rules: &[String],
        tactics: &[String],
        host_groups: Vec<IpNet>,
        states: Vec<AlertState>,
    ) -> Result<Filter, (&'static str, String, String)> {
        let mut f = Filter {
            min_severity,
            host_groups,
            states,
            ..Filter::default()
        };
        for r in rules {
            let r = r.trim();
            if r.is_empty() || r == "*" {
                return Err(("rules", r.to_owned(), "empty pattern".into()));
            }
            match r.strip_suffix('*') {
                Some(p) if p.contains('*') => {
                    return Err(("rules", r.to_owned(), "`*` only at the end".into()))
                }
                Some(p) => f.prefixes.push(p.to_owned()),
                None if r.contains('*') => {
                    return Err(("rules", r.to_owned(), "`*` only at the end".into()))
                }
                None => f.exact.push(r.to_owned()),
            }
        }
        for t in tactics {
            let n = norm_tactic(t);
            if n.is_empty() {
                return Err(("tactics", t.clone(), "empty tactic".into()));
            }
            f.tactics.push(n);
        }
        Ok(f)
    }

    /// Whether `alert` passes every filter.
    pub fn matches(&self, alert: &Alert) -> bool {
        if let Some(min) = self.min_severity {
            if alert.severity < min {
                return false;
            }
        }
        if !(self.exact.is_empty() && self.prefixes.is_empty()) {
            let id = alert.rule_id.as_ref();
            let hit = self.exact.iter().any(|e| e == id)
                || self.prefixes.iter().any(|p| id.starts_with(p.as_str()));
            if !hit {
                return false;
            }
        }
        if !self.tactics.is_empty() {
            let hit = alert
                .techniques
                .iter()
                .filter_map(|t| attack::technique(t))
                .flat_map(|t| t.tactics.iter())
                .any(|name| self.tactics.contains(&norm_tactic(name)));
            if !hit {
                return false;
            }
        }
        if !self.host_groups.is_empty() {
            let hit = [alert.source_ip, alert.destination_ip]
                .into_iter()
                .flatten()
                .any(|ip| self.host_groups.iter().any(|n| n.contains(&ip)));
            if !hit {
                return false;
            }
        }
        if !self.states.is_empty() && !self.states.contains(&alert.state) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_core::Timestamp;

    fn alert(id: &'static str, sev: Severity) -> Alert {
        Alert::new(id, "n", sev, Timestamp::from_unix_secs(1), "m")
    }

    #[test]
    fn severity_rules_tactics_hosts_states() {
        let f = Filter::new(
            Some(Severity::High),
            &["mamori.net.*".into(), "sigma.x".into()],
            &["discovery".into()],
            vec!["10.1.0.0/16".parse().unwrap()],
            vec![AlertState::Engaged],
        )
        .unwrap();
        let mut a = alert("mamori.net.port_scan", Severity::High);
        a.techniques.push("T1046".into());
        a.destination_ip = "10.1.2.3".parse().ok();
        assert!(f.matches(&a));
        let mut low = a.clone();
        low.severity = Severity::Medium;
        assert!(!f.matches(&low));
        let mut other_rule = a.clone();
        other_rule.rule_id = "mamori.dns.tunnel".into();
        assert!(!f.matches(&other_rule));
        let mut other_tactic = a.clone();
        other_tactic.techniques = vec!["T1071.004".into()];
        assert!(!f.matches(&other_tactic));
        let mut outside = a.clone();
        outside.destination_ip = "10.2.0.1".parse().ok();
        assert!(!f.matches(&outside));
        let mut past = a.clone();
        past.state = AlertState::Past;
        assert!(!f.matches(&past));
        assert!(Filter::default().matches(&past));
    }

    #[test]
    fn bad_patterns_rejected() {
        assert!(Filter::new(None, &["a*b".into()], &[], vec![], vec![]).is_err());
        assert!(Filter::new(None, &["*".into()], &[], vec![], vec![]).is_err());
        assert!(Filter::new(None, &[], &["--".into()], vec![], vec![]).is_err());
    }
}
