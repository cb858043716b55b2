//! Community ID v1 flow hashing (<https://github.com/corelight/community-id-spec>).
//!
//! The hash input is `seed (2 bytes, big endian) | saddr | daddr | proto | 0 | sport | dport`
//! with the endpoints ordered so both directions of a flow give the same value; ports are
//! present only for TCP, UDP, SCTP, ICMP and ICMPv6. ICMP types map to port equivalents: a
//! type with a counterpart (echo request/reply, …) becomes `(type, counterpart)` and is
//! ordered like ports; other ("one-way") types become `(type, code)` and keep their
//! direction. The digest is base64-encoded and prefixed with `1:`.

use std::net::IpAddr;

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// IANA protocol numbers that carry ports in the Community ID hash.
const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const PROTO_SCTP: u8 = 132;

/// Whether the Community ID of protocol `proto` includes ports.
pub fn has_ports(proto: u8) -> bool {
    matches!(
        proto,
        PROTO_ICMP | PROTO_TCP | PROTO_UDP | PROTO_ICMPV6 | PROTO_SCTP
    )
}

/// Port equivalents of an ICMP (`v6 == false`) or ICMPv6 message: `(sport, dport, one_way)`.
pub fn icmp_port_equivalents(v6: bool, icmp_type: u8, code: u8) -> (u16, u16, bool) {
    let counterpart = if v6 {
        match icmp_type {
            128 => Some(129), // echo request / reply
            129 => Some(128),
            133 => Some(134), // router solicitation / advertisement
            134 => Some(133),
            135 => Some(136), // neighbor solicitation / advertisement
            136 => Some(135),
            130 => Some(131), // MLD query / report
            131 => Some(130),
            139 => Some(140), // node information query / response
            140 => Some(139),
            144 => Some(145), // home agent address discovery request / reply
            145 => Some(144),
            _ => None,
        }
    } else {
        match icmp_type {
            8 => Some(0), // echo / echo reply
            0 => Some(8),
            13 => Some(14), // timestamp / reply
            14 => Some(13),
            15 => Some(16), // information request / reply
            16 => Some(15),
            10 => Some(9), // router solicitation -> advertisement (one direction only)
            17 => Some(18), // address mask request / reply
            18 => Some(17),
            _ => None,
        }
    };
    match counterpart {
        Some(c) => (u16::from(icmp_type), c, false),
        None => (u16::from(icmp_type), u16::from(code), true),
    }
}

fn octets(ip: IpAddr, buf: &mut [u8; 16]) -> &[u8] {
    match ip {
        IpAddr::V4(v4) => {
            buf[..4].copy_from_slice(&v4.octets());
            &buf[..4]
        }
        IpAddr::V6(v6) => {
            *buf = v6.octets();
            &buf[..]
        }
    }
}

/// Community ID v1 with seed 0 for a flow.
///
/// For TCP, UDP and SCTP pass the ports; for ICMP/ICMPv6 pass the message type as `sport`
/// and the code as `dport` (the mapping to port equivalents is done here, as in the
/// reference implementation); for other protocols the ports are ignored.
///
/// ```
/// use mamori_flow::community_id::community_id;
/// let id = community_id("192.168.1.52".parse().unwrap(), "8.8.8.8".parse().unwrap(), 17, 54585, 53);
/// assert_eq!(id, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
/// ```
pub fn community_id(saddr: IpAddr, daddr: IpAddr, proto: u8, sport: u16, dport: u16) -> String {
    community_id_seeded(0, saddr, daddr, proto, sport, dport)
}

/// Community ID v1 with an explicit seed.
pub fn community_id_seeded(
    seed: u16,
    saddr: IpAddr,
    daddr: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
) -> String {
    let (mut sp, mut dp, one_way) = match proto {
        PROTO_ICMP | PROTO_ICMPV6 => {
            // Types and codes are 8-bit; larger values cannot come from a real packet.
            let t = u8::try_from(sport).unwrap_or(u8::MAX);
            let c = u8::try_from(dport).unwrap_or(u8::MAX);
            icmp_port_equivalents(proto == PROTO_ICMPV6, t, c)
        }
        _ => (sport, dport, false),
    };
    let mut sb = [0u8; 16];
    let mut db = [0u8; 16];
    let mut s = octets(saddr, &mut sb);
    let mut d = octets(daddr, &mut db);
    let less = s < d || (s == d && sp < dp);
    if !one_way && !less {
        std::mem::swap(&mut s, &mut d);
        std::mem::swap(&mut sp, &mut dp);
    }
    hash_ordered(seed, s, d, proto, has_ports(proto).then_some((sp, dp)))
}

