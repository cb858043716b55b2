//! DNS over UDP and TCP (2-byte length framing), and the mDNS and LLMNR variants.
//!
//! Classic DNS pairs queries and responses by transaction id into one `dns` record per
//! transaction (`dns.type: answer`); queries still unanswered when the flow ends are emitted
//! by [`Dissector::finish`] with `dns.type: query` and no response code. mDNS and LLMNR
//! responses travel on other flows (multicast queries, unicast or multicast answers), so those
//! variants emit one record per message, tagged `mamori.dns.variant`.
//!
//! Names follow compression pointers at most [`MAX_POINTER_HOPS`] times and stop at
//! [`MAX_NAME_LEN`] wire bytes; at most [`MAX_ANSWERS`] resource records are read per message.
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_proto::app::{by_name, identify, Dir, FlowMeta, Identified, Transport};
//!
//! // A query for example.jp/A, id 0x1234, recursion desired.
//! let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
//! q.extend_from_slice(b"\x07example\x02jp\x00\x00\x01\x00\x01");
//! let meta = FlowMeta { transport: Transport::Udp, client_port: 50000, server_port: 5300 };
//! let Identified::Protocol(def) = identify(&meta, Dir::ToServer, &q) else { panic!() };
//! assert_eq!(def.name, "dns");
//! let mut d = (def.new.unwrap())(&meta);
//! let mut out = Vec::new();
//! d.feed(Dir::ToServer, &q, Timestamp::EPOCH, &mut out);
//! d.finish(Timestamp::EPOCH, &mut out); // unanswered: emitted at the end
//! assert_eq!(out[0].fields["dns.question.name"].as_str(), Some("example.jp"));
//! assert_eq!(out[0].fields["dns.type"].as_str(), Some("query"));
//! ```

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::IpAddr;

use mamori_core::{Counters, Fields, Timestamp, Value};
use thiserror::Error;

use super::registry_a::util::{
    be16, be32, bounded_str, hex, ipv4, ipv6, set, Emitter, Frame, Streams, MAX_RECORDS_PER_FLOW,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress};

/// Longest name in wire bytes (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Compression pointers followed per name before it is declared a loop.
pub const MAX_POINTER_HOPS: usize = 16;
/// Resource records read per message (answer, authority and additional sections together).
pub const MAX_ANSWERS: usize = 64;
/// Queries awaiting a response per flow; the oldest is emitted unanswered when exceeded.
pub const MAX_PENDING: usize = 256;
/// Longest rendered answer datum (TXT, unknown types as hex).
pub const MAX_DATA_LEN: usize = 512;
/// Sum of the three resource record counts a plausible message announces.
const MAX_PLAUSIBLE_RRS: usize = 512;

/// DNS resource record type; unknown values are kept as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RrType(pub u16);

impl RrType {
    /// IPv4 address.
    pub const A: RrType = RrType(1);
    /// Name server.
    pub const NS: RrType = RrType(2);
    /// Canonical name.
    pub const CNAME: RrType = RrType(5);
    /// Start of authority.
    pub const SOA: RrType = RrType(6);
    /// NULL (used by tunnels).
    pub const NULL: RrType = RrType(10);
    /// Pointer.
    pub const PTR: RrType = RrType(12);
    /// Mail exchanger.
    pub const MX: RrType = RrType(15);
    /// Text.
    pub const TXT: RrType = RrType(16);
    /// IPv6 address.
    pub const AAAA: RrType = RrType(28);
    /// Service locator.
    pub const SRV: RrType = RrType(33);
    /// EDNS(0) pseudo-record.
    pub const OPT: RrType = RrType(41);
    /// Any type.
    pub const ANY: RrType = RrType(255);

