//! L2–L4 decoding: link types, VLANs, IPv4/IPv6, extension headers, fragment reassembly,
//! tunnels, ICMP errors, skip counters and garbage input.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

use std::net::IpAddr;

use mamori_core::{Duration, Timestamp};
use mamori_proto::capture::RawPacket;
use mamori_proto::packet::{
    Decoded, Decoder, FragmentLimits, InnerTuple, LinkType, Skip, TcpFlags, Transport, Tunnel,
};
use proptest::prelude::*;

// ---------------------------------------------------------------- builders

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(secs)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn eth(et: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = MAC_B.to_vec();
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&et.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Ethernet with VLAN tags (tpid, vid) between the MACs and the ethertype.
fn eth_tagged(tags: &[(u16, u16)], et: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = MAC_B.to_vec();
    f.extend_from_slice(&MAC_A);
    for (tpid, vid) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(0x2000 | vid).to_be_bytes());
    }
    f.extend_from_slice(&et.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn v4(s: &str) -> [u8; 4] {
    match ip(s) {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => panic!("not v4"),
    }
}

fn v6(s: &str) -> [u8; 16] {
    match ip(s) {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(_) => panic!("not v6"),
    }
}

/// IPv4 with `opts` (multiple of 4), id and the flags/offset word.
fn ipv4_full(
    src: &str,
    dst: &str,
    proto: u8,
    id: u16,
    frag: u16,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let hl = 20 + opts.len();
    let total = (hl + payload.len()) as u16;
    let mut p = vec![0x40 | (hl / 4) as u8, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0xde, 0xad]); // checksum deliberately wrong
    p.extend_from_slice(&v4(src));
    p.extend_from_slice(&v4(dst));
    p.extend_from_slice(opts);
    p.extend_from_slice(payload);
    p
}

fn ipv4(src: &str, dst: &str, proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_full(src, dst, proto, 1, 0, &[], payload)
}

fn ipv6(src: &str, dst: &str, nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[nh, 32]);
    p.extend_from_slice(&v6(src));
    p.extend_from_slice(&v6(dst));
    p.extend_from_slice(payload);
    p
}

fn tcp(sp: u16, dp: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sp.to_be_bytes());
    t.extend_from_slice(&dp.to_be_bytes());
    t.extend_from_slice(&1000u32.to_be_bytes());
    t.extend_from_slice(&2000u32.to_be_bytes());
    // Data offset 6 words: one 4-byte option (MSS).
    t.extend_from_slice(&[0x60, flags, 0x72, 0x10, 0, 0, 0, 0]);
    t.extend_from_slice(&[2, 4, 5, 0xb4]);
    t.extend_from_slice(payload);
    t
}

fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sp.to_be_bytes());
    u.extend_from_slice(&dp.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn tcp_v4_frame() -> Vec<u8> {
    eth(
        0x0800,
        &ipv4(
            "192.0.2.1",
            "198.51.100.2",
            6,
            &tcp(40000, 443, TcpFlags::SYN, b"hi"),
        ),
    )
}

fn assert_tcp(d: &Decoded<'_>, sp: u16, dp: u16, payload: &[u8]) {
    match d.transport {
        Transport::Tcp(h, p) => {
            assert_eq!((h.src_port, h.dst_port), (sp, dp));
            assert_eq!(p, payload);
        }
        other => panic!("expected tcp, got {other:?}"),
    }
}

fn assert_udp(d: &Decoded<'_>, sp: u16, dp: u16, payload: &[u8]) {
    match d.transport {
        Transport::Udp {
            src_port,
            dst_port,
            payload: p,
        } => {
            assert_eq!((src_port, dst_port), (sp, dp));
            assert_eq!(p, payload);
        }
        other => panic!("expected udp, got {other:?}"),
    }
}

// ---------------------------------------------------------------- links

#[test]
fn ethernet_ipv4_tcp_all_fields() {
    let mut frame = tcp_v4_frame();
    frame.extend_from_slice(&[0; 6]); // Ethernet padding after the IP packet
    let mut dec = Decoder::new();
    let d = dec.decode(ts(7), LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(d.ts, ts(7));
    assert_eq!(d.src_mac, Some(MAC_A));
    assert_eq!(d.dst_mac, Some(MAC_B));
    assert_eq!((d.vlan, d.inner_vlan, d.tunnel), (None, None, None));
    assert_eq!(d.ip.src, ip("192.0.2.1"));
    assert_eq!(d.ip.dst, ip("198.51.100.2"));
    assert_eq!((d.ip.protocol, d.ip.ttl, d.ip.len), (6, 64, 20 + 24 + 2));
    assert!(!d.ip.reassembled);
    assert_eq!(d.wire_len, frame.len() as u32);
    match d.transport {
        Transport::Tcp(h, p) => {
            assert_eq!(
                (h.src_port, h.dst_port, h.seq, h.ack),
                (40000, 443, 1000, 2000)
            );
            assert!(h.flags.has(TcpFlags::SYN));
            assert!(!h.flags.has(TcpFlags::ACK));
            assert_eq!(h.window, 0x7210);
            assert_eq!(p, b"hi", "options skipped, padding stripped");
        }
        other => panic!("{other:?}"),
    }
    assert!(dec.counters.is_empty());
}

#[test]
fn ipv4_options_and_wrong_checksum_are_accepted() {
    let pkt = ipv4_full(
        "10.0.0.1",
        "10.0.0.2",
        17,
        9,
        0x4000,
        &[1, 1, 1, 0, 0x94, 4, 0, 0],
        &udp(1, 2, b"x"),
    );
    let mut dec = Decoder::new();
    let d = dec.decode(ts(0), LinkType::RAW, &pkt).unwrap();
    assert_udp(&d, 1, 2, b"x");
    assert_eq!(d.ip.len, 28 + 9);
}

#[test]
fn vlan_qinq_and_vlan_limit() {
    let inner = ipv4("10.0.0.1", "10.0.0.2", 6, &tcp(1, 2, 0, b""));
    let mut dec = Decoder::new();
    let f = eth_tagged(&[(0x8100, 10)], 0x0800, &inner);
    let d = dec.decode(ts(0), LinkType::ETHERNET, &f).unwrap();
    assert_eq!((d.vlan, d.inner_vlan), (Some(10), None));

    let f = eth_tagged(&[(0x88a8, 100), (0x8100, 200)], 0x0800, &inner);
    let d = dec.decode(ts(0), LinkType::ETHERNET, &f).unwrap();
    assert_eq!((d.vlan, d.inner_vlan), (Some(100), Some(200)));
    assert_tcp(&d, 1, 2, b"");

    let f = eth_tagged(&[(0x8100, 1); 5], 0x0800, &inner);
    assert_eq!(
        dec.decode(ts(0), LinkType::ETHERNET, &f),
        Err(Skip::Error("vlan_limit"))
    );
    assert_eq!(dec.counters.get("vlan_limit"), 1);
}

#[test]
fn non_ip_is_counted_not_an_error() {
    let arp = eth(0x0806, &[0; 28]);
    let mut dec = Decoder::new();
    assert_eq!(
        dec.decode(ts(0), LinkType::ETHERNET, &arp),
        Err(Skip::NonIp)
    );
    // 802.3 frame with plain LLC (STP).
    let stp = eth(38, &[0x42, 0x42, 0x03, 0, 0, 0]);
    assert_eq!(
        dec.decode(ts(0), LinkType::ETHERNET, &stp),
        Err(Skip::NonIp)
    );
    assert_eq!(dec.counters.get("non_ip"), 2);
}

#[test]
fn llc_snap_pppoe_and_mpls() {
    let inner = ipv4("10.0.0.1", "10.0.0.2", 17, &udp(5, 6, b"q"));
    let mut dec = Decoder::new();

    let mut snap = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
    snap.extend_from_slice(&inner);
    let f = eth(snap.len() as u16, &snap);
    assert_udp(
        &dec.decode(ts(0), LinkType::ETHERNET, &f).unwrap(),
        5,
        6,
        b"q",
    );

    let mut pppoe = vec![0x11, 0, 0, 1];
    pppoe.extend_from_slice(&((inner.len() + 2) as u16).to_be_bytes());
    pppoe.extend_from_slice(&[0, 0x21]);
    pppoe.extend_from_slice(&inner);
    let f = eth(0x8864, &pppoe);
    assert_udp(
        &dec.decode(ts(0), LinkType::ETHERNET, &f).unwrap(),
        5,
        6,
        b"q",
    );

    let mut mpls = vec![0, 0x01, 0x40, 64, 0, 0x02, 0x01, 64]; // two labels, BoS on second
    mpls.extend_from_slice(&inner);
    let f = eth(0x8847, &mpls);
    assert_udp(
        &dec.decode(ts(0), LinkType::ETHERNET, &f).unwrap(),
        5,
        6,
        b"q",
    );
    assert!(dec.counters.is_empty());
}

#[test]
fn linux_sll_and_sll2() {
    let inner = ipv6("2001:db8::1", "2001:db8::2", 17, &udp(53, 5353, b"dns"));
    let mut sll = vec![0, 0, 0, 1, 0, 6];
    sll.extend_from_slice(&MAC_A);
    sll.extend_from_slice(&[0, 0, 0x86, 0xdd]);
    sll.extend_from_slice(&inner);
    let mut dec = Decoder::new();
    let d = dec.decode(ts(0), LinkType::LINUX_SLL, &sll).unwrap();
    assert_eq!(d.src_mac, Some(MAC_A));
    assert_eq!(d.dst_mac, None);
    assert_eq!(d.ip.src, ip("2001:db8::1"));
    assert_udp(&d, 53, 5353, b"dns");

    let mut sll2 = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6];
    sll2.extend_from_slice(&MAC_B);
    sll2.extend_from_slice(&[0, 0]);
    sll2.extend_from_slice(&inner);
    let d = dec.decode(ts(0), LinkType::LINUX_SLL2, &sll2).unwrap();
    assert_eq!(d.src_mac, Some(MAC_B));
    assert_udp(&d, 53, 5353, b"dns");

    // SLL with an 802.1Q tag in the payload.
    let mut tagged = vec![0, 0, 0, 1, 0, 6];
    tagged.extend_from_slice(&MAC_A);
    tagged.extend_from_slice(&[0, 0, 0x81, 0x00, 0x00, 0x2a, 0x86, 0xdd]);
    tagged.extend_from_slice(&inner);
    let d = dec.decode(ts(0), LinkType::LINUX_SLL, &tagged).unwrap();
    assert_eq!(d.vlan, Some(42));
    assert_udp(&d, 53, 5353, b"dns");
}

#[test]
fn raw_ip_link_types_and_version_mismatch() {
    let p4 = ipv4("10.0.0.1", "10.0.0.2", 6, &tcp(1, 2, 0, b"a"));
    let p6 = ipv6("::1", "::2", 6, &tcp(3, 4, 0, b"b"));
    let mut dec = Decoder::new();
    for lt in [LinkType::RAW, LinkType::RAW_DLT12, LinkType::RAW_DLT14] {
        assert_tcp(&dec.decode(ts(0), lt, &p4).unwrap(), 1, 2, b"a");
        assert_tcp(&dec.decode(ts(0), lt, &p6).unwrap(), 3, 4, b"b");
    }
    assert_tcp(&dec.decode(ts(0), LinkType::IPV4, &p4).unwrap(), 1, 2, b"a");
    assert_tcp(&dec.decode(ts(0), LinkType::IPV6, &p6).unwrap(), 3, 4, b"b");
    assert!(dec.counters.is_empty());
    assert_eq!(
        dec.decode(ts(0), LinkType::IPV4, &p6),
        Err(Skip::Error("bad_ip_version"))
    );
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &[0x50; 40]),
        Err(Skip::Error("bad_ip_version"))
    );
    assert_eq!(dec.counters.get("bad_ip_version"), 2);
}

