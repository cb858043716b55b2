//! Delivery against real local peers on 127.0.0.1 started by the tests: an SMTP sink speaking
//! real SMTP, an HTTP receiver, and UDP/TCP syslog receivers. Time is driven by hand.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use mamori_core::{Alert, Severity, Timestamp};
use mamori_notify::{Dispatcher, ManualClock, Notifier, NotifyConfig, NotifyError};

const T0: u64 = 1_795_000_000_000;

fn alert(rule: &'static str, sev: Severity) -> Alert {
    let mut a = Alert::new(
        rule,
        "TCP port scan",
        sev,
        Timestamp::from_unix_secs(1_795_000_000),
        "10.0.0.5 probed 312 TCP ports on 10.0.0.9 in 18 s",
    );
    a.rule_name_ja = "TCPポートスキャン".into();
    a.message_ja = Some("10.0.0.5 が 10.0.0.9 の TCP ポート 312 個を 18 秒で探査しました".into());
    a.techniques.push("T1046".into());
    a.controls.push("JP-DISCS-8".into());
    a.source_ip = "10.0.0.5".parse().ok();
    a.destination_ip = "10.0.0.9".parse().ok();
    a.count = 4;
    a
}

fn build(json: &str) -> mamori_notify::Config {
    NotifyConfig::from_json(json)
        .expect("config json")
        .validate_and_build()
        .expect("valid config")
}

// ------------------------------------------------------------------------------------------
// HTTP receiver

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("json body")
    }
}

struct HttpPeer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    /// Requests to answer with 503 before answering 200.
    fail_first: Arc<AtomicUsize>,
    /// Status used while failing.
    fail_status: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicUsize>,
}

impl HttpPeer {
    fn start() -> HttpPeer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let fail_first = Arc::new(AtomicUsize::new(0));
        let fail_status = Arc::new(AtomicUsize::new(503));
        let delay_ms = Arc::new(AtomicUsize::new(0));
        let (r2, f2, s2, d2) = (
            requests.clone(),
            fail_first.clone(),
            fail_status.clone(),
            delay_ms.clone(),
        );
        std::thread::spawn(move || {
            for stream in l.incoming() {
                let Ok(stream) = stream else { continue };
                let mut rd = BufReader::new(stream);
                let mut line = String::new();
                if rd.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_owned();
                let path = parts.next().unwrap_or("").to_owned();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if rd.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(": ") {
                        headers.push((k.to_owned(), v.to_owned()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                rd.read_exact(&mut body).unwrap();
                std::thread::sleep(Duration::from_millis(d2.load(Ordering::SeqCst) as u64));
                r2.lock().unwrap().push(Request {
                    method,
                    path,
                    headers,
                    body: String::from_utf8(body).unwrap(),
                });
                let failing = f2
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let status = if failing {
                    format!("{} Failing", s2.load(Ordering::SeqCst))
                } else {
                    "200 OK".to_owned()
                };
                let mut s = rd.into_inner();
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        HttpPeer {
            port,
            requests,
            fail_first,
            fail_status,
            delay_ms,
        }
    }
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    fn last(&self) -> Request {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }
}

fn webhook_config(port: u16, extra_delivery: &str, recipient_extra: &str) -> String {
    format!(
        r#"{{
        "delivery": {{"backoff_initial_ms": 1000, "backoff_max_ms": 8000, "timeout_ms": 3000 {extra_delivery}}},
        "endpoints": [{{"kind": "webhook", "id": "hook", "url": "http://127.0.0.1:{port}/in?x=1",
                        "secret": "s3cret", "headers": {{"X-Team": "soc"}}}}],
        "recipients": [{{"id": "r1", "endpoint": "hook" {recipient_extra}}}]
    }}"#
    )
}

#[test]
fn webhook_body_headers_and_hmac_signature() {
    let peer = HttpPeer::start();
    let mut d = Dispatcher::new(build(&webhook_config(peer.port, "", "")));
    d.handle_alert(&alert("mamori.net.port_scan", Severity::High), T0);
    assert_eq!(peer.count(), 1);
    let req = peer.last();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/in?x=1");
    assert_eq!(req.header("X-Team"), Some("soc"));
    assert_eq!(
        req.header("Content-Type"),
        Some("application/json; charset=utf-8")
    );
    let ts = req.header("X-Mamori-Timestamp").expect("timestamp header");
    assert_eq!(ts, (T0 / 1000).to_string());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(format!("{ts}.{}", req.body).as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        req.header("X-Mamori-Signature"),
        Some(format!("sha256={want}").as_str())
    );
    let j = req.json();
    assert_eq!(j["kind"], "alert");
    assert_eq!(j["alert_count"], 1);
    assert_eq!(j["alerts"][0]["rule"]["id"], "mamori.net.port_scan");
    assert_eq!(j["alerts"][0]["event"]["severity"], 3);
    assert_eq!(j["alerts"][0]["threat"]["tactic"]["name"][0], "Discovery");
    assert_eq!(d.stats()["hook"].sent, 1);
}

#[test]
fn webhook_template_is_json_escaped() {
    let peer = HttpPeer::start();
    let cfg = format!(
        r#"{{"endpoints": [{{"kind": "webhook", "id": "hook", "url": "http://127.0.0.1:{}/t",
            "body_template": "{{\"t\": \"{{{{rule_name}}}}\", \"m\": \"{{{{message_en}}}}\", \"sev\": {{{{severity_number}}}}}}"}}],
            "recipients": [{{"id": "r", "endpoint": "hook", "language": "en"}}]}}"#,
        peer.port
    );
    let mut d = Dispatcher::new(build(&cfg));
    let mut a = alert("x.y", Severity::Critical);
    a.message = "quote \" backslash \\ newline \n end".into();
    d.handle_alert(&a, T0);
    let j = peer.last().json();
    assert_eq!(j["t"], "TCP port scan");
    assert_eq!(j["m"], "quote \" backslash \\ newline \n end");
    assert_eq!(j["sev"], 4);
    assert!(peer.last().header("X-Mamori-Signature").is_none());
}

