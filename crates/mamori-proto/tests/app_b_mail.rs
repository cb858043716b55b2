//! SMTP, IMAP and POP3 tests.

// Test builders unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

#[path = "app_b_common.rs"]
mod common;

use common::*;
use mamori_proto::app::mail;
use mamori_proto::app::{identify, Identified, Probe, Progress, Transport};

fn smtp_session() -> Vec<(mamori_proto::app::Dir, &'static [u8])> {
    vec![
        (S, b"220 mx.example.test ESMTP Postfix\r\n"),
        (C, b"EHLO client.example.test\r\n"),
        (S, b"250-mx.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"),
        // PLAIN with an initial response: "\0bob\0hunter2".
        (C, b"AUTH PLAIN AGJvYgBodW50ZXIy\r\n"),
        (S, b"235 2.7.0 Authentication successful\r\n"),
        (C, b"MAIL FROM:<bob@example.test> SIZE=120\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n"),
        (S, b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        (C, b"Subject: hi\r\n\r\nbody line\r\n.\r\n"),
        (S, b"250 2.0.0 Ok: queued\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 2.0.0 Bye\r\n"),
    ]
}

#[test]
fn smtp_transaction_fields() {
    let script = smtp_session();
    let (recs, _) = run(mail::new_smtp(&tcp()), &script);
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    assert_eq!(r.dataset, "smtp");
    assert_eq!(s(r, "mamori.smtp.helo"), "client.example.test");
    assert_eq!(s(r, "email.from.address"), "bob@example.test");
    assert_eq!(
        list(r, "email.to.address"),
        vec!["a@example.test", "c@example.test"]
    );
    assert_eq!(s(r, "mamori.mail.auth_mechanism"), "PLAIN");
    assert_eq!(s(r, "user.name"), "bob");
    assert!(b(r, "mamori.mail.cleartext_auth"));
    assert_eq!(s(r, "event.outcome"), "success");
    assert!(b(r, "mamori.mail.starttls_offered"));
    assert!(!b(r, "mamori.mail.starttls"));
    assert_eq!(i(r, "mamori.smtp.data_bytes"), (13 + 2 + 11) as i64);
    assert!(list(r, "mamori.smtp.status_codes").contains(&"354".to_string()));
    assert!(!format!("{:?}", r.fields).contains("hunter2"));
    let bytewise = run_bytewise(mail::new_smtp(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
}

#[test]
fn smtp_auth_login_and_starttls() {
    let (recs, progress) = run(
        mail::new_smtp(&tcp()),
        &[
            (S, b"220 mail ESMTP\r\n"),
            (C, b"EHLO x\r\n"),
            (S, b"250-mail\r\n250 STARTTLS\r\n"),
            (C, b"AUTH LOGIN\r\n"),
            (S, b"334 VXNlcm5hbWU6\r\n"),
            (C, b"Y2Fyb2w=\r\n"),
            (S, b"334 UGFzc3dvcmQ6\r\n"),
            (C, b"c2VjcmV0\r\n"),
            (S, b"535 5.7.8 Authentication failed\r\n"),
            (C, b"STARTTLS\r\n"),
            (S, b"220 2.0.0 Ready to start TLS\r\n"),
            (C, b"\x16\x03\x01\x00\x10"),
        ],
    );
    assert_eq!(progress[10], Progress::Done);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(s(r, "mamori.mail.auth_mechanism"), "LOGIN");
    assert_eq!(s(r, "user.name"), "carol");
    assert_eq!(s(r, "event.outcome"), "failure");
    assert!(b(r, "mamori.mail.starttls"));
}

#[test]
fn imap_login_and_starttls() {
    let script: Vec<(mamori_proto::app::Dir, &[u8])> = vec![
        (
            S,
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
        ),
        (C, b"a1 LOGIN \"dave@example.test\" \"pw\"\r\n"),
        (S, b"a1 OK LOGIN completed\r\n"),
        (C, b"a2 LOGOUT\r\n"),
    ];
    let (recs, _) = run(mail::new_imap(&tcp()), &script);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.dataset, "imap");
    assert_eq!(s(r, "user.name"), "dave@example.test");
    assert!(b(r, "mamori.mail.cleartext_auth"));
    assert_eq!(s(r, "event.outcome"), "success");
    assert!(b(r, "mamori.mail.starttls_offered"));
    let bytewise = run_bytewise(mail::new_imap(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
    let (recs, progress) = run(
        mail::new_imap(&tcp()),
        &[
            (S, b"* OK ready\r\n"),
            (C, b"t STARTTLS\r\n"),
            (S, b"t OK begin\r\n"),
        ],
    );
    assert_eq!(progress[2], Progress::Done);
    assert!(b(&recs[0], "mamori.mail.starttls"));
}

#[test]
fn pop3_user_pass_and_apop() {
    let (recs, _) = run(
        mail::new_pop3(&tcp()),
        &[
            (
                S,
                b"+OK POP3 server ready <1896.697170952@dbc.example.test>\r\n",
            ),
            (C, b"CAPA\r\n"),
            (S, b"+OK\r\nUSER\r\nSTLS\r\n.\r\n"),
            (C, b"USER erin\r\n"),
            (S, b"+OK\r\n"),
            (C, b"PASS pw\r\n"),
            (S, b"-ERR invalid\r\n"),
        ],
    );
    let r = &recs[0];
    assert_eq!(r.dataset, "pop3");
    assert_eq!(s(r, "user.name"), "erin");
    assert!(b(r, "mamori.mail.cleartext_auth"));
    assert_eq!(s(r, "event.outcome"), "failure");
    assert!(b(r, "mamori.mail.starttls_offered"));
    let (recs, _) = run(
        mail::new_pop3(&tcp()),
        &[
            (S, b"+OK POP3 ready <1.2@x>\r\n"),
            (C, b"APOP frank c4c9334bac560ecc979e58001b3e22fb\r\n"),
            (S, b"+OK maildrop has 1 message\r\n"),
        ],
    );
    assert_eq!(s(&recs[0], "mamori.mail.auth_mechanism"), "APOP");
    assert_eq!(s(&recs[0], "user.name"), "frank");
    assert_eq!(s(&recs[0], "event.outcome"), "success");
    assert!(!recs[0].fields.contains_key("mamori.mail.cleartext_auth"));
}

#[test]
fn probes_and_identify() {
    let m = meta(Transport::Tcp, 2500);
    assert_eq!(
        mail::probe_smtp(&m, S, b"220 mx ESMTP Exim\r\n"),
        Probe::Yes
    );
    assert_eq!(
        mail::probe_smtp(&m, S, b"220 ProFTPD Server\r\n"),
        Probe::No
    );
    assert_eq!(mail::probe_smtp(&m, C, b"EHLO a\r\n"), Probe::Yes);
    assert_eq!(mail::probe_smtp(&m, C, b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(mail::probe_imap(&m, S, b"* OK IMAP4 ready\r\n"), Probe::Yes);
    assert_eq!(mail::probe_imap(&m, C, b"a001 CAPABILITY\r\n"), Probe::Yes);
    assert_eq!(mail::probe_imap(&m, C, b"hello there\r\n"), Probe::No);
    assert_eq!(mail::probe_pop3(&m, S, b"+OK POP3 ready\r\n"), Probe::Yes);
    assert_eq!(mail::probe_pop3(&m, C, b"USER x\r\n"), Probe::Maybe);
    assert_eq!(mail::probe_pop3(&m, S, b"-ERR x\r\n"), Probe::No);
    for p in [mail::probe_smtp, mail::probe_imap, mail::probe_pop3] {
        assert_eq!(p(&m, C, &garbage(5, 100)), Probe::No);
        assert_eq!(p(&m, S, &garbage(6, 100)), Probe::No);
    }
    for (data, name) in [
        (&b"220 mail.example.test ESMTP ready\r\n"[..], "smtp"),
        (b"* OK [CAPABILITY IMAP4rev1] ready\r\n", "imap"),
        (b"+OK POP3 ready\r\n", "pop3"),
    ] {
        match identify(&m, S, data) {
            Identified::Protocol(p) => assert_eq!(p.name, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn garbage_does_not_panic() {
    let (recs, progress) = run(mail::new_smtp(&tcp()), &[(S, b"\x00\x01binary\r\n")]);
    assert!(recs.is_empty());
    assert_eq!(progress[0], Progress::NotThisProtocol);
    for seed in 0..40 {
        let g = garbage(seed, 3000);
        for new in [mail::new_smtp, mail::new_imap, mail::new_pop3] {
            no_panic(new, &g, (seed as usize % 17) + 1);
            let mut s = b"220 x ESMTP\r\n* OK\r\n+OK\r\nAUTH PLAIN\r\n".to_vec();
            s.extend(&g);
            no_panic(new, &s, 5);
        }
    }
}
