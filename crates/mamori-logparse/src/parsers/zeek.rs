//! Zeek logs: TSV (the `#fields`/`#types` header drives the columns) and JSON, for conn, dns,
//! http, ssl, notice, weird (other logs keep their fields under `zeek.<log>.*`).

use mamori_core::{Event, Timestamp, Value};
use serde_json::Value as Json;

use super::{Input, Outcome, ParseState, ParserDef, ParserInfo, MAX_ZEEK_SOURCES};

/// Most columns in a Zeek TSV header.
pub const MAX_ZEEK_COLUMNS: usize = 256;
/// Most items kept from a Zeek set/vector value.
pub const MAX_ZEEK_SET_ITEMS: usize = 64;

/// The Zeek parsers.
pub const PARSERS: &[ParserDef] = &[ParserDef {
    info: ParserInfo {
        name: "zeek",
        module: "zeek",
        dataset: "zeek.<log>",
        description_en:
            "Zeek TSV and JSON logs (conn, dns, http, ssl, notice, weird, others by name)",
        description_ja: "Zeek の TSV / JSON ログ (conn, dns, http, ssl, notice, weird など)",
        fields: &[
            "source.ip",
            "source.port",
            "destination.ip",
            "destination.port",
            "network.transport",
            "network.protocol",
            "event.duration",
            "source.bytes",
            "destination.bytes",
            "dns.question.name",
            "dns.response_code",
            "url.domain",
            "http.request.method",
            "tls.client.server_name",
            "rule.name",
            "mamori.zeek.uid",
        ],
    },
    parse: zeek,
}];

/// A TSV header: log path, column names and types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZeekHeader {
    /// `#path` (log name).
    pub path: String,
    /// `#fields`.
    pub fields: Vec<String>,
    /// `#types`.
    pub types: Vec<String>,
    /// `#set_separator`.
    pub set_sep: String,
    /// `#unset_field`.
    pub unset: String,
    /// `#empty_field`.
    pub empty: String,
}

/// Outcome text for header lines (the dispatcher treats these as metadata).
pub const HEADER_LINE: &str = "zeek_header";

fn zeek(inp: &Input<'_>, ev: &mut Event, st: &mut ParseState) -> Outcome {
    let line = inp.line.trim_end_matches(['\r', '\n']);
    if let Some(h) = line.strip_prefix('#') {
        return header(h, inp.source, st);
    }
    if line.starts_with('{') {
        return json(inp, ev);
    }
    let Some(h) = st.zeek.get(inp.source) else {
        return Outcome::NoMatch;
    };
    if h.fields.is_empty() || !line.contains('\t') {
        return Outcome::NoMatch;
    }
    let h = h.clone();
    let cols: Vec<&str> = line.split('\t').take(MAX_ZEEK_COLUMNS).collect();
    if cols.len() != h.fields.len() {
        ev.dataset = format!("zeek.{}", h.path).into();
        return Outcome::Partial("column_count_mismatch");
    }
    let mut vals = Vec::with_capacity(cols.len());
    for (i, raw) in cols.iter().enumerate() {
        if *raw == h.unset || *raw == h.empty {
            continue;
        }
        let ty = h.types.get(i).map(String::as_str).unwrap_or("string");
        let v = if ty.starts_with("set[") || ty.starts_with("vector[") {
            let inner = &ty[ty.find('[').map_or(0, |x| x + 1)..ty.len().saturating_sub(1)];
            Value::List(
                raw.split(h.set_sep.as_str())
                    .take(MAX_ZEEK_SET_ITEMS)
                    .filter_map(|x| typed(inner, x))
                    .collect(),
            )
        } else {
            match typed(ty, raw) {
                Some(v) => v,
                None => continue,
            }
        };
        vals.push((h.fields[i].clone(), v));
    }
    map(&h.path, vals, ev)
}

