//! Shared helpers of the `app_b_*` dissector tests (included with `#[path]`).
#![allow(dead_code, missing_docs)] // shared test helpers: not every test file uses every one

use mamori_core::{Timestamp, Value};
use mamori_proto::app::{Dir, Dissector, FlowMeta, Progress, Record, Transport};

pub const C: Dir = Dir::ToServer;
pub const S: Dir = Dir::ToClient;

pub fn ts(n: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_700_000_000 + n)
}

pub fn meta(transport: Transport, server_port: u16) -> FlowMeta {
    FlowMeta {
        transport,
        client_port: 50_000,
        server_port,
    }
}

/// A TCP flow to port 0 (dissectors take the transport from it).
pub fn tcp() -> FlowMeta {
    meta(Transport::Tcp, 0)
}

/// A UDP flow to port 0.
pub fn udp() -> FlowMeta {
    meta(Transport::Udp, 0)
}

/// Feed each (direction, bytes) whole, then finish.
pub fn run(mut d: Box<dyn Dissector>, script: &[(Dir, &[u8])]) -> (Vec<Record>, Vec<Progress>) {
    let mut out = Vec::new();
    let mut progress = Vec::new();
    for (i, (dir, data)) in script.iter().enumerate() {
        progress.push(d.feed(*dir, data, ts(i as i64), &mut out));
    }
    d.finish(ts(1000), &mut out);
    (out, progress)
}

/// Feed each (direction, bytes) one byte at a time (stops a direction on Done), then finish.
pub fn run_bytewise(mut d: Box<dyn Dissector>, script: &[(Dir, &[u8])]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut done = false;
    for (i, (dir, data)) in script.iter().enumerate() {
        for b in data.iter() {
            if done {
                break;
            }
            match d.feed(*dir, std::slice::from_ref(b), ts(i as i64), &mut out) {
                Progress::Done | Progress::NotThisProtocol => done = true,
                Progress::Continue => {}
            }
        }
    }
    d.finish(ts(1000), &mut out);
    out
}

/// Same records regardless of timestamps (split delivery changes which packet completed).
pub fn fields_only(r: &[Record]) -> Vec<(&'static str, Vec<(String, Value)>)> {
    r.iter()
        .map(|r| {
            (
                r.dataset,
                r.fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        })
        .collect()
}

pub fn s<'a>(r: &'a Record, k: &str) -> &'a str {
    r.fields
        .get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("field {k} missing or not a string in {:?}", r.fields))
}

pub fn i(r: &Record, k: &str) -> i64 {
    r.fields
        .get(k)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("field {k} missing or not an integer in {:?}", r.fields))
}

pub fn b(r: &Record, k: &str) -> bool {
    match r.fields.get(k) {
        Some(Value::Bool(b)) => *b,
        other => panic!("field {k} not a bool: {other:?} in {:?}", r.fields),
    }
}