/// Hash endpoints that are already in Community ID order.
pub(crate) fn hash_ordered(
    seed: u16,
    s: &[u8],
    d: &[u8],
    proto: u8,
    ports: Option<(u16, u16)>,
) -> String {
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(s);
    h.update(d);
    h.update([proto, 0]);
    if let Some((sp, dp)) = ports {
        h.update(sp.to_be_bytes());
        h.update(dp.to_be_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(30);
    out.push_str("1:");
    base64::engine::general_purpose::STANDARD.encode_string(digest, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Values from the spec repository's published baseline (seed 0, base64).
    #[test]
    fn matches_published_baseline() {
        let cases: &[(u8, &str, &str, u16, u16, &str)] = &[
            (
                6,
                "128.232.110.120",
                "66.35.250.204",
                34855,
                80,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                6,
                "66.35.250.204",
                "128.232.110.120",
                80,
                34855,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                17,
                "192.168.1.52",
                "8.8.8.8",
                54585,
                53,
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                17,
                "8.8.8.8",
                "192.168.1.52",
                53,
                54585,
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                6,
                "2001:470:e5bf:dead:4957:2174:e82c:4887",
                "2607:f8b0:400c:c03::1a",
                63943,
                25,
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                132,
                "192.168.170.8",
                "192.168.170.56",
                7,
                7,
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
            (
                132,
                "192.168.170.56",
                "192.168.170.8",
                7,
                7,
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
            (
                46,
                "10.1.12.1",
                "10.1.12.2",
                0,
                0,
                "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
            ),
            (
                46,
                "10.1.12.2",
                "10.1.12.1",
                0,
                0,
                "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
            ),
            (
                1,
                "192.168.0.89",
                "192.168.0.1",
                8,
                0,
                "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
            ),
            (
                1,
                "192.168.0.1",
                "192.168.0.89",
                0,
                8,
                "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
            ),
            (
                1,
                "10.0.0.1",
                "10.0.0.2",
                11,
                0,
                "1:YHxtAirCG//0OzkcVAukqKQN9xM=",
            ),
            (
                58,
                "fe80::200:86ff:fe05:80da",
                "fe80::260:97ff:fe07:69ea",
                135,
                136,
                "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
            ),
            (
                58,
                "fe80::260:97ff:fe07:69ea",
                "fe80::200:86ff:fe05:80da",
                136,
                135,
                "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
            ),
            (
                58,
                "fe80::260:97ff:fe07:69ea",
                "fe80::200:86ff:fe05:80da",
                135,
                136,
                "1:zavyT/cezQr1fmImYCwYnMXbgck=",
            ),
            (
                58,
                "3ffe:501:1800:2345::2",
                "3ffe:507:0:1:200:86ff:fe05:80da",
                3,
                0,
                "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=",
            ),
            (
                58,
                "3ffe:501:410:0:2c0:dfff:fe47:33e",
                "3ffe:507:0:1:200:86ff:fe05:80da",
                1,
                4,
                "1:hLZd0XGWojozrvxqE0dWB1iM6R0=",
            ),
            (
                58,
                "3ffe:507:0:1:200:86ff:fe05:80da",
                "3ffe:501:0:1001::2",
                128,
                129,
                "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=",
            ),
            (
                58,
                "3ffe:501:0:1001::2",
                "3ffe:507:0:1:200:86ff:fe05:80da",
                129,
                128,
                "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=",
            ),
            (
                58,
                "fe80::200:86ff:fe05:80da",
                "ff02::2",
                133,
                134,
                "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=",
            ),
            (
                58,
                "fe80::260:97ff:fe07:69ea",
                "ff02::1",
                134,
                133,
                "1:pkvHqCL88/tg1k4cPigmZXUtL00=",
            ),
        ];
        for &(proto, s, d, sp, dp, want) in cases {
            assert_eq!(
                community_id(ip(s), ip(d), proto, sp, dp),
                want,
                "{proto} {s} {d} {sp} {dp}"
            );
        }
    }

    #[test]
    fn one_way_icmp_keeps_direction() {
        // Time exceeded is one-way: swapping the endpoints changes the hash.
        let a = community_id(ip("10.0.0.1"), ip("10.0.0.2"), 1, 11, 0);
        let b = community_id(ip("10.0.0.2"), ip("10.0.0.1"), 1, 11, 0);
        assert_ne!(a, b);
    }
}
