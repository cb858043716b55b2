//! Firewalls: Linux kernel (iptables/nftables/ufw/firewalld), pfSense/OPNsense filterlog,
//! FortiGate key=value, Palo Alto CSV, Cisco ASA.

use mamori_core::{Event, Timestamp};

use super::{
    net_event, set_int, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo,
};
use crate::text::{after, csv_split, int, ip, kv_pairs, word};
use crate::time::{num, parse_hms};

/// Most CSV columns read from one filterlog / Palo Alto line.
pub const MAX_CSV_FIELDS: usize = 128;

const NET_FIELDS: &[&str] = &[
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "network.transport",
    "event.action",
    "event.outcome",
    "observer.ingress.interface.name",
    "observer.egress.interface.name",
    "rule.name",
];

/// The firewall parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "iptables",
            module: "iptables",
            dataset: "firewall",
            description_en: "Linux kernel firewall log lines (iptables, nftables, ufw, firewalld): IN= OUT= SRC= DST= PROTO= SPT= DPT=",
            description_ja: "Linux カーネルのファイアウォールログ (iptables / nftables / ufw / firewalld)",
            fields: NET_FIELDS,
        },
        parse: kernel_fw,
    },
    ParserDef {
        info: ParserInfo {
            name: "filterlog",
            module: "pfsense",
            dataset: "firewall",
            description_en: "pfSense / OPNsense filterlog CSV (IPv4 and IPv6)",
            description_ja: "pfSense / OPNsense の filterlog (CSV 形式)",
            fields: NET_FIELDS,
        },
        parse: filterlog,
    },
    ParserDef {
        info: ParserInfo {
            name: "fortigate",
            module: "fortinet",
            dataset: "firewall",
            description_en: "FortiGate key=value logs (traffic, utm, event)",
            description_ja: "FortiGate の key=value ログ (traffic / utm / event)",
            fields: &["source.ip", "source.port", "destination.ip", "destination.port", "event.action", "source.bytes", "destination.bytes", "rule.id", "url.original", "user.name", "observer.name", "rule.name"],
        },
        parse: fortigate,
    },
    ParserDef {
        info: ParserInfo {
            name: "paloalto",
            module: "panw",
            dataset: "firewall",
            description_en: "Palo Alto Networks PAN-OS CSV logs (TRAFFIC, THREAT)",
            description_ja: "Palo Alto Networks PAN-OS の CSV ログ (TRAFFIC / THREAT)",
            fields: &["source.ip", "source.port", "destination.ip", "destination.port", "rule.name", "event.action", "source.bytes", "destination.bytes", "network.application", "user.name", "threat.indicator.name"],
        },
        parse: paloalto,
    },
    ParserDef {
        info: ParserInfo {
            name: "cisco-asa",
            module: "cisco",
            dataset: "firewall",
            description_en: "Cisco ASA / FTD messages (%ASA-n-NNNNNN): connections, denies, AAA, threat detection",
            description_ja: "Cisco ASA / FTD メッセージ: 接続、拒否、AAA 認証、脅威検知",
            fields: &["event.code", "source.ip", "source.port", "destination.ip", "destination.port", "event.action", "user.name", "network.bytes", "event.outcome"],
        },
        parse: asa,
    },
];

fn transport(p: &str) -> String {
    match p {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "58" => "ipv6-icmp".into(),
        "47" => "gre".into(),
        "50" => "esp".into(),
        other => other.to_ascii_lowercase(),
    }
}

fn verdict(word: &str) -> Option<bool> {
    let w = word.to_ascii_lowercase();
    if [
        "block", "drop", "reject", "deny", "denied", "dropped", "blocked",
    ]
    .iter()
    .any(|k| w.contains(k))
    {
        Some(false)
    } else if ["allow", "accept", "pass", "permit", "close", "timeout"]
        .iter()
        .any(|k| w.contains(k))
    {
        Some(true)
    } else {
        None
    }
}

