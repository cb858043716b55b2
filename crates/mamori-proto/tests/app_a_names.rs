//! DNS, mDNS, LLMNR and NetBIOS name service.

mod app_a_common;

use app_a_common::*;
use mamori_core::Value;
use mamori_proto::app::Probe;

fn name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    [id, flags, qd, an, ns, ar]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect()
}

fn query(id: u16, n: &str, qtype: u16) -> Vec<u8> {
    let mut m = header(id, 0x0100, 1, 0, 0, 0);
    m.extend(name(n));
    m.extend(qtype.to_be_bytes());
    m.extend(1u16.to_be_bytes());
    m
}

/// A response with answers whose owner is a pointer to the question name.
fn response(id: u16, n: &str, qtype: u16, rcode: u16, answers: &[(u16, u32, Vec<u8>)]) -> Vec<u8> {
    let mut m = header(id, 0x8180 | rcode, 1, answers.len() as u16, 0, 0);
    m.extend(name(n));
    m.extend(qtype.to_be_bytes());
    m.extend(1u16.to_be_bytes());
    for (t, ttl, rd) in answers {
        m.extend([0xc0, 0x0c]);
        m.extend(t.to_be_bytes());
        m.extend(1u16.to_be_bytes());
        m.extend(ttl.to_be_bytes());
        m.extend((rd.len() as u16).to_be_bytes());
        m.extend(rd);
    }
    m
}

fn tcp_frame(m: &[u8]) -> Vec<u8> {
    let mut v = (m.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(m);
    v
}

fn a_exchange() -> Vec<(mamori_proto::app::Dir, Vec<u8>)> {
    let mut cname = name("cdn.example.net");
    // CNAME data, then an A record for it.
    let resp = response(
        0x1234,
        "www.example.jp",
        1,
        0,
        &[
            (5, 300, std::mem::take(&mut cname)),
            (1, 60, vec![192, 0, 2, 10]),
        ],
    );
    vec![(C, query(0x1234, "www.example.jp", 1)), (S, resp)]
}

#[test]
fn dns_query_and_answer_pair_into_one_record() {
    let out = run("dns", &a_exchange());
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r.dataset, "dns");
    assert_eq!(i(r, "dns.id"), 0x1234);
    assert_eq!(s(r, "dns.question.name"), "www.example.jp");
    assert_eq!(s(r, "dns.question.type"), "A");
    assert_eq!(s(r, "dns.question.class"), "IN");
    assert_eq!(s(r, "dns.response_code"), "NOERROR");
    assert_eq!(s(r, "dns.type"), "answer");
    assert_eq!(strs(r, "dns.header_flags"), ["RD", "RA"]);
    assert_eq!(strs(r, "dns.answers.type"), ["CNAME", "A"]);
    assert_eq!(
        strs(r, "dns.answers.data"),
        ["cdn.example.net", "192.0.2.10"]
    );
    assert_eq!(strs(r, "dns.answers.ttl"), ["300", "60"]);
    assert_eq!(
        get(r, "dns.resolved_ip").items(),
        &[Value::Ip("192.0.2.10".parse().unwrap())]
    );
}

#[test]
fn dns_unanswered_query_is_emitted_on_finish_without_rcode() {
    let out = run("dns", &[(C, query(7, "lonely.example.jp", 28))]);
    assert_eq!(out.len(), 1);
    assert_eq!(s(&out[0], "dns.type"), "query");
    assert_eq!(s(&out[0], "dns.question.type"), "AAAA");
    assert!(!out[0].fields.contains_key("dns.response_code"));
}

#[test]
fn dns_pairs_by_id_out_of_order_and_names_rcodes() {
    let msgs = vec![
        (C, query(1, "a.example.jp", 1)),
        (C, query(2, "b.example.jp", 16)),
        (S, response(2, "b.example.jp", 16, 3, &[])),
        (
            S,
            response(1, "a.example.jp", 1, 0, &[(1, 5, vec![10, 0, 0, 1])]),
        ),
    ];
    let out = run("dns", &msgs);
    assert_eq!(out.len(), 2);
    assert_eq!(s(&out[0], "dns.question.name"), "b.example.jp");
    assert_eq!(s(&out[0], "dns.response_code"), "NXDOMAIN");
    assert_eq!(s(&out[0], "dns.question.type"), "TXT");
    assert_eq!(s(&out[1], "dns.question.name"), "a.example.jp");
}

#[test]
fn dns_unknown_type_is_a_number_and_txt_and_null_decode() {
    let out = run("dns", &[(C, query(3, "x.example.jp", 65280))]);
    assert_eq!(get(&out[0], "dns.question.type"), &Value::Int(65280));
    let txt = response(
        4,
        "t.example.jp",
        16,
        0,
        &[(16, 1, b"\x05hello\x05world".to_vec())],
    );
    let null = response(5, "n.example.jp", 10, 0, &[(10, 1, vec![0xde, 0xad])]);
    let out = run("dns", &[(S, txt), (S, null)]);
    assert_eq!(strs(&out[0], "dns.answers.data"), ["helloworld"]);
    assert_eq!(s(&out[1], "dns.question.type"), "NULL");
    assert_eq!(strs(&out[1], "dns.answers.data"), ["\\# 2 dead"]);
}

