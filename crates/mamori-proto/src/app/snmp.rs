//! SNMP v1, v2c and v3 over UDP (161/162): one `snmp` record per message.
//!
//! v1/v2c: `mamori.snmp.community` (the cleartext shared secret; default communities such as
//! `public` are what the insecure-configuration checks look for), `mamori.snmp.version`
//! (`1`, `2c`, `3`), `mamori.snmp.pdu_type`, `request_id`, `error_status` and the first
//! [`MAX_OIDS`] variable-binding OIDs. v3: `mamori.snmp.user_name`, `engine_id`, and whether
//! the PDU is authenticated/encrypted (`mamori.snmp.security_level`).

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::ber::{oid_string, read_tlv, tag, Class, Tlv};
use super::registry_a::util::{bounded_str, hex, set, Emitter, MAX_RECORDS_PER_FLOW};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Variable-binding OIDs kept per message.
pub const MAX_OIDS: usize = 16;
/// Longest community or user name copied.
pub const MAX_NAME_LEN: usize = 128;

/// PDU type name for the context tag number.
pub fn pdu_name(tag: u32) -> Option<&'static str> {
    Some(match tag {
        0 => "get_request",
        1 => "get_next_request",
        2 => "response",
        3 => "set_request",
        4 => "trap",
        5 => "get_bulk_request",
        6 => "inform_request",
        7 => "snmpv2_trap",
        8 => "report",
        _ => return None,
    })
}

fn error_status_name(e: i64) -> Value {
    match e {
        0 => "noError".into(),
        1 => "tooBig".into(),
        2 => "noSuchName".into(),
        3 => "badValue".into(),
        4 => "readOnly".into(),
        5 => "genErr".into(),
        6 => "noAccess".into(),
        7 => "wrongType".into(),
        16 => "authorizationError".into(),
        17 => "notWritable".into(),
        n => Value::from(n),
    }
}

/// Probe: `SEQUENCE { INTEGER version (0, 1 or 3), OCTET STRING community, [PDU] }` or the v3
/// `SEQUENCE { INTEGER 3, SEQUENCE header, … }`.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    match data.first() {
        None => return Probe::No,
        Some(0x30) => {}
        Some(_) => return Probe::No,
    }
    if data.len() < 8 {
        return Probe::Maybe;
    }
    match parse(data) {
        Some(_) => Probe::Yes,
        None => Probe::No,
    }
}

fn pdu_fields(pdu: &Tlv<'_>, f: &mut Fields) {
    let Some(name) = pdu_name(pdu.tag) else {
        return;
    };
    set!(f, "mamori.snmp.pdu_type", name);
    let mut it = pdu.children();
    let binds = if pdu.tag == 4 {
        // Trap-PDU: enterprise, agent-addr, generic-trap, specific-trap, time-stamp, bindings.
        if let Some(ent) = it.next().filter(|t| t.is_universal(tag::OID)) {
            if let Some(o) = oid_string(ent.value) {
                set!(f, "mamori.snmp.enterprise", o);
            }
        }
        let _agent = it.next();
        if let Some(g) = it.next().and_then(|t| t.as_i64()) {
            set!(f, "mamori.snmp.generic_trap", g);
        }
        it.nth(1);
        it.next()
    } else {
        if let Some(id) = it.next().and_then(|t| t.as_i64()) {
            set!(f, "mamori.snmp.request_id", id);
        }
        if let Some(e) = it.next().and_then(|t| t.as_i64()) {
            if pdu.tag != 5 {
                set!(f, "mamori.snmp.error_status", error_status_name(e));
            }
        }
        it.next();
        it.next()
    };
    let Some(binds) = binds else {
        return;
    };
    let oids: Vec<Value> = binds
        .children()
        .take(MAX_OIDS)
        .filter_map(|vb| vb.children().next())
        .filter(|t| t.is_universal(tag::OID))
        .filter_map(|t| oid_string(t.value))
        .map(Value::from)
        .collect();
    if !oids.is_empty() {
        set!(f, "mamori.snmp.oids", oids);
    }
}

