//! Flow export protocols: NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011) and sFlow v5.
//!
//! [`FlowDecoder`] keeps the per-exporter state these protocols need (templates, sampling
//! rates) and turns each datagram into [`ExportedFlow`]s, which become events of the same
//! `flow` dataset as packet flows with `observer.*` naming the exporter. Sampling rates are
//! applied to packet and byte counts (the raw rate is kept in `mamori.flow.sampling_rate`).
//!
//! All state is bounded: at most [`MAX_TEMPLATES`] templates are remembered (oldest
//! exporter's evicted first, counted as `template_evicted`); data for a template not (yet)
//! seen is counted as `missing_template` and dropped, as every collector must.
//!
//! ```
//! use mamori_proto::netflow::FlowDecoder;
//! use mamori_core::Timestamp;
//!
//! // A NetFlow v5 header announcing zero records.
//! let mut pkt = vec![0u8; 24];
//! pkt[1] = 5;
//! let mut dec = FlowDecoder::default();
//! let mut out = Vec::new();
//! dec.decode("192.0.2.1:2055".parse().unwrap(), &pkt, Timestamp::EPOCH, &mut out).unwrap();
//! assert!(out.is_empty());
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mamori_core::{Counters, Event, Timestamp};

use crate::packet::{Decoder, LinkType, Transport};

/// Most templates remembered across all exporters.
pub const MAX_TEMPLATES: usize = 4096;
/// Most fields in one template (RFC limits are far higher; real exporters use < 100).
pub const MAX_TEMPLATE_FIELDS: usize = 256;
/// Most flow records taken from one datagram.
pub const MAX_RECORDS_PER_DATAGRAM: usize = 4096;

/// Which protocol a record came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportProtocol {
    /// NetFlow v5.
    NetflowV5,
    /// NetFlow v9.
    NetflowV9,
    /// IPFIX.
    Ipfix,
    /// sFlow v5 (sampled packet headers).
    Sflow,
}

impl ExportProtocol {
    /// Name used in `event.module`-like fields.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportProtocol::NetflowV5 => "netflow_v5",
            ExportProtocol::NetflowV9 => "netflow_v9",
            ExportProtocol::Ipfix => "ipfix",
            ExportProtocol::Sflow => "sflow",
        }
    }
}

/// Why a datagram could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetflowError {
    /// Shorter than the protocol's header.
    #[error("{protocol} datagram from {exporter} truncated: {len} bytes, need {need}")]
    Truncated {
        /// Protocol name.
        protocol: &'static str,
        /// Exporter address.
        exporter: SocketAddr,
        /// Bytes received.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// Not a version we decode.
    #[error("unsupported flow export version {version} from {exporter}")]
    UnsupportedVersion {
        /// Version field.
        version: u32,
        /// Exporter address.
        exporter: SocketAddr,
    },
}

/// One flow as reported by an exporter.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedFlow {
    /// Protocol it came in.
    pub protocol: ExportProtocol,
    /// Exporter (UDP source of the datagram).
    pub exporter: SocketAddr,
    /// sFlow agent address / NetFlow source id, when present.
    pub observation_domain: u32,
    /// Flow start (exporter's clock).
    pub start: Option<Timestamp>,
    /// Flow end (exporter's clock).
    pub end: Option<Timestamp>,
    /// When mamori received the datagram.
    pub received: Timestamp,
    /// Source address.
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dst: Option<IpAddr>,
    /// Source port (ICMP: 0).
    pub src_port: u16,
    /// Destination port (ICMP: type*256+code as exporters do).
    pub dst_port: u16,
    /// IP protocol.
    pub ip_protocol: u8,
    /// Bytes from source to destination, sampling applied.
    pub bytes: u64,
    /// Packets from source to destination, sampling applied.
    pub packets: u64,
    /// Reverse bytes (IPFIX biflow), sampling applied.
    pub reverse_bytes: u64,
    /// Reverse packets (IPFIX biflow), sampling applied.
    pub reverse_packets: u64,
    /// Union of TCP flags.
    pub tcp_flags: u8,
    /// Type of service / DSCP byte.
    pub tos: u8,
    /// Input interface index.
    pub in_if: u32,
    /// Output interface index.
    pub out_if: u32,
    /// Source AS.
    pub src_as: u32,
    /// Destination AS.
    pub dst_as: u32,
    /// VLAN id.
    pub vlan: Option<u16>,
    /// Source MAC.
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC.
    pub dst_mac: Option<[u8; 6]>,
    /// Sampling rate applied (1 = unsampled).
    pub sampling_rate: u32,
}

impl ExportedFlow {
    fn new(protocol: ExportProtocol, exporter: SocketAddr, received: Timestamp) -> Self {
        ExportedFlow {
            protocol,
            exporter,
            observation_domain: 0,
            start: None,
            end: None,
            received,
            src: None,
            dst: None,
            src_port: 0,
            dst_port: 0,
            ip_protocol: 0,
            bytes: 0,
            packets: 0,
            reverse_bytes: 0,
            reverse_packets: 0,
            tcp_flags: 0,
            tos: 0,
            in_if: 0,
            out_if: 0,
            src_as: 0,
            dst_as: 0,
            vlan: None,
            src_mac: None,
            dst_mac: None,
            sampling_rate: 1,
        }
    }

    fn apply_sampling(&mut self, rate: u32) {
        let r = u64::from(rate.max(1));
        self.sampling_rate = rate.max(1);
        self.bytes = self.bytes.saturating_mul(r);
        self.packets = self.packets.saturating_mul(r);
        self.reverse_bytes = self.reverse_bytes.saturating_mul(r);
        self.reverse_packets = self.reverse_packets.saturating_mul(r);
    }

