//! Alerts: what a detection produces, with severity, ATT&CK tags, the compliance controls it
//! evidences and one sentence with the numbers that fired it.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, Value};
use crate::time::Timestamp;
use crate::{attack, compliance};

/// Alert severity (ECS `event.severity` 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 1: informational or low.
    Low = 1,
    /// 2: worth a look.
    Medium = 2,
    /// 3: likely an attack or policy breach.
    High = 3,
    /// 4: act now.
    Critical = 4,
}

impl Severity {
    /// Numeric ECS value.
    pub fn number(self) -> i64 {
        self as i64
    }
    /// The English word.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// The Japanese word.
    pub fn as_ja(self) -> &'static str {
        match self {
            Severity::Low => "低",
            Severity::Medium => "中",
            Severity::High => "高",
            Severity::Critical => "緊急",
        }
    }
    /// Parse the English word or the number.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "low" | "1" | "informational" | "info" => Severity::Low,
            "medium" | "2" => Severity::Medium,
            "high" | "3" => Severity::High,
            "critical" | "4" => Severity::Critical,
            _ => return None,
        })
    }
}

/// Whether the condition behind an alert still holds (ntopng's engaged/past).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds at the current watermark.
    Engaged,
    /// The condition has ended.
    Past,
}

/// The rule set an alert comes from (`rule.ruleset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ruleset {
    /// mamori's built-in checks.
    MamoriBuiltin,
    /// Sigma rules.
    Sigma,
    /// Operator-written rules.
    Custom,
    /// Threat-intelligence list hits.
    Intel,
}

impl Ruleset {
    /// The ECS text.
    pub fn as_str(self) -> &'static str {
        match self {
            Ruleset::MamoriBuiltin => "mamori-builtin",
            Ruleset::Sigma => "sigma",
            Ruleset::Custom => "custom",
            Ruleset::Intel => "intel",
        }
    }
}

/// One alert (deduplicated per rule and entities by the detection engine).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `rule.id`, e.g. `mamori.net.port_scan`.
    pub rule_id: Cow<'static, str>,
    /// English rule name.
    pub rule_name: Cow<'static, str>,
    /// Japanese rule name.
    pub rule_name_ja: Cow<'static, str>,
    /// Where the rule comes from.
    pub ruleset: Ruleset,
    /// Severity.
    pub severity: Severity,
    /// ATT&CK technique ids (`T1046`, `T1071.004`).
    pub techniques: Vec<Cow<'static, str>>,
    /// Compliance control ids (`JP-DISCS-8`, `NIST-800-171-3.14.6`).
    pub controls: Vec<Cow<'static, str>>,
    /// One English sentence with the numbers that fired it.
    pub message: String,
    /// The same in Japanese, when the rule provides it.
    pub message_ja: Option<String>,
    /// First occurrence (event time).
    pub first_seen: Timestamp,
    /// Latest occurrence (event time).
    pub last_seen: Timestamp,
    /// Occurrences merged into this alert.
    pub count: u64,
    /// Engaged or past.
    pub state: AlertState,
    /// Attacker / client side, when known.
    pub source_ip: Option<IpAddr>,
    /// Victim / server side, when known.
    pub destination_ip: Option<IpAddr>,
    /// Destination port, when it matters.
    pub destination_port: Option<u16>,
    /// User involved, when known.
    pub user_name: Option<String>,
    /// Host name, when known.
    pub host_name: Option<String>,
    /// Further entity and evidence fields (ECS names), e.g. `dns.question.name`.
    pub fields: crate::event::Fields,
}

impl Alert {
    /// A new engaged alert seen once at `at`; tags are filled from the arguments.
    pub fn new(
        rule_id: impl Into<Cow<'static, str>>,
        rule_name: impl Into<Cow<'static, str>>,
        severity: Severity,
        at: Timestamp,
        message: impl Into<String>,
    ) -> Alert {
        let name = rule_name.into();
        Alert {
            rule_id: rule_id.into(),
            rule_name_ja: name.clone(),
            rule_name: name,
            ruleset: Ruleset::MamoriBuiltin,
            severity,
            techniques: Vec::new(),
            controls: Vec::new(),
            message: message.into(),
            message_ja: None,
            first_seen: at,
            last_seen: at,
            count: 1,
            state: AlertState::Engaged,
            source_ip: None,
            destination_ip: None,
            destination_port: None,
            user_name: None,
            host_name: None,
            fields: Default::default(),
        }
    }