#[test]
fn slack_blocks_and_teams_card_in_japanese_with_fallback() {
    let peer = HttpPeer::start();
    let cfg = format!(
        r#"{{"endpoints": [
            {{"kind": "slack", "id": "slack", "url": "http://127.0.0.1:{p}/services/T/B/X"}},
            {{"kind": "teams", "id": "teams", "url": "http://127.0.0.1:{p}/teams"}}],
          "recipients": [
            {{"id": "s", "endpoint": "slack"}},
            {{"id": "t", "endpoint": "teams", "language": "en"}}]}}"#,
        p = peer.port
    );
    let mut d = Dispatcher::new(build(&cfg));
    let mut a = alert("mamori.net.port_scan", Severity::Critical);
    a.host_name = Some("<pc1>".into());
    d.handle_alert(&a, T0);
    let reqs = peer.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 2);
    let slack = reqs
        .iter()
        .find(|r| r.path.starts_with("/services"))
        .unwrap();
    let j = slack.json();
    assert_eq!(j["text"], "[mamori][緊急] TCPポートスキャン");
    assert_eq!(j["blocks"][0]["type"], "header");
    let section = j["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(section.contains("探査しました"), "{section}");
    assert!(section.contains("重大度: 緊急"), "{section}");
    assert!(section.contains("T1046 (Discovery)"), "{section}");
    assert!(
        section.contains("host=&lt;pc1&gt;"),
        "mrkdwn escaping: {section}"
    );
    let teams = reqs.iter().find(|r| r.path == "/teams").unwrap().json();
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(
        card["content"]["body"][0]["text"],
        "[mamori][critical] TCP port scan"
    );
    assert_eq!(card["content"]["body"][0]["color"], "Attention");
    assert_eq!(
        card["content"]["body"][1]["text"],
        "10.0.0.5 probed 312 TCP ports on 10.0.0.9 in 18 s"
    );
    let facts = card["content"]["body"][2]["facts"].as_array().unwrap();
    assert!(facts
        .iter()
        .any(|f| f["title"] == "Controls" && f["value"].as_str().unwrap().contains("JP-DISCS-8")));

    // No Japanese message: Japanese recipients get the English one.
    let mut plain = alert("mamori.other", Severity::Low);
    plain.message_ja = None;
    d.handle_alert(&plain, T0);
    let last_slack = peer
        .requests
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r.path.starts_with("/services"))
        .cloned()
        .unwrap();
    let section = last_slack.json()["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(section.starts_with("10.0.0.5 probed"), "{section}");
    assert!(section.contains("重大度: 低"));
}

