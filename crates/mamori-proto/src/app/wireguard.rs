//! WireGuard over UDP: message types 1–4 with their exact sizes (initiation 148, response
//! 92, cookie reply 64, transport data ≥ 32 and 16-byte aligned) and zero reserved bytes.
//! Records the handshake messages with their sender/receiver indices.

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Handshake initiation.
pub const MSG_INITIATION: u8 = 1;
/// Handshake response.
pub const MSG_RESPONSE: u8 = 2;
/// Cookie reply.
pub const MSG_COOKIE: u8 = 3;
/// Transport data.
pub const MSG_DATA: u8 = 4;
/// Size of a handshake initiation.
pub const INITIATION_LEN: usize = 148;
/// Size of a handshake response.
pub const RESPONSE_LEN: usize = 92;
/// Size of a cookie reply.
pub const COOKIE_LEN: usize = 64;
/// Smallest transport data message (header plus an empty keepalive's tag).
pub const MIN_DATA_LEN: usize = 32;
/// Handshake records per flow.
pub const MAX_RECORDS_PER_FLOW: usize = 256;

/// The message type if `d` is a well-formed WireGuard message.
pub fn message_type(d: &[u8]) -> Option<u8> {
    let (&ty, reserved) = (d.first()?, d.get(1..4)?);
    if reserved != [0, 0, 0] {
        return None;
    }
    let ok = match ty {
        MSG_INITIATION => d.len() == INITIATION_LEN,
        MSG_RESPONSE => d.len() == RESPONSE_LEN,
        MSG_COOKIE => d.len() == COOKIE_LEN,
        MSG_DATA => d.len() >= MIN_DATA_LEN && d.len().is_multiple_of(16),
        _ => false,
    };
    ok.then_some(ty)
}

/// Probe: handshake messages are `Yes`; transport data alone is only `Maybe`.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    match message_type(data) {
        Some(MSG_DATA) => Probe::Maybe,
        Some(_) => Probe::Yes,
        None => Probe::No,
    }
}

/// A fresh WireGuard dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(WireGuardDissector::default())
}

/// WireGuard dissector.
#[derive(Debug, Default)]
pub struct WireGuardDissector {
    handshakes: u64,
    data_messages: u64,
    records: usize,
    counters: Counters,
}

impl WireGuardDissector {
    /// Counters of dropped input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

fn le32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl Dissector for WireGuardDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, _dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let Some(ty) = message_type(data) else {
            self.counters.incr("wireguard_bad_message");
            return if self.handshakes == 0 && self.data_messages == 0 {
                Progress::NotThisProtocol
            } else {
                Progress::Continue
            };
        };
        if ty == MSG_DATA {
            self.data_messages += 1;
            return Progress::Continue;
        }
        if ty == MSG_INITIATION {
            self.handshakes += 1;
        }
        if self.records >= MAX_RECORDS_PER_FLOW {
            self.counters.incr("records_over_limit");
            return Progress::Continue;
        }
        self.records += 1;
        let mut f = Fields::new();
        let name = match ty {
            MSG_INITIATION => "handshake_initiation",
            MSG_RESPONSE => "handshake_response",
            _ => "cookie_reply",
        };
        f.insert("mamori.wireguard.message_type".into(), Value::from(name));
        if let Some(s) = le32(data, 4).filter(|_| ty != MSG_COOKIE) {
            f.insert("mamori.wireguard.sender_index".into(), Value::from(s));
        }
        let recv = match ty {
            MSG_RESPONSE => le32(data, 8),
            MSG_COOKIE => le32(data, 4),
            _ => None,
        };
        if let Some(r) = recv {
            f.insert("mamori.wireguard.receiver_index".into(), Value::from(r));
        }
        out.push(Record {
            dataset: "wireguard",
            ts,
            fields: f,
        });
        Progress::Continue
    }

    fn flow_fields(&self, f: &mut Fields) {
        f.insert(
            "mamori.wireguard.handshakes".into(),
            Value::from(self.handshakes),
        );
        f.insert(
            "mamori.wireguard.data_messages".into(),
            Value::from(self.data_messages),
        );
    }
}
