//! Behaviour tests of the sensor, driven by hand-built decoded packets.

use std::net::IpAddr;

use mamori_core::{Counters, Duration, Event, Fields, HomeNets, Timestamp};
use mamori_proto::app::{
    Dir, Dissector, FlowMeta, Identified, Probe, Progress, ProtocolDef, Record,
    Transport as AppTransport,
};
use mamori_proto::capture::RawPacket;
use mamori_proto::packet::{
    Decoded, InnerTuple, IpHeader, LinkType, TcpFlags, TcpHeader, Transport, Tunnel,
};

use crate::{Sensor, SensorConfig};

const T0: i64 = 1_700_000_000;
const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN;
const RST: u8 = TcpFlags::RST;
const PSH: u8 = TcpFlags::PSH;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_nanos(T0 * 1_000_000_000 + ms * 1_000_000)
}

fn base<'a>(
    ms: i64,
    src: &str,
    dst: &str,
    proto: u8,
    t: Transport<'a>,
    plen: usize,
) -> Decoded<'a> {
    Decoded {
        ts: at(ms),
        src_mac: None,
        dst_mac: None,
        vlan: None,
        inner_vlan: None,
        tunnel: None,
        ip: IpHeader {
            src: ip(src),
            dst: ip(dst),
            protocol: proto,
            ttl: 64,
            len: 40 + plen as u32,
            reassembled: false,
        },
        transport: t,
        wire_len: 54 + plen as u32,
    }
}

#[allow(clippy::too_many_arguments)]
fn tcp<'a>(
    ms: i64,
    src: &str,
    sp: u16,
    dst: &str,
    dp: u16,
    flags: u8,
    seq: u32,
    payload: &'a [u8],
) -> Decoded<'a> {
    let h = TcpHeader {
        src_port: sp,
        dst_port: dp,
        seq,
        ack: 0,
        flags: TcpFlags(flags),
        window: 1024,
    };
    base(ms, src, dst, 6, Transport::Tcp(h, payload), payload.len())
}

fn udp<'a>(ms: i64, src: &str, sp: u16, dst: &str, dp: u16, payload: &'a [u8]) -> Decoded<'a> {
    let t = Transport::Udp {
        src_port: sp,
        dst_port: dp,
        payload,
    };
    base(ms, src, dst, 17, t, payload.len())
}

fn icmp<'a>(
    ms: i64,
    src: &str,
    dst: &str,
    ty: u8,
    code: u8,
    inner: Option<InnerTuple>,
) -> Decoded<'a> {
    let t = Transport::Icmp {
        v6: false,
        icmp_type: ty,
        code,
        payload: &[],
        inner,
    };
    base(ms, src, dst, 1, t, 0)
}

fn cfg() -> SensorConfig {
    SensorConfig {
        home_nets: HomeNets::parse_list("10.0.0.0/8").unwrap(),
        ..SensorConfig::default()
    }
}

fn run(cfg: SensorConfig, pkts: &[Decoded<'_>]) -> (Vec<Event>, Sensor) {
    let mut s = Sensor::new(cfg);
    let mut out = Vec::new();
    for p in pkts {
        s.process_decoded(p, &mut out);
    }
    s.finish(&mut out);
    (out, s)
}

fn flows(out: &[Event]) -> Vec<&Event> {
    out.iter().filter(|e| e.dataset == "flow").collect()
}

fn one_flow(out: &[Event]) -> &Event {
    let f = flows(out);
    assert_eq!(f.len(), 1, "{f:#?}");
    f[0]
}

fn s(e: &Event, k: &str) -> String {
    e.get(k)
        .map(|v| v.to_string())
        .unwrap_or_else(|| panic!("{k} missing in {e:#?}"))
}

fn n(e: &Event, k: &str) -> i64 {
    e.get_i64(k)
        .unwrap_or_else(|| panic!("{k} missing in {e:#?}"))
}

const C: &str = "10.0.0.5";
const SV: &str = "192.0.2.80";

fn handshake() -> Vec<Decoded<'static>> {
    vec![
        tcp(0, C, 40000, SV, 80, SYN, 100, b""),
        tcp(10, SV, 80, C, 40000, SYN | ACK, 900, b""),
        tcp(20, C, 40000, SV, 80, ACK, 101, b""),
    ]
}

// ---- handshake states -------------------------------------------------------------------

#[test]
fn state_established() {
    let (out, _) = run(cfg(), &handshake());
    let f = one_flow(&out);
    assert_eq!(s(f, "mamori.flow.state"), "established");
    assert_eq!(s(f, "source.ip"), C);
    assert_eq!(n(f, "source.port"), 40000);
    assert_eq!(n(f, "destination.port"), 80);
    assert_eq!(n(f, "source.packets"), 2);
    assert_eq!(n(f, "destination.packets"), 1);
    assert_eq!(n(f, "network.packets"), 3);
    assert_eq!(n(f, "network.bytes"), 120);
    assert_eq!(s(f, "mamori.flow.tcp_flags"), "SA");
    assert_eq!(s(f, "mamori.flow.source_tcp_flags"), "SA");
    assert_eq!(s(f, "network.transport"), "tcp");
    assert_eq!(s(f, "network.iana_number"), "6");
    assert_eq!(n(f, "event.duration"), 20_000_000);
    assert_eq!(f.get("event.start").unwrap().into_owned(), at(0).into());
    assert_eq!(f.get("event.end").unwrap().into_owned(), at(20).into());
    assert_eq!(f.timestamp, at(20));
    let j = f.to_json();
    assert_eq!(j["event"]["type"], serde_json::json!(["connection", "end"]));
    assert_eq!(j["event"]["category"], serde_json::json!(["network"]));
    assert_eq!(j["event"]["kind"], "event");
}

