//! NetBIOS over UDP: the name service (NBNS, 137/udp: queries, registrations, releases,
//! node-status requests) and the datagram service (138/udp: source and destination names).
//!
//! One `netbios` record per message. NetBIOS names are decoded from their half-ASCII
//! encoding (RFC 1001 §14.1) into the 15-character name (`mamori.netbios.name`, trailing
//! spaces trimmed) and the suffix byte (`mamori.netbios.suffix`, e.g. `0x20` file server,
//! `0x1c` domain controllers).

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{be16, ipv4, set, Emitter, MAX_RECORDS_PER_FLOW};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Length of an encoded NetBIOS name label (16 bytes, two letters each).
pub const ENCODED_NAME_LEN: usize = 32;
/// Addresses read from one answer.
pub const MAX_ADDRESSES: usize = 16;

/// A decoded NetBIOS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbName {
    /// The 15-character name, trailing spaces trimmed (`*` for the wildcard).
    pub name: String,
    /// The 16th byte.
    pub suffix: u8,
    /// The scope id (DNS-style labels after the encoded label), if any.
    pub scope: String,
}

/// Decode the 32-letter first-level encoding.
pub fn decode_name(enc: &[u8]) -> Option<NbName> {
    if enc.len() != ENCODED_NAME_LEN {
        return None;
    }
    let mut raw = [0u8; 16];
    for (i, pair) in enc.chunks_exact(2).enumerate() {
        let hi = pair.first()?.checked_sub(b'A')?;
        let lo = pair.get(1)?.checked_sub(b'A')?;
        if hi > 15 || lo > 15 {
            return None;
        }
        *raw.get_mut(i)? = (hi << 4) | lo;
    }
    let suffix = raw[15];
    let name: String = raw[..15]
        .iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                char::from(c)
            } else {
                '.'
            }
        })
        .collect();
    let name = if raw[0] == b'*' {
        "*".to_owned()
    } else {
        name.trim_end().to_owned()
    };
    Some(NbName {
        name,
        suffix,
        scope: String::new(),
    })
}

/// Read a length-prefixed encoded name at `off` (no compression pointers are followed except
/// a final one, which answers use to point back at the question); returns the offset after.
fn read_name(b: &[u8], off: usize) -> Option<(NbName, usize)> {
    let first = *b.get(off)?;
    if first == 0xc0 {
        let ptr = usize::from(*b.get(off + 1)?);
        let (n, _) = read_name_plain(b, ptr)?;
        return Some((n, off + 2));
    }
    read_name_plain(b, off)
}

fn read_name_plain(b: &[u8], off: usize) -> Option<(NbName, usize)> {
    if usize::from(*b.get(off)?) != ENCODED_NAME_LEN {
        return None;
    }
    let mut n = decode_name(b.get(off + 1..off + 1 + ENCODED_NAME_LEN)?)?;
    let mut pos = off + 1 + ENCODED_NAME_LEN;
    // Scope labels (rarely used), bounded by the 255-byte name limit.
    loop {
        let l = usize::from(*b.get(pos)?);
        if l == 0 {
            pos += 1;
            break;
        }
        if l > 63 || pos - off > 255 {
            return None;
        }
        let label = b.get(pos + 1..pos + 1 + l)?;
        if !n.scope.is_empty() {
            n.scope.push('.');
        }
        n.scope.push_str(&String::from_utf8_lossy(label));
        pos += 1 + l;
    }
    Some((n, pos))
}

fn opcode_name(op: u8) -> &'static str {
    match op {
        0 => "query",
        5 => "registration",
        6 => "release",
        7 => "wack",
        8 | 9 => "refresh",
        15 => "multihomed_registration",
        _ => "unknown",
    }
}

fn rcode_name(rc: u8) -> Value {
    match rc {
        0 => "success".into(),
        1 => "format_error".into(),
        2 => "server_failure".into(),
        3 => "name_error".into(),
        4 => "unsupported".into(),
        5 => "refused".into(),
        6 => "active".into(),
        7 => "conflict".into(),
        n => Value::from(n),
    }
}

