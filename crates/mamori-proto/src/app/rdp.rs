//! RDP connection setup (3389): TPKT + X.224 Connection Request/Confirm (MS-RDPBCGR 2.2.1.1
//! and 2.2.1.2).
//!
//! One `rdp` record per connection attempt: `mamori.rdp.cookie` (the `mstshash=` user name
//! the client sent, truncated by the client to 9 characters by design), `mamori.rdp.routing_token`,
//! `mamori.rdp.requested_protocols` (`rdp`, `tls`, `credssp`, `rdstls`, `credssp_early_auth`,
//! `rdsaad`), `mamori.rdp.selected_protocol` or `mamori.rdp.failure` from the server's
//! negotiation response, and `mamori.rdp.security`: `standard` when classic RDP encryption
//! was selected (no TLS/NLA — weak). After the confirm, traffic is TLS or RDP-encrypted and the
//! dissector reports [`Progress::Done`].

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{
    be16, bounded_str, le32, set, Emitter, Frame, Streams, MAX_RECORDS_PER_FLOW,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Longest TPKT accepted during connection setup.
pub const MAX_TPKT_LEN: usize = 8 * 1024;
/// Longest cookie copied.
pub const MAX_COOKIE_LEN: usize = 256;

/// Names of the bits of `requestedProtocols`/`selectedProtocol`.
pub fn protocol_names(bits: u32) -> Vec<&'static str> {
    let mut v = Vec::new();
    if bits == 0 {
        v.push("rdp");
    }
    for (b, n) in [
        (0x1, "tls"),
        (0x2, "credssp"),
        (0x4, "rdstls"),
        (0x8, "credssp_early_auth"),
        (0x10, "rdsaad"),
    ] {
        if bits & b != 0 {
            v.push(n);
        }
    }
    v
}

fn failure_name(c: u32) -> Value {
    match c {
        1 => "ssl_required_by_server".into(),
        2 => "ssl_not_allowed_by_server".into(),
        3 => "ssl_cert_not_on_server".into(),
        4 => "inconsistent_flags".into(),
        5 => "hybrid_required_by_server".into(),
        6 => "ssl_with_user_auth_required_by_server".into(),
        n => Value::from(n),
    }
}

