//! HTTP/1.x dissector tests.

// Test builders unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

#[path = "app_b_common.rs"]
mod common;

use common::*;
use mamori_proto::app::http::{self, classify_magic};
use mamori_proto::app::{identify, Identified, Probe, Progress, Transport};

const REQ1: &[u8] = b"GET /download/tool.exe?id=7&x=1 HTTP/1.1\r\n\
Host: files.example.test:8080\r\n\
User-Agent: curl/8.5.0\r\n\
Referer: http://portal.example.test/\r\n\
Authorization: Basic YWxpY2U6czNjcjN0\r\n\
X-Forwarded-For: 10.1.2.3\r\n\
\r\n";

const RESP1: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.24.0\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"tool.exe\"\r\n\
Content-Length: 10\r\n\
\r\n\
MZ\x90\x00\x03\x00\x00\x00\x04\x00";

/// Pipelined POST with a body, then a chunked response.
const REQ2: &[u8] = b"POST /api/upload HTTP/1.1\r\nHost: files.example.test\r\nContent-Length: 5\r\nAuthorization: NTLM TlRMTVNTUAABAAAA\r\n\r\nhello";
const RESP2: &[u8] = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\nX-Trailer: 1\r\n\r\n";

fn pipelined() -> Vec<(mamori_proto::app::Dir, Vec<u8>)> {
    let mut reqs = REQ1.to_vec();
    reqs.extend_from_slice(REQ2);
    let mut resps = RESP1.to_vec();
    resps.extend_from_slice(RESP2);
    vec![(C, reqs), (S, resps)]
}