    /// The mnemonic, if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "A",
            2 => "NS",
            5 => "CNAME",
            6 => "SOA",
            10 => "NULL",
            11 => "WKS",
            12 => "PTR",
            13 => "HINFO",
            15 => "MX",
            16 => "TXT",
            17 => "RP",
            18 => "AFSDB",
            24 => "SIG",
            25 => "KEY",
            28 => "AAAA",
            29 => "LOC",
            33 => "SRV",
            35 => "NAPTR",
            36 => "KX",
            37 => "CERT",
            39 => "DNAME",
            41 => "OPT",
            42 => "APL",
            43 => "DS",
            44 => "SSHFP",
            45 => "IPSECKEY",
            46 => "RRSIG",
            47 => "NSEC",
            48 => "DNSKEY",
            49 => "DHCID",
            50 => "NSEC3",
            51 => "NSEC3PARAM",
            52 => "TLSA",
            53 => "SMIMEA",
            55 => "HIP",
            59 => "CDS",
            60 => "CDNSKEY",
            61 => "OPENPGPKEY",
            62 => "CSYNC",
            63 => "ZONEMD",
            64 => "SVCB",
            65 => "HTTPS",
            99 => "SPF",
            249 => "TKEY",
            250 => "TSIG",
            251 => "IXFR",
            252 => "AXFR",
            253 => "MAILB",
            254 => "MAILA",
            255 => "ANY",
            256 => "URI",
            257 => "CAA",
            _ => return None,
        })
    }
    /// Field value: the mnemonic, or the number when unknown.
    pub fn value(self) -> Value {
        match self.name() {
            Some(n) => Value::from(n),
            None => Value::from(self.0),
        }
    }
}

/// DNS response code; unknown values are kept as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rcode(pub u8);

impl Rcode {
    /// No error.
    pub const NOERROR: Rcode = Rcode(0);
    /// Name does not exist.
    pub const NXDOMAIN: Rcode = Rcode(3);
    /// The mnemonic, if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            6 => "YXDOMAIN",
            7 => "YXRRSET",
            8 => "NXRRSET",
            9 => "NOTAUTH",
            10 => "NOTZONE",
            11 => "DSOTYPENI",
            _ => return None,
        })
    }
    /// Field value: the mnemonic, or the number when unknown.
    pub fn value(self) -> Value {
        match self.name() {
            Some(n) => Value::from(n),
            None => Value::from(self.0),
        }
    }
}

fn class_value(c: u16) -> Value {
    match c {
        1 => "IN".into(),
        3 => "CH".into(),
        4 => "HS".into(),
        254 => "NONE".into(),
        255 => "ANY".into(),
        n => Value::from(n),
    }
}

fn opcode_name(op: u8) -> Value {
    match op {
        0 => "QUERY".into(),
        1 => "IQUERY".into(),
        2 => "STATUS".into(),
        4 => "NOTIFY".into(),
        5 => "UPDATE".into(),
        6 => "DSO".into(),
        n => Value::from(n),
    }
}

/// Why a DNS message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DnsError {
    /// The message ended inside `what`.
    #[error("dns message truncated in {what} at offset {offset}")]
    Truncated {
        /// The part being read.
        what: &'static str,
        /// Offset where bytes ran out.
        offset: usize,
    },
    /// Compression pointers looped or chained more than [`MAX_POINTER_HOPS`] times.
    #[error("dns name at offset {offset} has a compression pointer loop")]
    PointerLoop {
        /// Offset of the name.
        offset: usize,
    },
    /// A name longer than [`MAX_NAME_LEN`] wire bytes.
    #[error("dns name at offset {offset} exceeds {MAX_NAME_LEN} bytes")]
    NameTooLong {
        /// Offset of the name.
        offset: usize,
    },
    /// A label with the reserved 0x40/0x80 length prefix.
    #[error("dns label type 0x{byte:02x} at offset {offset} is not supported")]
    BadLabel {
        /// Offset of the label.
        offset: usize,
        /// The length byte.
        byte: u8,
    },
}

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// Flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl Header {
    /// Read the header.
    pub fn parse(b: &[u8]) -> Result<Header, DnsError> {
        let t = |o| {
            be16(b, o).ok_or(DnsError::Truncated {
                what: "header",
                offset: b.len(),
            })
        };
        Ok(Header {
            id: t(0)?,
            flags: t(2)?,
            qdcount: t(4)?,
            ancount: t(6)?,
            nscount: t(8)?,
            arcount: t(10)?,
        })
    }
    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// Opcode.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// Response code.
    pub fn rcode(&self) -> Rcode {
        Rcode((self.flags & 0xf) as u8)
    }
    /// ECS `dns.header_flags` names.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (bit, n) in [
            (0x0400, "AA"),
            (0x0200, "TC"),
            (0x0100, "RD"),
            (0x0080, "RA"),
            (0x0020, "AD"),
            (0x0010, "CD"),
        ] {
            if self.flags & bit != 0 {
                v.push(n);
            }
        }
        v
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Name (dotted, `.` for the root, bytes outside printable ASCII escaped as `\DDD`).
    pub name: String,
    /// Query type.
    pub qtype: RrType,
    /// Query class (the mDNS unicast-response bit masked off).
    pub qclass: u16,
}

