//! The normalised event: a timestamp, a kind, a dataset and ECS fields by dotted name.
//!
//! Fields are kept flat (`"source.ip"`) so that rules, queries and columnar storage address
//! them the same way; [`Event::to_json`] nests them for JSON-lines output (see EVENTS.md).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value as Json;

use crate::time::Timestamp;

/// A field name: a static ECS name in the common case, owned for names built at run time
/// (e.g. `winlog.event_data.TargetUserName`).
pub type FieldName = Cow<'static, str>;

/// A typed field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `true`/`false`.
    Bool(bool),
    /// A signed integer (ports, counts and byte sizes fit here).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text (keywords and messages).
    Str(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A point in time.
    Time(Timestamp),
    /// A list of values (e.g. `dns.answers`, `threat.technique.id`).
    List(Vec<Value>),
}

impl Value {
    /// The text if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The integer if this is one (floats with no fraction convert too).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Value::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
    /// The number as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
    /// The address if this is one (or text that parses as one).
    pub fn as_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            Value::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
    /// The list items, or a one-element view of a scalar.
    pub fn items(&self) -> &[Value] {
        match self {
            Value::List(v) => v,
            other => std::slice::from_ref(other),
        }
    }
    /// Convert to a JSON value.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::Str(s) => Json::String(s.clone()),
            Value::Ip(ip) => Json::String(ip.to_string()),
            Value::Time(t) => Json::String(t.to_rfc3339()),
            Value::List(v) => Json::Array(v.iter().map(Value::to_json).collect()),
        }
    }
    /// Convert from JSON; objects become their JSON text (callers flatten objects first).
    pub fn from_json(j: &Json) -> Option<Value> {
        Some(match j {
            Json::Null => return None,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64()?),
            },
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(a) => Value::List(a.iter().filter_map(Value::from_json).collect()),
            Json::Object(_) => Value::Str(j.to_string()),
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
            Value::Ip(ip) => write!(f, "{ip}"),
            Value::Time(t) => write!(f, "{t}"),
            Value::List(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            Value::Str(v) => s.serialize_str(v),
            Value::Ip(ip) => s.collect_str(ip),
            Value::Time(t) => t.serialize(s),
            Value::List(v) => v.serialize(s),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value { fn from(v: $t) -> Value { Value::Int(v as i64) } }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32, usize);
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(v.to_owned())
    }
}
impl From<IpAddr> for Value {
    fn from(v: IpAddr) -> Value {
        Value::Ip(v)
    }
}
impl From<std::net::Ipv4Addr> for Value {
    fn from(v: std::net::Ipv4Addr) -> Value {
        Value::Ip(IpAddr::V4(v))
    }
}
impl From<std::net::Ipv6Addr> for Value {
    fn from(v: std::net::Ipv6Addr) -> Value {
        Value::Ip(IpAddr::V6(v))
    }
}
impl From<Timestamp> for Value {
    fn from(v: Timestamp) -> Value {
        Value::Time(v)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

/// What an event is (ECS `event.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// Flows, protocol records, log lines.
    Event,
    /// Detections.
    Alert,
    /// Scan findings, inventory.
    State,
    /// mamori's own health and pipeline telemetry.
    Metric,
}

impl EventKind {
    /// The ECS text.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Event => "event",
            EventKind::Alert => "alert",
            EventKind::State => "state",
            EventKind::Metric => "metric",
        }
    }
    /// Parse the ECS text.
    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "event" => EventKind::Event,
            "alert" => EventKind::Alert,
            "state" => EventKind::State,
            "metric" => EventKind::Metric,
            _ => return None,
        })
    }
}

/// Flat ECS fields keyed by dotted name.
pub type Fields = BTreeMap<FieldName, Value>;

/// One normalised event.
///
/// `@timestamp`, `event.kind` and `event.dataset` are struct fields (every event has them and
/// pipelines route on them); [`Event::get`] answers for them by name like any other field.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event time (`@timestamp`).
    pub timestamp: Timestamp,
    /// `event.kind`.
    pub kind: EventKind,
    /// `event.dataset`, e.g. `flow`, `dns`, `sshd`.
    pub dataset: Cow<'static, str>,
    /// All other fields.
    pub fields: Fields,
}

