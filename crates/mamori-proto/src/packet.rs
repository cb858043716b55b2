//! Link, network and transport decoding.
//!
//! [`Decoder::decode`] takes one captured frame and its [`LinkType`] and returns the innermost
//! IP packet with its transport header ([`Decoded`]), borrowing the frame (zero-copy), or a
//! [`Skip`] saying why not. Every skip is counted in [`Decoder::counters`] under a stable
//! name.
//!
//! - Links: Ethernet (802.1Q / 802.1ad / QinQ tags up to [`MAX_VLAN_TAGS`], LLC/SNAP, PPPoE
//!   session, MPLS up to [`MAX_MPLS_LABELS`]), Linux SLL and SLL2, raw IP (101, 228, 229, 12,
//!   14), BSD NULL and OpenBSD LOOP (every `AF_INET6` value).
//! - IPv4 with options (the header checksum is not verified) and IPv6 with extension headers
//!   (hop-by-hop, routing, fragment, destination options, AH, mobility; at most
//!   [`MAX_IPV6_EXT_HEADERS`]).
//! - IPv4 and IPv6 fragments are reassembled with bounded memory ([`FragmentLimits`]).
//! - GRE (version 0, optional checksum/key/sequence; IPv4, IPv6, MPLS, transparent Ethernet
//!   bridging, ERSPAN types I–III; other payloads stay GRE as [`Transport::Other`]) and VXLAN (UDP [`VXLAN_PORT`]) are removed, at most
//!   [`MAX_ENCAP_DEPTH`] deep; [`Decoded::tunnel`] names the innermost one removed.
//! - TCP, UDP, ICMP and ICMPv6; ICMP errors carry the quoted flow as [`InnerTuple`].
//!
//! Skip reasons (counter names): `non_ip`, `fragment_held`, `truncated`, `unknown_linktype`,
//! `bad_ip_version`, `bad_ip_header_len`, `bad_ip_total_len`, `bad_tcp_header_len`,
//! `ipv6_ext_limit`, `vlan_limit`, `mpls_limit`, `encap_limit`, `fragment_too_large`,
//! `fragment_too_many`, `fragment_inconsistent`, `fragment_truncated`, `nested_fragment`.
//! Reassembly also counts `fragment_reassembled`, `fragment_overlap`, `fragment_evicted` and
//! `fragment_timeout`.
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_proto::packet::{Decoder, LinkType, Transport};
//!
//! // Raw IPv4 + UDP 10.0.0.1:5353 -> 10.0.0.2:53 with a 2-byte payload.
//! let mut frame = vec![0x45, 0, 0, 30, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
//! frame.extend_from_slice(&[0x14, 0xe9, 0, 53, 0, 10, 0, 0, 0xab, 0xcd]);
//! let mut dec = Decoder::new();
//! let d = dec.decode(Timestamp::from_unix_secs(1), LinkType::RAW, &frame).unwrap();
//! assert_eq!(d.ip.src.to_string(), "10.0.0.1");
//! assert!(matches!(d.transport, Transport::Udp { dst_port: 53, payload: &[0xab, 0xcd], .. }));
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mamori_core::{Counters, Timestamp};

use crate::capture::RawPacket;

mod frag;

use frag::{FragInfo, FragKey, FragTable};
pub use frag::{
    FragmentLimits, FRAG_TIMEOUT, MAX_DATAGRAM_LEN, MAX_FRAGMENTS_PER_DATAGRAM, MAX_FRAG_BYTES,
    MAX_FRAG_DATAGRAMS,
};

/// Most VLAN tags (802.1Q / 802.1ad) removed from one Ethernet header.
pub const MAX_VLAN_TAGS: usize = 4;
/// Most MPLS labels popped.
pub const MAX_MPLS_LABELS: usize = 8;
/// Most IPv6 extension headers followed in one packet.
pub const MAX_IPV6_EXT_HEADERS: usize = 8;
/// Most tunnels (GRE, VXLAN) removed from one frame.
pub const MAX_ENCAP_DEPTH: usize = 4;
/// UDP destination port of VXLAN.
pub const VXLAN_PORT: u16 = 4789;

