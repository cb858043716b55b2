//! DHCP, DHCPv6, NTP, TFTP, syslog and SIP.

mod app_a_common;

use app_a_common::*;
use mamori_core::Value;
use mamori_proto::app::Probe;

// ---------------------------------------------------------------- DHCP

fn dhcp(op: u8, mtype: u8, yiaddr: [u8; 4], giaddr: [u8; 4], opts: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![op, 1, 6, 0];
    m.extend([0xde, 0xad, 0xbe, 0xef]);
    m.extend([0, 0, 0x80, 0]);
    m.extend([0; 4]);
    m.extend(yiaddr);
    m.extend([0; 4]);
    m.extend(giaddr);
    m.extend([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
    m.extend([0; 10]);
    m.extend([0; 192]);
    m.extend([99, 130, 83, 99]);
    m.extend([53, 1, mtype]);
    for (c, v) in opts {
        m.push(*c);
        m.push(v.len() as u8);
        m.extend(v);
    }
    m.push(255);
    m
}

#[test]
fn dhcp_discover_and_ack_fields() {
    let discover = dhcp(
        1,
        1,
        [0; 4],
        [0; 4],
        &[
            (12, b"WS-042".to_vec()),
            (50, vec![192, 168, 1, 77]),
            (60, b"MSFT 5.0".to_vec()),
            (
                55,
                vec![1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252],
            ),
        ],
    );
    let ack = dhcp(
        2,
        5,
        [192, 168, 1, 77],
        [10, 0, 0, 1],
        &[
            (54, vec![192, 168, 1, 1]),
            (51, 86400u32.to_be_bytes().to_vec()),
        ],
    );
    let out = run("dhcp", &[(C, discover), (S, ack)]);
    assert_eq!(out.len(), 2);
    let d = &out[0];
    assert_eq!(d.dataset, "dhcp");
    assert_eq!(s(d, "mamori.dhcp.message_type"), "DISCOVER");
    assert_eq!(s(d, "mamori.dhcp.client_mac"), "00:11:22:33:44:55");
    assert_eq!(s(d, "mamori.dhcp.hostname"), "WS-042");
    assert_eq!(
        get(d, "mamori.dhcp.requested_ip"),
        &Value::Ip("192.168.1.77".parse().unwrap())
    );
    assert_eq!(s(d, "mamori.dhcp.vendor_class"), "MSFT 5.0");
    assert_eq!(
        s(d, "mamori.dhcp.fingerprint"),
        "1,3,6,15,31,33,43,44,46,47,119,121,249,252"
    );
    assert_eq!(s(d, "mamori.dhcp.transaction_id"), "deadbeef");
    let a = &out[1];
    assert_eq!(s(a, "mamori.dhcp.message_type"), "ACK");
    assert_eq!(
        get(a, "mamori.dhcp.assigned_ip"),
        &Value::Ip("192.168.1.77".parse().unwrap())
    );
    assert_eq!(
        get(a, "mamori.dhcp.server_id"),
        &Value::Ip("192.168.1.1".parse().unwrap())
    );
    assert_eq!(
        get(a, "mamori.dhcp.relay_ip"),
        &Value::Ip("10.0.0.1".parse().unwrap())
    );
    assert_eq!(i(a, "mamori.dhcp.lease_time"), 86400);
}

#[test]
fn dhcp_probe_identify_and_robustness() {
    let m = dhcp(1, 3, [0; 4], [0; 4], &[(12, b"h".to_vec())]);
    assert_eq!(probe("dhcp", &meta(UDP, 67), C, &m), Probe::Yes);
    assert_eq!(identified(&meta(UDP, 6767), C, &m), Some("dhcp"));
    let mut bootp = m.clone();
    bootp[236] = 0;
    assert_eq!(probe("dhcp", &meta(UDP, 67), C, &bootp), Probe::No);
    assert_probe_rejects("dhcp", UDP, 67);
    // Truncated option: the message still yields a record marked truncated.
    let mut cut = dhcp(1, 8, [0; 4], [0; 4], &[(12, b"longhostname".to_vec())]);
    cut.truncate(cut.len() - 5);
    let out = run("dhcp", &[(C, cut)]);
    assert_eq!(s(&out[0], "mamori.dhcp.message_type"), "INFORM");
    assert_eq!(get(&out[0], "mamori.dhcp.truncated"), &Value::Bool(true));
    assert_no_panic("dhcp", &[(C, m)]);
}

// ---------------------------------------------------------------- DHCPv6

fn opt6(code: u16, v: &[u8]) -> Vec<u8> {
    let mut o = code.to_be_bytes().to_vec();
    o.extend((v.len() as u16).to_be_bytes());
    o.extend(v);
    o
}

fn solicit() -> Vec<u8> {
    let mut m = vec![1, 0xab, 0xcd, 0xef];
    let mut duid = vec![0, 1, 0, 1, 0x2a, 0x2b, 0x2c, 0x2d];
    duid.extend([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
    m.extend(opt6(1, &duid));
    m.extend(opt6(6, &[0, 23, 0, 24, 0, 39]));
    m.extend(opt6(39, b"\x01\x06ws-042\x07example\x02jp\x00"));
    let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut addr: Vec<u8> = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x42)
        .octets()
        .to_vec();
    addr.extend([0, 0, 0x0e, 0x10, 0, 0, 0x1c, 0x20]);
    ia.extend(opt6(5, &addr));
    m.extend(opt6(3, &ia));
    m
}

#[test]
fn dhcpv6_solicit_and_relay() {
    let out = run("dhcpv6", &[(C, solicit())]);
    let r = &out[0];
    assert_eq!(r.dataset, "dhcpv6");
    assert_eq!(s(r, "mamori.dhcpv6.message_type"), "SOLICIT");
    assert_eq!(s(r, "mamori.dhcpv6.transaction_id"), "abcdef");
    assert_eq!(
        s(r, "mamori.dhcpv6.client_duid"),
        "000100012a2b2c2d001122334455"
    );
    assert_eq!(s(r, "mamori.dhcpv6.client_mac"), "00:11:22:33:44:55");
    assert_eq!(s(r, "mamori.dhcpv6.fqdn"), "ws-042.example.jp");
    assert_eq!(s(r, "mamori.dhcpv6.fingerprint"), "23,24,39");
    assert_eq!(strs(r, "mamori.dhcpv6.addresses"), ["2001:db8::42"]);
    let mut d = dissector("dhcpv6");
    d.feed(C, &solicit(), ts(0), &mut Vec::new());
    let mut f = mamori_core::Fields::new();
    d.flow_fields(&mut f);
    assert_eq!(
        f.get("mamori.dhcpv6.fqdn"),
        Some(&Value::from("ws-042.example.jp"))
    );

    let mut relay = vec![12, 0];
    relay.extend([0u8; 32]);
    relay.extend(opt6(9, &solicit()));
    assert_eq!(probe("dhcpv6", &meta(UDP, 547), C, &relay), Probe::Yes);
    let out = run("dhcpv6", &[(C, relay)]);
    assert_eq!(s(&out[0], "mamori.dhcpv6.message_type"), "SOLICIT");
    assert_eq!(get(&out[0], "mamori.dhcpv6.relayed"), &Value::Bool(true));
}

#[test]
fn dhcpv6_probe_identify_and_robustness() {
    assert_eq!(identified(&meta(UDP, 10547), C, &solicit()), Some("dhcpv6"));
    let mut bad = solicit();
    bad.truncate(bad.len() - 3);
    assert_eq!(probe("dhcpv6", &meta(UDP, 547), C, &bad), Probe::No);
    assert_probe_rejects("dhcpv6", UDP, 547);
    assert_no_panic("dhcpv6", &[(C, solicit())]);
}

// ---------------------------------------------------------------- NTP

fn ntp(b0: u8, stratum: u8, refid: [u8; 4]) -> Vec<u8> {
    let mut m = vec![b0, stratum, 6, 0xe9];
    m.extend([0; 8]);
    m.extend(refid);
    m.extend([0x11; 32]);
    m
}

#[test]
fn ntp_client_server_and_monlist() {
    let client = ntp(0x23, 0, [0; 4]);
    let server = ntp(0x24, 1, *b"GPS\0");
    let server2 = ntp(0x1c, 3, [192, 0, 2, 1]);
    let mut monlist = vec![0x17, 0x00, 0x03, 0x2a];
    monlist.extend([0; 44]);
    for p in [&client, &server, &server2, &monlist] {
        assert_eq!(probe("ntp", &meta(UDP, 123), C, p), Probe::Yes);
    }
    let out = run(
        "ntp",
        &[(C, client), (S, server), (S, server2), (C, monlist)],
    );
    assert_eq!(out.len(), 4);
    assert_eq!(s(&out[0], "mamori.ntp.mode"), "client");
    assert_eq!(i(&out[0], "mamori.ntp.version"), 4);
    assert_eq!(s(&out[1], "mamori.ntp.mode"), "server");
    assert_eq!(i(&out[1], "mamori.ntp.stratum"), 1);
    assert_eq!(s(&out[1], "mamori.ntp.reference_id"), "GPS");
    assert_eq!(i(&out[2], "mamori.ntp.version"), 3);
    assert_eq!(s(&out[2], "mamori.ntp.reference_id"), "192.0.2.1");
    assert_eq!(s(&out[3], "mamori.ntp.mode"), "private");
    assert_eq!(get(&out[3], "mamori.ntp.monlist"), &Value::Bool(true));
    assert!(!out[0].fields.contains_key("mamori.ntp.monlist"));

    let mut d = dissector("ntp");
    let mut o = Vec::new();
    let mut req = vec![0x17, 0x00, 0x03, 0x2a];
    req.extend([0; 44]);
    d.feed(C, &req, ts(0), &mut o);
    let mut f = mamori_core::Fields::new();
    d.flow_fields(&mut f);
    assert_eq!(f.get("mamori.ntp.monlist"), Some(&Value::Bool(true)));
    assert_eq!(f.get("mamori.ntp.version"), Some(&Value::Int(2)));
}

#[test]
fn ntp_probe_identify_and_robustness() {
    assert_eq!(
        identified(&meta(UDP, 12300), C, &ntp(0x23, 0, [0; 4])),
        Some("ntp")
    );
    // Version 0 and a stratum beyond 16 are not NTP.
    assert_eq!(
        probe("ntp", &meta(UDP, 123), C, &ntp(0x03, 0, [0; 4])),
        Probe::No
    );
    assert_eq!(
        probe("ntp", &meta(UDP, 123), C, &ntp(0x24, 200, [0; 4])),
        Probe::No
    );
    assert_probe_rejects("ntp", UDP, 123);
    assert_no_panic("ntp", &[(C, ntp(0x24, 2, [1, 2, 3, 4]))]);
}

// ---------------------------------------------------------------- TFTP

#[test]
fn tftp_requests_and_errors() {
    let rrq = b"\x00\x01pxelinux.0\x00octet\x00blksize\x001468\x00".to_vec();
    let wrq = b"\x00\x02startup-config\x00netascii\x00".to_vec();
    let err = b"\x00\x05\x00\x01File not found\x00".to_vec();
    let mut data = vec![0, 3, 0, 1];
    data.extend([0x55; 512]);
    assert_eq!(probe("tftp", &meta(UDP, 69), C, &rrq), Probe::Yes);
    assert_eq!(identified(&meta(UDP, 6969), C, &wrq), Some("tftp"));
    let out = run("tftp", &[(C, rrq), (C, wrq), (S, data), (S, err)]);
    assert_eq!(out.len(), 3);
    assert_eq!(s(&out[0], "file.name"), "pxelinux.0");
    assert_eq!(s(&out[0], "mamori.tftp.mode"), "octet");
    assert_eq!(s(&out[0], "mamori.tftp.operation"), "read");
    assert_eq!(strs(&out[0], "mamori.tftp.options"), ["blksize=1468"]);
    assert_eq!(s(&out[1], "mamori.tftp.operation"), "write");
    assert_eq!(s(&out[1], "mamori.tftp.mode"), "netascii");
    assert_eq!(s(&out[2], "mamori.tftp.error_code"), "file_not_found");
    assert_eq!(s(&out[2], "mamori.tftp.error_message"), "File not found");
}

#[test]
fn tftp_probe_rejects_and_robustness() {
    assert_eq!(
        probe("tftp", &meta(UDP, 69), C, b"\x00\x01name\x00binary\x00"),
        Probe::No
    );
    assert_eq!(
        probe("tftp", &meta(UDP, 69), C, b"\x00\x01\x00octet\x00"),
        Probe::No
    );
    assert_probe_rejects("tftp", UDP, 69);
    assert_no_panic(
        "tftp",
        &[(C, b"\x00\x01pxelinux.0\x00octet\x00tsize\x000\x00".to_vec())],
    );
}

// ---------------------------------------------------------------- syslog

#[test]
fn syslog_pri_and_headers() {
    let rfc5424 =
        b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed"
            .to_vec();
    let bsd = b"<13>Nov 23 16:00:00 host1 sshd[123]: Failed password for root".to_vec();
    // UDP: datagrams without a trailing line feed.
    let out = run("syslog", &[(C, rfc5424), (C, bsd)]);
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].ts, out[1].ts),
        (ts(0), ts(1)),
        "each datagram keeps its own time"
    );
    let a = &out[0];
    assert_eq!(a.dataset, "syslog");
    assert_eq!(i(a, "log.syslog.priority"), 34);
    assert_eq!(i(a, "log.syslog.facility.code"), 4);
    assert_eq!(s(a, "log.syslog.facility.name"), "auth");
    assert_eq!(i(a, "log.syslog.severity.code"), 2);
    assert_eq!(s(a, "log.syslog.severity.name"), "crit");
    assert_eq!(s(a, "log.syslog.hostname"), "mymachine.example.com");
    assert_eq!(s(a, "log.syslog.appname"), "su");
    assert_eq!(s(a, "log.syslog.version"), "1");
    let b = &out[1];
    assert_eq!(s(b, "log.syslog.facility.name"), "user");
    assert_eq!(s(b, "log.syslog.severity.name"), "notice");
    assert_eq!(s(b, "log.syslog.hostname"), "host1");
    assert_eq!(s(b, "log.syslog.appname"), "sshd");
    assert!(s(b, "event.original").ends_with("Failed password for root"));
}