#[test]
fn state_rejected() {
    let (out, _) = run(
        cfg(),
        &[
            tcp(0, C, 40000, SV, 81, SYN, 1, b""),
            tcp(1, SV, 81, C, 40000, RST | ACK, 0, b""),
        ],
    );
    assert_eq!(s(one_flow(&out), "mamori.flow.state"), "rejected");
}

#[test]
fn state_half_open() {
    let mut p = handshake();
    p.truncate(2);
    let (out, _) = run(cfg(), &p);
    assert_eq!(s(one_flow(&out), "mamori.flow.state"), "half_open");
}

#[test]
fn state_no_reply() {
    let (out, _) = run(
        cfg(),
        &[
            tcp(0, C, 40000, SV, 80, SYN, 1, b""),
            tcp(1000, C, 40000, SV, 80, SYN, 1, b""),
        ],
    );
    let f = one_flow(&out);
    assert_eq!(s(f, "mamori.flow.state"), "no_reply");
    assert_eq!(n(f, "destination.packets"), 0);
}

#[test]
fn state_reset_and_closed() {
    let mut p = handshake();
    p.push(tcp(30, C, 40000, SV, 80, RST, 101, b""));
    let (out, _) = run(cfg(), &p);
    assert_eq!(s(one_flow(&out), "mamori.flow.state"), "reset");

    let mut p = handshake();
    p.push(tcp(30, C, 40000, SV, 80, FIN | ACK, 101, b""));
    p.push(tcp(40, SV, 80, C, 40000, FIN | ACK, 901, b""));
    let (out, _) = run(cfg(), &p);
    let f = one_flow(&out);
    assert_eq!(s(f, "mamori.flow.state"), "closed");
    assert_eq!(s(f, "mamori.flow.tcp_flags"), "FSA");
}

#[test]
fn state_midstream_and_first_sender_is_client() {
    let (out, _) = run(
        cfg(),
        &[
            tcp(0, SV, 80, C, 40000, ACK | PSH, 5000, b"data"),
            tcp(5, C, 40000, SV, 80, ACK, 77, b""),
        ],
    );
    let f = one_flow(&out);
    assert_eq!(s(f, "mamori.flow.state"), "midstream");
    assert_eq!(s(f, "source.ip"), SV);
    assert_eq!(n(f, "source.port"), 80);
    assert_eq!(n(f, "mamori.flow.source_payload_bytes"), 4);
    assert_eq!(n(f, "mamori.flow.destination_payload_bytes"), 0);
}

#[test]
fn synack_first_makes_its_receiver_the_client() {
    let (out, _) = run(
        cfg(),
        &[
            tcp(0, SV, 80, C, 40000, SYN | ACK, 900, b""),
            tcp(1, C, 40000, SV, 80, ACK, 101, b""),
        ],
    );
    let f = one_flow(&out);
    assert_eq!(s(f, "source.ip"), C);
    assert_eq!(s(f, "destination.ip"), SV);
    assert_eq!(n(f, "destination.port"), 80);
}

// ---- timeouts, eviction, order ----------------------------------------------------------

/// Packets of a flow, then one unrelated packet at `later_ms` to move the watermark; returns
/// the flow records seen before `finish`.
fn exported_before_finish(first: Vec<Decoded<'static>>, later_ms: i64) -> Vec<Event> {
    let mut s = Sensor::new(cfg());
    let mut out = Vec::new();
    for p in &first {
        s.process_decoded(p, &mut out);
    }
    s.process_decoded(&udp(later_ms, "10.9.9.9", 1, "10.9.9.8", 2, b""), &mut out);
    out.into_iter().filter(|e| e.dataset == "flow").collect()
}

#[test]
fn idle_timeouts_per_protocol() {
    let cases: Vec<(Vec<Decoded<'static>>, i64)> = vec![
        (vec![udp(0, C, 5000, SV, 9999, b"x")], 60_000),
        (vec![icmp(0, C, SV, 8, 0, None)], 30_000),
        (handshake(), 300_020),
        (
            vec![base(
                0,
                C,
                SV,
                50,
                Transport::Other {
                    protocol: 50,
                    payload: b"",
                },
                0,
            )],
            60_000,
        ),
    ];
    for (pkts, timeout_ms) in cases {
        let last = pkts.last().unwrap().ts;
        let last_ms = (last.unix_nanos() - at(0).unix_nanos()) / 1_000_000;
        let early = exported_before_finish(pkts.clone(), last_ms + timeout_ms - 1_000);
        assert!(early.is_empty(), "exported too early: {early:#?}");
        let due = exported_before_finish(pkts, last_ms + timeout_ms + 1_000);
        assert_eq!(due.len(), 1, "{due:#?}");
        assert_eq!(s(&due[0], "event.reason"), "idle_timeout");
    }
}

