//! Conversations: time-stamped frame sequences with correct TCP sequence/acknowledgement
//! bookkeeping, UDP request/response exchanges, pings and DHCP.
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_testkit::conv::TcpConversation;
//!
//! let t0 = Timestamp::from_unix_secs(1_793_610_000);
//! let frames = TcpConversation::new(
//!     "192.168.10.5:50000".parse().unwrap(),
//!     "10.0.0.2:80".parse().unwrap(),
//!     t0,
//! )
//! .handshake()
//! .client(b"GET / HTTP/1.1\r\nHost: intranet\r\n\r\n")
//! .server(b"HTTP/1.1 204 No Content\r\n\r\n")
//! .fin()
//! .frames();
//! // SYN, SYN/ACK, ACK, request, ACK, response, ACK, FIN, FIN, ACK
//! assert_eq!(frames.len(), 10);
//! assert!(frames.windows(2).all(|w| w[0].ts <= w[1].ts));
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use mamori_core::{Duration, Timestamp};

use crate::packet::{tcp_syn_options, Frame, Mac, TcpFlags, TcpSeg};
use crate::payload::dhcp;
use crate::TimedFrame;

/// Default maximum segment size of a conversation.
pub const DEFAULT_MSS: usize = 1460;
/// Smallest MSS honoured (smaller values are raised to this).
pub const MSS_MIN: usize = 1;
/// Default gap between two packets sent by the same side.
pub const DEFAULT_GAP: Duration = Duration::from_micros(40);
/// Default round-trip time (half of it separates packets of opposite sides).
pub const DEFAULT_RTT: Duration = Duration::from_millis(2);
/// Default receive window advertised by both sides.
pub const DEFAULT_WINDOW: u16 = 64_240;

/// Which end of a conversation sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The initiator.
    Client,
    /// The responder.
    Server,
}

/// An application exchange: what each side sends, in order.
pub type Script = Vec<(Side, Vec<u8>)>;

#[derive(Debug, Clone)]
struct Peer {
    addr: SocketAddr,
    mac: Mac,
    ttl: u8,
    ip_id: u16,
    isn: u32,
    next_seq: u32,
    window: u16,
}

/// A TCP conversation between a client and a server. Methods take and return `self` so a
/// conversation reads as a script; [`frames`](Self::frames) returns the result.
#[derive(Debug, Clone)]
pub struct TcpConversation {
    c: Peer,
    s: Peer,
    vlan: Option<u16>,
    now: Timestamp,
    gap: Duration,
    rtt: Duration,
    mss: usize,
    last: Option<Side>,
    reorder_next: bool,
    retransmit_next: bool,
    frames: Vec<TimedFrame>,
}

fn isn_for(a: SocketAddr, b: SocketAddr, ts: Timestamp) -> u32 {
    // Deterministic but addresses-dependent initial sequence numbers.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |x: u64| {
        h ^= x;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for ip in [a.ip(), b.ip()] {
        match ip {
            IpAddr::V4(v) => mix(u64::from(u32::from(v))),
            IpAddr::V6(v) => mix(u128::from(v) as u64),
        }
    }
    mix(u64::from(a.port()) << 16 | u64::from(b.port()));
    mix(ts.unix_nanos() as u64);
    (h >> 32) as u32 ^ h as u32
}

impl TcpConversation {
    /// A conversation from `client` to `server` starting at `start`. MACs are derived from
    /// the addresses ([`Mac::for_ip`]); initial sequence numbers are derived
    /// deterministically from the addresses and time.
    pub fn new(client: SocketAddr, server: SocketAddr, start: Timestamp) -> TcpConversation {
        let cisn = isn_for(client, server, start);
        let sisn = isn_for(server, client, start).rotate_left(7);
        TcpConversation {
            c: Peer {
                addr: client,
                mac: Mac::for_ip(client.ip()),
                ttl: 64,
                ip_id: (cisn >> 16) as u16,
                isn: cisn,
                next_seq: cisn,
                window: DEFAULT_WINDOW,
            },
            s: Peer {
                addr: server,
                mac: Mac::for_ip(server.ip()),
                ttl: 64,
                ip_id: (sisn >> 16) as u16,
                isn: sisn,
                next_seq: sisn,
                window: DEFAULT_WINDOW,
            },
            vlan: None,
            now: start,
            gap: DEFAULT_GAP,
            rtt: DEFAULT_RTT,
            mss: DEFAULT_MSS,
            last: None,
            reorder_next: false,
            retransmit_next: false,
            frames: Vec::new(),
        }
    }