#[test]
fn retry_with_backoff_then_success() {
    let peer = HttpPeer::start();
    peer.fail_first.store(2, Ordering::SeqCst);
    let mut d = Dispatcher::new(build(&webhook_config(peer.port, "", "")));
    d.handle_alert(&alert("r", Severity::High), T0);
    assert_eq!(peer.count(), 1);
    assert_eq!(d.pending_retries(), 1);
    let due = d.next_due().unwrap();
    // First retry after 1 s with jitter in [0.5 s, 1 s].
    assert!((T0 + 500..=T0 + 1000).contains(&due), "due {}", due - T0);
    d.tick(due - 1);
    assert_eq!(peer.count(), 1, "not yet due");
    d.tick(due);
    assert_eq!(peer.count(), 2);
    let due2 = d.next_due().unwrap();
    assert!(
        (due + 1000..=due + 2000).contains(&due2),
        "second backoff doubles"
    );
    d.tick(due2);
    assert_eq!(peer.count(), 3);
    assert_eq!(d.pending_retries(), 0);
    let s = &d.stats()["hook"];
    assert_eq!((s.sent, s.retried, s.failed), (1, 2, 0));
    assert!(s.last_error.as_deref().unwrap().contains("503"));
    // The same message was delivered each time.
    let reqs = peer.requests.lock().unwrap().clone();
    assert_eq!(reqs[0].body, reqs[2].body);
    assert!(d.dead_letters().is_empty());
}

#[test]
fn dead_letter_after_max_attempts_and_manual_retry() {
    let peer = HttpPeer::start();
    peer.fail_first.store(usize::MAX, Ordering::SeqCst);
    let mut d = Dispatcher::new(build(&webhook_config(
        peer.port,
        r#", "max_attempts": 3"#,
        "",
    )));
    d.handle_alert(&alert("r", Severity::High), T0);
    let mut now = T0;
    while let Some(due) = d.next_due() {
        now = due;
        d.tick(now);
    }
    assert_eq!(peer.count(), 3);
    let dead = d.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].recipient, "r1");
    assert_eq!(dead[0].endpoint, "hook");
    assert!(dead[0].last_error.contains("503"), "{}", dead[0].last_error);
    assert!(dead[0].summary.contains("TCPポートスキャン"));
    let s = &d.stats()["hook"];
    assert_eq!((s.sent, s.failed, s.retried), (0, 1, 2));
    assert_eq!(d.counters().get("dead_lettered"), 1);

    peer.fail_first.store(0, Ordering::SeqCst);
    assert!(matches!(
        d.retry_dead_letter(999, now),
        Err(NotifyError::UnknownDeadLetter(999))
    ));
    d.retry_dead_letter(dead[0].id, now).unwrap();
    assert!(d.dead_letters().is_empty());
    d.tick(now);
    assert_eq!(peer.count(), 4);
    assert_eq!(d.stats()["hook"].sent, 1);
}

#[test]
fn permanent_http_error_dead_letters_at_once() {
    let peer = HttpPeer::start();
    peer.fail_first.store(usize::MAX, Ordering::SeqCst);
    peer.fail_status.store(404, Ordering::SeqCst);
    let mut d = Dispatcher::new(build(&webhook_config(peer.port, "", "")));
    d.handle_alert(&alert("r", Severity::High), T0);
    assert_eq!(peer.count(), 1);
    assert_eq!(d.pending_retries(), 0);
    assert_eq!(d.dead_letters().len(), 1);
}

