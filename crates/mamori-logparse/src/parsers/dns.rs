//! DNS servers: BIND query log, dnsmasq (queries and replies; DHCP lines go to `dhcp`), Unbound.

use mamori_core::Event;

use super::{dhcp, set_int, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo};
use crate::text::{after, between, ip_port, word};
use crate::time::{month_from_abbr, num, parse_hms};

const DNS_FIELDS: &[&str] = &[
    "source.ip",
    "source.port",
    "dns.question.name",
    "dns.question.type",
    "dns.question.class",
    "dns.response_code",
    "dns.answers",
    "destination.ip",
    "event.action",
];

/// The DNS parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "bind",
            module: "bind",
            dataset: "dns",
            description_en:
                "BIND named query log (client, name, type, class, flags, server address)",
            description_ja: "BIND named のクエリログ",
            fields: DNS_FIELDS,
        },
        parse: bind,
    },
    ParserDef {
        info: ParserInfo {
            name: "dnsmasq",
            module: "dnsmasq",
            dataset: "dns",
            description_en:
                "dnsmasq queries, forwards, replies (incl. NXDOMAIN) and its DHCP lines",
            description_ja: "dnsmasq のクエリ・転送・応答 (NXDOMAIN を含む) と DHCP ログ",
            fields: DNS_FIELDS,
        },
        parse: dnsmasq,
    },
    ParserDef {
        info: ParserInfo {
            name: "unbound",
            module: "unbound",
            dataset: "dns",
            description_en: "Unbound log-queries / log-replies lines",
            description_ja: "Unbound のクエリ・応答ログ",
            fields: DNS_FIELDS,
        },
        parse: unbound,
    },
];

fn dns_event(ev: &mut Event, action: &str) {
    ev.set("event.category", vec!["network"]);
    ev.set("event.type", vec!["protocol"]);
    ev.set("event.action", action);
    ev.set("network.protocol", "dns");
}

fn bind(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let mut t = inp.text.trim();
    // File form: "23-Nov-2026 10:00:00.123 [queries: info: ]client ..."
    let b = t.as_bytes();
    if b.len() > 20 && b[2] == b'-' && b[6] == b'-' && b[11] == b' ' {
        if let (Some(d), Some(mo), Some(y), Some((h, mi, s, ns, used))) = (
            num(&b[0..2]),
            month_from_abbr(&b[3..6]),
            num(&b[7..11]),
            parse_hms(&b[12..]),
        ) {
            if let Some(ts) = inp.zone.civil(y as i32, mo, d, h, mi, s, ns) {
                ev.timestamp = ts;
            }
            t = t[12 + used..].trim_start();
        }
    }
    let Some(client) = after(t, "client ") else {
        return Outcome::NoMatch;
    };
    let Some(q) = after(client, "query: ") else {
        if t.contains(" denied") {
            dns_event(ev, "denied");
            ev.set("event.outcome", "failure");
            set_client(ev, client);
            if let Some(q) =
                between(t, "query (cache) '", "'").or_else(|| between(t, "query '", "'"))
            {
                let mut p = q.split('/');
                set_str(ev, "dns.question.name", p.next().unwrap_or(""));
                set_str(ev, "dns.question.type", p.next().unwrap_or(""));
                set_str(ev, "dns.question.class", p.next().unwrap_or(""));
            }
            return Outcome::Done;
        }
        return Outcome::NoMatch;
    };
    dns_event(ev, "query");
    if !set_client(ev, client) {
        return Outcome::Partial("bad_client_address");
    }
    let mut w = q.split_whitespace();
    let (Some(name), Some(class), Some(typ)) = (w.next(), w.next(), w.next()) else {
        return Outcome::Partial("truncated");
    };
    ev.set("dns.question.name", name.trim_end_matches('.'));
    ev.set("dns.question.class", class);
    ev.set("dns.question.type", typ);
    if let Some(flags) = w.next() {
        ev.set("mamori.dns.flags", flags);
    }
    if let Some(server) = w.next() {
        set_ip(ev, "destination.ip", server.trim_matches(['(', ')']));
    }
    Outcome::Done
}

/// `@0x7f.. 192.168.1.10#53211 (name):` or `192.168.1.10#53211:`
fn set_client(ev: &mut Event, client: &str) -> bool {
    let mut w = client.split_whitespace();
    let mut a = w.next().unwrap_or("");
    if a.starts_with('@') {
        a = w.next().unwrap_or("");
    }
    match ip_port(a.trim_end_matches(':')) {
        Some((ip, port)) => {
            ev.set("source.ip", ip);
            ev.set_opt("source.port", port);
            true
        }
        None => false,
    }
}