    /// Set the client and server MAC addresses (e.g. the gateway's MAC for a remote server).
    pub fn macs(mut self, client: Mac, server: Mac) -> Self {
        self.c.mac = client;
        self.s.mac = server;
        self
    }

    /// Tag every frame with an 802.1Q VLAN id.
    pub fn vlan(mut self, id: u16) -> Self {
        self.vlan = Some(id);
        self
    }

    /// Initial TTLs as seen on the wire (e.g. 128 for a Windows host, 63 after one hop).
    pub fn ttls(mut self, client: u8, server: u8) -> Self {
        self.c.ttl = client;
        self.s.ttl = server;
        self
    }

    /// Initial sequence numbers (call before [`handshake`](Self::handshake)).
    pub fn isn(mut self, client: u32, server: u32) -> Self {
        self.c.isn = client;
        self.c.next_seq = client;
        self.s.isn = server;
        self.s.next_seq = server;
        self
    }

    /// Maximum segment size used to cut large payloads.
    pub fn mss(mut self, mss: usize) -> Self {
        self.mss = mss.max(MSS_MIN);
        self
    }

    /// Gap between consecutive packets of the same side.
    pub fn gap(mut self, gap: Duration) -> Self {
        self.gap = gap;
        self
    }

    /// Round-trip time; half of it separates packets of opposite sides.
    pub fn rtt(mut self, rtt: Duration) -> Self {
        self.rtt = rtt;
        self
    }

    /// Let `d` of event time pass (think time, idle connection).
    pub fn wait(mut self, d: Duration) -> Self {
        self.now = self.now + d;
        self
    }

    /// Deliver the first two segments of the next multi-segment payload in swapped order.
    pub fn out_of_order_next(mut self) -> Self {
        self.reorder_next = true;
        self
    }

    /// Retransmit the first segment of the next payload after the others.
    pub fn retransmit_next(mut self) -> Self {
        self.retransmit_next = true;
        self
    }

    /// The current event time of the conversation.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Next sequence number the client will use.
    pub fn client_next_seq(&self) -> u32 {
        self.c.next_seq
    }

    /// Next sequence number the server will use.
    pub fn server_next_seq(&self) -> u32 {
        self.s.next_seq
    }

    /// The frames so far.
    pub fn frames(self) -> Vec<TimedFrame> {
        self.frames
    }

    /// Borrow the frames so far.
    pub fn frames_ref(&self) -> &[TimedFrame] {
        &self.frames
    }

    fn tick(&mut self, side: Side) {
        match self.last {
            None => {}
            Some(l) if l == side => self.now = self.now + self.gap,
            Some(_) => self.now = self.now + Duration::from_nanos(self.rtt.as_nanos() / 2),
        }
        self.last = Some(side);
    }

    fn emit(
        &mut self,
        side: Side,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        opts: Vec<u8>,
        data: &[u8],
    ) {
        self.tick(side);
        let (from, to) = match side {
            Side::Client => (&mut self.c, &self.s),
            Side::Server => (&mut self.s, &self.c),
        };
        let id = from.ip_id;
        from.ip_id = from.ip_id.wrapping_add(1);
        let mut f = Frame::ethernet(from.mac, to.mac);
        if let Some(v) = self.vlan {
            f = f.vlan(v);
        }
        let seg = TcpSeg {
            sport: from.addr.port(),
            dport: to.addr.port(),
            seq,
            ack: if flags.contains(TcpFlags::ACK) {
                ack
            } else {
                0
            },
            flags,
            window: from.window,
            urgent: 0,
            options: opts,
        };
        let f = f
            .ip(from.addr.ip(), to.addr.ip())
            .ttl(from.ttl)
            .ip_id(id)
            .dont_fragment(true)
            .tcp(seg)
            .payload(data);
        self.frames.push(f.at(self.now));
    }

    fn peer(&mut self, side: Side) -> &mut Peer {
        match side {
            Side::Client => &mut self.c,
            Side::Server => &mut self.s,
        }
    }

    fn other_seq(&self, side: Side) -> u32 {
        match side {
            Side::Client => self.s.next_seq,
            Side::Server => self.c.next_seq,
        }
    }

