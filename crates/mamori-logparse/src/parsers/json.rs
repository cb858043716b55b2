//! JSON lines: Suricata EVE and generic JSON with a configurable field map.

use mamori_core::{Event, EventKind, Value};
use serde_json::{Map, Value as Json};

use super::{set_ip, Input, Outcome, ParseState, ParserDef, ParserInfo};

/// Most fields copied from one generic JSON document.
pub const MAX_JSON_FIELDS: usize = 256;
/// Deepest nesting flattened from a JSON document.
pub const MAX_JSON_DEPTH: usize = 16;

/// The JSON parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "suricata",
            module: "suricata",
            dataset: "suricata",
            description_en: "Suricata EVE JSON: alert, flow, dns, http, tls, fileinfo, anomaly (others kept with network fields)",
            description_ja: "Suricata EVE JSON: アラート、フロー、DNS、HTTP、TLS、ファイル、異常",
            fields: &["source.ip", "source.port", "destination.ip", "destination.port", "network.transport", "network.protocol", "rule.id", "rule.name", "rule.category", "event.severity", "dns.question.name", "url.original", "tls.client.server_name", "file.name", "network.community_id"],
        },
        parse: suricata,
    },
    ParserDef {
        info: ParserInfo {
            name: "json",
            module: "json",
            dataset: "json",
            description_en: "Generic JSON lines: ECS-shaped documents kept as is, other keys through the configured field map (dotted path or JSON pointer → ECS name)",
            description_ja: "汎用 JSON Lines: ECS 形式はそのまま、その他は設定したフィールド対応表で ECS 名に変換",
            fields: &["@timestamp", "message"],
        },
        parse: generic,
    },
];

/// Parse the line as a JSON object (the text after any syslog header, or the whole line).
pub(crate) fn object(inp: &Input<'_>) -> Option<Map<String, Json>> {
    let t = inp.text.trim();
    let t = if t.starts_with('{') {
        t
    } else {
        inp.line.trim()
    };
    if !t.starts_with('{') {
        return None;
    }
    match serde_json::from_str::<Json>(t) {
        Ok(Json::Object(m)) => Some(m),
        _ => None,
    }
}

fn s<'a>(o: &'a Map<String, Json>, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Json::as_str)
}
fn n(o: &Map<String, Json>, k: &str) -> Option<i64> {
    o.get(k).and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|x| x.parse().ok()))
    })
}
fn obj<'a>(o: &'a Map<String, Json>, k: &str) -> Option<&'a Map<String, Json>> {
    o.get(k).and_then(Json::as_object)
}
fn put_s(ev: &mut Event, f: &'static str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        ev.set(f, v);
    }
}
fn put_n(ev: &mut Event, f: &'static str, v: Option<i64>) {
    ev.set_opt(f, v);
}

