//! The flow table: lookup, per-flow state, timeouts on an event-time watermark, eviction,
//! export ordering.
//!
//! Flows live in a slab indexed by `u32`; a hash map from [`FlowKey`] to slot finds them.
//! Every flow sits on two intrusive lists: the idle list of its timeout class (ordered by the
//! watermark at its last packet, so the oldest is at the head) and the active list (ordered
//! by the start of its current record period). Expiry pops from list heads, so the work is
//! proportional to what expires; eviction takes the least recently active head.

use std::collections::HashMap;

use mamori_core::{Duration, Event, Timestamp, Value};
use mamori_proto::app::{Dir, FlowMeta, Record, Transport as AppTransport};
use mamori_proto::packet::{Decoded, TcpFlags, Transport, Tunnel};

use crate::config::SensorConfig;
use crate::key::{
    self, FlowKey, PROTO_GRE, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP,
};
use crate::l7::{App, Ctx, IdentifyFn, L7};
use crate::SensorStats;

/// How often, in event time, the table looks for flows to expire.
pub const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_secs(1);

const NIL: u32 = u32::MAX;

/// Why a flow record was exported (`event.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExportReason {
    /// No packet for the idle timeout of its protocol.
    IdleTimeout,
    /// Long flow: partial record, the flow continues.
    ActiveTimeout,
    /// TCP flow closed (FIN/RST) and its closing timeout passed, or the port was reused.
    TcpClose,
    /// Removed to make room in a full table.
    Evicted,
    /// End of input.
    EndOfCapture,
}

impl ExportReason {
    /// The `event.reason` text.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportReason::IdleTimeout => "idle_timeout",
            ExportReason::ActiveTimeout => "active_timeout",
            ExportReason::TcpClose => "tcp_close",
            ExportReason::Evicted => "evicted",
            ExportReason::EndOfCapture => "end_of_capture",
        }
    }
}

/// Timeout classes (one idle list each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    TcpOpen = 0,
    TcpClosed = 1,
    Udp = 2,
    Icmp = 3,
    Other = 4,
}
const N_CLASSES: usize = 5;
const CLASSES: [Class; N_CLASSES] = [
    Class::TcpOpen,
    Class::TcpClosed,
    Class::Udp,
    Class::Icmp,
    Class::Other,
];

fn class_of_proto(proto: u8) -> Class {
    match proto {
        PROTO_TCP => Class::TcpOpen,
        PROTO_UDP => Class::Udp,
        PROTO_ICMP | PROTO_ICMPV6 => Class::Icmp,
        _ => Class::Other,
    }
}

fn timeout(cfg: &SensorConfig, c: Class) -> Duration {
    match c {
        Class::TcpOpen => cfg.tcp_timeout,
        Class::TcpClosed => cfg.tcp_closed_timeout,
        Class::Udp => cfg.udp_timeout,
        Class::Icmp => cfg.icmp_timeout,
        Class::Other => cfg.other_timeout,
    }
}

#[derive(Debug, Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
}
const UNLINKED: Link = Link {
    prev: NIL,
    next: NIL,
};

#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}
const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

#[derive(Debug, Clone, Copy, Default)]
struct DirCount {
    packets: u64,
    bytes: u64,
    payload: u64,
}

// Handshake / teardown bits.
const H_SYN: u16 = 1 << 0; // SYN without ACK from the client
const H_SYNACK: u16 = 1 << 1; // SYN+ACK from the server
const H_ACK: u16 = 1 << 2; // ACK from the client after the SYN+ACK
const H_FIN_C: u16 = 1 << 3;
const H_FIN_S: u16 = 1 << 4;
const H_RST_C: u16 = 1 << 5;
const H_RST_S: u16 = 1 << 6;
const H_SEEN_C: u16 = 1 << 7; // any packet from the client
const H_SEEN_S: u16 = 1 << 8; // any packet from the server

