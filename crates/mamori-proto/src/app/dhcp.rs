//! DHCPv4 (BOOTP with the RFC 2131 magic cookie): one `dhcp` record per message.
//!
//! Fields live under `mamori.dhcp.*`: `message_type` (DISCOVER, OFFER, REQUEST, ACK, NAK,
//! RELEASE, INFORM, DECLINE, …), `client_mac`, `hostname` (option 12), `requested_ip` (50),
//! `assigned_ip` (yiaddr), `server_id` (54), `lease_time` (51), `vendor_class` (60),
//! `fingerprint` (the parameter request list 55 as `1,3,6,15`), `relay_ip` (giaddr) and
//! `transaction_id`. Options are read until END or the end of the datagram, at most
//! [`MAX_OPTIONS`] of them.

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{
    be32, bounded_str, hex, ipv4, mac, set, Emitter, MAX_RECORDS_PER_FLOW,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Offset of the magic cookie.
pub const COOKIE_OFFSET: usize = 236;
/// The magic cookie 99.130.83.99.
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Options read per message.
pub const MAX_OPTIONS: usize = 128;
/// Longest text option copied (host name, vendor class, domain).
pub const MAX_TEXT_LEN: usize = 255;

/// DHCP message type (option 53); unknown values are kept as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageType(pub u8);

impl MessageType {
    /// DHCPDISCOVER.
    pub const DISCOVER: MessageType = MessageType(1);
    /// DHCPACK.
    pub const ACK: MessageType = MessageType(5);
    /// The upper-case name without the `DHCP` prefix.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "DISCOVER",
            2 => "OFFER",
            3 => "REQUEST",
            4 => "DECLINE",
            5 => "ACK",
            6 => "NAK",
            7 => "RELEASE",
            8 => "INFORM",
            9 => "FORCERENEW",
            10 => "LEASEQUERY",
            11 => "LEASEUNASSIGNED",
            12 => "LEASEUNKNOWN",
            13 => "LEASEACTIVE",
            _ => return None,
        })
    }
}

/// Probe: a BOOTP request or reply carrying the DHCP magic cookie.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    let Some(&op) = data.first() else {
        return Probe::No;
    };
    if op != 1 && op != 2 {
        return Probe::No;
    }
    if data.get(2).is_some_and(|&hlen| hlen > 16) {
        return Probe::No;
    }
    match data.get(COOKIE_OFFSET..COOKIE_OFFSET + 4) {
        Some(c) if c == MAGIC_COOKIE => Probe::Yes,
        Some(_) => Probe::No,
        None => Probe::Maybe,
    }
}

/// Per-flow DHCP dissector.
#[derive(Debug, Default)]
pub struct DhcpDissector {
    counters: Counters,
    emitter: Emitter,
    summary: Option<(String, Option<String>)>,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<DhcpDissector>::default()
}