pub fn list(r: &Record, k: &str) -> Vec<String> {
    match r.fields.get(k) {
        Some(Value::List(l)) => l
            .iter()
            .map(|v| match v {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => panic!("field {k} not a list: {other:?} in {:?}", r.fields),
    }
}

/// Deterministic pseudo-random bytes (xorshift) for garbage tests.
pub fn garbage(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Feed arbitrary input in arbitrary chunks to a fresh dissector: must not panic.
pub fn no_panic(new: fn(&FlowMeta) -> Box<dyn Dissector>, data: &[u8], chunk: usize) {
    for m in [tcp(), udp()] {
        no_panic_on(new(&m), data, chunk);
    }
}

/// Feed `data` in `chunk`-byte pieces to one dissector; it must not panic.
pub fn no_panic_on(mut d: Box<dyn Dissector>, data: &[u8], chunk: usize) {
    let mut out = Vec::new();
    for (n, c) in data.chunks(chunk.max(1)).enumerate() {
        let dir = if n % 3 == 2 { S } else { C };
        if d.feed(dir, c, ts(n as i64), &mut out) != Progress::Continue {
            break;
        }
    }
    d.gap(C, 10);
    d.finish(ts(9999), &mut out);
    let mut f = Default::default();
    d.flow_fields(&mut f);
}

// ---- small TLS builders shared by the TLS, Tor and QUIC tests ----

pub fn u16b(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

pub fn vec8(b: &[u8]) -> Vec<u8> {
    let mut v = vec![b.len() as u8];
    v.extend_from_slice(b);
    v
}

pub fn vec16(b: &[u8]) -> Vec<u8> {
    let mut v = u16b(b.len() as u16).to_vec();
    v.extend_from_slice(b);
    v
}

pub fn u16_list(l: &[u16]) -> Vec<u8> {
    l.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// Extension data for common types.
pub fn ext_sni(name: &str) -> (u16, Vec<u8>) {
    let mut e = vec![0u8];
    e.extend(vec16(name.as_bytes()));
    (0, vec16(&e))
}

pub fn ext_alpn(protos: &[&str]) -> (u16, Vec<u8>) {
    let l: Vec<u8> = protos.iter().flat_map(|p| vec8(p.as_bytes())).collect();
    (16, vec16(&l))
}

/// A ClientHello handshake message (with the 4-byte handshake header).
pub fn client_hello_msg(legacy: u16, ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = u16b(legacy).to_vec();
    body.extend([7u8; 32]);
    body.extend(vec8(&[9u8; 32]));
    body.extend(vec16(&u16_list(ciphers)));
    body.extend(vec8(&[0]));
    let e: Vec<u8> = exts
        .iter()
        .flat_map(|(t, d)| {
            let mut x = u16b(*t).to_vec();
            x.extend(vec16(d));
            x
        })
        .collect();
    body.extend(vec16(&e));
    handshake(1, &body)
}

pub fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

pub fn record(ty: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![ty, 3, 1];
    r.extend(u16b(payload.len() as u16));
    r.extend_from_slice(payload);
    r
}

pub fn server_hello_msg(version: u16, cipher: u16, exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = u16b(version).to_vec();
    body.extend([5u8; 32]);
    body.extend(vec8(&[]));
    body.extend(u16b(cipher));
    body.push(0);
    let e: Vec<u8> = exts
        .iter()
        .flat_map(|(t, d)| {
            let mut x = u16b(*t).to_vec();
            x.extend(vec16(d));
            x
        })
        .collect();
    body.extend(vec16(&e));
    handshake(2, &body)
}

/// The browser-like ClientHello used for the published JA3/JA4 vector (GREASE added).
pub fn browser_client_hello(sni: &str) -> Vec<u8> {
    let ciphers = [
        0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
        0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let sigs = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];
    let exts: Vec<(u16, Vec<u8>)> = vec![
        (0x5a5a, vec![]),
        (0x002d, vec8(&[1])),
        (0x0033, vec16(&[0x3a, 0x3a, 0, 1, 0])),
        ext_alpn(&["h2", "http/1.1"]),
        (0xfe0d, vec![0; 8]),
        (0x0017, vec![]),
        (0x44cd, vec16(&u16_list(&[0x0002]))),
        ext_sni(sni),
        (0x000b, vec8(&[0])),
        (
            0x000a,
            vec16(&u16_list(&[0x3a3a, 0x11ec, 0x001d, 0x0017, 0x0018])),
        ),
        (0x002b, vec8(&u16_list(&[0x7a7a, 0x0304, 0x0303]))),
        (0xff01, vec8(&[])),
        (0x0023, vec![]),
        (0x0012, vec![]),
        (0x0005, vec![1, 0, 0, 0, 0]),
        (0x000d, vec16(&u16_list(&sigs))),
        (0x001b, vec8(&[0, 2])),
        (0x9a9a, vec![0]),
    ];
    client_hello_msg(0x0303, &ciphers, &exts)
}
