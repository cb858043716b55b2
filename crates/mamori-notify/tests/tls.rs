//! TLS delivery against real local peers with a test CA: SMTP STARTTLS and implicit TLS with
//! AUTH, syslog over TLS (RFC 5425 framing), HTTPS webhook; an untrusted certificate fails
//! without falling back to plain text.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mamori_core::{Alert, Severity, Timestamp};
use mamori_notify::{Dispatcher, NotifyConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

const T0: u64 = 1_795_000_000_000;

struct Pki {
    server: Arc<ServerConfig>,
    ca_file: String,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pki(tag: &str) -> Pki {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("mamori-notify-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ck.cert.pem()).unwrap();
    let cert = CertificateDer::from(ck.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    Pki {
        server: Arc::new(server),
        ca_file: ca.display().to_string(),
        _dir: TempDir(dir),
    }
}

fn alert() -> Alert {
    let mut a = Alert::new(
        "mamori.net.port_scan",
        "TCP port scan",
        Severity::High,
        Timestamp::from_unix_secs(1_795_000_000),
        "10.0.0.5 probed 312 TCP ports",
    );
    a.rule_name_ja = "TCPポートスキャン".into();
    a
}

fn build(json: &str) -> mamori_notify::Config {
    NotifyConfig::from_json(json)
        .unwrap()
        .validate_and_build()
        .unwrap()
}

#[derive(Debug, Default, Clone)]
struct Seen {
    tls_before_auth: bool,
    auth: Option<String>,
    data: String,
}

/// Serve SMTP commands on `rw` until QUIT or STARTTLS; the flag is true for STARTTLS.
fn smtp_loop<S: Read + Write>(
    rw: S,
    offer_starttls: bool,
    is_tls: bool,
    seen: &Mutex<Seen>,
) -> (S, bool) {
    let mut r = BufReader::new(rw);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return (r.into_inner(), false);
        }
        let cmd = line.trim_end().to_owned();
        let reply: String = if cmd.starts_with("EHLO") {
            let st = if offer_starttls && !is_tls {
                "250-STARTTLS\r\n"
            } else {
                ""
            };
            format!("250-sink\r\n{st}250 AUTH PLAIN\r\n")
        } else if cmd == "STARTTLS" {
            r.get_mut().write_all(b"220 go\r\n").unwrap();
            r.get_mut().flush().unwrap();
            return (r.into_inner(), true);
        } else if let Some(tok) = cmd.strip_prefix("AUTH PLAIN ") {
            let mut s = seen.lock().unwrap();
            s.tls_before_auth = is_tls;
            s.auth = Some(tok.to_owned());
            "235 ok\r\n".into()
        } else if cmd == "DATA" {
            r.get_mut().write_all(b"354 go\r\n").unwrap();
            let mut data = String::new();
            loop {
                let mut l = String::new();
                r.read_line(&mut l).unwrap();
                if l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            seen.lock().unwrap().data = data;
            "250 queued\r\n".into()
        } else if cmd == "QUIT" {
            r.get_mut().write_all(b"221 bye\r\n").unwrap();
            return (r.into_inner(), false);
        } else {
            "250 ok\r\n".into()
        };
        r.get_mut().write_all(reply.as_bytes()).unwrap();
        r.get_mut().flush().unwrap();
    }
}

fn smtp_tls_sink(server: Arc<ServerConfig>, implicit: bool) -> (u16, Arc<Mutex<Seen>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for tcp in l.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let conn = ServerConnection::new(server.clone()).unwrap();
            if implicit {
                let mut tls = StreamOwned::new(conn, tcp);
                tls.write_all(b"220 sink ESMTP\r\n").unwrap();
                smtp_loop(tls, false, true, &s2);
                continue;
            }
            tcp.write_all(b"220 sink ESMTP\r\n").unwrap();
            let (tcp, upgrade) = smtp_loop(tcp, true, false, &s2);
            if upgrade {
                let tls = StreamOwned::new(conn, tcp);
                smtp_loop(tls, true, true, &s2);
            }
        }
    });
    (port, seen)
}

fn email_cfg(port: u16, tls: &str, ca: Option<&str>) -> String {
    let ca = ca.map_or(String::new(), |c| format!(r#", "ca_file": "{c}""#));
    format!(
        r#"{{"endpoints": [{{"kind": "email", "id": "mail", "host": "localhost", "port": {port},
             "tls": "{tls}", "from": "mamori@example.jp", "username": "u", "password": "pw" {ca}}}],
           "recipients": [{{"id": "soc", "endpoint": "mail", "to": ["soc@example.jp"]}}]}}"#
    )
}

