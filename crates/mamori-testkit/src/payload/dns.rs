//! DNS messages (RFC 1035) with name compression: queries and responses with A, AAAA,
//! CNAME, TXT, PTR, MX and NXDOMAIN (with SOA) records. NBNS (NetBIOS name service) queries
//! reuse the same layout.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use mamori_testkit::payload::dns::{DnsMessage, qtype};
//!
//! let q = DnsMessage::query(0x1234, "www.example.com", qtype::A).build();
//! assert_eq!(&q[..2], &[0x12, 0x34]);
//! let r = DnsMessage::response(0x1234, "www.example.com", qtype::A)
//!     .cname("www.example.com", 300, "edge.example.net")
//!     .a("edge.example.net", 60, Ipv4Addr::new(93, 184, 216, 34))
//!     .build();
//! assert_eq!(&r[6..8], &[0, 2]); // two answers
//! ```

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest label; longer labels are cut.
pub const LABEL_MAX: usize = 63;
/// Longest TXT character-string; longer strings are split.
pub const TXT_STRING_MAX: usize = 255;
/// Compression pointers can only address the first 16 KiB of a message.
pub const POINTER_OFFSET_MAX: usize = 0x3FFF;

/// Record types.
pub mod qtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Pointer (reverse lookup).
    pub const PTR: u16 = 12;
    /// Mail exchanger.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service.
    pub const SRV: u16 = 33;
    /// NetBIOS name (NBNS).
    pub const NB: u16 = 32;
    /// Any.
    pub const ANY: u16 = 255;
}

