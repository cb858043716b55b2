//! TFTP (RFC 1350, 69/udp): read and write requests (`file.name`, `mamori.tftp.mode`,
//! `mamori.tftp.operation`, RFC 2347 options) and error packets become `tftp` records.
//!
//! The server answers from a new port, so the transfer itself is normally a different flow;
//! when DATA/ACK packets do appear on this flow they are counted into the flow summary
//! (`mamori.tftp.data_blocks`, `mamori.tftp.data_bytes`).

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{be16, bounded_str, set, Emitter, MAX_RECORDS_PER_FLOW};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Longest file name copied.
pub const MAX_NAME_LEN: usize = 512;
/// Option pairs read from a request.
pub const MAX_OPTIONS: usize = 16;
/// Transfer modes.
pub const MODES: &[&str] = &["netascii", "octet", "mail"];

fn cstr(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let z = b.iter().position(|&c| c == 0)?;
    Some((b.get(..z)?, b.get(z + 1..)?))
}

/// Probe: RRQ/WRQ with a printable file name and a known mode, or an ERROR packet.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    let Some(op) = be16(data, 0) else {
        return if data.first().is_some_and(|&c| c == 0) {
            Probe::Maybe
        } else {
            Probe::No
        };
    };
    match op {
        1 | 2 => {
            let Some((name, rest)) = cstr(data.get(2..).unwrap_or(&[])) else {
                return Probe::No;
            };
            if name.is_empty()
                || !name
                    .iter()
                    .all(|c| c.is_ascii_graphic() || *c == b' ' || *c >= 0x80)
            {
                return Probe::No;
            }
            match cstr(rest) {
                Some((mode, _))
                    if MODES
                        .iter()
                        .any(|m| m.as_bytes().eq_ignore_ascii_case(mode)) =>
                {
                    Probe::Yes
                }
                _ => Probe::No,
            }
        }
        5 => match (be16(data, 2), cstr(data.get(4..).unwrap_or(&[]))) {
            (Some(code), Some((msg, rest)))
                if code <= 8
                    && rest.is_empty()
                    && msg.iter().all(|c| c.is_ascii_graphic() || *c == b' ') =>
            {
                Probe::Yes
            }
            _ => Probe::No,
        },
        _ => Probe::No,
    }
}

fn error_name(code: u16) -> Value {
    match code {
        0 => "not_defined".into(),
        1 => "file_not_found".into(),
        2 => "access_violation".into(),
        3 => "disk_full".into(),
        4 => "illegal_operation".into(),
        5 => "unknown_transfer_id".into(),
        6 => "file_exists".into(),
        7 => "no_such_user".into(),
        8 => "option_negotiation_failed".into(),
        n => Value::from(n),
    }
}

/// Per-flow TFTP dissector.
#[derive(Debug, Default)]
pub struct TftpDissector {
    counters: Counters,
    emitter: Emitter,
    first_file: Option<String>,
    data_blocks: u64,
    data_bytes: u64,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<TftpDissector>::default()
}

impl TftpDissector {
    /// Counters of malformed input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Dissector for TftpDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, _dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let Some(op) = be16(data, 0) else {
            self.counters.incr("malformed_message");
            return Progress::Continue;
        };
        let mut f = Fields::new();
        match op {
            1 | 2 => {
                let Some((name, rest)) = cstr(data.get(2..).unwrap_or(&[])) else {
                    self.counters.incr("malformed_message");
                    return Progress::Continue;
                };
                let file = bounded_str(name, MAX_NAME_LEN);
                set!(
                    f,
                    "mamori.tftp.operation",
                    if op == 1 { "read" } else { "write" }
                );
                set!(f, "file.name", file.clone());
                if self.first_file.is_none() {
                    self.first_file = Some(file);
                }
                let mut rest = rest;
                if let Some((mode, r)) = cstr(rest) {
                    set!(
                        f,
                        "mamori.tftp.mode",
                        bounded_str(mode, 16).to_ascii_lowercase()
                    );
                    rest = r;
                }
                let mut opts = Vec::new();
                for _ in 0..MAX_OPTIONS {
                    let Some((k, r)) = cstr(rest) else { break };
                    let Some((v, r)) = cstr(r) else { break };
                    opts.push(Value::from(format!(
                        "{}={}",
                        bounded_str(k, 32),
                        bounded_str(v, 32)
                    )));
                    rest = r;
                }
                if !opts.is_empty() {
                    set!(f, "mamori.tftp.options", opts);
                }
            }
            5 => {
                let code = be16(data, 2).unwrap_or(0);
                set!(f, "mamori.tftp.operation", "error");
                set!(f, "mamori.tftp.error_code", error_name(code));
                if let Some((msg, _)) = cstr(data.get(4..).unwrap_or(&[])) {
                    set!(
                        f,
                        "mamori.tftp.error_message",
                        bounded_str(msg, MAX_NAME_LEN)
                    );
                }
            }
            3 => {
                self.data_blocks += 1;
                self.data_bytes += data.len().saturating_sub(4) as u64;
                return Progress::Continue;
            }
            4 | 6 => return Progress::Continue,
            _ => {
                self.counters.incr("malformed_message");
                return Progress::Continue;
            }
        }
        self.emitter
            .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "tftp", ts, f);
        Progress::Continue
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some(n) = &self.first_file {
            fields.insert(Cow::Borrowed("file.name"), Value::from(n.clone()));
        }
        if self.data_blocks > 0 {
            fields.insert(
                Cow::Borrowed("mamori.tftp.data_blocks"),
                Value::from(self.data_blocks),
            );
            fields.insert(
                Cow::Borrowed("mamori.tftp.data_bytes"),
                Value::from(self.data_bytes),
            );
        }
    }
}
