//! Throughput of the flow table on synthetic decoded packets (no decoding cost):
//! `cargo bench -p mamori-flow --bench table`.
//!
//! Workload: 20,000 concurrent TCP connections (handshake, then data both ways with
//! non-identifiable payload) interleaved with short UDP flows, 2,000,000 packets.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use mamori_core::Timestamp;
use mamori_flow::{Sensor, SensorConfig};
use mamori_proto::capture::RawPacket;
use mamori_proto::packet::{Decoded, IpHeader, LinkType, TcpFlags, TcpHeader, Transport};

const PACKETS: u64 = 2_000_000;
const CONNS: u32 = 20_000;

/// CPU time of this thread in ns (Linux `schedstat`), so a busy machine does not skew the
/// figure; falls back to wall time elsewhere.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Ethernet + IPv4 + UDP frame (checksums as a capture would have them: IPv4 computed).
fn eth_udp(src: u32, dst: u32, sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
    let total = (28 + payload.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src.to_be_bytes());
    ip.extend_from_slice(&dst.to_be_bytes());
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Decode + table: raw Ethernet frames through `Sensor::process`.
fn raw_frames() {
    let payload = [0xA5u8; 200];
    let frames: Vec<Vec<u8>> = (0..CONNS)
        .flat_map(|c| {
            let client = 0x0a00_0000 | c;
            let server = 0xc000_0200 | (c % 200);
            let port = 20_000 + (c % 40_000) as u16;
            [
                eth_udp(client, server, port, 9999, &payload),
                eth_udp(server, client, 9999, port, &payload),
            ]
        })
        .collect();
    let mut sensor = Sensor::new(SensorConfig::default());
    let mut out = Vec::new();
    let base = 1_700_000_000_000_000_000i64;
    let start = Instant::now();
    let cpu0 = cpu_ns();
    for i in 0..PACKETS {
        let f = &frames[(i.wrapping_mul(2_654_435_761) % frames.len() as u64) as usize];
        let pkt = RawPacket {
            ts: Timestamp::from_unix_nanos(base + (i as i64) * 2_000),
            linktype: LinkType::ETHERNET,
            data: f,
            orig_len: f.len() as u32,
            interface: 0,
        };
        sensor.process(black_box(&pkt), &mut out);
        out.clear();
    }
    sensor.finish(&mut out);
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall,
    };
    println!(
        "raw frames (decode + table): {PACKETS} packets: {cpu:.3} s CPU ({wall:.3} s wall) = {:.2} M packets/s per core; {} decoded, {} flows",
        PACKETS as f64 / cpu / 1e6,
        sensor.stats().decoded,
        sensor.stats().flows_created,
    );
}

fn main() {
    raw_frames();
    decoded();
}

fn decoded() {
    let payload = [0xA5u8; 200];
    let mut sensor = Sensor::new(SensorConfig::default());
    let mut out = Vec::new();
    let mut events = 0usize;
    let start = Instant::now();
    let cpu0 = cpu_ns();
    let base = 1_700_000_000_000_000_000i64;
    let mut seqs = vec![[1000u32, 5000u32]; CONNS as usize];
    for i in 0..PACKETS {
        let conn = (i.wrapping_mul(2_654_435_761) % u64::from(CONNS)) as u32;
        let round = i / u64::from(CONNS);
        let ts = Timestamp::from_unix_nanos(base + (i as i64) * 2_000);
        let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | conn));
        let server = IpAddr::V4(Ipv4Addr::new(192, 0, 2, (conn % 200) as u8));
        let cport = 20_000 + (conn % 40_000) as u16;
        let d = if i % 10 == 9 {
            // A short UDP flow.
            Decoded {
                ts,
                src_mac: None,
                dst_mac: None,
                vlan: None,
                inner_vlan: None,
                tunnel: None,
                ip: IpHeader {
                    src: client,
                    dst: server,
                    protocol: 17,
                    ttl: 64,
                    len: 128,
                    reassembled: false,
                },
                transport: Transport::Udp {
                    src_port: 30_000 + (i % 20_000) as u16,
                    dst_port: 9999,
                    payload: &payload[..100],
                },
                wire_len: 142,
            }
        } else {
            let to_server = i % 2 == 0;
            let s = &mut seqs[conn as usize];
            let (flags, seq, plen) = match round {
                0 => (TcpFlags::SYN, s[0], 0),
                1 => (TcpFlags::SYN | TcpFlags::ACK, s[1], 0),
                _ => (
                    TcpFlags::ACK | TcpFlags::PSH,
                    s[usize::from(!to_server)],
                    200,
                ),
            };
            let dir_server = round == 0 || (round > 1 && to_server);
            if plen > 0 {
                let k = usize::from(!dir_server);
                s[k] = s[k].wrapping_add(plen as u32);
            }
            let h = TcpHeader {
                src_port: if dir_server { cport } else { 443 },
                dst_port: if dir_server { 443 } else { cport },
                seq,
                ack: 0,
                flags: TcpFlags(flags),
                window: 512,
            };
            let (src, dst) = if dir_server {
                (client, server)
            } else {
                (server, client)
            };
            Decoded {
                ts,
                src_mac: None,
                dst_mac: None,
                vlan: None,
                inner_vlan: None,
                tunnel: None,
                ip: IpHeader {
                    src,
                    dst,
                    protocol: 6,
                    ttl: 64,
                    len: 40 + plen as u32,
                    reassembled: false,
                },
                transport: Transport::Tcp(h, &payload[..plen]),
                wire_len: 54 + plen as u32,
            }
        };
        sensor.process_decoded(black_box(&d), &mut out);
        events += out.len();
        out.clear();
    }
    sensor.finish(&mut out);
    events += out.len();
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall,
    };
    let st = sensor.stats();
    println!(
        "{PACKETS} packets: {cpu:.3} s CPU ({wall:.3} s wall) = {:.2} M packets/s per core; \
         {events} events, {} flows, flow state {} bytes",
        PACKETS as f64 / cpu / 1e6,
        st.flows_created,
        mamori_flow::FLOW_STATE_SIZE,
    );
}
