//! FTP control-channel tests.

// Test builders unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

#[path = "app_b_common.rs"]
mod common;

use common::*;
use mamori_proto::app::ftp;
use mamori_proto::app::{identify, Identified, Probe, Progress, Transport};

fn session() -> Vec<(mamori_proto::app::Dir, &'static [u8])> {
    vec![
        (S, b"220-Welcome\r\n220 (vsFTPd 3.0.5)\r\n"),
        (C, b"USER grace\r\n"),
        (S, b"331 Please specify the password.\r\n"),
        (C, b"PASS topsecret\r\n"),
        (S, b"230 Login successful.\r\n"),
        (C, b"PASV\r\n"),
        (S, b"227 Entering Passive Mode (192,0,2,10,195,80).\r\n"),
        (C, b"RETR /pub/report.pdf\r\n"),
        (
            S,
            b"150 Opening BINARY mode data connection.\r\n226 Transfer complete.\r\n",
        ),
        (C, b"EPSV\r\n"),
        (S, b"229 Entering Extended Passive Mode (|||50001|)\r\n"),
        (C, b"PORT 10,0,0,5,4,1\r\nSTOR upload.bin\r\n"),
        (S, b"200 PORT command successful.\r\n150 Ok\r\n226 Done\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 Goodbye.\r\n"),
    ]
}

#[test]
fn session_fields() {
    let script = session();
    let (recs, _) = run(ftp::new_dissector(&tcp()), &script);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.dataset, "ftp");
    assert_eq!(s(r, "user.name"), "grace");
    assert!(b(r, "mamori.ftp.password_seen"));
    assert!(!format!("{:?}", r.fields).contains("topsecret"));
    assert_eq!(s(r, "event.outcome"), "success");
    assert_eq!(list(r, "file.name"), vec!["/pub/report.pdf", "upload.bin"]);
    assert_eq!(
        list(r, "mamori.ftp.data_channel"),
        vec!["192.0.2.10:50000", ":50001", "10.0.0.5:1025"]
    );
    let codes = list(r, "mamori.ftp.reply_codes");
    assert_eq!(codes.first().map(String::as_str), Some("220"));
    assert!(codes.contains(&"227".to_string()));
    let bytewise = run_bytewise(ftp::new_dissector(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
}

#[test]
fn failed_login_and_auth_tls() {
    let (recs, _) = run(
        ftp::new_dissector(&tcp()),
        &[
            (S, b"220 FTP server ready\r\n"),
            (C, b"USER anonymous\r\n"),
            (S, b"331 ok\r\n"),
            (C, b"PASS x\r\n"),
            (S, b"530 Login incorrect.\r\n"),
        ],
    );
    assert_eq!(s(&recs[0], "event.outcome"), "failure");
    let (recs, progress) = run(
        ftp::new_dissector(&tcp()),
        &[
            (S, b"220 FTP server ready\r\n"),
            (C, b"AUTH TLS\r\n"),
            (S, b"234 Proceed with negotiation.\r\n"),
        ],
    );
    assert_eq!(progress[2], Progress::Done);
    assert!(b(&recs[0], "mamori.ftp.auth_tls"));
}

#[test]
fn probe_and_identify() {
    let m = meta(Transport::Tcp, 21);
    assert_eq!(
        ftp::probe(&m, S, b"220 ProFTPD 1.3.8 Server\r\n"),
        Probe::Yes
    );
    assert_eq!(ftp::probe(&m, S, b"220 mx ESMTP\r\n"), Probe::No);
    assert_eq!(ftp::probe(&m, S, b"220 Service ready\r\n"), Probe::Maybe);
    assert_eq!(ftp::probe(&m, C, b"AUTH TLS\r\n"), Probe::Yes);
    assert_eq!(ftp::probe(&m, C, b"USER x\r\n"), Probe::Maybe);
    assert_eq!(ftp::probe(&m, C, b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(ftp::probe(&m, C, &garbage(7, 80)), Probe::No);
    match identify(&meta(Transport::Tcp, 2100), S, b"220 (vsFTPd 3.0.5)\r\n") {
        Identified::Protocol(p) => assert_eq!(p.name, "ftp"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_does_not_panic() {
    let (recs, progress) = run(ftp::new_dissector(&tcp()), &[(S, b"hello\r\n")]);
    assert!(recs.is_empty());
    assert_eq!(progress[0], Progress::NotThisProtocol);
    for seed in 0..40 {
        let mut g = b"220 FTP\r\n227 (1,2,3,4,5\r\n229 (|||x|)\r\nPORT 1,2\r\n".to_vec();
        g.extend(garbage(seed, 2000));
        no_panic(ftp::new_dissector, &g, (seed as usize % 7) + 1);
    }
}
