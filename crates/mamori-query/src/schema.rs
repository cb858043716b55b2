//! Which fields a query may name, and their types.
//!
//! [`Schema::ecs`] knows the ECS fields of EVENTS.md (typed by
//! [`mamori_core::schema::field_type`], keyword otherwise); callers add their own fields and
//! wildcard prefixes (`winlog.event_data.*`). Unknown names are rejected with the closest known
//! name as a suggestion.

use std::collections::BTreeMap;

pub use mamori_core::schema::FieldType;

/// ECS fields mamori emits or reads (EVENTS.md) beyond those typed by
/// [`mamori_core::schema::field_type`]; they are keywords unless the core types them.
const ECS_FIELDS: &[&str] = &[
    "@timestamp",
    "message",
    "error.message",
    "event.kind",
    "event.dataset",
    "event.module",
    "event.category",
    "event.type",
    "event.action",
    "event.outcome",
    "event.code",
    "event.provider",
    "event.original",
    "event.severity",
    "event.duration",
    "event.start",
    "event.end",
    "event.ingested",
    "event.created",
    "event.sequence",
    "event.id",
    "event.reason",
    "source.ip",
    "source.port",
    "source.mac",
    "source.bytes",
    "source.packets",
    "source.domain",
    "source.nat.ip",
    "source.nat.port",
    "source.geo.country_iso_code",
    "source.as.number",
    "destination.ip",
    "destination.port",
    "destination.mac",
    "destination.bytes",
    "destination.packets",
    "destination.domain",
    "destination.nat.ip",
    "destination.nat.port",
    "client.ip",
    "client.port",
    "server.ip",
    "server.port",
    "network.transport",
    "network.protocol",
    "network.direction",
    "network.community_id",
    "network.bytes",
    "network.packets",
    "network.vlan.id",
    "network.type",
    "network.application",
    "host.name",
    "host.hostname",
    "host.ip",
    "host.os.name",
    "host.os.version",
    "observer.name",
    "observer.type",
    "observer.ip",
    "user.name",
    "user.domain",
    "user.id",
    "user.target.name",
    "related.ip",
    "related.user",
    "related.hosts",
    "related.hash",
    "process.name",
    "process.pid",
    "process.executable",
    "process.command_line",
    "process.parent.name",
    "process.parent.pid",
    "process.parent.executable",
    "process.parent.command_line",
    "file.path",
    "file.name",
    "file.hash.sha256",
    "dns.question.name",
    "dns.question.type",
    "dns.question.class",
    "dns.response_code",
    "dns.answers",
    "dns.id",
    "http.request.method",
    "http.request.bytes",
    "http.request.body.bytes",
    "http.response.status_code",
    "http.response.bytes",
    "http.response.body.bytes",
    "http.version",
    "url.original",
    "url.domain",
    "url.path",
    "url.query",
    "url.full",
    "user_agent.original",
    "tls.version",
    "tls.cipher",
    "tls.client.ja3",
    "tls.client.ja4",
    "tls.client.server_name",
    "tls.server.ja3s",
    "tls.server.subject",
    "tls.server.issuer",
    "tls.server.not_before",
    "tls.server.not_after",
    "tls.server.x509.not_before",
    "tls.server.x509.not_after",
    "tls.server.hash.sha256",
    "rule.id",
    "rule.name",
    "rule.ruleset",
    "rule.category",
    "threat.framework",
    "threat.tactic.name",
    "threat.tactic.id",
    "threat.technique.id",
    "threat.technique.name",
    "log.level",
    "log.logger",
    "log.offset",
    "log.file.path",
    "log.syslog.appname",
    "log.syslog.hostname",
    "log.syslog.priority",
    "log.syslog.facility.code",
    "log.syslog.severity.code",
    "log.syslog.procid",
    "service.name",
    "agent.name",
    "winlog.event_id",
    "winlog.record_id",
    "winlog.channel",
    "winlog.provider_name",
    "winlog.computer_name",
    "winlog.logon.type",
    "mamori.alert.count",
    "mamori.alert.first_seen",
    "mamori.alert.last_seen",
    "mamori.controls",
    "mamori.flow.state",
    "mamori.flow.tcp_flags",
    "mamori.net.port_scan",
    "mamori.rule.name_ja",
    "mamori.severity",
    "mamori.score",
    "mamori.tls.ja4",
];

/// Longest edit distance for which a "did you mean" suggestion is offered.
pub const SUGGEST_MAX_DISTANCE: usize = 3;