#[test]
fn null_and_loop_with_every_address_family() {
    let p4 = ipv4("10.0.0.1", "10.0.0.2", 6, &tcp(1, 2, 0, b"a"));
    let p6 = ipv6("::1", "::2", 6, &tcp(3, 4, 0, b"b"));
    let mut dec = Decoder::new();
    for (family, pkt, port) in [
        (2u32, &p4, 1),
        (24, &p6, 3),
        (28, &p6, 3),
        (30, &p6, 3),
        (10, &p6, 3),
    ] {
        for (lt, hdr) in [
            (LinkType::NULL, family.to_le_bytes()),
            (LinkType::NULL, family.to_be_bytes()),
            (LinkType::LOOP, family.to_be_bytes()),
        ] {
            let mut f = hdr.to_vec();
            f.extend_from_slice(pkt);
            let d = dec.decode(ts(0), lt, &f).unwrap();
            assert_eq!(d.ip.protocol, 6);
            match d.transport {
                Transport::Tcp(h, _) => assert_eq!(h.src_port, port, "family {family}"),
                other => panic!("{other:?}"),
            }
        }
    }
    let mut f = 7u32.to_le_bytes().to_vec();
    f.extend_from_slice(&p4);
    assert_eq!(dec.decode(ts(0), LinkType::NULL, &f), Err(Skip::NonIp));
}

#[test]
fn unknown_linktype_and_truncation_are_counted() {
    let mut dec = Decoder::new();
    assert_eq!(
        dec.decode(ts(0), LinkType(147), &[0; 64]),
        Err(Skip::Error("unknown_linktype"))
    );
    let full = tcp_v4_frame();
    // Cut inside Ethernet, inside IPv4 and inside TCP.
    for cut in [10, 14 + 12, 14 + 20 + 10] {
        assert_eq!(
            dec.decode(ts(0), LinkType::ETHERNET, &full[..cut]),
            Err(Skip::Error("truncated")),
            "cut at {cut}"
        );
    }
    assert_eq!(dec.counters.get("unknown_linktype"), 1);
    assert_eq!(dec.counters.get("truncated"), 3);
}

#[test]
fn bad_header_lengths() {
    let mut dec = Decoder::new();
    let mut p = ipv4("10.0.0.1", "10.0.0.2", 6, &tcp(1, 2, 0, b""));
    p[0] = 0x44;
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &p),
        Err(Skip::Error("bad_ip_header_len"))
    );
    let mut p = ipv4("10.0.0.1", "10.0.0.2", 6, &tcp(1, 2, 0, b""));
    p[2..4].copy_from_slice(&10u16.to_be_bytes());
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &p),
        Err(Skip::Error("bad_ip_total_len"))
    );
    let mut t = tcp(1, 2, 0, b"");
    t[12] = 0x40;
    let p = ipv4("10.0.0.1", "10.0.0.2", 6, &t);
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &p),
        Err(Skip::Error("bad_tcp_header_len"))
    );
    assert_eq!(dec.counters.total(), 3);
}