    /// Three-way handshake: SYN (with MSS, SACK, timestamps, window scale), SYN/ACK, ACK.
    pub fn handshake(mut self) -> Self {
        let mss = u16::try_from(self.mss).unwrap_or(u16::MAX);
        let ts = self.now.unix_nanos() as u32;
        let cisn = self.c.isn;
        let sisn = self.s.isn;
        self.emit(
            Side::Client,
            TcpFlags::SYN,
            cisn,
            0,
            tcp_syn_options(mss, ts, 7),
            &[],
        );
        self.emit(
            Side::Server,
            TcpFlags::SYN_ACK,
            sisn,
            cisn.wrapping_add(1),
            tcp_syn_options(mss, ts.wrapping_add(17), 7),
            &[],
        );
        self.c.next_seq = cisn.wrapping_add(1);
        self.s.next_seq = sisn.wrapping_add(1);
        let (c, s) = (self.c.next_seq, self.s.next_seq);
        self.emit(Side::Client, TcpFlags::ACK, c, s, Vec::new(), &[]);
        self
    }

    /// A SYN that is never answered.
    pub fn syn_only(mut self) -> Self {
        let cisn = self.c.isn;
        let mss = u16::try_from(self.mss).unwrap_or(u16::MAX);
        self.emit(
            Side::Client,
            TcpFlags::SYN,
            cisn,
            0,
            tcp_syn_options(mss, 0, 7),
            &[],
        );
        self.c.next_seq = cisn.wrapping_add(1);
        self
    }

    /// A SYN refused by the server with RST/ACK (closed port).
    pub fn rejected(mut self) -> Self {
        let cisn = self.c.isn;
        let mss = u16::try_from(self.mss).unwrap_or(u16::MAX);
        self.emit(
            Side::Client,
            TcpFlags::SYN,
            cisn,
            0,
            tcp_syn_options(mss, 0, 7),
            &[],
        );
        self.c.next_seq = cisn.wrapping_add(1);
        let ack = self.c.next_seq;
        self.emit(Side::Server, TcpFlags::RST_ACK, 0, ack, Vec::new(), &[]);
        self
    }

    /// A half-open probe of an open port: SYN, SYN/ACK, then RST from the client (what a
    /// SYN scanner does).
    pub fn half_open(mut self) -> Self {
        let cisn = self.c.isn;
        let sisn = self.s.isn;
        self.emit(
            Side::Client,
            TcpFlags::SYN,
            cisn,
            0,
            tcp_syn_options(1460, 0, 10),
            &[],
        );
        self.emit(
            Side::Server,
            TcpFlags::SYN_ACK,
            sisn,
            cisn.wrapping_add(1),
            tcp_syn_options(1460, 0, 7),
            &[],
        );
        self.c.next_seq = cisn.wrapping_add(1);
        self.s.next_seq = sisn.wrapping_add(1);
        let c = self.c.next_seq;
        self.emit(Side::Client, TcpFlags::RST, c, 0, Vec::new(), &[]);
        self
    }

    /// Data from the client, cut into MSS-sized segments, acknowledged by the server.
    pub fn client(self, data: &[u8]) -> Self {
        self.send(Side::Client, data)
    }

    /// Data from the server, cut into MSS-sized segments, acknowledged by the client.
    pub fn server(self, data: &[u8]) -> Self {
        self.send(Side::Server, data)
    }

    /// Play an application [`Script`] (each element through [`client`](Self::client) or
    /// [`server`](Self::server)).
    pub fn play(mut self, script: &[(Side, Vec<u8>)]) -> Self {
        for (side, data) in script {
            self = self.send(*side, data);
        }
        self
    }