    /// The flow as an ECS event (`event.dataset: flow`, `event.module: netflow|sflow`).
    pub fn to_event(&self) -> Event {
        let ts = self.end.or(self.start).unwrap_or(self.received);
        let mut e = Event::new(ts, "flow");
        e.set(
            "event.module",
            if self.protocol == ExportProtocol::Sflow {
                "sflow"
            } else {
                "netflow"
            },
        )
        .set("event.category", vec!["network"])
        .set("event.type", vec!["connection"])
        .set("event.ingested", self.received)
        .set("observer.ip", self.exporter.ip())
        .set("observer.type", "flow-exporter")
        .set("observer.name", self.exporter.ip().to_string())
        .set("mamori.flow.export_protocol", self.protocol.as_str())
        .set("mamori.flow.sampling_rate", self.sampling_rate)
        .set("source.bytes", self.bytes)
        .set("source.packets", self.packets)
        .set("destination.bytes", self.reverse_bytes)
        .set("destination.packets", self.reverse_packets)
        .set(
            "network.bytes",
            self.bytes.saturating_add(self.reverse_bytes),
        )
        .set(
            "network.packets",
            self.packets.saturating_add(self.reverse_packets),
        )
        .set("network.iana_number", self.ip_protocol.to_string())
        .set("network.transport", transport_name(self.ip_protocol));
        if self.observation_domain != 0 {
            e.set("mamori.flow.observation_domain", self.observation_domain);
        }
        e.set_opt("event.start", self.start);
        e.set_opt("event.end", self.end);
        if let (Some(s), Some(t)) = (self.start, self.end) {
            e.set("event.duration", (t - s).as_nanos().max(0));
        }
        e.set_opt("source.ip", self.src);
        e.set_opt("destination.ip", self.dst);
        if matches!(self.ip_protocol, 6 | 17 | 132) {
            e.set("source.port", self.src_port);
            e.set("destination.port", self.dst_port);
        }
        if self.ip_protocol == 6 {
            e.set("mamori.flow.tcp_flags", tcp_flags_string(self.tcp_flags));
        }
        if self.in_if != 0 {
            e.set("observer.ingress.interface.id", self.in_if.to_string());
        }
        if self.out_if != 0 {
            e.set("observer.egress.interface.id", self.out_if.to_string());
        }
        if self.src_as != 0 {
            e.set("source.as.number", self.src_as);
        }
        if self.dst_as != 0 {
            e.set("destination.as.number", self.dst_as);
        }
        e.set_opt("network.vlan.id", self.vlan);
        e.set_opt("source.mac", self.src_mac.map(mac_string));
        e.set_opt("destination.mac", self.dst_mac.map(mac_string));
        e
    }
}

/// ECS transport name for an IP protocol number.
pub fn transport_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        2 => "igmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        58 => "ipv6-icmp".into(),
        132 => "sctp".into(),
        n => n.to_string(),
    }
}

/// `SAPRF`-style letters for a TCP flags byte (order: S A P R F U E C).
pub fn tcp_flags_string(f: u8) -> String {
    const LETTERS: [(u8, char); 8] = [
        (0x02, 'S'),
        (0x10, 'A'),
        (0x08, 'P'),
        (0x04, 'R'),
        (0x01, 'F'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'C'),
    ];
    LETTERS
        .iter()
        .filter(|(m, _)| f & m != 0)
        .map(|(_, c)| *c)
        .collect()
}

fn mac_string(m: [u8; 6]) -> String {
    format!(
        "{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// One field of a template: information element id (with enterprise) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldSpec {
    id: u16,
    enterprise: u32,
    /// 65535 = IPFIX variable length.
    len: u16,
}

#[derive(Debug, Clone)]
struct Template {
    fields: Vec<FieldSpec>,
    /// Number of leading scope fields (options templates).
    scope_fields: usize,
    is_options: bool,
    /// Insertion order for eviction.
    seq: u64,
}

type TemplateKey = (SocketAddr, u32, u16, bool /* ipfix */);

/// Decoder state for all exporters.
#[derive(Debug, Default)]
pub struct FlowDecoder {
    templates: HashMap<TemplateKey, Template>,
    /// Sampling rate per (exporter, domain) from options data.
    sampling: HashMap<(SocketAddr, u32), u32>,
    /// IPFIX systemInitTimeMilliseconds per (exporter, domain).
    init_time: HashMap<(SocketAddr, u32), i64>,
    seq: u64,
    packet_decoder: Decoder,
    /// Per-reason counters (`missing_template`, `bad_template`, `truncated_set`, …).
    pub counters: Counters,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }
}

fn be_uint(b: &[u8]) -> u64 {
    // Unsigned of any length up to 8 (reduced-size encoding, RFC 7011 §6.2).
    b.iter()
        .rev()
        .take(8)
        .rev()
        .fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
}

impl FlowDecoder {
    /// A decoder with no state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of templates currently known.
    pub fn template_count(&self) -> usize {
        self.templates.len()
    }

    /// Decode one datagram from `exporter`, appending the flows it carries.
    ///
    /// Partial damage (a truncated set, a record for an unknown template) is counted and the
    /// rest of the datagram is still used; only an unreadable header is an error.
    pub fn decode(
        &mut self,
        exporter: SocketAddr,
        data: &[u8],
        received: Timestamp,
        out: &mut Vec<ExportedFlow>,
    ) -> Result<usize, NetflowError> {
        let before = out.len();
        if data.len() < 4 {
            self.counters.incr("truncated_header");
            return Err(NetflowError::Truncated {
                protocol: "flow export",
                exporter,
                len: data.len(),
                need: 4,
            });
        }
        let v16 = u16::from_be_bytes([data[0], data[1]]);
        let v32 = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        let r = match (v16, v32) {
            (5, _) => self.v5(exporter, data, received, out),
            (9, _) => self.v9(exporter, data, received, out),
            (10, _) => self.ipfix(exporter, data, received, out),
            (_, 5) => self.sflow(exporter, data, received, out),
            _ => {
                self.counters.incr("unsupported_version");
                Err(NetflowError::UnsupportedVersion {
                    version: if v16 == 0 { v32 } else { u32::from(v16) },
                    exporter,
                })
            }
        };
        r.map(|()| out.len() - before)
    }