#[test]
fn tcp_close_timeout_is_short() {
    let mut p = handshake();
    p.push(tcp(30, C, 40000, SV, 80, FIN | ACK, 101, b""));
    p.push(tcp(40, SV, 80, C, 40000, FIN | ACK, 901, b""));
    assert!(exported_before_finish(p.clone(), 29_000).is_empty());
    let due = exported_before_finish(p, 31_100);
    assert_eq!(due.len(), 1);
    assert_eq!(s(&due[0], "event.reason"), "tcp_close");
    assert_eq!(s(&due[0], "mamori.flow.state"), "closed");
}

#[test]
fn port_reuse_after_close_starts_a_new_flow() {
    let mut p = handshake();
    p.push(tcp(30, C, 40000, SV, 80, RST, 101, b""));
    p.push(tcp(2000, C, 40000, SV, 80, SYN, 5555, b""));
    let (out, _) = run(cfg(), &p);
    let f = flows(&out);
    assert_eq!(f.len(), 2);
    assert_eq!(s(f[0], "event.reason"), "tcp_close");
    assert_eq!(s(f[0], "mamori.flow.state"), "reset");
    assert_eq!(s(f[1], "mamori.flow.state"), "no_reply");
}

#[test]
fn active_timeout_splits_long_flow_with_delta_counters() {
    // One UDP packet every 10 s for 12 minutes: partial records at 5 and 10 minutes.
    let pkts: Vec<Decoded<'static>> = (0..72)
        .map(|i| udp(i * 10_000, C, 5000, SV, 9999, b"abcd"))
        .collect();
    let (out, st) = run(cfg(), &pkts);
    let f = flows(&out);
    assert_eq!(f.len(), 3, "{f:#?}");
    assert_eq!(s(f[0], "event.reason"), "active_timeout");
    assert_eq!(
        f[0].to_json()["event"]["type"],
        serde_json::json!(["connection"])
    );
    assert_eq!(
        f[0].get("mamori.flow.continuing").unwrap().into_owned(),
        true.into()
    );
    assert_eq!(n(f[0], "mamori.flow.segment"), 0);
    assert_eq!(n(f[1], "mamori.flow.segment"), 1);
    assert_eq!(s(f[2], "event.reason"), "end_of_capture");
    assert_eq!(
        f[2].get("mamori.flow.continuing").unwrap().into_owned(),
        false.into()
    );
    let total: i64 = f.iter().map(|e| n(e, "source.packets")).sum();
    assert_eq!(total, 72);
    assert!(n(f[0], "source.packets") >= 30 && n(f[0], "source.packets") <= 31);
    // Same flow: same community id on every part.
    assert_eq!(
        s(f[0], "network.community_id"),
        s(f[2], "network.community_id")
    );
    assert_eq!(st.stats().partial_records, 2);
}

#[test]
fn eviction_at_capacity_takes_least_recently_active() {
    let c = SensorConfig {
        max_flows: 2,
        ..cfg()
    };
    let (out, st) = run(
        c,
        &[
            udp(0, C, 1, SV, 53, b"a"),
            udp(1, C, 2, SV, 53, b"b"),
            udp(2, C, 1, SV, 53, b"c"), // flow 1 is now the most recent
            udp(3, C, 3, SV, 53, b"d"), // evicts flow 2
        ],
    );
    let f = flows(&out);
    assert_eq!(s(f[0], "event.reason"), "evicted");
    assert_eq!(n(f[0], "source.port"), 2);
    assert_eq!(st.stats().flows_evicted, 1);
    assert_eq!(st.stats().counters().get("flow_evicted"), 1);
    assert_eq!(f.len(), 3);
}

