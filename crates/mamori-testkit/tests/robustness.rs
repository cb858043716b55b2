//! Builders never panic, whatever the parameters: random sizes, empty and oversized
//! inputs, odd names. Each case also checks the output stays self-consistent where the
//! format allows it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mamori_core::{Duration, Timestamp};
use mamori_testkit::conv::{ping, TcpConversation, UdpExchange};
use mamori_testkit::packet::{checksum, Frame, Ipv6Ext, Mac, TcpFlags, TcpSeg};
use mamori_testkit::payload::dns::{qtype, DnsMessage};
use mamori_testkit::payload::http::{exe_body, HttpRequest, HttpResponse};
use mamori_testkit::payload::{asn1, der, dhcp, ntp, rdp, smb, ssh, tls};
use mamori_testkit::pcap::{pcapng_bytes, PcapWriter, TsResolution};
use mamori_testkit::rng::SplitMix64;

const ROUNDS: usize = 300;

fn rand_v4(r: &mut SplitMix64) -> Ipv4Addr {
    Ipv4Addr::from(r.next_u32())
}

fn rand_v6(r: &mut SplitMix64) -> Ipv6Addr {
    Ipv6Addr::from((u128::from(r.next_u64()) << 64) | u128::from(r.next_u64()))
}

fn rand_len(r: &mut SplitMix64) -> usize {
    match r.below(10) {
        0 => 0,
        1 => 70_000 + r.below(1_000) as usize,
        _ => r.below(3_000) as usize,
    }
}

fn rb(r: &mut SplitMix64, max: u64) -> Vec<u8> {
    let n = r.below(max) as usize;
    r.bytes(n)
}

fn rl(r: &mut SplitMix64) -> Vec<u8> {
    let n = rand_len(r);
    r.bytes(n)
}

#[test]
fn random_frames_build_and_ipv4_headers_verify() {
    let mut r = SplitMix64::new(1);
    for _ in 0..ROUNDS {
        let payload = rl(&mut r);
        let opts = rb(&mut r, 60);
        let mut f = match r.below(5) {
            0 => Frame::ethernet(Mac::local(r.next_u32()), Mac::local(r.next_u32())),
            1 => Frame::sll(Mac::local(1)),
            2 => Frame::sll2(Mac::local(1), r.next_u32()),
            3 => Frame::raw(),
            _ => Frame::null(),
        };
        if r.chance(30) {
            f = f.vlan(r.next_u32() as u16);
        }
        if r.chance(20) {
            f = f.qinq(r.next_u32() as u16, r.next_u32() as u16);
        }
        let v6 = r.chance(40);
        f = if v6 {
            let mut g = f
                .ipv6(rand_v6(&mut r), rand_v6(&mut r))
                .flow_label(r.next_u32());
            for _ in 0..r.below(4) {
                let ext = match r.below(4) {
                    0 => Ipv6Ext::HopByHop(rb(&mut r, 300)),
                    1 => Ipv6Ext::DestOpts(rb(&mut r, 300)),
                    2 => Ipv6Ext::Routing {
                        routing_type: 4,
                        segments_left: 1,
                        data: rb(&mut r, 2_100),
                    },
                    _ => Ipv6Ext::Fragment {
                        offset: r.next_u32() as u16,
                        more: r.chance(50),
                        id: r.next_u32(),
                    },
                };
                g = g.ext_header(ext);
            }
            g
        } else {
            f.ipv4(rand_v4(&mut r), rand_v4(&mut r))
                .ipv4_options(&opts)
                .ip_id(r.next_u32() as u16)
        };
        f = f.ttl(r.next_u32() as u8).tos(r.next_u32() as u8);
        f = match r.below(7) {
            0 => f.tcp(TcpSeg {
                options: rb(&mut r, 60),
                flags: TcpFlags(r.next_u32() as u8),
                ..TcpSeg::new(r.next_u32() as u16, r.next_u32() as u16)
            }),
            1 => f.udp(r.next_u32() as u16, r.next_u32() as u16),
            2 => f.icmp_port_unreachable(&payload),
            3 => f.icmpv6_port_unreachable(&payload),
            4 => f.gre_ip(&payload).gre_key(r.next_u32()),
            5 => f.vxlan(r.next_u32(), &payload),
            _ => f.ip_proto(r.next_u32() as u8),
        };
        let f = f.payload(&payload);
        let bytes = f.build();
        assert!(bytes.len() >= payload.len().min(1));
        let ip = f.build_ip();
        if !v6 {
            let ihl = usize::from(ip[0] & 0x0F) * 4;
            assert_eq!(checksum(&ip[..ihl]), 0);
        }
        for frag in f.fragment(r.below(2_000) as usize) {
            assert!(!frag.is_empty());
        }
        let _ = f.at(Timestamp::from_unix_nanos(r.next_u64() as i64));
    }
}

