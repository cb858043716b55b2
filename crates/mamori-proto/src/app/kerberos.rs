//! Kerberos v5 (RFC 4120) over UDP and TCP (88; TCP frames carry a 4-byte length).
//!
//! A request (AS-REQ, TGS-REQ) and its reply (AS-REP, TGS-REP or KRB-ERROR) become one
//! `kerberos` record: `user.name` (client principal), `mamori.kerberos.realm`,
//! `mamori.kerberos.service` (service principal), `mamori.kerberos.request_type`,
//! `mamori.kerberos.response_type`, `mamori.kerberos.error_code` (`KDC_ERR_PREAUTH_FAILED`,
//! …), the encryption types the client offered (`mamori.kerberos.etypes`, names such as
//! `rc4-hmac` for downgrade detection), the ticket's and reply's encryption types and
//! whether pre-authentication data was sent (`mamori.kerberos.preauth`). Requests without a
//! reply are emitted on [`Dissector::finish`].

use std::borrow::Cow;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::ber::{read_tlv, tag, Class, Tlv};
use super::registry_a::util::{
    be32, bounded_str, set, Emitter, Frame, Streams, MAX_RECORDS_PER_FLOW,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Largest TCP-framed message accepted (bigger frames are skipped unparsed).
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;
/// Name components and encryption types kept.
pub const MAX_LIST: usize = 16;
/// Longest principal component or realm copied.
pub const MAX_NAME_LEN: usize = 256;

/// Message type name for the APPLICATION tag number.
pub fn msg_type_name(t: u32) -> Option<&'static str> {
    Some(match t {
        10 => "AS-REQ",
        11 => "AS-REP",
        12 => "TGS-REQ",
        13 => "TGS-REP",
        14 => "AP-REQ",
        15 => "AP-REP",
        20 => "KRB-SAFE",
        21 => "KRB-PRIV",
        22 => "KRB-CRED",
        30 => "KRB-ERROR",
        _ => return None,
    })
}

/// Encryption type name (IANA Kerberos parameters); unknown types as numbers.
pub fn etype_value(e: i64) -> Value {
    let n = match e {
        1 => "des-cbc-crc",
        2 => "des-cbc-md4",
        3 => "des-cbc-md5",
        16 => "des3-cbc-sha1",
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        23 => "rc4-hmac",
        24 => "rc4-hmac-exp",
        25 => "camellia128-cts-cmac",
        26 => "camellia256-cts-cmac",
        -128 => "rc4-hmac-old-exp",
        _ => return Value::from(e),
    };
    Value::from(n)
}

/// Error code name (RFC 4120 §7.5.9); unknown codes as numbers.
pub fn error_code_value(c: i64) -> Value {
    let n = match c {
        0 => "KDC_ERR_NONE",
        1 => "KDC_ERR_NAME_EXP",
        2 => "KDC_ERR_SERVICE_EXP",
        3 => "KDC_ERR_BAD_PVNO",
        4 => "KDC_ERR_C_OLD_MAST_KVNO",
        5 => "KDC_ERR_S_OLD_MAST_KVNO",
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        9 => "KDC_ERR_NULL_KEY",
        10 => "KDC_ERR_CANNOT_POSTDATE",
        11 => "KDC_ERR_NEVER_VALID",
        12 => "KDC_ERR_POLICY",
        13 => "KDC_ERR_BADOPTION",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        15 => "KDC_ERR_SUMTYPE_NOSUPP",
        16 => "KDC_ERR_PADATA_TYPE_NOSUPP",
        17 => "KDC_ERR_TRTYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        19 => "KDC_ERR_SERVICE_REVOKED",
        20 => "KDC_ERR_TGT_REVOKED",
        21 => "KDC_ERR_CLIENT_NOTYET",
        22 => "KDC_ERR_SERVICE_NOTYET",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        26 => "KDC_ERR_SERVER_NOMATCH",
        27 => "KDC_ERR_MUST_USE_USER2USER",
        28 => "KDC_ERR_PATH_NOT_ACCEPTED",
        29 => "KDC_ERR_SVC_UNAVAILABLE",
        31 => "KRB_AP_ERR_BAD_INTEGRITY",
        32 => "KRB_AP_ERR_TKT_EXPIRED",
        33 => "KRB_AP_ERR_TKT_NYV",
        34 => "KRB_AP_ERR_REPEAT",
        35 => "KRB_AP_ERR_NOT_US",
        36 => "KRB_AP_ERR_BADMATCH",
        37 => "KRB_AP_ERR_SKEW",
        38 => "KRB_AP_ERR_BADADDR",
        39 => "KRB_AP_ERR_BADVERSION",
        40 => "KRB_AP_ERR_MSG_TYPE",
        41 => "KRB_AP_ERR_MODIFIED",
        42 => "KRB_AP_ERR_BADORDER",
        44 => "KRB_AP_ERR_BADKEYVER",
        45 => "KRB_AP_ERR_NOKEY",
        46 => "KRB_AP_ERR_MUT_FAIL",
        47 => "KRB_AP_ERR_BADDIRECTION",
        48 => "KRB_AP_ERR_METHOD",
        49 => "KRB_AP_ERR_BADSEQ",
        50 => "KRB_AP_ERR_INAPP_CKSUM",
        51 => "KRB_AP_PATH_NOT_ACCEPTED",
        52 => "KRB_ERR_RESPONSE_TOO_BIG",
        60 => "KRB_ERR_GENERIC",
        61 => "KRB_ERR_FIELD_TOOLONG",
        68 => "KDC_ERR_WRONG_REALM",
        _ => return Value::from(c),
    };
    Value::from(n)
}