/// Decode one message; `None` when it is not SNMP.
pub fn parse(data: &[u8]) -> Option<Fields> {
    let (msg, _) = read_tlv(data).ok()?;
    if !msg.is_universal(tag::SEQUENCE) {
        return None;
    }
    let mut it = msg.children();
    let version = it
        .next()
        .filter(|t| t.is_universal(tag::INTEGER))?
        .as_i64()?;
    let mut f = Fields::new();
    match version {
        0 | 1 => {
            let community = it.next().filter(|t| t.is_universal(tag::OCTET_STRING))?;
            let pdu = it
                .next()
                .filter(|t| t.class == Class::Context && t.constructed)?;
            pdu_name(pdu.tag)?;
            set!(
                f,
                "mamori.snmp.version",
                if version == 0 { "1" } else { "2c" }
            );
            set!(
                f,
                "mamori.snmp.community",
                bounded_str(community.value, MAX_NAME_LEN)
            );
            pdu_fields(&pdu, &mut f);
        }
        3 => {
            let header = it.next().filter(|t| t.is_universal(tag::SEQUENCE))?;
            let mut h = header.children();
            let _id = h.next()?;
            let _max = h.next()?;
            let flags = h.next().filter(|t| t.is_universal(tag::OCTET_STRING))?;
            let model = h.next().and_then(|t| t.as_i64())?;
            set!(f, "mamori.snmp.version", "3");
            let fl = flags.value.first().copied().unwrap_or(0);
            let level = match fl & 3 {
                0 => "noAuthNoPriv",
                1 => "authNoPriv",
                _ => "authPriv",
            };
            set!(f, "mamori.snmp.security_level", level);
            set!(f, "mamori.snmp.security_model", model);
            let sec = it.next().filter(|t| t.is_universal(tag::OCTET_STRING))?;
            if model == 3 {
                // USM: SEQUENCE { engineID, boots, time, userName, authParams, privParams }.
                if let Ok((usm, _)) = read_tlv(sec.value) {
                    let mut u = usm.children();
                    if let Some(e) = u.next().filter(|e| !e.value.is_empty()) {
                        set!(f, "mamori.snmp.engine_id", hex(e.value, 32));
                    }
                    if let Some(user) = u.nth(2).filter(|t| !t.value.is_empty()) {
                        set!(
                            f,
                            "mamori.snmp.user_name",
                            bounded_str(user.value, MAX_NAME_LEN)
                        );
                    }
                }
            }
            match it.next() {
                Some(scoped) if scoped.is_universal(tag::SEQUENCE) => {
                    let mut s = scoped.children();
                    let _engine = s.next();
                    if let Some(ctx) = s.next().filter(|t| !t.value.is_empty()) {
                        set!(
                            f,
                            "mamori.snmp.context_name",
                            bounded_str(ctx.value, MAX_NAME_LEN)
                        );
                    }
                    if let Some(pdu) = s.next().filter(|t| t.class == Class::Context) {
                        pdu_fields(&pdu, &mut f);
                    }
                }
                Some(enc) if enc.is_universal(tag::OCTET_STRING) => {
                    set!(f, "mamori.snmp.encrypted", true);
                }
                _ => {}
            }
        }
        _ => return None,
    }
    Some(f)
}

/// Per-flow SNMP dissector.
#[derive(Debug, Default)]
pub struct SnmpDissector {
    counters: Counters,
    emitter: Emitter,
    summary: Option<(&'static str, String)>,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<SnmpDissector>::default()
}

impl SnmpDissector {
    /// Counters of malformed input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Dissector for SnmpDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, _dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        match parse(data) {
            Some(f) => {
                if self.summary.is_none() {
                    if let Some(c) = f.get("mamori.snmp.community").and_then(Value::as_str) {
                        self.summary = Some(("mamori.snmp.community", c.to_owned()));
                    } else if let Some(u) = f.get("mamori.snmp.user_name").and_then(Value::as_str) {
                        self.summary = Some(("mamori.snmp.user_name", u.to_owned()));
                    }
                }
                self.emitter
                    .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "snmp", ts, f);
            }
            None => self.counters.incr("malformed_message"),
        }
        Progress::Continue
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some((k, v)) = &self.summary {
            fields.insert(Cow::Borrowed(k), Value::from(v.clone()));
        }
    }
}