/// One resource record of the answer, authority or additional section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Section: 0 answer, 1 authority, 2 additional.
    pub section: u8,
    /// Owner name.
    pub name: String,
    /// Type.
    pub rtype: RrType,
    /// Class (the mDNS cache-flush bit masked off).
    pub class: u16,
    /// Time to live in seconds.
    pub ttl: u32,
    /// Rendered data.
    pub data: String,
    /// The address for A/AAAA records.
    pub ip: Option<IpAddr>,
}

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Header.
    pub header: Header,
    /// The first question (real traffic carries one).
    pub question: Option<Question>,
    /// Resource records, at most [`MAX_ANSWERS`].
    pub answers: Vec<Answer>,
    /// False when the message ended early or had more records than were read.
    pub complete: bool,
}

/// Read a possibly compressed name at `off`; returns the text and the offset after it.
pub fn parse_name(msg: &[u8], off: usize) -> Result<(String, usize), DnsError> {
    let mut out = String::new();
    let mut pos = off;
    let mut next: Option<usize> = None;
    let mut hops = 0usize;
    let mut wire = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated {
            what: "name",
            offset: pos,
        })?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    let end = next.unwrap_or(pos + 1);
                    if out.is_empty() {
                        out.push('.');
                    }
                    return Ok((out, end));
                }
                let l = usize::from(len);
                let label = msg.get(pos + 1..pos + 1 + l).ok_or(DnsError::Truncated {
                    what: "label",
                    offset: pos,
                })?;
                wire += l + 1;
                if wire > MAX_NAME_LEN {
                    return Err(DnsError::NameTooLong { offset: off });
                }
                if !out.is_empty() {
                    out.push('.');
                }
                for &c in label {
                    if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                        out.push(char::from(c));
                    } else {
                        let _ = write!(out, "\\{c:03}");
                    }
                }
                pos += 1 + l;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(DnsError::Truncated {
                    what: "pointer",
                    offset: pos,
                })?;
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return Err(DnsError::PointerLoop { offset: off });
                }
                if next.is_none() {
                    next = Some(pos + 2);
                }
                pos = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
            }
            _ => {
                return Err(DnsError::BadLabel {
                    offset: pos,
                    byte: len,
                })
            }
        }
    }
}

fn parse_question(msg: &[u8], off: usize, mdns: bool) -> Result<(Question, usize), DnsError> {
    let (name, p) = parse_name(msg, off)?;
    let t = be16(msg, p).ok_or(DnsError::Truncated {
        what: "question",
        offset: p,
    })?;
    let c = be16(msg, p + 2).ok_or(DnsError::Truncated {
        what: "question",
        offset: p,
    })?;
    Ok((
        Question {
            name,
            qtype: RrType(t),
            qclass: if mdns { c & 0x7fff } else { c },
        },
        p + 4,
    ))
}

fn render_rdata(msg: &[u8], rdoff: usize, rd: &[u8], t: RrType) -> (String, Option<IpAddr>) {
    let name_at = |o: usize| parse_name(msg, rdoff + o).map(|(n, _)| n).ok();
    let fallback = || format!("\\# {} {}", rd.len(), hex(rd, MAX_DATA_LEN / 2));
    match t.0 {
        1 if rd.len() == 4 => match ipv4(rd) {
            Some(ip) => (ip.to_string(), Some(IpAddr::V4(ip))),
            None => (fallback(), None),
        },
        28 if rd.len() == 16 => match ipv6(rd) {
            Some(ip) => (ip.to_string(), Some(IpAddr::V6(ip))),
            None => (fallback(), None),
        },
        2 | 5 | 12 | 39 => (name_at(0).unwrap_or_else(fallback), None),
        15 => {
            let pref = be16(rd, 0);
            match (pref, name_at(2)) {
                (Some(p), Some(n)) => (format!("{p} {n}"), None),
                _ => (fallback(), None),
            }
        }
        33 => match (be16(rd, 0), be16(rd, 2), be16(rd, 4), name_at(6)) {
            (Some(p), Some(w), Some(port), Some(n)) => (format!("{p} {w} {port} {n}"), None),
            _ => (fallback(), None),
        },
        6 => {
            let r = parse_name(msg, rdoff).and_then(|(m, p)| {
                let (rn, p2) = parse_name(msg, p)?;
                Ok((m, rn, p2))
            });
            match r {
                Ok((m, rn, p2)) => {
                    let serial = be32(msg, p2).unwrap_or(0);
                    (format!("{m} {rn} {serial}"), None)
                }
                Err(_) => (fallback(), None),
            }
        }
        16 | 99 => {
            let mut s = String::new();
            let mut i = 0usize;
            while let Some(&l) = rd.get(i) {
                let part = rd
                    .get(i + 1..i + 1 + usize::from(l))
                    .unwrap_or(rd.get(i + 1..).unwrap_or(&[]));
                s.push_str(&bounded_str(part, MAX_DATA_LEN));
                i += 1 + usize::from(l);
                if s.len() >= MAX_DATA_LEN {
                    break;
                }
            }
            let mut cut = MAX_DATA_LEN.min(s.len());
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            (s, None)
        }
        _ => (fallback(), None),
    }
}

