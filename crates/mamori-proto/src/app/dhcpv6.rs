//! DHCPv6 (RFC 8415, 546/547 udp): one `dhcpv6` record per message.
//!
//! `mamori.dhcpv6.message_type` (SOLICIT, ADVERTISE, REQUEST, REPLY, …),
//! `mamori.dhcpv6.transaction_id`, `client_duid`/`server_duid` (hex) and the client MAC when
//! the DUID embeds one, `fqdn` (option 39), `addresses` (IA_NA/IAADDR), `prefixes` (IA_PD),
//! `fingerprint` (option request list), `vendor_class`. Relay messages are unwrapped to the
//! relayed message at most [`MAX_RELAY_DEPTH`] levels deep.

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{
    be16, bounded_str, hex, ipv6, mac, set, Emitter, MAX_RECORDS_PER_FLOW,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Relay-forward/relay-reply levels unwrapped.
pub const MAX_RELAY_DEPTH: usize = 4;
/// Options read per message (and per IA).
pub const MAX_OPTIONS: usize = 128;
/// Addresses or prefixes kept per message.
pub const MAX_ADDRESSES: usize = 16;

/// Fields copied from the first message that has them onto the flow record.
const SUMMARY_FIELDS: [&str; 3] = [
    "mamori.dhcpv6.message_type",
    "mamori.dhcpv6.fqdn",
    "mamori.dhcpv6.client_mac",
];

/// Message type name.
pub fn message_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "SOLICIT",
        2 => "ADVERTISE",
        3 => "REQUEST",
        4 => "CONFIRM",
        5 => "RENEW",
        6 => "REBIND",
        7 => "REPLY",
        8 => "RELEASE",
        9 => "DECLINE",
        10 => "RECONFIGURE",
        11 => "INFORMATION-REQUEST",
        12 => "RELAY-FORW",
        13 => "RELAY-REPL",
        _ => return None,
    })
}

/// Iterate over `(code, value)` options; `None` in the second position marks a truncated one.
fn options(b: &[u8]) -> impl Iterator<Item = (u16, Option<&[u8]>)> {
    let mut pos = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done || pos >= b.len() {
            return None;
        }
        let (Some(code), Some(len)) = (be16(b, pos), be16(b, pos + 2)) else {
            done = true;
            return Some((0, None));
        };
        let v = b.get(pos + 4..pos + 4 + usize::from(len));
        pos += 4 + usize::from(len);
        if v.is_none() {
            done = true;
        }
        Some((code, v))
    })
    .take(MAX_OPTIONS)
}