impl Event {
    /// A new event of kind `event` with no fields.
    pub fn new(timestamp: Timestamp, dataset: impl Into<Cow<'static, str>>) -> Event {
        Event {
            timestamp,
            kind: EventKind::Event,
            dataset: dataset.into(),
            fields: Fields::new(),
        }
    }
    /// Builder-style kind.
    pub fn with_kind(mut self, kind: EventKind) -> Event {
        self.kind = kind;
        self
    }
    /// Set a field (replacing any previous value).
    pub fn set(&mut self, name: impl Into<FieldName>, value: impl Into<Value>) -> &mut Event {
        self.fields.insert(name.into(), value.into());
        self
    }
    /// Set a field only when the value is present.
    pub fn set_opt<V: Into<Value>>(
        &mut self,
        name: impl Into<FieldName>,
        value: Option<V>,
    ) -> &mut Event {
        if let Some(v) = value {
            self.fields.insert(name.into(), v.into());
        }
        self
    }
    /// Builder-style [`Event::set`].
    pub fn with(mut self, name: impl Into<FieldName>, value: impl Into<Value>) -> Event {
        self.set(name, value);
        self
    }
    /// Look a field up by dotted name, including `@timestamp`, `event.kind`, `event.dataset`.
    pub fn get(&self, name: &str) -> Option<Cow<'_, Value>> {
        match name {
            "@timestamp" => Some(Cow::Owned(Value::Time(self.timestamp))),
            "event.kind" => Some(Cow::Owned(Value::Str(self.kind.as_str().to_owned()))),
            "event.dataset" => Some(Cow::Owned(Value::Str(self.dataset.to_string()))),
            _ => self.fields.get(name).map(Cow::Borrowed),
        }
    }
    /// A field's text, if it is a string field.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match name {
            "event.kind" => Some(self.kind.as_str()),
            "event.dataset" => Some(&self.dataset),
            _ => self.fields.get(name).and_then(Value::as_str),
        }
    }
    /// A field as an integer.
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.fields.get(name).and_then(Value::as_i64)
    }
    /// A field as an IP address.
    pub fn get_ip(&self, name: &str) -> Option<IpAddr> {
        self.fields.get(name).and_then(Value::as_ip)
    }

    /// The event as nested JSON (the JSON-lines output form of EVENTS.md).
    pub fn to_json(&self) -> Json {
        let mut root = serde_json::Map::new();
        root.insert(
            "@timestamp".into(),
            Json::String(self.timestamp.to_rfc3339()),
        );
        let mut all: Vec<(&str, Json)> = Vec::with_capacity(self.fields.len() + 2);
        all.push(("event.kind", Json::String(self.kind.as_str().into())));
        all.push(("event.dataset", Json::String(self.dataset.to_string())));
        for (k, v) in &self.fields {
            all.push((k, v.to_json()));
        }
        for (k, v) in all {
            insert_dotted(&mut root, k, v);
        }
        Json::Object(root)
    }

    /// Append the event's JSON-lines form (the same document as [`Event::to_json`]) to
    /// `out` without building an intermediate `serde_json::Value` tree: the nesting is
    /// worked out over borrowed key segments and values are written directly.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let kind = Value::Str(self.kind.as_str().to_owned());
        let dataset = Value::Str(self.dataset.to_string());
        let ts = Value::Time(self.timestamp);
        let mut root = JsonNode::Obj(Vec::with_capacity(8));
        root.insert("@timestamp", &ts);
        root.insert("event.kind", &kind);
        root.insert("event.dataset", &dataset);
        for (k, v) in &self.fields {
            root.insert(k, v);
        }
        root.write(out);
    }

    /// Parse one nested or flat JSON object (our own output, Beats-style documents).
    ///
    /// Nested objects are flattened to dotted names; `@timestamp`, `event.kind` and
    /// `event.dataset` fill the struct fields (missing ones default to epoch / `event` /
    /// `unknown`). Field types follow [`crate::schema`] so IPs and times come back typed.
    pub fn from_json(j: &Json) -> Result<Event, EventJsonError> {
        let obj = j.as_object().ok_or(EventJsonError::NotAnObject)?;
        let mut flat = Vec::new();
        flatten("", obj, &mut flat);
        let mut ev = Event::new(Timestamp::EPOCH, "unknown");
        for (k, v) in flat {
            match k.as_str() {
                "@timestamp" => {
                    let s = v.as_str().ok_or(EventJsonError::BadTimestamp)?;
                    ev.timestamp =
                        Timestamp::parse_rfc3339(s).map_err(|_| EventJsonError::BadTimestamp)?;
                }
                "event.kind" => {
                    ev.kind = v
                        .as_str()
                        .and_then(EventKind::parse)
                        .unwrap_or(EventKind::Event)
                }
                "event.dataset" => {
                    if let Some(s) = v.as_str() {
                        ev.dataset = Cow::Owned(s.to_owned());
                    }
                }
                _ => {
                    if let Some(val) = crate::schema::typed_from_json(&k, &v) {
                        ev.fields.insert(Cow::Owned(k), val);
                    }
                }
            }
        }
        Ok(ev)
    }
}