/// A capture link type (pcap `LINKTYPE_*`), kept as a number so unknown values still parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback (4-byte host-order family).
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (v4 or v6 by version nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback (4-byte network-order family).
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// Raw IP as DLT 12 (OpenBSD numbering of `DLT_RAW`).
    pub const RAW_DLT12: LinkType = LinkType(12);
    /// Raw IP as DLT 14 (BSD/OS numbering of `DLT_RAW`).
    pub const RAW_DLT14: LinkType = LinkType(14);
}

/// TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
    /// Whether all bits of `mask` are set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

/// Encapsulation a packet was found inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tunnel {
    /// GRE version 0: IPv4, IPv6, transparent Ethernet bridging or ERSPAN types I–III.
    Gre,
    /// VXLAN with its network identifier.
    Vxlan {
        /// VXLAN network identifier.
        vni: u32,
    },
}

/// The network-layer header of the (innermost) packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol / IPv6 next header after extension headers (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub protocol: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Length of the IP packet (header + payload) as stated by the header, or reassembled.
    pub len: u32,
    /// Whether this packet was reassembled from fragments.
    pub reassembled: bool,
}

/// TCP header fields flows need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window.
    pub window: u16,
}

/// The 5-tuple quoted inside an ICMP/ICMPv6 error, so the error is tied to its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerTuple {
    /// Source of the quoted (original) packet.
    pub src: IpAddr,
    /// Destination of the quoted packet.
    pub dst: IpAddr,
    /// IP protocol of the quoted packet.
    pub protocol: u8,
    /// Source port (0 when not TCP/UDP or not present).
    pub src_port: u16,
    /// Destination port (0 when not TCP/UDP or not present).
    pub dst_port: u16,
}

/// Transport layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// TCP header and payload.
    Tcp(TcpHeader, &'a [u8]),
    /// UDP ports and payload.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Payload.
        payload: &'a [u8],
    },
    /// ICMP or ICMPv6.
    Icmp {
        /// ICMPv6 rather than ICMPv4.
        v6: bool,
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
        /// Bytes after the 4-byte type/code/checksum header.
        payload: &'a [u8],
        /// For errors (unreachable, time exceeded, …): the flow the error refers to.
        inner: Option<InnerTuple>,
    },
    /// Any other IP protocol.
    Other {
        /// IP protocol number.
        protocol: u8,
        /// Payload.
        payload: &'a [u8],
    },
}

/// A decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Event time.
    pub ts: Timestamp,
    /// Source MAC (outermost Ethernet / SLL address), when the link has one.
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC, when the link has one.
    pub dst_mac: Option<[u8; 6]>,
    /// Outer 802.1Q VLAN id.
    pub vlan: Option<u16>,
    /// Inner VLAN id (QinQ).
    pub inner_vlan: Option<u16>,
    /// Tunnel that was removed to reach the inner packet.
    pub tunnel: Option<Tunnel>,
    /// Innermost IP header.
    pub ip: IpHeader,
    /// Transport.
    pub transport: Transport<'a>,
    /// Original length on the wire (frame).
    pub wire_len: u32,
}

/// Why a frame produced no decoded IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A non-IP frame (ARP, LLDP, STP…): not an error, counted as `non_ip`.
    NonIp,
    /// An IP fragment held for reassembly (counted as `fragment_held`).
    FragmentHeld,
    /// Malformed or unsupported; the reason is the counter name.
    Error(&'static str),
}

impl Skip {
    /// The counter name of this skip (`non_ip`, `fragment_held` or the error reason).
    pub fn reason(self) -> &'static str {
        match self {
            Skip::NonIp => "non_ip",
            Skip::FragmentHeld => "fragment_held",
            Skip::Error(r) => r,
        }
    }
}

const TRUNCATED: Skip = Skip::Error("truncated");

/// Decoder state: bounded IP fragment reassembly and per-reason counters.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Per-reason counters (`truncated`, `unknown_linktype`, `bad_ip_version`, …).
    pub counters: Counters,
    frags: FragTable,
    /// The last reassembled payload (decoded packets may borrow it).
    reassembled: Vec<u8>,
}