#[test]
fn dns_over_tcp_is_split_invariant() {
    let msgs: Vec<_> = a_exchange()
        .into_iter()
        .map(|(d, m)| (d, tcp_frame(&m)))
        .collect();
    let out = assert_split_invariant("dns/tcp", &msgs);
    assert_eq!(out.len(), 1);
    assert_eq!(s(&out[0], "dns.question.name"), "www.example.jp");
    assert_eq!(strs(&out[0], "dns.answers.data")[1], "192.0.2.10");
    // Two queries pipelined in one segment.
    let mut both = tcp_frame(&query(8, "p.example.jp", 1));
    both.extend(tcp_frame(&query(9, "q.example.jp", 1)));
    assert_eq!(run("dns/tcp", &[(C, both)]).len(), 2);
}

#[test]
fn dns_probe_accepts_real_messages_only() {
    let m = meta(UDP, 53);
    assert_eq!(probe("dns", &m, C, &query(1, "example.jp", 1)), Probe::Yes);
    assert_eq!(probe("dns", &m, S, &a_exchange()[1].1), Probe::Yes);
    let t = meta(TCP, 53);
    assert_eq!(
        probe("dns", &t, C, &tcp_frame(&query(1, "example.jp", 1))),
        Probe::Yes
    );
    assert_eq!(
        probe("dns", &t, C, &tcp_frame(&query(1, "example.jp", 1))[..3]),
        Probe::Maybe
    );
    assert_probe_rejects("dns", UDP, 53);
    assert_probe_rejects("dns", TCP, 53);
}

#[test]
fn dns_identified_on_non_standard_port() {
    let m = meta(UDP, 40053);
    assert_eq!(identified(&m, C, &query(1, "example.jp", 1)), Some("dns"));
    let t = meta(TCP, 40053);
    assert_eq!(
        identified(&t, C, &tcp_frame(&query(1, "example.jp", 1))),
        Some("dns")
    );
}

#[test]
fn dns_compression_loops_and_garbage_do_not_panic() {
    let mut looped = header(1, 0x8180, 1, 1, 0, 0);
    looped.extend([0xc0, 12, 0, 1, 0, 1]);
    let out = run("dns", &[(S, looped.clone())]);
    assert!(out.is_empty(), "a looping name yields no record");
    assert_eq!(probe("dns", &meta(UDP, 53), S, &looped), Probe::No);
    assert_no_panic("dns", &a_exchange());
    let tcp: Vec<_> = a_exchange()
        .into_iter()
        .map(|(d, m)| (d, tcp_frame(&m)))
        .collect();
    assert_no_panic("dns", &tcp);
}

#[test]
fn mdns_and_llmnr_are_variants_with_one_record_per_message() {
    // mDNS announcement: cache-flush bit set in the class.
    let mut ann = header(0, 0x8400, 0, 1, 0, 0);
    ann.extend(name("printer.local"));
    ann.extend(1u16.to_be_bytes());
    ann.extend(0x8001u16.to_be_bytes());
    ann.extend(120u32.to_be_bytes());
    ann.extend(4u16.to_be_bytes());
    ann.extend([192, 168, 1, 50]);
    let m = meta(UDP, 5353);
    assert_eq!(identified(&m, S, &ann), Some("mdns"));
    let out = run("mdns", &[(S, ann)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].dataset, "dns");
    assert_eq!(s(&out[0], "mamori.dns.variant"), "mdns");
    assert_eq!(strs(&out[0], "dns.answers.class"), ["IN"]);
    assert_eq!(strs(&out[0], "dns.resolved_ip"), ["192.168.1.50"]);

    let q = query(0x55, "fileserver", 1);
    assert_eq!(identified(&meta(UDP, 5355), C, &q), Some("llmnr"));
    let out = run("llmnr", &[(C, q)]);
    assert_eq!(s(&out[0], "mamori.dns.variant"), "llmnr");
    assert_eq!(s(&out[0], "dns.type"), "query");
    assert_eq!(s(&out[0], "dns.question.name"), "fileserver");
}

fn nb_encode(n: &str, suffix: u8) -> Vec<u8> {
    let mut raw = format!("{n:<15}").into_bytes();
    raw.truncate(15);
    raw.push(suffix);
    let mut v = vec![32u8];
    for c in raw {
        v.push(b'A' + (c >> 4));
        v.push(b'A' + (c & 0xf));
    }
    v.push(0);
    v
}

