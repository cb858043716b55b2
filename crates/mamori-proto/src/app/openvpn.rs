//! OpenVPN control channel start: `P_CONTROL_HARD_RESET_CLIENT_V2/V3` and the server's
//! `P_CONTROL_HARD_RESET_SERVER_V2` over UDP, or over TCP with a 2-byte length prefix.
//!
//! The packet is `opcode<<3 | key_id`, an 8-byte session id, optionally a tls-auth HMAC
//! (20 or 32 bytes) with a replay packet id and timestamp, an ACK array and a message
//! packet id. The probe checks this structure for the plain and tls-auth layouts; tls-crypt
//! packets (encrypted after the header) are recognised by opcode, key id and size only.

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::http::text::hex_lower;
use super::tls::Reader;
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record, Transport};

/// An OpenVPN opcode; unknown values still parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// P_CONTROL_HARD_RESET_CLIENT_V1.
    pub const HARD_RESET_CLIENT_V1: Opcode = Opcode(1);
    /// P_CONTROL_HARD_RESET_SERVER_V1.
    pub const HARD_RESET_SERVER_V1: Opcode = Opcode(2);
    /// P_CONTROL_SOFT_RESET_V1.
    pub const SOFT_RESET_V1: Opcode = Opcode(3);
    /// P_CONTROL_V1.
    pub const CONTROL_V1: Opcode = Opcode(4);
    /// P_ACK_V1.
    pub const ACK_V1: Opcode = Opcode(5);
    /// P_DATA_V1.
    pub const DATA_V1: Opcode = Opcode(6);
    /// P_CONTROL_HARD_RESET_CLIENT_V2.
    pub const HARD_RESET_CLIENT_V2: Opcode = Opcode(7);
    /// P_CONTROL_HARD_RESET_SERVER_V2.
    pub const HARD_RESET_SERVER_V2: Opcode = Opcode(8);
    /// P_DATA_V2.
    pub const DATA_V2: Opcode = Opcode(9);
    /// P_CONTROL_HARD_RESET_CLIENT_V3 (tls-crypt-v2).
    pub const HARD_RESET_CLIENT_V3: Opcode = Opcode(10);
    /// P_CONTROL_WKC_V1.
    pub const CONTROL_WKC_V1: Opcode = Opcode(11);

    /// Name for logs.
    pub fn name(self) -> String {
        match self.0 {
            1 => "hard_reset_client_v1".into(),
            2 => "hard_reset_server_v1".into(),
            3 => "soft_reset_v1".into(),
            4 => "control_v1".into(),
            5 => "ack_v1".into(),
            6 => "data_v1".into(),
            7 => "hard_reset_client_v2".into(),
            8 => "hard_reset_server_v2".into(),
            9 => "data_v2".into(),
            10 => "hard_reset_client_v3".into(),
            11 => "control_wkc_v1".into(),
            n => format!("opcode_{n}"),
        }
    }
}

/// Largest control packet considered.
pub const MAX_PACKET: usize = 2048;
/// HMAC sizes of tls-auth (SHA-1, SHA-256, SHA-512).
const HMAC_SIZES: &[usize] = &[0, 20, 32, 64];
/// Largest replay packet id accepted in a first control packet.
const MAX_REPLAY_ID: u32 = 16;
/// Plausible OpenVPN `net_time` range (2014-05-13 … 2096-10-02).
const MIN_NET_TIME: u32 = 1_400_000_000;
const MAX_NET_TIME: u32 = 4_000_000_000;
/// tls-crypt header: session id, packet id, timestamp, 32-byte tag, then ciphertext.
const TLS_CRYPT_MIN: usize = 1 + 8 + 4 + 4 + 32;

/// A parsed hard-reset packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardReset {
    /// Opcode.
    pub opcode: Opcode,
    /// Sender's session id.
    pub session_id: [u8; 8],
    /// Peer session id acknowledged (server reset).
    pub remote_session_id: Option<[u8; 8]>,
    /// tls-auth HMAC size (0 when none), `None` when encrypted (tls-crypt).
    pub hmac_len: Option<usize>,
    /// The tls-crypt cleartext layout (packet id, time, sizes) was verified.
    pub tls_crypt: bool,
}

