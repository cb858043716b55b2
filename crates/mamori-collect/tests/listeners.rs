//! Listener tests over loopback (127.0.0.1 only).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mamori_collect::{
    Collector, Input, ListenerConfig, ListenerStats, RawMessage, TlsIdentity, Transport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::Receiver;

const WAIT: Duration = Duration::from_secs(10);

fn any() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn recv_msg(rx: &mut Receiver<Input>) -> RawMessage {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(Input::Message(m))) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn recv_n(rx: &mut Receiver<Input>, n: usize) -> Vec<RawMessage> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(recv_msg(rx).await);
    }
    v
}

fn stats_of(c: &Collector, name: &str) -> ListenerStats {
    c.stats().into_iter().find(|s| s.name == name).unwrap()
}

/// Poll the stats until `cond` holds (counters are updated by other tasks).
async fn wait_stats(c: &Collector, name: &str, cond: impl Fn(&ListenerStats) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = stats_of(c, name);
        if cond(&s) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stop(c: Collector, mut rx: Receiver<Input>) {
    c.shutdown();
    while tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("channel closes")
        .is_some()
    {}
    c.join().await;
}

#[tokio::test]
async fn udp_datagrams_with_source_and_counts() {
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::syslog_udp("u", any()))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("u").unwrap();
    let client = std::net::UdpSocket::bind(any()).unwrap();
    client.send_to(b"<13>one\n", addr).unwrap();
    client.send_to(b"<14>two", addr).unwrap();
    let got = recv_n(&mut rx, 2).await;
    assert_eq!(got[0].bytes, b"<13>one");
    assert_eq!(got[1].bytes, b"<14>two");
    assert_eq!(got[0].transport, Transport::Udp);
    assert_eq!(got[0].source.peer, Some(client.local_addr().unwrap()));
    assert_eq!(&*got[0].source.listener, "u");
    assert!(got[0].received.unix_secs() > 1_600_000_000);
    let s = stats_of(&c, "u");
    assert_eq!(s.counters.get("received"), 2);
    assert_eq!(s.counters.get("bytes"), 8 + 7);
    assert!(s.last_seen.contains_key("127.0.0.1"));
    assert_eq!(s.kind, "syslog_udp");
    stop(c, rx).await;
}

#[tokio::test]
async fn udp_oversized_is_truncated_and_flagged() {
    let mut cfg = ListenerConfig::syslog_udp("u", any());
    if let ListenerConfig::SyslogUdp(u) = &mut cfg {
        u.max_message = 10;
    }
    let (c, mut rx) = Collector::builder().listener(cfg).start().await.unwrap();
    let addr = c.local_addr("u").unwrap();
    let client = std::net::UdpSocket::bind(any()).unwrap();
    client.send_to(b"<13>0123456789abcdef", addr).unwrap();
    client.send_to(b"<13>short", addr).unwrap();
    let got = recv_n(&mut rx, 2).await;
    assert_eq!(got[0].bytes, b"<13>012345");
    assert!(got[0].truncated);
    assert!(!got[1].truncated);
    assert_eq!(stats_of(&c, "u").counters.get("oversized"), 1);
    stop(c, rx).await;
}

#[tokio::test]
async fn udp_full_queue_drops_are_counted_not_lost_silently() {
    let (c, mut rx) = Collector::builder()
        .channel_capacity(1)
        .listener(ListenerConfig::syslog_udp("u", any()))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("u").unwrap();
    let client = std::net::UdpSocket::bind(any()).unwrap();
    for i in 0..50 {
        client
            .send_to(format!("<13>msg {i}").as_bytes(), addr)
            .unwrap();
    }
    wait_stats(&c, "u", |s| {
        s.counters.get("received") + s.counters.get("udp_socket_drops") >= 50
    })
    .await;
    let s = stats_of(&c, "u");
    let dropped = s.counters.get("udp_dropped_queue_full");
    assert!(dropped >= 1, "{s:?}");
    let mut delivered = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
        delivered += 1;
    }
    assert_eq!(delivered + dropped, s.counters.get("received"));
    stop(c, rx).await;
}

