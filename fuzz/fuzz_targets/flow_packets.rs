//! Sequences of arbitrary frames through a `Sensor`: must not panic, memory stays bounded.
//!
//! Input: records of `[kind][ts delta][len][bytes…]`. Kind bit 0 chooses a raw frame through
//! the decoder (link type from the next bits) or a packet synthesised directly as `Decoded`
//! (so the flow table, reassembly and dissectors are exercised whatever the decoder does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_core::{Duration, Timestamp};
use mamori_flow::{Sensor, SensorConfig};
use mamori_proto::capture::RawPacket;
use mamori_proto::packet::{
    Decoded, InnerTuple, IpHeader, LinkType, TcpFlags, TcpHeader, Transport, Tunnel,
};

/// Small limits so the fuzzer reaches them.
const MAX_FLOWS: usize = 64;
const OOO_BYTES: usize = 2048;
const L7_MAX_BYTES: u64 = 8192;

fn ip(b: u8, v6: bool) -> std::net::IpAddr {
    // A few distinct addresses so flows collide and reverse.
    if v6 {
        std::net::IpAddr::V6(std::net::Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            0,
            0,
            0,
            u16::from(b & 3),
        ))
    } else {
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, b & 3))
    }
}

fn synth<'a>(ts: Timestamp, h: &[u8; 12], payload: &'a [u8]) -> Decoded<'a> {
    let v6 = h[0] & 0x80 != 0;
    let (src, dst) = (ip(h[1], v6), ip(h[1] >> 2, v6));
    let sp = u16::from(h[2] & 7) + 1000;
    let dp = u16::from(h[3] & 7) + 1000;
    let transport = match h[0] & 3 {
        0 => Transport::Tcp(
            TcpHeader {
                src_port: sp,
                dst_port: dp,
                seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                ack: 0,
                flags: TcpFlags(h[8]),
                window: 0,
            },
            payload,
        ),
        1 => Transport::Udp {
            src_port: sp,
            dst_port: dp,
            payload,
        },
        2 => Transport::Icmp {
            v6,
            icmp_type: h[4],
            code: h[5],
            payload,
            inner: (h[6] & 1 == 1).then(|| InnerTuple {
                src: dst,
                dst: src,
                protocol: h[7],
                src_port: dp,
                dst_port: sp,
            }),
        },
        _ => Transport::Other {
            protocol: h[4],
            payload,
        },
    };
    let protocol = match transport {
        Transport::Tcp(..) => 6,
        Transport::Udp { .. } => 17,
        Transport::Icmp { .. } => {
            if v6 {
                58
            } else {
                1
            }
        }
        Transport::Other { protocol, .. } => protocol,
    };
    Decoded {
        ts,
        src_mac: (h[9] & 1 == 1).then_some([h[9]; 6]),
        dst_mac: None,
        vlan: (h[9] & 2 == 2).then_some(u16::from(h[10] & 3)),
        inner_vlan: None,
        tunnel: match h[11] & 3 {
            1 => Some(Tunnel::Gre),
            2 => Some(Tunnel::Vxlan {
                vni: u32::from(h[10]),
            }),
            _ => None,
        },
        ip: IpHeader {
            src,
            dst,
            protocol,
            ttl: 64,
            len: payload.len() as u32 + 40,
            reassembled: false,
        },
        transport,
        wire_len: payload.len() as u32 + 54,
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = SensorConfig {
        max_flows: MAX_FLOWS,
        reassembly_ooo_bytes: OOO_BYTES,
        l7_max_bytes: L7_MAX_BYTES,
        ..SensorConfig::default()
    };
    let mut sensor = Sensor::new(cfg);
    let mut out = Vec::new();
    let mut ts = Timestamp::from_unix_secs(1_700_000_000);
    let mut rest = data;
    while let [kind, dt, len, tail @ ..] = rest {
        // Time moves in steps of up to ~4 minutes, sometimes backwards.
        let step = Duration::from_millis(i64::from(*dt) * 1000 - 8_000);
        ts = ts + step;
        let n = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(n);
        rest = next;
        if kind & 1 == 0 {
            let pkt = RawPacket {
                ts,
                linktype: LinkType(u16::from(kind >> 1)),
                data: body,
                orig_len: body.len() as u32,
                interface: 0,
            };
            sensor.process(&pkt, &mut out);
        } else if let Some((h, payload)) = body.split_first_chunk::<12>() {
            sensor.process_decoded(&synth(ts, h, payload), &mut out);
        }
        assert!(sensor.active_flows() <= MAX_FLOWS);
        assert!(sensor.buffered_bytes() <= MAX_FLOWS * (2 * OOO_BYTES + 2 * 4096 + 2 * 256));
        out.clear();
    }
    sensor.finish(&mut out);
    assert_eq!(sensor.active_flows(), 0);
});