fn check_layout(p: &[u8], hmac: usize) -> Option<Option<[u8; 8]>> {
    let mut r = Reader::new(p);
    r.u8()?;
    r.take(8)?;
    if hmac > 0 {
        r.take(hmac)?;
        r.u32()?; // replay packet id
        r.u32()?; // timestamp
    }
    let acks = r.u8()?;
    let remote = if acks > 0 {
        if acks > 8 {
            return None;
        }
        r.take(usize::from(acks) * 4)?;
        Some(r.take(8)?.try_into().ok()?)
    } else {
        None
    };
    let msg_id = r.u32()?;
    // The hard reset is the first control message; a plain reset carries no payload
    // (V3 carries a wrapped client key after it).
    if msg_id != 0 {
        return None;
    }
    if r.is_empty() || p.first().is_some_and(|b| b >> 3 == 10) {
        Some(remote)
    } else {
        None
    }
}

/// Parse a hard-reset packet (without the TCP length prefix).
pub fn parse_hard_reset(p: &[u8]) -> Option<HardReset> {
    let b0 = *p.first()?;
    let opcode = Opcode(b0 >> 3);
    if b0 & 7 != 0 || !matches!(opcode.0, 7 | 8 | 10) || p.len() > MAX_PACKET {
        return None;
    }
    let session_id: [u8; 8] = p.get(1..9)?.try_into().ok()?;
    for &h in HMAC_SIZES {
        if let Some(remote) = check_layout(p, h) {
            let server = opcode == Opcode::HARD_RESET_SERVER_V2;
            if server != remote.is_some() {
                continue;
            }
            return Some(HardReset {
                opcode,
                session_id,
                remote_session_id: remote,
                hmac_len: Some(h),
                tls_crypt: false,
            });
        }
    }
    if p.len() >= TLS_CRYPT_MIN {
        return Some(HardReset {
            opcode,
            session_id,
            remote_session_id: None,
            hmac_len: None,
            tls_crypt: tls_crypt_layout(p),
        });
    }
    None
}

/// tls-crypt layout: after the session id a small replay packet id and a plausible Unix
/// time in clear, a 32-byte tag, then the encrypted ACK array and message id — 54 bytes
/// for a client V2 reset (no ACK), 66 for the server reset (one ACK), more for V3 (which
/// appends the wrapped client key).
fn tls_crypt_layout(p: &[u8]) -> bool {
    let mut r = Reader::new(p.get(9..).unwrap_or(&[]));
    let (Some(pid), Some(time)) = (r.u32(), r.u32()) else {
        return false;
    };
    let size_ok = match p.first().map(|b| b >> 3) {
        Some(7) => p.len() == TLS_CRYPT_MIN + 5,
        Some(8) => p.len() == TLS_CRYPT_MIN + 5 + 4 + 8,
        Some(10) => p.len() > TLS_CRYPT_MIN + 5,
        _ => false,
    };
    size_ok && (1..=MAX_REPLAY_ID).contains(&pid) && (MIN_NET_TIME..=MAX_NET_TIME).contains(&time)
}

fn unframe(meta_tcp: bool, data: &[u8]) -> Option<&[u8]> {
    if meta_tcp {
        let mut r = Reader::new(data);
        let len = usize::from(r.u16()?);
        r.take(len)
    } else {
        Some(data)
    }
}

/// Probe: a hard-reset packet with a verified layout (tls-crypt layouts only as `Maybe`).
pub fn probe(meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    let tcp = meta.transport == Transport::Tcp;
    let Some(p) = unframe(tcp, data) else {
        return if tcp && data.len() < 3 && !data.is_empty() {
            Probe::Maybe
        } else if tcp && data.len() >= 3 {
            // Length says more is coming: check what we have.
            match data.get(2) {
                Some(b) if matches!(b >> 3, 7 | 8 | 10) && b & 7 == 0 => Probe::Maybe,
                _ => Probe::No,
            }
        } else {
            Probe::No
        };
    };
    if tcp && data.len() != p.len() + 2 {
        // Exactly one packet expected in the first payload; more is possible but rare.
        if data.len() < p.len() + 2 {
            return Probe::No;
        }
    }
    match parse_hard_reset(p) {
        Some(h) if h.hmac_len.is_some() || h.tls_crypt => Probe::Yes,
        Some(_) => Probe::Maybe,
        None => Probe::No,
    }
}

/// A fresh OpenVPN dissector.
pub fn new_dissector(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(OpenVpnDissector {
        tcp: Some(meta.transport == Transport::Tcp),
        ..OpenVpnDissector::default()
    })
}