fn kernel_fw(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text;
    // The first of IN=/OUT= at a word start begins the key=value part (PVE and some
    // OUTPUT-chain rules omit IN=).
    let at_word = |pat: &str| {
        t.match_indices(pat)
            .find(|(i, _)| *i == 0 || t.as_bytes().get(i - 1) == Some(&b' '))
            .map(|(i, _)| i)
    };
    let Some(in_at) = [at_word("IN="), at_word("OUT=")]
        .into_iter()
        .flatten()
        .min()
    else {
        return Outcome::NoMatch;
    };
    if !t.contains(" SRC=") {
        return Outcome::NoMatch;
    }
    let mut prefix = t[..in_at].trim();
    // Kernel uptime stamp "[ 1234.5678] ".
    if prefix.starts_with('[') {
        if let Some(end) = prefix.find("] ") {
            if prefix[1..end]
                .trim()
                .bytes()
                .all(|c| c.is_ascii_digit() || c == b'.')
            {
                prefix = prefix[end + 2..].trim();
            }
        }
    }
    let module = if prefix.contains("UFW") {
        "ufw"
    } else if prefix.contains("FINAL_REJECT") || prefix.contains("filter_") {
        "firewalld"
    } else {
        "iptables"
    };
    ev.set("event.module", module);
    let allowed = verdict(prefix);
    let action = match allowed {
        Some(true) => "allow",
        Some(false) => "deny",
        None => "logged",
    };
    net_event(ev, action, allowed);
    set_str(ev, "rule.name", prefix.trim_matches(['[', ']', ' ', ':']));
    let mut have_src = false;
    for (k, v) in kv_pairs(&t[in_at..]) {
        match k {
            "IN" => set_str(ev, "observer.ingress.interface.name", v),
            "OUT" => set_str(ev, "observer.egress.interface.name", v),
            "SRC" => have_src = set_ip(ev, "source.ip", v),
            "DST" => {
                set_ip(ev, "destination.ip", v);
            }
            "PROTO" => {
                ev.set("network.transport", transport(v));
            }
            "SPT" => set_int(ev, "source.port", v),
            "DPT" => set_int(ev, "destination.port", v),
            "LEN" => set_int(ev, "network.bytes", v),
            "TTL" => set_int(ev, "mamori.ip.ttl", v),
            "TYPE" => set_int(ev, "mamori.icmp.type", v),
            "CODE" => set_int(ev, "mamori.icmp.code", v),
            "MAC" => set_str(ev, "mamori.firewall.mac", v),
            _ => {}
        }
    }
    if !have_src {
        return Outcome::Partial("missing_source_ip");
    }
    Outcome::Done
}

fn filterlog(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let f = csv_split(inp.text.trim(), MAX_CSV_FIELDS);
    if f.len() < 9 || int(&f[0]).is_none() {
        return Outcome::NoMatch;
    }
    let g = |i: usize| f.get(i).map(String::as_str).unwrap_or("");
    let allowed = verdict(g(6));
    net_event(ev, g(6), allowed);
    set_str(ev, "rule.id", g(0));
    set_str(ev, "mamori.firewall.tracker", g(3));
    set_str(ev, "observer.ingress.interface.name", g(4));
    set_str(ev, "event.reason", g(5));
    set_str(
        ev,
        "network.direction",
        match g(7) {
            "in" => "ingress",
            "out" => "egress",
            _ => "",
        },
    );
    let (proto, src, dst, sport, dport, len) = match g(8) {
        "4" => (g(16), g(18), g(19), 20, 21, g(17)),
        "6" => (g(12), g(15), g(16), 17, 18, g(14)),
        _ => return Outcome::Partial("unknown_ip_version"),
    };
    ev.set("network.type", if g(8) == "4" { "ipv4" } else { "ipv6" });
    ev.set("network.transport", transport(proto));
    set_int(ev, "network.bytes", len);
    if !set_ip(ev, "source.ip", src) || !set_ip(ev, "destination.ip", dst) {
        return Outcome::Partial("bad_address");
    }
    if matches!(proto, "tcp" | "udp") {
        set_int(ev, "source.port", g(sport));
        set_int(ev, "destination.port", g(dport));
    }
    Outcome::Done
}

