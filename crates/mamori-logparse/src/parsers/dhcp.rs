//! DHCP servers: ISC dhcpd, dnsmasq-dhcp, Kea.

use mamori_core::Event;

use super::{set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo};
use crate::text::{after, between, word};

const DHCP_FIELDS: &[&str] = &[
    "mamori.dhcp.message_type",
    "client.mac",
    "client.ip",
    "mamori.dhcp.hostname",
    "mamori.dhcp.interface",
    "mamori.dhcp.server_ip",
    "event.action",
];

/// The DHCP parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "dhcpd",
            module: "dhcpd",
            dataset: "dhcp",
            description_en: "ISC dhcpd: DISCOVER/OFFER/REQUEST/ACK/NAK/RELEASE/DECLINE/INFORM with MAC, address, host name, relay",
            description_ja: "ISC dhcpd: DHCP の各メッセージ (MAC アドレス、割当 IP、ホスト名、経由インタフェース)",
            fields: DHCP_FIELDS,
        },
        parse: dhcpd,
    },
    ParserDef {
        info: ParserInfo {
            name: "kea",
            module: "kea",
            dataset: "dhcp",
            description_en: "ISC Kea DHCPv4/v6 log codes (DHCP4_LEASE_ALLOC, DHCP4_RELEASE, …)",
            description_ja: "ISC Kea の DHCPv4/v6 ログ (リース割当・解放など)",
            fields: DHCP_FIELDS,
        },
        parse: kea,
    },
];

fn dhcp_event(ev: &mut Event, typ: &str) {
    ev.set("event.category", vec!["network"]);
    ev.set("event.type", vec!["protocol"]);
    ev.set("network.protocol", "dhcp");
    ev.set("event.action", format!("dhcp-{typ}"));
    ev.set("mamori.dhcp.message_type", typ);
}

fn is_mac(s: &str) -> bool {
    s.len() >= 11
        && s.split(':').count() >= 6
        && s.bytes().all(|c| c.is_ascii_hexdigit() || c == b':')
}

fn dhcpd(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    let (verb, rest) = word(t);
    let Some(typ) = verb
        .strip_prefix("DHCP")
        .filter(|v| v.chars().all(|c| c.is_ascii_uppercase()) && !v.is_empty())
    else {
        return Outcome::NoMatch;
    };
    dhcp_event(ev, &typ.to_ascii_lowercase());
    let w: Vec<&str> = rest.split_whitespace().take(24).collect();
    let mut i = 0;
    let mut mac_seen = false;
    while i < w.len() {
        match w[i] {
            "on" | "of" | "for" if i + 1 < w.len() => {
                set_ip(ev, "client.ip", w[i + 1]);
                i += 1;
            }
            "from" | "to" if i + 1 < w.len() => {
                let x = w[i + 1];
                if is_mac(x) {
                    ev.set("client.mac", x.to_ascii_lowercase());
                    mac_seen = true;
                } else {
                    set_ip(ev, "client.ip", x);
                }
                i += 1;
            }
            "via" if i + 1 < w.len() => {
                let x = w[i + 1];
                if !set_ip(ev, "mamori.dhcp.relay_ip", x) {
                    ev.set("mamori.dhcp.interface", x);
                }
                i += 1;
            }
            x if x.len() >= 2 && x.starts_with('(') && x.ends_with(')') => {
                let inner = &x[1..x.len() - 1];
                if !set_ip(ev, "mamori.dhcp.server_ip", inner) && mac_seen {
                    set_str(ev, "mamori.dhcp.hostname", inner);
                }
            }
            _ => {}
        }
        i += 1;
    }
    if !mac_seen && ev.get("client.ip").is_none() {
        return Outcome::Partial("missing_client");
    }
    Outcome::Done
}

/// dnsmasq-dhcp: `DHCPACK(eth0) 192.168.1.50 00:11:22:33:44:55 host1`.
pub(crate) fn dnsmasq_dhcp(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    // Optional transaction id prefix "1234567 ".
    let t = match word(t) {
        (id, rest) if id.bytes().all(|c| c.is_ascii_digit()) && !id.is_empty() => rest,
        _ => t,
    };
    let (verb, rest) = word(t);
    let Some(r) = verb.strip_prefix("DHCP") else {
        return Outcome::NoMatch;
    };
    let (typ, iface) = match r.split_once('(') {
        Some((ty, i)) => (ty, i.trim_end_matches(')')),
        None => (r, ""),
    };
    if typ.is_empty() || !typ.chars().all(|c| c.is_ascii_uppercase()) {
        return Outcome::NoMatch;
    }
    ev.dataset = "dhcp".into();
    dhcp_event(ev, &typ.to_ascii_lowercase());
    set_str(ev, "mamori.dhcp.interface", iface);
    let mut mac_seen = false;
    for x in rest.split_whitespace().take(8) {
        if is_mac(x) {
            ev.set("client.mac", x.to_ascii_lowercase());
            mac_seen = true;
        } else if crate::text::ip(x).is_some() {
            set_ip(ev, "client.ip", x);
        } else if mac_seen {
            set_str(ev, "mamori.dhcp.hostname", x);
            break;
        }
    }
    Outcome::Done
}

fn kea(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text;
    let Some(pos) = t.find("DHCP4_").or_else(|| t.find("DHCP6_")) else {
        return Outcome::NoMatch;
    };
    let (code, rest) = word(&t[pos..]);
    // File form puts the level where a syslog host would be.
    if matches!(
        inp.header.hostname,
        Some("INFO" | "WARN" | "ERROR" | "DEBUG" | "FATAL")
    ) {
        ev.fields.remove("host.hostname");
        ev.set(
            "log.level",
            inp.header.hostname.unwrap_or("").to_ascii_lowercase(),
        );
    }
    ev.set("event.code", code);
    let typ = if code.contains("LEASE_ALLOC") {
        "ack"
    } else if code.contains("LEASE_ADVERT") {
        "offer"
    } else if code.contains("RELEASE") {
        "release"
    } else if code.contains("DECLINE") {
        "decline"
    } else if code.contains("NAK") {
        "nak"
    } else if code.contains("PACKET_RECEIVED") {
        after(rest, ": DHCP").map_or("packet", |r| {
            let w = word(r).0;
            match w {
                "DISCOVER" => "discover",
                "REQUEST" => "request",
                "INFORM" => "inform",
                "RELEASE" => "release",
                "DECLINE" => "decline",
                _ => "packet",
            }
        })
    } else {
        "event"
    };
    dhcp_event(ev, typ);
    if let Some(h) = between(rest, "[hwtype=", "]") {
        let mac = word(h).1.trim();
        if is_mac(mac) {
            ev.set("client.mac", mac.to_ascii_lowercase());
        }
    }
    if let Some(a) = crate::text::word_after(rest, "lease ")
        .or_else(|| crate::text::word_after(rest, "address "))
    {
        set_ip(ev, "client.ip", a);
    }
    if let Some(h) = between(rest, "hostname=", " ").or_else(|| between(rest, "hostname ", " ")) {
        set_str(ev, "mamori.dhcp.hostname", h.trim_matches(['"', ',']));
    }
    if let Some(i) = crate::text::word_after(rest, "on interface ") {
        set_str(ev, "mamori.dhcp.interface", i);
    }
    Outcome::Done
}