#[test]
fn snaplen_cut_payload_and_wire_len() {
    let frame = eth(
        0x0800,
        &ipv4("10.0.0.1", "10.0.0.2", 6, &tcp(1, 2, 0, &[7; 1000])),
    );
    let cut = &frame[..100];
    let raw = RawPacket {
        ts: ts(3),
        linktype: LinkType::ETHERNET,
        data: cut,
        orig_len: frame.len() as u32,
        interface: 0,
    };
    let mut dec = Decoder::new();
    let d = dec.decode_raw(&raw).unwrap();
    assert_eq!(d.wire_len, frame.len() as u32);
    assert_eq!(d.ip.len, 20 + 24 + 1000);
    assert_tcp(&d, 1, 2, &[7; 100 - 14 - 20 - 24]);
}

// ---------------------------------------------------------------- IPv6

fn ext(nh: u8, len8: u8) -> Vec<u8> {
    let mut e = vec![nh, len8];
    e.resize((len8 as usize + 1) * 8, 0);
    e
}

#[test]
fn ipv6_extension_headers_are_followed() {
    // hop-by-hop -> routing -> destination options -> AH -> TCP
    let mut payload = ext(43, 0);
    payload.extend_from_slice(&ext(60, 1));
    payload.extend_from_slice(&ext(51, 0));
    let mut ah = vec![6, 4]; // (4 + 2) * 4 = 24 bytes
    ah.resize(24, 0);
    payload.extend_from_slice(&ah);
    payload.extend_from_slice(&tcp(22, 50000, TcpFlags::ACK, b"ssh"));
    let p = ipv6("fe80::1", "fe80::2", 0, &payload);
    let mut dec = Decoder::new();
    let d = dec.decode(ts(0), LinkType::RAW, &p).unwrap();
    assert_eq!(d.ip.protocol, 6);
    assert_eq!(d.ip.ttl, 32);
    assert_eq!(d.ip.len, p.len() as u32);
    assert_tcp(&d, 22, 50000, b"ssh");
}

#[test]
fn ipv6_extension_header_limit_and_truncation() {
    let mut payload = Vec::new();
    for _ in 0..9 {
        payload.extend_from_slice(&ext(60, 0));
    }
    payload.extend_from_slice(&udp(1, 2, b""));
    let p = ipv6("::1", "::2", 60, &payload);
    let mut dec = Decoder::new();
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &p),
        Err(Skip::Error("ipv6_ext_limit"))
    );
    let p = ipv6("::1", "::2", 60, &[17, 4, 0, 0]);
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &p),
        Err(Skip::Error("truncated"))
    );
    // No next header: decoded, empty "other" payload.
    let p = ipv6("::1", "::2", 59, &[]);
    let d = dec.decode(ts(0), LinkType::RAW, &p).unwrap();
    assert_eq!(
        d.transport,
        Transport::Other {
            protocol: 59,
            payload: &[]
        }
    );
}

// ---------------------------------------------------------------- fragments

/// Split an IPv4 payload at 8-byte boundaries given by `cuts` (in bytes).
fn v4_fragments(id: u16, payload: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    bounds
        .windows(2)
        .map(|w| {
            let more = if w[1] < payload.len() { 0x2000 } else { 0 };
            let frag = more | (w[0] / 8) as u16;
            eth(
                0x0800,
                &ipv4_full(
                    "10.1.0.1",
                    "10.1.0.2",
                    17,
                    id,
                    frag,
                    &[],
                    &payload[w[0]..w[1]],
                ),
            )
        })
        .collect()
}

fn big_udp(n: usize) -> Vec<u8> {
    let body: Vec<u8> = (0..n).map(|i| (i * 7 % 256) as u8).collect();
    udp(5000, 6000, &body)
}

#[test]
fn ipv4_fragments_in_order() {
    let payload = big_udp(3000);
    let frags = v4_fragments(7, &payload, &[1480, 2960]);
    let mut dec = Decoder::new();
    assert_eq!(
        dec.decode(ts(1), LinkType::ETHERNET, &frags[0]),
        Err(Skip::FragmentHeld)
    );
    assert_eq!(
        dec.decode(ts(1), LinkType::ETHERNET, &frags[1]),
        Err(Skip::FragmentHeld)
    );
    assert_eq!(dec.fragments_in_flight(), 1);
    let d = dec.decode(ts(2), LinkType::ETHERNET, &frags[2]).unwrap();
    assert!(d.ip.reassembled);
    assert_eq!(d.ip.len, 20 + payload.len() as u32);
    assert_eq!(d.ip.ttl, 64);
    assert_udp(&d, 5000, 6000, &payload[8..]);
    assert_eq!(dec.counters.get("fragment_held"), 2);
    assert_eq!(dec.counters.get("fragment_reassembled"), 1);
    assert_eq!(dec.fragments_in_flight(), 0);
    assert_eq!(dec.fragment_bytes_in_flight(), 0);
}