#[test]
fn output_order_is_deterministic() {
    let mut pkts = Vec::new();
    for i in 0..200u16 {
        pkts.push(udp(i64::from(i), C, 1000 + i, SV, 53, b"q"));
        pkts.push(tcp(i64::from(i), C, 2000 + i, SV, 443, SYN, 1, b""));
    }
    pkts.push(udp(400_000, C, 9, SV, 9, b"late"));
    let a: Vec<String> = run(cfg(), &pkts)
        .0
        .iter()
        .map(|e| e.to_json().to_string())
        .collect();
    let b: Vec<String> = run(cfg(), &pkts)
        .0
        .iter()
        .map(|e| e.to_json().to_string())
        .collect();
    assert_eq!(a, b);
    // Flows expired in the same sweep come out by deadline (last packet + timeout): the UDP
    // flows (60 s) before the TCP ones (5 min), each by last packet time.
    let deadlines: Vec<i64> = run(cfg(), &pkts)
        .0
        .iter()
        .filter(|e| e.get_str("event.reason") == Some("idle_timeout"))
        .map(|e| {
            let to = if s(e, "network.transport") == "udp" {
                60
            } else {
                300
            };
            e.timestamp.unix_nanos() + to * 1_000_000_000
        })
        .collect();
    assert!(deadlines.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(deadlines.len(), 400);
}

// ---- ICMP, VLAN, direction, community id -------------------------------------------------

#[test]
fn icmp_error_is_attached_to_the_flow_it_quotes() {
    let inner = InnerTuple {
        src: ip(C),
        dst: ip(SV),
        protocol: 17,
        src_port: 5000,
        dst_port: 53,
    };
    let (out, st) = run(
        cfg(),
        &[
            udp(0, C, 5000, SV, 53, b"query"),
            icmp(1, SV, C, 3, 3, Some(inner)),
        ],
    );
    let f = one_flow(&out);
    assert_eq!(s(f, "network.transport"), "udp");
    assert_eq!(n(f, "mamori.flow.icmp_errors"), 1);
    assert_eq!(s(f, "mamori.flow.icmp_error"), "port_unreachable");
    assert_eq!(n(f, "network.packets"), 1);
    assert_eq!(st.stats().icmp_errors_attached, 1);

    // An error about an unknown flow becomes an ICMP flow of its own.
    let (out, st) = run(cfg(), &[icmp(1, SV, C, 3, 3, Some(inner))]);
    let f = one_flow(&out);
    assert_eq!(s(f, "network.transport"), "icmp");
    assert_eq!(n(f, "mamori.flow.icmp_type"), 3);
    assert_eq!(st.stats().counters().get("icmp_error_unmatched"), 1);
}

#[test]
fn icmp_echo_request_and_reply_share_a_flow() {
    let (out, _) = run(
        cfg(),
        &[
            icmp(0, "192.168.0.89", "192.168.0.1", 8, 0, None),
            icmp(1, "192.168.0.1", "192.168.0.89", 0, 0, None),
        ],
    );
    let f = one_flow(&out);
    assert_eq!(
        s(f, "network.community_id"),
        "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
    );
    assert_eq!(s(f, "mamori.flow.state"), "established");
    assert_eq!(s(f, "source.ip"), "192.168.0.89");
    assert!(f.get("source.port").is_none());
}

#[test]
fn vlan_is_part_of_the_key() {
    let mut a = udp(0, C, 5000, SV, 53, b"x");
    a.vlan = Some(10);
    let mut b = udp(1, SV, 53, C, 5000, b"y");
    b.vlan = Some(10);
    let mut c = udp(2, C, 5000, SV, 53, b"z");
    c.vlan = Some(20);
    let (out, _) = run(cfg(), &[a, b, c]);
    let f = flows(&out);
    assert_eq!(f.len(), 2);
    let v10 = f
        .iter()
        .find(|e| e.get_str("network.vlan.id") == Some("10"))
        .unwrap();
    assert_eq!(n(v10, "network.packets"), 2);
    let v20 = f
        .iter()
        .find(|e| e.get_str("network.vlan.id") == Some("20"))
        .unwrap();
    assert_eq!(n(v20, "network.packets"), 1);
}

#[test]
fn tunnel_and_macs_are_reported() {
    let mut a = udp(0, C, 5000, SV, 53, b"x");
    a.tunnel = Some(Tunnel::Vxlan { vni: 42 });
    a.src_mac = Some([0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    a.dst_mac = Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    let (out, _) = run(cfg(), &[a]);
    let f = one_flow(&out);
    assert_eq!(s(f, "network.tunnel.type"), "vxlan");
    assert_eq!(n(f, "network.tunnel.vni"), 42);
    assert_eq!(s(f, "source.mac"), "00-11-22-33-44-55");
    assert_eq!(s(f, "destination.mac"), "AA-BB-CC-DD-EE-FF");
}

#[test]
fn direction_from_home_nets() {
    let cases = [
        ("10.0.0.1", "8.8.8.8", "outbound"),
        ("8.8.8.8", "10.0.0.1", "inbound"),
        ("10.0.0.1", "10.0.0.2", "internal"),
        ("8.8.8.8", "1.1.1.1", "external"),
    ];
    for (src, dst, want) in cases {
        let (out, _) = run(cfg(), &[udp(0, src, 5000, dst, 53, b"x")]);
        assert_eq!(
            s(one_flow(&out), "network.direction"),
            want,
            "{src} -> {dst}"
        );
    }
}

#[test]
fn community_id_on_flow_records() {
    let (out, _) = run(
        cfg(),
        &[
            tcp(
                0,
                "66.35.250.204",
                80,
                "128.232.110.120",
                34855,
                SYN | ACK,
                1,
                b"",
            ),
            tcp(
                1,
                "128.232.110.120",
                34855,
                "66.35.250.204",
                80,
                ACK,
                1,
                b"",
            ),
        ],
    );
    assert_eq!(
        s(one_flow(&out), "network.community_id"),
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    );
}

// ---- L7 dispatch and reassembly (with a test protocol) -----------------------------------

/// Test protocol "lines": starts with `HELO`; emits one record per `\n`-terminated line.
struct Lines {
    buf: [Vec<u8>; 2],
    lines: usize,
    gaps: usize,
    transport: AppTransport,
    counters: Counters,
}

impl Dissector for Lines {
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if data.starts_with(b"BOGUS") {
            self.counters.incr("lines_bogus");
            return Progress::NotThisProtocol;
        }
        let b = &mut self.buf[crate::l7::dir_index(dir)];
        b.extend_from_slice(data);
        while let Some(pos) = b.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = b.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            self.lines += 1;
            let mut fields = Fields::new();
            fields.insert("test.line".into(), text.clone().into());
            fields.insert(
                "test.dir".into(),
                if dir == Dir::ToServer { "up" } else { "down" }.into(),
            );
            out.push(Record {
                dataset: "lines",
                ts,
                fields,
            });
            if text == "QUIT" {
                return Progress::Done;
            }
        }
        Progress::Continue
    }
    fn gap(&mut self, _dir: Dir, _len: usize) {
        self.gaps += 1;
        self.counters.incr_with_sample("gap", || "first gap".into());
    }
    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        let mut fields = Fields::new();
        fields.insert("test.gaps".into(), self.gaps.into());
        let t = match self.transport {
            AppTransport::Tcp => "tcp",
            AppTransport::Udp => "udp",
        };
        fields.insert("test.transport".into(), t.into());
        out.push(Record {
            dataset: "lines_end",
            ts,
            fields,
        });
    }
    fn flow_fields(&self, fields: &mut Fields) {
        fields.insert("test.lines".into(), self.lines.into());
    }
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
}