/// State of one flow. Index 0 of the per-side arrays is the client, 1 the server.
pub(crate) struct Flow {
    key: FlowKey,
    client_is_a: bool,
    class: Class,
    hs: u16,
    flags: [u8; 2],
    isn: [Option<u32>; 2],
    first_seen: Timestamp,
    last_seen: Timestamp,
    seg_start: Timestamp,
    last_touch: Timestamp,
    active_start: Timestamp,
    cnt: [DirCount; 2],
    macs: [Option<[u8; 6]>; 2],
    tunnel: Option<Tunnel>,
    icmp: Option<(u8, u8)>,
    icmp_errors: u32,
    icmp_last_error: Option<(bool, u8, u8)>,
    segment: u32,
    idle: Link,
    act: Link,
    app: App,
    l7: Option<Box<L7>>,
}

/// Size in bytes of the per-flow state kept in the table (excluding L7 buffers in flight).
pub const FLOW_STATE_SIZE: usize =
    std::mem::size_of::<Option<Flow>>() + std::mem::size_of::<(FlowKey, u32)>();
/// Hash map overhead aside, a flow must stay within 1 KiB.
const _: () = assert!(FLOW_STATE_SIZE <= 1024);

#[derive(Clone, Copy)]
enum Which {
    Idle,
    Active,
}

fn link(slab: &mut [Option<Flow>], idx: u32, w: Which) -> Option<&mut Link> {
    let f = slab.get_mut(idx as usize)?.as_mut()?;
    Some(match w {
        Which::Idle => &mut f.idle,
        Which::Active => &mut f.act,
    })
}

fn push_back(slab: &mut [Option<Flow>], list: &mut List, idx: u32, w: Which) {
    let tail = list.tail;
    if let Some(l) = link(slab, idx, w) {
        l.prev = tail;
        l.next = NIL;
    } else {
        return;
    }
    if tail == NIL {
        list.head = idx;
    } else if let Some(l) = link(slab, tail, w) {
        l.next = idx;
    }
    list.tail = idx;
}

fn unlink(slab: &mut [Option<Flow>], list: &mut List, idx: u32, w: Which) {
    let Some(l) = link(slab, idx, w) else {
        return;
    };
    let (prev, next) = (l.prev, l.next);
    *l = UNLINKED;
    if prev == NIL {
        list.head = next;
    } else if let Some(l) = link(slab, prev, w) {
        l.next = next;
    }
    if next == NIL {
        list.tail = prev;
    } else if let Some(l) = link(slab, next, w) {
        l.prev = prev;
    }
}

type Map = HashMap<FlowKey, u32, foldhash::fast::RandomState>;

/// The flow table and L7 dispatch, fed decoded packets.
pub(crate) struct Engine {
    pub cfg: SensorConfig,
    pub stats: SensorStats,
    map: Map,
    slab: Vec<Option<Flow>>,
    free: Vec<u32>,
    idle: [List; N_CLASSES],
    active: List,
    watermark: Timestamp,
    started: bool,
    next_check: Timestamp,
    records: Vec<Record>,
    pub identify: IdentifyFn,
    due: Vec<(Timestamp, FlowKey, u32, ExportReason)>,
}

fn tcp_flag_letters(f: u8) -> String {
    const LETTERS: [(u8, char); 8] = [
        (TcpFlags::FIN, 'F'),
        (TcpFlags::SYN, 'S'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::ACK, 'A'),
        (TcpFlags::URG, 'U'),
        (TcpFlags::ECE, 'E'),
        (TcpFlags::CWR, 'C'),
    ];
    LETTERS
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, c)| *c)
        .collect()
}