#[test]
fn transactions_are_paired_in_order() {
    let flow = pipelined();
    let script: Vec<_> = flow.iter().map(|(d, b)| (*d, b.as_slice())).collect();
    let (recs, _) = run(http::new_dissector(&tcp()), &script);
    assert_eq!(recs.len(), 2, "{recs:?}");
    let r = &recs[0];
    assert_eq!(r.dataset, "http");
    assert_eq!(s(r, "http.request.method"), "GET");
    assert_eq!(s(r, "url.original"), "/download/tool.exe?id=7&x=1");
    assert_eq!(s(r, "url.path"), "/download/tool.exe");
    assert_eq!(s(r, "url.query"), "id=7&x=1");
    assert_eq!(s(r, "url.domain"), "files.example.test");
    assert_eq!(s(r, "http.version"), "1.1");
    assert_eq!(s(r, "user_agent.original"), "curl/8.5.0");
    assert_eq!(s(r, "http.request.referrer"), "http://portal.example.test/");
    assert_eq!(s(r, "mamori.http.authorization_scheme"), "Basic");
    assert_eq!(s(r, "user.name"), "alice");
    assert!(
        !format!("{:?}", r.fields).contains("s3cr3t"),
        "password must not be kept"
    );
    assert_eq!(s(r, "mamori.http.x_forwarded_for"), "10.1.2.3");
    assert_eq!(i(r, "http.response.status_code"), 200);
    assert_eq!(s(r, "mamori.http.server"), "nginx/1.24.0");
    assert_eq!(s(r, "http.response.mime_type"), "application/octet-stream");
    assert_eq!(s(r, "file.name"), "tool.exe");
    assert_eq!(i(r, "http.response.body.bytes"), 10);
    assert_eq!(i(r, "http.request.body.bytes"), 0);
    assert_eq!(s(r, "mamori.http.magic"), "pe");

    let r = &recs[1];
    assert_eq!(s(r, "http.request.method"), "POST");
    assert_eq!(i(r, "http.request.body.bytes"), 5);
    assert_eq!(s(r, "mamori.http.authorization_scheme"), "NTLM");
    assert!(!r.fields.contains_key("user.name"));
    assert_eq!(i(r, "http.response.status_code"), 201);
    assert_eq!(i(r, "http.response.body.bytes"), 10);
    assert!(!r.fields.contains_key("mamori.http.magic"));

    let bytewise = run_bytewise(http::new_dissector(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
}

#[test]
fn interleaved_request_response_and_interim_100() {
    let req = b"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
    let (recs, _) = run(
        http::new_dissector(&tcp()),
        &[
            (C, req),
            (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
            (C, b"abc"),
            (S, b"HTTP/1.1 204 No Content\r\n\r\n"),
            (C, b"HEAD /y HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"),
            (C, b"GET /z HTTP/1.0\r\n\r\n"),
            (S, b"HTTP/1.0 200 OK\r\n\r\n\x7fELF\x02\x01"),
        ],
    );
    assert_eq!(recs.len(), 3, "{recs:?}");
    assert_eq!(i(&recs[0], "http.response.status_code"), 204);
    assert_eq!(i(&recs[0], "http.request.body.bytes"), 3);
    assert_eq!(s(&recs[1], "http.request.method"), "HEAD");
    assert_eq!(i(&recs[1], "http.response.body.bytes"), 0);
    // Body until close is emitted on finish.
    assert_eq!(s(&recs[2], "mamori.http.magic"), "elf");
    assert_eq!(i(&recs[2], "http.response.body.bytes"), 6);
}

#[test]
fn connect_tunnel_and_unanswered_request() {
    let (recs, progress) = run(
        http::new_dissector(&tcp()),
        &[
            (
                C,
                b"CONNECT login.example.test:443 HTTP/1.1\r\nHost: login.example.test:443\r\n\r\n",
            ),
            (S, b"HTTP/1.1 200 Connection established\r\n\r\n"),
            (C, b"\x16\x03\x01\x02\x00\x01"),
        ],
    );
    assert_eq!(progress[1], Progress::Done);
    assert_eq!(recs.len(), 1);
    assert_eq!(
        s(&recs[0], "mamori.http.connect_target"),
        "login.example.test:443"
    );
    assert_eq!(s(&recs[0], "url.domain"), "login.example.test");
    assert_eq!(i(&recs[0], "url.port"), 443);

    let (recs, _) = run(
        http::new_dissector(&tcp()),
        &[(C, b"GET http://proxy.example.test/a?b HTTP/1.1\r\n\r\n")],
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(s(&recs[0], "url.domain"), "proxy.example.test");
    assert_eq!(s(&recs[0], "url.path"), "/a");
    assert!(!recs[0].fields.contains_key("http.response.status_code"));
}

#[test]
fn magic_classification() {
    assert_eq!(classify_magic(b"PK\x03\x04rest"), Some("zip"));
    assert_eq!(classify_magic(b"%PDF-1.7"), Some("pdf"));
    assert_eq!(classify_magic(b"\xd0\xcf\x11\xe0\xa1\xb1"), Some("ole"));
    assert_eq!(classify_magic(b"\x1f\x8b\x08"), Some("gzip"));
    assert_eq!(classify_magic(b"<html>"), None);
    assert_eq!(
        classify_magic(b"\xca\xfe\xba\xbe\x00\x00\x00\x34"),
        Some("java_class")
    );
    assert_eq!(
        classify_magic(b"\xca\xfe\xba\xbe\x00\x00\x00\x02"),
        Some("macho")
    );
}

#[test]
fn content_disposition_rfc5987() {
    let (recs, _) = run(
        http::new_dissector(&tcp()),
        &[
            (C, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"a.txt\"; filename*=UTF-8''%E8%A6%8B%E7%A9%8D.xlsm\r\nContent-Length: 0\r\n\r\n"),
        ],
    );
    assert_eq!(s(&recs[0], "file.name"), "見積.xlsm");
}

#[test]
fn probe_positive_and_negative() {
    let m = meta(Transport::Tcp, 80);
    assert_eq!(http::probe(&m, C, REQ1), Probe::Yes);
    assert_eq!(http::probe(&m, C, b"GE"), Probe::Maybe);
    assert_eq!(http::probe(&m, C, b"GET /very/long/path"), Probe::Maybe);
    assert_eq!(http::probe(&m, S, RESP1), Probe::Yes);
    assert_eq!(
        http::probe(&m, C, b"OPTIONS sip:a@b SIP/2.0\r\n"),
        Probe::No
    );
    assert_eq!(
        http::probe(&m, C, b"DESCRIBE rtsp://a RTSP/1.0\r\n"),
        Probe::No
    );
    assert_eq!(http::probe(&m, C, b"SSH-2.0-x\r\n"), Probe::No);
    assert_eq!(http::probe(&m, C, &garbage(9, 100)), Probe::No);
    match identify(&meta(Transport::Tcp, 31337), C, REQ1) {
        Identified::Protocol(p) => assert_eq!(p.name, "http"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_truncated_and_oversized() {
    let (recs, progress) = run(
        http::new_dissector(&tcp()),
        &[(C, b"\x16\x03\x01\x00\x05hello")],
    );
    assert!(recs.is_empty());
    assert_eq!(progress[0], Progress::NotThisProtocol);
    // Truncated request: emitted as unanswered only when the header block completed.
    let (recs, _) = run(http::new_dissector(&tcp()), &[(C, &REQ1[..30])]);
    assert!(recs.is_empty());
    // Oversized header block stops the dissector.
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.extend(vec![b'a'; http::MAX_HEADER_BYTES + 10]);
    let (_, progress) = run(http::new_dissector(&tcp()), &[(C, &big)]);
    assert_eq!(progress[0], Progress::Done);
    for seed in 0..50 {
        let mut g = REQ1.to_vec();
        g.extend(garbage(seed, 3000));
        no_panic(http::new_dissector, &g, (seed as usize % 11) + 1);
        let mut g = RESP2.to_vec();
        g.extend(garbage(seed, 500));
        no_panic(http::new_dissector, &g, 3);
    }
}