fn probe(_m: &FlowMeta, _d: Dir, data: &[u8]) -> Probe {
    let n = data.len().min(4);
    if data.len() >= 4 && data.starts_with(b"HELO") {
        Probe::Yes
    } else if data[..n] == b"HELO"[..n] {
        Probe::Maybe
    } else {
        Probe::No
    }
}

fn new_lines(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(Lines {
        buf: [Vec::new(), Vec::new()],
        lines: 0,
        gaps: 0,
        transport: meta.transport,
        counters: Counters::new(),
    })
}

static LINES: ProtocolDef = ProtocolDef {
    name: "lines",
    transports: &[AppTransport::Tcp, AppTransport::Udp],
    default_ports: &[7000],
    probe,
    new: Some(new_lines),
};

fn test_identify(meta: &FlowMeta, dir: Dir, data: &[u8]) -> Identified {
    match probe(meta, dir, data) {
        Probe::Yes => Identified::Protocol(&LINES),
        Probe::Maybe => Identified::NeedMore,
        Probe::No => Identified::Unknown,
    }
}

fn run_l7(c: SensorConfig, pkts: &[Decoded<'_>]) -> (Vec<Event>, Sensor) {
    let mut s = Sensor::new(c);
    s.engine.identify = test_identify;
    let mut out = Vec::new();
    for p in pkts {
        s.process_decoded(p, &mut out);
    }
    s.finish(&mut out);
    (out, s)
}

fn lines(out: &[Event]) -> Vec<(String, String)> {
    out.iter()
        .filter(|e| e.dataset == "lines")
        .map(|e| (s(e, "test.dir").to_owned(), s(e, "test.line").to_owned()))
        .collect()
}

fn hs(port: u16) -> Vec<Decoded<'static>> {
    vec![
        tcp(0, C, 40000, SV, port, SYN, 99, b""),
        tcp(1, SV, port, C, 40000, SYN | ACK, 499, b""),
        tcp(2, C, 40000, SV, port, ACK, 100, b""),
    ]
}

#[test]
fn reassembly_out_of_order_and_retransmission_reach_dissector_in_order() {
    let mut p = hs(7000);
    // Client stream "HELO a\nline2\n" (seq 100..): split, reordered, one retransmission.
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 107, b"line2\n"));
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 100, b"HELO a\n"));
    p.push(tcp(5, C, 40000, SV, 7000, ACK, 100, b"HELO a\n"));
    p.push(tcp(6, SV, 7000, C, 40000, ACK, 500, b"ok\n"));
    let (out, st) = run_l7(cfg(), &p);
    assert_eq!(
        lines(&out),
        vec![
            ("up".into(), "HELO a".into()),
            ("up".into(), "line2".into()),
            ("down".into(), "ok".into())
        ]
    );
    let f = one_flow(&out);
    assert_eq!(s(f, "network.protocol"), "lines");
    assert_eq!(n(f, "test.lines"), 3);
    assert!(f.get("mamori.flow.nonstandard_port").is_none());
    assert_eq!(st.stats().reassembly.retransmit, 1);
    assert_eq!(st.stats().l7.protocols.get("lines"), Some(&1));
    // Protocol records carry the flow context.
    let r = out.iter().find(|e| e.dataset == "lines").unwrap();
    assert_eq!(s(r, "source.ip"), C);
    assert_eq!(n(r, "destination.port"), 7000);
    assert_eq!(s(r, "network.protocol"), "lines");
    assert_eq!(s(r, "network.community_id"), s(f, "network.community_id"));
    assert_eq!(s(r, "network.direction"), "outbound");
}

#[test]
fn gap_at_buffer_limit_is_reported_to_dissector() {
    let c = SensorConfig {
        reassembly_ooo_bytes: 8,
        ..cfg()
    };
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"HELO\n"));
    // Bytes 105..110 are lost; 15 bytes arrive beyond them, more than the 8-byte buffer.
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 110, b"abc\n"));
    p.push(tcp(5, C, 40000, SV, 7000, ACK, 114, b"defgh\n"));
    p.push(tcp(6, C, 40000, SV, 7000, ACK, 120, b"ijklm\n"));
    let (out, st) = run_l7(c, &p);
    let l = lines(&out);
    assert_eq!(l.first().unwrap().1, "HELO");
    assert!(l.iter().any(|x| x.1 == "ijklm"), "{l:?}");
    assert_eq!(st.stats().reassembly.gaps, 1);
    assert_eq!(st.stats().reassembly.gap_bytes, 5);
    let end = out.iter().find(|e| e.dataset == "lines_end").unwrap();
    assert_eq!(n(end, "test.gaps"), 1);
}