fn mac_string(m: [u8; 6]) -> String {
    format!(
        "{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// ECS `network.transport` for an IP protocol number.
pub fn transport_name(proto: u8) -> String {
    match proto {
        PROTO_TCP => "tcp".into(),
        PROTO_UDP => "udp".into(),
        PROTO_ICMP => "icmp".into(),
        PROTO_ICMPV6 => "ipv6-icmp".into(),
        PROTO_GRE => "gre".into(),
        PROTO_SCTP => "sctp".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        2 => "igmp".into(),
        89 => "ospf".into(),
        103 => "pim".into(),
        112 => "vrrp".into(),
        n => n.to_string(),
    }
}

/// Name of an ICMP/ICMPv6 error type and code (`port_unreachable`, `ttl_exceeded`, …).
pub fn icmp_error_name(v6: bool, t: u8, c: u8) -> String {
    let s = if v6 {
        match (t, c) {
            (1, 0) => "no_route",
            (1, 1) => "admin_prohibited",
            (1, 2) => "beyond_scope",
            (1, 3) => "address_unreachable",
            (1, 4) => "port_unreachable",
            (1, 5) => "source_policy_failed",
            (1, 6) => "reject_route",
            (1, _) => "destination_unreachable",
            (2, _) => "packet_too_big",
            (3, 0) => "hop_limit_exceeded",
            (3, _) => "reassembly_time_exceeded",
            (4, _) => "parameter_problem",
            _ => return format!("type_{t}_code_{c}"),
        }
    } else {
        match (t, c) {
            (3, 0) => "net_unreachable",
            (3, 1) => "host_unreachable",
            (3, 2) => "protocol_unreachable",
            (3, 3) => "port_unreachable",
            (3, 4) => "fragmentation_needed",
            (3, 5) => "source_route_failed",
            (3, 6) => "net_unknown",
            (3, 7) => "host_unknown",
            (3, 9) | (3, 10) | (3, 13) => "admin_prohibited",
            (3, _) => "destination_unreachable",
            (4, _) => "source_quench",
            (5, _) => "redirect",
            (11, 0) => "ttl_exceeded",
            (11, _) => "reassembly_time_exceeded",
            (12, _) => "parameter_problem",
            _ => return format!("type_{t}_code_{c}"),
        }
    };
    s.to_owned()
}

impl Flow {
    fn client_ip(&self) -> std::net::IpAddr {
        if self.client_is_a {
            self.key.a_ip()
        } else {
            self.key.b_ip()
        }
    }
    fn server_ip(&self) -> std::net::IpAddr {
        if self.client_is_a {
            self.key.b_ip()
        } else {
            self.key.a_ip()
        }
    }
    fn client_port(&self) -> u16 {
        if self.client_is_a {
            self.key.a_port
        } else {
            self.key.b_port
        }
    }
    fn server_port(&self) -> u16 {
        if self.client_is_a {
            self.key.b_port
        } else {
            self.key.a_port
        }
    }
    fn has_ports(&self) -> bool {
        matches!(self.key.proto, PROTO_TCP | PROTO_UDP | PROTO_SCTP)
    }

    /// `mamori.flow.state`.
    fn state(&self) -> &'static str {
        // Cumulative over partial records (counters are deltas, state is not).
        let one_way = self.hs & H_SEEN_C == 0 || self.hs & H_SEEN_S == 0;
        if self.key.proto != PROTO_TCP {
            return if one_way { "no_reply" } else { "established" };
        }
        let h = self.hs;
        let has = |b: u16| h & b != 0;
        if has(H_SYN) && has(H_RST_S) && !has(H_SYNACK) {
            "rejected"
        } else if one_way {
            "no_reply"
        } else if has(H_SYN) && has(H_SYNACK) && !has(H_ACK) {
            // The handshake never completed: a SYN-ACK answered by RST (a SYN scan of an
            // open port) or by nothing.
            "half_open"
        } else if has(H_RST_C) || has(H_RST_S) {
            "reset"
        } else if has(H_FIN_C) && has(H_FIN_S) {
            "closed"
        } else if has(H_SYN) && has(H_SYNACK) && has(H_ACK) {
            "established"
        } else if has(H_SYN) && has(H_SYNACK) {
            "half_open"
        } else {
            "midstream"
        }
    }

    fn protocol_name(&self) -> Option<&'static str> {
        match self.app {
            App::Known(p) => Some(p.name),
            App::Unknown => Some("unknown"),
            App::Pending => None,
        }
    }

    /// Fields shared by the flow record and protocol records.
    fn common_fields(&self, cfg: &SensorConfig, ev: &mut Event) {
        let (cip, sip) = (self.client_ip(), self.server_ip());
        ev.set("source.ip", cip).set("destination.ip", sip);
        if self.has_ports() {
            ev.set("source.port", self.client_port())
                .set("destination.port", self.server_port());
        }
        if let Some(m) = self.macs[0] {
            ev.set("source.mac", mac_string(m));
        }
        if let Some(m) = self.macs[1] {
            ev.set("destination.mac", mac_string(m));
        }
        ev.set("network.transport", transport_name(self.key.proto))
            .set("network.iana_number", self.key.proto.to_string())
            .set("network.community_id", self.key.community_id())
            .set(
                "network.direction",
                cfg.home_nets.direction(cip, sip).as_str(),
            );
        if let Some(p) = self.protocol_name() {
            ev.set("network.protocol", p);
        }
        ev.set_opt("network.vlan.id", self.key.vlan.map(|v| v.to_string()));
        ev.set_opt(
            "network.inner.vlan.id",
            self.key.inner_vlan.map(|v| v.to_string()),
        );
        match self.tunnel {
            Some(Tunnel::Gre) => {
                ev.set("network.tunnel.type", "gre");
            }
            Some(Tunnel::Vxlan { vni }) => {
                ev.set("network.tunnel.type", "vxlan")
                    .set("network.tunnel.vni", vni);
            }
            None => {}
        }
        ev.set("observer.type", "sensor");
        if let Some(o) = &cfg.observer_name {
            ev.set("observer.name", o.as_str());
        }
    }

    fn flow_event(&self, cfg: &SensorConfig, reason: ExportReason, fin: bool) -> Event {
        let end = self.last_seen;
        let any = self.cnt[0].packets + self.cnt[1].packets > 0;
        let start = if any { self.seg_start } else { end };
        let mut ev = Event::new(end, "flow");
        self.common_fields(cfg, &mut ev);
        let types: Vec<Value> = if fin {
            vec!["connection".into(), "end".into()]
        } else {
            vec!["connection".into()]
        };
        ev.set("event.category", vec!["network"])
            .set("event.type", Value::List(types))
            .set("event.reason", reason.as_str())
            .set("event.start", start)
            .set("event.end", end)
            .set("event.duration", (end - start).as_nanos().max(0));
        let [c, s] = self.cnt;
        ev.set("source.bytes", c.bytes)
            .set("source.packets", c.packets)
            .set("destination.bytes", s.bytes)
            .set("destination.packets", s.packets)
            .set("network.bytes", c.bytes + s.bytes)
            .set("network.packets", c.packets + s.packets)
            .set("mamori.flow.source_payload_bytes", c.payload)
            .set("mamori.flow.destination_payload_bytes", s.payload)
            .set("mamori.flow.state", self.state());
        if self.key.proto == PROTO_TCP {
            ev.set(
                "mamori.flow.tcp_flags",
                tcp_flag_letters(self.flags[0] | self.flags[1]),
            )
            .set(
                "mamori.flow.source_tcp_flags",
                tcp_flag_letters(self.flags[0]),
            )
            .set(
                "mamori.flow.destination_tcp_flags",
                tcp_flag_letters(self.flags[1]),
            );
        }
        if let Some((t, code)) = self.icmp {
            ev.set("mamori.flow.icmp_type", t)
                .set("mamori.flow.icmp_code", code);
        }
        if self.icmp_errors > 0 {
            ev.set("mamori.flow.icmp_errors", self.icmp_errors);
            if let Some((v6, t, c)) = self.icmp_last_error {
                ev.set("mamori.flow.icmp_error", icmp_error_name(v6, t, c));
            }
        }
        if let App::Known(p) = self.app {
            if !p.default_ports.is_empty() && !p.default_ports.contains(&self.server_port()) {
                ev.set("mamori.flow.nonstandard_port", true);
            }
        }
        if !fin || self.segment > 0 {
            ev.set("mamori.flow.continuing", !fin)
                .set("mamori.flow.segment", self.segment)
                .set("mamori.flow.first_seen", self.first_seen);
        }
        if fin {
            if let Some(l7) = &self.l7 {
                l7.flow_fields(&mut ev.fields);
            }
        }
        ev
    }

    fn record_event(&self, cfg: &SensorConfig, r: Record) -> Event {
        let mut ev = Event::new(r.ts, r.dataset);
        ev.fields = r.fields;
        self.common_fields(cfg, &mut ev);
        crate::ecs::categorise(&mut ev);
        ev
    }
}

