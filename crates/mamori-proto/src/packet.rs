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
//! - GRE (version 0, optional checksum/key/sequence; IPv4, IPv6, transparent Ethernet
//!   bridging, ERSPAN types I–III) and VXLAN (UDP [`VXLAN_PORT`]) are removed, at most
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