#[test]
fn dissector_counters_are_merged_per_protocol_when_the_flow_ends() {
    let c = SensorConfig {
        reassembly_ooo_bytes: 8,
        ..cfg()
    };
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"HELO\n"));
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 110, b"abc\n"));
    p.push(tcp(5, C, 40000, SV, 7000, ACK, 114, b"defgh\n"));
    p.push(tcp(6, C, 40000, SV, 7000, ACK, 120, b"ijklm\n"));
    let (_, st) = run_l7(c, &p);
    let counters = st.stats().counters();
    assert_eq!(counters.get("lines.gap"), 1);
    assert_eq!(st.stats().l7.dissectors.get("lines.gap"), 1);
    let sample = counters
        .iter()
        .find(|(k, _)| *k == "lines.gap")
        .and_then(|(_, c)| c.sample.clone());
    assert_eq!(sample.as_deref(), Some("first gap"));
}

#[test]
fn dissector_counters_survive_not_this_protocol_and_lose_a_redundant_prefix() {
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"HELO\n"));
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 105, b"BOGUS\n"));
    let (_, st) = run_l7(cfg(), &p);
    // `lines_bogus` of protocol `lines` is reported as `lines.bogus`.
    assert_eq!(st.stats().counters().get("lines.bogus"), 1);
    assert_eq!(st.stats().counters().get("lines.lines_bogus"), 0);
}

#[test]
fn dissectors_are_told_the_transport_of_their_flow() {
    let (out, _) = run_l7(cfg(), &[udp(0, C, 5000, SV, 7000, b"HELO\n")]);
    let end = out.iter().find(|e| e.dataset == "lines_end").unwrap();
    assert_eq!(s(end, "test.transport"), "udp");
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"HELO\n"));
    let (out, _) = run_l7(cfg(), &p);
    let end = out.iter().find(|e| e.dataset == "lines_end").unwrap();
    assert_eq!(s(end, "test.transport"), "tcp");
}

#[test]
fn gap_at_flow_end_is_flushed() {
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"HELO\n"));
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 200, b"tail\n"));
    let (out, st) = run_l7(cfg(), &p);
    assert_eq!(lines(&out).last().unwrap().1, "tail");
    assert_eq!(st.stats().reassembly.gap_bytes, 95);
}

#[test]
fn identification_needs_more_then_succeeds_and_replays() {
    let mut p = hs(7001);
    p.push(tcp(3, C, 40000, SV, 7001, ACK, 100, b"HE"));
    p.push(tcp(4, C, 40000, SV, 7001, ACK, 102, b"LO x\n"));
    let (out, _) = run_l7(cfg(), &p);
    assert_eq!(lines(&out), vec![("up".into(), "HELO x".into())]);
    let f = one_flow(&out);
    assert_eq!(s(f, "network.protocol"), "lines");
    assert_eq!(
        f.get("mamori.flow.nonstandard_port").unwrap().into_owned(),
        true.into()
    );
}

#[test]
fn unknown_after_limits_and_not_this_protocol() {
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"SSH-2.0\r\n"));
    let (out, st) = run_l7(cfg(), &p);
    assert_eq!(s(one_flow(&out), "network.protocol"), "unknown");
    assert!(lines(&out).is_empty());
    assert_eq!(st.stats().l7.protocols.get("unknown"), Some(&1));

    // Rejected before any record: the flow is `unknown`.
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"HELO"));
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 104, b"BOGUS\n"));
    p.push(tcp(5, C, 40000, SV, 7000, ACK, 110, b"more\n"));
    let (out, st) = run_l7(cfg(), &p);
    assert_eq!(s(one_flow(&out), "network.protocol"), "unknown");
    assert!(lines(&out).is_empty());
    assert_eq!(st.stats().counters().get("dissector_not_this_protocol"), 1);
    assert_eq!(st.stats().counters().get("dissector_late_reject"), 0);
}

#[test]
fn rejection_after_records_keeps_the_protocol_and_stops_dissection() {
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"HELO\n"));
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 105, b"BOGUS\n"));
    p.push(tcp(5, C, 40000, SV, 7000, ACK, 111, b"more\n"));
    let (out, st) = run_l7(cfg(), &p);
    assert_eq!(s(one_flow(&out), "network.protocol"), "lines");
    // Nothing after the rejection is dissected.
    assert_eq!(lines(&out).len(), 1);
    assert_eq!(st.stats().counters().get("dissector_late_reject"), 1);
    assert_eq!(st.stats().counters().get("dissector_not_this_protocol"), 0);
}

#[test]
fn udp_datagrams_are_fed_whole_and_done_stops_feeding() {
    let (out, _) = run_l7(
        cfg(),
        &[
            udp(0, C, 5000, SV, 7000, b"HELO\n"),
            udp(1, SV, 7000, C, 5000, b"hi\n"),
            udp(2, C, 5000, SV, 7000, b"QUIT\n"),
            udp(3, C, 5000, SV, 7000, b"ignored\n"),
        ],
    );
    let l: Vec<String> = lines(&out).into_iter().map(|x| x.1).collect();
    assert_eq!(l, vec!["HELO", "hi", "QUIT"]);
}

#[test]
fn per_flow_byte_limit_stops_dissector() {
    let c = SensorConfig {
        l7_max_bytes: 12,
        ..cfg()
    };
    let (out, st) = run_l7(
        c,
        &[
            udp(0, C, 5000, SV, 7000, b"HELO\n"),
            udp(1, C, 5000, SV, 7000, b"abcdef\n"),
            udp(2, C, 5000, SV, 7000, b"xyz\n"),
        ],
    );
    let l: Vec<String> = lines(&out).into_iter().map(|x| x.1).collect();
    assert_eq!(l, vec!["HELO", "abcdef"]);
    assert_eq!(st.stats().counters().get("l7_byte_limit"), 1);
}

