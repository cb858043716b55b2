//! Shared helpers for the group-a dissector tests: feeding, splitting, field access, noise.
#![allow(dead_code)]

use mamori_core::{Timestamp, Value};
use mamori_proto::app::{
    by_name, identify, Dir, Dissector, FlowMeta, Identified, Probe, Record, Transport,
};

pub const TCP: Transport = Transport::Tcp;
pub const UDP: Transport = Transport::Udp;
pub const C: Dir = Dir::ToServer;
pub const S: Dir = Dir::ToClient;

pub fn meta(transport: Transport, server_port: u16) -> FlowMeta {
    FlowMeta {
        transport,
        client_port: 49152,
        server_port,
    }
}

pub fn ts(i: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_700_000_000 + i)
}

/// Protocol name and transports to test: `dns/tcp` names one transport; a plain name means
/// the registry's first (for DNS, Kerberos, LDAP and syslog that is UDP).
pub fn transports(proto: &str) -> (&str, Vec<Transport>) {
    let (name, t) = match proto.split_once('/') {
        Some((n, "tcp")) => (n, Some(TCP)),
        Some((n, "udp")) => (n, Some(UDP)),
        Some(_) => panic!("bad transport in {proto}"),
        None => (proto, None),
    };
    let def = by_name(name).unwrap_or_else(|| panic!("protocol {name} registered"));
    match t {
        Some(t) => {
            assert!(
                def.transports.contains(&t),
                "{proto}: transport not registered"
            );
            (name, vec![t])
        }
        None => (name, def.transports.to_vec()),
    }
}

/// A dissector of `proto` (see [`transports`]) on its first transport.
pub fn dissector(proto: &str) -> Box<dyn Dissector> {
    let (name, ts) = transports(proto);
    dissector_on(name, ts[0])
}

/// A dissector of `proto` for a flow over `transport`.
pub fn dissector_on(proto: &str, transport: Transport) -> Box<dyn Dissector> {
    let def = by_name(proto).unwrap_or_else(|| panic!("protocol {proto} registered"));
    (def.new.expect("has a dissector"))(&meta(transport, 0))
}

/// Feed whole messages, then finish.
pub fn run(proto: &str, msgs: &[(Dir, Vec<u8>)]) -> Vec<Record> {
    run_chunked(proto, msgs, usize::MAX)
}

/// Feed every message in chunks of `chunk` bytes, then finish.
pub fn run_chunked(proto: &str, msgs: &[(Dir, Vec<u8>)], chunk: usize) -> Vec<Record> {
    let mut d = dissector(proto);
    let mut out = Vec::new();
    for (i, (dir, m)) in msgs.iter().enumerate() {
        if chunk == usize::MAX || m.is_empty() {
            d.feed(*dir, m, ts(i as i64), &mut out);
        } else {
            for c in m.chunks(chunk) {
                d.feed(*dir, c, ts(i as i64), &mut out);
            }
        }
    }
    d.finish(ts(1000), &mut out);
    out
}

/// Records and flow fields ignoring timestamps (split delivery may complete at another time).
pub fn fields_only(r: &[Record]) -> Vec<mamori_core::Fields> {
    r.iter().map(|r| r.fields.clone()).collect()
}

/// Whole, byte-by-byte and 3-byte-chunk delivery produce the same records.
pub fn assert_split_invariant(proto: &str, msgs: &[(Dir, Vec<u8>)]) -> Vec<Record> {
    let whole = run(proto, msgs);
    assert!(!whole.is_empty(), "{proto}: no records from whole delivery");
    for n in [1, 3, 7] {
        let split = run_chunked(proto, msgs, n);
        assert_eq!(
            fields_only(&whole),
            fields_only(&split),
            "{proto}: split by {n} differs"
        );
    }
    whole
}

pub fn get<'a>(r: &'a Record, k: &str) -> &'a Value {
    r.fields
        .get(k)
        .unwrap_or_else(|| panic!("field {k} missing in {:?}", r.fields))
}

pub fn s<'a>(r: &'a Record, k: &str) -> &'a str {
    get(r, k)
        .as_str()
        .unwrap_or_else(|| panic!("field {k} not a string"))
}

pub fn i(r: &Record, k: &str) -> i64 {
    get(r, k)
        .as_i64()
        .unwrap_or_else(|| panic!("field {k} not an integer"))
}

pub fn strs(r: &Record, k: &str) -> Vec<String> {
    get(r, k).items().iter().map(|v| v.to_string()).collect()
}

/// Deterministic pseudo-random bytes.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn probe(proto: &str, m: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    (by_name(proto).expect("registered").probe)(m, dir, data)
}

pub fn identified(m: &FlowMeta, dir: Dir, data: &[u8]) -> Option<&'static str> {
    match identify(m, dir, data) {
        Identified::Protocol(p) => Some(p.name),
        _ => None,
    }
}

/// Random data never probes as `Yes`, and other protocols' bytes neither.
pub fn assert_probe_rejects(proto: &str, transport: Transport, port: u16) {
    let m = meta(transport, port);
    for seed in 0..300 {
        let n = noise(seed, 16 + (seed as usize * 7) % 300);
        assert_ne!(
            probe(proto, &m, C, &n),
            Probe::Yes,
            "{proto}: noise seed {seed}"
        );
    }
    for other in [
        &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        b"220 mail.example.jp ESMTP\r\n",
        b"",
    ] {
        assert_ne!(
            probe(proto, &m, C, other),
            Probe::Yes,
            "{proto}: other protocol bytes"
        );
    }
}

/// Every prefix of every message and random bytes, fed in both directions, never panic.
pub fn assert_no_panic(proto: &str, msgs: &[(Dir, Vec<u8>)]) {
    let (name, ts) = transports(proto);
    for t in ts {
        assert_no_panic_on(name, t, msgs);
    }
}

fn assert_no_panic_on(proto: &str, transport: Transport, msgs: &[(Dir, Vec<u8>)]) {
    let dissector = |_: &str| dissector_on(proto, transport);
    for (_, m) in msgs {
        for cut in 0..m.len() {
            let mut d = dissector(proto);
            let mut out = Vec::new();
            d.feed(C, m.get(..cut).unwrap_or(&[]), ts(0), &mut out);
            d.feed(S, m.get(..cut).unwrap_or(&[]), ts(0), &mut out);
            d.gap(C, 10);
            d.finish(ts(1), &mut out);
            let mut f = mamori_core::Fields::new();
            d.flow_fields(&mut f);
        }
        // Bit flips.
        for k in 0..m.len().min(200) {
            let mut x = m.clone();
            if let Some(b) = x.get_mut(k) {
                *b ^= 0xff;
            }
            let mut d = dissector(proto);
            let mut out = Vec::new();
            d.feed(C, &x, ts(0), &mut out);
            d.feed(S, &x, ts(0), &mut out);
            d.finish(ts(1), &mut out);
        }
    }
    for seed in 0..200 {
        let mut d = dissector(proto);
        let mut out = Vec::new();
        for part in noise(seed, 600).chunks(1 + seed as usize % 97) {
            d.feed(if seed % 2 == 0 { C } else { S }, part, ts(0), &mut out);
        }
        d.finish(ts(1), &mut out);
    }
}