impl Engine {
    pub fn new(cfg: SensorConfig) -> Engine {
        Engine {
            cfg,
            stats: SensorStats::default(),
            map: Map::default(),
            slab: Vec::new(),
            free: Vec::new(),
            idle: [EMPTY; N_CLASSES],
            active: EMPTY,
            watermark: Timestamp::MIN,
            started: false,
            next_check: Timestamp::MIN,
            records: Vec::new(),
            identify: mamori_proto::app::identify,
            due: Vec::new(),
        }
    }

    fn get(&self, idx: u32) -> Option<&Flow> {
        self.slab.get(idx as usize)?.as_ref()
    }

    fn get_mut(&mut self, idx: u32) -> Option<&mut Flow> {
        self.slab.get_mut(idx as usize)?.as_mut()
    }

    /// Active flows.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Advance the watermark to `ts` and export what expired.
    pub fn advance(&mut self, ts: Timestamp, out: &mut Vec<Event>) {
        if !self.started || ts > self.watermark {
            self.watermark = ts;
        }
        if !self.started {
            self.started = true;
            self.next_check = ts + EXPIRY_CHECK_INTERVAL;
        } else if self.watermark >= self.next_check {
            self.expire(out);
            self.next_check = self.watermark + EXPIRY_CHECK_INTERVAL;
        }
    }