fn header(h: &str, source: &str, st: &mut ParseState) -> Outcome {
    if !st.zeek.contains_key(source) && st.zeek.len() >= MAX_ZEEK_SOURCES {
        return Outcome::Partial("too_many_sources");
    }
    let e = st
        .zeek
        .entry(source.to_owned())
        .or_insert_with(|| ZeekHeader {
            set_sep: ",".into(),
            unset: "-".into(),
            empty: "(empty)".into(),
            ..Default::default()
        });
    let (key, rest) = if let Some(r) = h.strip_prefix("separator ") {
        ("separator", r)
    } else {
        h.split_once('\t').unwrap_or((h, ""))
    };
    match key {
        "separator" => {}
        "set_separator" => e.set_sep = rest.to_owned(),
        "unset_field" => e.unset = rest.to_owned(),
        "empty_field" => e.empty = rest.to_owned(),
        "path" => e.path = rest.to_owned(),
        "fields" => {
            e.fields = rest
                .split('\t')
                .take(MAX_ZEEK_COLUMNS)
                .map(str::to_owned)
                .collect()
        }
        "types" => {
            e.types = rest
                .split('\t')
                .take(MAX_ZEEK_COLUMNS)
                .map(str::to_owned)
                .collect()
        }
        "open" | "close" => {}
        _ => return Outcome::NoMatch,
    }
    Outcome::Partial(HEADER_LINE)
}

fn typed(ty: &str, raw: &str) -> Option<Value> {
    Some(match ty {
        "time" | "interval" | "double" => Value::Float(raw.parse().ok()?),
        "count" | "int" | "port" => Value::Int(raw.parse().ok()?),
        "addr" => Value::Ip(raw.parse().ok()?),
        "bool" => Value::Bool(raw == "T"),
        _ => Value::Str(raw.to_owned()),
    })
}

fn json(inp: &Input<'_>, ev: &mut Event) -> Outcome {
    let Ok(Json::Object(o)) = serde_json::from_str::<Json>(inp.line.trim()) else {
        return Outcome::NoMatch;
    };
    if !o.contains_key("uid") && !o.contains_key("_path") && !o.contains_key("id.orig_h") {
        return Outcome::NoMatch;
    }
    let path = o
        .get("_path")
        .and_then(Json::as_str)
        .map(str::to_owned)
        .or_else(|| {
            inp.hint
                .and_then(|h| h.strip_prefix("zeek."))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| guess_path(&o).to_owned());
    let mut vals = Vec::new();
    for (k, v) in &o {
        if k == "_path" || k == "_write_ts" {
            continue;
        }
        let val = match (k.as_str(), v) {
            ("id.orig_h" | "id.resp_h" | "src" | "dst", Json::String(s)) => {
                s.parse().ok().map(Value::Ip)
            }
            ("ts", Json::String(s)) => crate::time::parse_iso_prefix(s, inp.zone)
                .map(|(t, _)| Value::Float(t.unix_nanos() as f64 / 1e9)),
            _ => Value::from_json(v),
        };
        if let Some(val) = val {
            vals.push((k.clone(), val));
        }
        if vals.len() >= MAX_ZEEK_COLUMNS {
            break;
        }
    }
    map(&path, vals, ev)
}

fn guess_path(o: &serde_json::Map<String, Json>) -> &'static str {
    if o.contains_key("conn_state") {
        "conn"
    } else if o.contains_key("qtype_name") || o.contains_key("query") {
        "dns"
    } else if o.contains_key("method") || o.contains_key("status_code") {
        "http"
    } else if o.contains_key("server_name") || o.contains_key("cipher") {
        "ssl"
    } else if o.contains_key("note") {
        "notice"
    } else if o.contains_key("name") && o.contains_key("notice") {
        "weird"
    } else {
        "unknown"
    }
}

fn secs_to_ts(v: &Value) -> Option<Timestamp> {
    let f = v.as_f64()?;
    (f.is_finite() && (0.0..1.0e11).contains(&f))
        .then(|| Timestamp::from_unix_nanos((f * 1e9) as i64))
}