impl Decoder {
    /// A decoder with default limits.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// A decoder with the given fragment reassembly limits.
    pub fn with_limits(limits: FragmentLimits) -> Decoder {
        Decoder {
            counters: Counters::new(),
            frags: FragTable::new(limits),
            reassembled: Vec::new(),
        }
    }

    /// The fragment reassembly limits in force.
    pub fn fragment_limits(&self) -> FragmentLimits {
        self.frags.limits()
    }

    /// Datagrams currently waiting for more fragments.
    pub fn fragments_in_flight(&self) -> usize {
        self.frags.in_flight()
    }

    /// Payload bytes currently held for reassembly.
    pub fn fragment_bytes_in_flight(&self) -> usize {
        self.frags.bytes()
    }

    /// Drop incomplete datagrams older than the timeout at event time `now` (also done on
    /// every fragment; call it at the end of input or on a timer to free memory sooner).
    pub fn expire_fragments(&mut self, now: Timestamp) {
        self.frags.expire(now, &mut self.counters);
    }

    /// Decode one frame; its wire length is taken to be its captured length (use
    /// [`Decoder::decode_raw`] to keep a capture's original length).
    ///
    /// Every `Err` is also counted in [`Decoder::counters`] under [`Skip::reason`].
    pub fn decode<'a>(
        &'a mut self,
        ts: Timestamp,
        linktype: LinkType,
        frame: &'a [u8],
    ) -> Result<Decoded<'a>, Skip> {
        let wire_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        self.decode_with_len(ts, linktype, frame, wire_len)
    }

    /// Decode a packet read from a capture (keeps its original wire length).
    pub fn decode_raw<'a>(&'a mut self, pkt: &RawPacket<'a>) -> Result<Decoded<'a>, Skip> {
        self.decode_with_len(pkt.ts, pkt.linktype, pkt.data, pkt.orig_len)
    }

    /// Decode one frame whose length on the wire was `wire_len` (it may have been cut by a
    /// snaplen: payloads are then what was captured).
    pub fn decode_with_len<'a>(
        &'a mut self,
        ts: Timestamp,
        linktype: LinkType,
        frame: &'a [u8],
        wire_len: u32,
    ) -> Result<Decoded<'a>, Skip> {
        let Decoder {
            counters,
            frags,
            reassembled,
        } = self;
        let mut ctx = Ctx {
            frags,
            out: Some(reassembled),
            counters,
            ts,
        };
        match decode_frame(&mut ctx, linktype, frame) {
            Ok((l2, ip, transport)) => Ok(Decoded {
                ts,
                src_mac: l2.src_mac,
                dst_mac: l2.dst_mac,
                vlan: l2.vlan,
                inner_vlan: l2.inner_vlan,
                tunnel: l2.tunnel,
                ip,
                transport,
                wire_len,
            }),
            Err(skip) => {
                ctx.counters.incr(skip.reason());
                Err(skip)
            }
        }
    }
}

struct Ctx<'a, 'b> {
    frags: &'b mut FragTable,
    /// The reassembly output buffer; taken by the first reassembly of a frame.
    out: Option<&'a mut Vec<u8>>,
    counters: &'b mut Counters,
    ts: Timestamp,
}

#[derive(Debug, Default, Clone, Copy)]
struct L2 {
    src_mac: Option<[u8; 6]>,
    dst_mac: Option<[u8; 6]>,
    vlan: Option<u16>,
    inner_vlan: Option<u16>,
    tunnel: Option<Tunnel>,
}

