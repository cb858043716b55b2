//! Types of the ECS fields mamori relies on (EVENTS.md), so that text read back from JSON,
//! logs or storage becomes typed values (IPs, times, numbers) and columnar storage can give
//! them typed columns.

use serde_json::Value as Json;

use crate::event::Value;
use crate::time::Timestamp;

/// The storage/comparison type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Exact-match text.
    Keyword,
    /// Free text (`message`).
    Text,
    /// Signed 64-bit integer (ports, counts, bytes, durations in ns).
    Long,
    /// Floating point.
    Double,
    /// IPv4/IPv6 address.
    Ip,
    /// Point in time.
    Date,
    /// Boolean.
    Boolean,
}

/// The known type of a dotted ECS field name, `None` for fields mamori has no fixed type for.
pub fn field_type(name: &str) -> Option<FieldType> {
    use FieldType::*;
    let t = match name {
        "@timestamp"
        | "event.ingested"
        | "event.start"
        | "event.end"
        | "event.created"
        | "mamori.alert.first_seen"
        | "mamori.alert.last_seen"
        | "tls.server.not_before"
        | "tls.server.not_after"
        | "tls.server.x509.not_before"
        | "tls.server.x509.not_after" => Date,
        "message" | "error.message" => Text,
        "event.severity"
        | "event.duration"
        | "event.sequence"
        | "network.bytes"
        | "network.packets"
        | "network.vlan.id"
        | "http.response.status_code"
        | "http.request.bytes"
        | "http.response.bytes"
        | "http.request.body.bytes"
        | "http.response.body.bytes"
        | "process.pid"
        | "process.parent.pid"
        | "mamori.alert.count"
        | "winlog.event_id"
        | "winlog.record_id"
        | "log.syslog.priority"
        | "log.syslog.facility.code"
        | "log.syslog.severity.code"
        | "log.offset" => Long,
        "mamori.score" => Double,
        _ => {
            if let Some(rest) = name
                .strip_prefix("source.")
                .or_else(|| name.strip_prefix("destination."))
                .or_else(|| name.strip_prefix("client."))
                .or_else(|| name.strip_prefix("server."))
            {
                match rest {
                    "ip" | "nat.ip" => Ip,
                    "port" | "nat.port" | "bytes" | "packets" | "payload_bytes" => Long,
                    _ => Keyword,
                }
            } else if name == "host.ip" || name == "related.ip" || name == "observer.ip" {
                Ip
            } else {
                return None;
            }
        }
    };
    Some(t)
}

/// Convert a JSON value into a [`Value`] of the field's declared type where it has one.
pub fn typed_from_json(name: &str, j: &Json) -> Option<Value> {
    match (field_type(name), j) {
        (Some(FieldType::Ip), Json::String(s)) => Some(
            s.parse()
                .map(Value::Ip)
                .unwrap_or_else(|_| Value::Str(s.clone())),
        ),
        (Some(FieldType::Ip), Json::Array(a)) => Some(Value::List(
            a.iter().filter_map(|x| typed_from_json(name, x)).collect(),
        )),
        (Some(FieldType::Date), Json::String(s)) => Some(
            Timestamp::parse_rfc3339(s)
                .map(Value::Time)
                .unwrap_or_else(|_| Value::Str(s.clone())),
        ),
        (Some(FieldType::Long), Json::String(s)) => Some(
            s.parse()
                .map(Value::Int)
                .unwrap_or_else(|_| Value::Str(s.clone())),
        ),
        _ => Value::from_json(j),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lookup() {
        assert_eq!(field_type("source.ip"), Some(FieldType::Ip));
        assert_eq!(field_type("destination.port"), Some(FieldType::Long));
        assert_eq!(field_type("event.start"), Some(FieldType::Date));
        assert_eq!(field_type("user.name"), None);
        assert_eq!(
            typed_from_json("source.port", &Json::String("22".into())),
            Some(Value::Int(22))
        );
    }
}