/// Check the start of a bare message: APPLICATION tag of a KDC message, SEQUENCE, then the
/// `pvno` field equal to 5.
fn check_message(d: &[u8]) -> Probe {
    let Some(&first) = d.first() else {
        return Probe::No;
    };
    if !matches!(first, 0x6a..=0x6d | 0x7e) {
        return Probe::No;
    }
    let Ok((_, _, _, hl, _)) = super::ber::read_header(d) else {
        return if d.len() < 6 { Probe::Maybe } else { Probe::No };
    };
    let rest = d.get(hl..).unwrap_or(&[]);
    let Ok((_, _, _, hl2, _)) = super::ber::read_header(rest) else {
        return if rest.len() < 6 {
            Probe::Maybe
        } else {
            Probe::No
        };
    };
    if rest.first() != Some(&0x30) {
        return Probe::No;
    }
    let body = rest.get(hl2..).unwrap_or(&[]);
    // REQ: [1] pvno, [2] msg-type; REP/ERROR: [0] pvno, [1] msg-type.
    let want: &[u8] = if matches!(first, 0x6a | 0x6c) {
        &[0xa1, 0x03, 0x02, 0x01, 0x05]
    } else {
        &[0xa0, 0x03, 0x02, 0x01, 0x05]
    };
    if body.len() < want.len() {
        return if want.starts_with(body) {
            Probe::Maybe
        } else {
            Probe::No
        };
    }
    if body.starts_with(want) {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// Probe: a KDC message (UDP) or one preceded by its 4-byte length (TCP).
pub fn probe(meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    match meta.transport {
        super::Transport::Udp => check_message(data),
        super::Transport::Tcp => match be32(data, 0) {
            None => {
                if data.is_empty() || data.first() != Some(&0) {
                    Probe::No
                } else {
                    Probe::Maybe
                }
            }
            Some(len) if len == 0 || len as usize > MAX_MESSAGE_LEN * 16 => Probe::No,
            Some(_) => check_message(data.get(4..).unwrap_or(&[])),
        },
    }
}

fn ctx<'a>(seq: &Tlv<'a>, n: u32) -> Option<Tlv<'a>> {
    seq.children()
        .find(|t| t.is_context(n))
        .and_then(|t| t.inner())
}

fn kstring(t: &Tlv<'_>) -> String {
    bounded_str(t.value, MAX_NAME_LEN)
}