fn suricata(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let Some(o) = object(inp) else {
        return Outcome::NoMatch;
    };
    let Some(et) = s(&o, "event_type") else {
        return Outcome::NoMatch;
    };
    let et = et.to_owned();
    if let Some(ts) = s(&o, "timestamp") {
        match crate::time::parse_iso_prefix(ts, inp.zone) {
            Some((t, _)) => ev.timestamp = t,
            None => return Outcome::Partial("bad_timestamp"),
        }
    }
    ev.set("mamori.suricata.event_type", et.as_str());
    if let Some(ip) = s(&o, "src_ip") {
        set_ip(ev, "source.ip", ip);
    }
    if let Some(ip) = s(&o, "dest_ip") {
        set_ip(ev, "destination.ip", ip);
    }
    put_n(ev, "source.port", n(&o, "src_port"));
    put_n(ev, "destination.port", n(&o, "dest_port"));
    if let Some(p) = s(&o, "proto") {
        ev.set("network.transport", p.to_ascii_lowercase());
    }
    put_s(
        ev,
        "network.protocol",
        s(&o, "app_proto").filter(|p| *p != "failed"),
    );
    put_s(ev, "observer.ingress.interface.name", s(&o, "in_iface"));
    put_s(ev, "network.community_id", s(&o, "community_id"));
    put_n(ev, "mamori.suricata.flow_id", n(&o, "flow_id"));
    put_s(ev, "host.name", s(&o, "host"));
    ev.set("event.category", vec!["network"]);
    match et.as_str() {
        "alert" => {
            let Some(a) = obj(&o, "alert") else {
                return Outcome::Partial("missing_alert");
            };
            ev.kind = EventKind::Alert;
            ev.set("event.category", vec!["network", "intrusion_detection"]);
            ev.set(
                "event.type",
                vec![if s(a, "action") == Some("blocked") {
                    "denied"
                } else {
                    "allowed"
                }],
            );
            put_s(ev, "event.action", s(a, "action"));
            if let Some(id) = n(a, "signature_id") {
                ev.set("rule.id", id.to_string());
            }
            put_s(ev, "rule.name", s(a, "signature"));
            put_s(ev, "rule.category", s(a, "category"));
            ev.set("rule.ruleset", "suricata");
            put_n(ev, "mamori.suricata.gid", n(a, "gid"));
            put_n(ev, "mamori.suricata.rev", n(a, "rev"));
            if let Some(sev) = n(a, "severity") {
                // Suricata 1 = high … 3 = low; mamori 1 low … 4 critical.
                let m = match sev {
                    1 => 3,
                    2 => 2,
                    _ => 1,
                };
                ev.set("event.severity", m);
                ev.set("mamori.suricata.severity", sev);
            }
        }
        "flow" | "netflow" => {
            ev.set("event.type", vec!["connection"]);
            if let Some(f) = obj(&o, "flow").or_else(|| obj(&o, "netflow")) {
                put_n(ev, "source.bytes", n(f, "bytes_toserver"));
                put_n(ev, "destination.bytes", n(f, "bytes_toclient"));
                put_n(ev, "source.packets", n(f, "pkts_toserver"));
                put_n(ev, "destination.packets", n(f, "pkts_toclient"));
                put_s(ev, "mamori.flow.state", s(f, "state"));
                put_s(ev, "event.reason", s(f, "reason"));
                for (k, f2) in [("start", "event.start"), ("end", "event.end")] {
                    if let Some((t, _)) =
                        s(f, k).and_then(|x| crate::time::parse_iso_prefix(x, inp.zone))
                    {
                        ev.set(f2, t);
                    }
                }
            }
        }
        "dns" => {
            ev.set("event.type", vec!["protocol"]);
            ev.set("network.protocol", "dns");
            if let Some(d) = obj(&o, "dns") {
                put_s(ev, "dns.type", s(d, "type"));
                put_n(ev, "dns.id", n(d, "id"));
                put_s(ev, "dns.response_code", s(d, "rcode"));
                // EVE v2 puts the question in "queries"[0] for queries; v1 uses rrname.
                let q = d
                    .get("queries")
                    .and_then(Json::as_array)
                    .and_then(|a| a.first())
                    .and_then(Json::as_object)
                    .unwrap_or(d);
                put_s(ev, "dns.question.name", s(q, "rrname"));
                put_s(ev, "dns.question.type", s(q, "rrtype"));
                if let Some(ans) = d.get("answers").and_then(Json::as_array) {
                    let v: Vec<String> = ans
                        .iter()
                        .filter_map(|a| a.get("rdata").and_then(Json::as_str))
                        .take(64)
                        .map(str::to_owned)
                        .collect();
                    if !v.is_empty() {
                        ev.set("dns.answers", v);
                    }
                } else if let Some(r) = s(d, "rdata") {
                    ev.set("dns.answers", vec![r.to_owned()]);
                }
            }
        }
        "http" => {
            ev.set("event.category", vec!["network", "web"]);
            ev.set("event.type", vec!["protocol"]);
            ev.set("network.protocol", "http");
            if let Some(h) = obj(&o, "http") {
                put_s(ev, "url.domain", s(h, "hostname"));
                put_s(ev, "url.original", s(h, "url"));
                put_s(ev, "http.request.method", s(h, "http_method"));
                put_n(ev, "http.response.status_code", n(h, "status"));
                put_s(ev, "user_agent.original", s(h, "http_user_agent"));
                put_s(ev, "http.request.referrer", s(h, "http_refer"));
                put_n(ev, "http.response.body.bytes", n(h, "length"));
                put_s(ev, "http.response.mime_type", s(h, "http_content_type"));
                put_s(
                    ev,
                    "http.version",
                    s(h, "protocol").map(|p| p.trim_start_matches("HTTP/")),
                );
            }
        }
        "tls" => {
            ev.set("event.type", vec!["protocol"]);
            ev.set("network.protocol", "tls");
            if let Some(t) = obj(&o, "tls") {
                put_s(ev, "tls.client.server_name", s(t, "sni"));
                if let Some(v) = s(t, "version") {
                    ev.set(
                        "tls.version",
                        v.trim_start_matches("TLS ").trim_start_matches("TLSv"),
                    );
                    ev.set(
                        "tls.version_protocol",
                        if v.starts_with("SSL") { "ssl" } else { "tls" },
                    );
                }
                put_s(
                    ev,
                    "tls.server.x509.subject.distinguished_name",
                    s(t, "subject"),
                );
                put_s(
                    ev,
                    "tls.server.x509.issuer.distinguished_name",
                    s(t, "issuerdn"),
                );
                put_s(
                    ev,
                    "tls.server.hash.sha1",
                    s(t, "fingerprint").map(|f| f.trim()),
                );
                put_s(
                    ev,
                    "tls.client.ja3",
                    obj(t, "ja3").and_then(|j| s(j, "hash")),
                );
                put_s(
                    ev,
                    "tls.server.ja3s",
                    obj(t, "ja3s").and_then(|j| s(j, "hash")),
                );
                put_s(ev, "tls.client.ja4", s(t, "ja4"));
            }
        }
        "fileinfo" => {
            ev.set("event.category", vec!["network", "file"]);
            ev.set("event.type", vec!["info"]);
            if let Some(f) = obj(&o, "fileinfo") {
                put_s(ev, "file.name", s(f, "filename"));
                put_n(ev, "file.size", n(f, "size"));
                put_s(ev, "file.hash.md5", s(f, "md5"));
                put_s(ev, "file.hash.sha1", s(f, "sha1"));
                put_s(ev, "file.hash.sha256", s(f, "sha256"));
                put_s(ev, "file.mime_type", s(f, "magic"));
            }
        }
        "anomaly" => {
            ev.set("event.type", vec!["info"]);
            if let Some(a) = obj(&o, "anomaly") {
                put_s(ev, "mamori.suricata.anomaly.type", s(a, "type"));
                put_s(ev, "event.reason", s(a, "event"));
                put_s(ev, "network.protocol", s(a, "app_proto"));
            }
        }
        "stats" => {
            ev.kind = EventKind::Metric;
            ev.set("event.type", vec!["info"]);
        }
        _ => {
            ev.set("event.type", vec!["protocol"]);
        }
    }
    Outcome::Done
}