    /// One decoded packet.
    pub fn process(&mut self, d: &Decoded<'_>, out: &mut Vec<Event>) {
        self.stats.decoded += 1;
        self.advance(d.ts, out);
        if let Transport::Icmp {
            v6,
            icmp_type,
            code,
            inner: Some(inner),
            ..
        } = d.transport
        {
            let (k, _) = key::key_of_inner(&inner, d);
            if let Some(&idx) = self.map.get(&k) {
                if let Some(f) = self.get_mut(idx) {
                    f.icmp_errors = f.icmp_errors.saturating_add(1);
                    f.icmp_last_error = Some((v6, icmp_type, code));
                }
                self.stats.icmp_errors_attached += 1;
                return;
            }
            self.stats.icmp_errors_unmatched += 1;
        }
        let (key, src_is_a) = key::key_of(d);
        let idx = match self.map.get(&key).copied() {
            Some(idx) => match self.restart_reason(idx, d, src_is_a) {
                Some(reason) => {
                    self.export_final(idx, reason, out);
                    self.create(key, src_is_a, d, out)
                }
                None => idx,
            },
            None => self.create(key, src_is_a, d, out),
        };
        self.update(idx, d, src_is_a, out);
    }

    /// Whether the existing flow at `idx` must end before this packet (own timeout passed,
    /// or a new TCP connection reuses the tuple of a closed one).
    fn restart_reason(&self, idx: u32, d: &Decoded<'_>, src_is_a: bool) -> Option<ExportReason> {
        let f = self.get(idx)?;
        let closed = f.class == Class::TcpClosed;
        if f.last_touch + timeout(&self.cfg, f.class) <= self.watermark {
            return Some(if closed {
                ExportReason::TcpClose
            } else {
                ExportReason::IdleTimeout
            });
        }
        if let Transport::Tcp(h, _) = d.transport {
            let syn_only = h.flags.has(TcpFlags::SYN) && !h.flags.has(TcpFlags::ACK);
            let side = usize::from(src_is_a != f.client_is_a);
            let new_isn = f.isn.get(side).copied().flatten() != Some(h.seq);
            if closed && syn_only && new_isn {
                return Some(ExportReason::TcpClose);
            }
        }
        None
    }