#[test]
fn ipv4_fragments_out_of_order() {
    let payload = big_udp(2000);
    let frags = v4_fragments(8, &payload, &[800, 1600]);
    let mut dec = Decoder::new();
    assert_eq!(
        dec.decode(ts(1), LinkType::ETHERNET, &frags[2]),
        Err(Skip::FragmentHeld)
    );
    assert_eq!(
        dec.decode(ts(1), LinkType::ETHERNET, &frags[0]),
        Err(Skip::FragmentHeld)
    );
    let d = dec.decode(ts(1), LinkType::ETHERNET, &frags[1]).unwrap();
    assert_udp(&d, 5000, 6000, &payload[8..]);
    assert_eq!(dec.counters.get("fragment_overlap"), 0);
}

#[test]
fn ipv4_overlapping_fragments_keep_first_arrival() {
    let payload = big_udp(40); // 48 bytes
    let mut dec = Decoder::new();
    let f0 = eth(
        0x0800,
        &ipv4_full("10.1.0.1", "10.1.0.2", 17, 9, 0x2000, &[], &payload[..24]),
    );
    // Overlaps bytes 16..24 with different content, then continues to the end.
    let mut evil = payload[16..].to_vec();
    evil[..8].copy_from_slice(&[0xff; 8]);
    let f1 = eth(
        0x0800,
        &ipv4_full("10.1.0.1", "10.1.0.2", 17, 9, 2, &[], &evil),
    );
    assert_eq!(
        dec.decode(ts(1), LinkType::ETHERNET, &f0),
        Err(Skip::FragmentHeld)
    );
    let d = dec.decode(ts(1), LinkType::ETHERNET, &f1).unwrap();
    assert_udp(&d, 5000, 6000, &payload[8..]);
    assert_eq!(dec.counters.get("fragment_overlap"), 1);
}

#[test]
fn ipv4_fragment_eviction_at_limit() {
    let mut dec = Decoder::with_limits(FragmentLimits {
        max_datagrams: 2,
        ..FragmentLimits::default()
    });
    let payload = big_udp(100);
    let firsts: Vec<_> = (1..=3)
        .map(|id| v4_fragments(id, &payload, &[56]))
        .collect();
    for (i, f) in firsts.iter().enumerate() {
        assert_eq!(
            dec.decode(ts(i as i64), LinkType::ETHERNET, &f[0]),
            Err(Skip::FragmentHeld)
        );
    }
    assert_eq!(dec.fragments_in_flight(), 2);
    assert_eq!(dec.counters.get("fragment_evicted"), 1);
    // Datagram 1 (the oldest) was evicted: its tail is held again, not completed.
    assert_eq!(
        dec.decode(ts(3), LinkType::ETHERNET, &firsts[0][1]),
        Err(Skip::FragmentHeld)
    );
    // Datagram 3 still completes.
    let d = dec
        .decode(ts(3), LinkType::ETHERNET, &firsts[2][1])
        .unwrap();
    assert_udp(&d, 5000, 6000, &payload[8..]);
}

#[test]
fn ipv4_fragment_eviction_at_default_limit() {
    let mut dec = Decoder::new();
    let max = dec.fragment_limits().max_datagrams;
    let payload = big_udp(100);
    for id in 0..=max {
        let f = v4_fragments(id as u16, &payload, &[56]);
        assert_eq!(
            dec.decode(ts(0), LinkType::ETHERNET, &f[0]),
            Err(Skip::FragmentHeld)
        );
    }
    assert_eq!(dec.fragments_in_flight(), max);
    assert_eq!(dec.counters.get("fragment_evicted"), 1);
}

#[test]
fn ipv4_fragment_timeout_in_event_time() {
    let payload = big_udp(100);
    let frags = v4_fragments(11, &payload, &[56]);
    let mut dec = Decoder::new();
    let timeout = dec.fragment_limits().timeout;
    assert_eq!(
        dec.decode(ts(100), LinkType::ETHERNET, &frags[0]),
        Err(Skip::FragmentHeld)
    );
    let late = ts(100) + timeout + Duration::from_secs(1);
    assert_eq!(
        dec.decode(late, LinkType::ETHERNET, &frags[1]),
        Err(Skip::FragmentHeld)
    );
    assert_eq!(dec.counters.get("fragment_timeout"), 1);
    assert_eq!(dec.fragments_in_flight(), 1);
    // Within the timeout it completes.
    let d = dec.decode(late, LinkType::ETHERNET, &frags[0]).unwrap();
    assert_udp(&d, 5000, 6000, &payload[8..]);
    // expire_fragments frees an incomplete datagram.
    dec.decode(late, LinkType::ETHERNET, &frags[1]).unwrap_err();
    dec.expire_fragments(late + timeout + Duration::from_secs(1));
    assert_eq!(dec.fragments_in_flight(), 0);
    assert_eq!(dec.fragment_bytes_in_flight(), 0);
}

