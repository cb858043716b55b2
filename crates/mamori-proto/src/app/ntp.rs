//! NTP (123/udp): one `ntp` record per packet with `mamori.ntp.version`, `mode`, `stratum`,
//! `reference_id`, `poll`; control (mode 6) and private (mode 7) requests are flagged, and the
//! `monlist` request of mode 7 (an amplification vector) sets `mamori.ntp.monlist`.

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{set, Emitter, MAX_RECORDS_PER_FLOW};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Size of the fixed NTP header (modes 1 to 5).
pub const HEADER_LEN: usize = 48;
/// Largest packet accepted as NTP (extension fields and MACs included).
pub const MAX_PACKET_LEN: usize = 1024;
/// NTPv4 extension fields walked by the probe.
const MAX_EXTENSIONS: usize = 8;
/// Records per flow (an NTP flow polls for hours).
pub const MAX_RECORDS: usize = MAX_RECORDS_PER_FLOW;

/// Mode name.
pub fn mode_name(m: u8) -> &'static str {
    match m {
        0 => "reserved",
        1 => "symmetric_active",
        2 => "symmetric_passive",
        3 => "client",
        4 => "server",
        5 => "broadcast",
        6 => "control",
        _ => "private",
    }
}

/// What follows the 48-byte header: nothing, a crypto-NAK, a MAC (key id + MD5/SHA-1), or
/// well-formed NTPv4 extension fields optionally followed by a MAC.
fn trailer_ok(data: &[u8]) -> bool {
    let mut pos = HEADER_LEN;
    if matches!(data.len() - pos.min(data.len()), 0 | 4 | 20 | 24) {
        return true;
    }
    for _ in 0..MAX_EXTENSIONS {
        let rest = data.len().saturating_sub(pos);
        if matches!(rest, 0 | 20 | 24) {
            return true;
        }
        let Some(len) = super::registry_a::util::be16(data, pos + 2) else {
            return false;
        };
        let len = usize::from(len);
        if len < 16 || len % 4 != 0 || len > rest {
            return false;
        }
        pos += len;
    }
    false
}

/// Probe: a plausible header for the packet's mode.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    let Some(&b0) = data.first() else {
        return Probe::No;
    };
    let vn = (b0 >> 3) & 7;
    let mode = b0 & 7;
    if !(1..=4).contains(&vn) || data.len() > MAX_PACKET_LEN {
        return Probe::No;
    }
    match mode {
        1..=5 => {
            if data.len() < HEADER_LEN {
                return Probe::Maybe;
            }
            let stratum = data.get(1).copied().unwrap_or(255);
            let poll = data.get(2).copied().unwrap_or(0) as i8;
            if stratum <= 16 && (-7..=17).contains(&poll) && trailer_ok(data) {
                Probe::Yes
            } else {
                Probe::No
            }
        }
        6 => {
            // R E M opcode | sequence | status | association | offset | count | data.
            let (Some(op), Some(count)) = (data.get(1), super::registry_a::util::be16(data, 10))
            else {
                return Probe::Maybe;
            };
            let body = data.len().saturating_sub(12);
            let count = usize::from(count);
            if (1..=31).contains(&(op & 0x1f)) && body >= count && body - count < 4 {
                Probe::Yes
            } else {
                Probe::No
            }
        }
        7 => {
            // R M VN mode | A sequence | implementation | request code | err/nitems | mbz/size.
            let (Some(&imp), Some(&req)) = (data.get(2), data.get(3)) else {
                return Probe::Maybe;
            };
            let err = data.get(4).map_or(0, |b| b >> 4);
            let response = b0 & 0x80 != 0;
            if data.len() >= 8 && matches!(imp, 0 | 2 | 3) && req < 50 && (response || err == 0) {
                Probe::Yes
            } else if data.len() < 8 {
                Probe::Maybe
            } else {
                Probe::No
            }
        }
        _ => Probe::No,
    }
}

/// Decode one packet; `None` when too short for its mode.
pub fn parse(data: &[u8]) -> Option<Fields> {
    let b0 = *data.first()?;
    let vn = (b0 >> 3) & 7;
    let mode = b0 & 7;
    let mut f = Fields::new();
    set!(f, "mamori.ntp.version", vn);
    set!(f, "mamori.ntp.mode", mode_name(mode));
    match mode {
        1..=5 => {
            if data.len() < HEADER_LEN {
                return None;
            }
            let stratum = *data.get(1)?;
            set!(f, "mamori.ntp.leap_indicator", b0 >> 6);
            set!(f, "mamori.ntp.stratum", stratum);
            set!(f, "mamori.ntp.poll", *data.get(2)? as i8);
            set!(f, "mamori.ntp.precision", *data.get(3)? as i8);
            let r = data.get(12..16)?;
            let refid = if stratum <= 1 {
                r.iter()
                    .take_while(|c| **c != 0)
                    .map(|&c| {
                        if c.is_ascii_graphic() {
                            char::from(c)
                        } else {
                            '.'
                        }
                    })
                    .collect::<String>()
            } else {
                format!("{}.{}.{}.{}", r.first()?, r.get(1)?, r.get(2)?, r.get(3)?)
            };
            if stratum == 0 && mode == 4 && !refid.is_empty() {
                set!(f, "mamori.ntp.kiss_code", refid.clone());
            }
            if !refid.is_empty() {
                set!(f, "mamori.ntp.reference_id", refid);
            }
        }
        6 => {
            let op = *data.get(1)?;
            set!(f, "mamori.ntp.response", op & 0x80 != 0);
            set!(f, "mamori.ntp.control_opcode", op & 0x1f);
        }
        7 => {
            let req = *data.get(3)?;
            let response = b0 & 0x80 != 0;
            set!(f, "mamori.ntp.response", response);
            set!(f, "mamori.ntp.implementation", *data.get(2)?);
            set!(f, "mamori.ntp.request_code", req);
            // MON_GETLIST (20) and MON_GETLIST_1 (42): the monlist amplification request.
            if req == 20 || req == 42 {
                set!(f, "mamori.ntp.monlist", true);
            }
        }
        _ => {}
    }
    Some(f)
}

/// Per-flow NTP dissector.
#[derive(Debug, Default)]
pub struct NtpDissector {
    counters: Counters,
    emitter: Emitter,
    version: Option<i64>,
    monlist: bool,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<NtpDissector>::default()
}

impl NtpDissector {
    /// Counters of malformed input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Dissector for NtpDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, _dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        match parse(data) {
            Some(f) => {
                if self.version.is_none() {
                    self.version = f.get("mamori.ntp.version").and_then(Value::as_i64);
                }
                self.monlist |= f.contains_key("mamori.ntp.monlist");
                self.emitter
                    .emit(out, &mut self.counters, MAX_RECORDS, "ntp", ts, f);
            }
            None => self.counters.incr("malformed_message"),
        }
        Progress::Continue
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some(v) = self.version {
            fields.insert(Cow::Borrowed("mamori.ntp.version"), Value::from(v));
        }
        if self.monlist {
            fields.insert(Cow::Borrowed("mamori.ntp.monlist"), Value::from(true));
        }
    }
}