/// `PrincipalName ::= SEQUENCE { name-type [0], name-string [1] SEQUENCE OF KerberosString }`.
fn principal(t: &Tlv<'_>) -> Option<String> {
    let names = ctx(t, 1)?;
    let parts: Vec<String> = names
        .children()
        .take(MAX_LIST)
        .map(|s| kstring(&s))
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

fn int_of(t: Option<Tlv<'_>>) -> Option<i64> {
    t.and_then(|t| t.as_i64())
}

/// The fields of one message and its kind (APPLICATION tag number).
fn parse_message(d: &[u8]) -> Option<(u32, Fields)> {
    let (app, _) = read_tlv(d).ok()?;
    if app.class != Class::Application {
        return None;
    }
    msg_type_name(app.tag)?;
    let seq = app.inner().filter(|s| s.is_universal(tag::SEQUENCE))?;
    let mut f = Fields::new();
    match app.tag {
        10 | 12 => {
            set!(
                f,
                "mamori.kerberos.request_type",
                msg_type_name(app.tag).unwrap_or("")
            );
            // padata [3] SEQUENCE OF PA-DATA { padata-type [1], padata-value [2] }.
            let mut preauth = false;
            if let Some(pa) = ctx(&seq, 3) {
                let types: Vec<i64> = pa
                    .children()
                    .take(MAX_LIST)
                    .filter_map(|p| int_of(ctx(&p, 1)))
                    .collect();
                preauth = types.contains(&2);
                if !types.is_empty() {
                    set!(f, "mamori.kerberos.padata_types", types);
                }
            }
            if app.tag == 10 {
                set!(f, "mamori.kerberos.preauth", preauth);
            }
            let body = ctx(&seq, 4)?;
            if let Some(c) = ctx(&body, 1).and_then(|p| principal(&p)) {
                set!(f, "user.name", c);
            }
            if let Some(r) = ctx(&body, 2) {
                set!(f, "mamori.kerberos.realm", kstring(&r));
            }
            if let Some(s) = ctx(&body, 3).and_then(|p| principal(&p)) {
                set!(f, "mamori.kerberos.service", s);
            }
            if let Some(et) = ctx(&body, 8) {
                let list: Vec<Value> = et
                    .children()
                    .take(MAX_LIST)
                    .filter_map(|e| e.as_i64())
                    .map(etype_value)
                    .collect();
                if !list.is_empty() {
                    set!(f, "mamori.kerberos.etypes", list);
                }
            }
            if let Some(opts) = ctx(&body, 0).filter(|t| t.is_universal(tag::BIT_STRING)) {
                if let Some(bits) = opts.value.get(1..5) {
                    set!(
                        f,
                        "mamori.kerberos.kdc_options",
                        super::registry_a::util::hex(bits, 4)
                    );
                }
            }
        }
        11 | 13 => {
            set!(
                f,
                "mamori.kerberos.response_type",
                msg_type_name(app.tag).unwrap_or("")
            );
            set!(f, "event.outcome", "success");
            if let Some(r) = ctx(&seq, 3) {
                set!(f, "mamori.kerberos.realm", kstring(&r));
            }
            if let Some(c) = ctx(&seq, 4).and_then(|p| principal(&p)) {
                set!(f, "user.name", c);
            }
            // ticket [5] Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1],
            // sname [2], enc-part [3] EncryptedData { etype [0], kvno [1], cipher [2] } }.
            if let Some(tkt) = ctx(&seq, 5).and_then(|t| t.inner()) {
                if let Some(s) = ctx(&tkt, 2).and_then(|p| principal(&p)) {
                    set!(f, "mamori.kerberos.service", s);
                }
                if let Some(e) = int_of(ctx(&tkt, 3).and_then(|ep| ctx(&ep, 0))) {
                    set!(f, "mamori.kerberos.ticket_etype", etype_value(e));
                }
            }
            if let Some(e) = int_of(ctx(&seq, 6).and_then(|ep| ctx(&ep, 0))) {
                set!(f, "mamori.kerberos.reply_etype", etype_value(e));
            }
        }
        30 => {
            set!(f, "mamori.kerberos.response_type", "KRB-ERROR");
            let code = int_of(ctx(&seq, 6)).unwrap_or(-1);
            set!(f, "mamori.kerberos.error_code", error_code_value(code));
            // PREAUTH_REQUIRED is the normal first round of an AS exchange.
            set!(
                f,
                "event.outcome",
                if code == 25 || code == 0 {
                    "unknown"
                } else {
                    "failure"
                }
            );
            if let Some(r) = ctx(&seq, 9) {
                set!(f, "mamori.kerberos.realm", kstring(&r));
            }
            if let Some(c) = ctx(&seq, 8).and_then(|p| principal(&p)) {
                set!(f, "user.name", c);
            }
            if let Some(s) = ctx(&seq, 10).and_then(|p| principal(&p)) {
                set!(f, "mamori.kerberos.service", s);
            }
            if let Some(t) = ctx(&seq, 11) {
                set!(f, "mamori.kerberos.error_text", kstring(&t));
            }
        }
        14 => {
            set!(f, "mamori.kerberos.request_type", "AP-REQ");
        }
        other => {
            set!(
                f,
                "mamori.kerberos.request_type",
                msg_type_name(other).unwrap_or("")
            );
        }
    }
    Some((app.tag, f))
}

#[derive(Debug)]
struct Pending {
    ts: Timestamp,
    fields: Fields,
}

/// Per-flow Kerberos dissector.
#[derive(Debug, Default)]
pub struct KerberosDissector {
    tcp: Option<bool>,
    streams: Streams,
    pending: Option<Pending>,
    counters: Counters,
    emitter: Emitter,
    summary: Option<(Option<String>, Option<String>)>,
}

/// A fresh dissector for the flow `meta`: TCP messages carry a 4-byte length (RFC 4120
/// §7.2.2), UDP datagrams are one message each.
pub fn new_dissector(meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(KerberosDissector {
        tcp: Some(meta.transport == super::Transport::Tcp),
        ..KerberosDissector::default()
    })
}

impl KerberosDissector {
    /// Counters of malformed or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn emit(&mut self, out: &mut Vec<Record>, ts: Timestamp, f: Fields) {
        self.emitter.emit(
            out,
            &mut self.counters,
            MAX_RECORDS_PER_FLOW,
            "kerberos",
            ts,
            f,
        );
    }

    fn message(&mut self, d: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        let Some((kind, f)) = parse_message(d) else {
            self.counters.incr("malformed_message");
            return;
        };
        if self.summary.is_none() {
            let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_owned);
            self.summary = Some((s("user.name"), s("mamori.kerberos.service")));
        }
        match kind {
            10 | 12 | 14 => {
                if let Some(p) = self.pending.take() {
                    self.emit(out, p.ts, p.fields);
                }
                self.pending = Some(Pending { ts, fields: f });
            }
            11 | 13 | 30 => {
                let fields = match self.pending.take() {
                    Some(p) => {
                        let mut merged = p.fields;
                        for (k, v) in f {
                            // The request names the client as typed; the reply's canonical
                            // form is kept only when the request had none.
                            merged.entry(k).or_insert(v);
                        }
                        merged
                    }
                    None => f,
                };
                self.emit(out, ts, fields);
            }
            _ => self.emit(out, ts, f),
        }
    }
}

