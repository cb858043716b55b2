//! Modbus/TCP (502): MBAP framing, requests paired with responses by transaction id.
//!
//! Every transaction other than a routine successful read (function codes 1–4) becomes one
//! `modbus` record: `mamori.modbus.unit_id`, `.function_code`, `.function` (name), `.write`
//! (true for functions that change coils, registers or files), `.address`, `.quantity`,
//! `.exception` (exception code name) and `event.outcome`. Reads are counted into the flow
//! summary (`mamori.modbus.reads`) together with the distinct function codes seen, so a
//! polling SCADA master does not flood the record stream while writes, diagnostics and
//! errors always surface.

use std::borrow::Cow;
use std::collections::VecDeque;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{be16, set, Emitter, Frame, Streams, MAX_RECORDS_PER_FLOW};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Largest MBAP length (unit id + 253-byte PDU).
pub const MAX_MBAP_LEN: usize = 254;
/// Transactions awaiting a response.
pub const MAX_PENDING: usize = 64;
/// Distinct function codes listed in the flow summary.
pub const MAX_FUNCTIONS: usize = 32;

/// Function code name.
pub fn function_name(fc: u8) -> Option<&'static str> {
    Some(match fc {
        1 => "read_coils",
        2 => "read_discrete_inputs",
        3 => "read_holding_registers",
        4 => "read_input_registers",
        5 => "write_single_coil",
        6 => "write_single_register",
        7 => "read_exception_status",
        8 => "diagnostics",
        11 => "get_comm_event_counter",
        12 => "get_comm_event_log",
        15 => "write_multiple_coils",
        16 => "write_multiple_registers",
        17 => "report_server_id",
        20 => "read_file_record",
        21 => "write_file_record",
        22 => "mask_write_register",
        23 => "read_write_multiple_registers",
        24 => "read_fifo_queue",
        43 => "encapsulated_interface_transport",
        90 => "schneider_umas",
        _ => return None,
    })
}

/// Whether a function writes to the device.
pub fn is_write(fc: u8) -> bool {
    matches!(fc, 5 | 6 | 15 | 16 | 21 | 22 | 23)
}

fn exception_name(c: u8) -> Value {
    match c {
        1 => "illegal_function".into(),
        2 => "illegal_data_address".into(),
        3 => "illegal_data_value".into(),
        4 => "server_device_failure".into(),
        5 => "acknowledge".into(),
        6 => "server_device_busy".into(),
        8 => "memory_parity_error".into(),
        10 => "gateway_path_unavailable".into(),
        11 => "gateway_target_failed_to_respond".into(),
        n => Value::from(n),
    }
}

/// Probe: MBAP header with protocol id 0, a length of 2–254 and a known function code.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    if data.is_empty() {
        return Probe::No;
    }
    let (Some(proto), Some(len)) = (be16(data, 2), be16(data, 4)) else {
        return if data.len() < 4 || be16(data, 2) == Some(0) {
            Probe::Maybe
        } else {
            Probe::No
        };
    };
    if proto != 0 || !(2..=MAX_MBAP_LEN as u16).contains(&len) {
        return Probe::No;
    }
    let Some(&fc) = data.get(7) else {
        return Probe::Maybe;
    };
    if function_name(fc & 0x7f).is_none() {
        return Probe::No;
    }
    let total = 6 + usize::from(len);
    if data.len() == total
        || (data.len() > total && be16(data, total + 2) == Some(0))
        || data.len() < total
    {
        Probe::Yes
    } else {
        Probe::No
    }
}

#[derive(Debug)]
struct Pending {
    tid: u16,
    ts: Timestamp,
    fields: Fields,
    fc: u8,
}

/// Per-flow Modbus dissector.
#[derive(Debug, Default)]
pub struct ModbusDissector {
    streams: Streams,
    pending: VecDeque<Pending>,
    counters: Counters,
    emitter: Emitter,
    reads: u64,
    functions: Vec<u8>,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<ModbusDissector>::default()
}