#[test]
fn smtp_starttls_with_auth_inside_tls() {
    let p = pki("starttls");
    let (port, seen) = smtp_tls_sink(p.server.clone(), false);
    let mut d = Dispatcher::new(build(&email_cfg(port, "starttls", Some(&p.ca_file))));
    d.handle_alert(&alert(), T0);
    assert_eq!(
        d.stats()["mail"].sent,
        1,
        "{:?}",
        d.stats()["mail"].last_error
    );
    let s = seen.lock().unwrap().clone();
    assert!(
        s.tls_before_auth,
        "AUTH must only be sent after the upgrade"
    );
    assert!(s.auth.is_some());
    assert!(s.data.contains("Subject: =?UTF-8?B?"));
}

#[test]
fn smtp_implicit_tls() {
    let p = pki("implicit");
    let (port, seen) = smtp_tls_sink(p.server.clone(), true);
    let mut d = Dispatcher::new(build(&email_cfg(port, "tls", Some(&p.ca_file))));
    d.test_send("soc", T0).unwrap();
    let s = seen.lock().unwrap().clone();
    assert!(s.tls_before_auth);
    assert!(s.data.contains("multipart/alternative"));
}

#[test]
fn untrusted_certificate_fails_without_plaintext_fallback() {
    let p = pki("untrusted");
    let (port, seen) = smtp_tls_sink(p.server.clone(), false);
    let mut d = Dispatcher::new(build(&email_cfg(port, "starttls", None)));
    let err = d.test_send("soc", T0).unwrap_err().to_string();
    assert!(err.contains("tls"), "{err}");
    let s = seen.lock().unwrap().clone();
    assert!(s.auth.is_none() && s.data.is_empty(), "{s:?}");
}

#[test]
fn syslog_over_tls_is_octet_counted() {
    let p = pki("syslog");
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = p.server.clone();
    let h = std::thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(server).unwrap(), tcp);
        let mut all = Vec::new();
        // Ends with close_notify (clean EOF) or a reset; keep what was read.
        let mut buf = [0u8; 4096];
        loop {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8(all).unwrap()
    });
    let cfg = format!(
        r#"{{"endpoints": [{{"kind": "syslog", "id": "siem", "address": "127.0.0.1:{port}",
             "transport": "tls", "format": "cef", "server_name": "localhost", "ca_file": "{}"}}],
           "recipients": [{{"id": "fwd", "endpoint": "siem"}}]}}"#,
        p.ca_file
    );
    let mut d = Dispatcher::new(build(&cfg));
    d.handle_alert(&alert(), T0);
    assert_eq!(
        d.stats()["siem"].sent,
        1,
        "{:?}",
        d.stats()["siem"].last_error
    );
    let raw = h.join().unwrap();
    let (len, msg) = raw.split_once(' ').unwrap();
    assert_eq!(len.parse::<usize>().unwrap(), msg.len());
    assert!(msg.starts_with("<131>1 "), "{msg}");
    assert!(msg.contains("CEF:0|mamori|mamori|"));
}

#[test]
fn https_webhook_with_private_ca() {
    let p = pki("https");
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = p.server.clone();
    let h = std::thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(server).unwrap(), tcp);
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        // Read headers and the body announced by Content-Length.
        loop {
            let n = tls.read(&mut buf).unwrap();
            req.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&req).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if req.len() >= end + 4 + len {
                    break;
                }
            }
        }
        tls.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .unwrap();
        tls.conn.send_close_notify();
        let _ = tls.flush();
        String::from_utf8(req).unwrap()
    });
    let cfg = format!(
        r#"{{"endpoints": [{{"kind": "webhook", "id": "w", "url": "https://localhost:{port}/hook",
             "ca_file": "{}"}}],
           "recipients": [{{"id": "r", "endpoint": "w"}}]}}"#,
        p.ca_file
    );
    let mut d = Dispatcher::new(build(&cfg));
    d.handle_alert(&alert(), T0);
    assert_eq!(d.stats()["w"].sent, 1, "{:?}", d.stats()["w"].last_error);
    let req = h.join().unwrap();
    assert!(req.starts_with("POST /hook HTTP/1.1\r\n"), "{req}");
    assert!(req.contains(&format!("Host: localhost:{port}\r\n")));
    assert!(
        req.contains("\"rule\":{\"id\":\"mamori.net.port_scan\""),
        "{req}"
    );
}