#[test]
fn connection_refused_is_retried() {
    // Bind then drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut d = Dispatcher::new(build(&webhook_config(port, r#", "max_attempts": 2"#, "")));
    d.handle_alert(&alert("r", Severity::High), T0);
    assert_eq!(d.pending_retries(), 1);
    let err = d.stats()["hook"].last_error.clone().unwrap();
    assert!(err.contains("connect"), "{err}");
    let due = d.next_due().unwrap();
    d.tick(due);
    assert_eq!(d.dead_letters().len(), 1);
}

#[test]
fn dead_letter_list_is_bounded_and_evictions_counted() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut d = Dispatcher::new(build(&webhook_config(port, r#", "max_attempts": 1"#, "")));
    let max = mamori_notify::dispatch::MAX_DEAD_LETTERS;
    for i in 0..max + 5 {
        d.handle_alert(&alert("r", Severity::High), T0 + i as u64);
    }
    let dead = d.dead_letters();
    assert_eq!(dead.len(), max);
    assert_eq!(d.counters().get("dead_letter_evicted"), 5);
    assert_eq!(d.counters().get("dead_lettered"), (max + 5) as u64);
    // Oldest evicted first.
    assert_eq!(dead[0].created_ms, T0 + 5);
    assert_eq!(d.stats()["hook"].failed, (max + 5) as u64);
}

#[test]
fn rate_limit_summarises_overflow() {
    let peer = HttpPeer::start();
    let mut d = Dispatcher::new(build(&webhook_config(
        peer.port,
        "",
        r#", "rate_limit_per_minute": 2"#,
    )));
    for i in 0..5 {
        d.handle_alert(&alert("r", Severity::High), T0 + i * 1000);
    }
    assert_eq!(peer.count(), 2, "only two per minute");
    assert_eq!(d.stats()["hook"].dropped_rate_limited, 3);
    assert_eq!(d.counters().get("rate_limited"), 3);
    assert_eq!(d.next_due(), Some(T0 + 60_000));
    d.tick(T0 + 59_999);
    assert_eq!(peer.count(), 2);
    d.tick(T0 + 60_000);
    assert_eq!(peer.count(), 3);
    let j = peer.last().json();
    assert_eq!(j["kind"], "rate_limited");
    assert_eq!(j["alert_count"], 3);
    assert_eq!(j["alerts"].as_array().unwrap().len(), 3);
    // The summary counts in the new window: one more alert fits, the next is held.
    d.handle_alert(&alert("r", Severity::High), T0 + 61_000);
    d.handle_alert(&alert("r", Severity::High), T0 + 62_000);
    assert_eq!(peer.count(), 4);
    assert_eq!(d.stats()["hook"].dropped_rate_limited, 4);
}

#[test]
fn digest_batches_alerts_per_window() {
    let peer = HttpPeer::start();
    let mut d = Dispatcher::new(build(&webhook_config(
        peer.port,
        "",
        r#", "mode": "digest", "digest_minutes": 5, "min_severity": "medium""#,
    )));
    d.handle_alert(&alert("a", Severity::High), T0);
    d.handle_alert(&alert("b", Severity::Low), T0 + 1_000); // filtered out
    d.handle_alert(&alert("c", Severity::Critical), T0 + 120_000);
    d.tick(T0 + 299_999);
    assert_eq!(peer.count(), 0);
    d.tick(T0 + 300_000);
    assert_eq!(peer.count(), 1);
    let j = peer.last().json();
    assert_eq!(j["kind"], "digest");
    assert_eq!(j["alert_count"], 2);
    let ids: Vec<&str> = j["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "c"]);
    // Empty windows send nothing; a new alert opens a new window.
    d.tick(T0 + 900_000);
    assert_eq!(peer.count(), 1);
    d.handle_alert(&alert("d", Severity::High), T0 + 1_000_000);
    assert_eq!(d.next_due(), Some(T0 + 1_300_000));
}

#[test]
fn notifier_runs_off_thread_and_counts_queue_drops() {
    let peer = HttpPeer::start();
    peer.delay_ms.store(20, Ordering::SeqCst);
    let cfg = build(&webhook_config(peer.port, "", ""));
    let clock = Arc::new(ManualClock::new(T0));
    let n = Notifier::with_capacity(cfg, clock, 2).unwrap();
    let mut accepted = 0;
    for _ in 0..40 {
        if n.submit(alert("r", Severity::High)) {
            accepted += 1;
        }
    }
    assert!(
        n.dropped() > 0,
        "a queue of 2 cannot take 40 alerts at once"
    );
    assert_eq!(accepted + n.dropped(), 40);
    assert_eq!(n.counters().get("queue_full"), n.dropped());
    n.test_send("r1").unwrap();
    assert!(matches!(
        n.test_send("nobody"),
        Err(NotifyError::UnknownRecipient(_))
    ));
    let stats_probe = n.stats();
    assert!(stats_probe.contains_key("hook"));
    n.shutdown();
    let bodies = peer.requests.lock().unwrap().clone();
    assert_eq!(bodies.len() as u64, accepted + 1);
    assert!(bodies.iter().any(|r| r.json()["kind"] == "test"));
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn notifier_dead_letters_retry_and_readers_do_not_wait_for_deliveries() {
    let peer = HttpPeer::start();
    peer.fail_first.store(1, Ordering::SeqCst);
    peer.fail_status.store(400, Ordering::SeqCst);
    let cfg = build(&webhook_config(peer.port, "", ""));
    let n = Notifier::start(cfg, Arc::new(ManualClock::new(T0))).unwrap();
    assert!(n.submit(alert("r", Severity::High)));
    wait_for("dead letter", || !n.dead_letters().is_empty());
    let id = n.dead_letters()[0].id;
    assert!(n.dead_letters()[0].last_error.contains("400"));
    // The retried delivery is slow; stats must still answer at once.
    peer.delay_ms.store(1_500, Ordering::SeqCst);
    n.retry_dead_letter(id).unwrap();
    wait_for("delivery in progress", || peer.count() >= 1);
    std::thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let stats = n.stats();
    assert!(
        started.elapsed() < Duration::from_millis(1_000),
        "stats() waited {:?} for a delivery",
        started.elapsed()
    );
    assert_eq!(stats["hook"].failed, 1);
    wait_for("redelivery", || n.stats()["hook"].sent == 1);
    assert!(n.dead_letters().is_empty());
    assert_eq!(peer.count(), 2);
    n.shutdown();
}

// ------------------------------------------------------------------------------------------
// SMTP sink (real SMTP conversation)

#[derive(Debug, Default, Clone)]
struct Mail {
    helo: String,
    auth: Option<String>,
    from: String,
    rcpt: Vec<String>,
    data: String,
}

fn smtp_sink(offer_starttls: bool) -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let m2 = mails.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let m = m2.clone();
            std::thread::spawn(move || smtp_session(s, offer_starttls, &m));
        }
    });
    (port, mails)
}