#[test]
fn syslog_tcp_framings_are_split_invariant() {
    let lf = b"<13>Nov 23 16:00:00 host1 app: one\n<14>Nov 23 16:00:01 host1 app: two\n".to_vec();
    let out = assert_split_invariant("syslog/tcp", &[(C, lf)]);
    assert_eq!(out.len(), 2);
    assert_eq!(i(&out[1], "log.syslog.severity.code"), 6);
    let msg = b"<165>1 2024-01-01T00:00:00Z h app 1 - - hello";
    let mut oc = format!("{} ", msg.len()).into_bytes();
    oc.extend_from_slice(msg);
    oc.extend(format!("{} ", msg.len()).into_bytes());
    oc.extend_from_slice(msg);
    let out = assert_split_invariant("syslog/tcp", &[(C, oc.clone())]);
    assert_eq!(out.len(), 2);
    assert_eq!(s(&out[0], "log.syslog.facility.name"), "local4");
    assert_eq!(probe("syslog", &meta(TCP, 601), C, &oc), Probe::Yes);
}

#[test]
fn syslog_probe_identify_and_robustness() {
    let m = meta(UDP, 514);
    assert_eq!(probe("syslog", &m, C, b"<192>Nov 1 bad"), Probe::No);
    assert_eq!(probe("syslog", &m, C, b"<>x"), Probe::No);
    assert_eq!(probe("syslog", &m, C, b"<1"), Probe::Maybe);
    assert_eq!(
        identified(&meta(UDP, 5140), C, b"<30>Jan  5 10:00:00 fw kernel: DROP"),
        Some("syslog")
    );
    assert_probe_rejects("syslog", UDP, 514);
    assert_no_panic(
        "syslog",
        &[(C, b"<34>1 2003-10-11T22:14:15Z h a - - - m\n".to_vec())],
    );
}