/// Parse a whole message (`mdns` masks the class top bits used by multicast DNS).
pub fn parse_message(msg: &[u8], mdns: bool) -> Result<Message, DnsError> {
    let header = Header::parse(msg)?;
    let mut pos = 12usize;
    let mut question = None;
    for i in 0..header.qdcount {
        let (q, p) = parse_question(msg, pos, mdns)?;
        if i == 0 {
            question = Some(q);
        }
        pos = p;
        if usize::from(i) >= MAX_ANSWERS {
            break;
        }
    }
    let mut answers = Vec::new();
    let mut complete = true;
    let sections = [
        (0u8, header.ancount),
        (1, header.nscount),
        (2, header.arcount),
    ];
    'outer: for (section, count) in sections {
        for _ in 0..count {
            if answers.len() >= MAX_ANSWERS {
                complete = false;
                break 'outer;
            }
            let Ok((name, p)) = parse_name(msg, pos) else {
                complete = false;
                break 'outer;
            };
            let (Some(t), Some(c), Some(ttl), Some(rdlen)) = (
                be16(msg, p),
                be16(msg, p + 2),
                be32(msg, p + 4),
                be16(msg, p + 8),
            ) else {
                complete = false;
                break 'outer;
            };
            let rdoff = p + 10;
            let Some(rd) = msg.get(rdoff..rdoff + usize::from(rdlen)) else {
                complete = false;
                break 'outer;
            };
            pos = rdoff + usize::from(rdlen);
            let rtype = RrType(t);
            let (data, ip) = if rtype == RrType::OPT {
                (String::new(), None)
            } else {
                render_rdata(msg, rdoff, rd, rtype)
            };
            answers.push(Answer {
                section,
                name,
                rtype,
                class: if mdns { c & 0x7fff } else { c },
                ttl,
                data,
                ip,
            });
        }
    }
    Ok(Message {
        header,
        question,
        answers,
        complete,
    })
}

/// Whether a question looks like NetBIOS Name Service (left to the `netbios` protocol).
fn is_nbns_question(q: &Question) -> bool {
    matches!(q.qtype.0, 0x20 | 0x21)
        && q.name
            .split('.')
            .next()
            .is_some_and(|l| l.len() == 32 && l.bytes().all(|c| (b'A'..=b'P').contains(&c)))
}

/// Structural check of one message (UDP payload or TCP body); truncation yields `Maybe`.
fn check_message(msg: &[u8], mdns: bool) -> Probe {
    let Ok(h) = Header::parse(msg) else {
        return Probe::Maybe;
    };
    if !matches!(h.opcode(), 0 | 2 | 4 | 5) || h.flags & 0x0040 != 0 && !mdns {
        return Probe::No;
    }
    let rrs = usize::from(h.ancount) + usize::from(h.nscount) + usize::from(h.arcount);
    if rrs > MAX_PLAUSIBLE_RRS {
        return Probe::No;
    }
    if !h.is_response() {
        if h.qdcount != 1 || h.rcode().0 != 0 {
            return Probe::No;
        }
        if !mdns && (h.ancount != 0 || (h.nscount != 0 && h.opcode() != 5) || h.arcount > 2) {
            return Probe::No;
        }
    } else if h.qdcount > 1 || (h.qdcount == 0 && rrs == 0) || h.rcode().name().is_none() {
        return Probe::No;
    }
    let mut pos = 12;
    if h.qdcount == 1 {
        match parse_question(msg, pos, mdns) {
            Ok((q, p)) => {
                let known_class = matches!(q.qclass, 1 | 3 | 4 | 254 | 255);
                let printable = q.name.bytes().all(|c| c.is_ascii_graphic());
                if !known_class || !printable || q.qtype.0 == 0 || is_nbns_question(&q) {
                    return Probe::No;
                }
                pos = p;
            }
            Err(DnsError::Truncated { .. }) => return Probe::Maybe,
            Err(_) => return Probe::No,
        }
    }
    if rrs == 0 {
        return Probe::Yes;
    }
    match parse_message(msg, mdns) {
        Ok(m) if m.complete || m.answers.len() >= MAX_ANSWERS => Probe::Yes,
        Ok(m) if pos < msg.len() && !m.answers.is_empty() => Probe::Yes,
        Ok(_) => Probe::Maybe,
        Err(_) => Probe::No,
    }
}