    /// Send `data` from `side`.
    pub fn send(mut self, side: Side, data: &[u8]) -> Self {
        if data.is_empty() {
            return self;
        }
        let ack = self.other_seq(side);
        let start = self.peer(side).next_seq;
        let mut segs: Vec<(u32, &[u8], bool)> = Vec::new();
        let mut seq = start;
        let n = data.chunks(self.mss).len();
        for (i, chunk) in data.chunks(self.mss).enumerate() {
            segs.push((seq, chunk, i + 1 == n));
            seq = seq.wrapping_add(chunk.len() as u32);
        }
        let end = seq;
        let reorder = std::mem::take(&mut self.reorder_next) && segs.len() >= 2;
        let retransmit = std::mem::take(&mut self.retransmit_next);
        if reorder {
            segs.swap(0, 1);
        }
        let first = segs.first().map(|&(s, d, l)| (s, d.to_vec(), l));
        let receiver = match side {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        for (i, (sseq, chunk, last)) in segs.iter().enumerate() {
            let flags = if *last {
                TcpFlags::PSH_ACK
            } else {
                TcpFlags::ACK
            };
            self.emit(side, flags, *sseq, ack, Vec::new(), chunk);
            // Delayed ACK every second in-order segment (not while reordering).
            if !reorder && i % 2 == 1 && !*last {
                let upto = sseq.wrapping_add(chunk.len() as u32);
                let rs = self.other_seq(side);
                self.emit(receiver, TcpFlags::ACK, rs, upto, Vec::new(), &[]);
            }
        }
        if retransmit {
            if let Some((s, d, l)) = first {
                self.now = self.now + Duration::from_nanos(self.rtt.as_nanos().saturating_mul(2));
                let flags = if l { TcpFlags::PSH_ACK } else { TcpFlags::ACK };
                self.emit(side, flags, s, ack, Vec::new(), &d);
            }
        }
        self.peer(side).next_seq = end;
        let rs = self.other_seq(side);
        self.emit(receiver, TcpFlags::ACK, rs, end, Vec::new(), &[]);
        self
    }

    /// Send a single segment with explicit flags from `side` using the current sequence
    /// numbers (SYN and FIN consume one sequence number, data its length).
    pub fn raw_segment(mut self, side: Side, flags: TcpFlags, data: &[u8]) -> Self {
        let seq = self.peer(side).next_seq;
        let ack = self.other_seq(side);
        self.emit(side, flags, seq, ack, Vec::new(), data);
        let mut adv = data.len() as u32;
        if flags.contains(TcpFlags::SYN) || flags.contains(TcpFlags::FIN) {
            adv = adv.wrapping_add(1);
        }
        let p = self.peer(side);
        p.next_seq = p.next_seq.wrapping_add(adv);
        self
    }

    fn close_from(mut self, first: Side) -> Self {
        let second = match first {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        self = self.raw_segment(first, TcpFlags::FIN_ACK, &[]);
        self = self.raw_segment(second, TcpFlags::FIN_ACK, &[]);
        let seq = self.peer(first).next_seq;
        let ack = self.other_seq(first);
        self.emit(first, TcpFlags::ACK, seq, ack, Vec::new(), &[]);
        self
    }

    /// Orderly close initiated by the client: FIN/ACK, FIN/ACK, ACK.
    pub fn fin(self) -> Self {
        self.close_from(Side::Client)
    }

    /// Orderly close initiated by the server.
    pub fn fin_from_server(self) -> Self {
        self.close_from(Side::Server)
    }

    /// Abort by the server (RST/ACK).
    pub fn rst_from_server(mut self) -> Self {
        let seq = self.s.next_seq;
        let ack = self.c.next_seq;
        self.emit(Side::Server, TcpFlags::RST_ACK, seq, ack, Vec::new(), &[]);
        self
    }

    /// Abort by the client (RST/ACK).
    pub fn rst_from_client(mut self) -> Self {
        let seq = self.c.next_seq;
        let ack = self.s.next_seq;
        self.emit(Side::Client, TcpFlags::RST_ACK, seq, ack, Vec::new(), &[]);
        self
    }
}

/// A UDP request/response exchange (DNS, NTP, SNMP, …).
///
/// ```
/// use mamori_core::Timestamp;
/// use mamori_testkit::conv::UdpExchange;
/// let f = UdpExchange::new("192.168.10.5:53000".parse().unwrap(), "10.0.0.53:53".parse().unwrap(), Timestamp::EPOCH)
///     .request(b"q")
///     .response(b"r")
///     .frames();
/// assert_eq!(f.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct UdpExchange {
    c: SocketAddr,
    s: SocketAddr,
    cmac: Mac,
    smac: Mac,
    cttl: u8,
    sttl: u8,
    cid: u16,
    sid: u16,
    vlan: Option<u16>,
    now: Timestamp,
    gap: Duration,
    rtt: Duration,
    last: Option<Side>,
    last_client_ip: Vec<u8>,
    frames: Vec<TimedFrame>,
}

impl UdpExchange {
    /// An exchange from `client` to `server` starting at `start`.
    pub fn new(client: SocketAddr, server: SocketAddr, start: Timestamp) -> UdpExchange {
        let id = isn_for(client, server, start);
        UdpExchange {
            c: client,
            s: server,
            cmac: Mac::for_ip(client.ip()),
            smac: Mac::for_ip(server.ip()),
            cttl: 64,
            sttl: 64,
            cid: id as u16,
            sid: (id >> 16) as u16,
            vlan: None,
            now: start,
            gap: DEFAULT_GAP,
            rtt: DEFAULT_RTT,
            last: None,
            last_client_ip: Vec::new(),
            frames: Vec::new(),
        }
    }