impl Dissector for KerberosDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.tcp.is_none() && !data.is_empty() {
            self.tcp = Some(data.first() == Some(&0));
        }
        if self.tcp != Some(true) {
            self.message(data, ts, out);
            return Progress::Continue;
        }
        let mut msgs: Vec<Vec<u8>> = Vec::new();
        let counters = &mut self.counters;
        let ok = self.streams.get(dir).feed(data, counters, |d| {
            let Some(len) = be32(d, 0) else {
                return Frame::Need;
            };
            if len & 0x8000_0000 != 0 {
                return Frame::Bad;
            }
            let total = 4usize.saturating_add(len as usize);
            match d.get(4..total) {
                Some(m) => {
                    msgs.push(m.to_vec());
                    Frame::Take(total)
                }
                None if len as usize > MAX_MESSAGE_LEN => Frame::Take(total),
                None => Frame::Need,
            }
        });
        for m in msgs {
            self.message(&m, ts, out);
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
        if let Some(p) = self.pending.take() {
            self.emit(out, p.ts, p.fields);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some((u, s)) = &self.summary {
            if let Some(u) = u {
                fields.insert(Cow::Borrowed("user.name"), Value::from(u.clone()));
            }
            if let Some(s) = s {
                fields.insert(
                    Cow::Borrowed("mamori.kerberos.service"),
                    Value::from(s.clone()),
                );
            }
        }
    }
}