fn smtp_session(s: TcpStream, offer_starttls: bool, mails: &Mutex<Vec<Mail>>) {
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut mail = Mail::default();
    w.write_all(b"220 sink.test ESMTP\r\n").unwrap();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            mail.helo = cmd[5..].to_owned();
            let tls = if offer_starttls {
                "250-STARTTLS\r\n"
            } else {
                ""
            };
            write!(
                w,
                "250-sink.test\r\n250-8BITMIME\r\n{tls}250 AUTH PLAIN LOGIN\r\n"
            )
            .unwrap();
        } else if upper.starts_with("AUTH PLAIN ") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&cmd[11..])
                .unwrap();
            mail.auth = Some(String::from_utf8(raw).unwrap());
            w.write_all(b"235 ok\r\n").unwrap();
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = cmd[10..].to_owned();
            w.write_all(b"250 ok\r\n").unwrap();
        } else if upper.starts_with("RCPT TO:") {
            let addr = cmd[8..].to_owned();
            if addr.contains("reject") {
                w.write_all(b"550 no such user\r\n").unwrap();
            } else {
                mail.rcpt.push(addr);
                w.write_all(b"250 ok\r\n").unwrap();
            }
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n").unwrap();
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                // Undo dot-stuffing.
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            mail.data = data;
            mails.lock().unwrap().push(mail.clone());
            w.write_all(b"250 queued\r\n").unwrap();
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").unwrap();
            return;
        } else {
            w.write_all(b"502 not implemented\r\n").unwrap();
        }
    }
}