    /// Set the client and server MACs.
    pub fn macs(mut self, client: Mac, server: Mac) -> Self {
        self.cmac = client;
        self.smac = server;
        self
    }

    /// Tag frames with a VLAN id.
    pub fn vlan(mut self, id: u16) -> Self {
        self.vlan = Some(id);
        self
    }

    /// TTLs of both sides.
    pub fn ttls(mut self, client: u8, server: u8) -> Self {
        self.cttl = client;
        self.sttl = server;
        self
    }

    /// Gap between packets of the same side.
    pub fn gap(mut self, gap: Duration) -> Self {
        self.gap = gap;
        self
    }

    /// Round-trip time.
    pub fn rtt(mut self, rtt: Duration) -> Self {
        self.rtt = rtt;
        self
    }

    /// Let time pass.
    pub fn wait(mut self, d: Duration) -> Self {
        self.now = self.now + d;
        self
    }

    /// Current event time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    fn tick(&mut self, side: Side) {
        match self.last {
            None => {}
            Some(l) if l == side => self.now = self.now + self.gap,
            Some(_) => self.now = self.now + Duration::from_nanos(self.rtt.as_nanos() / 2),
        }
        self.last = Some(side);
    }

    fn base(&self, side: Side) -> Frame {
        let (sm, dm) = match side {
            Side::Client => (self.cmac, self.smac),
            Side::Server => (self.smac, self.cmac),
        };
        let f = Frame::ethernet(sm, dm);
        match self.vlan {
            Some(v) => f.vlan(v),
            None => f,
        }
    }

    /// A datagram from the client.
    pub fn request(mut self, data: &[u8]) -> Self {
        self.tick(Side::Client);
        let f = self
            .base(Side::Client)
            .ip(self.c.ip(), self.s.ip())
            .ttl(self.cttl)
            .ip_id(self.cid)
            .udp(self.c.port(), self.s.port())
            .payload(data);
        self.cid = self.cid.wrapping_add(1);
        self.last_client_ip = f.build_ip();
        self.frames.push(f.at(self.now));
        self
    }

    /// A datagram from the server.
    pub fn response(mut self, data: &[u8]) -> Self {
        self.tick(Side::Server);
        let f = self
            .base(Side::Server)
            .ip(self.s.ip(), self.c.ip())
            .ttl(self.sttl)
            .ip_id(self.sid)
            .udp(self.s.port(), self.c.port())
            .payload(data);
        self.sid = self.sid.wrapping_add(1);
        self.frames.push(f.at(self.now));
        self
    }

    /// The server host answers the last request with ICMP port unreachable (ICMPv6 for
    /// IPv6). No effect before a request.
    pub fn port_unreachable(mut self) -> Self {
        if self.last_client_ip.is_empty() {
            return self;
        }
        self.tick(Side::Server);
        let f = self
            .base(Side::Server)
            .ip(self.s.ip(), self.c.ip())
            .ip_id(self.sid);
        let f = if self.s.is_ipv4() && self.c.is_ipv4() {
            f.icmp_port_unreachable(&self.last_client_ip)
        } else {
            f.icmpv6_port_unreachable(&self.last_client_ip)
        };
        let f = f.ttl(self.sttl);
        self.sid = self.sid.wrapping_add(1);
        self.frames.push(f.at(self.now));
        self
    }

    /// The frames so far.
    pub fn frames(self) -> Vec<TimedFrame> {
        self.frames
    }
}

/// An ICMP (or ICMPv6) echo request from `src` to `dst` at `ts`, with a reply after `rtt`
/// when `answered`.
pub fn ping(
    src: IpAddr,
    dst: IpAddr,
    id: u16,
    seq: u16,
    ts: Timestamp,
    rtt: Duration,
    answered: bool,
) -> Vec<TimedFrame> {
    let v4 = src.is_ipv4() && dst.is_ipv4();
    let req = Frame::ethernet(Mac::for_ip(src), Mac::for_ip(dst)).ip(src, dst);
    let req = if v4 {
        req.icmp_echo_request(id, seq)
    } else {
        req.icmpv6_echo_request(id, seq)
    };
    let mut out = vec![req.at(ts)];
    if answered {
        let rep = Frame::ethernet(Mac::for_ip(dst), Mac::for_ip(src)).ip(dst, src);
        let rep = if v4 {
            rep.icmp_echo_reply(id, seq)
        } else {
            rep.icmpv6_echo_reply(id, seq)
        };
        out.push(rep.at(ts + rtt));
    }
    out
}