/// OpenVPN hard-reset dissector.
#[derive(Debug, Default)]
pub struct OpenVpnDissector {
    /// Length-prefixed framing (TCP): known from the flow, or (for a dissector built with
    /// `Default`, transport unknown) decided on the first payload.
    tcp: Option<bool>,
    tcp_buf: [Vec<u8>; 2],
    client: Option<HardReset>,
    server: Option<HardReset>,
    seen: usize,
    emitted: bool,
    counters: Counters,
}

impl OpenVpnDissector {
    /// Counters of dropped input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn packet(&mut self, dir: Dir, p: &[u8]) -> bool {
        self.seen += 1;
        match parse_hard_reset(p) {
            Some(h) => {
                match dir {
                    Dir::ToServer if self.client.is_none() => self.client = Some(h),
                    Dir::ToClient if self.server.is_none() => self.server = Some(h),
                    _ => {}
                }
                true
            }
            None => self.client.is_some() || self.server.is_some(),
        }
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        if self.emitted || (self.client.is_none() && self.server.is_none()) {
            return;
        }
        self.emitted = true;
        let mut f = Fields::new();
        self.flow_fields(&mut f);
        out.push(Record {
            dataset: "openvpn",
            ts,
            fields: f,
        });
    }
}

impl Dissector for OpenVpnDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.emitted {
            return Progress::Done;
        }
        // Transport unknown (built with `Default`): the first bytes decide whether a 2-byte
        // length prefix frames the packets (TCP) or not (UDP). Undecided bytes wait in the
        // direction's buffer (a UDP datagram always has the 3 bytes needed).
        let i = usize::from(dir == Dir::ToClient);
        let mut first: Option<Vec<u8>> = None;
        if self.tcp.is_none() {
            let Some(buf) = self.tcp_buf.get_mut(i) else {
                return Progress::Done;
            };
            buf.extend_from_slice(data);
            if buf.len() < 3 {
                return Progress::Continue;
            }
            let head = std::mem::take(buf);
            self.tcp = Some(
                head.get(2).is_some_and(|b| matches!(b >> 3, 7 | 8 | 10))
                    && head
                        .get(..2)
                        .is_some_and(|l| usize::from(u16::from_be_bytes([l[0], l[1]])) >= 14)
                    && parse_hard_reset(&head).is_none(),
            );
            first = Some(head);
        }
        let data: &[u8] = first.as_deref().unwrap_or(data);
        let tcp = self.tcp == Some(true);
        let ok = if tcp {
            let Some(buf) = self.tcp_buf.get_mut(i) else {
                return Progress::Done;
            };
            if buf.len() + data.len() > 4 * MAX_PACKET {
                self.counters.incr("openvpn_buffer_over_limit");
                buf.clear();
                self.emit(ts, out);
                return Progress::Done;
            }
            buf.extend_from_slice(data);
            let mut pkts = Vec::new();
            loop {
                let mut r = Reader::new(buf);
                let Some(len) = r.u16() else { break };
                let Some(p) = r.take(usize::from(len)) else {
                    break;
                };
                pkts.push(p.to_vec());
                buf.drain(..2 + usize::from(len));
            }
            let mut ok = true;
            for p in pkts {
                ok &= self.packet(dir, &p);
            }
            ok
        } else {
            self.packet(dir, data)
        };
        if !ok {
            return Progress::NotThisProtocol;
        }
        if (self.client.is_some() && self.server.is_some()) || self.seen >= 8 {
            self.emit(ts, out);
            return Progress::Done;
        }
        Progress::Continue
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        self.emit(ts, out);
    }

    fn flow_fields(&self, f: &mut Fields) {
        if let Some(c) = &self.client {
            f.insert("mamori.openvpn.opcode".into(), Value::from(c.opcode.name()));
            f.insert(
                "mamori.openvpn.client_session_id".into(),
                Value::from(hex_lower(&c.session_id)),
            );
            let mode = match c.hmac_len {
                Some(0) => "none",
                Some(_) => "tls-auth",
                None => "tls-crypt",
            };
            f.insert(
                "mamori.openvpn.control_protection".into(),
                Value::from(mode),
            );
        }
        if let Some(s) = &self.server {
            f.insert(
                "mamori.openvpn.server_session_id".into(),
                Value::from(hex_lower(&s.session_id)),
            );
        }
    }
}