fn decode_subject(data: &str) -> String {
    // Unfold the Subject header and decode its RFC 2047 B-encoded words.
    let mut lines = data.split("\r\n");
    let mut raw = String::new();
    while let Some(l) = lines.next() {
        if let Some(v) = l.strip_prefix("Subject: ") {
            raw.push_str(v);
            for cont in lines.by_ref() {
                match cont.strip_prefix(' ') {
                    Some(c) => raw.push_str(c),
                    None => break,
                }
            }
            break;
        }
    }
    let mut out = Vec::new();
    for word in raw.split("?==?") {
        let w = word.trim_start_matches("=?").trim_end_matches("?=");
        let b64 = w.strip_prefix("UTF-8?B?").expect("utf-8 base64 word");
        out.extend(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        );
    }
    String::from_utf8(out).unwrap()
}

fn mime_part(data: &str, ctype: &str) -> String {
    let start = data
        .find(&format!("Content-Type: {ctype}; charset=UTF-8"))
        .expect("part");
    let rest = &data[start..];
    let body_start = rest.find("\r\n\r\n").unwrap() + 4;
    let body: String = rest[body_start..]
        .lines()
        .take_while(|l| !l.starts_with("--"))
        .collect();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap(),
    )
    .unwrap()
}

fn email_config(port: u16, tls: &str, extra: &str, to: &str) -> String {
    format!(
        r#"{{"endpoints": [{{"kind": "email", "id": "mail", "host": "127.0.0.1", "port": {port},
             "tls": "{tls}", "from": "mamori@example.jp", "helo_name": "sensor1" {extra}}}],
           "recipients": [{{"id": "soc", "endpoint": "mail", "to": [{to}]}}]}}"#
    )
}

#[test]
fn email_through_smtp_sink_with_japanese_subject_and_alternatives() {
    let (port, mails) = smtp_sink(false);
    let cfg = email_config(
        port,
        "none",
        r#", "username": "u1", "password": "env:MAMORI_NOTIFY_TEST_SMTP_PW", "allow_plaintext_auth": true"#,
        r#""soc@example.jp", "ciso@example.jp""#,
    );
    std::env::set_var("MAMORI_NOTIFY_TEST_SMTP_PW", "pw-from-env");
    let mut d = Dispatcher::new(build(&cfg));
    let mut a = alert("mamori.net.port_scan", Severity::High);
    a.message_ja = Some(".先頭がドットの行\n<b>タグ</b>".into());
    d.handle_alert(&a, T0);
    assert_eq!(
        d.stats()["mail"].sent,
        1,
        "{:?}",
        d.stats()["mail"].last_error
    );
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.helo, "sensor1");
    assert_eq!(m.auth.as_deref(), Some("\0u1\0pw-from-env"));
    assert_eq!(m.from, "<mamori@example.jp>");
    assert_eq!(m.rcpt, ["<soc@example.jp>", "<ciso@example.jp>"]);
    assert!(m.data.contains("From: mamori@example.jp\r\n"));
    assert!(m
        .data
        .contains("To: soc@example.jp,\r\n ciso@example.jp\r\n"));
    assert!(m.data.contains("MIME-Version: 1.0\r\n"));
    assert!(m
        .data
        .contains("Content-Type: multipart/alternative; boundary="));
    assert!(m.data.contains("Date: "));
    for line in m.data.split("\r\n") {
        assert!(line.len() <= 998, "line too long");
        assert!(line.is_ascii(), "8-bit header or body line: {line}");
    }
    assert_eq!(decode_subject(&m.data), "[mamori][高] TCPポートスキャン");
    let text = mime_part(&m.data, "text/plain");
    assert!(text.starts_with(".先頭がドットの行\n<b>タグ</b>"), "{text}");
    assert!(text.contains("ルール: TCPポートスキャン (mamori.net.port_scan)"));
    assert!(text.contains("件数: 4"));
    let html = mime_part(&m.data, "text/html");
    assert!(html.contains("&lt;b&gt;タグ&lt;/b&gt;"), "{html}");
    assert!(html.contains("<th align=\"left\">重大度</th><td>高</td>"));
}

