//! Checks over flow records (`event.dataset: flow`): scans, floods, probing, C2 and
//! exfiltration, lateral movement, insecure protocols, remote access, unexpected servers,
//! intel IP matches.

use std::net::IpAddr;

use mamori_core::{Alert, Duration, Event, Severity, Timestamp, Value};

use crate::catalogue::CheckId as C;
use crate::engine::{ip_digest, Engine, Hit, Key};

use super::{
    BEACON_HISTORY, CONTINUATION_GAP_SECS, MAX_BEACON_PAIRS, MAX_LEARNED_PAIRS, MAX_LONG_LIVED,
};

/// TCP flags of the client side.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
    psh: bool,
    urg: bool,
    known: bool,
}

/// Client-side flags from `mamori.flow.source_tcp_flags`, else `mamori.flow.tcp_flags`
/// (when that holds both sides as `client/server`, `client|server` or `client,server`,
/// the first part is taken; `client:` prefixes are ignored).
fn parse_flags(raw: Option<&str>) -> Flags {
    let Some(raw) = raw else {
        return Flags::default();
    };
    let part = raw.split(['/', '|', ',', ' ']).next().unwrap_or("");
    let part = part.rsplit(':').next().unwrap_or(part);
    let mut f = Flags {
        known: true,
        ..Flags::default()
    };
    for c in part.chars() {
        match c.to_ascii_uppercase() {
            'S' => f.syn = true,
            'A' => f.ack = true,
            'F' => f.fin = true,
            'R' => f.rst = true,
            'P' => f.psh = true,
            'U' => f.urg = true,
            _ => {}
        }
    }
    f
}

fn value_flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Str(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn value_time(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Time(t) => Some(*t),
        Value::Str(s) => Timestamp::parse_rfc3339(s).ok(),
        Value::Int(i) => Some(Timestamp::from_unix_nanos(*i)),
        _ => None,
    }
}

fn value_u64(v: &Value) -> Option<u64> {
    v.as_i64().and_then(|i| u64::try_from(i).ok())
}

fn value_port(v: &Value) -> u16 {
    v.as_i64().and_then(|i| u16::try_from(i).ok()).unwrap_or(0)
}

/// The fields of one flow record the checks use.
pub(crate) struct FlowView<'a> {
    pub(crate) t: Timestamp,
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) transport: &'a str,
    pub(crate) proto: &'a str,
    pub(crate) dir: &'a str,
    pub(crate) state: &'a str,
    pub(crate) sbytes: u64,
    pub(crate) dbytes: u64,
    pub(crate) spkts: u64,
    pub(crate) dpkts: u64,
    pub(crate) spay: Option<u64>,
    pub(crate) dpay: Option<u64>,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) flags: Flags,
    pub(crate) icmp_error: Option<&'a str>,
    pub(crate) icmp_type: Option<i64>,
    pub(crate) nonstandard: bool,
    pub(crate) tor_like: bool,
    pub(crate) continuing: bool,
}

impl FlowView<'_> {
    fn tcp(&self) -> bool {
        self.transport == "tcp"
    }
    fn udp(&self) -> bool {
        self.transport == "udp"
    }
    fn icmp(&self) -> bool {
        matches!(self.transport, "icmp" | "ipv6-icmp" | "icmpv6")
    }
    /// No answer or refused.
    fn unanswered(&self) -> bool {
        matches!(self.state, "rejected" | "no_reply" | "half_open")
    }
    /// Failed from the client's point of view: unanswered, or reset without any data.
    fn failed(&self) -> bool {
        self.unanswered()
            || (self.state == "reset" && self.spay.unwrap_or(0) == 0 && self.dpay.unwrap_or(0) == 0)
    }
    /// A session that carried a reply.
    fn answered(&self) -> bool {
        match self.state {
            "established" | "closed" | "midstream" => true,
            "reset" => self.dpkts > 0 && self.dpay.unwrap_or(1) > 0,
            "rejected" | "no_reply" | "half_open" => false,
            _ => self.dpkts > 0,
        }
    }
    fn pair(&self) -> String {
        format!("{}>{}", self.src, self.dst)
    }
}

fn proto_label(transport: &str) -> &str {
    match transport {
        "tcp" => "TCP",
        "udp" => "UDP",
        other => other,
    }
}

fn is_broadcast_or_multicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast() || a.octets()[3] == 255,
        IpAddr::V6(a) => a.is_multicast(),
    }
}

/// Ports whose traffic is one-way by design (syslog, NetFlow/IPFIX/sFlow, SNMP traps).
const ONE_WAY_PORTS: &[u16] = &[514, 162, 2055, 4739, 6343, 9995, 9996];
/// Services whose periodic traffic is normal (DNS, NTP, NetBIOS, mDNS, SSDP, DHCP, LLMNR).
const PERIODIC_OK_PORTS: &[u16] = &[53, 67, 68, 123, 137, 138, 1900, 5353, 5355];
const PERIODIC_OK_PROTOS: &[&str] = &["dns", "ntp", "netbios", "mdns", "llmnr", "dhcp", "ssdp"];
/// Admin ports for lateral movement: SMB, RDP, WinRM, SSH.
const ADMIN_PORTS: &[(u16, &str)] = &[
    (445, "SMB"),
    (139, "SMB"),
    (3389, "RDP"),
    (5985, "WinRM"),
    (5986, "WinRM"),
    (22, "SSH"),
];

