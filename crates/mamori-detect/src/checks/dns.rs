//! Checks over DNS records (`event.dataset: dns`) and DHCP records (`event.dataset: dhcp`).

use mamori_core::{Alert, Event, Value};

use crate::catalogue::CheckId as C;
use crate::engine::{s, text_digest, Engine, Hit, Key};
use crate::util::{dga_score, entropy, lower, registered_domain, registered_label};

use super::MAX_DHCP_SERVERS;

/// Names longer than this are cut before analysis.
pub const MAX_NAME_LEN: usize = 512;

/// `dns.question.type` as a name (numbers for the common suspicious ones are mapped).
fn qtype(ev: &Event) -> Option<String> {
    match ev.fields.get("dns.question.type")? {
        Value::Str(s) => Some(s.to_ascii_uppercase()),
        Value::Int(n) => Some(
            match n {
                10 => "NULL",
                16 => "TXT",
                251 => "IXFR",
                252 => "AXFR",
                255 => "ANY",
                _ => return Some(n.to_string()),
            }
            .to_owned(),
        ),
        _ => None,
    }
}

fn rcode(ev: &Event) -> Option<String> {
    match ev.fields.get("dns.response_code")? {
        Value::Str(s) => Some(s.to_ascii_uppercase()),
        Value::Int(3) => Some("NXDOMAIN".into()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Engine {
    pub(crate) fn dns_checks(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        let t = ev.timestamp;
        let Some(src) = ev.get_ip("source.ip") else {
            self.stats.incr("dns_missing_client");
            return;
        };
        let dst = ev.get_ip("destination.ip");
        // mDNS/LLMNR share the dataset; they are local name services, not resolvers.
        if matches!(s(ev, "mamori.dns.variant"), Some("mdns" | "llmnr"))
            || matches!(s(ev, "network.protocol"), Some("mdns" | "llmnr"))
        {
            return;
        }
        let Some(raw_name) = s(ev, "dns.question.name") else {
            return;
        };
        let cut = raw_name
            .get(..raw_name.len().min(MAX_NAME_LEN))
            .unwrap_or("");
        let name_l = lower(cut.trim_end_matches('.'));
        let name: &str = &name_l;
        let qt = qtype(ev);
        let rc = rcode(ev);

        if self.on(C::IntelDomain) {
            if let Some(m) = self.intel.match_domain(name) {
                let (lbl, ind) = (m.label.to_owned(), m.indicator);
                let hit = Hit::new(
                    C::IntelDomain,
                    t,
                    format!("{src}>{ind}"),
                    format!("{src} looked up {name}, listed as {ind} in {lbl}"),
                    format!(
                        "{src} が {lbl} に {ind} として掲載されたドメイン {name} を問い合わせた"
                    ),
                )
                .src(src)
                .domain(name)
                .field("dns.question.name", name)
                .field("threat.indicator.provider", lbl)
                .field("threat.indicator.domain", ind);
                let hit = match dst {
                    Some(d) => hit.dst(d),
                    None => hit,
                };
                self.fire(hit, out);
            }
        }
        if let Some(q) = qt.as_deref() {
            if matches!(q, "ANY" | "AXFR" | "IXFR") && self.on(C::DnsSuspiciousType) {
                let server = dst.map(|d| d.to_string()).unwrap_or_else(|| "?".into());
                let hit = Hit::new(
                    C::DnsSuspiciousType,
                    t,
                    format!("{src}>{server}:{q}"),
                    format!("{src} asked {server} for {q} records of {name}"),
                    format!("{src} が {server} に {name} の {q} レコードを要求した"),
                )
                .src(src)
                .domain(name)
                .field("dns.question.name", name)
                .field("dns.question.type", q);
                let hit = match dst {
                    Some(d) => hit.dst(d),
                    None => hit,
                };
                self.fire(hit, out);
            }
            if matches!(q, "TXT" | "NULL") && self.on(C::DnsTxtVolume) {
                let min = self.th(C::DnsTxtVolume, "min_queries") as u64;
                let reg = registered_domain(name).to_owned();
                if let Some(mut tl) = self.tally(C::DnsTxtVolume, Key::one(src), t) {
                    tl.total += 1;
                    tl.add_distinct(text_digest(&reg));
                    if tl.total >= min.max(1) {
                        let (n, secs, doms) = (tl.total, tl.secs(), tl.distinct_text());
                        let w = self.window(C::DnsTxtVolume);
                        let hit = Hit::new(
                            C::DnsTxtVolume,
                            t,
                            src.to_string(),
                            format!("{src} sent {n} TXT/NULL queries for {doms} domains in {secs} s (latest {name})"),
                            format!("{src} が {secs} 秒間に {doms} 個のドメインへ TXT/NULL 問い合わせを {n} 回行った（最新 {name}）"),
                        )
                        .src(src)
                        .field("dns.question.name", name)
                        .hold(w);
                        self.fire(hit, out);
                    }
                }
            }
        }
        if rc.as_deref() == Some("NXDOMAIN") && self.on(C::NxdomainFlood) {
            let min = self.th(C::NxdomainFlood, "min_nxdomain") as u64;
            if let Some(mut tl) = self.tally(C::NxdomainFlood, Key::one(src), t) {
                tl.total += 1;
                tl.add_distinct(text_digest(name));
                if tl.total >= min.max(1) {
                    let (n, secs, names) = (tl.total, tl.secs(), tl.distinct_text());
                    let w = self.window(C::NxdomainFlood);
                    let hit = Hit::new(
                        C::NxdomainFlood,
                        t,
                        src.to_string(),
                        format!("{src} got {n} NXDOMAIN answers for {names} names in {secs} s"),
                        format!("{src} が {secs} 秒間に {names} 個の名前について NXDOMAIN を {n} 回受けた"),
                    )
                    .src(src)
                    .field("mamori.dns.nxdomain", n)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
        let arpa = name.ends_with(".arpa") || name == "arpa";
        let reg = registered_domain(name);
        let sub = name.len() > reg.len();
        if !arpa && sub && self.on(C::DnsTunnel) {
            let long_label = self.th(C::DnsTunnel, "long_label") as usize;
            let ent_bits = self.th(C::DnsTunnel, "entropy_bits");
            let min_unique = self.th(C::DnsTunnel, "min_unique_subdomains") as u64;
            let min_long = self.th(C::DnsTunnel, "min_long_queries") as u64;
            let subpart = name.get(..name.len() - reg.len()).unwrap_or("");
            let suspicious = subpart
                .split('.')
                .any(|l| l.len() >= long_label.max(1) || (l.len() >= 16 && entropy(l) >= ent_bits));
            let reg_owned = reg.to_owned();
            if let Some(mut tl) = self.tally(C::DnsTunnel, Key::one(src).with_s(&reg_owned), t) {
                tl.total += 1;
                tl.failed += u64::from(suspicious);
                tl.add_distinct(text_digest(name));
                if tl.distinct() >= min_unique.max(1) || (min_long > 0 && tl.failed >= min_long) {
                    let (uniq, long, secs) = (tl.distinct_text(), tl.failed, tl.secs());
                    let w = self.window(C::DnsTunnel);
                    let hit = Hit::new(
                        C::DnsTunnel,
                        t,
                        format!("{src}>{reg_owned}"),
                        format!("{src} queried {uniq} unique names under {reg_owned} in {secs} s, {long} with long or high-entropy labels (latest {name})"),
                        format!("{src} が {secs} 秒間に {reg_owned} 配下の一意な名前を {uniq} 個問い合わせ、うち {long} 個が長い・高エントロピーなラベルだった（最新 {name}）"),
                    )
                    .src(src)
                    .domain(&reg_owned)
                    .field("dns.question.registered_domain", reg_owned.clone())
                    .field("dns.question.name", name)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
        if !arpa && self.on(C::Dga) {
            let min_score = self.th(C::Dga, "min_score") as u32;
            let label = registered_label(name);
            let score = dga_score(label);
            if score >= min_score.max(1) {
                let min = self.th(C::Dga, "min_names") as u64;
                if let Some(mut tl) = self.tally(C::Dga, Key::one(src), t) {
                    tl.total += 1;
                    tl.add_distinct(text_digest(reg));
                    if rc.as_deref() == Some("NXDOMAIN") {
                        tl.failed += 1;
                    }
                    if tl.distinct() >= min.max(1) {
                        let (n, nx, secs) = (tl.distinct_text(), tl.failed, tl.secs());
                        let w = self.window(C::Dga);
                        let hit = Hit::new(
                            C::Dga,
                            t,
                            src.to_string(),
                            format!("{src} looked up {n} DGA-like domains in {secs} s ({nx} answered NXDOMAIN), e.g. {name} (score {score})"),
                            format!("{src} が {secs} 秒間にDGA風ドメインを {n} 個問い合わせた（NXDOMAIN {nx} 件、例: {name}、スコア {score}）"),
                        )
                        .src(src)
                        .domain(name)
                        .field("dns.question.name", name)
                        .hold(w);
                        self.fire(hit, out);
                    }
                }
            }
        }
    }

    pub(crate) fn dhcp_checks(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        let t = ev.timestamp;
        let Some(mt) = s(ev, "mamori.dhcp.message_type") else {
            self.stats.incr("dhcp_missing_message_type");
            return;
        };
        let mt = mt.to_ascii_uppercase();
        let mac = s(ev, "mamori.dhcp.client_mac").or_else(|| s(ev, "source.mac"));
        match mt.as_str() {
            "DISCOVER" | "REQUEST" => {
                if self.on(C::DhcpStorm) {
                    let min = self.th(C::DhcpStorm, "min_requests") as u64;
                    if let Some(mut tl) = self.tally(C::DhcpStorm, Key::global(), t) {
                        tl.total += 1;
                        if tl.total >= min.max(1) {
                            let (n, secs) = (tl.total, tl.secs());
                            let w = self.window(C::DhcpStorm);
                            let hit = Hit::new(
                                C::DhcpStorm,
                                t,
                                "segment".into(),
                                format!("{n} DHCP DISCOVER/REQUEST messages in {secs} s"),
                                format!("{secs} 秒間に DHCP DISCOVER/REQUEST が {n} 件あった"),
                            )
                            .field("mamori.dhcp.requests", n)
                            .hold(w);
                            self.fire(hit, out);
                        }
                    }
                }
                if let Some(mac) = mac {
                    if self.on(C::DhcpStarvation) {
                        let min = self.th(C::DhcpStarvation, "min_macs") as u64;
                        let d = text_digest(&mac.to_ascii_lowercase());
                        if let Some(mut tl) = self.tally(C::DhcpStarvation, Key::global(), t) {
                            tl.total += 1;
                            tl.add_distinct(d);
                            if tl.distinct() >= min.max(1) {
                                let (n, secs) = (tl.distinct_text(), tl.secs());
                                let w = self.window(C::DhcpStarvation);
                                let hit = Hit::new(
                                    C::DhcpStarvation,
                                    t,
                                    "segment".into(),
                                    format!("{n} distinct client MAC addresses requested DHCP leases in {secs} s"),
                                    format!("{secs} 秒間に {n} 個の異なるクライアントMACアドレスがDHCPリースを要求した"),
                                )
                                .field("mamori.dhcp.client_macs", n)
                                .hold(w);
                                self.fire(hit, out);
                            }
                        }
                    }
                }
            }
            "OFFER" | "ACK" | "NAK" => {
                let server = ev
                    .get_ip("mamori.dhcp.server_id")
                    .or_else(|| ev.get_ip("source.ip"));
                let Some(server) = server else {
                    return;
                };
                let client = ev.get_ip("destination.ip");
                if !self.cfg.allowed_dhcp.is_empty() {
                    if !self.cfg.allowed_dhcp.contains(server) && self.on(C::UnexpectedDhcp) {
                        let hit = Hit::new(
                            C::UnexpectedDhcp,
                            t,
                            server.to_string(),
                            format!(
                                "DHCP server {server}, not in the allowed list, sent {mt}{}",
                                mac.map(|m| format!(" to {m}")).unwrap_or_default()
                            ),
                            format!("許可一覧にないDHCPサーバ {server} が {mt} を送った"),
                        )
                        .src(server);
                        let hit = match client {
                            Some(c) => hit.dst(c),
                            None => hit,
                        };
                        self.fire(hit, out);
                    }
                } else if self.on(C::DhcpRogueServer) {
                    let known = &mut self.state.dhcp_servers;
                    if !known.contains(&server) {
                        if known.len() < MAX_DHCP_SERVERS {
                            known.push(server);
                        } else {
                            self.stats.incr("dhcp_servers_full");
                        }
                    }
                    let first = known.first().copied();
                    if let Some(first) = first {
                        if first != server {
                            let n = known.len();
                            let hit = Hit::new(
                                C::DhcpRogueServer,
                                t,
                                server.to_string(),
                                format!("a second DHCP server {server} sent {mt} ({n} servers seen; first was {first})"),
                                format!("2台目のDHCPサーバ {server} が {mt} を送った（確認済みサーバ {n} 台、最初は {first}）"),
                            )
                            .src(server)
                            .field("mamori.dhcp.servers_seen", n);
                            self.fire(hit, out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