#[test]
fn email_rejected_recipient_is_permanent_and_starttls_never_downgrades() {
    let (port, mails) = smtp_sink(false);
    let mut d = Dispatcher::new(build(&email_config(
        port,
        "none",
        "",
        r#""reject@example.jp""#,
    )));
    d.handle_alert(&alert("r", Severity::High), T0);
    let dead = d.dead_letters();
    assert_eq!(dead.len(), 1, "550 is permanent");
    assert!(dead[0].last_error.contains("550"), "{}", dead[0].last_error);

    // The sink does not offer STARTTLS: the client must refuse rather than send in clear.
    let mut d = Dispatcher::new(build(&email_config(
        port,
        "starttls",
        "",
        r#""soc@example.jp""#,
    )));
    let err = d.test_send("soc", T0).unwrap_err().to_string();
    assert!(err.contains("STARTTLS"), "{err}");
    assert!(mails.lock().unwrap().is_empty());
}

#[test]
fn email_test_send_is_marked_as_test() {
    let (port, mails) = smtp_sink(true);
    let cfg = email_config(port, "none", "", r#""soc@example.jp""#);
    let mut d = Dispatcher::new(build(&cfg));
    d.test_send("soc", T0).unwrap();
    let mails = mails.lock().unwrap().clone();
    assert_eq!(
        decode_subject(&mails[0].data),
        "[mamori][テスト][低] 通知テスト"
    );
    assert!(mime_part(&mails[0].data, "text/plain").contains("通知テストです"));
}

/// The same mail through Python's aiosmtpd when it is installed (`pip install aiosmtpd`).
#[test]
fn email_through_aiosmtpd_when_available() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP email_through_aiosmtpd_when_available: python3 aiosmtpd not installed (pip install aiosmtpd)");
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Debugging",
            "-l",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(up, "aiosmtpd did not start");
    let mut d = Dispatcher::new(build(&email_config(
        port,
        "none",
        "",
        r#""soc@example.jp""#,
    )));
    d.handle_alert(&alert("mamori.net.port_scan", Severity::High), T0);
    assert_eq!(
        d.stats()["mail"].sent,
        1,
        "{:?}",
        d.stats()["mail"].last_error
    );
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    assert!(out.contains("From: mamori@example.jp\n"), "{out}");
    assert!(out.contains("To: soc@example.jp\n"), "{out}");
    assert!(out.contains("X-Peer: ('127.0.0.1',"), "{out}");
    let crlf = out.replace('\n', "\r\n");
    assert_eq!(decode_subject(&crlf), "[mamori][高] TCPポートスキャン");
}

// ------------------------------------------------------------------------------------------
// Syslog receivers

fn syslog_config(transport: &str, format: &str, port: u16) -> String {
    format!(
        r#"{{"endpoints": [{{"kind": "syslog", "id": "siem", "address": "127.0.0.1:{port}",
             "transport": "{transport}", "format": "{format}", "hostname": "sensor1", "facility": 16}}],
           "recipients": [{{"id": "fwd", "endpoint": "siem"}}]}}"#
    )
}

/// Split an RFC 5424 message into (pri, version, timestamp, host, app, procid, msgid, sd, msg).
fn parse_5424(m: &str) -> (u16, &str, &str, &str, &str, &str, &str, &str, &str) {
    let close = m.find('>').unwrap();
    let pri: u16 = m[1..close].parse().unwrap();
    let rest = &m[close + 1..];
    let mut it = rest.splitn(7, ' ');
    let (v, ts, host, app, proc_, msgid) = (
        it.next().unwrap(),
        it.next().unwrap(),
        it.next().unwrap(),
        it.next().unwrap(),
        it.next().unwrap(),
        it.next().unwrap(),
    );
    let tail = it.next().unwrap();
    assert!(tail.starts_with('['));
    // SD ends at the first unescaped `]`.
    let b = tail.as_bytes();
    let mut i = 1;
    while b[i] != b']' || b[i - 1] == b'\\' {
        i += 1;
    }
    (
        pri,
        v,
        ts,
        host,
        app,
        proc_,
        msgid,
        &tail[..=i],
        &tail[i + 2..],
    )
}