/// What to parse next.
enum Next<'a> {
    /// An Ethernet header.
    Ether(&'a [u8]),
    /// The payload of a given ethertype.
    EtherType(u16, &'a [u8]),
    /// An IP packet, optionally of a known version.
    Ip(Option<u8>, &'a [u8]),
}

/// Result of the transport step.
enum L4<'a> {
    Done(Transport<'a>),
    Decap(Tunnel, Next<'a>),
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn mac(b: &[u8], off: usize) -> Option<[u8; 6]> {
    b.get(off..off + 6)?.try_into().ok()
}

fn v4addr(b: &[u8], off: usize) -> Option<IpAddr> {
    let a: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(a)))
}

fn v6addr(b: &[u8], off: usize) -> Option<IpAddr> {
    let a: [u8; 16] = b.get(off..off + 16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

fn tail(b: &[u8], from: usize) -> Result<&[u8], Skip> {
    b.get(from..).ok_or(TRUNCATED)
}

fn decode_frame<'a>(
    ctx: &mut Ctx<'a, '_>,
    linktype: LinkType,
    frame: &'a [u8],
) -> Result<(L2, IpHeader, Transport<'a>), Skip> {
    let mut l2 = L2::default();
    let mut next = link(&mut l2, linktype, frame)?;
    let mut encaps = 0usize;
    loop {
        next = match next {
            Next::Ether(b) => ethernet(&mut l2, b, encaps == 0)?,
            Next::EtherType(et, b) => ethertype(et, b)?,
            Next::Ip(expect, b) => {
                let (ip, payload) = ip_layer(ctx, expect, b)?;
                match transport(ip.protocol, payload)? {
                    L4::Done(t) => return Ok((l2, ip, t)),
                    L4::Decap(tunnel, n) => {
                        encaps += 1;
                        if encaps > MAX_ENCAP_DEPTH {
                            return Err(Skip::Error("encap_limit"));
                        }
                        l2.tunnel = Some(tunnel);
                        n
                    }
                }
            }
        };
    }
}

fn link<'a>(l2: &mut L2, linktype: LinkType, frame: &'a [u8]) -> Result<Next<'a>, Skip> {
    match linktype {
        LinkType::ETHERNET => Ok(Next::Ether(frame)),
        LinkType::RAW | LinkType::RAW_DLT12 | LinkType::RAW_DLT14 => Ok(Next::Ip(None, frame)),
        LinkType::IPV4 => Ok(Next::Ip(Some(4), frame)),
        LinkType::IPV6 => Ok(Next::Ip(Some(6), frame)),
        LinkType::NULL | LinkType::LOOP => {
            let a: [u8; 4] = frame
                .get(..4)
                .ok_or(TRUNCATED)?
                .try_into()
                .map_err(|_| TRUNCATED)?;
            // Host byte order for NULL, network order for LOOP: either way the family is
            // small, so the order whose high bytes are zero is the right one.
            let le = u32::from_le_bytes(a);
            let family = if le <= 0xffff {
                le
            } else {
                u32::from_be_bytes(a)
            };
            let rest = tail(frame, 4)?;
            match family {
                2 => Ok(Next::Ip(Some(4), rest)),
                10 | 24 | 28 | 30 => Ok(Next::Ip(Some(6), rest)),
                _ => Err(Skip::NonIp),
            }
        }
        LinkType::LINUX_SLL => {
            if frame.len() < 16 {
                return Err(TRUNCATED);
            }
            if be16(frame, 4) == Some(6) {
                l2.src_mac = mac(frame, 6);
            }
            let proto = be16(frame, 14).ok_or(TRUNCATED)?;
            sll_payload(l2, proto, tail(frame, 16)?)
        }
        LinkType::LINUX_SLL2 => {
            if frame.len() < 20 {
                return Err(TRUNCATED);
            }
            if frame.get(11) == Some(&6) {
                l2.src_mac = mac(frame, 12);
            }
            let proto = be16(frame, 0).ok_or(TRUNCATED)?;
            sll_payload(l2, proto, tail(frame, 20)?)
        }
        _ => Err(Skip::Error("unknown_linktype")),
    }
}

fn sll_payload<'a>(l2: &mut L2, proto: u16, rest: &'a [u8]) -> Result<Next<'a>, Skip> {
    // Protocol values below 0x0600 are Linux pseudo-protocols (802.2 LLC, 802.3, CAN…).
    if proto < 0x0600 {
        return Err(Skip::NonIp);
    }
    let (et, rest) = vlan_tags(l2, proto, rest, true)?;
    Ok(Next::EtherType(et, rest))
}

fn is_vlan_tpid(et: u16) -> bool {
    matches!(et, 0x8100 | 0x88a8 | 0x9100 | 0x9200)
}