/// Structural check of a TCP stream start (2-byte length then a message).
fn check_tcp(data: &[u8]) -> Probe {
    let Some(len) = be16(data, 0) else {
        return Probe::Maybe;
    };
    if len < 12 {
        return Probe::No;
    }
    let end = (2 + usize::from(len)).min(data.len());
    check_message(data.get(2..end).unwrap_or(&[]), false)
}

/// Probe for classic DNS (UDP message or TCP length-framed message).
pub fn probe(meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    if data.is_empty() {
        return Probe::No;
    }
    match meta.transport {
        super::Transport::Udp => check_message(data, false),
        super::Transport::Tcp => check_tcp(data),
    }
}

fn on_port(meta: &FlowMeta, port: u16) -> bool {
    meta.server_port == port || meta.client_port == port
}

/// Probe for multicast DNS: a DNS message on a flow touching port 5353 (the message format
/// is DNS's; the port tells the variant apart).
pub fn probe_mdns(meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    if data.is_empty() || !on_port(meta, 5353) {
        return Probe::No;
    }
    check_message(data, true)
}

/// Probe for LLMNR: a DNS message on a flow touching port 5355.
pub fn probe_llmnr(meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    if data.is_empty() || !on_port(meta, 5355) {
        return Probe::No;
    }
    check_message(data, false)
}

/// Which protocol flavour a dissector decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Unicast DNS (transactions paired by id).
    Dns,
    /// Multicast DNS (RFC 6762).
    Mdns,
    /// Link-Local Multicast Name Resolution (RFC 4795).
    Llmnr,
}