#[test]
fn syslog_udp_cef() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let mut d = Dispatcher::new(build(&syslog_config("udp", "cef", port)));
    let mut a = alert("mamori.net.port_scan", Severity::Critical);
    a.message = "a=b|c\\d".into();
    d.handle_alert(&a, T0);
    let mut buf = [0u8; 9000];
    let n = sock.recv(&mut buf).unwrap();
    let m = std::str::from_utf8(&buf[..n]).unwrap();
    let (pri, v, ts, host, app, procid, msgid, sd, msg) = parse_5424(m);
    assert_eq!(pri, 16 * 8 + 2, "local0.crit");
    assert_eq!(v, "1");
    assert_eq!(ts, "2026-11-18T11:06:40.000Z");
    assert_eq!(
        (host, app, procid, msgid),
        ("sensor1", "mamori", "-", "cef")
    );
    assert!(
        sd.starts_with("[mamori@32473 rule_id=\"mamori.net.port_scan\""),
        "{sd}"
    );
    assert!(sd.contains("count=\"4\""));
    assert!(msg.starts_with("CEF:0|mamori|mamori|"), "{msg}");
    let fields: Vec<&str> = msg.splitn(8, '|').collect();
    assert_eq!(fields[4], "mamori.net.port_scan");
    assert_eq!(fields[5], "TCP port scan");
    assert_eq!(fields[6], "10");
    assert!(fields[7].contains("msg=a\\=b|c\\\\d"), "{}", fields[7]);
    assert!(fields[7].contains("src=10.0.0.5 dst=10.0.0.9"));
    assert!(fields[7].contains("cs1Label=attackTechniques cs1=T1046"));
    assert!(fields[7].contains("cnt=4"));
}

#[test]
fn syslog_tcp_octet_counted_json_and_ecs() {
    for format in ["json", "ecs"] {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            all
        });
        let mut d = Dispatcher::new(build(&syslog_config("tcp", format, port)));
        // Digest-free immediate send of two alerts = two connections; use a digest-like
        // batch instead by sending one alert per connection and checking the frame.
        d.handle_alert(&alert("mamori.net.port_scan", Severity::Medium), T0);
        let raw = String::from_utf8(h.join().unwrap()).unwrap();
        let (len, rest) = raw.split_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        assert_eq!(len, rest.len(), "octet count matches the frame");
        let (pri, _, _, _, _, _, msgid, _, msg) = parse_5424(rest);
        assert_eq!(pri, 16 * 8 + 4, "local0.warning");
        assert_eq!(msgid, format);
        let j: serde_json::Value = serde_json::from_str(msg).unwrap();
        if format == "json" {
            assert_eq!(j["rule"]["id"], "mamori.net.port_scan");
            assert_eq!(j["rule"]["name_ja"], "TCPポートスキャン");
            assert_eq!(j["tactics"][0], "Discovery");
        } else {
            assert_eq!(j["event"]["kind"], "alert");
            assert_eq!(j["rule"]["id"], "mamori.net.port_scan");
            assert_eq!(j["source"]["ip"], "10.0.0.5");
        }
        assert_eq!(d.stats()["siem"].sent, 1);
    }
}

#[test]
fn syslog_tcp_digest_frames_every_alert() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    });
    let cfg = syslog_config("tcp", "json", port).replace(
        r#""endpoint": "siem""#,
        r#""endpoint": "siem", "mode": "digest", "digest_minutes": 1"#,
    );
    let mut d = Dispatcher::new(build(&cfg));
    for i in 0..3 {
        d.handle_alert(&alert("r", Severity::High), T0 + i);
    }
    d.tick(T0 + 60_000);
    let raw = String::from_utf8(h.join().unwrap()).unwrap();
    let mut rest = raw.as_str();
    let mut frames = 0;
    while !rest.is_empty() {
        let (len, tail) = rest.split_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        let frame = &tail[..len];
        assert!(frame.starts_with("<131>1 "), "{frame}");
        assert!(frame.contains("kind=\"digest\""));
        rest = &tail[len..];
        frames += 1;
    }
    assert_eq!(frames, 3);
}