/// Remove VLAN tags following an ethertype; record their ids when `record`.
fn vlan_tags<'a>(
    l2: &mut L2,
    mut et: u16,
    mut rest: &'a [u8],
    record: bool,
) -> Result<(u16, &'a [u8]), Skip> {
    let mut tags = 0usize;
    while is_vlan_tpid(et) {
        if tags == MAX_VLAN_TAGS {
            return Err(Skip::Error("vlan_limit"));
        }
        let tci = be16(rest, 0).ok_or(TRUNCATED)?;
        et = be16(rest, 2).ok_or(TRUNCATED)?;
        rest = tail(rest, 4)?;
        if record {
            let id = tci & 0x0fff;
            if l2.vlan.is_none() {
                l2.vlan = Some(id);
            } else if l2.inner_vlan.is_none() {
                l2.inner_vlan = Some(id);
            }
        }
        tags += 1;
    }
    Ok((et, rest))
}

fn ethernet<'a>(l2: &mut L2, b: &'a [u8], outer: bool) -> Result<Next<'a>, Skip> {
    if b.len() < 14 {
        return Err(TRUNCATED);
    }
    if outer {
        l2.dst_mac = mac(b, 0);
        l2.src_mac = mac(b, 6);
    }
    let et = be16(b, 12).ok_or(TRUNCATED)?;
    let (mut et, mut rest) = vlan_tags(l2, et, tail(b, 14)?, outer)?;
    if et < 0x0600 {
        // 802.3 length: only LLC/SNAP with an ethertype can carry IP.
        match rest.get(..6) {
            Some([0xaa, 0xaa, 0x03, 0, 0, 0]) => {
                et = be16(rest, 6).ok_or(TRUNCATED)?;
                rest = tail(rest, 8)?;
            }
            _ => return Err(Skip::NonIp),
        }
    }
    Ok(Next::EtherType(et, rest))
}

fn ethertype(et: u16, b: &[u8]) -> Result<Next<'_>, Skip> {
    match et {
        0x0800 => Ok(Next::Ip(Some(4), b)),
        0x86dd => Ok(Next::Ip(Some(6), b)),
        // PPPoE session: 6-byte header, then the PPP protocol.
        0x8864 => {
            let len = usize::from(be16(b, 4).ok_or(TRUNCATED)?);
            let proto = be16(b, 6).ok_or(TRUNCATED)?;
            let end = (6 + len).min(b.len());
            let payload = b.get(8..end).unwrap_or(&[]);
            match proto {
                0x0021 => Ok(Next::Ip(Some(4), payload)),
                0x0057 => Ok(Next::Ip(Some(6), payload)),
                _ => Err(Skip::NonIp),
            }
        }
        // MPLS: pop labels to the bottom of the stack, then guess IP by the version nibble.
        0x8847 | 0x8848 => {
            let mut rest = b;
            for _ in 0..MAX_MPLS_LABELS {
                let label = be32(rest, 0).ok_or(TRUNCATED)?;
                rest = tail(rest, 4)?;
                if label & 0x100 != 0 {
                    return match rest.first().map(|v| v >> 4) {
                        Some(4) => Ok(Next::Ip(Some(4), rest)),
                        Some(6) => Ok(Next::Ip(Some(6), rest)),
                        Some(_) => Err(Skip::NonIp),
                        None => Err(TRUNCATED),
                    };
                }
            }
            Err(Skip::Error("mpls_limit"))
        }
        _ => Err(Skip::NonIp),
    }
}

fn ip_layer<'a>(
    ctx: &mut Ctx<'a, '_>,
    expect: Option<u8>,
    b: &'a [u8],
) -> Result<(IpHeader, &'a [u8]), Skip> {
    let version = b.first().ok_or(TRUNCATED)? >> 4;
    if expect.is_some_and(|e| e != version) {
        return Err(Skip::Error("bad_ip_version"));
    }
    match version {
        4 => ipv4(ctx, b),
        6 => ipv6(ctx, b),
        _ => Err(Skip::Error("bad_ip_version")),
    }
}