impl Variant {
    fn as_str(self) -> &'static str {
        match self {
            Variant::Dns => "dns",
            Variant::Mdns => "mdns",
            Variant::Llmnr => "llmnr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Unknown,
    Datagram,
    Stream,
}

#[derive(Debug)]
struct Pending {
    id: u16,
    qname: Option<String>,
    ts: Timestamp,
    fields: Fields,
}

/// Per-flow DNS dissector.
#[derive(Debug)]
pub struct DnsDissector {
    variant: Variant,
    framing: Framing,
    streams: Streams,
    pending: VecDeque<Pending>,
    counters: Counters,
    emitter: Emitter,
    first_question: Option<(String, Value)>,
}

/// A classic DNS dissector: whole messages per UDP datagram, 2-byte length framing on TCP.
pub fn new_dissector(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(DnsDissector::for_flow(Variant::Dns, meta))
}
/// An mDNS dissector.
pub fn new_mdns(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(DnsDissector::for_flow(Variant::Mdns, meta))
}
/// An LLMNR dissector.
pub fn new_llmnr(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(DnsDissector::for_flow(Variant::Llmnr, meta))
}

fn message_fields(m: &Message, variant: Variant, f: &mut Fields) {
    let h = &m.header;
    set!(f, "dns.id", h.id);
    set!(f, "dns.op_code", opcode_name(h.opcode()));
    if variant != Variant::Dns {
        set!(f, "mamori.dns.variant", variant.as_str());
    }
    if let Some(q) = &m.question {
        set!(f, "dns.question.name", q.name.clone());
        set!(f, "dns.question.type", q.qtype.value());
        set!(f, "dns.question.class", class_value(q.qclass));
        let labels = if q.name == "." {
            0
        } else {
            q.name.split('.').count()
        };
        set!(f, "mamori.dns.question.labels", labels);
        set!(f, "mamori.dns.question.length", q.name.len());
    }
}

fn response_fields(m: &Message, f: &mut Fields) {
    let h = &m.header;
    set!(f, "dns.response_code", h.rcode().value());
    set!(f, "dns.header_flags", h.flag_names());
    let ans: Vec<&Answer> = m
        .answers
        .iter()
        .filter(|a| a.section == 0 && a.rtype != RrType::OPT)
        .collect();
    if !ans.is_empty() {
        set!(
            f,
            "dns.answers.name",
            ans.iter()
                .map(|a| Value::from(a.name.clone()))
                .collect::<Vec<_>>()
        );
        set!(
            f,
            "dns.answers.type",
            ans.iter().map(|a| a.rtype.value()).collect::<Vec<_>>()
        );
        set!(
            f,
            "dns.answers.class",
            ans.iter().map(|a| class_value(a.class)).collect::<Vec<_>>()
        );
        set!(
            f,
            "dns.answers.ttl",
            ans.iter().map(|a| Value::from(a.ttl)).collect::<Vec<_>>()
        );
        set!(
            f,
            "dns.answers.data",
            ans.iter()
                .map(|a| Value::from(a.data.clone()))
                .collect::<Vec<_>>()
        );
    }
    let ips: Vec<Value> = ans.iter().filter_map(|a| a.ip.map(Value::Ip)).collect();
    if !ips.is_empty() {
        set!(f, "dns.resolved_ip", ips);
    }
    if !m.complete {
        set!(f, "mamori.dns.truncated", true);
    }
}

impl DnsDissector {
    /// A dissector for `variant` on the flow `meta`: the transport decides the framing
    /// (UDP: one message per datagram; TCP: RFC 1035 §4.2.2 2-byte length prefix).
    pub fn for_flow(variant: Variant, meta: &FlowMeta) -> DnsDissector {
        let mut d = DnsDissector::new(variant);
        d.framing = match meta.transport {
            super::Transport::Udp => Framing::Datagram,
            super::Transport::Tcp => Framing::Stream,
        };
        d
    }

    /// A dissector for `variant` when the transport is not known: classic DNS decides the
    /// framing from the first payload (a plausible length prefix means TCP); mDNS and LLMNR
    /// are datagrams. Prefer [`DnsDissector::for_flow`].
    pub fn new(variant: Variant) -> DnsDissector {
        DnsDissector {
            variant,
            // mDNS and LLMNR are registered for UDP only.
            framing: if variant == Variant::Dns {
                Framing::Unknown
            } else {
                Framing::Datagram
            },
            streams: Streams::default(),
            pending: VecDeque::new(),
            counters: Counters::new(),
            emitter: Emitter::default(),
            first_question: None,
        }
    }

    /// Counters of malformed or over-limit input (`malformed_message`, `pending_overflow`,
    /// `response_without_query`, `records_over_limit`, …).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn emit(&mut self, out: &mut Vec<super::Record>, ts: Timestamp, fields: Fields) {
        self.emitter.emit(
            out,
            &mut self.counters,
            MAX_RECORDS_PER_FLOW,
            "dns",
            ts,
            fields,
        );
    }

    fn message(&mut self, msg: &[u8], ts: Timestamp, out: &mut Vec<super::Record>) {
        let m = match parse_message(msg, self.variant == Variant::Mdns) {
            Ok(m) => m,
            Err(_) => {
                self.counters.incr("malformed_message");
                return;
            }
        };
        if self.first_question.is_none() {
            if let Some(q) = &m.question {
                self.first_question = Some((q.name.clone(), q.qtype.value()));
            }
        }
        let mut f = Fields::new();
        message_fields(&m, self.variant, &mut f);
        if self.variant != Variant::Dns {
            if m.header.is_response() {
                set!(f, "dns.type", "answer");
                response_fields(&m, &mut f);
            } else {
                set!(f, "dns.type", "query");
            }
            self.emit(out, ts, f);
            return;
        }
        if !m.header.is_response() {
            if self.pending.len() >= MAX_PENDING {
                self.counters.incr("pending_overflow");
                if let Some(p) = self.pending.pop_front() {
                    self.emit(out, p.ts, p.fields);
                }
            }
            set!(f, "dns.type", "query");
            self.pending.push_back(Pending {
                id: m.header.id,
                qname: m.question.as_ref().map(|q| q.name.to_ascii_lowercase()),
                ts,
                fields: f,
            });
            return;
        }
        let qname = m.question.as_ref().map(|q| q.name.to_ascii_lowercase());
        let idx = self.pending.iter().position(|p| {
            p.id == m.header.id && (qname.is_none() || p.qname.is_none() || p.qname == qname)
        });
        let mut fields = match idx.and_then(|i| self.pending.remove(i)) {
            Some(p) => {
                let mut pf = p.fields;
                let rtt = ts.unix_nanos().saturating_sub(p.ts.unix_nanos());
                set!(pf, "mamori.dns.rtt", rtt);
                for (k, v) in f {
                    pf.entry(k).or_insert(v);
                }
                pf
            }
            None => {
                self.counters.incr("response_without_query");
                f
            }
        };
        set!(fields, "dns.type", "answer");
        response_fields(&m, &mut fields);
        self.emit(out, ts, fields);
    }
}