#[tokio::test]
async fn tcp_newline_octet_and_mixed_connections() {
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::syslog_tcp("t", any()))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("t").unwrap();
    let mut nl = TcpStream::connect(addr).await.unwrap();
    let mut oc = TcpStream::connect(addr).await.unwrap();
    nl.write_all(b"<13>line one\r\n<13>line ").await.unwrap();
    nl.flush().await.unwrap();
    let a = recv_msg(&mut rx).await;
    assert_eq!(a.bytes, b"<13>line one");
    assert_eq!(a.transport, Transport::Tcp);
    oc.write_all(b"16 <13>with\nnewline10 <13>secon")
        .await
        .unwrap();
    let b = recv_msg(&mut rx).await;
    assert_eq!(b.bytes, b"<13>with\nnewline");
    oc.write_all(b"d").await.unwrap();
    nl.write_all(b"two\n").await.unwrap();
    let mut rest: Vec<Vec<u8>> = recv_n(&mut rx, 2)
        .await
        .into_iter()
        .map(|m| m.bytes)
        .collect();
    rest.sort();
    assert_eq!(rest, vec![b"<13>line two".to_vec(), b"<13>second".to_vec()]);
    // An unterminated newline message is delivered at close.
    nl.write_all(b"<13>tail").await.unwrap();
    drop(nl);
    assert_eq!(recv_msg(&mut rx).await.bytes, b"<13>tail");
    let s = stats_of(&c, "t");
    assert_eq!(s.counters.get("connections"), 2);
    assert_eq!(s.counters.get("received"), 5);
    stop(c, rx).await;
}

#[tokio::test]
async fn tcp_oversized_and_garbage_keep_listener_up() {
    let mut cfg = ListenerConfig::syslog_tcp("t", any());
    if let ListenerConfig::SyslogTcp(t) = &mut cfg {
        t.max_message = 16;
    }
    let (c, mut rx) = Collector::builder().listener(cfg).start().await.unwrap();
    let addr = c.local_addr("t").unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"<13>this line is far too long\n<13>ok\n")
        .await
        .unwrap();
    let got = recv_n(&mut rx, 2).await;
    assert_eq!(got[0].bytes, b"<13>this line is");
    assert!(got[0].truncated);
    assert_eq!(got[1].bytes, b"<13>ok");
    drop(s);
    // Binary garbage: delivered raw (the parser decides), counted, listener stays up.
    let mut g = TcpStream::connect(addr).await.unwrap();
    g.write_all(&[0x16, 0x03, 0x01, 0x00, 0xff, 0xfe, b'\n'])
        .await
        .unwrap();
    let gm = recv_msg(&mut rx).await;
    assert_eq!(gm.bytes, vec![0x16, 0x03, 0x01, 0x00, 0xff, 0xfe]);
    drop(g);
    let mut s2 = TcpStream::connect(addr).await.unwrap();
    s2.write_all(b"5 <1>ok").await.unwrap();
    assert_eq!(recv_msg(&mut rx).await.bytes, b"<1>ok");
    wait_stats(&c, "t", |s| s.counters.get("oversized") == 1).await;
    let st = stats_of(&c, "t");
    assert_eq!(st.counters.get("non_text_message"), 1);
    stop(c, rx).await;
}

#[tokio::test]
async fn tcp_backpressure_loses_nothing() {
    let (c, mut rx) = Collector::builder()
        .channel_capacity(2)
        .listener(ListenerConfig::syslog_tcp("t", any()))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("t").unwrap();
    let writer = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        for i in 0..2000 {
            s.write_all(format!("<13>message number {i}\n").as_bytes())
                .await
                .unwrap();
        }
    });
    // Let the channel fill up before reading.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = recv_n(&mut rx, 2000).await;
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.bytes, format!("<13>message number {i}").as_bytes());
    }
    writer.await.unwrap();
    assert_eq!(stats_of(&c, "t").counters.get("received"), 2000);
    stop(c, rx).await;
}