// ---- robustness, memory -------------------------------------------------------------------

#[test]
fn garbage_frames_are_counted_not_fatal() {
    let mut s = Sensor::new(cfg());
    let mut out = Vec::new();
    for i in 0..50u8 {
        let data = vec![i; usize::from(i)];
        let pkt = RawPacket {
            ts: at(i64::from(i)),
            linktype: LinkType(u16::from(i)),
            data: &data,
            orig_len: u32::from(i),
            interface: 0,
        };
        s.process(&pkt, &mut out);
    }
    s.finish(&mut out);
    assert_eq!(s.stats().packets, 50);
    assert_eq!(
        s.stats().decoded + s.stats().skipped.total(),
        50,
        "{:?}",
        s.stats()
    );
}

#[test]
fn flow_state_fits_in_one_kib() {
    // Also a compile-time assertion in `table`; printed for the record.
    let size = std::hint::black_box(crate::FLOW_STATE_SIZE);
    eprintln!("flow state: {size} bytes");
    assert!(size <= 1024, "{size}");
}

#[test]
fn buffers_are_released_when_flows_end() {
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"HELO\n"));
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 300, b"later\n"));
    let mut s = Sensor::new(cfg());
    s.engine.identify = test_identify;
    let mut out = Vec::new();
    for x in &p {
        s.process_decoded(x, &mut out);
    }
    assert_eq!(s.buffered_bytes(), 6);
    s.finish(&mut out);
    assert_eq!(s.buffered_bytes(), 0);
    assert_eq!(s.active_flows(), 0);
    assert_eq!(s.stats().active_flows, 0);
}

#[test]
fn timestamps_going_backwards_do_not_break_expiry() {
    let (out, _) = run(
        cfg(),
        &[
            udp(100_000, C, 1, SV, 2, b"a"),
            udp(0, C, 1, SV, 2, b"b"),
            udp(50, C, 3, SV, 4, b"c"),
        ],
    );
    let f = flows(&out);
    assert_eq!(f.len(), 2);
    assert_eq!(n(f[0], "network.packets") + n(f[1], "network.packets"), 3);
    let _ = Duration::ZERO;
}

#[test]
fn state_is_cumulative_across_partial_records() {
    let mut p = handshake();
    // Only the client talks for the next 6 minutes (keep-alives every 20 s).
    for i in 1..=18u32 {
        p.push(tcp(i64::from(i) * 20_000, C, 40000, SV, 80, ACK, 101, b""));
    }
    let (out, _) = run(cfg(), &p);
    let f = flows(&out);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(n(f[1], "destination.packets"), 0);
    assert_eq!(s(f[1], "mamori.flow.state"), "established");
    assert_eq!(
        f[1].get("mamori.flow.first_seen").unwrap().into_owned(),
        at(0).into()
    );
}

#[test]
fn data_on_syn_is_not_a_retransmission() {
    let p = vec![
        tcp(0, C, 40000, SV, 7000, SYN, 99, b"HELO fast\n"),
        tcp(1, SV, 7000, C, 40000, SYN | ACK, 499, b""),
    ];
    let (out, st) = run_l7(cfg(), &p);
    assert_eq!(lines(&out), vec![("up".into(), "HELO fast".into())]);
    assert_eq!(st.stats().reassembly.retransmit, 0);
}

/// End to end with the real protocol registry: HTTP is identified on a standard port.
#[test]
fn real_registry_identifies_http() {
    if mamori_proto::app::by_name("http").is_none() {
        return; // the registry does not list HTTP (yet): nothing to check against
    }
    let mut p = hs(80);
    p.push(tcp(
        3,
        C,
        40000,
        SV,
        80,
        ACK | PSH,
        100,
        b"GET /index.html HTTP/1.1\r\nHost: example.jp\r\n\r\n",
    ));
    p.push(tcp(
        4,
        SV,
        80,
        C,
        40000,
        ACK | PSH,
        500,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ));
    let (out, st) = run(cfg(), &p);
    let f = flows(&out)[0];
    assert_eq!(s(f, "network.protocol"), "http");
    assert!(f.get("mamori.flow.nonstandard_port").is_none());
    assert_eq!(st.stats().l7.protocols.get("http"), Some(&1));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn pkt(ms: i64, h: (u8, u8, u32, u8), payload: &[u8]) -> Decoded<'_> {
        let (kind, ends, seq, flags) = h;
        let hosts = ["10.0.0.1", "10.0.0.2", "192.0.2.3"];
        let src = hosts[usize::from(ends % 3)];
        let dst = hosts[usize::from((ends / 3) % 3)];
        let sp = 7000 + u16::from(ends >> 6);
        let dp = 7000 + u16::from((ends >> 4) & 3);
        match kind % 3 {
            0 => tcp(ms, src, sp, dst, dp, flags, seq % 4096, payload),
            1 => udp(ms, src, sp, dst, dp, payload),
            _ => icmp(ms, src, dst, flags % 16, 0, None),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Arbitrary packet sequences: no panic, bounded table and buffers, and every packet
        /// is counted in exactly one flow record.
        #[test]
        fn packets_are_conserved(
            seq in proptest::collection::vec(
                ((any::<u8>(), any::<u8>(), any::<u32>(), any::<u8>()), -2000i64..90_000, proptest::collection::vec(
                    prop_oneof![Just(b'H'), Just(b'E'), Just(b'L'), Just(b'O'), Just(b'\n'), any::<u8>()], 0..40)),
                1..120)
        ) {
            let c = SensorConfig { max_flows: 8, reassembly_ooo_bytes: 64, l7_max_bytes: 256, ..cfg() };
            let mut s = Sensor::new(c);
            s.engine.identify = test_identify;
            let mut out = Vec::new();
            let mut ms = 0i64;
            for (h, dt, payload) in &seq {
                ms += dt;
                let mut payload = payload.clone();
                if h.0 % 5 == 0 {
                    payload.splice(0..0, b"HELO".iter().copied());
                }
                s.process_decoded(&pkt(ms, *h, &payload), &mut out);
                prop_assert!(s.active_flows() <= 8);
                prop_assert!(s.buffered_bytes() <= 8 * (2 * 64 + 2 * 4096));
            }
            s.finish(&mut out);
            prop_assert_eq!(s.active_flows(), 0);
            let total: i64 = out.iter().filter(|e| e.dataset == "flow").map(|e| n(e, "network.packets")).sum();
            prop_assert_eq!(total as usize, seq.len());
        }
    }
}