/// `YYYY-MM-DD` / `YYYY/MM/DD` date and `HH:MM:SS` to a time in `zone` (or at `offset`).
fn date_time(date: &str, time: &str, zone: &crate::time::Zone) -> Option<Timestamp> {
    let d = date.as_bytes();
    if d.len() != 10 {
        return None;
    }
    let (y, mo, dd) = (num(&d[0..4])? as i32, num(&d[5..7])?, num(&d[8..10])?);
    let (h, mi, s, ns, _) = parse_hms(time.as_bytes())?;
    zone.civil(y, mo, dd, h, mi, s, ns)
}

fn fortigate(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text;
    if !(t.contains("devname=") || t.contains("logid=") || t.starts_with("date=")) {
        return Outcome::NoMatch;
    }
    let (mut date, mut time, mut tz) = ("", "", "");
    let mut typ = "";
    let mut action = "";
    let mut n = 0;
    for (k, v) in kv_pairs(t) {
        n += 1;
        match k {
            "date" => date = v,
            "time" => time = v,
            "tz" => tz = v,
            "type" => typ = v,
            "subtype" => set_str(ev, "mamori.fortinet.subtype", v),
            "action" => action = v,
            "devname" => set_str(ev, "observer.name", v),
            "devid" => set_str(ev, "observer.serial_number", v),
            "logid" => set_str(ev, "event.code", v),
            "level" => set_str(ev, "log.level", v),
            "srcip" => {
                set_ip(ev, "source.ip", v);
            }
            "dstip" => {
                set_ip(ev, "destination.ip", v);
            }
            "srcport" => set_int(ev, "source.port", v),
            "dstport" => set_int(ev, "destination.port", v),
            "srcintf" => set_str(ev, "observer.ingress.interface.name", v),
            "dstintf" => set_str(ev, "observer.egress.interface.name", v),
            "proto" => {
                ev.set("network.transport", transport(v));
            }
            "policyid" => set_str(ev, "rule.id", v),
            "policyname" => set_str(ev, "rule.name", v),
            "service" => set_str(ev, "network.protocol", &v.to_ascii_lowercase()),
            "sentbyte" => set_int(ev, "source.bytes", v),
            "rcvdbyte" => set_int(ev, "destination.bytes", v),
            "sentpkt" => set_int(ev, "source.packets", v),
            "rcvdpkt" => set_int(ev, "destination.packets", v),
            "user" => set_str(ev, "user.name", v),
            "app" => set_str(ev, "network.application", &v.to_ascii_lowercase()),
            "hostname" => set_str(ev, "url.domain", v),
            "url" => set_str(ev, "url.original", v),
            "attack" => set_str(ev, "rule.name", v),
            "attackid" => set_str(ev, "rule.id", v),
            "virus" => set_str(ev, "threat.indicator.name", v),
            "msg" => set_str(ev, "mamori.fortinet.msg", v),
            "srcmac" => set_str(ev, "source.mac", v),
            _ => {}
        }
    }
    if n < 3 {
        return Outcome::NoMatch;
    }
    ev.set("observer.vendor", "Fortinet");
    ev.set("observer.product", "FortiGate");
    set_str(ev, "mamori.fortinet.type", typ);
    if !date.is_empty() {
        let zone_off = crate::time::Zone::get(&tz_name(tz)).ok();
        let z = zone_off.as_ref().unwrap_or(inp.zone);
        match date_time(date, time, z) {
            Some(ts) => ev.timestamp = ts,
            None => return Outcome::Partial("bad_date"),
        }
    }
    let allowed = verdict(action);
    net_event(ev, if action.is_empty() { typ } else { action }, allowed);
    if typ == "utm" || typ == "ips" {
        ev.set("event.category", vec!["network", "intrusion_detection"]);
    }
    Outcome::Done
}

/// FortiGate `tz="+0900"` to a fixed-offset zone name jiff understands (`Etc/GMT-9`).
fn tz_name(tz: &str) -> String {
    let b = tz.as_bytes();
    if b.len() == 5 && matches!(b[0], b'+' | b'-') && &b[3..] == b"00" {
        if let Some(h) = num(&b[1..3]) {
            if h == 0 {
                return "UTC".into();
            }
            // POSIX Etc zones have inverted signs.
            let sign = if b[0] == b'+' { '-' } else { '+' };
            return format!("Etc/GMT{sign}{h}");
        }
    }
    String::new()
}