fn dnsmasq(inp: &Input<'_>, ev: &mut Event, st: &mut ParseState) -> Outcome {
    let mut t = inp.text.trim();
    if t.starts_with("DHCP") || inp.header.app == Some("dnsmasq-dhcp") {
        return dhcp::dnsmasq_dhcp(inp, ev, st);
    }
    // log-queries=extra: "1234 192.168.1.10/53211 query[A] ..."
    let (first, rest) = word(t);
    if first.bytes().all(|c| c.is_ascii_digit()) && !first.is_empty() {
        let (client, rest2) = word(rest);
        if let Some((a, p)) = ip_port(client) {
            ev.set("source.ip", a);
            ev.set_opt("source.port", p);
            set_int(ev, "mamori.dns.query_id", first);
            t = rest2;
        }
    }
    let (verb, rest) = word(t);
    if let Some(typ) = verb
        .strip_prefix("query[")
        .and_then(|v| v.strip_suffix(']'))
    {
        dns_event(ev, "query");
        let Some((name, from)) = rest.split_once(" from ") else {
            return Outcome::Partial("truncated");
        };
        ev.set("dns.question.name", name.trim());
        ev.set("dns.question.type", typ);
        if !set_ip(ev, "source.ip", from.trim()) {
            return Outcome::Partial("bad_client_address");
        }
        return Outcome::Done;
    }
    match verb {
        "forwarded" => {
            dns_event(ev, "forwarded");
            let Some((name, to)) = rest.split_once(" to ") else {
                return Outcome::Partial("truncated");
            };
            ev.set("dns.question.name", name.trim());
            set_ip(ev, "destination.ip", to.trim());
        }
        "reply" | "cached" | "config" | "/etc/hosts" => {
            dns_event(
                ev,
                if verb == "reply" {
                    "answer"
                } else {
                    verb.trim_start_matches('/')
                },
            );
            let Some((name, ans)) = rest.split_once(" is ") else {
                return Outcome::Partial("truncated");
            };
            ev.set("dns.question.name", name.trim());
            let ans = ans.trim();
            match ans {
                "NXDOMAIN" => {
                    ev.set("dns.response_code", "NXDOMAIN");
                }
                "NODATA" | "NODATA-IPv4" | "NODATA-IPv6" => {
                    ev.set("dns.response_code", "NOERROR");
                    ev.set("mamori.dns.nodata", true);
                }
                "SERVFAIL" | "REFUSED" => {
                    ev.set("dns.response_code", ans);
                }
                _ => {
                    ev.set("dns.response_code", "NOERROR");
                    ev.set("dns.answers", vec![ans.to_owned()]);
                    if let Some(a) = crate::text::ip(ans) {
                        ev.set("dns.resolved_ip", vec![a]);
                    }
                }
            }
        }
        _ => return Outcome::NoMatch,
    }
    Outcome::Done
}

fn unbound(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let mut t = inp.text.trim();
    // "[1700000000] unbound[1234:0] info: ..." (file) or "[1234:0] info: ..." (syslog)
    if let Some(r) = t.strip_prefix('[') {
        if let Some((stamp, rest)) = r.split_once("] ") {
            if let Ok(secs) = stamp.parse::<i64>() {
                ev.timestamp = mamori_core::Timestamp::from_unix_secs(secs);
            }
            t = rest;
        }
    }
    if t.starts_with("unbound[") {
        t = t.split_once("] ").map_or(t, |(_, r)| r);
    }
    let Some(r) = t.strip_prefix("info: ") else {
        return Outcome::NoMatch;
    };
    let w: Vec<&str> = r.split_whitespace().take(8).collect();
    if w.len() < 4 || crate::text::ip(w[0]).is_none() {
        return Outcome::NoMatch;
    }
    set_ip(ev, "source.ip", w[0]);
    ev.set("dns.question.name", w[1].trim_end_matches('.'));
    ev.set("dns.question.type", w[2]);
    ev.set("dns.question.class", w[3]);
    if let Some(rc) = w.get(4) {
        dns_event(ev, "answer");
        ev.set("dns.response_code", *rc);
        if let Some(secs) = w.get(5).and_then(|s| s.parse::<f64>().ok()) {
            ev.set("event.duration", (secs * 1e9) as i64);
        }
        if let Some(c) = w.get(6) {
            set_int(ev, "mamori.dns.from_cache", c);
        }
    } else {
        dns_event(ev, "query");
    }
    Outcome::Done
}
