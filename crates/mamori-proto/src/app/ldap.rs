//! LDAP (RFC 4511) over TCP (389, 3268) and CLDAP over UDP: one `ldap` record per operation,
//! request paired with its result by message id.
//!
//! Binds: `mamori.ldap.bind_dn` (also `user.name` when non-empty), `mamori.ldap.bind_type`
//! (`simple`, `sasl`), `mamori.ldap.sasl_mechanism`, and `mamori.ldap.cleartext_password:
//! true` for a simple bind that carries a password — the password itself is never recorded.
//! Searches: `mamori.ldap.search.base`, `.scope`, `.filter` (RFC 4515 text, bounded),
//! `.attributes`, `.entries` (result entries counted). Every operation: `mamori.ldap.operation`,
//! `mamori.ldap.message_id`, `mamori.ldap.result_code` (`success`, `invalidCredentials`, …)
//! and `event.outcome`. After StartTLS or a SASL bind with a security layer the stream stops
//! parsing as LDAP and the dissector reports [`Progress::Done`].

use std::borrow::Cow;
use std::collections::VecDeque;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::ber::{element_len, read_tlv, tag, BerError, Class, Tlv};
use super::registry_a::util::{bounded_str, set, Emitter, Frame, Streams, MAX_RECORDS_PER_FLOW};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Largest message buffered for parsing (larger ones, e.g. big search entries, are skipped).
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;
/// Operations awaiting a result.
pub const MAX_PENDING: usize = 128;
/// Nesting depth rendered in a search filter.
pub const MAX_FILTER_DEPTH: usize = 16;
/// Longest rendered filter.
pub const MAX_FILTER_LEN: usize = 1024;
/// Longest DN or value copied.
pub const MAX_DN_LEN: usize = 1024;
/// Attributes listed per search.
pub const MAX_ATTRIBUTES: usize = 32;
/// StartTLS extended operation OID.
pub const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";

/// Operation name for an APPLICATION tag number.
pub fn op_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0 => "bind",
        1 => "bind_response",
        2 => "unbind",
        3 => "search",
        4 => "search_entry",
        5 => "search_done",
        6 => "modify",
        7 => "modify_response",
        8 => "add",
        9 => "add_response",
        10 => "delete",
        11 => "delete_response",
        12 => "modify_dn",
        13 => "modify_dn_response",
        14 => "compare",
        15 => "compare_response",
        16 => "abandon",
        19 => "search_reference",
        23 => "extended",
        24 => "extended_response",
        25 => "intermediate_response",
        _ => return None,
    })
}

/// Result code name (RFC 4511 §4.1.9); unknown codes as numbers.
pub fn result_code_value(c: i64) -> Value {
    let n = match c {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        5 => "compareFalse",
        6 => "compareTrue",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        33 => "aliasProblem",
        34 => "invalidDNSyntax",
        36 => "aliasDereferencingProblem",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        _ => return Value::from(c),
    };
    Value::from(n)
}

