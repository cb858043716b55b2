//! MQTT 3.1, 3.1.1 and 5.0 over TCP (1883).
//!
//! CONNECT and its CONNACK become one `mqtt` record: `mamori.mqtt.client_id`, `user.name`,
//! `mamori.mqtt.protocol_level` (3, 4, 5), `mamori.mqtt.protocol_name`,
//! `mamori.mqtt.password_present` (credentials in cleartext), `mamori.mqtt.connect_return_code`
//! and `event.outcome`. SUBSCRIBE becomes a record with its topic filters. PUBLISH topics are
//! collected (at most [`MAX_TOPICS`] distinct) with a publish count into the flow summary
//! (`mamori.mqtt.publish_topics`, `mamori.mqtt.publish_count`); payloads are skipped unread.

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{
    be16, bounded_str, set, Emitter, Frame, Streams, MAX_RECORDS_PER_FLOW,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Distinct PUBLISH topics kept per flow.
pub const MAX_TOPICS: usize = 32;
/// Topic filters kept per SUBSCRIBE.
pub const MAX_FILTERS: usize = 16;
/// Longest string copied (client id, user, topic).
pub const MAX_STR_LEN: usize = 256;
/// Bytes of a packet kept for parsing (the head of a large PUBLISH holds its topic).
pub const MAX_PACKET_HEAD: usize = 64 * 1024;

/// Bytes of a large packet's body awaited before its head is parsed.
const HEAD_WANTED: usize = 4096;

/// Packet type name.
pub fn packet_type_name(t: u8) -> &'static str {
    match t {
        1 => "CONNECT",
        2 => "CONNACK",
        3 => "PUBLISH",
        4 => "PUBACK",
        5 => "PUBREC",
        6 => "PUBREL",
        7 => "PUBCOMP",
        8 => "SUBSCRIBE",
        9 => "SUBACK",
        10 => "UNSUBSCRIBE",
        11 => "UNSUBACK",
        12 => "PINGREQ",
        13 => "PINGRESP",
        14 => "DISCONNECT",
        15 => "AUTH",
        _ => "reserved",
    }
}

/// Fixed header: `(type, flags, header length, remaining length)`; `Err(true)` means more
/// bytes are needed, `Err(false)` malformed.
fn fixed_header(d: &[u8]) -> Result<(u8, u8, usize, usize), bool> {
    let b0 = *d.first().ok_or(true)?;
    let mut len = 0usize;
    for i in 0..4 {
        let b = *d.get(1 + i).ok_or(true)?;
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((b0 >> 4, b0 & 0xf, 2 + i, len));
        }
    }
    Err(false)
}

fn varint(d: &[u8]) -> Option<(usize, usize)> {
    let mut v = 0usize;
    for i in 0..4 {
        let b = *d.get(i)?;
        v |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn mstr(d: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let l = usize::from(be16(d, pos)?);
    Some((d.get(pos + 2..pos + 2 + l)?, pos + 2 + l))
}

/// Probe: a CONNECT packet naming the protocol `MQTT` or `MQIsdp` with a known level.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    match data.first() {
        None => return Probe::No,
        Some(0x10) => {}
        Some(_) => return Probe::No,
    }
    let (hl, rem) = match fixed_header(data) {
        Ok((_, _, hl, rem)) => (hl, rem),
        Err(true) => return Probe::Maybe,
        Err(false) => return Probe::No,
    };
    if rem < 10 {
        return Probe::No;
    }
    let body = data.get(hl..).unwrap_or(&[]);
    let expect: [&[u8]; 2] = [b"\x00\x04MQTT", b"\x00\x06MQIsdp"];
    for e in expect {
        let n = body.len().min(e.len());
        if body.get(..n) == e.get(..n) {
            if body.len() < e.len() + 1 {
                return Probe::Maybe;
            }
            return match body.get(e.len()) {
                Some(3..=5) => Probe::Yes,
                _ => Probe::No,
            };
        }
    }
    Probe::No
}

#[derive(Debug, Default)]
struct State {
    pending_connect: Option<(Timestamp, Fields)>,
    level: u8,
    topics: Vec<String>,
    publishes: u64,
    summary: Option<(Option<String>, Option<String>)>,
}

/// Per-flow MQTT dissector.
#[derive(Debug, Default)]
pub struct MqttDissector {
    streams: Streams,
    state: State,
    counters: Counters,
    emitter: Emitter,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<MqttDissector>::default()
}

fn connect(body: &[u8], st: &mut State) -> Option<Fields> {
    let mut f = Fields::new();
    let (name, p) = mstr(body, 0)?;
    let level = *body.get(p)?;
    let flags = *body.get(p + 1)?;
    let mut pos = p + 4; // level, flags, keep-alive
    set!(f, "mamori.mqtt.protocol_name", bounded_str(name, 16));
    set!(f, "mamori.mqtt.protocol_level", level);
    st.level = level;
    if level == 5 {
        let (plen, n) = varint(body.get(pos..)?)?;
        pos += n + plen;
    }
    let (cid, p) = mstr(body, pos)?;
    pos = p;
    set!(f, "mamori.mqtt.client_id", bounded_str(cid, MAX_STR_LEN));
    if flags & 0x04 != 0 {
        if level == 5 {
            let (plen, n) = varint(body.get(pos..)?)?;
            pos += n + plen;
        }
        let (wt, p) = mstr(body, pos)?;
        set!(f, "mamori.mqtt.will_topic", bounded_str(wt, MAX_STR_LEN));
        let (_wp, p) = mstr(body, p)?;
        pos = p;
    }
    if flags & 0x80 != 0 {
        if let Some((u, p)) = mstr(body, pos) {
            set!(f, "user.name", bounded_str(u, MAX_STR_LEN));
            pos = p;
        }
    }
    let password = flags & 0x40 != 0 && mstr(body, pos).is_some_and(|(pw, _)| !pw.is_empty());
    set!(f, "mamori.mqtt.password_present", password);
    Some(f)
}