    fn v5(
        &mut self,
        exporter: SocketAddr,
        data: &[u8],
        received: Timestamp,
        out: &mut Vec<ExportedFlow>,
    ) -> Result<(), NetflowError> {
        let trunc = |need| NetflowError::Truncated {
            protocol: "netflow v5",
            exporter,
            len: data.len(),
            need,
        };
        let mut c = Cursor::new(data);
        let (_, count, uptime, secs, nsecs) = (
            c.u16(),
            c.u16().ok_or_else(|| trunc(24))?,
            c.u32().ok_or_else(|| trunc(24))?,
            c.u32().ok_or_else(|| trunc(24))?,
            c.u32().ok_or_else(|| trunc(24))?,
        );
        let _seq = c.u32().ok_or_else(|| trunc(24))?;
        let _engine = c.u16().ok_or_else(|| trunc(24))?;
        let sampling = c.u16().ok_or_else(|| trunc(24))?;
        let rate = u32::from(sampling & 0x3fff).max(1);
        let export_ms = i64::from(secs) * 1000 + i64::from(nsecs) / 1_000_000;
        let boot_ms = export_ms - i64::from(uptime);
        let count = usize::from(count).min(MAX_RECORDS_PER_DATAGRAM);
        for i in 0..count {
            let Some(r) = c.take(48) else {
                self.counters.incr_with_sample("truncated_record", || {
                    format!("netflow v5 from {exporter}: record {i} of {count} cut short")
                });
                break;
            };
            let mut f = ExportedFlow::new(ExportProtocol::NetflowV5, exporter, received);
            let mut rc = Cursor::new(r);
            let g4 = |c: &mut Cursor| c.u32().map(|v| IpAddr::V4(Ipv4Addr::from(v)));
            f.src = g4(&mut rc);
            f.dst = g4(&mut rc);
            let _nexthop = rc.u32();
            f.in_if = u32::from(rc.u16().unwrap_or(0));
            f.out_if = u32::from(rc.u16().unwrap_or(0));
            f.packets = u64::from(rc.u32().unwrap_or(0));
            f.bytes = u64::from(rc.u32().unwrap_or(0));
            let first = rc.u32().unwrap_or(0);
            let last = rc.u32().unwrap_or(0);
            f.start = Some(Timestamp::from_unix_millis(boot_ms + i64::from(first)));
            f.end = Some(Timestamp::from_unix_millis(boot_ms + i64::from(last)));
            f.src_port = rc.u16().unwrap_or(0);
            f.dst_port = rc.u16().unwrap_or(0);
            let _pad = rc.u8();
            f.tcp_flags = rc.u8().unwrap_or(0);
            f.ip_protocol = rc.u8().unwrap_or(0);
            f.tos = rc.u8().unwrap_or(0);
            f.src_as = u32::from(rc.u16().unwrap_or(0));
            f.dst_as = u32::from(rc.u16().unwrap_or(0));
            f.apply_sampling(rate);
            out.push(f);
        }
        Ok(())
    }

    fn v9(
        &mut self,
        exporter: SocketAddr,
        data: &[u8],
        received: Timestamp,
        out: &mut Vec<ExportedFlow>,
    ) -> Result<(), NetflowError> {
        let mut c = Cursor::new(data);
        let header = (|| {
            let _v = c.u16()?;
            let _count = c.u16()?;
            let uptime = c.u32()?;
            let secs = c.u32()?;
            let _seq = c.u32()?;
            let source_id = c.u32()?;
            Some((uptime, secs, source_id))
        })();
        let Some((uptime, secs, source_id)) = header else {
            self.counters.incr("truncated_header");
            return Err(NetflowError::Truncated {
                protocol: "netflow v9",
                exporter,
                len: data.len(),
                need: 20,
            });
        };
        let ctx = TimeCtx {
            export_ms: i64::from(secs) * 1000,
            boot_ms: Some(i64::from(secs) * 1000 - i64::from(uptime)),
        };
        self.sets(exporter, source_id, &mut c, false, ctx, received, out);
        Ok(())
    }