/// Check one message start: `SEQUENCE { INTEGER id, [APPLICATION n] … }`.
fn check_message(d: &[u8]) -> Probe {
    match d.first() {
        None => return Probe::No,
        Some(0x30) => {}
        Some(_) => return Probe::No,
    }
    let hl = match super::ber::read_header(d) {
        Ok((_, _, _, hl, len)) if len >= 5 => hl,
        Ok(_) => return Probe::No,
        Err(BerError::Truncated { .. }) => return Probe::Maybe,
        Err(_) => return Probe::No,
    };
    let body = d.get(hl..).unwrap_or(&[]);
    let rest = match read_tlv(body) {
        Ok((id, rest)) if id.is_universal(tag::INTEGER) && (1..=4).contains(&id.value.len()) => {
            if id.as_i64().is_some_and(|v| v < 0) {
                return Probe::No;
            }
            rest
        }
        Ok(_) => return Probe::No,
        Err(BerError::Truncated { .. }) => return Probe::Maybe,
        Err(_) => return Probe::No,
    };
    let Some(&op) = rest.first() else {
        return Probe::Maybe;
    };
    let class_app = op & 0xc0 == 0x40;
    let num = u32::from(op & 0x1f);
    let constructed = op & 0x20 != 0;
    // unbind (2), delete (10) and abandon (16) are primitive; the rest constructed.
    let shape_ok = match num {
        2 | 10 | 16 => !constructed,
        _ => constructed,
    };
    if class_app && shape_ok && op_name(num).is_some() {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// Probe: an LDAPMessage (same encoding over TCP and CLDAP/UDP).
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    check_message(data)
}

/// Render a search filter (RFC 4515 form) up to [`MAX_FILTER_DEPTH`] levels.
fn filter(t: &Tlv<'_>, depth: usize, out: &mut String) {
    if depth > MAX_FILTER_DEPTH || out.len() > MAX_FILTER_LEN {
        out.push('…');
        return;
    }
    let s = |b: &[u8]| bounded_str(b, 256);
    match (t.class, t.tag) {
        (Class::Context, 0 | 1) => {
            out.push('(');
            out.push(if t.tag == 0 { '&' } else { '|' });
            for c in t.children() {
                filter(&c, depth + 1, out);
            }
            out.push(')');
        }
        (Class::Context, 2) => {
            out.push_str("(!");
            if let Some(c) = t.inner() {
                filter(&c, depth + 1, out);
            }
            out.push(')');
        }
        (Class::Context, 3 | 5 | 6 | 8) => {
            let mut it = t.children();
            let (a, v) = (it.next(), it.next());
            let op = match t.tag {
                3 => "=",
                5 => ">=",
                6 => "<=",
                _ => "~=",
            };
            out.push('(');
            out.push_str(&a.map(|a| s(a.value)).unwrap_or_default());
            out.push_str(op);
            out.push_str(&v.map(|v| s(v.value)).unwrap_or_default());
            out.push(')');
        }
        (Class::Context, 4) => {
            // SubstringFilter { type, SEQUENCE OF CHOICE { initial [0], any [1], final [2] } }.
            let mut it = t.children();
            let a = it.next().map(|a| s(a.value)).unwrap_or_default();
            out.push('(');
            out.push_str(&a);
            out.push('=');
            let mut last = 0;
            for (i, p) in it
                .next()
                .map(|x| x.children())
                .into_iter()
                .flatten()
                .enumerate()
            {
                if p.tag != 0 || i > 0 {
                    out.push('*');
                }
                out.push_str(&s(p.value));
                last = p.tag;
            }
            if last != 2 {
                out.push('*');
            }
            out.push(')');
        }
        (Class::Context, 7) => {
            out.push('(');
            out.push_str(&s(t.value));
            out.push_str("=*)");
        }
        (Class::Context, 9) => out.push_str("(extensible)"),
        _ => out.push_str("(?)"),
    }
}

#[derive(Debug)]
struct Pending {
    id: i64,
    ts: Timestamp,
    fields: Fields,
    entries: u64,
}

/// Per-flow LDAP dissector.
#[derive(Debug, Default)]
pub struct LdapDissector {
    /// CLDAP: every datagram holds whole messages; nothing is carried to the next one.
    udp: bool,
    streams: Streams,
    pending: VecDeque<Pending>,
    counters: Counters,
    emitter: Emitter,
    starttls_id: Option<i64>,
    encrypted: bool,
    summary: Option<String>,
}

/// A fresh dissector for the flow `meta`: a TCP stream of LDAPMessages, or CLDAP datagrams
/// (RFC 1798) that each hold whole messages.
pub fn new_dissector(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(LdapDissector {
        udp: meta.transport == super::Transport::Udp,
        ..LdapDissector::default()
    })
}

impl LdapDissector {
    /// Counters of malformed or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn emit(&mut self, out: &mut Vec<Record>, ts: Timestamp, f: Fields) {
        self.emitter
            .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "ldap", ts, f);
    }

    fn request(&mut self, id: i64, op: &Tlv<'_>, ts: Timestamp, out: &mut Vec<Record>) {
        let mut f = Fields::new();
        set!(f, "mamori.ldap.message_id", id);
        set!(
            f,
            "mamori.ldap.operation",
            op_name(op.tag).unwrap_or("unknown")
        );
        let mut it = op.children();
        let mut awaits_result = true;
        match op.tag {
            0 => {
                let version = it.next().and_then(|t| t.as_i64());
                if let Some(v) = version {
                    set!(f, "mamori.ldap.version", v);
                }
                let dn = it
                    .next()
                    .map(|t| bounded_str(t.value, MAX_DN_LEN))
                    .unwrap_or_default();
                if !dn.is_empty() {
                    set!(f, "user.name", dn.clone());
                    if self.summary.is_none() {
                        self.summary = Some(dn.clone());
                    }
                }
                set!(f, "mamori.ldap.bind_dn", dn);
                match it.next() {
                    Some(auth) if auth.is_context(0) => {
                        set!(f, "mamori.ldap.bind_type", "simple");
                        let has_password = !auth.value.is_empty();
                        set!(f, "mamori.ldap.cleartext_password", has_password);
                    }
                    Some(auth) if auth.is_context(3) => {
                        set!(f, "mamori.ldap.bind_type", "sasl");
                        if let Some(m) = auth.children().next() {
                            set!(f, "mamori.ldap.sasl_mechanism", bounded_str(m.value, 64));
                        }
                    }
                    Some(auth) => {
                        set!(f, "mamori.ldap.bind_type", format!("other_{}", auth.tag));
                    }
                    None => {}
                }
            }
            2 => {
                awaits_result = false;
            }
            3 => {
                if let Some(b) = it.next() {
                    set!(
                        f,
                        "mamori.ldap.search.base",
                        bounded_str(b.value, MAX_DN_LEN)
                    );
                }
                if let Some(sc) = it.next().and_then(|t| t.as_i64()) {
                    let n = match sc {
                        0 => "base",
                        1 => "one",
                        2 => "sub",
                        _ => "unknown",
                    };
                    set!(f, "mamori.ldap.search.scope", n);
                }
                let _deref = it.next();
                if let Some(sz) = it.next().and_then(|t| t.as_i64()) {
                    set!(f, "mamori.ldap.search.size_limit", sz);
                }
                let _time = it.next();
                let _types = it.next();
                if let Some(flt) = it.next() {
                    let mut s = String::new();
                    filter(&flt, 0, &mut s);
                    set!(f, "mamori.ldap.search.filter", s);
                }
                if let Some(attrs) = it.next() {
                    let list: Vec<Value> = attrs
                        .children()
                        .take(MAX_ATTRIBUTES)
                        .map(|a| Value::from(bounded_str(a.value, 128)))
                        .collect();
                    if !list.is_empty() {
                        set!(f, "mamori.ldap.search.attributes", list);
                    }
                }
            }
            6 | 8 | 12 | 14 => {
                if let Some(dn) = it.next() {
                    set!(f, "mamori.ldap.object", bounded_str(dn.value, MAX_DN_LEN));
                }
            }
            10 => {
                set!(f, "mamori.ldap.object", bounded_str(op.value, MAX_DN_LEN));
            }
            16 => awaits_result = false,
            23 => {
                if let Some(name) = it.next().filter(|t| t.is_context(0)) {
                    let oid = String::from_utf8_lossy(name.value).into_owned();
                    if oid == STARTTLS_OID {
                        self.starttls_id = Some(id);
                        set!(f, "mamori.ldap.starttls", true);
                    }
                    set!(f, "mamori.ldap.extended_name", bounded_str(name.value, 128));
                }
            }
            _ => {}
        }
        if !awaits_result {
            self.emit(out, ts, f);
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            self.counters.incr("pending_overflow");
            if let Some(p) = self.pending.pop_front() {
                self.emit(out, p.ts, p.fields);
            }
        }
        self.pending.push_back(Pending {
            id,
            ts,
            fields: f,
            entries: 0,
        });
    }

    fn response(&mut self, id: i64, op: &Tlv<'_>, ts: Timestamp, out: &mut Vec<Record>) {
        let idx = self.pending.iter().position(|p| p.id == id);
        if matches!(op.tag, 4 | 19 | 25) {
            if let Some(p) = idx.and_then(|i| self.pending.get_mut(i)) {
                p.entries += 1;
            }
            return;
        }
        let mut it = op.children();
        let code = it.next().and_then(|t| t.as_i64());
        let _matched = it.next();
        let diag = it
            .next()
            .filter(|t| !t.value.is_empty())
            .map(|t| bounded_str(t.value, 256));
        let (mut f, entries) = match idx.and_then(|i| self.pending.remove(i)) {
            Some(p) => (p.fields, Some(p.entries)),
            None => {
                self.counters.incr("response_without_request");
                let mut f = Fields::new();
                set!(f, "mamori.ldap.message_id", id);
                set!(
                    f,
                    "mamori.ldap.operation",
                    op_name(op.tag).unwrap_or("unknown")
                );
                (f, None)
            }
        };
        if let Some(c) = code {
            set!(f, "mamori.ldap.result_code", result_code_value(c));
            let outcome = match c {
                0 | 5 | 6 => "success",
                14 => "unknown",
                _ => "failure",
            };
            set!(f, "event.outcome", outcome);
            if c == 0 && self.starttls_id == Some(id) {
                self.encrypted = true;
            }
            // A completed SASL bind may install a security layer (signing/sealing).
            if c == 0
                && op.tag == 1
                && f.get("mamori.ldap.bind_type").and_then(Value::as_str) == Some("sasl")
            {
                self.encrypted = true;
            }
        }
        if let Some(d) = diag {
            set!(f, "mamori.ldap.diagnostic_message", d);
        }
        if let Some(n) = entries.filter(|_| op.tag == 5) {
            set!(f, "mamori.ldap.search.entries", n);
        }
        self.emit(out, ts, f);
    }

    /// One CLDAP datagram: its messages in order; a truncated or undecodable tail is
    /// counted (`truncated_datagram`, `malformed_message`) and dropped with the datagram.
    fn datagram(&mut self, mut d: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        while !d.is_empty() {
            if d.first() != Some(&0x30) {
                self.counters.incr("malformed_message");
                return;
            }
            let total = match element_len(d) {
                Ok(t) => t,
                Err(BerError::Truncated { .. }) => {
                    self.counters.incr("truncated_datagram");
                    return;
                }
                Err(_) => {
                    self.counters.incr("malformed_message");
                    return;
                }
            };
            let Some(m) = d.get(..total) else {
                self.counters.incr("truncated_datagram");
                return;
            };
            if !self.message(m, ts, out) {
                self.counters.incr("malformed_message");
            }
            d = d.get(total..).unwrap_or(&[]);
        }
    }

    fn message(&mut self, d: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> bool {
        let Ok((msg, _)) = read_tlv(d) else {
            return false;
        };
        if !msg.is_universal(tag::SEQUENCE) {
            return false;
        }
        let mut it = msg.children();
        let Some(id) = it
            .next()
            .filter(|t| t.is_universal(tag::INTEGER))
            .and_then(|t| t.as_i64())
        else {
            return false;
        };
        let Some(op) = it.next().filter(|t| t.class == Class::Application) else {
            return false;
        };
        match op.tag {
            0 | 2 | 3 | 6 | 8 | 10 | 12 | 14 | 16 | 23 => self.request(id, &op, ts, out),
            1 | 4 | 5 | 7 | 9 | 11 | 13 | 15 | 19 | 24 | 25 => self.response(id, &op, ts, out),
            _ => return false,
        }
        true
    }
}

impl Dissector for LdapDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.encrypted {
            return Progress::Done;
        }
        if self.udp {
            self.datagram(data, ts, out);
            return Progress::Continue;
        }
        let mut msgs: Vec<Vec<u8>> = Vec::new();
        let counters = &mut self.counters;
        let ok = self.streams.get(dir).feed(data, counters, |d| {
            if d.first() != Some(&0x30) {
                return Frame::Bad;
            }
            match element_len(d) {
                Ok(total) => match d.get(..total) {
                    Some(m) => {
                        msgs.push(m.to_vec());
                        Frame::Take(total)
                    }
                    None if total > MAX_MESSAGE_LEN => Frame::Take(total),
                    None => Frame::Need,
                },
                Err(BerError::Truncated { .. }) => Frame::Need,
                Err(_) => Frame::Bad,
            }
        });
        for m in msgs {
            if !self.message(&m, ts, out) {
                self.counters.incr("malformed_message");
            }
        }
        if self.encrypted || (!ok && self.streams.both_dead()) {
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
            self.emit(out, p.ts, p.fields);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some(dn) = &self.summary {
            fields.insert(
                Cow::Borrowed("mamori.ldap.bind_dn"),
                Value::from(dn.clone()),
            );
        }
    }
}
