//! Field names mamori produces, for `rules lint` warnings.

use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Fields every event or alert carries, or that pipelines add, beyond the parser lists.
const EXTRA: &[&str] = &[
    "@timestamp",
    "event.kind",
    "event.dataset",
    "event.module",
    "event.ingested",
    "event.category",
    "event.type",
    "event.code",
    "event.action",
    "event.outcome",
    "event.reason",
    "host.name",
    "host.hostname",
    "host.ip",
    "message",
    "error.message",
    "mamori.parse_error",
    "mamori.log.source",
    "mamori.log.parser",
    "mamori.log.clock_skew_ms",
    "log.syslog.hostname",
    "log.syslog.appname",
    "rule.id",
    "rule.name",
    "rule.ruleset",
    "mamori.severity",
    "mamori.alert.state",
    "mamori.alert.count",
    "mamori.dhcp.assigned_ip",
    "user_agent.original",
    "http.request.method",
    "http.request.bytes",
    "http.request.body.bytes",
    "url.port",
    "network.direction",
    "network.transport",
    "network.protocol",
    "dns.question.registered_domain",
];

fn known() -> &'static (BTreeSet<&'static str>, Vec<&'static str>) {
    static K: OnceLock<(BTreeSet<&'static str>, Vec<&'static str>)> = OnceLock::new();
    K.get_or_init(|| {
        let mut set: BTreeSet<&'static str> = EXTRA.iter().copied().collect();
        let mut prefixes = vec!["winlog.event_data.", "mamori.flow.", "zeek."];
        for p in mamori_logparse::Catalog::parsers() {
            for f in p.fields {
                match f.strip_suffix('*') {
                    Some(pre) => prefixes.push(pre),
                    None => {
                        set.insert(f);
                    }
                }
            }
        }
        (set, prefixes)
    })
}

/// Whether some mamori parser, the core schema or the alert form produces `name`.
pub fn is_known(name: &str) -> bool {
    let (set, prefixes) = known();
    set.contains(name)
        || mamori_core::schema::field_type(name).is_some()
        || prefixes.iter().any(|p| name.starts_with(p))
}
