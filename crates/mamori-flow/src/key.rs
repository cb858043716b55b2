//! The bidirectional flow key and its construction from a decoded packet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mamori_proto::packet::{Decoded, InnerTuple, Transport, Tunnel};

use crate::community_id::{self, icmp_port_equivalents};

/// IANA protocol numbers used by the table.
pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_GRE: u8 = 47;
pub(crate) const PROTO_ICMPV6: u8 = 58;
pub(crate) const PROTO_SCTP: u8 = 132;

/// Tunnel discriminator in the key: none, GRE, or VXLAN with its VNI in the low 24 bits.
const TUNNEL_GRE: u32 = 1 << 24;
const TUNNEL_VXLAN: u32 = 2 << 24;

/// A bidirectional flow key in canonical order.
///
/// Endpoints are ordered as Community ID orders them (`(a, a_port) < (b, b_port)` comparing
/// network-order address bytes), except for one-way ICMP types, which keep the sender as `a`.
/// ICMP "ports" are Community ID port equivalents (type and counterpart type, or type and
/// code), so an echo request and its reply share a key. VLAN ids and the tunnel the packet
/// was found in are part of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// Endpoint `a` address bytes (IPv4 in the first 4 bytes, rest zero).
    pub a: [u8; 16],
    /// Endpoint `b` address bytes.
    pub b: [u8; 16],
    /// Endpoint `a` port (or ICMP port equivalent).
    pub a_port: u16,
    /// Endpoint `b` port.
    pub b_port: u16,
    /// IP protocol number.
    pub proto: u8,
    /// IPv6 addresses.
    pub v6: bool,
    /// Outer 802.1Q VLAN id.
    pub vlan: Option<u16>,
    /// Inner (QinQ) VLAN id.
    pub inner_vlan: Option<u16>,
    /// Tunnel discriminator (0 when not tunnelled).
    pub tunnel: u32,
}

impl std::hash::Hash for FlowKey {
    // Five word writes instead of a field-by-field walk: this runs once per packet.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let w = |b: &[u8; 16], i: usize| {
            let mut x = [0u8; 8];
            if let Some(s) = b.get(i..i + 8) {
                x.copy_from_slice(s);
            }
            u64::from_ne_bytes(x)
        };
        h.write_u64(w(&self.a, 0));
        h.write_u64(w(&self.b, 0));
        if self.v6 {
            h.write_u64(w(&self.a, 8));
            h.write_u64(w(&self.b, 8));
        }
        let vlan = |v: Option<u16>| v.map_or(0, |v| u64::from(v) | 0x1_0000);
        h.write_u64(
            u64::from(self.a_port)
                | u64::from(self.b_port) << 16
                | u64::from(self.proto) << 32
                | u64::from(self.v6) << 40,
        );
        h.write_u64(vlan(self.vlan) | vlan(self.inner_vlan) << 17 | u64::from(self.tunnel) << 34);
    }
}

impl FlowKey {
    /// Address of endpoint `a`.
    pub fn a_ip(&self) -> IpAddr {
        to_ip(&self.a, self.v6)
    }
    /// Address of endpoint `b`.
    pub fn b_ip(&self) -> IpAddr {
        to_ip(&self.b, self.v6)
    }
    /// Community ID v1 (seed 0) of this key.
    pub fn community_id(&self) -> String {
        let n = if self.v6 { 16 } else { 4 };
        let ports = community_id::has_ports(self.proto).then_some((self.a_port, self.b_port));
        community_id::hash_ordered(0, &self.a[..n], &self.b[..n], self.proto, ports)
    }
}

fn to_ip(b: &[u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(*b))
    } else {
        IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
}

fn bytes(ip: IpAddr) -> ([u8; 16], bool) {
    match ip {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            let o = v4.octets();
            b[0] = o[0];
            b[1] = o[1];
            b[2] = o[2];
            b[3] = o[3];
            (b, false)
        }
        IpAddr::V6(v6) => (v6.octets(), true),
    }
}

pub(crate) fn tunnel_id(t: Option<Tunnel>) -> u32 {
    match t {
        None => 0,
        Some(Tunnel::Gre) => TUNNEL_GRE,
        Some(Tunnel::Vxlan { vni }) => TUNNEL_VXLAN | (vni & 0x00ff_ffff),
    }
}

/// Ports of a packet as the key sees them, and whether the type is one-way (ICMP).
pub(crate) fn packet_ports(t: &Transport<'_>) -> (u16, u16, bool) {
    match *t {
        Transport::Tcp(h, _) => (h.src_port, h.dst_port, false),
        Transport::Udp {
            src_port, dst_port, ..
        } => (src_port, dst_port, false),
        Transport::Icmp {
            v6,
            icmp_type,
            code,
            ..
        } => icmp_port_equivalents(v6, icmp_type, code),
        Transport::Other {
            protocol: PROTO_SCTP,
            payload,
        } => match payload {
            [a, b, c, d, ..] => (
                u16::from_be_bytes([*a, *b]),
                u16::from_be_bytes([*c, *d]),
                false,
            ),
            _ => (0, 0, false),
        },
        Transport::Other { .. } => (0, 0, false),
    }
}

/// Build a key: returns it and whether the packet's source is endpoint `a`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_key(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    one_way: bool,
    vlan: Option<u16>,
    inner_vlan: Option<u16>,
    tunnel: u32,
) -> (FlowKey, bool) {
    let (sb, v6s) = bytes(src);
    let (db, v6d) = bytes(dst);
    // Mixed families cannot come from one IP header; treat as v6 to keep bytes distinct.
    let v6 = v6s || v6d;
    let src_is_a = one_way || (sb, sport) <= (db, dport);
    let (a, b, a_port, b_port) = if src_is_a {
        (sb, db, sport, dport)
    } else {
        (db, sb, dport, sport)
    };
    (
        FlowKey {
            a,
            b,
            a_port,
            b_port,
            proto,
            v6,
            vlan,
            inner_vlan,
            tunnel,
        },
        src_is_a,
    )
}

/// Key of a decoded packet and whether its source is endpoint `a`.
pub(crate) fn key_of(d: &Decoded<'_>) -> (FlowKey, bool) {
    let (sp, dp, one_way) = packet_ports(&d.transport);
    make_key(
        d.ip.src,
        d.ip.dst,
        d.ip.protocol,
        sp,
        dp,
        one_way,
        d.vlan,
        d.inner_vlan,
        tunnel_id(d.tunnel),
    )
}

/// Key of the flow an ICMP error quotes (same VLANs and tunnel as the error itself).
pub(crate) fn key_of_inner(inner: &InnerTuple, d: &Decoded<'_>) -> (FlowKey, bool) {
    make_key(
        inner.src,
        inner.dst,
        inner.protocol,
        inner.src_port,
        inner.dst_port,
        false,
        d.vlan,
        d.inner_vlan,
        tunnel_id(d.tunnel),
    )
}