#[tokio::test]
async fn tcp_max_connections_and_idle_timeout() {
    let mut cfg = ListenerConfig::syslog_tcp("t", any());
    if let ListenerConfig::SyslogTcp(t) = &mut cfg {
        t.max_connections = 1;
        t.idle_timeout = Duration::from_millis(300);
    }
    let (c, rx) = Collector::builder().listener(cfg).start().await.unwrap();
    let addr = c.local_addr("t").unwrap();
    let mut first = TcpStream::connect(addr).await.unwrap();
    wait_stats(&c, "t", |s| s.counters.get("connections") == 1).await;
    let mut second = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(WAIT, second.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "the second connection is closed");
    wait_stats(&c, "t", |s| s.counters.get("connections_rejected_max") == 1).await;
    // The first one is closed after the idle timeout.
    let n = tokio::time::timeout(WAIT, first.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0);
    wait_stats(&c, "t", |s| s.counters.get("idle_timeout") == 1).await;
    stop(c, rx).await;
}

fn tls_client(cert_pem: &std::path::Path) -> tokio_rustls::TlsConnector {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_file_iter(cert_pem).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

#[tokio::test]
async fn tls_self_signed_persisted_handshake_failure_counted() {
    let dir = tempfile::tempdir().unwrap();
    let identity = TlsIdentity::SelfSigned {
        dir: dir.path().to_path_buf(),
        names: vec!["localhost".into()],
    };
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::syslog_tls("s", any(), identity.clone()))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("s").unwrap();
    let cert_path = dir.path().join(mamori_collect::tls::SELF_SIGNED_CERT_FILE);
    let cert_before = std::fs::read(&cert_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join(mamori_collect::tls::SELF_SIGNED_KEY_FILE);
        let mode = std::fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "private key must not be group/world readable"
        );
    }

    // Plain text to the TLS port: a handshake failure, counted; the listener stays up.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain.write_all(b"<13>not tls at all\n").await.unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut sink)).await;
    wait_stats(&c, "s", |s| s.counters.get("tls_handshake_failed") == 1).await;

    let connector = tls_client(&cert_path);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"12 <13>over tls<13>second\n").await.unwrap();
    tls.flush().await.unwrap();
    let a = recv_msg(&mut rx).await;
    assert_eq!(a.bytes, b"<13>over tls");
    assert_eq!(a.transport, Transport::Tls);
    assert_eq!(
        a.source.peer.map(|p| p.ip()),
        Some(IpAddr::from([127, 0, 0, 1]))
    );
    tls.shutdown().await.unwrap();
    drop(tls);
    // A newline frame after an octet-counted one: counted as a framing error, still delivered.
    let b = recv_msg(&mut rx).await;
    assert_eq!(b.bytes, b"<13>second");
    wait_stats(&c, "s", |s| s.counters.get("framing_error") == 1).await;
    stop(c, rx).await;

    // A second start reuses the persisted pair.
    let (c2, rx2) = Collector::builder()
        .listener(ListenerConfig::syslog_tls("s", any(), identity))
        .start()
        .await
        .unwrap();
    assert_eq!(std::fs::read(&cert_path).unwrap(), cert_before);
    stop(c2, rx2).await;
}

#[tokio::test]
async fn tls_from_pem_files_and_bad_pem_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = dir.path().join("c.pem");
    let key = dir.path().join("k.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let id = TlsIdentity::Pem {
        cert: cert.clone(),
        key,
    };
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::syslog_tls("s", any(), id))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("s").unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tls_client(&cert).connect(name, tcp).await.unwrap();
    tls.write_all(b"<13>newline over tls\n").await.unwrap();
    assert_eq!(recv_msg(&mut rx).await.bytes, b"<13>newline over tls");
    stop(c, rx).await;

    let bad = TlsIdentity::Pem {
        cert: dir.path().join("missing.pem"),
        key: dir.path().join("k.pem"),
    };
    let r = Collector::builder()
        .listener(ListenerConfig::syslog_tls("s", any(), bad))
        .start()
        .await;
    let err = r.expect_err("missing certificate is an error").to_string();
    assert!(err.contains("missing.pem"), "{err}");
}