fn pa_time(s: &str, zone: &crate::time::Zone) -> Option<Timestamp> {
    let (d, t) = s.split_once(' ')?;
    date_time(d, t, zone)
}

fn paloalto(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    let mut cut = t.len().min(80);
    while !t.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &t[..cut];
    if !(head.contains(",TRAFFIC,") || head.contains(",THREAT,")) {
        return Outcome::NoMatch;
    }
    let f = csv_split(t, MAX_CSV_FIELDS);
    let g = |i: usize| f.get(i).map(String::as_str).unwrap_or("");
    let typ = g(3);
    if typ != "TRAFFIC" && typ != "THREAT" {
        return Outcome::NoMatch;
    }
    if f.len() < 31 {
        return Outcome::Partial("too_few_fields");
    }
    ev.set("observer.vendor", "Palo Alto Networks");
    ev.set("observer.product", "PAN-OS");
    set_str(ev, "observer.serial_number", g(2));
    set_str(ev, "mamori.panw.type", typ);
    set_str(ev, "mamori.panw.subtype", g(4));
    if let Some(ts) = pa_time(g(6), inp.zone) {
        ev.timestamp = ts;
    }
    if !set_ip(ev, "source.ip", g(7)) || !set_ip(ev, "destination.ip", g(8)) {
        return Outcome::Partial("bad_address");
    }
    set_str(ev, "rule.name", g(11));
    set_str(ev, "source.user.name", g(12));
    set_str(ev, "user.name", g(12));
    set_str(ev, "destination.user.name", g(13));
    set_str(ev, "network.application", g(14));
    set_str(ev, "observer.ingress.zone", g(16));
    set_str(ev, "observer.egress.zone", g(17));
    set_str(ev, "observer.ingress.interface.name", g(18));
    set_str(ev, "observer.egress.interface.name", g(19));
    set_str(ev, "network.session_id", g(22));
    set_int(ev, "source.port", g(24));
    set_int(ev, "destination.port", g(25));
    ev.set("network.transport", transport(g(29)));
    let action = g(30);
    let allowed = verdict(action);
    net_event(ev, action, allowed);
    if typ == "TRAFFIC" {
        set_int(ev, "network.bytes", g(31));
        set_int(ev, "source.bytes", g(32));
        set_int(ev, "destination.bytes", g(33));
        set_int(ev, "network.packets", g(34));
    } else {
        ev.set("event.category", vec!["network", "intrusion_detection"]);
        set_str(ev, "url.original", g(31));
        set_str(ev, "threat.indicator.name", g(32));
        set_str(ev, "rule.name", g(32));
        set_str(ev, "mamori.panw.category", g(33));
        set_str(ev, "mamori.panw.severity", g(34));
    }
    Outcome::Done
}

/// `iface:ip/port` (or `iface/ip(port)`) → (interface, ip, port).
fn asa_endpoint(s: &str) -> Option<(&str, std::net::IpAddr, Option<u16>)> {
    let s = s.trim_end_matches([',', ';']);
    let (iface, rest) = match s.split_once(':') {
        Some((i, r)) if !i.contains('.') && !r.contains(':') => (i, r),
        _ => s
            .split_once('/')
            .filter(|(i, _)| ip(i).is_none())
            .unwrap_or(("", s)),
    };
    if let Some((a, p)) = rest.split_once('(') {
        return Some((iface, ip(a)?, p.trim_end_matches(')').parse().ok()));
    }
    let (a, p) = rest.split_once('/').unwrap_or((rest, ""));
    Some((iface, ip(a)?, p.parse().ok()))
}