    fn create(
        &mut self,
        key: FlowKey,
        src_is_a: bool,
        d: &Decoded<'_>,
        out: &mut Vec<Event>,
    ) -> u32 {
        let cap = self.cfg.max_flows.max(1);
        while self.map.len() >= cap {
            if !self.evict_one(out) {
                break;
            }
        }
        let client_is_src = match d.transport {
            Transport::Tcp(h, _) => !(h.flags.has(TcpFlags::SYN) && h.flags.has(TcpFlags::ACK)),
            _ => true,
        };
        let class = class_of_proto(key.proto);
        let flow = Flow {
            key,
            client_is_a: client_is_src == src_is_a,
            class,
            hs: 0,
            flags: [0; 2],
            isn: [None; 2],
            first_seen: d.ts,
            last_seen: d.ts,
            seg_start: d.ts,
            last_touch: self.watermark,
            active_start: self.watermark,
            cnt: [DirCount::default(); 2],
            macs: [None; 2],
            tunnel: d.tunnel,
            icmp: None,
            icmp_errors: 0,
            icmp_last_error: None,
            segment: 0,
            idle: UNLINKED,
            act: UNLINKED,
            app: App::Pending,
            l7: None,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.slab.get_mut(i as usize) {
                    *slot = Some(flow);
                }
                i
            }
            None => {
                // The table never holds more than u32::MAX - 1 flows (max_flows bounds it).
                let i = u32::try_from(self.slab.len()).unwrap_or(NIL - 1);
                self.slab.push(Some(flow));
                i
            }
        };
        self.map.insert(key, idx);
        if let Some(l) = self.idle.get_mut(class as usize) {
            push_back(&mut self.slab, l, idx, Which::Idle);
        }
        push_back(&mut self.slab, &mut self.active, idx, Which::Active);
        self.stats.flows_created += 1;
        self.stats.active_flows = self.map.len() as u64;
        idx
    }

    /// Evict the least recently active flow. Returns false when the table is empty.
    fn evict_one(&mut self, out: &mut Vec<Event>) -> bool {
        let mut best: Option<(Timestamp, FlowKey, u32)> = None;
        for l in &self.idle {
            if let Some(f) = self.get(l.head) {
                let cand = (f.last_touch, f.key, l.head);
                if best.is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                    best = Some(cand);
                }
            }
        }
        match best {
            Some((_, _, idx)) => {
                self.export_final(idx, ExportReason::Evicted, out);
                true
            }
            None => false,
        }
    }

    fn set_class(&mut self, idx: u32, class: Class) {
        let Some(old) = self.get(idx).map(|f| f.class) else {
            return;
        };
        if old == class {
            return;
        }
        if let Some(l) = self.idle.get_mut(old as usize) {
            unlink(&mut self.slab, l, idx, Which::Idle);
        }
        if let Some(f) = self.get_mut(idx) {
            f.class = class;
        }
        if let Some(l) = self.idle.get_mut(class as usize) {
            push_back(&mut self.slab, l, idx, Which::Idle);
        }
    }

    fn update(&mut self, idx: u32, d: &Decoded<'_>, src_is_a: bool, out: &mut Vec<Event>) {
        let wm = self.watermark;
        let Some(f) = self.slab.get_mut(idx as usize).and_then(Option::as_mut) else {
            return;
        };
        let from_client = src_is_a == f.client_is_a;
        let side = usize::from(!from_client);
        let payload: &[u8] = match d.transport {
            Transport::Tcp(_, p) => p,
            Transport::Udp { payload, .. } => payload,
            Transport::Icmp { payload, .. } => payload,
            Transport::Other { payload, .. } => payload,
        };
        if f.cnt[0].packets + f.cnt[1].packets == 0 || d.ts < f.seg_start {
            f.seg_start = d.ts;
        }
        if d.ts < f.first_seen {
            f.first_seen = d.ts;
        }
        f.hs |= if from_client { H_SEEN_C } else { H_SEEN_S };
        if let Some(c) = f.cnt.get_mut(side) {
            c.packets += 1;
            c.bytes += u64::from(d.ip.len);
            c.payload += payload.len() as u64;
        }
        if d.ts > f.last_seen {
            f.last_seen = d.ts;
        }
        f.last_touch = wm;
        if let Some(m) = f.macs.get_mut(side) {
            if m.is_none() {
                *m = d.src_mac;
            }
        }
        if let Some(m) = f.macs.get_mut(1 - side) {
            if m.is_none() {
                *m = d.dst_mac;
            }
        }
        let mut new_class = None;
        match d.transport {
            Transport::Tcp(h, _) => {
                let fl = h.flags;
                if let Some(x) = f.flags.get_mut(side) {
                    *x |= fl.0;
                }
                let syn = fl.has(TcpFlags::SYN);
                let ack = fl.has(TcpFlags::ACK);
                if syn {
                    if let Some(i) = f.isn.get_mut(side) {
                        *i = Some(h.seq);
                    }
                }
                if from_client {
                    if syn && !ack {
                        f.hs |= H_SYN;
                    } else if ack && !syn && f.hs & H_SYNACK != 0 {
                        f.hs |= H_ACK;
                    }
                    if fl.has(TcpFlags::FIN) {
                        f.hs |= H_FIN_C;
                    }
                    if fl.has(TcpFlags::RST) {
                        f.hs |= H_RST_C;
                    }
                } else {
                    if syn && ack {
                        f.hs |= H_SYNACK;
                    }
                    if fl.has(TcpFlags::FIN) {
                        f.hs |= H_FIN_S;
                    }
                    if fl.has(TcpFlags::RST) {
                        f.hs |= H_RST_S;
                    }
                }
                if fl.0 & (TcpFlags::FIN | TcpFlags::RST) != 0 {
                    new_class = Some(Class::TcpClosed);
                }
            }
            Transport::Icmp {
                icmp_type, code, ..
            } if f.icmp.is_none() => f.icmp = Some((icmp_type, code)),
            _ => {}
        }
        // Idle list: most recent at the tail.
        let class = new_class.unwrap_or(f.class);
        if class != f.class {
            self.set_class(idx, class);
        } else if let Some(l) = self.idle.get_mut(class as usize) {
            if l.tail != idx {
                unlink(&mut self.slab, l, idx, Which::Idle);
                push_back(&mut self.slab, l, idx, Which::Idle);
            }
        }
        if !payload.is_empty() {
            self.dispatch(idx, d, from_client, payload, out);
        }
    }

    fn dispatch(
        &mut self,
        idx: u32,
        d: &Decoded<'_>,
        from_client: bool,
        payload: &[u8],
        out: &mut Vec<Event>,
    ) {
        let Some(f) = self.slab.get_mut(idx as usize).and_then(Option::as_mut) else {
            return;
        };
        let transport = match d.transport {
            Transport::Tcp(..) => AppTransport::Tcp,
            Transport::Udp { .. } => AppTransport::Udp,
            _ => return,
        };
        if matches!(f.app, App::Pending) && f.l7.is_none() {
            f.l7 = Some(Box::new(L7::new(f.isn)));
        }
        let Some(l7) = f.l7.as_mut() else {
            return;
        };
        if !l7.wants_data() {
            return;
        }
        let dir = if from_client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let meta = FlowMeta {
            transport,
            client_port: if f.client_is_a {
                f.key.a_port
            } else {
                f.key.b_port
            },
            server_port: if f.client_is_a {
                f.key.b_port
            } else {
                f.key.a_port
            },
        };
        let mut ctx = Ctx {
            identify: self.identify,
            meta,
            ts: d.ts,
            max_bytes: self.cfg.l7_max_bytes,
            stats: &mut self.stats.l7,
            records: &mut self.records,
        };
        match d.transport {
            Transport::Tcp(h, _) => l7.tcp(
                &mut f.app,
                dir,
                // Data on a SYN (TCP Fast Open) starts after the SYN's sequence number.
                if h.flags.has(TcpFlags::SYN) {
                    h.seq.wrapping_add(1)
                } else {
                    h.seq
                },
                payload,
                self.cfg.reassembly_ooo_bytes,
                &mut self.stats.reassembly,
                &mut ctx,
            ),
            _ => l7.udp(&mut f.app, dir, payload, &mut ctx),
        }
        if l7.is_spent() {
            f.l7 = None;
        } else if !l7.wants_data() {
            l7.shrink();
        }
        if !self.records.is_empty() {
            self.stats.records += self.records.len() as u64;
            for r in self.records.drain(..) {
                out.push(f.record_event(&self.cfg, r));
            }
        }
    }

    /// Export flows whose idle or active timeout passed, ordered by deadline then key.
    fn expire(&mut self, out: &mut Vec<Event>) {
        let now = self.watermark;
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        for class in CLASSES {
            let to = timeout(&self.cfg, class);
            let mut cur = self.idle.get(class as usize).map_or(NIL, |l| l.head);
            while let Some(f) = self.get(cur) {
                let deadline = f.last_touch + to;
                if deadline > now {
                    break;
                }
                let reason = if class == Class::TcpClosed {
                    ExportReason::TcpClose
                } else {
                    ExportReason::IdleTimeout
                };
                due.push((deadline, f.key, cur, reason));
                cur = f.idle.next;
            }
        }
        let at = self.cfg.active_timeout;
        let mut cur = self.active.head;
        while let Some(f) = self.get(cur) {
            let deadline = f.active_start + at;
            if deadline > now {
                break;
            }
            // Flows that also idled out are exported once, as idle.
            if f.last_touch + timeout(&self.cfg, f.class) > now {
                due.push((deadline, f.key, cur, ExportReason::ActiveTimeout));
            }
            cur = f.act.next;
        }
        due.sort_unstable_by_key(|a| (a.0, a.1));
        for &(_, _, idx, reason) in &due {
            if reason == ExportReason::ActiveTimeout {
                self.export_partial(idx, out);
            } else {
                self.export_final(idx, reason, out);
            }
        }
        self.due = due;
    }

    fn export_partial(&mut self, idx: u32, out: &mut Vec<Event>) {
        let now = self.watermark;
        let Some(f) = self.slab.get_mut(idx as usize).and_then(Option::as_mut) else {
            return;
        };
        out.push(f.flow_event(&self.cfg, ExportReason::ActiveTimeout, false));
        f.cnt = [DirCount::default(); 2];
        f.segment = f.segment.saturating_add(1);
        f.active_start = now;
        f.seg_start = f.last_seen;
        unlink(&mut self.slab, &mut self.active, idx, Which::Active);
        push_back(&mut self.slab, &mut self.active, idx, Which::Active);
        self.stats.partial_records += 1;
    }

    fn export_final(&mut self, idx: u32, reason: ExportReason, out: &mut Vec<Event>) {
        let class = match self.get(idx) {
            Some(f) => f.class,
            None => return,
        };
        if let Some(l) = self.idle.get_mut(class as usize) {
            unlink(&mut self.slab, l, idx, Which::Idle);
        }
        unlink(&mut self.slab, &mut self.active, idx, Which::Active);
        let Some(mut f) = self.slab.get_mut(idx as usize).and_then(Option::take) else {
            return;
        };
        self.map.remove(&f.key);
        self.free.push(idx);
        let meta = FlowMeta {
            transport: if f.key.proto == PROTO_TCP {
                AppTransport::Tcp
            } else {
                AppTransport::Udp
            },
            client_port: f.client_port(),
            server_port: f.server_port(),
        };
        if let Some(l7) = f.l7.as_mut() {
            let mut ctx = Ctx {
                identify: self.identify,
                meta,
                ts: f.last_seen,
                max_bytes: self.cfg.l7_max_bytes,
                stats: &mut self.stats.l7,
                records: &mut self.records,
            };
            l7.finish(&mut f.app, &mut self.stats.reassembly, &mut ctx);
        }
        self.stats.records += self.records.len() as u64;
        for r in self.records.drain(..) {
            out.push(f.record_event(&self.cfg, r));
        }
        out.push(f.flow_event(&self.cfg, reason, true));
        match reason {
            ExportReason::Evicted => self.stats.flows_evicted += 1,
            ExportReason::EndOfCapture => self.stats.flows_flushed += 1,
            _ => self.stats.flows_expired += 1,
        }
        self.stats.active_flows = self.map.len() as u64;
    }

    /// Export every flow (end of input), ordered by last activity then key.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        // Timeouts that passed since the last periodic check go out as such.
        if self.started {
            self.expire(out);
        }
        let mut all: Vec<(Timestamp, FlowKey, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let f = f.as_ref()?;
                Some((f.last_touch, f.key, u32::try_from(i).ok()?))
            })
            .collect();
        all.sort_unstable();
        for (_, _, idx) in all {
            self.export_final(idx, ExportReason::EndOfCapture, out);
        }
        self.slab.clear();
        self.free.clear();
        self.idle = [EMPTY; N_CLASSES];
        self.active = EMPTY;
    }

    /// Bytes buffered by L7 state of all flows (reassembly and identification).
    pub fn buffered_bytes(&self) -> usize {
        self.slab
            .iter()
            .flatten()
            .filter_map(|f| f.l7.as_ref())
            .map(|l| l.buffered())
            .sum()
    }
}
