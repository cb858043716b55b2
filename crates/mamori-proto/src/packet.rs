//! Link, network and transport decoding.
//!
//! INTERFACE DRAFT: the types below are the contract between this module and `mamori-flow`.
//! The decoder implementation replaces the body of [`Decoder::decode`].

use std::net::IpAddr;

use mamori_core::{Counters, Timestamp};

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
    /// GRE (incl. ERSPAN-less transparent Ethernet bridging).
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

/// Decoder state: bounded IPv4 fragment reassembly and per-reason counters.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Per-reason counters (`truncated`, `unknown_linktype`, `bad_ip_version`, …).
    pub counters: Counters,
}

impl Decoder {
    /// A decoder with default limits.
    pub fn new() -> Decoder {
        Decoder::default()
    }
    /// Decode one frame.
    pub fn decode<'a>(
        &'a mut self,
        _ts: Timestamp,
        _linktype: LinkType,
        _frame: &'a [u8],
    ) -> Result<Decoded<'a>, Skip> {
        Err(Skip::Error("unimplemented"))
    }
}