fn nbns_query(n: &str, suffix: u8) -> Vec<u8> {
    let mut m = header(0x8001, 0x0110, 1, 0, 0, 0);
    m.extend(nb_encode(n, suffix));
    m.extend(0x20u16.to_be_bytes());
    m.extend(1u16.to_be_bytes());
    m
}

fn nbns_registration(n: &str, ip: [u8; 4]) -> Vec<u8> {
    let mut m = header(0x8002, 0x2910, 1, 0, 0, 1);
    m.extend(nb_encode(n, 0x20));
    m.extend(0x20u16.to_be_bytes());
    m.extend(1u16.to_be_bytes());
    m.extend([0xc0, 0x0c]);
    m.extend(0x20u16.to_be_bytes());
    m.extend(1u16.to_be_bytes());
    m.extend(300_000u32.to_be_bytes());
    m.extend(6u16.to_be_bytes());
    m.extend([0, 0]);
    m.extend(ip);
    m
}

#[test]
fn netbios_name_query_and_registration() {
    let out = run(
        "netbios",
        &[
            (C, nbns_query("WORKGROUP", 0x1c)),
            (C, nbns_registration("WS-042", [10, 1, 2, 3])),
        ],
    );
    assert_eq!(out.len(), 2);
    assert_eq!(s(&out[0], "mamori.netbios.name"), "WORKGROUP");
    assert_eq!(s(&out[0], "mamori.netbios.suffix"), "0x1c");
    assert_eq!(s(&out[0], "mamori.netbios.op"), "query");
    assert_eq!(get(&out[0], "mamori.netbios.broadcast"), &Value::Bool(true));
    assert_eq!(s(&out[1], "mamori.netbios.op"), "registration");
    assert_eq!(s(&out[1], "mamori.netbios.name"), "WS-042");
    assert_eq!(strs(&out[1], "mamori.netbios.addresses"), ["10.1.2.3"]);
}

#[test]
fn netbios_datagram_names() {
    let mut d = vec![0x11, 0x02, 0x12, 0x34, 10, 0, 0, 5, 0, 138, 0, 0, 0, 0];
    d.extend(nb_encode("WS-042", 0x00));
    d.extend(nb_encode("WORKGROUP", 0x1d));
    d.extend(b"\xffSMB%");
    assert_eq!(probe("netbios", &meta(UDP, 138), C, &d), Probe::Yes);
    let out = run("netbios", &[(C, d)]);
    assert_eq!(s(&out[0], "mamori.netbios.service"), "datagram");
    assert_eq!(s(&out[0], "mamori.netbios.name"), "WS-042");
    assert_eq!(s(&out[0], "mamori.netbios.destination_name"), "WORKGROUP");
    assert_eq!(s(&out[0], "mamori.netbios.destination_suffix"), "0x1d");
}

#[test]
fn netbios_probe_identify_and_robustness() {
    let q = nbns_query("FILESRV", 0x20);
    let m = meta(UDP, 137);
    assert_eq!(probe("netbios", &m, C, &q), Probe::Yes);
    assert_eq!(probe("dns", &m, C, &q), Probe::No, "dns leaves NBNS alone");
    assert_eq!(identified(&meta(UDP, 31337), C, &q), Some("netbios"));
    assert_ne!(
        probe("netbios", &m, C, &query(1, "example.jp", 1)),
        Probe::Yes
    );
    assert_probe_rejects("netbios", UDP, 137);
    assert_no_panic(
        "netbios",
        &[(C, q), (C, nbns_registration("X", [1, 2, 3, 4]))],
    );
}

#[test]
fn dns_udp_junk_first_datagram_does_not_switch_to_tcp_framing() {
    // Looks like the start of a length-prefixed TCP message, is not a DNS message.
    let junk = vec![0x00, 0x30, 0x12, 0x34, 0x01];
    let mut msgs = vec![(C, junk)];
    msgs.extend(a_exchange());
    let out = run("dns/udp", &msgs);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(s(&out[0], "dns.question.name"), "www.example.jp");
    let mut d = dissector("dns/udp");
    let mut o = Vec::new();
    d.feed(C, &msgs[0].1, ts(0), &mut o);
    assert_eq!(d.counters().unwrap().get("malformed_message"), 1);
}

#[test]
fn dns_tcp_is_framed_even_when_the_first_segment_is_a_bare_message() {
    // On TCP a bare (unframed) query is not DNS-over-TCP: it must not be parsed as one.
    let out = run("dns/tcp", &[(C, query(5, "bare.example.jp", 1))]);
    assert!(out
        .iter()
        .all(|r| s(r, "dns.question.name") != "bare.example.jp"));
    let out = run("dns/udp", &[(C, query(5, "bare.example.jp", 1))]);
    assert_eq!(s(&out[0], "dns.question.name"), "bare.example.jp");
}