/// Look a value up by dotted path (`a.b.c`, also matching literal dotted keys) or JSON pointer.
pub fn lookup<'a>(root: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    if path.starts_with('/') {
        return pointer(root, path);
    }
    if let Some(v) = root.get(path) {
        return Some(v);
    }
    let mut cur = root;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        let v = cur.get(p)?;
        if parts.peek().is_none() {
            return Some(v);
        }
        cur = v.as_object()?;
    }
    None
}

fn pointer<'a>(root: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    let mut parts = path.split('/').skip(1);
    let first = parts.next()?.replace("~1", "/").replace("~0", "~");
    let mut cur = root.get(&first)?;
    for p in parts {
        let p = p.replace("~1", "/").replace("~0", "~");
        cur = match cur {
            Json::Object(m) => m.get(&p)?,
            Json::Array(a) => a.get(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn flatten(prefix: &str, o: &Map<String, Json>, depth: usize, out: &mut Vec<(String, Json)>) {
    for (k, v) in o {
        if out.len() >= MAX_JSON_FIELDS {
            return;
        }
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Json::Object(m) if depth < MAX_JSON_DEPTH && !m.is_empty() => {
                flatten(&key, m, depth + 1, out)
            }
            Json::Null => {}
            _ => out.push((key, v.clone())),
        }
    }
}

/// Keys whose value is taken as the event time when no map entry targets `@timestamp`.
const TIME_KEYS: &[&str] = &["@timestamp", "timestamp", "time", "ts", "date", "EventTime"];

fn generic(inp: &Input<'_>, ev: &mut Event, st: &mut ParseState) -> Outcome {
    let Some(o) = object(inp) else {
        return Outcome::NoMatch;
    };
    let mut time_json: Option<&Json> = None;
    for (src, dst) in &st.json_map {
        let Some(v) = lookup(&o, src) else {
            continue;
        };
        if dst == "@timestamp" {
            time_json = Some(v);
            continue;
        }
        if let Some(val) =
            mamori_core::schema::typed_from_json(dst, v).or_else(|| Value::from_json(v))
        {
            ev.set(dst.clone(), val);
        }
    }
    if time_json.is_none() {
        time_json = TIME_KEYS.iter().find_map(|k| o.get(*k));
    }
    if let Some(t) = time_json {
        match json_time(t, inp.zone) {
            Some(ts) => ev.timestamp = ts,
            None => return Outcome::Partial("bad_timestamp"),
        }
    }
    // ECS-shaped documents (or any keys when no map is configured) are kept by name.
    let ecs_like = o.contains_key("@timestamp") || o.contains_key("event") || o.contains_key("ecs");
    if st.json_map.is_empty() || ecs_like {
        let mut flat = Vec::new();
        flatten("", &o, 0, &mut flat);
        for (k, v) in flat {
            match k.as_str() {
                "@timestamp" | "event.kind" => continue,
                "event.dataset" => {
                    if let Some(d) = v.as_str() {
                        ev.dataset = d.to_owned().into();
                    }
                    continue;
                }
                _ => {}
            }
            let name = if ecs_like { k } else { format!("json.{k}") };
            if ev.fields.contains_key(name.as_str()) {
                continue;
            }
            if let Some(val) =
                mamori_core::schema::typed_from_json(&name, &v).or_else(|| Value::from_json(&v))
            {
                ev.set(name, val);
            }
        }
    }
    Outcome::Done
}

/// A JSON time: RFC 3339 text, epoch seconds (int or float) or epoch milliseconds.
pub(crate) fn json_time(v: &Json, zone: &crate::time::Zone) -> Option<mamori_core::Timestamp> {
    match v {
        Json::String(s) => crate::time::parse_iso_prefix(s, zone)
            .map(|(t, _)| t)
            .or_else(|| s.parse::<f64>().ok().and_then(epoch)),
        Json::Number(n) => epoch(n.as_f64()?),
        _ => None,
    }
}

fn epoch(f: f64) -> Option<mamori_core::Timestamp> {
    if !f.is_finite() || f < 0.0 {
        return None;
    }
    // Milliseconds when too large for seconds in this millennium.
    let secs = if f > 1.0e11 { f / 1000.0 } else { f };
    if secs > 1.0e11 {
        return None;
    }
    Some(mamori_core::Timestamp::from_unix_nanos((secs * 1e9) as i64))
}
