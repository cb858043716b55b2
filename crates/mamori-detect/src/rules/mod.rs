//! SEM-style log rules: threshold, sequence (`after`), absence and rate rules in YAML, the
//! built-in log checks of the repository's `rules/` folder, lint and test helpers, and DHCP
//! host-name enrichment.
//!
//! ## Rule format (one rule per YAML document, several per file)
//! ```yaml
//! id: mamori.log.fw_port_scan          # ids starting with `mamori.` are built-in
//! name: Port scan in firewall logs
//! name_ja: ファイアウォールログのポートスキャン
//! description: …                       # optional, also description_ja
//! severity: high                       # low | medium | high | critical
//! techniques: [T1046]
//! controls: [JP-DISCS-8]
//! enabled: true                        # optional
//! requires: [proxy_addresses]          # optional: inactive while that config list is empty
//! match:                               # all entries must hold
//!   event.dataset: firewall
//!   event.action: deny                 # scalar: case-insensitive, `*`/`?` wildcards
//!   destination.port: [80, 443]        # list: any of
//!   source.ip: {cidr: ${client_networks}}   # ${name}: a list from the [rules] config
//!   any: [{user.name: root}, {not: {event.outcome: success}}]
//! exclude: {source.ip: {cidr: 10.9.9.9}}    # optional, same language
//! threshold: {count: 10, within: 30s, same: [source.ip, destination.ip],
//!             distinct: destination.port, rearm: 5m, suppress_per_group: true}
//! message: "{source.ip} probed {distinct} ports on {destination.ip} within {window}"
//! message_ja: "{source.ip} が {window} 以内に {destination.ip} の {distinct} ポートを探索"
//! ```
//! Operators in a field mapping: `eq`, `contains`, `startswith`, `endswith`, `re`, `cidr`,
//! `gt`/`gte`/`lt`/`lte`, `abs_gt`/`abs_gte`/`abs_lt`, `len_gt`/`len_gte`/`len_lt`,
//! `entropy_gte`, `dga_score_gte` (the network DNS checks' score of the registered label),
//! `ip_host` (the value, or a URL's host, is an IP literal), `exists`, `not`. A list-valued
//! field matches when any item does. `outside_business_hours: true` tests the event time
//! against `[rules.business_hours]`.
//!
//! Instead of a plain threshold a rule may have one of:
//! - `after: {match: …, count: 5, within: 10m}` — fire when an event meets `match` and at
//!   least `count` events meeting `after.match` with the same `threshold.same` values came in
//!   the `within` before it (success after failures, login after a network alert);
//! - `absence: {group_by: mamori.log.source, expected_every: 15m}` — fire when a group seen
//!   before stays silent longer than `expected_every` (a *past* alert follows when it
//!   returns);
//! - `rate: {of: …, percent_above: 5, min_events: 100}` — fire when the share of events
//!   meeting `match` among those meeting `of` exceeds the percentage over `threshold.within`.
//!
//! Placeholders in messages: `{count}`, `{distinct}`, `{window}`, `{rule}`, `{silent_for}`,
//! `{expected}`, `{percent}`, `{total}`, `{first}`, `{last}` and any field name of the
//! event that fired (`{source.ip}`); `{host.name|host.hostname}` prints the first present
//! field; a missing field prints `-`.
//!
//! ## Semantics
//! Alert events (`event.kind: alert`) reach only rules whose conditions name `event.kind`,
//! so a rule's own alerts fed back cannot feed it. Event time only. Windows slide: a group's window is `[newest − within, newest]`, both
//! ends inclusive, so an event exactly `within` after the first still counts. An event may
//! arrive up to `allowed_lateness_secs` (default 60 s) behind the newest of its group; older
//! ones are counted `late`. After an alert the group's window is emptied
//! (`suppress_per_group`, default true) and the group stays quiet until `rearm` (default
//! `within`) has passed. Each rule keeps at most [`MAX_GROUPS_PER_RULE`] groups (the oldest
//! eighth is evicted and counted) and [`MAX_EVENTS_PER_GROUP`] events per group.
//!
//! ```
//! use mamori_core::{Event, Timestamp};
//! use mamori_detect::rules::{RulesConfig, ThresholdRules};
//!
//! let yaml = r#"
//! id: mamori.log.fw_port_scan
//! name: Port scan in firewall logs
//! name_ja: ファイアウォールログのポートスキャン
//! severity: high
//! techniques: [T1046]
//! match: {event.dataset: firewall, event.action: deny}
//! threshold: {count: 10, within: 30s, same: [source.ip, destination.ip], distinct: destination.port}
//! message: "{source.ip} probed {distinct} ports on {destination.ip} within {window}"
//! message_ja: "{source.ip} が {window} 以内に {destination.ip} の {distinct} ポートを探索"
//! "#;
//! let (mut rules, report) =
//!     ThresholdRules::load_str(yaml, "scan.yml", &RulesConfig::default()).unwrap();
//! assert_eq!(report.loaded(), 1);
//! let mut alerts = Vec::new();
//! for port in 0..10u16 {
//!     let mut ev = Event::new(Timestamp::from_unix_secs(1_700_000_000 + i64::from(port)), "firewall");
//!     ev.set("event.action", "deny").set("source.ip", "192.0.2.7")
//!         .set("destination.ip", "10.0.0.5").set("destination.port", 1000 + port);
//!     rules.process(&ev, &mut alerts);
//! }
//! assert_eq!(alerts.len(), 1);
//! assert_eq!(alerts[0].message, "192.0.2.7 probed 10 ports on 10.0.0.5 within 30s");
//! ```

