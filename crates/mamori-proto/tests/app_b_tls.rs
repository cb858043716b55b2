//! TLS, JA3/JA4, certificate and Tor-heuristic tests.

// Test builders unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

#[path = "app_b_common.rs"]
mod common;

use common::*;
use mamori_core::{Timestamp, Value};
use mamori_proto::app::tls::{self, ja3, ja4};
use mamori_proto::app::{identify, tor, Identified, Probe, Progress, Transport};

// ---- a minimal DER builder for a test certificate ----

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 128 {
        v.push(n as u8);
    } else if n < 256 {
        v.extend([0x81, n as u8]);
    } else {
        v.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn name_cn(cn: &str) -> Vec<u8> {
    let atv = seq(&[vec![0x06, 0x03, 0x55, 0x04, 0x03], tlv(0x0c, cn.as_bytes())]);
    seq(&[tlv(0x31, &atv)])
}

/// A syntactically valid (unsigned) X.509 v3 certificate.
fn test_cert(subject: &str, issuer: &str, sans: &[&str], ip: Option<[u8; 4]>) -> Vec<u8> {
    let ecdsa_sha256 = seq(&[vec![
        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ]]);
    let mut point = vec![0x00, 0x04];
    point.extend([0x11; 64]);
    let spki = seq(&[
        seq(&[
            vec![0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01],
            vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        ]),
        tlv(0x03, &point),
    ]);
    let mut gns: Vec<Vec<u8>> = sans.iter().map(|s| tlv(0x82, s.as_bytes())).collect();
    if let Some(ip) = ip {
        gns.push(tlv(0x87, &ip));
    }
    let san_ext = seq(&[vec![0x06, 0x03, 0x55, 0x1d, 0x11], tlv(0x04, &seq(&gns))]);
    let tbs = seq(&[
        tlv(0xa0, &tlv(0x02, &[2])),
        tlv(0x02, &[0x01, 0x23, 0x45]),
        ecdsa_sha256.clone(),
        name_cn(issuer),
        seq(&[tlv(0x17, b"250101000000Z"), tlv(0x17, b"260101000000Z")]),
        name_cn(subject),
        spki,
        tlv(0xa3, &seq(&[san_ext])),
    ]);
    let mut sig = vec![0x00];
    sig.extend(seq(&[tlv(0x02, &[1; 32]), tlv(0x02, &[2; 32])]));
    seq(&[tbs, ecdsa_sha256, tlv(0x03, &sig)])
}

fn certificate_msg(certs: &[Vec<u8>]) -> Vec<u8> {
    let mut list: Vec<u8> = Vec::new();
    for c in certs {
        list.extend(&(c.len() as u32).to_be_bytes()[1..]);
        list.extend(c);
    }
    let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
    body.extend(list);
    handshake(11, &body)
}

/// A full TLS 1.2 handshake: ClientHello, ServerHello+Certificate+Done, client CCS,
/// server CCS.
fn tls12_flow(sni: &str, cert: Vec<u8>) -> Vec<(mamori_proto::app::Dir, Vec<u8>)> {
    let ch = record(22, &browser_client_hello(sni));
    let mut server = server_hello_msg(0x0303, 0xc02f, &[(0xff01, vec![0]), (0x0017, vec![])]);
    server.extend(certificate_msg(&[cert]));
    server.extend(handshake(14, &[]));
    // Split the server handshake over two records to exercise reassembly.
    let (a, b) = server.split_at(server.len() / 2);
    let mut srv = record(22, a);
    srv.extend(record(22, b));
    let mut cli2 = record(22, &handshake(16, &[0; 33]));
    cli2.extend(record(20, &[1]));
    cli2.extend(record(22, &[0xaa; 40]));
    let mut srv2 = record(20, &[1]);
    srv2.extend(record(22, &[0xbb; 40]));
    vec![(C, ch), (S, srv), (C, cli2), (S, srv2)]
}

fn as_script(v: &[(mamori_proto::app::Dir, Vec<u8>)]) -> Vec<(mamori_proto::app::Dir, &[u8])> {
    v.iter().map(|(d, b)| (*d, b.as_slice())).collect()
}

#[test]
fn ja3_and_ja4_match_published_vector() {
    let msg = browser_client_hello("tls.browserleaks.com");
    let ch = tls::parse_client_hello(&msg[4..]).expect("client hello parses");
    let s = ja3::ja3_string(&ch);
    assert_eq!(
        s,
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
         45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
    );
    assert_eq!(
        ja3::md5_hex(s.as_bytes()),
        "98487aa16281980e7d1120d399efb6a4"
    );
    assert_eq!(
        ja4::ja4(&ch, ja4::Transport::Tcp),
        "t13d1516h2_8daaf6152771_d8a2da3f94cd"
    );
    let (a, b, c) = ja4::ja4_raw(&ch, ja4::Transport::Tcp);
    assert_eq!(a, "t13d1516h2");
    assert!(b.starts_with("002f,0035,009c"));
    assert!(c.ends_with("_0403,0804,0401,0503,0805,0501,0806,0601"));
    assert!(ja4::ja4(&ch, ja4::Transport::Quic).starts_with("q13d"));
}

#[test]
fn ja4_without_sni_alpn_or_extensions() {
    let msg = client_hello_msg(0x0301, &[0x002f], &[]);
    let ch = tls::parse_client_hello(&msg[4..]).unwrap();
    let j = ja4::ja4(&ch, ja4::Transport::Tcp);
    assert!(j.starts_with("t10i010000_"), "{j}");
    assert!(j.ends_with("_000000000000"), "{j}");
}

#[test]
fn full_tls12_handshake_fields() {
    let cert = test_cert(
        "example.test",
        "example.test",
        &["example.test", "www.example.test"],
        Some([192, 0, 2, 7]),
    );
    let flow = tls12_flow("example.test", cert.clone());
    let (recs, progress) = run(tls::new_dissector(&tcp()), &as_script(&flow));
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(*progress.last().unwrap(), Progress::Done);
    let r = &recs[0];
    assert_eq!(r.dataset, "tls");
    assert_eq!(s(r, "tls.client.server_name"), "example.test");
    assert_eq!(list(r, "mamori.tls.alpn"), vec!["h2", "http/1.1"]);
    assert_eq!(list(r, "mamori.tls.client_versions"), vec!["1.3", "1.2"]);
    assert!(list(r, "tls.client.supported_ciphers").contains(&"TLS_AES_128_GCM_SHA256".to_string()));
    assert_eq!(s(r, "tls.client.ja3"), "98487aa16281980e7d1120d399efb6a4");
    assert_eq!(
        s(r, "tls.client.ja4"),
        "t13d1516h2_8daaf6152771_d8a2da3f94cd"
    );
    assert_eq!(s(r, "tls.version"), "1.2");
    assert_eq!(s(r, "tls.version_protocol"), "tls");
    assert_eq!(s(r, "tls.cipher"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(s(r, "tls.server.ja3s"), ja3::md5_hex(b"771,49199,65281-23"));
    assert_eq!(s(r, "tls.server.x509.subject.common_name"), "example.test");
    assert_eq!(s(r, "tls.server.x509.issuer.common_name"), "example.test");
    assert_eq!(
        r.fields.get("tls.server.x509.not_before"),
        Some(&Value::Time(Timestamp::from_unix_secs(1_735_689_600)))
    );
    assert_eq!(
        r.fields.get("tls.server.x509.not_after"),
        Some(&Value::Time(Timestamp::from_unix_secs(1_767_225_600)))
    );
    assert_eq!(
        list(r, "tls.server.x509.alternative_names"),
        vec!["example.test", "www.example.test", "192.0.2.7"]
    );
    let sha1 = s(r, "tls.server.hash.sha1");
    assert_eq!(sha1.len(), 40);
    assert_eq!(sha1, sha1.to_ascii_uppercase());
    assert!(b(r, "mamori.tls.self_signed"));
    assert!(b(r, "tls.established"));
    assert!(!r.fields.contains_key("mamori.tls.tor_like"));
    // Split delivery gives the same fields.
    let bytewise = run_bytewise(tls::new_dissector(&tcp()), &as_script(&flow));
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
}

#[test]
fn tls13_server_hello_and_not_self_signed() {
    let cert = test_cert("a.test", "Some CA", &[], None);
    let ci = tls::cert::parse(&cert).unwrap();
    assert!(!ci.self_signed);
    assert_eq!(ci.serial, "012345");
    let ch = record(22, &browser_client_hello("a.test"));
    let sh = record(
        22,
        &server_hello_msg(
            0x0303,
            0x1302,
            &[(43, u16b(0x0304).to_vec()), (16, vec16(&vec8(b"h2")))],
        ),
    );
    let mut srv = sh.clone();
    srv.extend(record(20, &[1]));
    srv.extend(record(23, &[0; 50]));
    let mut cli = record(20, &[1]);
    cli.extend(record(23, &[0; 50]));
    let (recs, _) = run(
        tls::new_dissector(&tcp()),
        &[(C, &ch), (S, &srv), (C, &cli)],
    );
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(s(r, "tls.version"), "1.3");
    assert_eq!(s(r, "tls.cipher"), "TLS_AES_256_GCM_SHA384");
    assert_eq!(s(r, "tls.next_protocol"), "h2");
    assert!(b(r, "tls.established"));
    assert!(!r.fields.contains_key("tls.server.hash.sha1"));
}

#[test]
fn unknown_cipher_is_hex() {
    assert_eq!(tls::cipher_name(0xabcd), "0xabcd");
    assert!(tls::is_grease(0x0a0a) && tls::is_grease(0xfafa) && !tls::is_grease(0x0a1a));
}

#[test]
fn probe_positive_and_negative() {
    let m = meta(Transport::Tcp, 443);
    let ch = record(22, &browser_client_hello("x.test"));
    assert_eq!(tls::probe(&m, C, &ch), Probe::Yes);
    assert_eq!(tls::probe(&m, C, &ch[..3]), Probe::Maybe);
    let sh = record(22, &server_hello_msg(0x0303, 0x002f, &[]));
    assert_eq!(tls::probe(&m, S, &sh), Probe::Yes);
    assert_eq!(tls::probe(&m, C, &sh), Probe::No);
    assert_eq!(tls::probe(&m, C, b"GET / HTTP/1.1\r\n\r\n"), Probe::No);
    assert_eq!(tls::probe(&m, C, b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::No);
    assert_eq!(tls::probe(&m, C, &garbage(1, 300)), Probe::No);
    // SSLv2-compatible ClientHello: 3 cipher specs, no session id, 16-byte challenge.
    let mut v2 = vec![0x80, 9 + 9 + 16, 1, 0x03, 0x01, 0, 9, 0, 0, 0, 16];
    v2.extend([0x00, 0x00, 0x2f, 0x00, 0x00, 0x35, 0x01, 0x00, 0x80]);
    v2.extend([0x42; 16]);
    assert_eq!(tls::probe(&m, C, &v2), Probe::Yes);
    let (recs, _) = run(tls::new_dissector(&tcp()), &[(C, &v2), (S, &sh)]);
    assert_eq!(recs.len(), 1);
    assert!(b(&recs[0], "mamori.tls.sslv2_client_hello"));
    assert_eq!(list(&recs[0], "tls.client.supported_ciphers").len(), 3);
    assert_eq!(s(&recs[0], "tls.version"), "1.2");
}

#[test]
fn identify_on_non_standard_port() {
    let ch = record(22, &browser_client_hello("intranet.test"));
    match identify(&meta(Transport::Tcp, 12345), C, &ch) {
        Identified::Protocol(p) => assert_eq!(p.name, "tls"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn not_tls_and_garbage() {
    let (recs, progress) = run(
        tls::new_dissector(&tcp()),
        &[(C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")],
    );
    assert!(recs.is_empty());
    assert_eq!(progress[0], Progress::NotThisProtocol);
    for seed in 0..50 {
        let g = garbage(seed, 2000);
        no_panic(tls::new_dissector, &g, (seed as usize % 7) + 1);
        // Garbage behind a valid record header.
        let mut h = vec![22, 3, 3, 0x07, 0xd0];
        h.extend(&g);
        no_panic(tls::new_dissector, &h, (seed as usize % 13) + 1);
    }
    // Truncated ClientHello: no record, no panic.
    let ch = record(22, &browser_client_hello("t.test"));
    let (recs, _) = run(tls::new_dissector(&tcp()), &[(C, &ch[..ch.len() - 10])]);
    assert!(recs.is_empty());
}

#[test]
fn tor_like_hello_is_named_tor() {
    let ch = record(22, &browser_client_hello("www.q4nfvbxk2hcl3m.com"));
    assert_eq!(tor::probe(&meta(Transport::Tcp, 9001), C, &ch), Probe::Yes);
    for port in [443, 9001, 33333] {
        match identify(&meta(Transport::Tcp, port), C, &ch) {
            Identified::Protocol(p) => assert_eq!(p.name, "tor", "port {port}"),
            other => panic!("{other:?}"),
        }
    }
    let normal = record(22, &browser_client_hello("www.google.com"));
    assert_eq!(
        tor::probe(&meta(Transport::Tcp, 443), C, &normal),
        Probe::No
    );
    let cert = test_cert("www.zkq4vbn7xhqt.net", "www.pq2mvwrtk5xc.com", &[], None);
    let flow = tls12_flow("www.q4nfvbxk2hcl3m.com", cert);
    let (recs, _) = run(tor::new_dissector(&tcp()), &as_script(&flow));
    assert!(b(&recs[0], "mamori.tls.tor_like"));
    // Certificate evidence alone marks the TLS flow.
    let cert = test_cert("www.zkq4vbn7xhqt.net", "www.pq2mvwrtk5xc.com", &[], None);
    assert!(tls::cert::parse(&cert).unwrap().tor_like());
    let flow = tls12_flow("plain.example", cert);
    let (recs, _) = run(tls::new_dissector(&tcp()), &as_script(&flow));
    assert!(b(&recs[0], "mamori.tls.tor_like"));
}

#[test]
fn midstream_application_data_is_tls() {
    let m = meta(Transport::Tcp, 8443);
    let mut two = record(23, &[0x42; 40]);
    two.extend(record(23, &[0x43; 30]));
    assert_eq!(tls::probe(&m, C, &two), Probe::Yes);
    assert_eq!(
        tls::probe(&m, S, &record(23, &[1; 100])[..50]),
        Probe::Maybe
    );
    // Lengths that do not chain to the end of the payload, tiny records, other bytes.
    let mut bad = record(23, &[0x42; 40]);
    bad.push(0x99);
    assert_eq!(tls::probe(&m, C, &bad), Probe::No);
    assert_eq!(tls::probe(&m, C, &record(23, &[1; 4])), Probe::No);
    assert_eq!(tls::probe(&m, C, b"\x17\x03\x09\x00\x20"), Probe::No);
    let (recs, progress) = run(tls::new_dissector(&tcp()), &[(C, &two), (S, &two)]);
    assert!(recs.is_empty(), "no handshake seen: no tls record");
    assert_eq!(progress[1], Progress::Done);
}