/// Response codes.
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Non-existent domain.
    pub const NXDOMAIN: u8 = 3;
    /// Refused.
    pub const REFUSED: u8 = 5;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RData {
    Raw(Vec<u8>),
    Name(String),
    Mx(u16, String),
    Soa(String, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rr {
    name: String,
    rtype: u16,
    ttl: u32,
    data: RData,
}

/// A DNS message under construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    id: u16,
    flags: u16,
    questions: Vec<(String, u16, u16)>,
    answers: Vec<Rr>,
    authority: Vec<Rr>,
    compress: bool,
    raw_names: bool,
}

impl DnsMessage {
    /// A recursive query for `name`/`qtype` (class IN).
    pub fn query(id: u16, name: &str, qt: u16) -> DnsMessage {
        DnsMessage {
            id,
            flags: 0x0100,
            questions: vec![(name.to_owned(), qt, 1)],
            answers: Vec::new(),
            authority: Vec::new(),
            compress: true,
            raw_names: false,
        }
    }

    /// A response (QR, RD, RA set, NOERROR) echoing the question; add records to it.
    pub fn response(id: u16, name: &str, qt: u16) -> DnsMessage {
        DnsMessage {
            flags: 0x8180,
            ..DnsMessage::query(id, name, qt)
        }
    }

    /// Set the header flags word directly.
    pub fn flags(mut self, flags: u16) -> DnsMessage {
        self.flags = flags;
        self
    }

    /// Set the response code.
    pub fn rcode(mut self, rc: u8) -> DnsMessage {
        self.flags = (self.flags & !0x000F) | u16::from(rc & 0x0F);
        self
    }

    /// NXDOMAIN with an SOA record of `zone` in the authority section.
    pub fn nxdomain(mut self, zone: &str) -> DnsMessage {
        self = self.rcode(rcode::NXDOMAIN);
        self.authority.push(Rr {
            name: zone.to_owned(),
            rtype: qtype::SOA,
            ttl: 900,
            data: RData::Soa(format!("ns1.{zone}"), format!("hostmaster.{zone}")),
        });
        self
    }

    /// Write names without compression pointers.
    pub fn no_compression(mut self) -> DnsMessage {
        self.compress = false;
        self
    }

    /// Write names as given (already encoded NetBIOS names etc.), never compressed.
    fn raw_names(mut self) -> DnsMessage {
        self.raw_names = true;
        self.compress = false;
        self
    }

    fn add(mut self, name: &str, rtype: u16, ttl: u32, data: RData) -> DnsMessage {
        self.answers.push(Rr {
            name: name.to_owned(),
            rtype,
            ttl,
            data,
        });
        self
    }

    /// An A record.
    pub fn a(self, name: &str, ttl: u32, ip: Ipv4Addr) -> DnsMessage {
        self.add(name, qtype::A, ttl, RData::Raw(ip.octets().to_vec()))
    }

    /// An AAAA record.
    pub fn aaaa(self, name: &str, ttl: u32, ip: Ipv6Addr) -> DnsMessage {
        self.add(name, qtype::AAAA, ttl, RData::Raw(ip.octets().to_vec()))
    }

    /// A CNAME record.
    pub fn cname(self, name: &str, ttl: u32, target: &str) -> DnsMessage {
        self.add(name, qtype::CNAME, ttl, RData::Name(target.to_owned()))
    }

    /// A PTR record.
    pub fn ptr(self, name: &str, ttl: u32, target: &str) -> DnsMessage {
        self.add(name, qtype::PTR, ttl, RData::Name(target.to_owned()))
    }

    /// An MX record.
    pub fn mx(self, name: &str, ttl: u32, pref: u16, exchange: &str) -> DnsMessage {
        self.add(name, qtype::MX, ttl, RData::Mx(pref, exchange.to_owned()))
    }

    /// A TXT record of one or more strings (each longer than 255 bytes is split).
    pub fn txt(self, name: &str, ttl: u32, strings: &[&str]) -> DnsMessage {
        let mut d = Vec::new();
        for s in strings {
            let b = s.as_bytes();
            if b.is_empty() {
                d.push(0);
            }
            for part in b.chunks(TXT_STRING_MAX) {
                d.push(part.len() as u8);
                d.extend_from_slice(part);
            }
        }
        self.add(name, qtype::TXT, ttl, RData::Raw(d))
    }

    /// A record with raw RDATA.
    pub fn record(self, name: &str, rtype: u16, ttl: u32, rdata: &[u8]) -> DnsMessage {
        self.add(name, rtype, ttl, RData::Raw(rdata.to_vec()))
    }

    /// The wire bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut w = NameWriter {
            out: Vec::with_capacity(128),
            seen: HashMap::new(),
            compress: self.compress,
            raw: self.raw_names,
        };
        w.out.extend_from_slice(&self.id.to_be_bytes());
        w.out.extend_from_slice(&self.flags.to_be_bytes());
        for n in [
            self.questions.len(),
            self.answers.len(),
            self.authority.len(),
            0,
        ] {
            w.out
                .extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
        }
        for (name, qt, class) in &self.questions {
            w.name(name);
            w.out.extend_from_slice(&qt.to_be_bytes());
            w.out.extend_from_slice(&class.to_be_bytes());
        }
        for rr in self.answers.iter().chain(self.authority.iter()) {
            w.name(&rr.name);
            w.out.extend_from_slice(&rr.rtype.to_be_bytes());
            w.out.extend_from_slice(&1u16.to_be_bytes());
            w.out.extend_from_slice(&rr.ttl.to_be_bytes());
            let len_at = w.out.len();
            w.out.extend_from_slice(&[0, 0]);
            match &rr.data {
                RData::Raw(d) => w.out.extend_from_slice(d),
                RData::Name(n) => w.name(n),
                RData::Mx(p, n) => {
                    w.out.extend_from_slice(&p.to_be_bytes());
                    w.name(n);
                }
                RData::Soa(mname, rname) => {
                    w.name(mname);
                    w.name(rname);
                    for v in [2_026_110_201u32, 7200, 3600, 1_209_600, 900] {
                        w.out.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
            let rdlen = u16::try_from(w.out.len() - len_at - 2).unwrap_or(u16::MAX);
            if let Some(slot) = w.out.get_mut(len_at..len_at + 2) {
                slot.copy_from_slice(&rdlen.to_be_bytes());
            }
        }
        w.out
    }

    /// The bytes with the 2-byte length prefix used over TCP.
    pub fn build_tcp(&self) -> Vec<u8> {
        let b = self.build();
        let mut out = Vec::with_capacity(b.len() + 2);
        out.extend_from_slice(&u16::try_from(b.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&b);
        out
    }
}

struct NameWriter {
    out: Vec<u8>,
    seen: HashMap<String, u16>,
    compress: bool,
    raw: bool,
}

impl NameWriter {
    fn name(&mut self, name: &str) {
        let name = name.trim_end_matches('.');
        if self.raw {
            for label in name.split('.') {
                let b = label.as_bytes();
                let b = b.get(..LABEL_MAX).unwrap_or(b);
                self.out.push(b.len() as u8);
                self.out.extend_from_slice(b);
            }
            self.out.push(0);
            return;
        }
        let labels: Vec<&str> = if name.is_empty() {
            Vec::new()
        } else {
            name.split('.').collect()
        };
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".").to_ascii_lowercase();
            if self.compress {
                if let Some(&off) = self.seen.get(&suffix) {
                    self.out.extend_from_slice(&(0xC000 | off).to_be_bytes());
                    return;
                }
                if self.out.len() <= POINTER_OFFSET_MAX {
                    self.seen.insert(suffix, self.out.len() as u16);
                }
            }
            let b = labels[i].as_bytes();
            let b = b.get(..LABEL_MAX).unwrap_or(b);
            self.out.push(b.len() as u8);
            self.out.extend_from_slice(b);
        }
        self.out.push(0);
    }
}

/// Encode a NetBIOS name (padded to 15 characters plus a suffix byte) in the "first level"
/// encoding of RFC 1001: each nibble becomes a letter `A`..`P`.
pub fn netbios_encode(name: &str, suffix: u8) -> String {
    let mut raw: Vec<u8> = name.to_ascii_uppercase().bytes().take(15).collect();
    raw.resize(15, b' ');
    raw.push(suffix);
    raw.iter()
        .flat_map(|b| [char::from(b'A' + (b >> 4)), char::from(b'A' + (b & 0x0F))])
        .collect()
}

/// An NBNS name query (broadcast, recursion desired) for `name` with suffix `0x20`
/// (file server) or `0x00` (workstation).
pub fn nbns_query(id: u16, name: &str, suffix: u8) -> Vec<u8> {
    DnsMessage::query(id, &netbios_encode(name, suffix), qtype::NB)
        .flags(0x0110)
        .raw_names()
        .build()
}

/// An NBNS positive response giving `ip` for `name`.
pub fn nbns_response(id: u16, name: &str, suffix: u8, ip: Ipv4Addr) -> Vec<u8> {
    let enc = netbios_encode(name, suffix);
    let mut rdata = vec![0, 0];
    rdata.extend_from_slice(&ip.octets());
    let mut m = DnsMessage::response(id, &enc, qtype::NB)
        .flags(0x8500)
        .raw_names()
        .record(&enc, qtype::NB, 300_000, &rdata);
    m.questions.clear();
    m.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_wire_bytes() {
        let q = DnsMessage::query(0xBEEF, "a.bc", qtype::AAAA).build();
        assert_eq!(
            q,
            vec![
                0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 2, b'b', b'c', 0, 0, 28,
                0, 1
            ]
        );
    }

    #[test]
    fn answers_use_compression_pointers() {
        let r = DnsMessage::response(1, "www.example.com", qtype::A)
            .a("www.example.com", 60, Ipv4Addr::new(1, 2, 3, 4))
            .build();
        // question name at offset 12; answer name is a pointer to it.
        let q_end = 12 + 17 + 4;
        assert_eq!(&r[q_end..q_end + 2], &[0xC0, 12]);
        assert_eq!(&r[r.len() - 4..], &[1, 2, 3, 4]);
        // CNAME target sharing the suffix is compressed too.
        let c = DnsMessage::response(1, "www.example.com", qtype::A)
            .cname("www.example.com", 60, "cdn.example.com")
            .build();
        // rdata: 3 'cdn' then pointer to "example.com" at offset 16
        assert_eq!(&c[c.len() - 6..], &[3, b'c', b'd', b'n', 0xC0, 16]);
        let u = DnsMessage::response(1, "www.example.com", qtype::A)
            .a("www.example.com", 60, Ipv4Addr::LOCALHOST)
            .no_compression()
            .build();
        assert!(u.len() > r.len());
    }

    #[test]
    fn nxdomain_and_txt() {
        let n = DnsMessage::response(7, "nope.example", qtype::A)
            .nxdomain("example")
            .build();
        assert_eq!(n[3] & 0x0F, 3);
        assert_eq!(&n[8..10], &[0, 1]);
        let t = DnsMessage::response(7, "t.example", qtype::TXT)
            .txt("t.example", 1, &[&"x".repeat(300)])
            .build();
        // 300 bytes split into 255 + 45
        assert_eq!(
            u16::from_be_bytes([t[t.len() - 304], t[t.len() - 303]]),
            302
        );
    }

    #[test]
    fn long_labels_are_cut() {
        let name = format!("{}.example", "a".repeat(100));
        let q = DnsMessage::query(1, &name, qtype::A).build();
        assert_eq!(q[12], LABEL_MAX as u8);
    }

    #[test]
    fn netbios_name_encoding() {
        assert_eq!(
            netbios_encode("FRED", 0x20),
            "EGFCEFEECACACACACACACACACACACACA"
        );
        let q = nbns_query(1, "fred", 0x20);
        assert_eq!(q[12], 32);
        assert_eq!(&q[q.len() - 4..], &[0, 0x20, 0, 1]);
    }
}