pub mod config;
mod engine;
mod enrich;
mod fields;
mod load;
mod matcher;
mod template;
mod test_runner;

/// Default allowed lateness of events behind their group (s).
pub const DEFAULT_LATENESS_SECS: u64 = 60;

pub use config::{BusinessHours, RulesConfig, RulesConfigError, MAX_CONFIG_LIST};
pub use engine::{
    RuleStats, ThresholdRules, ABSENCE_CHECK_INTERVAL, MAX_EVENTS_PER_GROUP, MAX_GROUPS_PER_RULE,
    PURGE_INTERVAL, RATE_BUCKETS,
};
pub use enrich::{Enricher, MAX_HOSTNAME_LEN, MAX_LEASES};
pub use fields::is_known as is_known_field;
pub use load::{
    LintEntry, LintOutcome, LintReport, Rule, MAX_COUNT, MAX_RULES_PER_FILE, MAX_RULE_DIRS,
    MAX_RULE_FILES, MAX_RULE_FILE_BYTES, MAX_SAME_FIELDS, MAX_WINDOW,
};
pub use matcher::{MAX_ALTERNATIVES, MAX_DEPTH, MAX_REGEX_LEN, MAX_REGEX_SIZE};
pub use template::{
    human as human_duration, BUILTIN_PLACEHOLDERS, MAX_TEMPLATE_LEN, MAX_VALUE_CHARS,
};
pub use test_runner::{test_rules, RuleTestResult};

/// The built-in log checks of the repository's `rules/` folder, embedded in the binary so a
/// fresh install runs them without any files: `(origin, YAML text)`.
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    ("rules/auth.yml", include_str!("../../../../rules/auth.yml")),
    (
        "rules/cross.yml",
        include_str!("../../../../rules/cross.yml"),
    ),
    ("rules/dns.yml", include_str!("../../../../rules/dns.yml")),
    (
        "rules/firewall.yml",
        include_str!("../../../../rules/firewall.yml"),
    ),
    (
        "rules/loghealth.yml",
        include_str!("../../../../rules/loghealth.yml"),
    ),
    (
        "rules/privilege.yml",
        include_str!("../../../../rules/privilege.yml"),
    ),
    (
        "rules/proxy.yml",
        include_str!("../../../../rules/proxy.yml"),
    ),
];