fn connack_code(code: u8, level: u8) -> (Value, &'static str) {
    let outcome = if code == 0 { "success" } else { "failure" };
    let name = if level == 5 {
        match code {
            0 => "success",
            0x80 => "unspecified_error",
            0x84 => "unsupported_protocol_version",
            0x85 => "client_identifier_not_valid",
            0x86 => "bad_user_name_or_password",
            0x87 => "not_authorized",
            0x88 => "server_unavailable",
            0x8a => "banned",
            _ => return (Value::from(code), outcome),
        }
    } else {
        match code {
            0 => "accepted",
            1 => "unacceptable_protocol_version",
            2 => "identifier_rejected",
            3 => "server_unavailable",
            4 => "bad_user_name_or_password",
            5 => "not_authorized",
            _ => return (Value::from(code), outcome),
        }
    };
    (Value::from(name), outcome)
}

impl MqttDissector {
    /// Counters of malformed or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

/// Handle one packet (possibly only its head when large); returns records to emit.
fn packet(
    st: &mut State,
    ptype: u8,
    body: &[u8],
    ts: Timestamp,
    records: &mut Vec<(Timestamp, Fields)>,
    counters: &mut Counters,
) {
    match ptype {
        1 => match connect(body, st) {
            Some(f) => {
                if st.summary.is_none() {
                    let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_owned);
                    st.summary = Some((s("mamori.mqtt.client_id"), s("user.name")));
                }
                if let Some(p) = st.pending_connect.take() {
                    records.push(p);
                }
                st.pending_connect = Some((ts, f));
            }
            None => counters.incr("malformed_connect"),
        },
        2 => {
            let code = body.get(1).copied().unwrap_or(0);
            let (name, outcome) = connack_code(code, st.level);
            let mut f = st
                .pending_connect
                .take()
                .map(|(_, f)| f)
                .unwrap_or_default();
            set!(f, "mamori.mqtt.connect_return_code", name);
            set!(f, "event.outcome", outcome);
            records.push((ts, f));
        }
        3 => {
            st.publishes += 1;
            if let Some((t, _)) = mstr(body, 0) {
                let t = bounded_str(t, MAX_STR_LEN);
                if !st.topics.contains(&t) {
                    if st.topics.len() < MAX_TOPICS {
                        st.topics.push(t);
                    } else {
                        counters.incr("topics_over_limit");
                    }
                }
            }
        }
        8 => {
            // Packet id, (v5 properties), then (topic filter, options) pairs.
            let mut pos = 2;
            if st.level == 5 {
                if let Some((plen, n)) = body.get(pos..).and_then(varint) {
                    pos += n + plen;
                }
            }
            let mut filters = Vec::new();
            while filters.len() < MAX_FILTERS {
                let Some((t, p)) = mstr(body, pos) else { break };
                filters.push(Value::from(bounded_str(t, MAX_STR_LEN)));
                pos = p + 1;
            }
            let mut f = Fields::new();
            set!(f, "mamori.mqtt.packet_type", "SUBSCRIBE");
            set!(f, "mamori.mqtt.subscribe_topics", filters);
            records.push((ts, f));
        }
        _ => {}
    }
}

impl Dissector for MqttDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let mut recs = Vec::new();
        let Self {
            streams,
            state,
            counters,
            ..
        } = self;
        let mut inner = Counters::new();
        let ok = streams
            .get(dir)
            .feed(data, counters, |d| match fixed_header(d) {
                Err(true) => Frame::Need,
                Err(false) => Frame::Bad,
                Ok((ptype, _, hl, rem)) => {
                    if ptype == 0 {
                        return Frame::Bad;
                    }
                    let total = hl + rem;
                    match d.get(hl..total) {
                        Some(body) => {
                            packet(state, ptype, body, ts, &mut recs, &mut inner);
                            Frame::Take(total)
                        }
                        None if total > MAX_PACKET_HEAD && d.len() >= hl + HEAD_WANTED => {
                            // Large packet: parse its head now, skip the rest unbuffered.
                            packet(
                                state,
                                ptype,
                                d.get(hl..).unwrap_or(&[]),
                                ts,
                                &mut recs,
                                &mut inner,
                            );
                            Frame::Take(total)
                        }
                        None => Frame::Need,
                    }
                }
            });
        self.counters.merge(&inner);
        for (t, mut f) in recs {
            f.entry(Cow::Borrowed("mamori.mqtt.packet_type"))
                .or_insert_with(|| Value::from("CONNECT"));
            self.emitter
                .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "mqtt", t, f);
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
        if let Some((t, mut f)) = self.state.pending_connect.take() {
            set!(f, "mamori.mqtt.packet_type", "CONNECT");
            self.emitter
                .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "mqtt", t, f);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some((c, u)) = &self.state.summary {
            if let Some(c) = c {
                fields.insert(
                    Cow::Borrowed("mamori.mqtt.client_id"),
                    Value::from(c.clone()),
                );
            }
            if let Some(u) = u {
                fields.insert(Cow::Borrowed("user.name"), Value::from(u.clone()));
            }
        }
        if self.state.publishes > 0 {
            fields.insert(
                Cow::Borrowed("mamori.mqtt.publish_count"),
                Value::from(self.state.publishes),
            );
            let t: Vec<Value> = self
                .state
                .topics
                .iter()
                .map(|t| Value::from(t.clone()))
                .collect();
            fields.insert(Cow::Borrowed("mamori.mqtt.publish_topics"), Value::List(t));
        }
    }
}