/// Hand a fragment to the reassembler; the payload once complete.
fn fragment<'a>(
    ctx: &mut Ctx<'a, '_>,
    key: FragKey,
    offset: usize,
    more: bool,
    data: &[u8],
    info: FragInfo,
) -> Result<(&'a [u8], FragInfo), Skip> {
    // One reassembly per frame: a fragment inside a reassembled datagram is not followed.
    let Some(out) = ctx.out.take() else {
        return Err(Skip::Error("nested_fragment"));
    };
    match ctx
        .frags
        .add(ctx.ts, key, offset, more, data, info, ctx.counters, out)?
    {
        Some(first) => {
            let out: &'a Vec<u8> = out;
            Ok((out.as_slice(), first))
        }
        None => Err(Skip::FragmentHeld),
    }
}

fn ipv4<'a>(ctx: &mut Ctx<'a, '_>, b: &'a [u8]) -> Result<(IpHeader, &'a [u8]), Skip> {
    if b.len() < 20 {
        return Err(TRUNCATED);
    }
    let ihl = usize::from(b.first().ok_or(TRUNCATED)? & 0x0f) * 4;
    if ihl < 20 {
        return Err(Skip::Error("bad_ip_header_len"));
    }
    if b.len() < ihl {
        return Err(TRUNCATED);
    }
    let total = usize::from(be16(b, 2).ok_or(TRUNCATED)?);
    // Total length 0 appears in captures of TSO-offloaded packets: use what was captured.
    let end = if total == 0 {
        b.len()
    } else if total < ihl {
        return Err(Skip::Error("bad_ip_total_len"));
    } else {
        total.min(b.len())
    };
    let payload = b.get(ihl..end).ok_or(TRUNCATED)?;
    let ttl = *b.get(8).ok_or(TRUNCATED)?;
    let protocol = *b.get(9).ok_or(TRUNCATED)?;
    let src = v4addr(b, 12).ok_or(TRUNCATED)?;
    let dst = v4addr(b, 16).ok_or(TRUNCATED)?;
    let frag = be16(b, 6).ok_or(TRUNCATED)?;
    let more = frag & 0x2000 != 0;
    let offset = usize::from(frag & 0x1fff) * 8;
    let mut header = IpHeader {
        src,
        dst,
        protocol,
        ttl,
        len: if total == 0 { b.len() } else { total } as u32,
        reassembled: false,
    };
    if !more && offset == 0 {
        return Ok((header, payload));
    }
    if total > b.len() {
        // Cut by a snaplen: the missing bytes would leave a hole.
        return Err(Skip::Error("fragment_truncated"));
    }
    let key = FragKey {
        src,
        dst,
        id: u32::from(be16(b, 4).ok_or(TRUNCATED)?),
        proto: protocol,
    };
    let info = FragInfo {
        protocol,
        ttl,
        header_len: ihl as u32,
    };
    let (data, first) = fragment(ctx, key, offset, more, payload, info)?;
    header.ttl = first.ttl;
    header.len = first.header_len + data.len() as u32;
    header.reassembled = true;
    Ok((header, data))
}