/// Decode one DHCP message into `mamori.dhcp.*` fields; `None` if it is not DHCP.
pub fn parse(data: &[u8]) -> Option<Fields> {
    if data.get(COOKIE_OFFSET..COOKIE_OFFSET + 4)? != MAGIC_COOKIE {
        return None;
    }
    let mut f = Fields::new();
    let op = *data.first()?;
    let htype = *data.get(1)?;
    let hlen = usize::from(*data.get(2)?);
    set!(
        f,
        "mamori.dhcp.op",
        if op == 1 { "request" } else { "reply" }
    );
    set!(f, "mamori.dhcp.transaction_id", hex(data.get(4..8)?, 4));
    let ip = |o: usize| {
        data.get(o..o + 4)
            .and_then(ipv4)
            .filter(|a| !a.is_unspecified())
    };
    if let Some(a) = ip(12) {
        set!(f, "mamori.dhcp.client_ip", a);
    }
    if let Some(a) = ip(16) {
        set!(f, "mamori.dhcp.assigned_ip", a);
    }
    if let Some(a) = ip(20) {
        set!(f, "mamori.dhcp.next_server", a);
    }
    if let Some(a) = ip(24) {
        set!(f, "mamori.dhcp.relay_ip", a);
    }
    if htype == 1 && hlen == 6 {
        if let Some(m) = data.get(28..34).and_then(mac) {
            set!(f, "mamori.dhcp.client_mac", m);
        }
    } else if let Some(ch) = data.get(28..28 + hlen.min(16)) {
        set!(f, "mamori.dhcp.client_hw_address", hex(ch, 16));
    }
    let mut pos = COOKIE_OFFSET + 4;
    for _ in 0..MAX_OPTIONS {
        let Some(&code) = data.get(pos) else { break };
        if code == 255 {
            break;
        }
        if code == 0 {
            pos += 1;
            continue;
        }
        let Some(&len) = data.get(pos + 1) else { break };
        let Some(v) = data.get(pos + 2..pos + 2 + usize::from(len)) else {
            set!(f, "mamori.dhcp.truncated", true);
            break;
        };
        pos += 2 + usize::from(len);
        let text = || bounded_str(v, MAX_TEXT_LEN);
        match code {
            53 => {
                if let Some(&t) = v.first() {
                    let mt = MessageType(t);
                    match mt.name() {
                        Some(n) => set!(f, "mamori.dhcp.message_type", n),
                        None => set!(f, "mamori.dhcp.message_type", t),
                    };
                }
            }
            12 => {
                set!(f, "mamori.dhcp.hostname", text());
            }
            15 => {
                set!(f, "mamori.dhcp.domain", text());
            }
            60 => {
                set!(f, "mamori.dhcp.vendor_class", text());
            }
            50 => {
                if let Some(a) = ipv4(v) {
                    set!(f, "mamori.dhcp.requested_ip", a);
                }
            }
            54 => {
                if let Some(a) = ipv4(v) {
                    set!(f, "mamori.dhcp.server_id", a);
                }
            }
            51 => {
                if let Some(t) = be32(v, 0) {
                    set!(f, "mamori.dhcp.lease_time", t);
                }
            }
            1 => {
                if let Some(a) = ipv4(v) {
                    set!(f, "mamori.dhcp.subnet_mask", a);
                }
            }
            3 | 6 => {
                let list: Vec<Value> = v
                    .chunks_exact(4)
                    .filter_map(ipv4)
                    .map(Value::from)
                    .collect();
                let k = if code == 3 {
                    "mamori.dhcp.routers"
                } else {
                    "mamori.dhcp.dns_servers"
                };
                set!(f, k, list);
            }
            55 => {
                let fp = v
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                set!(f, "mamori.dhcp.fingerprint", fp);
            }
            61 => {
                set!(f, "mamori.dhcp.client_id", hex(v, 64));
            }
            56 => {
                set!(f, "mamori.dhcp.message", text());
            }
            81 => {
                // Client FQDN: flags, rcode1, rcode2, name (ASCII when the E bit is clear).
                if let Some(n) = v.get(3..) {
                    if v.first().is_some_and(|fl| fl & 0x04 == 0) {
                        set!(f, "mamori.dhcp.client_fqdn", bounded_str(n, MAX_TEXT_LEN));
                    }
                }
            }
            _ => {}
        }
    }
    Some(f)
}

impl DhcpDissector {
    /// Counters of malformed input (`malformed_message`, `records_over_limit`).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Dissector for DhcpDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, _dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        match parse(data) {
            Some(f) => {
                if self.summary.is_none() {
                    if let Some(Value::Str(t)) = f.get("mamori.dhcp.message_type") {
                        let host = f
                            .get("mamori.dhcp.hostname")
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        self.summary = Some((t.clone(), host));
                    }
                }
                self.emitter
                    .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "dhcp", ts, f);
            }
            None => self.counters.incr("malformed_message"),
        }
        Progress::Continue
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some((t, h)) = &self.summary {
            fields.insert(
                Cow::Borrowed("mamori.dhcp.message_type"),
                Value::from(t.clone()),
            );
            if let Some(h) = h {
                fields.insert(
                    Cow::Borrowed("mamori.dhcp.hostname"),
                    Value::from(h.clone()),
                );
            }
        }
    }
}