/// Name-service header check plus the question or answer name.
fn check_ns(b: &[u8]) -> Probe {
    let (Some(flags), Some(qd), Some(an), Some(ns), Some(ar)) =
        (be16(b, 2), be16(b, 4), be16(b, 6), be16(b, 8), be16(b, 10))
    else {
        return Probe::Maybe;
    };
    let op = ((flags >> 11) & 0xf) as u8;
    if opcode_name(op) == "unknown" || ns > 1 || ar > 1 || u32::from(qd) + u32::from(an) != 1 {
        return Probe::No;
    }
    match read_name(b, 12) {
        Some((_, p)) => match (be16(b, p), be16(b, p + 2)) {
            (Some(t), Some(1)) if t == 0x20 || t == 0x21 => Probe::Yes,
            (None, _) | (_, None) => Probe::Maybe,
            _ => Probe::No,
        },
        None if b.len() < 12 + 1 + ENCODED_NAME_LEN + 1 => Probe::Maybe,
        None => Probe::No,
    }
}

/// Datagram-service header check (direct unique/group or broadcast datagram).
fn check_dgm(b: &[u8]) -> Probe {
    let Some(&t) = b.first() else {
        return Probe::No;
    };
    if !(0x10..=0x12).contains(&t) {
        return Probe::No;
    }
    if b.len() < 14 {
        return Probe::Maybe;
    }
    match read_name(b, 14).and_then(|(_, p)| read_name(b, p)) {
        Some(_) => Probe::Yes,
        None => Probe::No,
    }
}

/// Probe: an NBNS message with an encoded name and type NB/NBSTAT, or a datagram-service
/// message with encoded source and destination names.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    if data.is_empty() {
        return Probe::No;
    }
    match check_dgm(data) {
        Probe::No => check_ns(data),
        p => p,
    }
}

/// Per-flow NetBIOS dissector.
#[derive(Debug, Default)]
pub struct NetbiosDissector {
    counters: Counters,
    emitter: Emitter,
    first_name: Option<String>,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<NetbiosDissector>::default()
}

fn put_name(f: &mut Fields, n: &NbName) {
    set!(f, "mamori.netbios.name", n.name.clone());
    set!(f, "mamori.netbios.suffix", format!("0x{:02x}", n.suffix));
    if !n.scope.is_empty() {
        set!(f, "mamori.netbios.scope", n.scope.clone());
    }
}