fn map(path: &str, vals: Vec<(String, Value)>, ev: &mut Event) -> Outcome {
    ev.dataset = format!("zeek.{path}").into();
    ev.set("event.module", "zeek");
    ev.set("event.category", vec!["network"]);
    for (k, v) in vals {
        let ecs: Option<&'static str> = match (path, k.as_str()) {
            (_, "ts") => {
                if let Some(t) = secs_to_ts(&v) {
                    ev.timestamp = t;
                }
                continue;
            }
            (_, "uid") => Some("mamori.zeek.uid"),
            (_, "id.orig_h") => Some("source.ip"),
            (_, "id.orig_p") => Some("source.port"),
            (_, "id.resp_h") => Some("destination.ip"),
            (_, "id.resp_p") => Some("destination.port"),
            (_, "proto") => Some("network.transport"),
            (_, "community_id") => Some("network.community_id"),
            ("conn", "service") => Some("network.protocol"),
            ("conn", "duration") => {
                if let Some(f) = v.as_f64().filter(|f| f.is_finite()) {
                    ev.set("event.duration", (f * 1e9) as i64);
                }
                continue;
            }
            ("conn", "orig_bytes") => Some("source.bytes"),
            ("conn", "resp_bytes") => Some("destination.bytes"),
            ("conn", "orig_pkts") => Some("source.packets"),
            ("conn", "resp_pkts") => Some("destination.packets"),
            ("conn", "conn_state") => Some("mamori.flow.state"),
            ("dns", "query") => Some("dns.question.name"),
            ("dns", "qtype_name") => Some("dns.question.type"),
            ("dns", "qclass_name") => Some("dns.question.class"),
            ("dns", "rcode_name") => Some("dns.response_code"),
            ("dns", "answers") => Some("dns.answers"),
            ("dns", "trans_id") => Some("dns.id"),
            ("http", "method") => Some("http.request.method"),
            ("http", "host") => Some("url.domain"),
            ("http", "uri") => Some("url.original"),
            ("http", "status_code") => Some("http.response.status_code"),
            ("http", "user_agent") => Some("user_agent.original"),
            ("http", "referrer") => Some("http.request.referrer"),
            ("http", "version") => Some("http.version"),
            ("http", "request_body_len") => Some("http.request.body.bytes"),
            ("http", "response_body_len") => Some("http.response.body.bytes"),
            ("ssl", "server_name") => Some("tls.client.server_name"),
            ("ssl", "version") => Some("tls.version"),
            ("ssl", "cipher") => Some("tls.cipher"),
            ("ssl", "subject") => Some("tls.server.x509.subject.distinguished_name"),
            ("ssl", "issuer") => Some("tls.server.x509.issuer.distinguished_name"),
            ("ssl", "ja3") => Some("tls.client.ja3"),
            ("ssl", "ja3s") => Some("tls.server.ja3s"),
            ("ssl", "established") => Some("tls.established"),
            ("notice", "note") => Some("rule.name"),
            ("notice", "msg") => Some("message"),
            ("notice", "src") => Some("source.ip"),
            ("notice", "dst") => Some("destination.ip"),
            ("notice", "p") => Some("destination.port"),
            ("weird", "name") => Some("rule.name"),
            _ => None,
        };
        match ecs {
            Some("network.transport") => {
                ev.set("network.transport", v.to_string().to_ascii_lowercase());
            }
            Some(f) => {
                ev.set(f, v);
            }
            None => {
                ev.set(format!("zeek.{path}.{k}"), v);
            }
        }
    }
    match path {
        "conn" => {
            ev.set("event.type", vec!["connection"]);
        }
        "notice" | "weird" => {
            ev.set("event.type", vec!["info"]);
            ev.set("event.category", vec!["network", "intrusion_detection"]);
        }
        _ => {
            ev.set("event.type", vec!["protocol"]);
            if matches!(path, "dns" | "http") {
                ev.set("network.protocol", path);
            } else if path == "ssl" {
                ev.set("network.protocol", "tls");
            }
        }
    }
    Outcome::Done
}