#[test]
fn fragment_byte_limit_evicts_oldest() {
    // The byte budget is raised to one maximal datagram: two big first fragments exceed it.
    let mut dec = Decoder::with_limits(FragmentLimits {
        max_bytes: 0,
        ..FragmentLimits::default()
    });
    let payload = big_udp(40_000);
    let a = v4_fragments(1, &payload, &[36_000]);
    let b = v4_fragments(2, &payload, &[36_000]);
    assert_eq!(
        dec.decode(ts(0), LinkType::ETHERNET, &a[0]),
        Err(Skip::FragmentHeld)
    );
    assert_eq!(dec.fragment_bytes_in_flight(), 36_000);
    assert_eq!(
        dec.decode(ts(1), LinkType::ETHERNET, &b[0]),
        Err(Skip::FragmentHeld)
    );
    assert_eq!(dec.counters.get("fragment_evicted"), 1);
    assert_eq!(dec.fragments_in_flight(), 1);
    assert!(dec.fragment_bytes_in_flight() <= 65_535);
    let d = dec.decode(ts(1), LinkType::ETHERNET, &b[1]).unwrap();
    assert_udp(&d, 5000, 6000, &payload[8..]);
}

#[test]
fn too_many_fragments_drop_the_datagram() {
    let mut dec = Decoder::with_limits(FragmentLimits {
        max_fragments: 2,
        ..FragmentLimits::default()
    });
    let payload = big_udp(100);
    // Non-adjacent pieces so they do not merge into one range.
    let frags = v4_fragments(5, &payload, &[16, 32, 48, 64]);
    dec.decode(ts(0), LinkType::ETHERNET, &frags[0])
        .unwrap_err();
    dec.decode(ts(0), LinkType::ETHERNET, &frags[2])
        .unwrap_err();
    assert_eq!(
        dec.decode(ts(0), LinkType::ETHERNET, &frags[4]),
        Err(Skip::Error("fragment_too_many"))
    );
    assert_eq!(dec.fragments_in_flight(), 0);
}

#[test]
fn fragment_inside_a_reassembled_tunnel_is_not_followed() {
    // Inner IPv4 fragment carried in GRE, the outer packet itself fragmented.
    let inner = ipv4_full("172.16.0.1", "172.16.0.2", 17, 77, 0x2000, &[], &[0; 64]);
    let mut gre = vec![0, 0, 0x08, 0];
    gre.extend_from_slice(&inner);
    let cut = 48;
    let f0 = ipv4_full("10.0.0.1", "10.0.0.2", 47, 99, 0x2000, &[], &gre[..cut]);
    let f1 = ipv4_full(
        "10.0.0.1",
        "10.0.0.2",
        47,
        99,
        (cut / 8) as u16,
        &[],
        &gre[cut..],
    );
    let mut dec = Decoder::new();
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &f0),
        Err(Skip::FragmentHeld)
    );
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &f1),
        Err(Skip::Error("nested_fragment"))
    );
    assert_eq!(dec.counters.get("fragment_reassembled"), 1);
    // The same inner fragment in an unfragmented outer packet is held.
    let whole = ipv4("10.0.0.1", "10.0.0.2", 47, &gre);
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &whole),
        Err(Skip::FragmentHeld)
    );
}

#[test]
fn inconsistent_and_snaplen_cut_fragments() {
    let payload = big_udp(100);
    let frags = v4_fragments(12, &payload, &[56]);
    let mut dec = Decoder::new();
    dec.decode(ts(0), LinkType::ETHERNET, &frags[1])
        .unwrap_err();
    // A second "last fragment" with a different end.
    let bad = eth(
        0x0800,
        &ipv4_full("10.1.0.1", "10.1.0.2", 17, 12, 8, &[], &[0; 8]),
    );
    assert_eq!(
        dec.decode(ts(0), LinkType::ETHERNET, &bad),
        Err(Skip::Error("fragment_inconsistent"))
    );
    assert_eq!(dec.fragments_in_flight(), 0);
    assert_eq!(
        dec.decode(ts(0), LinkType::ETHERNET, &frags[0][..40]),
        Err(Skip::Error("fragment_truncated"))
    );
}

#[test]
fn ipv6_fragments_are_reassembled() {
    let body = tcp(80, 1234, TcpFlags::ACK | TcpFlags::PSH, &[0x42; 100]);
    let frag_hdr = |off: usize, more: bool| {
        let mut h = vec![6, 0];
        h.extend_from_slice(&(((off / 8) << 3) as u16 | more as u16).to_be_bytes());
        h.extend_from_slice(&0xdead_beefu32.to_be_bytes());
        h
    };
    let mut a = frag_hdr(0, true);
    a.extend_from_slice(&body[..64]);
    let mut b = frag_hdr(64, false);
    b.extend_from_slice(&body[64..]);
    let pa = ipv6("2001:db8::1", "2001:db8::2", 44, &a);
    let pb = ipv6("2001:db8::1", "2001:db8::2", 44, &b);
    let mut dec = Decoder::new();
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &pb),
        Err(Skip::FragmentHeld)
    );
    let d = dec.decode(ts(0), LinkType::RAW, &pa).unwrap();
    assert!(d.ip.reassembled);
    assert_eq!(d.ip.protocol, 6);
    assert_tcp(&d, 80, 1234, &[0x42; 100]);
    // Atomic fragment (offset 0, no more): passes straight through.
    let mut atomic = frag_hdr(0, false);
    atomic.extend_from_slice(&body);
    let f = ipv6("::1", "::2", 44, &atomic);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    assert!(!d.ip.reassembled);
    assert_tcp(&d, 80, 1234, &[0x42; 100]);
}