fn set_ep(ev: &mut Event, side: &str, s: &str) -> bool {
    let Some((iface, a, p)) = asa_endpoint(s) else {
        return false;
    };
    let (ipf, portf, ifacef) = if side == "src" {
        (
            "source.ip",
            "source.port",
            "observer.ingress.interface.name",
        )
    } else {
        (
            "destination.ip",
            "destination.port",
            "observer.egress.interface.name",
        )
    };
    ev.set(ipf, a);
    if let Some(p) = p {
        ev.set(portf, p);
    }
    set_str(ev, ifacef, iface);
    true
}

fn asa(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    // The tag is "%ASA-6-302013" when the header parsed it; otherwise find it in the text.
    let (tag, msg) = match inp
        .header
        .app
        .filter(|a| a.starts_with("%ASA-") || a.starts_with("%FTD-"))
    {
        Some(a) => (a, inp.text),
        None => {
            let Some(i) = inp.text.find("%ASA-").or_else(|| inp.text.find("%FTD-")) else {
                return Outcome::NoMatch;
            };
            let r = &inp.text[i..];
            match r.split_once(": ") {
                Some((a, m)) => (a, m),
                None => return Outcome::Partial("truncated"),
            }
        }
    };
    let mut parts = tag.splitn(3, '-');
    let (_, level, id) = (
        parts.next(),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if id.is_empty() {
        return Outcome::Partial("bad_message_id");
    }
    ev.set("observer.vendor", "Cisco");
    ev.set(
        "observer.product",
        if tag.starts_with("%FTD") {
            "FTD"
        } else {
            "ASA"
        },
    );
    ev.set("event.code", id);
    set_int(ev, "log.syslog.severity.code", level);
    let words: Vec<&str> = msg.split_whitespace().take(64).collect();
    let w = |i: usize| words.get(i).copied().unwrap_or("");
    match id {
        "302013" | "302015" => {
            // Built inbound TCP connection 123 for outside:1.2.3.4/51234 (..) to inside:10.0.0.1/22 (..)
            net_event(ev, "connection-built", Some(true));
            ev.set("event.type", vec!["connection", "start"]);
            set_str(
                ev,
                "network.direction",
                match w(1) {
                    "inbound" => "inbound",
                    "outbound" => "outbound",
                    _ => "",
                },
            );
            ev.set("network.transport", w(2).to_ascii_lowercase());
            set_str(ev, "network.session_id", w(4));
            let for_i = words.iter().position(|x| *x == "for");
            let to_i = words.iter().position(|x| *x == "to");
            let (Some(fi), Some(ti)) = (for_i, to_i) else {
                return Outcome::Partial("truncated");
            };
            // Built inbound: "for" is the outside initiator; outbound: "for" is the responder.
            let (src, dst) = if w(1) == "outbound" {
                (w(ti + 1), w(fi + 1))
            } else {
                (w(fi + 1), w(ti + 1))
            };
            if !set_ep(ev, "src", src) || !set_ep(ev, "dst", dst) {
                return Outcome::Partial("bad_address");
            }
        }
        "302014" | "302016" => {
            net_event(ev, "connection-teardown", Some(true));
            ev.set("event.type", vec!["connection", "end"]);
            ev.set("network.transport", w(1).to_ascii_lowercase());
            set_str(ev, "network.session_id", w(3));
            let fi = words.iter().position(|x| *x == "for");
            let ti = words.iter().position(|x| *x == "to");
            let (Some(fi), Some(ti)) = (fi, ti) else {
                return Outcome::Partial("truncated");
            };
            if !set_ep(ev, "src", w(fi + 1)) || !set_ep(ev, "dst", w(ti + 1)) {
                return Outcome::Partial("bad_address");
            }
            if let Some(bi) = words.iter().position(|x| *x == "bytes") {
                set_int(ev, "network.bytes", w(bi + 1));
            }
            if let Some(di) = words.iter().position(|x| *x == "duration") {
                if let Some(d) = hms_duration(w(di + 1)) {
                    ev.set("event.duration", d);
                }
            }
        }
        "106023" => {
            // Deny tcp src outside:1.2.3.4/51234 dst inside:10.0.0.1/22 by access-group "x"
            net_event(ev, "deny", Some(false));
            ev.set("network.transport", w(1).to_ascii_lowercase());
            if !set_ep(ev, "src", w(3)) || !set_ep(ev, "dst", w(5)) {
                return Outcome::Partial("bad_address");
            }
            if let Some(g) = after(msg, "access-group \"") {
                set_str(ev, "rule.name", g.split('"').next().unwrap_or(""));
            }
        }
        "106100" => {
            // access-list NAME denied tcp outside/1.2.3.4(51234) -> inside/10.0.0.1(22) hit-cnt 1
            let allowed = verdict(w(2));
            net_event(
                ev,
                if allowed == Some(false) {
                    "deny"
                } else {
                    "allow"
                },
                allowed,
            );
            set_str(ev, "rule.name", w(1));
            ev.set("network.transport", w(3).to_ascii_lowercase());
            if !set_ep(ev, "src", w(4)) || !set_ep(ev, "dst", w(6)) {
                return Outcome::Partial("bad_address");
            }
        }
        "113004" | "113005" | "113015" => {
            let ok = id == "113004";
            super::auth_event(
                ev,
                "aaa-authentication",
                if ok { "success" } else { "failure" },
            );
            for part in msg.split(" : ") {
                if let Some((k, v)) = part.split_once(" = ") {
                    match k.trim() {
                        "user" => set_str(ev, "user.name", v.trim()),
                        "user IP" => {
                            set_ip(ev, "source.ip", v.trim());
                        }
                        "server" => {
                            set_ip(ev, "server.ip", v.trim());
                        }
                        "reason" => set_str(ev, "event.reason", v.trim()),
                        _ => {}
                    }
                }
            }
        }
        "605004" | "605005" => {
            let ok = id == "605005";
            super::auth_event(
                ev,
                "management-login",
                if ok { "success" } else { "failure" },
            );
            if let Some(src) = crate::text::word_after(msg, "from ") {
                set_ep(ev, "src", src);
            }
            if let Some(dst) = crate::text::word_after(msg, " to ") {
                if let Some((iface, rest)) = dst.split_once(':') {
                    let (a, svc) = rest.split_once('/').unwrap_or((rest, ""));
                    set_ip(ev, "destination.ip", a);
                    set_str(ev, "observer.ingress.interface.name", iface);
                    set_str(ev, "network.protocol", svc);
                }
            }
            if let Some(u) = after(msg, "for user \"") {
                set_str(ev, "user.name", u.split('"').next().unwrap_or(""));
            }
        }
        "733100" => {
            ev.set("event.category", vec!["intrusion_detection"]);
            ev.set("event.action", "threat-detection-rate-exceeded");
            if let Some(obj) = crate::text::between(msg, "[", "]") {
                set_str(ev, "rule.name", obj.trim());
            }
            if let Some(c) = after(msg, "Cumulative total count is ") {
                set_int(ev, "mamori.asa.total_count", word(c).0);
            }
        }
        _ => {
            ev.set("event.action", "asa-message");
        }
    }
    Outcome::Done
}

/// `H:MM:SS` or `Nh:MMm:SSs` to nanoseconds.
fn hms_duration(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    for p in s.split(':') {
        let n: i64 = p.trim_end_matches(['h', 'm', 's']).parse().ok()?;
        total = total.checked_mul(60)?.checked_add(n)?;
    }
    total.checked_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asa_endpoints() {
        let (i, a, p) = asa_endpoint("outside:1.2.3.4/51234").unwrap();
        assert_eq!(
            (i, a.to_string(), p),
            ("outside", "1.2.3.4".into(), Some(51234))
        );
        let (i, a, p) = asa_endpoint("inside/10.0.0.1(22)").unwrap();
        assert_eq!(
            (i, a.to_string(), p),
            ("inside", "10.0.0.1".into(), Some(22))
        );
        assert!(asa_endpoint("outside:nothing/1").is_none());
    }

    #[test]
    fn fortigate_tz_names() {
        assert_eq!(tz_name("+0900"), "Etc/GMT-9");
        assert_eq!(tz_name("-0500"), "Etc/GMT+5");
        assert_eq!(tz_name("bogus"), "");
    }
}