    fn ipfix(
        &mut self,
        exporter: SocketAddr,
        data: &[u8],
        received: Timestamp,
        out: &mut Vec<ExportedFlow>,
    ) -> Result<(), NetflowError> {
        let mut c = Cursor::new(data);
        let header = (|| {
            let _v = c.u16()?;
            let len = c.u16()?;
            let export = c.u32()?;
            let _seq = c.u32()?;
            let domain = c.u32()?;
            Some((len, export, domain))
        })();
        let Some((len, export, domain)) = header else {
            self.counters.incr("truncated_header");
            return Err(NetflowError::Truncated {
                protocol: "ipfix",
                exporter,
                len: data.len(),
                need: 16,
            });
        };
        let len = usize::from(len);
        if len < 16 || len > data.len() {
            self.counters.incr_with_sample("bad_message_length", || {
                format!(
                    "ipfix from {exporter}: length {len}, datagram {}",
                    data.len()
                )
            });
        }
        let end = if (16..=data.len()).contains(&len) {
            len
        } else {
            data.len()
        };
        let mut c = Cursor::new(&data[..end]);
        c.pos = 16;
        let ctx = TimeCtx {
            export_ms: i64::from(export) * 1000,
            boot_ms: self.init_time.get(&(exporter, domain)).copied(),
        };
        self.sets(exporter, domain, &mut c, true, ctx, received, out);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn sets(
        &mut self,
        exporter: SocketAddr,
        domain: u32,
        c: &mut Cursor<'_>,
        ipfix: bool,
        ctx: TimeCtx,
        received: Timestamp,
        out: &mut Vec<ExportedFlow>,
    ) {
        let proto = if ipfix { "ipfix" } else { "netflow v9" };
        while c.remaining() >= 4 {
            let (Some(id), Some(len)) = (c.u16(), c.u16()) else {
                break;
            };
            let len = usize::from(len);
            if len < 4 {
                self.counters.incr_with_sample("bad_set_length", || {
                    format!("{proto} from {exporter}: set {id} length {len}")
                });
                break;
            }
            let Some(body) = c.take(len - 4) else {
                self.counters.incr_with_sample("truncated_set", || {
                    format!("{proto} from {exporter}: set {id} of {len} bytes cut short")
                });
                break;
            };
            let (tmpl, opts) = if ipfix { (2, 3) } else { (0, 1) };
            if id == tmpl {
                self.read_templates(exporter, domain, body, ipfix, false);
            } else if id == opts {
                self.read_templates(exporter, domain, body, ipfix, true);
            } else if id >= 256 {
                self.read_data(exporter, domain, id, body, ipfix, ctx, received, out);
            } else {
                self.counters.incr("reserved_set_id");
            }
        }
    }

    fn read_templates(
        &mut self,
        exporter: SocketAddr,
        domain: u32,
        body: &[u8],
        ipfix: bool,
        options: bool,
    ) {
        let mut c = Cursor::new(body);
        while c.remaining() >= 4 {
            let parsed = (|| {
                let tid = c.u16()?;
                let (count, scope_count) = if !options {
                    (usize::from(c.u16()?), 0)
                } else if ipfix {
                    let total = usize::from(c.u16()?);
                    let scope = usize::from(c.u16()?);
                    (total, scope)
                } else {
                    // v9 options: scope and option lengths in bytes, 4 bytes per field.
                    let scope_len = usize::from(c.u16()?);
                    let opt_len = usize::from(c.u16()?);
                    ((scope_len + opt_len) / 4, scope_len / 4)
                };
                Some((tid, count, scope_count))
            })();
            let Some((tid, count, scope_count)) = parsed else {
                self.counters.incr("truncated_template");
                return;
            };
            if tid < 256 && !(tid == 0 && count == 0) {
                self.counters.incr("bad_template");
                return;
            }
            if count == 0 {
                // Template withdrawal (IPFIX) or padding.
                self.templates.remove(&(exporter, domain, tid, ipfix));
                continue;
            }
            if count > MAX_TEMPLATE_FIELDS {
                self.counters.incr_with_sample("bad_template", || {
                    format!("template {tid} from {exporter} has {count} fields")
                });
                return;
            }
            let mut fields = Vec::with_capacity(count);
            for _ in 0..count {
                let Some(raw_id) = c.u16() else {
                    self.counters.incr("truncated_template");
                    return;
                };
                let Some(len) = c.u16() else {
                    self.counters.incr("truncated_template");
                    return;
                };
                let (id, enterprise) = if ipfix && raw_id & 0x8000 != 0 {
                    let Some(pen) = c.u32() else {
                        self.counters.incr("truncated_template");
                        return;
                    };
                    (raw_id & 0x7fff, pen)
                } else {
                    (raw_id, 0)
                };
                fields.push(FieldSpec {
                    id,
                    enterprise,
                    len,
                });
            }
            self.insert_template(
                (exporter, domain, tid, ipfix),
                Template {
                    fields,
                    scope_fields: scope_count,
                    is_options: options,
                    seq: 0,
                },
            );
        }
    }

    fn insert_template(&mut self, key: TemplateKey, mut t: Template) {
        self.seq += 1;
        t.seq = self.seq;
        if !self.templates.contains_key(&key) && self.templates.len() >= MAX_TEMPLATES {
            if let Some(oldest) = self
                .templates
                .iter()
                .min_by_key(|(_, t)| t.seq)
                .map(|(k, _)| *k)
            {
                self.templates.remove(&oldest);
                self.counters.incr("template_evicted");
            }
        }
        self.templates.insert(key, t);
    }

    #[allow(clippy::too_many_arguments)]
    fn read_data(
        &mut self,
        exporter: SocketAddr,
        domain: u32,
        tid: u16,
        body: &[u8],
        ipfix: bool,
        ctx: TimeCtx,
        received: Timestamp,
        out: &mut Vec<ExportedFlow>,
    ) {
        let Some(t) = self.templates.get(&(exporter, domain, tid, ipfix)) else {
            self.counters.incr_with_sample("missing_template", || {
                format!(
                    "{} from {exporter} domain {domain}: data for template {tid} before its template",
                    if ipfix { "ipfix" } else { "netflow v9" }
                )
            });
            return;
        };
        let t = t.clone();
        let min_len: usize = t
            .fields
            .iter()
            .map(|f| {
                if f.len == 65535 {
                    1
                } else {
                    usize::from(f.len)
                }
            })
            .sum();
        if min_len == 0 {
            self.counters.incr("bad_template");
            return;
        }
        let mut c = Cursor::new(body);
        let mut n = 0;
        while c.remaining() >= min_len && n < MAX_RECORDS_PER_DATAGRAM {
            n += 1;
            let mut values: Vec<(FieldSpec, &[u8])> = Vec::with_capacity(t.fields.len());
            let mut ok = true;
            for f in &t.fields {
                let len = if f.len == 65535 {
                    match c.u8() {
                        Some(255) => c.u16().map(usize::from),
                        Some(l) => Some(usize::from(l)),
                        None => None,
                    }
                } else {
                    Some(usize::from(f.len))
                };
                match len.and_then(|l| c.take(l)) {
                    Some(v) => values.push((*f, v)),
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                self.counters.incr("truncated_record");
                break;
            }
            if t.is_options {
                self.options_record(
                    exporter,
                    domain,
                    &values[t.scope_fields.min(values.len())..],
                );
            } else {
                let mut f = ExportedFlow::new(
                    if ipfix {
                        ExportProtocol::Ipfix
                    } else {
                        ExportProtocol::NetflowV9
                    },
                    exporter,
                    received,
                );
                f.observation_domain = domain;
                let mut rate = None;
                fill_flow(&mut f, &values, ctx, &mut rate);
                let rate = rate
                    .or_else(|| self.sampling.get(&(exporter, domain)).copied())
                    .unwrap_or(1);
                f.apply_sampling(rate);
                out.push(f);
            }
        }
        if n >= MAX_RECORDS_PER_DATAGRAM && c.remaining() >= min_len {
            self.counters.incr("record_limit");
        }
    }

    fn options_record(&mut self, exporter: SocketAddr, domain: u32, values: &[(FieldSpec, &[u8])]) {
        for (f, v) in values {
            if f.enterprise != 0 {
                continue;
            }
            match f.id {
                // samplingInterval, flowSamplerRandomInterval, samplingPacketInterval
                34 | 50 | 305 => {
                    let r = be_uint(v).min(u64::from(u32::MAX)) as u32;
                    if r > 0 {
                        self.sampling.insert((exporter, domain), r);
                    }
                }
                // systemInitTimeMilliseconds
                160 => {
                    self.init_time
                        .insert((exporter, domain), be_uint(v).min(i64::MAX as u64) as i64);
                }
                _ => {}
            }
        }
        if self.sampling.len() > MAX_TEMPLATES {
            self.sampling.clear();
            self.counters.incr("sampling_table_reset");
        }
    }

    fn sflow(
        &mut self,
        exporter: SocketAddr,
        data: &[u8],
        received: Timestamp,
        out: &mut Vec<ExportedFlow>,
    ) -> Result<(), NetflowError> {
        let trunc = || NetflowError::Truncated {
            protocol: "sflow v5",
            exporter,
            len: data.len(),
            need: 28,
        };
        let mut c = Cursor::new(data);
        let _version = c.u32().ok_or_else(trunc)?;
        let addr_type = c.u32().ok_or_else(trunc)?;
        let agent: IpAddr = match addr_type {
            1 => IpAddr::V4(Ipv4Addr::from(c.u32().ok_or_else(trunc)?)),
            2 => {
                let b = c.take(16).ok_or_else(trunc)?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                IpAddr::V6(Ipv6Addr::from(a))
            }
            _ => {
                self.counters.incr("sflow_bad_agent_address");
                return Err(trunc());
            }
        };
        let _sub = c.u32().ok_or_else(trunc)?;
        let _seq = c.u32().ok_or_else(trunc)?;
        let _uptime = c.u32().ok_or_else(trunc)?;
        let samples = c.u32().ok_or_else(trunc)?;
        let agent_id = match agent {
            IpAddr::V4(a) => u32::from(a),
            IpAddr::V6(_) => 0,
        };
        for _ in 0..samples.min(MAX_RECORDS_PER_DATAGRAM as u32) {
            let (Some(format), Some(len)) = (c.u32(), c.u32()) else {
                self.counters.incr("sflow_truncated_sample");
                break;
            };
            let Some(body) = c.take(len as usize) else {
                self.counters.incr("sflow_truncated_sample");
                break;
            };
            match format {
                1 | 3 => {
                    self.sflow_flow_sample(exporter, agent_id, body, format == 3, received, out)
                }
                2 | 4 => self.counters.incr("sflow_counter_samples"),
                _ => self.counters.incr("sflow_unknown_sample"),
            }
        }
        Ok(())
    }

    fn sflow_flow_sample(
        &mut self,
        exporter: SocketAddr,
        agent_id: u32,
        body: &[u8],
        expanded: bool,
        received: Timestamp,
        out: &mut Vec<ExportedFlow>,
    ) {
        let mut c = Cursor::new(body);
        let head = (|| {
            let _seq = c.u32()?;
            if expanded {
                c.take(8)?;
            } else {
                c.u32()?;
            }
            let rate = c.u32()?;
            let _pool = c.u32()?;
            let _drops = c.u32()?;
            let (input, output) = if expanded {
                c.u32()?;
                let i = c.u32()?;
                c.u32()?;
                (i, c.u32()?)
            } else {
                (c.u32()?, c.u32()?)
            };
            let n = c.u32()?;
            Some((rate, input, output, n))
        })();
        let Some((rate, input, output, n)) = head else {
            self.counters.incr("sflow_truncated_sample");
            return;
        };
        for _ in 0..n.min(64) {
            let (Some(fmt), Some(len)) = (c.u32(), c.u32()) else {
                self.counters.incr("sflow_truncated_sample");
                return;
            };
            let Some(rec) = c.take(len as usize) else {
                self.counters.incr("sflow_truncated_sample");
                return;
            };
            if fmt != 1 {
                continue; // extended data (switch, router, user…) is not needed for flows
            }
            let mut rc = Cursor::new(rec);
            let parsed = (|| {
                let proto = rc.u32()?;
                let frame_len = rc.u32()?;
                let _stripped = rc.u32()?;
                let hlen = rc.u32()? as usize;
                let hdr = rc.take(hlen.min(rc.remaining()))?;
                Some((proto, frame_len, hdr))
            })();
            let Some((hproto, frame_len, hdr)) = parsed else {
                self.counters.incr("sflow_truncated_sample");
                continue;
            };
            let linktype = match hproto {
                1 => LinkType::ETHERNET,
                11 => LinkType::IPV4,
                12 => LinkType::IPV6,
                _ => {
                    self.counters.incr("sflow_unknown_header_protocol");
                    continue;
                }
            };
            let mut f = ExportedFlow::new(ExportProtocol::Sflow, exporter, received);
            f.observation_domain = agent_id;
            f.in_if = input;
            f.out_if = output;
            f.start = Some(received);
            f.end = Some(received);
            f.packets = 1;
            f.bytes = u64::from(frame_len);
            match self.packet_decoder.decode(received, linktype, hdr) {
                Ok(d) => {
                    f.src = Some(d.ip.src);
                    f.dst = Some(d.ip.dst);
                    f.ip_protocol = d.ip.protocol;
                    f.src_mac = d.src_mac;
                    f.dst_mac = d.dst_mac;
                    f.vlan = d.vlan;
                    match d.transport {
                        Transport::Tcp(h, _) => {
                            f.src_port = h.src_port;
                            f.dst_port = h.dst_port;
                            f.tcp_flags = h.flags.0;
                        }
                        Transport::Udp {
                            src_port, dst_port, ..
                        } => {
                            f.src_port = src_port;
                            f.dst_port = dst_port;
                        }
                        Transport::Icmp {
                            icmp_type, code, ..
                        } => {
                            f.dst_port = u16::from(icmp_type) << 8 | u16::from(code);
                        }
                        Transport::Other { .. } => {}
                    }
                }
                Err(_) => {
                    self.counters.incr("sflow_undecodable_header");
                    continue;
                }
            }
            f.apply_sampling(rate);
            out.push(f);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct TimeCtx {
    export_ms: i64,
    /// Exporter boot time in Unix ms (v9 header; IPFIX systemInitTimeMilliseconds).
    boot_ms: Option<i64>,
}

fn fill_flow(
    f: &mut ExportedFlow,
    values: &[(FieldSpec, &[u8])],
    ctx: TimeCtx,
    rate: &mut Option<u32>,
) {
    let mut rel_start = None;
    let mut rel_end = None;
    for (spec, v) in values {
        let n = be_uint(v);
        if spec.enterprise == 29305 {
            // RFC 5103 reverse information elements.
            match spec.id {
                1 | 85 => f.reverse_bytes = n,
                2 | 86 => f.reverse_packets = n,
                _ => {}
            }
            continue;
        }
        if spec.enterprise != 0 {
            continue;
        }
        match spec.id {
            1 | 85 => f.bytes = n,
            2 | 86 => f.packets = n,
            23 => f.reverse_bytes = n,
            24 => f.reverse_packets = n,
            4 => f.ip_protocol = n as u8,
            5 => f.tos = n as u8,
            6 => f.tcp_flags = n as u8,
            7 => f.src_port = n as u16,
            11 => f.dst_port = n as u16,
            8 if v.len() == 4 => f.src = Some(IpAddr::V4(Ipv4Addr::from(n as u32))),
            12 if v.len() == 4 => f.dst = Some(IpAddr::V4(Ipv4Addr::from(n as u32))),
            27 | 28 if v.len() == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(v);
                let ip = Some(IpAddr::V6(Ipv6Addr::from(a)));
                if spec.id == 27 {
                    f.src = ip;
                } else {
                    f.dst = ip;
                }
            }
            10 => f.in_if = n as u32,
            14 => f.out_if = n as u32,
            16 => f.src_as = n as u32,
            17 => f.dst_as = n as u32,
            32 | 139 if f.dst_port == 0 => f.dst_port = n as u16,
            34 | 50 | 305 if n > 0 => *rate = Some(n.min(u64::from(u32::MAX)) as u32),
            56 | 81 if v.len() == 6 => f.src_mac = <[u8; 6]>::try_from(*v).ok(),
            80 | 57 if v.len() == 6 => f.dst_mac = <[u8; 6]>::try_from(*v).ok(),
            58 | 243 => f.vlan = Some((n & 0x0fff) as u16),
            22 => rel_start = Some(n as i64),
            21 => rel_end = Some(n as i64),
            150 => f.start = Some(Timestamp::from_unix_secs(n as i64)),
            151 => f.end = Some(Timestamp::from_unix_secs(n as i64)),
            152 => f.start = Some(Timestamp::from_unix_millis(n as i64)),
            153 => f.end = Some(Timestamp::from_unix_millis(n as i64)),
            154..=157 if v.len() == 8 => {
                // NTP-format timestamps (RFC 7011 dateTimeMicroseconds/Nanoseconds).
                let secs = (n >> 32) as i64 - 2_208_988_800;
                let frac = (n & 0xffff_ffff) as u128;
                let nanos = ((frac * 1_000_000_000) >> 32) as u32;
                let t = Timestamp::from_unix_parts(secs, nanos);
                if spec.id == 154 || spec.id == 156 {
                    f.start = Some(t);
                } else {
                    f.end = Some(t);
                }
            }
            _ => {}
        }
    }
    if let Some(boot) = ctx.boot_ms {
        if f.start.is_none() {
            f.start = rel_start.map(|ms| Timestamp::from_unix_millis(boot + ms));
        }
        if f.end.is_none() {
            f.end = rel_end.map(|ms| Timestamp::from_unix_millis(boot + ms));
        }
    }
    if f.end.is_none() && f.start.is_none() {
        f.end = Some(Timestamp::from_unix_millis(ctx.export_ms));
    }
}

/// Counts of exported flows per exporter, for health views.
pub fn per_exporter(flows: &[ExportedFlow]) -> BTreeMap<SocketAddr, usize> {
    let mut m = BTreeMap::new();
    for f in flows {
        *m.entry(f.exporter).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exporter() -> SocketAddr {
        "192.0.2.10:40000".parse().unwrap()
    }

    /// (src, dst, sport, dport, proto, packets, bytes)
    type V5Rec = ([u8; 4], [u8; 4], u16, u16, u8, u32, u32);

    fn v5_packet(records: &[V5Rec], sampling: u16) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&5u16.to_be_bytes());
        p.extend_from_slice(&(records.len() as u16).to_be_bytes());
        p.extend_from_slice(&60_000u32.to_be_bytes()); // uptime 60 s
        p.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&7u32.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&sampling.to_be_bytes());
        for (s, d, sp, dp, proto, pk, by) in records {
            p.extend_from_slice(s);
            p.extend_from_slice(d);
            p.extend_from_slice(&[0; 4]);
            p.extend_from_slice(&3u16.to_be_bytes());
            p.extend_from_slice(&4u16.to_be_bytes());
            p.extend_from_slice(&pk.to_be_bytes());
            p.extend_from_slice(&by.to_be_bytes());
            p.extend_from_slice(&10_000u32.to_be_bytes()); // first: 10 s after boot
            p.extend_from_slice(&50_000u32.to_be_bytes()); // last: 50 s after boot
            p.extend_from_slice(&sp.to_be_bytes());
            p.extend_from_slice(&dp.to_be_bytes());
            p.extend_from_slice(&[0, 0x12, *proto, 0]);
            p.extend_from_slice(&[0, 1, 0, 2, 24, 24, 0, 0]);
        }
        p
    }

    #[test]
    fn v5_records_with_times_and_sampling() {
        let pkt = v5_packet(
            &[([10, 0, 0, 1], [10, 0, 0, 2], 40000, 443, 6, 10, 1500)],
            0x4000 | 100,
        );
        let mut d = FlowDecoder::new();
        let mut out = Vec::new();
        assert_eq!(
            d.decode(exporter(), &pkt, Timestamp::EPOCH, &mut out),
            Ok(1)
        );
        let f = &out[0];
        assert_eq!(f.src, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(f.dst_port, 443);
        assert_eq!(f.packets, 1000);
        assert_eq!(f.bytes, 150_000);
        // boot = 1_700_000_000 s - 60 s; start = boot + 10 s
        assert_eq!(f.start, Some(Timestamp::from_unix_secs(1_700_000_000 - 50)));
        assert_eq!(f.end, Some(Timestamp::from_unix_secs(1_700_000_000 - 10)));
        let e = f.to_event();
        assert_eq!(e.dataset, "flow");
        assert_eq!(e.get_str("event.module"), Some("netflow"));
        assert_eq!(e.get_str("mamori.flow.tcp_flags"), Some("SA"));
        assert_eq!(e.get_i64("mamori.flow.sampling_rate"), Some(100));
        assert_eq!(e.get_ip("observer.ip"), Some("192.0.2.10".parse().unwrap()));
    }

    #[test]
    fn v5_truncated_record_keeps_the_complete_ones() {
        let mut pkt = v5_packet(
            &[
                ([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 17, 1, 100),
                ([10, 0, 0, 3], [10, 0, 0, 4], 1, 2, 17, 1, 100),
            ],
            0,
        );
        pkt.truncate(pkt.len() - 10);
        let mut d = FlowDecoder::new();
        let mut out = Vec::new();
        assert_eq!(
            d.decode(exporter(), &pkt, Timestamp::EPOCH, &mut out),
            Ok(1)
        );
        assert_eq!(d.counters.get("truncated_record"), 1);
    }

    fn set(id: u16, body: &[u8]) -> Vec<u8> {
        let mut s = id.to_be_bytes().to_vec();
        s.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    fn ipfix_msg(sets: &[Vec<u8>], domain: u32) -> Vec<u8> {
        let body: Vec<u8> = sets.concat();
        let mut m = 10u16.to_be_bytes().to_vec();
        m.extend_from_slice(&((body.len() + 16) as u16).to_be_bytes());
        m.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        m.extend_from_slice(&1u32.to_be_bytes());
        m.extend_from_slice(&domain.to_be_bytes());
        m.extend_from_slice(&body);
        m
    }

    fn ipfix_template() -> Vec<u8> {
        // template 300: srcIPv4(8,4) dstIPv4(12,4) srcPort(7,2) dstPort(11,2) proto(4,1)
        // octets(1,8) packets(2,8) flowStartMs(152,8) flowEndMs(153,8) reverse octets (PEN)
        let mut t = 300u16.to_be_bytes().to_vec();
        t.extend_from_slice(&10u16.to_be_bytes());
        for (id, len) in [
            (8u16, 4u16),
            (12, 4),
            (7, 2),
            (11, 2),
            (4, 1),
            (1, 8),
            (2, 8),
            (152, 8),
            (153, 8),
        ] {
            t.extend_from_slice(&id.to_be_bytes());
            t.extend_from_slice(&len.to_be_bytes());
        }
        t.extend_from_slice(&(0x8000u16 | 1).to_be_bytes());
        t.extend_from_slice(&8u16.to_be_bytes());
        t.extend_from_slice(&29305u32.to_be_bytes());
        set(2, &t)
    }

    fn ipfix_record() -> Vec<u8> {
        let mut r = vec![192, 168, 1, 5, 203, 0, 113, 9];
        r.extend_from_slice(&51000u16.to_be_bytes());
        r.extend_from_slice(&53u16.to_be_bytes());
        r.push(17);
        r.extend_from_slice(&300u64.to_be_bytes());
        r.extend_from_slice(&3u64.to_be_bytes());
        r.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
        r.extend_from_slice(&1_700_000_002_500u64.to_be_bytes());
        r.extend_from_slice(&900u64.to_be_bytes());
        r
    }

    #[test]
    fn ipfix_template_then_data_biflow() {
        let mut d = FlowDecoder::new();
        let mut out = Vec::new();
        let msg = ipfix_msg(&[ipfix_template(), set(300, &ipfix_record())], 7);
        assert_eq!(
            d.decode(exporter(), &msg, Timestamp::EPOCH, &mut out),
            Ok(1)
        );
        let f = &out[0];
        assert_eq!(f.protocol, ExportProtocol::Ipfix);
        assert_eq!(f.dst, Some("203.0.113.9".parse().unwrap()));
        assert_eq!((f.bytes, f.packets, f.reverse_bytes), (300, 3, 900));
        assert_eq!(
            f.end.unwrap() - f.start.unwrap(),
            mamori_core::Duration::from_millis(2500)
        );
        let e = f.to_event();
        assert_eq!(e.get_i64("event.duration"), Some(2_500_000_000));
        assert_eq!(e.get_i64("network.bytes"), Some(1200));
        assert_eq!(e.get_str("network.transport"), Some("udp"));
    }

    #[test]
    fn data_before_template_is_counted_not_guessed() {
        let mut d = FlowDecoder::new();
        let mut out = Vec::new();
        let msg = ipfix_msg(&[set(300, &ipfix_record())], 7);
        assert_eq!(
            d.decode(exporter(), &msg, Timestamp::EPOCH, &mut out),
            Ok(0)
        );
        assert_eq!(d.counters.get("missing_template"), 1);
        // Templates are per exporter and domain: another domain does not see it.
        d.decode(
            exporter(),
            &ipfix_msg(&[ipfix_template()], 8),
            Timestamp::EPOCH,
            &mut out,
        )
        .unwrap();
        d.decode(exporter(), &msg, Timestamp::EPOCH, &mut out)
            .unwrap();
        assert_eq!(d.counters.get("missing_template"), 2);
    }

    #[test]
    fn v9_options_sampling_applies_to_data() {
        let mut hdr = 9u16.to_be_bytes().to_vec();
        hdr.extend_from_slice(&3u16.to_be_bytes());
        hdr.extend_from_slice(&1_000u32.to_be_bytes()); // uptime 1 s
        hdr.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        hdr.extend_from_slice(&1u32.to_be_bytes());
        hdr.extend_from_slice(&42u32.to_be_bytes());
        // data template 256: src(8,4) dst(12,4) octets(1,4) pkts(2,4) first(22,4) last(21,4)
        let mut t = 256u16.to_be_bytes().to_vec();
        t.extend_from_slice(&6u16.to_be_bytes());
        for (id, len) in [(8u16, 4u16), (12, 4), (1, 4), (2, 4), (22, 4), (21, 4)] {
            t.extend_from_slice(&id.to_be_bytes());
            t.extend_from_slice(&len.to_be_bytes());
        }
        // options template 257: scope system(1,4); option samplingInterval(34,4)
        let mut o = 257u16.to_be_bytes().to_vec();
        o.extend_from_slice(&4u16.to_be_bytes());
        o.extend_from_slice(&4u16.to_be_bytes());
        o.extend_from_slice(&[0, 1, 0, 4, 0, 34, 0, 4]);
        let mut od = vec![0, 0, 0, 0];
        od.extend_from_slice(&10u32.to_be_bytes());
        let mut dd = vec![10, 1, 1, 1, 10, 2, 2, 2];
        dd.extend_from_slice(&500u32.to_be_bytes());
        dd.extend_from_slice(&5u32.to_be_bytes());
        dd.extend_from_slice(&200u32.to_be_bytes());
        dd.extend_from_slice(&900u32.to_be_bytes());
        dd.extend_from_slice(&[0, 0]); // padding
        let mut msg = hdr;
        msg.extend(set(0, &t));
        msg.extend(set(1, &o));
        msg.extend(set(257, &od));
        msg.extend(set(256, &dd));
        let mut d = FlowDecoder::new();
        let mut out = Vec::new();
        assert_eq!(
            d.decode(exporter(), &msg, Timestamp::EPOCH, &mut out),
            Ok(1)
        );
        assert_eq!(
            (out[0].bytes, out[0].packets, out[0].sampling_rate),
            (5000, 50, 10)
        );
        assert_eq!(
            out[0].start,
            Some(Timestamp::from_unix_millis(1_700_000_000_000 - 1000 + 200))
        );
    }

    #[test]
    fn garbage_never_panics_and_is_counted() {
        let mut d = FlowDecoder::new();
        let mut out = Vec::new();
        for len in 0..64usize {
            for v in [5u8, 9, 10, 0, 77] {
                let mut b: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
                if len > 1 {
                    b[0] = 0;
                    b[1] = v;
                }
                let _ = d.decode(exporter(), &b, Timestamp::EPOCH, &mut out);
            }
        }
        assert!(d.counters.total() > 0);
        assert_eq!(
            d.decode(exporter(), &[0, 77, 0, 0], Timestamp::EPOCH, &mut out),
            Err(NetflowError::UnsupportedVersion {
                version: 77,
                exporter: exporter()
            })
        );
    }

    #[test]
    fn flag_letters() {
        assert_eq!(tcp_flags_string(0x12), "SA");
        assert_eq!(tcp_flags_string(0x1b), "SAPF");
    }
}