// ---------------------------------------------------------------- tunnels

#[test]
fn gre_carrying_ipv4_with_key_and_sequence() {
    let inner = ipv4("172.16.0.1", "172.16.0.2", 6, &tcp(1111, 22, 0, b"in"));
    let mut gre = vec![0x30, 0x00, 0x08, 0x00]; // K and S
    gre.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 9]);
    gre.extend_from_slice(&inner);
    let frame = eth(0x0800, &ipv4("10.0.0.1", "10.0.0.2", 47, &gre));
    let mut dec = Decoder::new();
    let d = dec.decode(ts(0), LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(d.tunnel, Some(Tunnel::Gre));
    assert_eq!(d.ip.src, ip("172.16.0.1"));
    assert_eq!(d.src_mac, Some(MAC_A), "outer MAC kept");
    assert_tcp(&d, 1111, 22, b"in");
}

#[test]
fn gre_transparent_ethernet_and_erspan() {
    let inner_frame = eth_tagged(
        &[(0x8100, 5)],
        0x86dd,
        &ipv6("2001:db8::a", "2001:db8::b", 17, &udp(7, 8, b"z")),
    );
    let mut dec = Decoder::new();

    let mut teb = vec![0x00, 0x00, 0x65, 0x58];
    teb.extend_from_slice(&inner_frame);
    let f = ipv4("10.0.0.1", "10.0.0.2", 47, &teb);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    assert_eq!(d.tunnel, Some(Tunnel::Gre));
    assert_eq!(d.ip.dst, ip("2001:db8::b"));
    assert_eq!(d.src_mac, None, "raw outer link has no MAC");
    assert_eq!(d.vlan, None, "inner VLAN is not the capture VLAN");
    assert_udp(&d, 7, 8, b"z");

    // ERSPAN type II: GRE with sequence number, 8-byte ERSPAN header.
    let mut erspan = vec![
        0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x05, 0x00, 0x01, 0, 0, 0, 0,
    ];
    erspan.extend_from_slice(&inner_frame);
    let f = ipv4("10.0.0.1", "10.0.0.2", 47, &erspan);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    assert_udp(&d, 7, 8, b"z");

    // MPLS over GRE.
    let mut mpls = vec![0x00, 0x00, 0x88, 0x47, 0, 0x01, 0x41, 64];
    mpls.extend_from_slice(&ipv4("10.5.0.1", "10.5.0.2", 17, &udp(9, 10, b"m")));
    let f = ipv4("10.0.0.1", "10.0.0.2", 47, &mpls);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    assert_eq!(d.tunnel, Some(Tunnel::Gre));
    assert_udp(&d, 9, 10, b"m");

    // GRE version 1 (PPTP) is left as "other".
    let pptp = [0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0];
    let f = ipv4("10.0.0.1", "10.0.0.2", 47, &pptp);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    assert_eq!(d.tunnel, None);
    assert!(matches!(d.transport, Transport::Other { protocol: 47, .. }));
}

#[test]
fn vxlan_is_decapsulated() {
    let inner_frame = eth(
        0x0800,
        &ipv4("192.168.1.1", "192.168.1.2", 6, &tcp(5555, 80, 0, b"GET")),
    );
    let mut vx = vec![0x08, 0, 0, 0, 0x00, 0x12, 0x34, 0x00];
    vx.extend_from_slice(&inner_frame);
    let outer = eth_tagged(
        &[(0x8100, 3)],
        0x0800,
        &ipv4("10.0.0.1", "10.0.0.2", 17, &udp(49152, 4789, &vx)),
    );
    let mut dec = Decoder::new();
    let d = dec.decode(ts(0), LinkType::ETHERNET, &outer).unwrap();
    assert_eq!(d.tunnel, Some(Tunnel::Vxlan { vni: 0x1234 }));
    assert_eq!(d.vlan, Some(3));
    assert_eq!(d.dst_mac, Some(MAC_B));
    assert_eq!(d.ip.src, ip("192.168.1.1"));
    assert_tcp(&d, 5555, 80, b"GET");

    // Without the I flag it is plain UDP.
    vx[0] = 0;
    let outer = eth(
        0x0800,
        &ipv4("10.0.0.1", "10.0.0.2", 17, &udp(49152, 4789, &vx)),
    );
    let d = dec.decode(ts(0), LinkType::ETHERNET, &outer).unwrap();
    assert_eq!(d.tunnel, None);
    assert_udp(&d, 49152, 4789, &vx);
}