/// (source, destination, source port, destination port, packets, bytes)
type V5Record = ([u8; 4], [u8; 4], u16, u16, u32, u32);

fn netflow_v5(records: &[V5Record]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&5u16.to_be_bytes());
    p.extend_from_slice(&(records.len() as u16).to_be_bytes());
    p.extend_from_slice(&100_000u32.to_be_bytes()); // sys uptime ms
    p.extend_from_slice(&1_700_000_000u32.to_be_bytes()); // unix secs
    p.extend_from_slice(&0u32.to_be_bytes()); // nsecs
    p.extend_from_slice(&1u32.to_be_bytes()); // sequence
    p.extend_from_slice(&[0, 0, 0, 0]); // engine, sampling
    for (src, dst, sport, dport, pkts, octets) in records {
        p.extend_from_slice(src);
        p.extend_from_slice(dst);
        p.extend_from_slice(&[0; 4]); // next hop
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(&2u16.to_be_bytes());
        p.extend_from_slice(&pkts.to_be_bytes());
        p.extend_from_slice(&octets.to_be_bytes());
        p.extend_from_slice(&90_000u32.to_be_bytes()); // first
        p.extend_from_slice(&95_000u32.to_be_bytes()); // last
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0, 0x12, 6, 0]); // pad, flags, proto tcp, tos
        p.extend_from_slice(&[0; 4]); // AS numbers
        p.extend_from_slice(&[24, 24, 0, 0]); // masks, pad
    }
    p
}

fn ipfix(template: bool, data: bool) -> Vec<u8> {
    let mut sets = Vec::new();
    if template {
        let fields: [(u16, u16); 6] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8)];
        let mut t = Vec::new();
        t.extend_from_slice(&256u16.to_be_bytes());
        t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
        for (id, len) in fields {
            t.extend_from_slice(&id.to_be_bytes());
            t.extend_from_slice(&len.to_be_bytes());
        }
        sets.extend_from_slice(&2u16.to_be_bytes());
        sets.extend_from_slice(&((t.len() + 4) as u16).to_be_bytes());
        sets.extend_from_slice(&t);
    }
    if data {
        let mut r = Vec::new();
        r.extend_from_slice(&[192, 0, 2, 10]);
        r.extend_from_slice(&[198, 51, 100, 20]);
        r.extend_from_slice(&5353u16.to_be_bytes());
        r.extend_from_slice(&53u16.to_be_bytes());
        r.push(17);
        r.extend_from_slice(&777u64.to_be_bytes());
        sets.extend_from_slice(&256u16.to_be_bytes());
        sets.extend_from_slice(&((r.len() + 4) as u16).to_be_bytes());
        sets.extend_from_slice(&r);
    }
    let mut p = Vec::new();
    p.extend_from_slice(&10u16.to_be_bytes());
    p.extend_from_slice(&((sets.len() + 16) as u16).to_be_bytes());
    p.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    p.extend_from_slice(&7u32.to_be_bytes());
    p.extend_from_slice(&42u32.to_be_bytes());
    p.extend_from_slice(&sets);
    p
}

async fn recv_flows(rx: &mut Receiver<Input>) -> mamori_collect::FlowBatch {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(Input::Flows(b))) => b,
        other => panic!("expected flows, got {other:?}"),
    }
}