fn check(b: &[u8], depth: usize) -> Probe {
    let Some(&t) = b.first() else {
        return Probe::No;
    };
    if message_type_name(t).is_none() {
        return Probe::No;
    }
    let (opts, relay) = if t >= 12 {
        match b.get(34..) {
            Some(o) => (o, true),
            None => return Probe::Maybe,
        }
    } else {
        match b.get(4..) {
            Some(o) => (o, false),
            None => return Probe::Maybe,
        }
    };
    let mut has_id = false;
    let mut n = 0;
    for (code, v) in options(opts) {
        let Some(v) = v else {
            return Probe::No;
        };
        n += 1;
        match code {
            0 => return Probe::No,
            1 | 2 => has_id = true,
            9 if relay && depth < MAX_RELAY_DEPTH => return check(v, depth + 1),
            _ => {}
        }
    }
    if n > 0 && (has_id || relay) {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// Probe: a known message type whose options parse exactly to the end and carry a client or
/// server identifier (relay messages: the relayed message does).
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    check(data, 0)
}

fn duid_mac(d: &[u8]) -> Option<String> {
    // DUID-LLT (1): type, hw type, time, address; DUID-LL (3): type, hw type, address.
    match (be16(d, 0)?, be16(d, 2)?) {
        (1, 1) => mac(d.get(8..14)?),
        (3, 1) => mac(d.get(4..10)?),
        _ => None,
    }
}

fn dns_name(b: &[u8]) -> String {
    let mut s = String::new();
    let mut pos = 0;
    while let Some(&l) = b.get(pos) {
        if l == 0 || l > 63 {
            break;
        }
        let Some(label) = b.get(pos + 1..pos + 1 + usize::from(l)) else {
            break;
        };
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(&bounded_str(label, 63));
        pos += 1 + usize::from(l);
    }
    s
}

/// Decode one message into `mamori.dhcpv6.*` fields; `None` if it is not DHCPv6.
pub fn parse(data: &[u8]) -> Option<Fields> {
    let mut f = Fields::new();
    let mut b = data;
    let mut relays = 0usize;
    loop {
        let t = *b.first()?;
        let name = message_type_name(t)?;
        if t >= 12 {
            if relays == 0 {
                if let Some(a) = b.get(2..18).and_then(ipv6) {
                    set!(f, "mamori.dhcpv6.relay_link_address", a);
                }
                if let Some(a) = b.get(18..34).and_then(ipv6) {
                    set!(f, "mamori.dhcpv6.relay_peer_address", a);
                }
            }
            relays += 1;
            let inner = options(b.get(34..)?)
                .find(|(c, _)| *c == 9)
                .and_then(|(_, v)| v);
            match inner {
                Some(i) if relays <= MAX_RELAY_DEPTH => {
                    b = i;
                    continue;
                }
                _ => {
                    set!(f, "mamori.dhcpv6.message_type", name);
                    return Some(f);
                }
            }
        }
        set!(f, "mamori.dhcpv6.message_type", name);
        if relays > 0 {
            set!(f, "mamori.dhcpv6.relayed", true);
        }
        set!(f, "mamori.dhcpv6.transaction_id", hex(b.get(1..4)?, 3));
        let mut addrs: Vec<Value> = Vec::new();
        let mut prefixes: Vec<Value> = Vec::new();
        for (code, v) in options(b.get(4..)?) {
            let Some(v) = v else {
                set!(f, "mamori.dhcpv6.truncated", true);
                break;
            };
            match code {
                1 => {
                    set!(f, "mamori.dhcpv6.client_duid", hex(v, 130));
                    if let Some(m) = duid_mac(v) {
                        set!(f, "mamori.dhcpv6.client_mac", m);
                    }
                }
                2 => {
                    set!(f, "mamori.dhcpv6.server_duid", hex(v, 130));
                }
                3 | 25 => {
                    // IA_NA / IA_PD: IAID, T1, T2, then sub-options.
                    for (sc, sv) in options(v.get(12..).unwrap_or(&[])) {
                        let Some(sv) = sv else { break };
                        if sc == 5 && addrs.len() < MAX_ADDRESSES {
                            if let Some(a) = ipv6(sv) {
                                addrs.push(a.into());
                            }
                        } else if sc == 26 && prefixes.len() < MAX_ADDRESSES {
                            // IAPREFIX: preferred, valid, prefix length, prefix.
                            if let (Some(&plen), Some(p)) =
                                (sv.get(8), sv.get(9..25).and_then(ipv6))
                            {
                                prefixes.push(format!("{p}/{plen}").into());
                            }
                        } else if sc == 13 {
                            if let Some(code) = be16(sv, 0) {
                                set!(f, "mamori.dhcpv6.status_code", code);
                            }
                        }
                    }
                }
                6 => {
                    let list = v
                        .chunks_exact(2)
                        .map(|c| {
                            u16::from_be_bytes([
                                c.first().copied().unwrap_or(0),
                                c.get(1).copied().unwrap_or(0),
                            ])
                            .to_string()
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    set!(f, "mamori.dhcpv6.fingerprint", list);
                }
                13 => {
                    if let Some(code) = be16(v, 0) {
                        set!(f, "mamori.dhcpv6.status_code", code);
                    }
                }
                16 => {
                    // Vendor class: enterprise number, then length-prefixed opaque data.
                    if let (Some(l), Some(rest)) = (be16(v, 4), v.get(6..)) {
                        set!(
                            f,
                            "mamori.dhcpv6.vendor_class",
                            bounded_str(rest.get(..usize::from(l)).unwrap_or(rest), 255)
                        );
                    }
                }
                39 => {
                    set!(f, "mamori.dhcpv6.fqdn", dns_name(v.get(1..).unwrap_or(&[])));
                }
                _ => {}
            }
        }
        if !addrs.is_empty() {
            set!(f, "mamori.dhcpv6.addresses", addrs);
        }
        if !prefixes.is_empty() {
            set!(f, "mamori.dhcpv6.prefixes", prefixes);
        }
        return Some(f);
    }
}

/// Per-flow DHCPv6 dissector.
#[derive(Debug, Default)]
pub struct Dhcpv6Dissector {
    counters: Counters,
    emitter: Emitter,
    summary: Fields,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<Dhcpv6Dissector>::default()
}

impl Dhcpv6Dissector {
    /// Counters of malformed input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Dissector for Dhcpv6Dissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, _dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        match parse(data) {
            Some(f) => {
                for k in SUMMARY_FIELDS {
                    if let (false, Some(v)) = (self.summary.contains_key(k), f.get(k)) {
                        self.summary.insert(Cow::Borrowed(k), v.clone());
                    }
                }
                self.emitter.emit(
                    out,
                    &mut self.counters,
                    MAX_RECORDS_PER_FLOW,
                    "dhcpv6",
                    ts,
                    f,
                );
            }
            None => self.counters.incr("malformed_message"),
        }
        Progress::Continue
    }

    fn flow_fields(&self, fields: &mut Fields) {
        for (k, v) in &self.summary {
            fields.insert(k.clone(), v.clone());
        }
    }
}