#[test]
fn other_direction_can_identify_and_both_streams_are_replayed() {
    let mut p = hs(7000);
    p.push(tcp(3, C, 40000, SV, 7000, ACK, 100, b"xy\n"));
    p.push(tcp(4, C, 40000, SV, 7000, ACK, 103, b"zz\n"));
    p.push(tcp(5, SV, 7000, C, 40000, ACK, 500, b"HELO srv\n"));
    let (out, _) = run_l7(cfg(), &p);
    assert_eq!(
        lines(&out),
        vec![
            ("up".into(), "xy".into()),
            ("up".into(), "zz".into()),
            ("down".into(), "HELO srv".into())
        ]
    );
}

/// Ethernet + IPv4 + UDP frame built by hand (IPv4 header checksum computed, UDP checksum 0).
fn eth_udp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    let sum = (sum & 0xffff) + (sum >> 16);
    let csum = !((sum & 0xffff) + (sum >> 16)) as u16;
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn raw_frames_through_the_decoder() {
    let a = eth_udp([10, 0, 0, 5], [192, 0, 2, 53], 40000, 5353, b"ping");
    let b = eth_udp([192, 0, 2, 53], [10, 0, 0, 5], 5353, 40000, b"pong!");
    let mut sensor = Sensor::new(cfg());
    let mut out = Vec::new();
    for (i, f) in [&a, &b].into_iter().enumerate() {
        let pkt = RawPacket {
            ts: at(i as i64),
            linktype: LinkType::ETHERNET,
            data: f,
            orig_len: f.len() as u32,
            interface: 0,
        };
        sensor.process(&pkt, &mut out);
    }
    // A truncated frame is counted, not fatal.
    let cut = RawPacket {
        ts: at(3),
        linktype: LinkType::ETHERNET,
        data: &a[..20],
        orig_len: 20,
        interface: 0,
    };
    sensor.process(&cut, &mut out);
    sensor.finish(&mut out);
    let f = one_flow(&out);
    assert_eq!(s(f, "source.ip"), "10.0.0.5");
    assert_eq!(n(f, "destination.port"), 5353);
    assert_eq!(n(f, "network.packets"), 2);
    assert_eq!(n(f, "source.bytes"), 32);
    assert_eq!(n(f, "mamori.flow.destination_payload_bytes"), 5);
    assert_eq!(s(f, "source.mac"), "02-00-00-00-00-01");
    assert_eq!(s(f, "mamori.flow.state"), "established");
    assert_eq!(sensor.stats().packets, 3);
    assert_eq!(sensor.stats().decoded, 2);
    assert_eq!(sensor.stats().skipped.total(), 1);
    assert_eq!(
        sensor.stats().counters().total(),
        1,
        "{:?}",
        sensor.stats().counters()
    );
}

#[test]
fn records_and_flows_carry_ecs_categorisation_and_observer() {
    let c = SensorConfig {
        observer_name: Some("sensor-01".into()),
        ..cfg()
    };
    let (out, _) = run_l7(c, &[udp(0, C, 5000, SV, 7000, b"HELO\n")]);
    let rec = out.iter().find(|e| e.dataset == "lines").unwrap();
    assert_eq!(
        rec.get("event.category").unwrap().into_owned(),
        vec!["network"].into()
    );
    assert_eq!(
        rec.get("event.type").unwrap().into_owned(),
        vec!["protocol"].into()
    );
    assert_eq!(s(rec, "observer.type"), "sensor");
    assert_eq!(s(rec, "observer.name"), "sensor-01");
    let f = one_flow(&out);
    assert_eq!(
        f.get("event.category").unwrap().into_owned(),
        vec!["network"].into()
    );
    assert_eq!(
        f.get("event.type").unwrap().into_owned(),
        vec!["connection", "end"].into()
    );
    assert_eq!(s(f, "observer.name"), "sensor-01");
    // Without a configured name the field is omitted, the type stays.
    let (out, _) = run_l7(cfg(), &[udp(0, C, 5000, SV, 7000, b"HELO\n")]);
    let f = one_flow(&out);
    assert!(f.get("observer.name").is_none());
    assert_eq!(s(f, "observer.type"), "sensor");
}
