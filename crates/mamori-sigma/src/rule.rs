//! One loaded Sigma detection rule: metadata for alerts, its log-source scope and the
//! compiled detection.

use mamori_core::Severity;
use yaml_serde::Value as Y;

use crate::detection::Detection;
use crate::document::Document;
use crate::mapping::Scope;

/// A rule's `logsource` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    /// `product` (e.g. `windows`).
    pub product: Option<String>,
    /// `category` (e.g. `process_creation`).
    pub category: Option<String>,
    /// `service` (e.g. `security`).
    pub service: Option<String>,
}

impl LogSource {
    pub(crate) fn from_yaml(y: Option<&Y>) -> LogSource {
        let get = |k: &str| {
            y.and_then(|m| m.get(k))
                .and_then(Y::as_str)
                .map(|s| s.to_ascii_lowercase())
        };
        LogSource {
            product: get("product"),
            category: get("category"),
            service: get("service"),
        }
    }
    /// `product/category/service` with `-` for absent parts.
    pub fn display(&self) -> String {
        format!(
            "{}/{}/{}",
            self.product.as_deref().unwrap_or("-"),
            self.category.as_deref().unwrap_or("-"),
            self.service.as_deref().unwrap_or("-")
        )
    }
}

/// A compiled detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) index: u32,
    /// `id` (UUID); the file name when the rule has none.
    pub id: String,
    /// `name` (used by correlation references), when given.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: String,
    /// `status` (stable, test, experimental, …).
    pub status: Option<String>,
    /// `level` as written (informational … critical).
    pub level: String,
    /// `level` mapped to mamori's severity.
    pub severity: Severity,
    /// All tags as written.
    pub tags: Vec<String>,
    /// ATT&CK technique ids from `attack.tNNNN[.NNN]` tags, e.g. `T1059.001`.
    pub techniques: Vec<String>,
    /// ATT&CK tactic names from `attack.<tactic>` tags, e.g. `Execution`.
    pub tactics: Vec<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `author`.
    pub author: Option<String>,
    /// `logsource`.
    pub logsource: LogSource,
    /// The file (or origin label) it was loaded from.
    pub origin: String,
    /// Whether matches of this rule are alerts on their own (false when only correlations
    /// with `generate: false` use it).
    pub generate: bool,
    pub(crate) scope: Scope,
    pub(crate) detection: Detection,
    pub(crate) filters: Vec<Detection>,
}

const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "Reconnaissance"),
    ("resource-development", "Resource Development"),
    ("initial-access", "Initial Access"),
    ("initial_access", "Initial Access"),
    ("execution", "Execution"),
    ("persistence", "Persistence"),
    ("privilege-escalation", "Privilege Escalation"),
    ("privilege_escalation", "Privilege Escalation"),
    ("defense-evasion", "Defense Evasion"),
    ("defense_evasion", "Defense Evasion"),
    ("credential-access", "Credential Access"),
    ("credential_access", "Credential Access"),
    ("discovery", "Discovery"),
    ("lateral-movement", "Lateral Movement"),
    ("lateral_movement", "Lateral Movement"),
    ("collection", "Collection"),
    ("command-and-control", "Command and Control"),
    ("command_and_control", "Command and Control"),
    ("exfiltration", "Exfiltration"),
    ("impact", "Impact"),
];

/// Split Sigma tags into ATT&CK technique ids and tactic names.
pub fn attack_tags(tags: &[String]) -> (Vec<String>, Vec<String>) {
    let mut techniques = Vec::new();
    let mut tactics = Vec::new();
    for t in tags {
        let lower = t.to_ascii_lowercase();
        let Some(rest) = lower.strip_prefix("attack.") else {
            continue;
        };
        let is_technique = rest.len() >= 5
            && rest.starts_with('t')
            && rest
                .get(1..5)
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
            && rest.get(5..).is_some_and(|sub| {
                sub.is_empty()
                    || (sub.len() == 4
                        && sub.starts_with('.')
                        && sub.bytes().skip(1).all(|b| b.is_ascii_digit()))
            });
        if is_technique {
            let id = rest.to_ascii_uppercase();
            if !techniques.contains(&id) {
                techniques.push(id);
            }
        } else if let Some((_, name)) = TACTICS.iter().find(|(k, _)| *k == rest) {
            let n = (*name).to_owned();
            if !tactics.contains(&n) {
                tactics.push(n);
            }
        }
    }
    (techniques, tactics)
}

/// Sigma `level` → severity (informational and low are both `Low`).
pub fn severity_of(level: &str) -> Severity {
    match level.to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        _ => Severity::Low,
    }
}

impl Rule {
    /// Position of the rule in its [`crate::RuleSet`].
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// Whether the document is in the rule's log source (dataset, channel, EventID).
    pub fn in_scope<D: Document + ?Sized>(&self, doc: &D) -> bool {
        if !self.scope.dataset_matches(doc.dataset()) {
            return false;
        }
        if self.scope.sources.is_empty() {
            return true;
        }
        let chan = doc.channel();
        let code = doc.event_code();
        self.scope.sources.iter().any(|s| {
            let chan_ok = match (&s.channel, chan) {
                (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
                (Some(_), None) => false,
                (None, _) => true,
            };
            chan_ok && (s.event_ids.is_empty() || code.is_some_and(|c| s.event_ids.contains(&c)))
        })
    }

    /// Whether the document matches: in scope, detection true and every filter passes.
    pub fn matches<D: Document + ?Sized>(&self, doc: &D) -> bool {
        self.in_scope(doc) && self.matches_detection(doc)
    }

    /// Detection and filters only, without the log-source check.
    pub fn matches_detection<D: Document + ?Sized>(&self, doc: &D) -> bool {
        self.detection.matches(doc) && self.filters.iter().all(|f| f.matches(doc))
    }

    /// The document field names a Sigma field name is looked up under for this rule.
    pub fn field_names(&self, sigma_field: &str) -> Vec<String> {
        self.scope.resolve_field(sigma_field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_into_techniques_and_tactics() {
        let tags: Vec<String> = [
            "attack.execution",
            "attack.t1059.001",
            "attack.T1218",
            "attack.defense-evasion",
            "cve.2021-44228",
            "attack.g0032",
            "attack.t12",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (t, a) = attack_tags(&tags);
        assert_eq!(t, vec!["T1059.001", "T1218"]);
        assert_eq!(a, vec!["Execution", "Defense Evasion"]);
    }

    #[test]
    fn levels() {
        assert_eq!(severity_of("informational"), Severity::Low);
        assert_eq!(severity_of("medium"), Severity::Medium);
        assert_eq!(severity_of("HIGH"), Severity::High);
        assert_eq!(severity_of("critical"), Severity::Critical);
    }
}