fn ipv6<'a>(ctx: &mut Ctx<'a, '_>, b: &'a [u8]) -> Result<(IpHeader, &'a [u8]), Skip> {
    if b.len() < 40 {
        return Err(TRUNCATED);
    }
    let plen = usize::from(be16(b, 4).ok_or(TRUNCATED)?);
    // Payload length 0 is a jumbogram (or TSO): use what was captured.
    let end = if plen == 0 {
        b.len()
    } else {
        (40 + plen).min(b.len())
    };
    let mut nh = *b.get(6).ok_or(TRUNCATED)?;
    let hop_limit = *b.get(7).ok_or(TRUNCATED)?;
    let src = v6addr(b, 8).ok_or(TRUNCATED)?;
    let dst = v6addr(b, 24).ok_or(TRUNCATED)?;
    let mut p = b.get(40..end).ok_or(TRUNCATED)?;
    let mut header = IpHeader {
        src,
        dst,
        protocol: nh,
        ttl: hop_limit,
        len: if plen == 0 { b.len() } else { 40 + plen } as u32,
        reassembled: false,
    };
    let mut count = 0usize;
    loop {
        let hlen = match nh {
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6.
            0 | 43 | 60 | 135 | 139 | 140 => (usize::from(*p.get(1).ok_or(TRUNCATED)?) + 1) * 8,
            // Authentication header: length in 4-octet units minus 2.
            51 => (usize::from(*p.get(1).ok_or(TRUNCATED)?) + 2) * 4,
            44 => 8,
            _ => break,
        };
        count += 1;
        if count > MAX_IPV6_EXT_HEADERS {
            return Err(Skip::Error("ipv6_ext_limit"));
        }
        if p.len() < hlen {
            return Err(TRUNCATED);
        }
        let next = *p.first().ok_or(TRUNCATED)?;
        if nh == 44 {
            let fo = be16(p, 2).ok_or(TRUNCATED)?;
            let offset = usize::from(fo >> 3) * 8;
            let more = fo & 1 != 0;
            let rest = tail(p, 8)?;
            if offset == 0 && !more {
                // Atomic fragment.
                nh = next;
                p = rest;
                continue;
            }
            if plen != 0 && 40 + plen > b.len() {
                return Err(Skip::Error("fragment_truncated"));
            }
            let key = FragKey {
                src,
                dst,
                id: be32(p, 4).ok_or(TRUNCATED)?,
                proto: 0,
            };
            let info = FragInfo {
                protocol: next,
                ttl: hop_limit,
                header_len: 40,
            };
            let (data, first) = fragment(ctx, key, offset, more, rest, info)?;
            nh = first.protocol;
            p = data;
            header.len = 40 + data.len() as u32;
            header.reassembled = true;
            continue;
        }
        nh = next;
        p = tail(p, hlen)?;
    }
    header.protocol = nh;
    Ok((header, p))
}

fn transport(protocol: u8, p: &[u8]) -> Result<L4<'_>, Skip> {
    match protocol {
        6 => {
            if p.len() < 20 {
                return Err(TRUNCATED);
            }
            let doff = usize::from(p.get(12).ok_or(TRUNCATED)? >> 4) * 4;
            if doff < 20 {
                return Err(Skip::Error("bad_tcp_header_len"));
            }
            let payload = p.get(doff..).ok_or(TRUNCATED)?;
            Ok(L4::Done(Transport::Tcp(
                TcpHeader {
                    src_port: be16(p, 0).ok_or(TRUNCATED)?,
                    dst_port: be16(p, 2).ok_or(TRUNCATED)?,
                    seq: be32(p, 4).ok_or(TRUNCATED)?,
                    ack: be32(p, 8).ok_or(TRUNCATED)?,
                    flags: TcpFlags(*p.get(13).ok_or(TRUNCATED)?),
                    window: be16(p, 14).ok_or(TRUNCATED)?,
                },
                payload,
            )))
        }
        17 => {
            if p.len() < 8 {
                return Err(TRUNCATED);
            }
            let src_port = be16(p, 0).ok_or(TRUNCATED)?;
            let dst_port = be16(p, 2).ok_or(TRUNCATED)?;
            let ulen = usize::from(be16(p, 4).ok_or(TRUNCATED)?);
            let end = if ulen >= 8 {
                ulen.min(p.len())
            } else {
                p.len()
            };
            let payload = p.get(8..end).ok_or(TRUNCATED)?;
            if dst_port == VXLAN_PORT && payload.len() >= 8 + 14 {
                if let (Some(flags), Some(word)) = (payload.first(), be32(payload, 4)) {
                    if flags & 0x08 != 0 {
                        return Ok(L4::Decap(
                            Tunnel::Vxlan { vni: word >> 8 },
                            Next::Ether(tail(payload, 8)?),
                        ));
                    }
                }
            }
            Ok(L4::Done(Transport::Udp {
                src_port,
                dst_port,
                payload,
            }))
        }
        1 | 58 => {
            let v6 = protocol == 58;
            if p.len() < 4 {
                return Err(TRUNCATED);
            }
            let icmp_type = *p.first().ok_or(TRUNCATED)?;
            let code = *p.get(1).ok_or(TRUNCATED)?;
            let is_error = if v6 {
                matches!(icmp_type, 1..=4)
            } else {
                matches!(icmp_type, 3 | 4 | 5 | 11 | 12)
            };
            let inner = if is_error {
                p.get(8..).and_then(quoted_tuple)
            } else {
                None
            };
            Ok(L4::Done(Transport::Icmp {
                v6,
                icmp_type,
                code,
                payload: tail(p, 4)?,
                inner,
            }))
        }
        47 => gre(p),
        _ => Ok(L4::Done(Transport::Other {
            protocol,
            payload: p,
        })),
    }
}