#[test]
fn nested_tunnels_are_bounded() {
    let mut pkt = ipv4("10.9.9.1", "10.9.9.2", 17, &udp(1, 2, b""));
    for _ in 0..5 {
        let mut gre = vec![0, 0, 0x08, 0];
        gre.extend_from_slice(&pkt);
        pkt = ipv4("10.0.0.1", "10.0.0.2", 47, &gre);
    }
    let mut dec = Decoder::new();
    assert_eq!(
        dec.decode(ts(0), LinkType::RAW, &pkt),
        Err(Skip::Error("encap_limit"))
    );
    assert_eq!(dec.counters.get("encap_limit"), 1);
}

// ---------------------------------------------------------------- ICMP

#[test]
fn icmp_errors_carry_the_quoted_flow() {
    let quoted = ipv4("10.0.0.5", "8.8.8.8", 17, &udp(33000, 53, b"abcd"));
    let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&quoted[..28]);
    let mut dec = Decoder::new();
    let f = ipv4("8.8.8.8", "10.0.0.5", 1, &icmp);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    match d.transport {
        Transport::Icmp {
            v6,
            icmp_type,
            code,
            payload,
            inner,
        } => {
            assert!(!v6);
            assert_eq!((icmp_type, code), (3, 3));
            assert_eq!(payload.len(), 4 + 28);
            assert_eq!(
                inner,
                Some(InnerTuple {
                    src: ip("10.0.0.5"),
                    dst: ip("8.8.8.8"),
                    protocol: 17,
                    src_port: 33000,
                    dst_port: 53,
                })
            );
        }
        other => panic!("{other:?}"),
    }

    // Echo request: no inner tuple even though the payload looks like an IP header.
    icmp[0] = 8;
    let f = ipv4("8.8.8.8", "10.0.0.5", 1, &icmp);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    assert!(matches!(
        d.transport,
        Transport::Icmp {
            icmp_type: 8,
            inner: None,
            ..
        }
    ));

    // ICMPv6 time exceeded quoting TCP behind a destination-options header.
    let mut q6body = ext(6, 0);
    q6body.extend_from_slice(&tcp(40000, 443, TcpFlags::SYN, b""));
    let quoted6 = ipv6("2001:db8::5", "2001:db8::99", 60, &q6body);
    let mut icmp6 = vec![3, 0, 0, 0, 0, 0, 0, 0];
    icmp6.extend_from_slice(&quoted6);
    let f = ipv6("2001:db8::1", "2001:db8::5", 58, &icmp6);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    match d.transport {
        Transport::Icmp { v6, inner, .. } => {
            assert!(v6);
            let inner = inner.unwrap();
            assert_eq!(
                (inner.src, inner.dst),
                (ip("2001:db8::5"), ip("2001:db8::99"))
            );
            assert_eq!(
                (inner.protocol, inner.src_port, inner.dst_port),
                (6, 40000, 443)
            );
        }
        other => panic!("{other:?}"),
    }

    // A quote cut short: tuple without ports; a garbage quote: none.
    let mut short = vec![11, 0, 0, 0, 0, 0, 0, 0];
    short.extend_from_slice(&quoted[..20]);
    let f = ipv4("8.8.8.8", "10.0.0.5", 1, &short);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    assert!(matches!(
        d.transport,
        Transport::Icmp {
            inner: Some(InnerTuple {
                protocol: 17,
                src_port: 0,
                dst_port: 0,
                ..
            }),
            ..
        }
    ));
    let garbage = [3, 1, 0, 0, 0, 0, 0, 0, 0x99, 1, 2];
    let f = ipv4("8.8.8.8", "10.0.0.5", 1, &garbage);
    let d = dec.decode(ts(0), LinkType::RAW, &f).unwrap();
    assert!(matches!(d.transport, Transport::Icmp { inner: None, .. }));
}

// ---------------------------------------------------------------- garbage

const LINKTYPES: [LinkType; 11] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType::RAW_DLT12,
    LinkType::RAW_DLT14,
    LinkType(9999),
];

proptest! {
    #[test]
    fn random_frames_never_panic(lt in 0usize..LINKTYPES.len(), bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut dec = Decoder::new();
        let _ = dec.decode(ts(0), LINKTYPES[lt], &bytes);
        prop_assert!(dec.counters.total() <= 1);
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        pos in proptest::collection::vec((0usize..200, any::<u8>()), 1..8),
        cut in 0usize..200,
    ) {
        let base = v4_fragments(3, &big_udp(120), &[64]);
        let mut dec = Decoder::new();
        for mut frame in base.into_iter().chain([tcp_v4_frame()]) {
            for (p, v) in &pos {
                if let Some(b) = frame.get_mut(*p) {
                    *b = *v;
                }
            }
            frame.truncate(cut.max(1));
            let _ = dec.decode(ts(0), LinkType::ETHERNET, &frame);
        }
    }
}