#[tokio::test]
async fn netflow_v5_and_ipfix_become_flow_events() {
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::netflow("nf", any()))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("nf").unwrap();
    let exporter = std::net::UdpSocket::bind(any()).unwrap();
    exporter
        .send_to(
            &netflow_v5(&[
                ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 443, 10, 5000),
                ([10, 0, 0, 3], [10, 0, 0, 4], 40001, 22, 3, 300),
            ]),
            addr,
        )
        .unwrap();
    let b = recv_flows(&mut rx).await;
    assert_eq!(b.flows.len(), 2);
    assert_eq!(b.source.peer, Some(exporter.local_addr().unwrap()));
    let ev = b.to_events();
    assert_eq!(ev[0].get_str("event.dataset"), Some("flow"));
    assert_eq!(ev[0].get_ip("source.ip"), Some(IpAddr::from([10, 0, 0, 1])));
    assert_eq!(ev[0].get_i64("destination.port"), Some(443));
    assert_eq!(ev[0].get_i64("source.bytes"), Some(5000));
    assert_eq!(ev[1].get_i64("destination.port"), Some(22));
    assert_eq!(
        ev[0].get_ip("observer.ip"),
        Some(IpAddr::from([127, 0, 0, 1]))
    );

    // IPFIX: data before its template is dropped and counted; after it, decoded.
    exporter.send_to(&ipfix(false, true), addr).unwrap();
    exporter.send_to(&ipfix(true, false), addr).unwrap();
    exporter.send_to(&ipfix(false, true), addr).unwrap();
    let b = recv_flows(&mut rx).await;
    assert_eq!(b.flows.len(), 1);
    let e = &b.to_events()[0];
    assert_eq!(
        e.get_ip("destination.ip"),
        Some(IpAddr::from([198, 51, 100, 20]))
    );
    assert_eq!(e.get_i64("destination.port"), Some(53));
    assert_eq!(e.get_i64("source.bytes"), Some(777));
    assert_eq!(e.get_str("network.transport"), Some("udp"));

    // Garbage and truncated datagrams are counted; the listener stays up.
    exporter.send_to(b"\xde\xad", addr).unwrap();
    exporter.send_to(b"\x00\x63garbage", addr).unwrap();
    exporter
        .send_to(
            &netflow_v5(&[([10, 0, 0, 9], [10, 0, 0, 8], 1, 2, 1, 1)]),
            addr,
        )
        .unwrap();
    let b = recv_flows(&mut rx).await;
    assert_eq!(b.flows.len(), 1);
    let s = stats_of(&c, "nf");
    assert_eq!(s.counters.get("received"), 7);
    assert_eq!(s.counters.get("missing_template"), 1, "{s:?}");
    assert_eq!(s.counters.get("undecodable_datagram"), 2, "{s:?}");
    stop(c, rx).await;
}

#[tokio::test]
async fn duplicate_names_and_bad_bind_are_errors() {
    let r = Collector::builder()
        .listener(ListenerConfig::syslog_udp("x", any()))
        .listener(ListenerConfig::syslog_tcp("x", any()))
        .start()
        .await;
    assert!(r.is_err());
    let taken = std::net::UdpSocket::bind(any()).unwrap();
    let r = Collector::builder()
        .listener(ListenerConfig::syslog_udp("x", taken.local_addr().unwrap()))
        .start()
        .await;
    let msg = r.err().unwrap().to_string();
    assert!(msg.contains("cannot bind"), "{msg}");
}

#[tokio::test]
async fn ipfix_templates_are_kept_per_exporter() {
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::netflow("nf", any()))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("nf").unwrap();
    let a = std::net::UdpSocket::bind(any()).unwrap();
    let b = std::net::UdpSocket::bind(any()).unwrap();
    a.send_to(&ipfix(true, false), addr).unwrap();
    // Same template id and domain, other exporter: its template is unknown.
    b.send_to(&ipfix(false, true), addr).unwrap();
    a.send_to(&ipfix(false, true), addr).unwrap();
    let batch = recv_flows(&mut rx).await;
    assert_eq!(batch.source.peer, Some(a.local_addr().unwrap()));
    assert_eq!(batch.flows.len(), 1);
    wait_stats(&c, "nf", |s| s.counters.get("received") == 3).await;
    assert_eq!(stats_of(&c, "nf").counters.get("missing_template"), 1);
    stop(c, rx).await;
}