/// A complete DHCP DISCOVER, OFFER, REQUEST, ACK exchange for `client_mac` with `hostname`,
/// leased `offered` by the server `server` (whose MAC is derived from its address).
pub fn dhcp_dora(
    client_mac: Mac,
    hostname: &str,
    offered: Ipv4Addr,
    server: Ipv4Addr,
    xid: u32,
    start: Timestamp,
) -> Vec<TimedFrame> {
    let smac = Mac::for_ip(IpAddr::V4(server));
    let bcast = Ipv4Addr::BROADCAST;
    let any = Ipv4Addr::UNSPECIFIED;
    let lease = dhcp::Lease {
        client_mac,
        hostname: hostname.to_owned(),
        ip: offered,
        server,
        router: Ipv4Addr::new(
            offered.octets()[0],
            offered.octets()[1],
            offered.octets()[2],
            1,
        ),
        dns: server,
        mask: Ipv4Addr::new(255, 255, 255, 0),
        lease_secs: 86_400,
        domain: "corp.example".to_owned(),
    };
    let client = |data: Vec<u8>| {
        Frame::ethernet(client_mac, Mac::BROADCAST)
            .ipv4(any, bcast)
            .ttl(64)
            .udp(68, 67)
            .payload_vec(data)
    };
    let srv = |data: Vec<u8>| {
        Frame::ethernet(smac, client_mac)
            .ipv4(server, offered)
            .ttl(64)
            .udp(67, 68)
            .payload_vec(data)
    };
    vec![
        client(dhcp::discover(xid, &lease)).at(start),
        srv(dhcp::offer(xid, &lease)).at(start + Duration::from_millis(3)),
        client(dhcp::request(xid, &lease)).at(start + Duration::from_millis(1_005)),
        srv(dhcp::ack(xid, &lease)).at(start + Duration::from_millis(1_008)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    struct Seg {
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        len: u32,
    }

    fn parse(frames: &[TimedFrame], client_port: u16) -> Vec<Seg> {
        frames
            .iter()
            .map(|f| {
                let ip = &f.data[14..];
                let ihl = usize::from(ip[0] & 0x0F) * 4;
                let tcp = &ip[ihl..];
                let off = usize::from(tcp[12] >> 4) * 4;
                let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
                Seg {
                    from_client: u16::from_be_bytes([tcp[0], tcp[1]]) == client_port,
                    seq: be32(tcp, 4),
                    ack: be32(tcp, 8),
                    flags: tcp[13],
                    len: (total - ihl - off) as u32,
                }
            })
            .collect()
    }

    fn conv() -> TcpConversation {
        TcpConversation::new(
            "192.168.10.5:50000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
            Timestamp::from_unix_secs(1_000),
        )
    }

    #[test]
    fn seq_ack_bookkeeping_is_consistent() {
        let data = vec![7u8; 5000];
        let frames = conv()
            .mss(1000)
            .handshake()
            .client(b"hello")
            .server(&data)
            .fin()
            .frames();
        let segs = parse(&frames, 50_000);
        let cisn = segs[0].seq;
        let sisn = segs[1].seq;
        assert_eq!(segs[0].flags, 0x02);
        assert_eq!(segs[1].flags, 0x12);
        assert_eq!(segs[1].ack, cisn + 1);
        assert_eq!(segs[2].ack, sisn + 1);
        // Every segment's seq equals the bytes its side sent before; ACKs never exceed it.
        let (mut c_next, mut s_next) = (cisn, sisn);
        let mut server_bytes = 0;
        for s in &segs {
            let next = if s.from_client {
                &mut c_next
            } else {
                &mut s_next
            };
            assert_eq!(s.seq, *next, "in-order seq");
            *next = next.wrapping_add(s.len + u32::from(s.flags & 0x03 != 0));
            if !s.from_client {
                server_bytes += s.len;
            }
        }
        assert_eq!(server_bytes, 5000);
        for s in &segs {
            if s.flags & 0x10 != 0 {
                let peer_next = if s.from_client { s_next } else { c_next };
                assert!(s.ack.wrapping_sub(peer_next) > 0x8000_0000 || s.ack == peer_next);
            }
        }
        // 5 segments of 1000 bytes from the server (MSS honoured).
        assert_eq!(
            segs.iter()
                .filter(|s| !s.from_client && s.len == 1000)
                .count(),
            5
        );
        // The final ACK acknowledges the server FIN.
        let last = segs.last().unwrap();
        assert!(last.from_client);
        assert_eq!(last.ack, s_next);
        assert!(frames.windows(2).all(|w| w[0].ts <= w[1].ts));
    }

    #[test]
    fn rejected_and_syn_only_and_rst() {
        let r = parse(&conv().rejected().frames(), 50_000);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].flags, 0x14);
        assert_eq!(r[1].ack, r[0].seq + 1);
        assert_eq!(conv().syn_only().frames().len(), 1);
        let x = parse(&conv().handshake().rst_from_server().frames(), 50_000);
        assert_eq!(x[3].flags, 0x14);
        assert_eq!(x[3].seq, x[1].seq + 1);
        let h = parse(&conv().half_open().frames(), 50_000);
        assert_eq!(h[2].flags, 0x04);
        assert_eq!(h[2].seq, h[0].seq + 1);
    }

    #[test]
    fn out_of_order_and_retransmission() {
        let frames = conv()
            .mss(10)
            .handshake()
            .out_of_order_next()
            .retransmit_next()
            .client(&[1u8; 30])
            .frames();
        let segs = parse(&frames, 50_000);
        let data: Vec<&Seg> = segs.iter().filter(|s| s.len > 0).collect();
        assert_eq!(data.len(), 4);
        assert!(data[0].seq > data[1].seq, "first two swapped");
        assert_eq!(
            data[3].seq, data[0].seq,
            "retransmission repeats the first sent"
        );
        let ack = segs.last().unwrap();
        assert_eq!(ack.ack, segs[2].seq + 30);
    }

    #[test]
    fn empty_payload_and_tiny_mss_do_not_panic() {
        let f = conv()
            .mss(0)
            .handshake()
            .client(&[])
            .client(b"abc")
            .frames();
        // 3 handshake + 3 one-byte segments + 1 delayed ack + final ack
        assert_eq!(f.len(), 8);
    }

    #[test]
    fn ipv6_conversation() {
        let f = TcpConversation::new(
            "[2001:db8::5]:40000".parse().unwrap(),
            "[2001:db8::2]:443".parse().unwrap(),
            Timestamp::EPOCH,
        )
        .handshake()
        .frames();
        assert_eq!(u16::from_be_bytes([f[0].data[12], f[0].data[13]]), 0x86DD);
    }

    #[test]
    fn udp_port_unreachable_quotes_request() {
        let f = UdpExchange::new(
            "192.168.10.5:40000".parse().unwrap(),
            "10.0.0.2:9999".parse().unwrap(),
            Timestamp::EPOCH,
        )
        .request(b"probe")
        .port_unreachable()
        .frames();
        assert_eq!(f.len(), 2);
        let icmp = &f[1].data[34..];
        assert_eq!(&icmp[..2], &[3, 3]);
        assert_eq!(&icmp[8..], &f[0].data[14..]);
    }

    #[test]
    fn dora_has_four_messages_in_order() {
        let f = dhcp_dora(
            Mac::local(5),
            "pc-05",
            Ipv4Addr::new(192, 168, 10, 50),
            Ipv4Addr::new(192, 168, 10, 1),
            0xdead_beef,
            Timestamp::EPOCH,
        );
        assert_eq!(f.len(), 4);
        let types: Vec<u8> = f
            .iter()
            .map(|fr| {
                let opts = &fr.data[14 + 20 + 8 + 240..];
                assert_eq!(opts[0], 53);
                opts[2]
            })
            .collect();
        assert_eq!(types, vec![1, 2, 3, 5]);
    }

    #[test]
    fn ping_pairs() {
        let p = ping(
            "192.168.10.5".parse().unwrap(),
            "192.168.10.6".parse().unwrap(),
            1,
            1,
            Timestamp::EPOCH,
            Duration::from_millis(1),
            true,
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].data[34], 8);
        assert_eq!(p[1].data[34], 0);
    }
}