/// Probe: TPKT version 3 carrying an X.224 Connection Request (client) or Confirm (server).
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    let Some(&v) = data.first() else {
        return Probe::No;
    };
    if v != 3 {
        return Probe::No;
    }
    let (Some(&rsv), Some(len)) = (data.get(1), be16(data, 2)) else {
        return if data.get(1).is_none_or(|&r| r == 0) {
            Probe::Maybe
        } else {
            Probe::No
        };
    };
    if rsv != 0 || !(11..=MAX_TPKT_LEN as u16).contains(&len) {
        return Probe::No;
    }
    let (Some(&li), Some(&code)) = (data.get(4), data.get(5)) else {
        return Probe::Maybe;
    };
    if !matches!(code, 0xe0 | 0xd0) || usize::from(li) + 5 > usize::from(len) || li < 6 {
        return Probe::No;
    }
    // The variable part tells RDP apart from other ISO-on-TCP users of X.224 (S7comm and
    // friends carry COTP parameters 0xC0–0xC2 there): RDP has nothing, a cookie, or its
    // negotiation structure (type 1 request, 2 response, 3 failure, length 8).
    let Some(var) = data.get(11..5 + usize::from(li)) else {
        return Probe::Maybe;
    };
    let neg_ok = |v: &[u8]| {
        let want_type = if code == 0xe0 { 1 } else { 2 };
        v.first()
            .is_some_and(|&t| t == want_type || (code == 0xd0 && t == 3))
            && v.get(2..4) == Some(&[8, 0][..])
    };
    if var.is_empty() || var.starts_with(b"Cookie: ") || neg_ok(var) {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// Per-flow RDP dissector.
#[derive(Debug, Default)]
pub struct RdpDissector {
    streams: Streams,
    counters: Counters,
    emitter: Emitter,
    request: Option<(Timestamp, Fields)>,
    summary: Fields,
    done: bool,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<RdpDissector>::default()
}

/// Decode an X.224 Connection Request TPDU (after TPKT).
fn connection_request(x: &[u8]) -> Fields {
    let mut f = Fields::new();
    let li = usize::from(x.first().copied().unwrap_or(0));
    // LI, code, dst-ref(2), src-ref(2), class: variable part starts at 7.
    let var = x.get(7..(li + 1).min(x.len())).unwrap_or(&[]);
    let mut neg = var;
    if let Some(rest) = var.strip_prefix(b"Cookie: ") {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(rest.len());
        let cookie = rest.get(..end).unwrap_or(&[]);
        if let Some(user) = cookie.strip_prefix(b"mstshash=") {
            set!(f, "mamori.rdp.cookie", bounded_str(user, MAX_COOKIE_LEN));
        } else {
            set!(
                f,
                "mamori.rdp.routing_token",
                bounded_str(cookie, MAX_COOKIE_LEN)
            );
        }
        neg = rest.get(end + 2..).unwrap_or(&[]);
    } else if var.starts_with(b"Cookie: msts=") || var.starts_with(b"Cookie:") {
        neg = &[];
    }
    // RDP_NEG_REQ: type 1, flags, length 8, requestedProtocols (LE).
    if neg.first() == Some(&1) {
        if let Some(p) = le32(neg, 4) {
            set!(f, "mamori.rdp.requested_protocols", protocol_names(p));
        }
    } else {
        set!(f, "mamori.rdp.requested_protocols", vec!["rdp"]);
    }
    f
}

fn connection_confirm(x: &[u8], f: &mut Fields) {
    let li = usize::from(x.first().copied().unwrap_or(0));
    let neg = x.get(7..(li + 1).min(x.len())).unwrap_or(&[]);
    match neg.first() {
        Some(2) => {
            if let Some(p) = le32(neg, 4) {
                let names = protocol_names(p);
                let sec = if p == 0 { "standard" } else { "enhanced" };
                set!(
                    f,
                    "mamori.rdp.selected_protocol",
                    names.first().copied().unwrap_or("rdp")
                );
                set!(f, "mamori.rdp.security", sec);
                set!(f, "event.outcome", "success");
            }
        }
        Some(3) => {
            if let Some(c) = le32(neg, 4) {
                set!(f, "mamori.rdp.failure", failure_name(c));
                set!(f, "event.outcome", "failure");
            }
        }
        _ => {
            // No negotiation data: legacy server, standard RDP security.
            set!(f, "mamori.rdp.selected_protocol", "rdp");
            set!(f, "mamori.rdp.security", "standard");
            set!(f, "event.outcome", "success");
        }
    }
}

impl RdpDissector {
    /// Counters of malformed input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn emit(&mut self, out: &mut Vec<Record>, ts: Timestamp, f: Fields) {
        for (k, v) in &f {
            self.summary.insert(k.clone(), v.clone());
        }
        self.emitter
            .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "rdp", ts, f);
    }
}

impl Dissector for RdpDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.done {
            return Progress::Done;
        }
        let mut tpdus: Vec<Vec<u8>> = Vec::new();
        let ok = self.streams.get(dir).feed(data, &mut self.counters, |d| {
            let (Some(&v), Some(len)) = (d.first(), be16(d, 2)) else {
                return if d.first().is_some_and(|&v| v != 3) {
                    Frame::Bad
                } else {
                    Frame::Need
                };
            };
            if v != 3 || usize::from(len) < 7 || usize::from(len) > MAX_TPKT_LEN {
                return Frame::Bad;
            }
            match d.get(4..usize::from(len)) {
                Some(x) => {
                    tpdus.push(x.to_vec());
                    Frame::Take(usize::from(len))
                }
                None => Frame::Need,
            }
        });
        for x in tpdus {
            match (x.get(1).copied(), dir) {
                (Some(0xe0), Dir::ToServer) => {
                    let f = connection_request(&x);
                    if let Some((t, old)) = self.request.take() {
                        self.emit(out, t, old);
                    }
                    self.request = Some((ts, f));
                }
                (Some(0xd0), Dir::ToClient) => {
                    let mut f = self.request.take().map(|(_, f)| f).unwrap_or_default();
                    connection_confirm(&x, &mut f);
                    self.emit(out, ts, f);
                    self.done = true;
                    return Progress::Done;
                }
                _ => {}
            }
        }
        if !ok && self.streams.both_dead() {
            return Progress::Done;
        }
        Progress::Continue
    }

    fn gap(&mut self, dir: Dir, _len: usize) {
        self.counters.incr("gap");
        self.streams.get(dir).kill();
    }

    fn finish(&mut self, _ts: Timestamp, out: &mut Vec<Record>) {
        if let Some((t, f)) = self.request.take() {
            self.emit(out, t, f);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        for k in [
            "mamori.rdp.cookie",
            "mamori.rdp.selected_protocol",
            "mamori.rdp.security",
        ] {
            if let Some(v) = self.summary.get(k) {
                fields.insert(Cow::Borrowed(k), v.clone());
            }
        }
    }
}