impl Dissector for DnsDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(
        &mut self,
        dir: Dir,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<super::Record>,
    ) -> Progress {
        if self.framing == Framing::Unknown && !data.is_empty() {
            let as_dgram = check_message(data, self.variant == Variant::Mdns);
            let as_stream = check_tcp(data);
            self.framing = if as_dgram != Probe::Yes && as_stream != Probe::No {
                Framing::Stream
            } else {
                Framing::Datagram
            };
        }
        match self.framing {
            Framing::Unknown => Progress::Continue,
            Framing::Datagram => {
                self.message(data, ts, out);
                Progress::Continue
            }
            Framing::Stream => {
                let mut msgs: Vec<Vec<u8>> = Vec::new();
                let ok = {
                    let sb = self.streams.get(dir);
                    sb.feed(data, &mut self.counters, |d| {
                        let Some(len) = be16(d, 0) else {
                            return Frame::Need;
                        };
                        let total = 2 + usize::from(len);
                        match d.get(2..total) {
                            Some(m) => {
                                msgs.push(m.to_vec());
                                Frame::Take(total)
                            }
                            None => Frame::Need,
                        }
                    })
                };
                for m in msgs {
                    self.message(&m, ts, out);
                }
                if !ok && self.streams.both_dead() {
                    return Progress::Done;
                }
                Progress::Continue
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: usize) {
        self.counters.incr("gap");
        if self.framing == Framing::Stream {
            self.streams.get(dir).kill();
        }
    }

    fn finish(&mut self, _ts: Timestamp, out: &mut Vec<super::Record>) {
        while let Some(p) = self.pending.pop_front() {
            self.emit(out, p.ts, p.fields);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some((n, t)) = &self.first_question {
            fields.insert(Cow::Borrowed("dns.question.name"), Value::from(n.clone()));
            fields.insert(Cow::Borrowed("dns.question.type"), t.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_loops_are_rejected() {
        let mut m = vec![0u8; 12];
        m.extend_from_slice(&[0xc0, 12]);
        assert_eq!(
            parse_name(&m, 12),
            Err(DnsError::PointerLoop { offset: 12 })
        );
    }

    #[test]
    fn names_longer_than_limit_are_rejected() {
        let mut m = Vec::new();
        for _ in 0..5 {
            m.push(63);
            m.extend(std::iter::repeat_n(b'a', 63));
        }
        m.push(0);
        assert_eq!(parse_name(&m, 0), Err(DnsError::NameTooLong { offset: 0 }));
    }

    #[test]
    fn dropped_input_is_counted() {
        let mut d = DnsDissector::new(Variant::Dns);
        let mut out = Vec::new();
        // A response whose question name loops: malformed.
        let mut looped = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        d.feed(Dir::ToClient, &looped, Timestamp::EPOCH, &mut out);
        // A well-formed response nobody asked for on this flow.
        let mut resp = vec![0, 2, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        resp.extend_from_slice(b"\x01a\x02jp\x00\x00\x01\x00\x01");
        d.feed(Dir::ToClient, &resp, Timestamp::EPOCH, &mut out);
        assert_eq!(d.counters().get("malformed_message"), 1);
        assert_eq!(d.counters().get("response_without_query"), 1);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn odd_bytes_are_escaped() {
        let m = [3, b'a', b'.', 0xff, 0];
        assert_eq!(parse_name(&m, 0).unwrap().0, "a\\046\\255");
    }
}