impl NetbiosDissector {
    /// Counters of malformed or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn name_service(&mut self, b: &[u8], f: &mut Fields) -> bool {
        let (Some(id), Some(flags), Some(qd)) = (be16(b, 0), be16(b, 2), be16(b, 4)) else {
            return false;
        };
        let response = flags & 0x8000 != 0;
        let op = ((flags >> 11) & 0xf) as u8;
        set!(f, "mamori.netbios.service", "name");
        set!(f, "mamori.netbios.transaction_id", id);
        set!(
            f,
            "mamori.netbios.type",
            if response { "response" } else { "request" }
        );
        set!(f, "mamori.netbios.op", opcode_name(op));
        if flags & 0x0010 != 0 {
            set!(f, "mamori.netbios.broadcast", true);
        }
        if response {
            set!(f, "mamori.netbios.rcode", rcode_name((flags & 0xf) as u8));
        }
        let Some((name, p)) = read_name(b, 12) else {
            return false;
        };
        if self.first_name.is_none() {
            self.first_name = Some(name.name.clone());
        }
        put_name(f, &name);
        let qtype = be16(b, p).unwrap_or(0);
        set!(
            f,
            "mamori.netbios.query_type",
            if qtype == 0x21 { "NBSTAT" } else { "NB" }
        );
        // Resource record (answer of a response, additional of a registration).
        let rr_start = if qd == 0 { Some(12) } else { Some(p + 4) };
        let rr = rr_start
            .and_then(|o| read_name(b, o))
            .map(|(_, after)| after);
        let Some(rr) = rr else {
            return true;
        };
        let (Some(t), Some(rdlen)) = (be16(b, rr), be16(b, rr + 8)) else {
            return true;
        };
        let Some(rd) = b.get(rr + 10..rr + 10 + usize::from(rdlen)) else {
            return true;
        };
        if t == 0x20 {
            let ips: Vec<Value> = rd
                .chunks_exact(6)
                .take(MAX_ADDRESSES)
                .filter_map(|c| c.get(2..6).and_then(ipv4))
                .map(Value::from)
                .collect();
            if !ips.is_empty() {
                set!(f, "mamori.netbios.addresses", ips);
            }
        } else if t == 0x21 {
            // Node status: a count, then 18-byte entries (15-byte name, suffix, flags).
            let count = usize::from(rd.first().copied().unwrap_or(0)).min(MAX_ADDRESSES * 4);
            let names: Vec<Value> = rd
                .get(1..)
                .unwrap_or(&[])
                .chunks_exact(18)
                .take(count)
                .map(|e| {
                    let n = String::from_utf8_lossy(e.get(..15).unwrap_or(&[]));
                    Value::from(format!(
                        "{}<{:02x}>",
                        n.trim_end(),
                        e.get(15).copied().unwrap_or(0)
                    ))
                })
                .collect();
            if !names.is_empty() {
                set!(f, "mamori.netbios.node_names", names);
            }
        }
        true
    }

    fn datagram(&mut self, b: &[u8], f: &mut Fields) -> bool {
        let (Some(&t), Some(id)) = (b.first(), be16(b, 2)) else {
            return false;
        };
        set!(f, "mamori.netbios.service", "datagram");
        set!(
            f,
            "mamori.netbios.type",
            match t {
                0x10 => "direct_unique",
                0x11 => "direct_group",
                _ => "broadcast",
            }
        );
        set!(f, "mamori.netbios.transaction_id", id);
        if let Some(ip) = b.get(4..8).and_then(ipv4) {
            set!(f, "mamori.netbios.source_ip", ip);
        }
        let Some((src, p)) = read_name(b, 14) else {
            return false;
        };
        put_name(f, &src);
        if self.first_name.is_none() {
            self.first_name = Some(src.name.clone());
        }
        if let Some((dst, _)) = read_name(b, p) {
            set!(f, "mamori.netbios.destination_name", dst.name);
            set!(
                f,
                "mamori.netbios.destination_suffix",
                format!("0x{:02x}", dst.suffix)
            );
        }
        true
    }
}

impl Dissector for NetbiosDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, _dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let mut f = Fields::new();
        let ok = if check_dgm(data) == Probe::Yes {
            self.datagram(data, &mut f)
        } else if check_ns(data) == Probe::Yes {
            self.name_service(data, &mut f)
        } else {
            false
        };
        if ok {
            self.emitter.emit(
                out,
                &mut self.counters,
                MAX_RECORDS_PER_FLOW,
                "netbios",
                ts,
                f,
            );
        } else {
            self.counters.incr("malformed_message");
        }
        Progress::Continue
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some(n) = &self.first_name {
            fields.insert(Cow::Borrowed("mamori.netbios.name"), Value::from(n.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_first_level_encoding() {
        let mut enc = Vec::new();
        for c in b"MAMORI         \0" {
            enc.push(b'A' + (c >> 4));
            enc.push(b'A' + (c & 0xf));
        }
        let n = decode_name(&enc).unwrap();
        assert_eq!(n.name, "MAMORI");
        assert_eq!(n.suffix, 0);
        assert!(decode_name(b"ZZ").is_none());
        assert!(decode_name(b"ZOEBENEBEPFCEJCACACACACACACACAAA").is_none());
    }
}