/// Why a JSON document could not be read as an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventJsonError {
    /// The top level was not a JSON object.
    #[error("event JSON must be an object")]
    NotAnObject,
    /// `@timestamp` was missing its RFC 3339 form.
    #[error("@timestamp is not an RFC 3339 string")]
    BadTimestamp,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Serialise through the nested JSON form so every consumer sees one shape.
        let j = self.to_json();
        match j {
            Json::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in &m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

/// A borrowed JSON tree for [`Event::write_json`]; objects keep first-insertion order and
/// follow the same collision rules as [`insert_dotted`].
enum JsonNode<'a> {
    Leaf(&'a Value),
    Obj(Vec<(&'a str, JsonNode<'a>)>),
}

impl<'a> JsonNode<'a> {
    fn insert(&mut self, key: &'a str, v: &'a Value) {
        let JsonNode::Obj(children) = self else {
            return;
        };
        let (head, rest) = match key.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (key, None),
        };
        let pos = children.iter().position(|(k, _)| *k == head);
        match (rest, pos) {
            (None, None) => children.push((head, JsonNode::Leaf(v))),
            (None, Some(i)) => match &mut children[i].1 {
                // A leaf under an existing object goes to `value`.
                obj @ JsonNode::Obj(_) => obj.insert("value", v),
                leaf => *leaf = JsonNode::Leaf(v),
            },
            (Some(r), None) => {
                let mut child = JsonNode::Obj(Vec::new());
                child.insert(r, v);
                children.push((head, child));
            }
            (Some(r), Some(i)) => {
                let node = &mut children[i].1;
                if let JsonNode::Leaf(old) = node {
                    let old: &'a Value = old;
                    *node = JsonNode::Obj(vec![("value", JsonNode::Leaf(old))]);
                }
                node.insert(r, v);
            }
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            JsonNode::Leaf(v) => write_value(v, out),
            JsonNode::Obj(children) => {
                out.push(b'{');
                for (i, (k, c)) in children.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(k, out);
                    out.push(b':');
                    c.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    // serde_json's escaping; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn write_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => {
            if f.is_finite() {
                let _ = serde_json::to_writer(&mut *out, f);
            } else {
                out.extend_from_slice(b"null");
            }
        }
        Value::Str(s) => write_str(s, out),
        Value::Ip(ip) => {
            out.push(b'"');
            out.extend_from_slice(ip.to_string().as_bytes());
            out.push(b'"');
        }
        Value::Time(t) => {
            let mut s = String::with_capacity(32);
            t.write_rfc3339(&mut s);
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        Value::List(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(x, out);
            }
            out.push(b']');
        }
    }
}

fn insert_dotted(root: &mut serde_json::Map<String, Json>, key: &str, v: Json) {
    let mut parts = key.split('.').peekable();
    let mut cur = root;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            // A leaf that collides with an object keeps both: the object wins the key and the
            // leaf moves under `value` (rare; ECS avoids it).
            match cur.get_mut(p) {
                Some(Json::Object(o)) => {
                    o.insert("value".into(), v);
                }
                _ => {
                    cur.insert(p.to_owned(), v);
                }
            }
            return;
        }
        let entry = cur
            .entry(p.to_owned())
            .or_insert_with(|| Json::Object(Default::default()));
        if !entry.is_object() {
            let old = std::mem::replace(entry, Json::Object(Default::default()));
            if let Json::Object(o) = entry {
                o.insert("value".into(), old);
            }
        }
        match entry {
            Json::Object(o) => cur = o,
            _ => return,
        }
    }
}