    /// The alert as an ECS event (`event.kind: alert`), the form every sink receives.
    pub fn to_event(&self) -> Event {
        let mut e = Event::new(self.last_seen, "alert").with_kind(EventKind::Alert);
        e.fields = self.fields.clone();
        e.set("rule.id", self.rule_id.to_string())
            .set("rule.name", self.rule_name.to_string())
            .set("mamori.rule.name_ja", self.rule_name_ja.to_string())
            .set("rule.ruleset", self.ruleset.as_str())
            .set("event.severity", self.severity.number())
            .set("mamori.severity", self.severity.as_str())
            .set("message", self.message.clone())
            .set("mamori.alert.count", self.count)
            .set("mamori.alert.first_seen", self.first_seen)
            .set("mamori.alert.last_seen", self.last_seen)
            .set(
                "mamori.alert.state",
                match self.state {
                    AlertState::Engaged => "engaged",
                    AlertState::Past => "past",
                },
            );
        e.set_opt("mamori.message_ja", self.message_ja.clone());
        if !self.techniques.is_empty() {
            e.set("threat.framework", "MITRE ATT&CK");
            let ids: Vec<Value> = self
                .techniques
                .iter()
                .map(|t| Value::Str(t.to_string()))
                .collect();
            let names: Vec<Value> = self
                .techniques
                .iter()
                .filter_map(|t| attack::technique(t))
                .map(|t| Value::Str(t.name.to_owned()))
                .collect();
            let mut tactics: Vec<&str> = self
                .techniques
                .iter()
                .filter_map(|t| attack::technique(t))
                .flat_map(|t| t.tactics.iter().copied())
                .collect();
            tactics.sort_unstable();
            tactics.dedup();
            e.set("threat.technique.id", Value::List(ids));
            if !names.is_empty() {
                e.set("threat.technique.name", Value::List(names));
            }
            if !tactics.is_empty() {
                e.set("threat.tactic.name", tactics);
            }
        }
        if !self.controls.is_empty() {
            let mut all: Vec<String> = self.controls.iter().map(|c| c.to_string()).collect();
            for c in &self.controls {
                for extra in compliance::implied(c) {
                    if !all.iter().any(|x| x == extra) {
                        all.push((*extra).to_owned());
                    }
                }
            }
            e.set("mamori.controls", all);
        }
        let mut related_ip = Vec::new();
        if let Some(ip) = self.source_ip {
            e.set("source.ip", ip);
            related_ip.push(Value::Ip(ip));
        }
        if let Some(ip) = self.destination_ip {
            e.set("destination.ip", ip);
            if !related_ip.contains(&Value::Ip(ip)) {
                related_ip.push(Value::Ip(ip));
            }
        }
        e.set_opt("destination.port", self.destination_port);
        if let Some(u) = &self.user_name {
            e.set("user.name", u.clone());
            e.set("related.user", vec![u.clone()]);
        }
        if let Some(h) = &self.host_name {
            e.set("host.name", h.clone());
            e.set("related.hosts", vec![h.clone()]);
        }
        if !related_ip.is_empty() {
            e.set("related.ip", Value::List(related_ip));
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_event_carries_tags_and_pivots() {
        let mut a = Alert::new(
            "mamori.net.port_scan",
            "TCP port scan",
            Severity::High,
            Timestamp::from_unix_secs(100),
            "10.0.0.5 probed 312 TCP ports on 10.0.0.9 in 18 s",
        );
        a.techniques.push("T1046".into());
        a.controls.push("JP-DISCS-8".into());
        a.source_ip = "10.0.0.5".parse().ok();
        a.destination_ip = "10.0.0.9".parse().ok();
        let j = a.to_event().to_json();
        assert_eq!(j["event"]["kind"], "alert");
        assert_eq!(j["rule"]["id"], "mamori.net.port_scan");
        assert_eq!(j["event"]["severity"], 3);
        assert_eq!(j["threat"]["technique"]["id"][0], "T1046");
        assert_eq!(j["threat"]["tactic"]["name"][0], "Discovery");
        assert_eq!(j["related"]["ip"][1], "10.0.0.9");
        let controls = j["mamori"]["controls"].as_array().unwrap();
        assert!(controls.iter().any(|c| c == "NIST-800-171-3.14.6"));
    }

    #[test]
    fn severity_words() {
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::Critical.as_ja(), "緊急");
        assert!(Severity::Low < Severity::Critical);
    }
}