fn admin_service(f: &FlowView<'_>) -> Option<&'static str> {
    if !f.tcp() {
        return None;
    }
    match f.proto {
        "smb" => return Some("SMB"),
        "rdp" => return Some("RDP"),
        "ssh" => return Some("SSH"),
        "winrm" => return Some("WinRM"),
        _ => {}
    }
    ADMIN_PORTS
        .iter()
        .find(|(p, _)| *p == f.dport)
        .map(|(_, n)| *n)
}

impl Engine {
    pub(crate) fn flow_checks(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        // One pass over the fields (a flow record has ~25) instead of a lookup per field.
        let t = ev.timestamp;
        let (mut src, mut dst) = (None, None);
        let (mut src_flags, mut any_flags) = (None, None);
        let (mut start, mut end) = (None, None);
        let mut f = FlowView {
            t,
            src: IpAddr::from([0, 0, 0, 0]),
            dst: IpAddr::from([0, 0, 0, 0]),
            sport: 0,
            dport: 0,
            transport: "",
            proto: "",
            dir: "",
            state: "",
            sbytes: 0,
            dbytes: 0,
            spkts: 0,
            dpkts: 0,
            spay: None,
            dpay: None,
            start: t,
            end: t,
            flags: Flags::default(),
            icmp_error: None,
            icmp_type: None,
            nonstandard: false,
            tor_like: false,
            continuing: false,
        };
        for (k, v) in &ev.fields {
            match k.as_ref() {
                "source.ip" => src = v.as_ip(),
                "destination.ip" => dst = v.as_ip(),
                "source.port" => f.sport = value_port(v),
                "destination.port" => f.dport = value_port(v),
                "network.transport" => f.transport = v.as_str().unwrap_or(""),
                "network.protocol" => f.proto = v.as_str().unwrap_or(""),
                "network.direction" => f.dir = v.as_str().unwrap_or(""),
                "mamori.flow.state" => f.state = v.as_str().unwrap_or(""),
                "source.bytes" => f.sbytes = value_u64(v).unwrap_or(0),
                "destination.bytes" => f.dbytes = value_u64(v).unwrap_or(0),
                "source.packets" => f.spkts = value_u64(v).unwrap_or(0),
                "destination.packets" => f.dpkts = value_u64(v).unwrap_or(0),
                "mamori.flow.source_payload_bytes" => f.spay = value_u64(v),
                "mamori.flow.destination_payload_bytes" => f.dpay = value_u64(v),
                "event.start" => start = value_time(v),
                "event.end" => end = value_time(v),
                "mamori.flow.source_tcp_flags" => src_flags = v.as_str(),
                "mamori.flow.tcp_flags" => any_flags = v.as_str(),
                "mamori.flow.icmp_error" => f.icmp_error = Some(v.as_str().unwrap_or("")),
                "mamori.icmp.type" => f.icmp_type = v.as_i64(),
                "mamori.flow.nonstandard_port" => f.nonstandard = value_flag(v),
                "mamori.tls.tor_like" => f.tor_like = value_flag(v),
                "mamori.flow.continuing" => f.continuing |= value_flag(v),
                "event.reason" => f.continuing |= v.as_str() == Some("active_timeout"),
                _ => {}
            }
        }
        let (Some(src), Some(dst)) = (src, dst) else {
            self.stats.incr("flow_missing_addresses");
            return;
        };
        f.src = src;
        f.dst = dst;
        f.start = start.unwrap_or(t);
        f.end = end.unwrap_or(t);
        f.flags = parse_flags(src_flags.or(any_flags));
        self.scan_checks(&f, out);
        self.flood_checks(&f, out);
        self.probe_checks(&f, out);
        self.c2_checks(&f, out);
        self.lateral_checks(&f, out);
        self.service_checks(&f, out);
        self.intel_flow(&f, out);
    }

    fn scan_checks(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        let flags = f.flags;
        let t = f.t;
        if f.tcp() && self.on(C::PortScan) {
            let min_ports = self.th(C::PortScan, "min_ports") as u64;
            let min_pct = self.th(C::PortScan, "min_failed_pct") as u64;
            let failed = f.failed();
            if let Some(mut tl) = self.tally_if(C::PortScan, Key::two(f.src, f.dst), t, failed) {
                tl.total += 1;
                tl.failed += u64::from(failed);
                tl.add_distinct(u64::from(f.dport));
                if tl.distinct() >= min_ports.max(1) && tl.failed_pct() >= min_pct {
                    let (n, secs, pct) = (tl.distinct_text(), tl.secs(), tl.failed_pct());
                    let w = self.window(C::PortScan);
                    let hit = Hit::new(
                        C::PortScan,
                        t,
                        f.pair(),
                        format!("{} probed {n} TCP ports on {} in {secs} s; {pct} % got no answer or RST", f.src, f.dst),
                        format!("{} が {} のTCPポート {n} 個を {secs} 秒間に探索した（{pct} % が無応答またはRST）", f.src, f.dst),
                    )
                    .src(f.src)
                    .dst(f.dst)
                    .field("mamori.scan.ports", n)
                    .field("mamori.scan.failed_pct", pct)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
        if (f.tcp() || f.udp()) && f.dport != 0 && self.on(C::HostSweep) {
            let min_hosts = self.th(C::HostSweep, "min_hosts") as u64;
            let min_pct = self.th(C::HostSweep, "min_failed_pct") as u64;
            let failed = if f.tcp() {
                f.failed()
            } else {
                f.dpkts == 0 || f.icmp_error.is_some()
            };
            let n = u32::from(f.dport) | if f.tcp() { 0 } else { 1 << 16 };
            if let Some(mut tl) = self.tally_if(C::HostSweep, Key::one(f.src).with_n(n), t, failed)
            {
                tl.total += 1;
                tl.failed += u64::from(failed);
                tl.add_distinct(ip_digest(f.dst));
                if tl.distinct() >= min_hosts.max(1) && tl.failed_pct() >= min_pct {
                    let (n, secs, pct) = (tl.distinct_text(), tl.secs(), tl.failed_pct());
                    let w = self.window(C::HostSweep);
                    let pl = proto_label(f.transport);
                    let hit = Hit::new(
                        C::HostSweep,
                        t,
                        format!("{}>{}/{}", f.src, pl, f.dport),
                        format!("{} tried {pl} port {} on {n} hosts in {secs} s; {pct} % failed", f.src, f.dport),
                        format!("{} が {n} 台のホストの {pl} ポート {} へ {secs} 秒間に接続を試みた（{pct} % が失敗）", f.src, f.dport),
                    )
                    .src(f.src)
                    .port(f.dport)
                    .field("mamori.scan.hosts", n)
                    .field("mamori.scan.failed_pct", pct)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
        if f.tcp() && flags.known && self.on(C::FlagScan) {
            let no_data = f.spay.unwrap_or(0) == 0;
            let kind = if flags.syn && no_data && (!flags.ack || f.unanswered()) {
                Some(("SYN", "min_syn", 0))
            } else if !flags.syn && !flags.ack && flags.fin && flags.psh && flags.urg {
                Some(("Xmas", "min_stealth", 1))
            } else if !flags.syn
                && !flags.ack
                && !flags.fin
                && !flags.rst
                && !flags.psh
                && !flags.urg
                && f.spkts > 0
            {
                Some(("NULL", "min_stealth", 2))
            } else if !flags.syn && !flags.ack && flags.fin && !flags.rst {
                Some(("FIN", "min_stealth", 3))
            } else if flags.ack
                && !flags.syn
                && !flags.fin
                && !flags.psh
                && no_data
                && f.spkts <= 2
                && f.dpay.unwrap_or(0) == 0
            {
                Some(("ACK", "min_ack", 4))
            } else {
                None
            };
            if let Some((kind, th, n)) = kind {
                let min = self.th(C::FlagScan, th) as u64;
                let target = ip_digest(f.dst) ^ (u64::from(f.dport) << 48);
                if let Some(mut tl) = self.tally(C::FlagScan, Key::one(f.src).with_n(n), t) {
                    tl.total += 1;
                    tl.add_distinct(target);
                    if tl.distinct() >= min.max(1) {
                        let (cnt, secs) = (tl.distinct_text(), tl.secs());
                        let w = self.window(C::FlagScan);
                        let hit = Hit::new(
                            C::FlagScan,
                            t,
                            format!("{}:{kind}", f.src),
                            format!("{} sent {kind} scan probes to {cnt} host:port targets in {secs} s", f.src),
                            format!("{} が {secs} 秒間に {cnt} 個の宛先（ホスト:ポート）へ{kind}スキャンを行った", f.src),
                        )
                        .src(f.src)
                        .field("mamori.scan.type", kind)
                        .field("mamori.scan.targets", cnt)
                        .hold(w);
                        self.fire(hit, out);
                    }
                }
            }
        }
        if f.udp() && self.on(C::UdpScan) {
            let unreachable = f.icmp_error.is_some_and(|e| {
                let e = e.to_ascii_lowercase();
                e.contains("port") && e.contains("unreach")
            });
            if unreachable {
                let min = self.th(C::UdpScan, "min_ports") as u64;
                let target = ip_digest(f.dst) ^ (u64::from(f.dport) << 48);
                if let Some(mut tl) = self.tally(C::UdpScan, Key::one(f.src), t) {
                    tl.total += 1;
                    tl.add_distinct(target);
                    if tl.distinct() >= min.max(1) {
                        let (cnt, secs) = (tl.distinct_text(), tl.secs());
                        let w = self.window(C::UdpScan);
                        let hit = Hit::new(
                            C::UdpScan,
                            t,
                            f.src.to_string(),
                            format!("{}'s UDP probes drew ICMP port-unreachable from {cnt} host:port targets in {secs} s", f.src),
                            format!("{} のUDP探索に対し {secs} 秒間に {cnt} 個の宛先からICMPポート到達不能が返った", f.src),
                        )
                        .src(f.src)
                        .field("mamori.scan.targets", cnt)
                        .hold(w);
                        self.fire(hit, out);
                    }
                }
            }
        }
        if f.icmp() && self.on(C::IcmpSweep) {
            let ty = f.icmp_type;
            let echo = match ty {
                Some(ty) => ty == 8 || ty == 128,
                None => true,
            };
            if echo && !is_broadcast_or_multicast(f.dst) {
                let min = self.th(C::IcmpSweep, "min_hosts") as u64;
                if let Some(mut tl) = self.tally(C::IcmpSweep, Key::one(f.src), t) {
                    tl.total += 1;
                    tl.failed += u64::from(f.dpkts == 0);
                    tl.add_distinct(ip_digest(f.dst));
                    if tl.distinct() >= min.max(1) {
                        let (cnt, secs, pct) = (tl.distinct_text(), tl.secs(), tl.failed_pct());
                        let w = self.window(C::IcmpSweep);
                        let hit = Hit::new(
                            C::IcmpSweep,
                            t,
                            f.src.to_string(),
                            format!("{} pinged {cnt} hosts in {secs} s; {pct} % did not answer", f.src),
                            format!("{} が {secs} 秒間に {cnt} 台のホストへpingを送った（{pct} % が無応答）", f.src),
                        )
                        .src(f.src)
                        .field("mamori.scan.hosts", cnt)
                        .hold(w);
                        self.fire(hit, out);
                    }
                }
            }
        }
        if f.tcp() && self.on(C::UnansweredScan) {
            let min = self.th(C::UnansweredScan, "min_flows") as u64;
            let min_pct = self.th(C::UnansweredScan, "min_failed_pct") as u64;
            let failed = f.failed();
            if let Some(mut tl) = self.tally_if(C::UnansweredScan, Key::one(f.src), t, failed) {
                tl.total += 1;
                tl.failed += u64::from(failed);
                tl.add_distinct(ip_digest(f.dst) ^ (u64::from(f.dport) << 48));
                if tl.failed >= min.max(1) && tl.failed_pct() >= min_pct {
                    let (n, total, secs, pct, targets) = (
                        tl.failed,
                        tl.total,
                        tl.secs(),
                        tl.failed_pct(),
                        tl.distinct_text(),
                    );
                    let w = self.window(C::UnansweredScan);
                    let hit = Hit::new(
                        C::UnansweredScan,
                        t,
                        f.src.to_string(),
                        format!("{} opened {total} TCP connections to {targets} host:port targets in {secs} s; {n} ({pct} %) got no answer or RST", f.src),
                        format!("{} が {secs} 秒間に {targets} 個の宛先へ {total} 件のTCP接続を試み、{n} 件（{pct} %）が無応答またはRSTだった", f.src),
                    )
                    .src(f.src)
                    .field("mamori.scan.failed", n)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
        if f.tcp() && f.state == "rejected" && self.on(C::ConnRefused) {
            let min = self.th(C::ConnRefused, "min_refused") as u64;
            if let Some(mut tl) = self.tally(C::ConnRefused, Key::two(f.src, f.dst), t) {
                tl.total += 1;
                tl.add_distinct(u64::from(f.dport));
                if tl.total >= min.max(1) {
                    let (n, secs, ports) = (tl.total, tl.secs(), tl.distinct_text());
                    let w = self.window(C::ConnRefused);
                    let hit = Hit::new(
                        C::ConnRefused,
                        t,
                        f.pair(),
                        format!("{} had {n} TCP connections to {} refused ({ports} ports) in {secs} s", f.src, f.dst),
                        format!("{} から {} へのTCP接続が {secs} 秒間に {n} 件拒否された（ポート {ports} 個）", f.src, f.dst),
                    )
                    .src(f.src)
                    .dst(f.dst)
                    .field("mamori.scan.refused", n)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
    }

    fn flood_checks(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        if f.tcp()
            && matches!(f.state, "half_open" | "no_reply" | "rejected")
            && f.spay.unwrap_or(0) == 0
            && self.on(C::SynFlood)
        {
            self.role_count(
                C::SynFlood,
                f,
                1,
                "half-open TCP connections",
                "件のハーフオープンTCP接続",
                out,
            );
        }
        if self.on(C::FlowFlood) {
            self.role_count(C::FlowFlood, f, 1, "flows", "件のフロー", out);
        }
        if f.icmp() && self.on(C::IcmpFlood) {
            self.role_count(
                C::IcmpFlood,
                f,
                f.spkts.max(1),
                "ICMP packets",
                "個のICMPパケット",
                out,
            );
        }
    }

    /// Count `amount` for the source (attacker) and the destination (victim).
    fn role_count(
        &mut self,
        id: C,
        f: &FlowView<'_>,
        amount: u64,
        what: &str,
        what_ja: &str,
        out: &mut Vec<Alert>,
    ) {
        let w = self.window(id);
        let secs = w.as_nanos() / 1_000_000_000;
        for (role, ip, peer, th) in [
            ("attacker", f.src, f.dst, "attacker_min"),
            ("victim", f.dst, f.src, "victim_min"),
        ] {
            let min = self.th(id, th) as u64;
            let n = u32::from(role == "victim");
            // Outbound floods are the attacker side's business; victims are counted for
            // traffic that enters or stays inside (keeps state off the Internet's hosts).
            if role == "victim" && f.dir == "outbound" {
                continue;
            }
            let Some(mut tl) = self.tally(id, Key::one(ip).with_n(n), f.t) else {
                continue;
            };
            tl.sum = tl.sum.saturating_add(amount);
            // Peers are only remembered once half the threshold is reached (keeps the
            // per-flow cost of ordinary hosts to one counter update).
            if tl.sum.saturating_mul(2) >= min {
                tl.add_distinct(ip_digest(peer));
            }
            if tl.sum >= min.max(1) {
                let (sum, peers) = (tl.sum, tl.distinct_text());
                let (msg, msg_ja) = if role == "attacker" {
                    (
                        format!("{ip} sent {sum} {what} within {secs} s ({peers} hosts seen after half the threshold)"),
                        format!(
                            "{ip} が {secs} 秒以内に {peers} 台のホストへ {sum} {what_ja}を送った"
                        ),
                    )
                } else {
                    (
                        format!("{ip} received {sum} {what} within {secs} s ({peers} hosts seen after half the threshold)"),
                        format!("{ip} が {secs} 秒以内に {sum} {what_ja}を受けた（閾値の半分以降の相手 {peers} 台）"),
                    )
                };
                let hit = Hit::new(id, f.t, format!("{role}:{ip}"), msg, msg_ja)
                    .field("mamori.flood.role", role)
                    .field("mamori.flood.count", sum)
                    .hold(w);
                let hit = if role == "attacker" {
                    hit.src(ip)
                } else {
                    hit.dst(ip)
                };
                self.fire(hit, out);
            }
        }
    }

    fn probe_checks(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        let t = f.t;
        if f.tcp()
            && matches!(f.state, "established" | "closed")
            && f.spay == Some(0)
            && f.dpay == Some(0)
            && self.on(C::TcpNoData)
        {
            let min = self.th(C::TcpNoData, "min_flows") as u64;
            if let Some(mut tl) = self.tally(
                C::TcpNoData,
                Key::two(f.src, f.dst).with_n(u32::from(f.dport)),
                t,
            ) {
                tl.total += 1;
                if tl.total >= min.max(1) {
                    let (n, secs) = (tl.total, tl.secs());
                    let w = self.window(C::TcpNoData);
                    let hit = Hit::new(
                        C::TcpNoData,
                        t,
                        format!("{}>{}:{}", f.src, f.dst, f.dport),
                        format!("{} opened {n} TCP connections to {}:{} without sending or receiving data in {secs} s", f.src, f.dst, f.dport),
                        format!("{} が {secs} 秒間に {}:{} へデータのないTCP接続を {n} 回行った", f.src, f.dst, f.dport),
                    )
                    .src(f.src)
                    .dst(f.dst)
                    .port(f.dport)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
        if (f.tcp() || f.udp())
            && f.dpkts == 0
            && f.spkts > 0
            && !is_broadcast_or_multicast(f.dst)
            && !ONE_WAY_PORTS.contains(&f.dport)
            && self.on(C::Unidirectional)
        {
            let min = self.th(C::Unidirectional, "min_flows") as u64;
            let n = u32::from(f.dport) | if f.tcp() { 0 } else { 1 << 16 };
            if let Some(mut tl) = self.tally(C::Unidirectional, Key::two(f.src, f.dst).with_n(n), t)
            {
                tl.total += 1;
                if tl.total >= min.max(1) {
                    let (cnt, secs) = (tl.total, tl.secs());
                    let w = self.window(C::Unidirectional);
                    let pl = proto_label(f.transport);
                    let hit = Hit::new(
                        C::Unidirectional,
                        t,
                        format!("{}>{}:{}/{}", f.src, f.dst, f.dport, pl),
                        format!("{} sent {cnt} {pl} flows to {}:{} in {secs} s and never got a packet back", f.src, f.dst, f.dport),
                        format!("{} が {secs} 秒間に {}:{} へ {pl} フローを {cnt} 回送ったが応答が一度もなかった", f.src, f.dst, f.dport),
                    )
                    .src(f.src)
                    .dst(f.dst)
                    .port(f.dport)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
    }

    fn c2_checks(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        let t = f.t;
        if (f.tcp() || f.udp())
            && !PERIODIC_OK_PORTS.contains(&f.dport)
            && !PERIODIC_OK_PROTOS.contains(&f.proto)
            && f.answered()
            && self.on(C::Beaconing)
        {
            self.beacon(f, out);
        }
        if f.dir == "outbound" && f.sbytes > 0 && self.on(C::DataExfil) {
            let min = self.th(C::DataExfil, "min_bytes") as u64;
            if let Some(mut tl) = self.tally(C::DataExfil, Key::one(f.src), t) {
                tl.sum = tl.sum.saturating_add(f.sbytes);
                tl.add_distinct(ip_digest(f.dst));
                if tl.sum >= min.max(1) {
                    let (sum, peers, secs) = (tl.sum, tl.distinct_text(), tl.secs());
                    let mb = sum as f64 / 1e6;
                    let w = self.window(C::DataExfil);
                    let hit = Hit::new(
                        C::DataExfil,
                        t,
                        f.src.to_string(),
                        format!(
                            "{} sent {mb:.1} MB to {peers} external hosts in {secs} s",
                            f.src
                        ),
                        format!(
                            "{} が {secs} 秒間に外部の {peers} 台のホストへ {mb:.1} MB を送信した",
                            f.src
                        ),
                    )
                    .src(f.src)
                    .field("mamori.exfil.bytes", sum)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
        if (f.tcp() || f.udp()) && self.on(C::LongLived) {
            self.long_lived(f, out);
        }
        if f.nonstandard && f.answered() && self.on(C::NonStandardPort) {
            let proto = if f.proto.is_empty() {
                "unknown"
            } else {
                f.proto
            };
            let pl = proto_label(f.transport);
            let hit = Hit::new(
                C::NonStandardPort,
                t,
                format!("{}:{}/{}:{proto}", f.dst, f.dport, pl),
                format!(
                    "{} talked {proto} to {} on non-standard port {pl}/{}",
                    f.src, f.dst, f.dport
                ),
                format!(
                    "{} が {} の非標準ポート {pl}/{} で {proto} を使った",
                    f.src, f.dst, f.dport
                ),
            )
            .src(f.src)
            .dst(f.dst)
            .port(f.dport)
            .field("network.protocol", proto);
            self.fire(hit, out);
        }
        if f.icmp() && self.on(C::IcmpPayload) {
            let min_avg = self.th(C::IcmpPayload, "min_avg_bytes");
            let min_pk = self.th(C::IcmpPayload, "min_packets") as u64;
            for (pk, by, who, peer) in [
                (f.spkts, f.sbytes, f.src, f.dst),
                (f.dpkts, f.dbytes, f.dst, f.src),
            ] {
                if pk >= min_pk.max(1) {
                    let avg = by as f64 / pk as f64;
                    if avg >= min_avg {
                        let hit = Hit::new(
                            C::IcmpPayload,
                            t,
                            format!("{who}>{peer}"),
                            format!("{who} sent {pk} ICMP packets averaging {avg:.0} bytes to {peer} (pings are under 100 bytes)"),
                            format!("{who} が {peer} へ平均 {avg:.0} バイトのICMPパケットを {pk} 個送った（通常のpingは100バイト未満）"),
                        )
                        .src(who)
                        .dst(peer)
                        .field("mamori.icmp.avg_bytes", avg);
                        self.fire(hit, out);
                    }
                }
            }
        }
        if (f.proto == "tor" || f.tor_like) && self.on(C::Tor) {
            let hit = Hit::new(
                C::Tor,
                t,
                f.src.to_string(),
                format!("{} connected to Tor relay {}:{}", f.src, f.dst, f.dport),
                format!("{} がTorリレー {}:{} に接続した", f.src, f.dst, f.dport),
            )
            .src(f.src)
            .dst(f.dst)
            .port(f.dport);
            self.fire(hit, out);
        }
    }

    fn beacon(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        let key =
            Key::two(f.src, f.dst).with_n(u32::from(f.dport) | if f.tcp() { 0 } else { 1 << 16 });
        let min_reps = (self.th(C::Beaconing, "min_repetitions") as usize).clamp(3, BEACON_HISTORY);
        let max_jitter = self.th(C::Beaconing, "max_jitter_pct") / 100.0;
        let min_iv = self.th(C::Beaconing, "min_interval_secs");
        let max_iv = self.th(C::Beaconing, "max_interval_secs");
        if self.state.beacons.len() >= MAX_BEACON_PAIRS && !self.state.beacons.contains_key(&key) {
            self.stats.incr("beacon_state_full");
            return;
        }
        let b = self.state.beacons.entry(key).or_default();
        b.last = b.last.max(f.start);
        match b.first {
            None => {
                b.first = Some(f.start);
                return;
            }
            Some(first) if b.hist.is_empty() => b.hist.push_back(first),
            Some(_) => {}
        }
        let hist = &mut b.hist;
        hist.push_back(f.start);
        while hist.len() > BEACON_HISTORY {
            hist.pop_front();
        }
        if hist.len() < min_reps {
            return;
        }
        let mut times: Vec<i64> = hist.iter().map(|t| t.unix_nanos()).collect();
        times.sort_unstable();
        let ivs: Vec<f64> = times
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64 / 1e9)
            .collect();
        let n = ivs.len() as f64;
        let mean = ivs.iter().sum::<f64>() / n;
        if mean < min_iv || mean > max_iv || mean <= 0.0 {
            return;
        }
        let var = ivs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let jitter = var.sqrt() / mean;
        if jitter <= max_jitter {
            let reps = times.len();
            let pl = proto_label(f.transport);
            let jp = jitter * 100.0;
            let hit = Hit::new(
                C::Beaconing,
                f.t,
                format!("{}>{}:{}/{}", f.src, f.dst, f.dport, pl),
                format!("{} connected to {}:{} ({pl}) {reps} times every {mean:.1} s with {jp:.1} % jitter", f.src, f.dst, f.dport),
                format!("{} が {}:{}（{pl}）へ {mean:.1} 秒ごとに {reps} 回接続した（揺らぎ {jp:.1} %）", f.src, f.dst, f.dport),
            )
            .src(f.src)
            .dst(f.dst)
            .port(f.dport)
            .field("mamori.beacon.interval_secs", mean)
            .field("mamori.beacon.jitter_pct", jp)
            .hold(Duration::from_nanos(((mean * 3.0).max(300.0) * 1e9) as i64));
            self.fire(hit, out);
        }
    }

    fn long_lived(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        let key = Key::two(f.src, f.dst).with_n((u32::from(f.sport) << 16) | u32::from(f.dport));
        let continuing = f.continuing;
        let gap = Duration::from_secs(CONTINUATION_GAP_SECS);
        let first = match self.state.long_lived.get(&key) {
            Some(&(first, last_end)) if f.start <= last_end + gap => first.min(f.start),
            _ => f.start,
        };
        let duration = f.end - first;
        if continuing {
            if self.state.long_lived.len() < MAX_LONG_LIVED
                || self.state.long_lived.contains_key(&key)
            {
                self.state.long_lived.insert(key, (first, f.end));
            } else {
                self.stats.incr("long_lived_state_full");
            }
        } else {
            self.state.long_lived.remove(&key);
        }
        let min = self.th(C::LongLived, "min_duration_secs");
        let secs = duration.as_secs_f64();
        if secs >= min && min > 0.0 {
            let hours = secs / 3600.0;
            let pl = proto_label(f.transport);
            let hit = Hit::new(
                C::LongLived,
                f.t,
                format!("{}:{}>{}:{}/{}", f.src, f.sport, f.dst, f.dport, pl),
                format!(
                    "connection {}:{} → {}:{} ({pl}) has lasted {hours:.1} h",
                    f.src, f.sport, f.dst, f.dport
                ),
                format!(
                    "接続 {}:{} → {}:{}（{pl}）が {hours:.1} 時間続いている",
                    f.src, f.sport, f.dst, f.dport
                ),
            )
            .src(f.src)
            .dst(f.dst)
            .port(f.dport)
            .field("mamori.flow.total_duration_secs", secs);
            self.fire(hit, out);
        }
    }

    fn lateral_checks(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        if f.dir != "internal" {
            return;
        }
        let Some(svc) = admin_service(f) else {
            return;
        };
        let t = f.t;
        if f.answered() && self.on(C::LateralNewPair) {
            let learning =
                Duration::from_nanos((self.th(C::LateralNewPair, "learning_secs") * 1e9) as i64);
            let first = self.first_event.unwrap_or(t);
            let pair = (f.src, f.dst, f.dport);
            if t < first + learning {
                if self.state.learned.len() < MAX_LEARNED_PAIRS {
                    self.state.learned.insert(pair);
                } else {
                    self.stats.incr("lateral_learning_full");
                }
            } else if !self.state.learned.contains(&pair) {
                let hit = Hit::new(
                    C::LateralNewPair,
                    t,
                    format!("{}>{}:{}", f.src, f.dst, f.dport),
                    format!(
                        "{} used {svc} on {}:{} for the first time since learning ended",
                        f.src, f.dst, f.dport
                    ),
                    format!(
                        "{} が学習期間後に初めて {}:{} の {svc} を使った",
                        f.src, f.dst, f.dport
                    ),
                )
                .src(f.src)
                .dst(f.dst)
                .port(f.dport)
                .field("mamori.lateral.service", svc);
                self.fire(hit, out);
                if self.state.learned.len() < MAX_LEARNED_PAIRS {
                    self.state.learned.insert(pair);
                }
            }
        }
        if self.on(C::AdminFanout) {
            let min = self.th(C::AdminFanout, "min_hosts") as u64;
            if let Some(mut tl) = self.tally(C::AdminFanout, Key::one(f.src), t) {
                tl.total += 1;
                tl.add_distinct(ip_digest(f.dst));
                if tl.distinct() >= min.max(1) {
                    let (n, secs) = (tl.distinct_text(), tl.secs());
                    let w = self.window(C::AdminFanout);
                    let hit = Hit::new(
                        C::AdminFanout,
                        t,
                        f.src.to_string(),
                        format!("{} reached {n} internal hosts on admin ports (SMB/RDP/WinRM/SSH) in {secs} s", f.src),
                        format!("{} が {secs} 秒間に内部の {n} 台のホストの管理ポート（SMB/RDP/WinRM/SSH）へ接続した", f.src),
                    )
                    .src(f.src)
                    .field("mamori.lateral.hosts", n)
                    .hold(w);
                    self.fire(hit, out);
                }
            }
        }
    }

    fn service_checks(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        let t = f.t;
        // Insecure protocols by port or identified protocol.
        if self.on(C::InsecureProtocol) && f.answered() {
            let name = match (f.transport, f.proto, f.dport) {
                (_, "telnet", _) | ("tcp", "" | "unknown", 23) => Some("Telnet"),
                (_, "ftp", _) | ("tcp", "" | "unknown", 21) => Some("FTP"),
                ("tcp", _, 512) => Some("rexec"),
                ("tcp", _, 513) => Some("rlogin"),
                ("tcp", _, 514) => Some("rsh"),
                (_, "tftp", _) | ("udp", "" | "unknown", 69) => Some("TFTP"),
                _ => None,
            };
            if let Some(name) = name {
                self.insecure_hit(t, f.src, f.dst, f.dport, name, f.dir, None, out);
            }
        }
        // Remote access.
        if self.on(C::RemoteAccess) && f.tcp() && f.answered() {
            let app = match (f.proto, f.dport) {
                ("rdp", _) | (_, 3389) if f.dir == "inbound" => Some("RDP"),
                ("vnc" | "rfb", _) | (_, 5900..=5902) if f.dir == "inbound" => Some("VNC"),
                ("anydesk", _) | (_, 7070) => Some("AnyDesk"),
                ("teamviewer", _) | (_, 5938) => Some("TeamViewer"),
                _ => None,
            };
            if let Some(app) = app {
                self.remote_access_hit(t, f.src, f.dst, f.dport, app, f.dir, out);
            }
        }
        // Unexpected servers.
        let failed = f.unanswered();
        if !failed {
            let dns =
                f.proto == "dns" || ((f.udp() || f.tcp()) && f.dport == 53 && f.proto.is_empty());
            let ntp = f.proto == "ntp" || (f.udp() && f.dport == 123);
            let smtp = f.proto == "smtp" || (f.tcp() && matches!(f.dport, 25 | 465 | 587));
            for (yes, id, what, what_ja) in [
                (dns, C::UnexpectedDns, "DNS", "DNS"),
                (ntp, C::UnexpectedNtp, "NTP", "NTP"),
                (smtp, C::UnexpectedSmtp, "SMTP", "SMTP"),
            ] {
                if !yes {
                    continue;
                }
                let allowed = match id {
                    C::UnexpectedDns => &self.cfg.allowed_dns,
                    C::UnexpectedNtp => &self.cfg.allowed_ntp,
                    _ => &self.cfg.allowed_smtp,
                };
                if allowed.is_empty() || allowed.contains(f.dst) || allowed.contains(f.src) {
                    continue;
                }
                if !self.on(id) {
                    continue;
                }
                let hit = Hit::new(
                    id,
                    t,
                    f.pair(),
                    format!(
                        "{} used {what} server {} ({}/{}), which is not in the allowed list",
                        f.src,
                        f.dst,
                        proto_label(f.transport),
                        f.dport
                    ),
                    format!(
                        "{} が許可一覧にない{what_ja}サーバ {} を利用した",
                        f.src, f.dst
                    ),
                )
                .src(f.src)
                .dst(f.dst)
                .port(f.dport);
                self.fire(hit, out);
            }
        }
        // Large DNS responses (UDP).
        if f.udp()
            && (f.proto == "dns" || f.dport == 53)
            && f.dpkts > 0
            && self.on(C::DnsLargeResponse)
        {
            let min = self.th(C::DnsLargeResponse, "min_bytes");
            let avg = f.dbytes as f64 / f.dpkts as f64;
            if avg >= min {
                let hit = Hit::new(
                    C::DnsLargeResponse,
                    t,
                    f.pair(),
                    format!("DNS server {} answered {} with {} packets averaging {avg:.0} bytes (over {min:.0})", f.dst, f.src, f.dpkts),
                    format!("DNSサーバ {} が {} へ平均 {avg:.0} バイトの応答を {} 個返した（閾値 {min:.0}）", f.dst, f.src, f.dpkts),
                )
                .src(f.src)
                .dst(f.dst)
                .port(f.dport);
                self.fire(hit, out);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insecure_hit(
        &mut self,
        t: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        port: u16,
        name: &str,
        dir: &str,
        detail: Option<&str>,
        out: &mut Vec<Alert>,
    ) {
        let inbound = dir == "inbound" || dir == "external";
        let from = if inbound { " from outside" } else { "" };
        let from_ja = if inbound { "外部の" } else { "" };
        let extra = detail.map(|d| format!(" ({d})")).unwrap_or_default();
        let mut hit = Hit::new(
            C::InsecureProtocol,
            t,
            format!("{src}>{dst}:{name}"),
            format!("{src}{from} used insecure {name} to {dst}:{port}{extra}"),
            format!("{from_ja}{src} が {dst}:{port} へ安全でない {name} を使った{extra}"),
        )
        .src(src)
        .dst(dst)
        .port(port)
        .field("mamori.insecure.protocol", name);
        if inbound {
            let base = self
                .cfg
                .checks
                .get(C::InsecureProtocol.index())
                .map_or(Severity::Medium, |c| c.severity);
            hit = hit.severity(base.max(Severity::High));
        }
        self.fire(hit, out);
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn remote_access_hit(
        &mut self,
        t: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        port: u16,
        app: &str,
        dir: &str,
        out: &mut Vec<Alert>,
    ) {
        let (msg, msg_ja) = if dir == "inbound" {
            (
                format!("{src} from outside opened a {app} session to {dst}:{port}"),
                format!("外部の {src} が {dst}:{port} へ {app} セッションを確立した"),
            )
        } else {
            (
                format!("{src} opened a {app} session with {dst}:{port} ({dir})"),
                format!("{src} が {dst}:{port} と {app} セッションを確立した（{dir}）"),
            )
        };
        let hit = Hit::new(
            C::RemoteAccess,
            t,
            format!("{src}>{dst}:{app}"),
            msg,
            msg_ja,
        )
        .src(src)
        .dst(dst)
        .port(port)
        .field("mamori.remote_access.app", app);
        self.fire(hit, out);
    }

    fn intel_flow(&mut self, f: &FlowView<'_>, out: &mut Vec<Alert>) {
        if self.intel.is_empty() || !self.on(C::IntelIp) {
            return;
        }
        let mut hits = Vec::new();
        if let Some(m) = self.intel.match_ip_port(f.dst, f.dport) {
            let lbl = m.label.to_owned();
            hits.push((
                format!("{}>{}", f.src, f.dst),
                format!(
                    "{} contacted {}:{}, listed as {} in {lbl}",
                    f.src, f.dst, f.dport, m.indicator
                ),
                format!(
                    "{} が {}:{}（{lbl} に {} として掲載）と通信した",
                    f.src, f.dst, f.dport, m.indicator
                ),
                lbl,
                m.indicator,
            ));
        }
        if let Some(m) = self.intel.match_ip(f.src) {
            let lbl = m.label.to_owned();
            hits.push((
                format!("{}>{}", f.src, f.dst),
                format!(
                    "{}, listed as {} in {lbl}, contacted {}:{}",
                    f.src, m.indicator, f.dst, f.dport
                ),
                format!(
                    "{lbl} に {} として掲載された {} が {}:{} と通信した",
                    m.indicator, f.src, f.dst, f.dport
                ),
                lbl,
                m.indicator,
            ));
        }
        for (key, msg, msg_ja, label, indicator) in hits {
            let tor = label.to_ascii_lowercase().contains("tor");
            let hit = Hit::new(C::IntelIp, f.t, key, msg.clone(), msg_ja.clone())
                .src(f.src)
                .dst(f.dst)
                .port(f.dport)
                .field("threat.indicator.provider", label.clone())
                .field("threat.indicator.ip", indicator);
            self.fire(hit, out);
            if tor && self.on(C::Tor) {
                let hit = Hit::new(C::Tor, f.t, f.src.to_string(), msg, msg_ja)
                    .src(f.src)
                    .dst(f.dst)
                    .port(f.dport)
                    .field("threat.indicator.provider", label);
                self.fire(hit, out);
            }
        }
    }
}