fn flatten(prefix: &str, obj: &serde_json::Map<String, Json>, out: &mut Vec<(String, Json)>) {
    for (k, v) in obj {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Json::Object(o) if !o.is_empty() => flatten(&key, o, out),
            Json::Null => {}
            _ => out.push((key, v.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn nests_dotted_fields_in_json() {
        let mut e = Event::new(Timestamp::from_unix_secs(1_700_000_000), "flow");
        e.set("source.ip", Ipv4Addr::new(10, 0, 0, 1))
            .set("source.port", 51000u16)
            .set("network.transport", "tcp");
        let j = e.to_json();
        assert_eq!(j["source"]["ip"], "10.0.0.1");
        assert_eq!(j["source"]["port"], 51000);
        assert_eq!(j["event"]["dataset"], "flow");
        assert_eq!(j["event"]["kind"], "event");
        assert_eq!(j["@timestamp"], "2023-11-14T22:13:20.000000000Z");
    }

    #[test]
    fn json_round_trip_keeps_types() {
        let mut e = Event::new(Timestamp::from_unix_parts(1_700_000_000, 5), "dns");
        e.set("source.ip", Ipv4Addr::new(192, 168, 1, 2))
            .set("dns.question.name", "example.jp")
            .set("dns.answers", vec!["1.2.3.4", "5.6.7.8"])
            .set("event.start", Timestamp::from_unix_secs(5))
            .set("destination.port", 53);
        let back = Event::from_json(&e.to_json()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn get_answers_struct_fields_by_name() {
        let e = Event::new(Timestamp::EPOCH, "sshd").with_kind(EventKind::Alert);
        assert_eq!(e.get_str("event.dataset"), Some("sshd"));
        assert_eq!(e.get_str("event.kind"), Some("alert"));
        assert!(e.get("@timestamp").is_some());
    }

    #[test]
    fn write_json_is_the_same_document_as_to_json() {
        let mut e = Event::new(Timestamp::from_unix_parts(1_700_000_000, 7), "flow");
        e.set("source.ip", Ipv4Addr::new(10, 0, 0, 1))
            .set("source.port", 40000)
            .set("a", "leaf first")
            .set("a.b", 1)
            .set("c.d", "object first")
            .set("c", true)
            .set("x.y.z", vec!["q\"uote", "new\nline", "日本語"])
            .set("f", 1.5)
            .set("nan", f64::NAN)
            .set("t", Timestamp::from_unix_secs(5));
        let mut out = Vec::new();
        e.write_json(&mut out);
        let direct: Json = serde_json::from_slice(&out).unwrap();
        let via_tree: Json =
            serde_json::from_slice(&serde_json::to_vec(&e.to_json()).unwrap()).unwrap();
        assert_eq!(direct, via_tree);
    }

    #[test]
    fn rejects_non_objects() {
        assert_eq!(
            Event::from_json(&serde_json::json!([1, 2])),
            Err(EventJsonError::NotAnObject)
        );
    }
}

#[cfg(test)]
mod write_json_props {
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = String> {
        // Few segment names so that leaf/object collisions are common.
        proptest::collection::vec(prop_oneof!["a", "b", "value", "event", "kind"], 1..4)
            .prop_map(|v| v.join("."))
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::Int),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_map(Value::Float),
            ".{0,8}".prop_map(Value::Str),
            any::<u32>().prop_map(|n| Value::Ip(std::net::Ipv4Addr::from(n).into())),
        ]
    }

    proptest! {
        #[test]
        fn direct_writer_matches_to_json(fields in proptest::collection::vec((key(), value()), 0..12)) {
            let mut e = Event::new(Timestamp::from_unix_secs(1), "flow");
            for (k, v) in fields {
                e.set(k, v);
            }
            let mut out = Vec::new();
            e.write_json(&mut out);
            // Both texts go through the same parser (serde_json's float parsing is not exact).
            let direct: Json = serde_json::from_slice(&out).unwrap();
            let via_tree: Json = serde_json::from_slice(&serde_json::to_vec(&e.to_json()).unwrap()).unwrap();
            prop_assert_eq!(direct, via_tree);
        }
    }
}