fn gre(p: &[u8]) -> Result<L4<'_>, Skip> {
    let other = L4::Done(Transport::Other {
        protocol: 47,
        payload: p,
    });
    let flags = be16(p, 0).ok_or(TRUNCATED)?;
    let proto = be16(p, 2).ok_or(TRUNCATED)?;
    // Only version 0 without (deprecated) source routing is decapsulated.
    if flags & 0x0007 != 0 || flags & 0x4000 != 0 {
        return Ok(other);
    }
    let seq = flags & 0x1000 != 0;
    let hlen = 4
        + if flags & 0x8000 != 0 { 4 } else { 0 }
        + if flags & 0x2000 != 0 { 4 } else { 0 }
        + if seq { 4 } else { 0 };
    let inner = tail(p, hlen)?;
    let next = match proto {
        0x0800 => Next::Ip(Some(4), inner),
        0x86dd => Next::Ip(Some(6), inner),
        0x6558 => Next::Ether(inner),
        // MPLS over GRE (RFC 4023).
        0x8847 | 0x8848 => Next::EtherType(proto, inner),
        // ERSPAN type II (sequence present, 8-byte header) or type I (no header).
        0x88be => Next::Ether(if seq { tail(inner, 8)? } else { inner }),
        // ERSPAN type III: 12-byte header plus an 8-byte platform subheader when O is set.
        0x22eb => {
            let o = inner.get(11).ok_or(TRUNCATED)? & 0x01 != 0;
            Next::Ether(tail(inner, if o { 20 } else { 12 })?)
        }
        _ => return Ok(other),
    };
    Ok(L4::Decap(Tunnel::Gre, next))
}

/// The flow quoted in an ICMP error: the original IP header and the first 8 bytes after it.
fn quoted_tuple(q: &[u8]) -> Option<InnerTuple> {
    let (src, dst, protocol, rest, first_fragment) = match q.first()? >> 4 {
        4 => {
            let ihl = usize::from(q.first()? & 0x0f) * 4;
            if ihl < 20 {
                return None;
            }
            let frag = be16(q, 6)?;
            (
                v4addr(q, 12)?,
                v4addr(q, 16)?,
                *q.get(9)?,
                q.get(ihl..).unwrap_or(&[]),
                frag & 0x1fff == 0,
            )
        }
        6 => {
            let src = v6addr(q, 8)?;
            let dst = v6addr(q, 24)?;
            let mut nh = *q.get(6)?;
            let mut p = q.get(40..).unwrap_or(&[]);
            let mut first = true;
            for _ in 0..MAX_IPV6_EXT_HEADERS {
                let hlen = match nh {
                    0 | 43 | 60 | 135 | 139 | 140 => (usize::from(*p.get(1)?) + 1) * 8,
                    51 => (usize::from(*p.get(1)?) + 2) * 4,
                    44 => {
                        first = be16(p, 2)? >> 3 == 0;
                        8
                    }
                    _ => break,
                };
                nh = *p.first()?;
                p = p.get(hlen..).unwrap_or(&[]);
            }
            (src, dst, nh, p, first)
        }
        _ => return None,
    };
    let (src_port, dst_port) = match protocol {
        // TCP, UDP, SCTP, UDP-Lite, DCCP: ports lead the header.
        6 | 17 | 132 | 136 | 33 if first_fragment => {
            (be16(rest, 0).unwrap_or(0), be16(rest, 2).unwrap_or(0))
        }
        _ => (0, 0),
    };
    Some(InnerTuple {
        src,
        dst,
        protocol,
        src_port,
        dst_port,
    })
}