/// The fields a query may use, with their types.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    fields: BTreeMap<String, FieldType>,
    prefixes: Vec<(String, FieldType)>,
}

/// A short lowercase name of a type for messages (`keyword`, `ip`, …).
pub fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Keyword => "keyword",
        FieldType::Text => "text",
        FieldType::Long => "long",
        FieldType::Double => "double",
        FieldType::Ip => "ip",
        FieldType::Date => "date",
        FieldType::Boolean => "boolean",
    }
}

impl Schema {
    /// A schema that knows no field at all (add with [`Schema::with_field`]).
    pub fn empty() -> Schema {
        Schema::default()
    }

    /// The ECS fields of EVENTS.md, typed by [`mamori_core::schema::field_type`] (keyword when
    /// the core has no fixed type), plus `winlog.event_data.*` as keywords.
    pub fn ecs() -> Schema {
        let mut s = Schema::empty();
        for name in ECS_FIELDS {
            let t = mamori_core::schema::field_type(name).unwrap_or(FieldType::Keyword);
            s.fields.insert((*name).to_owned(), t);
        }
        s.with_prefix("winlog.event_data.", FieldType::Keyword)
    }

    /// Add (or retype) one field.
    pub fn with_field(mut self, name: impl Into<String>, ty: FieldType) -> Schema {
        self.add_field(name, ty);
        self
    }

    /// Add (or retype) one field in place.
    pub fn add_field(&mut self, name: impl Into<String>, ty: FieldType) {
        self.fields.insert(name.into(), ty);
    }

    /// Allow every field under a prefix; `winlog.event_data.*` and `winlog.event_data.` mean
    /// the same. The core type of a name wins over the prefix type when it has one.
    pub fn with_prefix(mut self, prefix: &str, ty: FieldType) -> Schema {
        let p = prefix.strip_suffix('*').unwrap_or(prefix).to_owned();
        self.prefixes.push((p, ty));
        self
    }

    /// The type of a field, `None` when the schema does not know it.
    pub fn field_type(&self, name: &str) -> Option<FieldType> {
        if let Some(t) = self.fields.get(name) {
            return Some(*t);
        }
        self.prefixes
            .iter()
            .find(|(p, _)| name.len() > p.len() && name.starts_with(p.as_str()))
            .map(|(_, t)| mamori_core::schema::field_type(name).unwrap_or(*t))
    }

    /// The known field closest to `name` by edit distance, if any is close enough.
    pub fn suggest(&self, name: &str) -> Option<String> {
        let mut best: Option<(usize, &str)> = None;
        for known in self.fields.keys() {
            let d = edit_distance(name, known, SUGGEST_MAX_DISTANCE);
            if d <= SUGGEST_MAX_DISTANCE && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, known));
            }
        }
        best.map(|(_, n)| n.to_owned())
    }

    /// Names of the exactly known fields, sorted.
    pub fn names(&self) -> impl Iterator<Item = (&str, FieldType)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// Levenshtein distance, giving up (returning `limit + 1`) once it must exceed `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > limit {
            return limit + 1;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_types_come_from_core() {
        let s = Schema::ecs();
        assert_eq!(s.field_type("source.ip"), Some(FieldType::Ip));
        assert_eq!(s.field_type("destination.port"), Some(FieldType::Long));
        assert_eq!(s.field_type("user.name"), Some(FieldType::Keyword));
        assert_eq!(s.field_type("message"), Some(FieldType::Text));
        assert_eq!(
            s.field_type("winlog.event_data.TargetUserName"),
            Some(FieldType::Keyword)
        );
        assert_eq!(s.field_type("winlog.event_data."), None);
        assert_eq!(s.field_type("sorce.ip"), None);
    }

    #[test]
    fn suggests_close_names_only() {
        let s = Schema::ecs();
        assert_eq!(s.suggest("sorce.ip").as_deref(), Some("source.ip"));
        assert_eq!(
            s.suggest("destination.prt").as_deref(),
            Some("destination.port")
        );
        assert_eq!(s.suggest("completely.different.thing"), None);
    }

    #[test]
    fn distance_basics() {
        assert_eq!(edit_distance("kitten", "sitting", 5), 3);
        assert_eq!(edit_distance("", "abc", 5), 3);
        assert_eq!(edit_distance("abc", "abc", 0), 0);
        assert_eq!(edit_distance("abcdef", "a", 2), 3);
    }
}