impl ModbusDissector {
    /// Counters of malformed or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn emit(&mut self, out: &mut Vec<Record>, ts: Timestamp, f: Fields) {
        self.emitter.emit(
            out,
            &mut self.counters,
            MAX_RECORDS_PER_FLOW,
            "modbus",
            ts,
            f,
        );
    }

    fn note_function(&mut self, fc: u8) {
        if !self.functions.contains(&fc) && self.functions.len() < MAX_FUNCTIONS {
            self.functions.push(fc);
        }
    }

    fn adu(&mut self, dir: Dir, adu: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        let (Some(tid), Some(&unit), Some(&fc)) = (be16(adu, 0), adu.get(6), adu.get(7)) else {
            self.counters.incr("malformed_message");
            return;
        };
        let pdu = adu.get(8..).unwrap_or(&[]);
        if dir == Dir::ToServer {
            let mut f = Fields::new();
            set!(f, "mamori.modbus.transaction_id", tid);
            set!(f, "mamori.modbus.unit_id", unit);
            set!(f, "mamori.modbus.function_code", fc);
            match function_name(fc) {
                Some(n) => set!(f, "mamori.modbus.function", n),
                None => set!(f, "mamori.modbus.function", "unknown"),
            };
            set!(f, "mamori.modbus.write", is_write(fc));
            if matches!(fc, 1..=6 | 15 | 16 | 22 | 23) {
                if let Some(a) = be16(pdu, 0) {
                    set!(f, "mamori.modbus.address", a);
                }
                if matches!(fc, 1..=4 | 15 | 16 | 23) {
                    if let Some(q) = be16(pdu, 2) {
                        set!(f, "mamori.modbus.quantity", q);
                    }
                }
            }
            if fc == 8 {
                if let Some(sub) = be16(pdu, 0) {
                    set!(f, "mamori.modbus.diagnostic_subfunction", sub);
                }
            }
            if fc == 43 {
                if let Some(&mei) = pdu.first() {
                    set!(f, "mamori.modbus.mei_type", mei);
                }
            }
            self.note_function(fc);
            if self.pending.len() >= MAX_PENDING {
                self.counters.incr("pending_overflow");
                if let Some(p) = self.pending.pop_front() {
                    self.finish_one(p, None, out);
                }
            }
            self.pending.push_back(Pending {
                tid,
                ts,
                fields: f,
                fc,
            });
        } else {
            let idx = self.pending.iter().position(|p| p.tid == tid);
            let Some(p) = idx.and_then(|i| self.pending.remove(i)) else {
                self.counters.incr("response_without_request");
                return;
            };
            let exc = if fc & 0x80 != 0 {
                pdu.first().copied()
            } else {
                None
            };
            let mut p = p;
            p.ts = ts;
            self.finish_one(p, Some(exc), out);
        }
    }

    /// Emit a transaction; `resp` is `None` when unanswered, `Some(exception)` otherwise.
    fn finish_one(&mut self, p: Pending, resp: Option<Option<u8>>, out: &mut Vec<Record>) {
        let mut f = p.fields;
        match resp {
            Some(Some(e)) => {
                set!(f, "mamori.modbus.exception", exception_name(e));
                set!(f, "event.outcome", "failure");
            }
            Some(None) => {
                if matches!(p.fc, 1..=4) {
                    self.reads += 1;
                    return;
                }
                set!(f, "event.outcome", "success");
            }
            None => {
                if matches!(p.fc, 1..=4) {
                    self.reads += 1;
                    return;
                }
            }
        }
        self.emit(out, p.ts, f);
    }
}

impl Dissector for ModbusDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let mut adus: Vec<Vec<u8>> = Vec::new();
        let ok = self.streams.get(dir).feed(data, &mut self.counters, |d| {
            let (Some(proto), Some(len)) = (be16(d, 2), be16(d, 4)) else {
                return Frame::Need;
            };
            if proto != 0 || !(2..=MAX_MBAP_LEN as u16).contains(&len) {
                return Frame::Bad;
            }
            let total = 6 + usize::from(len);
            match d.get(..total) {
                Some(a) => {
                    adus.push(a.to_vec());
                    Frame::Take(total)
                }
                None => Frame::Need,
            }
        });
        for a in adus {
            self.adu(dir, &a, ts, out);
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
        while let Some(p) = self.pending.pop_front() {
            self.finish_one(p, None, out);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if !self.functions.is_empty() {
            let v: Vec<Value> = self.functions.iter().map(|&f| Value::from(f)).collect();
            fields.insert(
                Cow::Borrowed("mamori.modbus.function_codes"),
                Value::List(v),
            );
            fields.insert(
                Cow::Borrowed("mamori.modbus.write"),
                Value::from(self.functions.iter().any(|&f| is_write(f))),
            );
        }
        if self.reads > 0 {
            fields.insert(
                Cow::Borrowed("mamori.modbus.reads"),
                Value::from(self.reads),
            );
        }
    }
}