#[test]
fn random_conversations_never_panic() {
    let mut r = SplitMix64::new(2);
    for _ in 0..60 {
        let c = (IpAddr::V4(rand_v4(&mut r)), r.next_u32() as u16).into();
        let s = if r.chance(30) {
            (IpAddr::V6(rand_v6(&mut r)), r.next_u32() as u16).into()
        } else {
            (IpAddr::V4(rand_v4(&mut r)), r.next_u32() as u16).into()
        };
        let t = Timestamp::from_unix_nanos(r.next_u64() as i64);
        let mut conv = TcpConversation::new(c, s, t)
            .mss(r.below(3_000) as usize)
            .rtt(Duration::from_nanos(r.next_u64() as i64))
            .gap(Duration::from_nanos(r.below(1_000_000) as i64))
            .isn(r.next_u32(), r.next_u32())
            .handshake();
        for _ in 0..r.below(6) {
            if r.chance(30) {
                conv = conv.out_of_order_next();
            }
            if r.chance(30) {
                conv = conv.retransmit_next();
            }
            let n = r.below(10_000) as usize;
            conv = if r.chance(50) {
                conv.client(&r.bytes(n))
            } else {
                conv.server(&r.bytes(n))
            };
        }
        let frames = conv.fin().rst_from_server().frames();
        assert!(frames.len() >= 7);
        let u = UdpExchange::new(c, s, t)
            .request(&rl(&mut r))
            .port_unreachable()
            .frames();
        assert_eq!(u.len(), 2);
        let p = ping(
            c.ip(),
            s.ip(),
            1,
            1,
            t,
            Duration::from_nanos(r.next_u64() as i64),
            true,
        );
        assert_eq!(p.len(), 2);
    }
}

#[test]
fn random_payload_parameters_never_panic() {
    let mut r = SplitMix64::new(3);
    let alphabet = b"abcXYZ019-._* \xe3\x81\x82";
    for _ in 0..ROUNDS {
        let n = r.below(400) as usize;
        let name = String::from_utf8_lossy(r.string_from(alphabet, n).as_bytes()).into_owned();
        let q = DnsMessage::query(r.next_u32() as u16, &name, r.next_u32() as u16).build();
        assert_eq!(&q[4..6], &[0, 1]);
        let resp = DnsMessage::response(1, &name, qtype::TXT)
            .txt(&name, 1, &[&name, ""])
            .cname(&name, 1, &name)
            .nxdomain(&name)
            .build();
        assert!(resp.len() > 12);
        let _ = tls::ClientHello::new()
            .sni(&name)
            .alpn(&[&name])
            .ciphers(&[r.next_u32() as u16])
            .extension(r.next_u32() as u16, &rl(&mut r))
            .grease(Some(r.next_u64() as usize))
            .build();
        let ts = Timestamp::from_unix_nanos(r.next_u64() as i64);
        let cert = tls::Certificate::new(&name, &name)
            .san(&[&name])
            .validity(ts, ts)
            .serial(&rb(&mut r, 40))
            .der();
        assert_eq!(cert[0], 0x30);
        let _ = tls::record(r.next_u32() as u8, r.next_u32() as u16, &rl(&mut r));
        let _ = HttpRequest::get(&name, &name)
            .header(&name, &name)
            .chunked(r.chance(50))
            .body(&rl(&mut r))
            .build();
        let _ = HttpResponse::new(r.next_u32() as u16, &name).build_head(r.next_u64());
        let _ = exe_body(rand_len(&mut r));
        let lease = dhcp::Lease::new(
            Mac::local(r.next_u32()),
            &name,
            rand_v4(&mut r),
            rand_v4(&mut r),
        );
        let _ = dhcp::request(r.next_u32(), &lease);
        let _ = ssh::binary_packet(&rl(&mut r));
        let _ = smb::smb2_negotiate_request(&[r.next_u32() as u16; 3]);
        let _ = smb::filetime(r.next_u64() as i64);
        let _ = ntp::server(ts, ts, ts, [0; 4]);
        let _ = asn1::snmp_get_request(
            &name,
            r.next_u64() as i64,
            &[&[r.next_u64(), r.next_u64(), r.next_u64()]],
        );
        let _ = asn1::kerberos_as_req(&name, &name, r.next_u32(), ts, &[r.next_u64() as i64]);
        let _ = asn1::ldap_simple_bind(r.next_u64() as i64, &name, &name);
        let _ = rdp::connection_request(&name, r.next_u32());
        let _ = der::integer(&rb(&mut r, 20));
        let _ = der::oid(&[r.next_u64(), r.next_u64(), r.next_u64()]);
    }
}

#[test]
fn random_pcap_writes_never_panic() {
    let mut r = SplitMix64::new(4);
    let mut w = PcapWriter::with_options(Vec::new(), 1, TsResolution::Nano, r.next_u32()).unwrap();
    let mut frames = Vec::new();
    for _ in 0..100 {
        let ts = Timestamp::from_unix_nanos(r.next_u64() as i64);
        let data = rl(&mut r);
        w.write_packet(ts, &data).unwrap();
        frames.push(mamori_testkit::TimedFrame {
            ts,
            linktype: r.below(300) as u16,
            data,
        });
    }
    assert_eq!(w.packets(), 100);
    let ng = pcapng_bytes(&frames).unwrap();
    assert_eq!(ng.len() % 4, 0);
}