// ---------------------------------------------------------------- SIP

fn invite(body: &str, with_len: bool) -> Vec<u8> {
    let mut m = String::from(
        "INVITE sip:200@pbx.example.jp SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK776asdhds\r\n\
         f: \"Alice\" <sip:alice@example.jp>;tag=1928301774\r\n\
         To: <sip:200@pbx.example.jp>\r\n\
         Call-ID: a84b4c76e66710@10.0.0.5\r\n\
         CSeq: 314159 INVITE\r\n\
         User-Agent: friendly-scanner\r\n",
    );
    if with_len {
        m.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    m.push_str("\r\n");
    m.push_str(body);
    m.into_bytes()
}

const OK: &[u8] = b"SIP/2.0 401 Unauthorized\r\nFrom: <sip:alice@example.jp>;tag=1\r\nTo: <sip:200@pbx.example.jp>;tag=2\r\nCall-ID: a84b4c76e66710@10.0.0.5\r\nServer: Asterisk PBX 18\r\nContent-Length: 0\r\n\r\n";

#[test]
fn sip_request_and_response_fields() {
    let out = run("sip", &[(C, invite("v=0\r\n", false)), (S, OK.to_vec())]);
    assert_eq!(out.len(), 2);
    let r = &out[0];
    assert_eq!(r.dataset, "sip");
    assert_eq!(s(r, "mamori.sip.method"), "INVITE");
    assert_eq!(s(r, "mamori.sip.uri"), "sip:200@pbx.example.jp");
    assert_eq!(s(r, "mamori.sip.from_user"), "alice");
    assert_eq!(s(r, "mamori.sip.to_user"), "200");
    assert_eq!(s(r, "user_agent.original"), "friendly-scanner");
    assert_eq!(s(r, "mamori.sip.call_id"), "a84b4c76e66710@10.0.0.5");
    let resp = &out[1];
    assert_eq!(i(resp, "mamori.sip.status_code"), 401);
    assert_eq!(s(resp, "mamori.sip.reason"), "Unauthorized");
    assert_eq!(s(resp, "mamori.sip.server"), "Asterisk PBX 18");
}

#[test]
fn sip_tcp_is_split_invariant() {
    let msgs = vec![
        (C, invite("v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\n", true)),
        (S, OK.to_vec()),
    ];
    let out = assert_split_invariant("sip", &msgs);
    assert_eq!(out.len(), 2);
    // Two pipelined requests with bodies in one segment.
    let mut two = invite("abc", true);
    two.extend(invite("defg", true));
    assert_eq!(run("sip", &[(C, two)]).len(), 2);
}

#[test]
fn sip_probe_identify_and_robustness() {
    let m = meta(UDP, 5060);
    assert_eq!(probe("sip", &m, C, &invite("", true)), Probe::Yes);
    assert_eq!(probe("sip", &m, S, OK), Probe::Yes);
    assert_eq!(probe("sip", &m, C, b"INV"), Probe::Maybe);
    assert_eq!(probe("sip", &m, C, b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(
        identified(&meta(UDP, 15060), C, &invite("", true)),
        Some("sip")
    );
    assert_probe_rejects("sip", UDP, 5060);
    assert_no_panic("sip", &[(C, invite("v=0", true)), (S, OK.to_vec())]);
}

#[test]
fn syslog_udp_datagrams_are_complete_messages() {
    let mut d = dissector("syslog/udp");
    let mut out = Vec::new();
    // No PRI and no line feed: dropped on its own, not glued to the next datagram.
    d.feed(C, b"garbage without pri", ts(0), &mut out);
    d.feed(C, b"<13>Nov 23 16:00:00 host1 app: one", ts(1), &mut out);
    // Emitted at once, with its own datagram's time.
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ts, ts(1));
    d.feed(
        C,
        b"<14>Nov 23 16:00:01 host1 app: two\n<15>Nov 23 16:00:01 host1 app: three",
        ts(2),
        &mut out,
    );
    d.finish(ts(9), &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(i(&out[2], "log.syslog.severity.code"), 7);
    assert_eq!(out[2].ts, ts(2));
    assert_eq!(d.counters().unwrap().get("no_pri"), 1);
    // Continuation lines belong to the datagram's one message.
    let mut d = dissector("syslog/udp");
    let mut out = Vec::new();
    d.feed(
        C,
        b"<134>Nov 23 16:00:00 host1 app: first line\n0 second line\n\n\0",
        ts(0),
        &mut out,
    );
    assert_eq!(out.len(), 1);
    let original = s(&out[0], "event.original");
    assert!(original.contains("first line") && original.ends_with("0 second line"));
    assert_eq!(d.counters().unwrap().get("no_pri"), 0);
    // A datagram starting with digits is not an RFC 6587 octet count on UDP.
    let mut d = dissector("syslog/udp");
    let mut out = Vec::new();
    d.feed(C, b"12 <13>Nov 23 16:00:00 host1 app: x", ts(0), &mut out);
    d.feed(C, b"<13>Nov 23 16:00:00 host1 app: y", ts(1), &mut out);
    assert_eq!(out.len(), 1);
    assert!(s(&out[0], "event.original").ends_with(": y"));
}

#[test]
fn syslog_udp_oversized_datagram_is_counted_and_bounded() {
    let mut big = b"<13>Nov 23 16:00:00 host1 app: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20_000));
    let mut d = dissector("syslog/udp");
    let mut out = Vec::new();
    d.feed(C, &big, ts(0), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(d.counters().unwrap().get("message_too_long"), 1);
}
