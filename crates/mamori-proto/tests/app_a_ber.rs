//! SNMP, Kerberos and LDAP (BER-encoded protocols).

mod app_a_common;

use app_a_common::*;
use mamori_core::Value;
use mamori_proto::app::Probe;

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
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
fn int(x: i64) -> Vec<u8> {
    let b = x.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((b[start] == 0 && b[start + 1] & 0x80 == 0)
            || (b[start] == 0xff && b[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(0x02, &b[start..])
}
fn octets(s: &[u8]) -> Vec<u8> {
    tlv(0x04, s)
}
fn ctx(n: u8, inner: Vec<u8>) -> Vec<u8> {
    tlv(0xa0 | n, &inner)
}
fn gstr(s: &str) -> Vec<u8> {
    tlv(0x1b, s.as_bytes())
}

// ---------------------------------------------------------------- SNMP

fn snmp_v2c_get(community: &[u8]) -> Vec<u8> {
    let oid = tlv(0x06, &[0x2b, 6, 1, 2, 1, 1, 1, 0]);
    let vb = seq(&[seq(&[oid, tlv(0x05, &[])])]);
    let pdu = tlv(0xa0, &[int(0x1234), int(0), int(0), vb].concat());
    seq(&[int(1), octets(community), pdu])
}

fn snmp_v3(user: &[u8]) -> Vec<u8> {
    let header = seq(&[int(42), int(65507), octets(&[0x05]), int(3)]);
    let usm = seq(&[
        octets(b"\x80\x00\x1f\x88\x04engine"),
        int(3),
        int(1000),
        octets(user),
        octets(&[0; 12]),
        octets(b""),
    ]);
    let pdu = tlv(0xa1, &[int(7), int(0), int(0), seq(&[])].concat());
    let scoped = seq(&[octets(b"\x80\x00\x1f\x88\x04engine"), octets(b""), pdu]);
    seq(&[int(3), header, octets(&usm), scoped])
}

#[test]
fn snmp_v2c_community_pdu_and_oids() {
    let resp = {
        let oid = tlv(0x06, &[0x2b, 6, 1, 2, 1, 1, 1, 0]);
        let vb = seq(&[seq(&[oid, octets(b"Linux")])]);
        seq(&[
            int(1),
            octets(b"public"),
            tlv(0xa2, &[int(0x1234), int(2), int(1), vb].concat()),
        ])
    };
    let out = run("snmp", &[(C, snmp_v2c_get(b"public")), (S, resp)]);
    assert_eq!(out.len(), 2);
    let r = &out[0];
    assert_eq!(r.dataset, "snmp");
    assert_eq!(s(r, "mamori.snmp.version"), "2c");
    assert_eq!(s(r, "mamori.snmp.community"), "public");
    assert_eq!(s(r, "mamori.snmp.pdu_type"), "get_request");
    assert_eq!(i(r, "mamori.snmp.request_id"), 0x1234);
    assert_eq!(strs(r, "mamori.snmp.oids"), ["1.3.6.1.2.1.1.1.0"]);
    assert_eq!(s(&out[1], "mamori.snmp.pdu_type"), "response");
    assert_eq!(s(&out[1], "mamori.snmp.error_status"), "noSuchName");
}

#[test]
fn snmp_v1_trap_and_v3_user() {
    let trap = tlv(
        0xa4,
        &[
            tlv(0x06, &[0x2b, 6, 1, 4, 1, 9]),
            tlv(0x40, &[10, 0, 0, 1]),
            int(3),
            int(0),
            tlv(0x43, &[1, 0]),
            seq(&[]),
        ]
        .concat(),
    );
    let v1 = seq(&[int(0), octets(b"private"), trap]);
    let out = run("snmp", &[(C, v1), (C, snmp_v3(b"admin"))]);
    assert_eq!(s(&out[0], "mamori.snmp.version"), "1");
    assert_eq!(s(&out[0], "mamori.snmp.pdu_type"), "trap");
    assert_eq!(s(&out[0], "mamori.snmp.enterprise"), "1.3.6.1.4.1.9");
    assert_eq!(i(&out[0], "mamori.snmp.generic_trap"), 3);
    assert_eq!(s(&out[1], "mamori.snmp.version"), "3");
    assert_eq!(s(&out[1], "mamori.snmp.user_name"), "admin");
    assert_eq!(s(&out[1], "mamori.snmp.security_level"), "authNoPriv");
    assert_eq!(s(&out[1], "mamori.snmp.pdu_type"), "get_next_request");
    assert!(!out[1].fields.contains_key("mamori.snmp.community"));
}

#[test]
fn snmp_probe_identify_and_robustness() {
    let m = meta(UDP, 161);
    assert_eq!(probe("snmp", &m, C, &snmp_v2c_get(b"public")), Probe::Yes);
    assert_eq!(
        identified(&meta(UDP, 1161), C, &snmp_v2c_get(b"x")),
        Some("snmp")
    );
    // Version 2 does not exist; an LDAP message is not SNMP.
    let bad = seq(&[int(2), octets(b"public"), tlv(0xa0, &[])]);
    assert_eq!(probe("snmp", &m, C, &bad), Probe::No);
    assert_probe_rejects("snmp", UDP, 161);
    assert_no_panic("snmp", &[(C, snmp_v2c_get(b"public")), (C, snmp_v3(b"u"))]);
}

// ---------------------------------------------------------------- Kerberos

fn principal(kind: i64, parts: &[&str]) -> Vec<u8> {
    seq(&[
        ctx(0, int(kind)),
        ctx(1, seq(&parts.iter().map(|p| gstr(p)).collect::<Vec<_>>())),
    ])
}

fn as_req(user: &str, etypes: &[i64], preauth: bool) -> Vec<u8> {
    let body = seq(&[
        ctx(0, tlv(0x03, &[0, 0x40, 0x81, 0, 0x10])),
        ctx(1, principal(1, &[user])),
        ctx(2, gstr("CORP.EXAMPLE.JP")),
        ctx(3, principal(2, &["krbtgt", "CORP.EXAMPLE.JP"])),
        ctx(5, tlv(0x18, b"20370913024805Z")),
        ctx(7, int(12345)),
        ctx(8, seq(&etypes.iter().map(|e| int(*e)).collect::<Vec<_>>())),
    ]);
    let mut fields = vec![ctx(1, int(5)), ctx(2, int(10))];
    if preauth {
        let pa = seq(&[ctx(1, int(2)), ctx(2, octets(&[0x30, 0]))]);
        fields.push(ctx(3, seq(&[pa])));
    }
    fields.push(ctx(4, body));
    tlv(0x6a, &seq(&fields))
}

fn krb_error(code: i64) -> Vec<u8> {
    tlv(
        0x7e,
        &seq(&[
            ctx(0, int(5)),
            ctx(1, int(30)),
            ctx(4, tlv(0x18, b"20240101000000Z")),
            ctx(5, int(0)),
            ctx(6, int(code)),
            ctx(9, gstr("CORP.EXAMPLE.JP")),
            ctx(10, principal(2, &["krbtgt", "CORP.EXAMPLE.JP"])),
        ]),
    )
}

fn tgs_rep() -> Vec<u8> {
    let enc = |e: i64| seq(&[ctx(0, int(e)), ctx(2, octets(&[0xaa; 32]))]);
    let ticket = tlv(
        0x61,
        &seq(&[
            ctx(0, int(5)),
            ctx(1, gstr("CORP.EXAMPLE.JP")),
            ctx(2, principal(2, &["MSSQLSvc", "db01.corp.example.jp:1433"])),
            ctx(3, enc(23)),
        ]),
    );
    tlv(
        0x6d,
        &seq(&[
            ctx(0, int(5)),
            ctx(1, int(13)),
            ctx(3, gstr("CORP.EXAMPLE.JP")),
            ctx(4, principal(1, &["alice"])),
            ctx(5, ticket),
            ctx(6, enc(18)),
        ]),
    )
}

fn tcp4(m: &[u8]) -> Vec<u8> {
    let mut v = (m.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(m);
    v
}

#[test]
fn kerberos_as_req_paired_with_error() {
    let out = run(
        "kerberos",
        &[
            (C, as_req("alice", &[18, 17, 23], true)),
            (S, krb_error(24)),
        ],
    );
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r.dataset, "kerberos");
    assert_eq!(s(r, "user.name"), "alice");
    assert_eq!(s(r, "mamori.kerberos.realm"), "CORP.EXAMPLE.JP");
    assert_eq!(s(r, "mamori.kerberos.service"), "krbtgt/CORP.EXAMPLE.JP");
    assert_eq!(s(r, "mamori.kerberos.request_type"), "AS-REQ");
    assert_eq!(s(r, "mamori.kerberos.response_type"), "KRB-ERROR");
    assert_eq!(s(r, "mamori.kerberos.error_code"), "KDC_ERR_PREAUTH_FAILED");
    assert_eq!(s(r, "event.outcome"), "failure");
    assert_eq!(
        strs(r, "mamori.kerberos.etypes"),
        [
            "aes256-cts-hmac-sha1-96",
            "aes128-cts-hmac-sha1-96",
            "rc4-hmac"
        ]
    );
    assert_eq!(get(r, "mamori.kerberos.preauth"), &Value::Bool(true));
}

#[test]
fn kerberos_tgs_rep_ticket_etype_and_unanswered_request() {
    let out = run("kerberos", &[(S, tgs_rep())]);
    assert_eq!(s(&out[0], "mamori.kerberos.response_type"), "TGS-REP");
    assert_eq!(
        s(&out[0], "mamori.kerberos.service"),
        "MSSQLSvc/db01.corp.example.jp:1433"
    );
    assert_eq!(s(&out[0], "mamori.kerberos.ticket_etype"), "rc4-hmac");
    assert_eq!(
        s(&out[0], "mamori.kerberos.reply_etype"),
        "aes256-cts-hmac-sha1-96"
    );
    assert_eq!(s(&out[0], "event.outcome"), "success");
    let out = run("kerberos", &[(C, as_req("svc_backup", &[23], false))]);
    assert_eq!(out.len(), 1, "unanswered request emitted on finish");
    assert_eq!(get(&out[0], "mamori.kerberos.preauth"), &Value::Bool(false));
    assert_eq!(strs(&out[0], "mamori.kerberos.etypes"), ["rc4-hmac"]);
}

#[test]
fn kerberos_tcp_is_split_invariant() {
    let msgs = vec![
        (C, tcp4(&as_req("bob", &[18], true))),
        (S, tcp4(&krb_error(6))),
    ];
    let out = assert_split_invariant("kerberos/tcp", &msgs);
    assert_eq!(
        s(&out[0], "mamori.kerberos.error_code"),
        "KDC_ERR_C_PRINCIPAL_UNKNOWN"
    );
    assert_eq!(s(&out[0], "user.name"), "bob");
}

#[test]
fn kerberos_probe_identify_and_robustness() {
    let req = as_req("alice", &[18], true);
    assert_eq!(probe("kerberos", &meta(UDP, 88), C, &req), Probe::Yes);
    assert_eq!(
        probe("kerberos", &meta(TCP, 88), C, &tcp4(&req)),
        Probe::Yes
    );
    assert_eq!(
        probe("kerberos", &meta(UDP, 88), S, &krb_error(25)),
        Probe::Yes
    );
    assert_eq!(identified(&meta(UDP, 8888), C, &req), Some("kerberos"));
    assert_eq!(
        identified(&meta(TCP, 8888), C, &tcp4(&req)),
        Some("kerberos")
    );
    // pvno 4 is not Kerberos 5.
    let mut bad = req.clone();
    if let Some(p) = bad.windows(5).position(|w| w == [0xa1, 3, 2, 1, 5]) {
        bad[p + 4] = 4;
    }
    assert_eq!(probe("kerberos", &meta(UDP, 88), C, &bad), Probe::No);
    assert_probe_rejects("kerberos", UDP, 88);
    assert_probe_rejects("kerberos", TCP, 88);
    assert_no_panic(
        "kerberos",
        &[(C, req.clone()), (S, tgs_rep()), (C, tcp4(&req))],
    );
}

// ---------------------------------------------------------------- LDAP

fn ldap(id: i64, op: Vec<u8>) -> Vec<u8> {
    seq(&[int(id), op])
}

fn simple_bind(id: i64, dn: &str, pw: &str) -> Vec<u8> {
    ldap(
        id,
        tlv(
            0x60,
            &[int(3), octets(dn.as_bytes()), tlv(0x80, pw.as_bytes())].concat(),
        ),
    )
}

fn result(id: i64, app: u8, code: i64) -> Vec<u8> {
    ldap(
        id,
        tlv(
            app,
            &[tlv(0x0a, &[code as u8]), octets(b""), octets(b"")].concat(),
        ),
    )
}

fn search(id: i64) -> Vec<u8> {
    let eq = tlv(0xa3, &[octets(b"objectClass"), octets(b"user")].concat());
    let sub = tlv(0xa4, &[octets(b"cn"), seq(&[tlv(0x80, b"adm")])].concat());
    let present = tlv(0x87, b"servicePrincipalName");
    let filter = tlv(0xa0, &[eq, sub, present].concat());
    ldap(
        id,
        tlv(
            0x63,
            &[
                octets(b"dc=corp,dc=example,dc=jp"),
                tlv(0x0a, &[2]),
                tlv(0x0a, &[0]),
                int(0),
                int(0),
                tlv(0x01, &[0]),
                filter,
                seq(&[octets(b"sAMAccountName"), octets(b"memberOf")]),
            ]
            .concat(),
        ),
    )
}

fn entry(id: i64) -> Vec<u8> {
    ldap(id, tlv(0x64, &[octets(b"cn=x,dc=corp"), seq(&[])].concat()))
}

#[test]
fn ldap_simple_bind_flags_cleartext_without_recording_password() {
    let out = run(
        "ldap",
        &[
            (
                C,
                simple_bind(1, "cn=admin,dc=corp,dc=example,dc=jp", "S3cret!"),
            ),
            (S, result(1, 0x61, 49)),
        ],
    );
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r.dataset, "ldap");
    assert_eq!(s(r, "mamori.ldap.operation"), "bind");
    assert_eq!(
        s(r, "mamori.ldap.bind_dn"),
        "cn=admin,dc=corp,dc=example,dc=jp"
    );
    assert_eq!(s(r, "mamori.ldap.bind_type"), "simple");
    assert_eq!(get(r, "mamori.ldap.cleartext_password"), &Value::Bool(true));
    assert_eq!(s(r, "mamori.ldap.result_code"), "invalidCredentials");
    assert_eq!(s(r, "event.outcome"), "failure");
    for v in r.fields.values() {
        assert!(
            !v.to_string().contains("S3cret"),
            "password leaked into {v}"
        );
    }
    // Anonymous simple bind: no password.
    let out = run(
        "ldap",
        &[(C, simple_bind(1, "", "")), (S, result(1, 0x61, 0))],
    );
    assert_eq!(
        get(&out[0], "mamori.ldap.cleartext_password"),
        &Value::Bool(false)
    );
    assert_eq!(s(&out[0], "event.outcome"), "success");
}

#[test]
fn ldap_search_filter_entries_and_split_invariance() {
    let msgs = vec![
        (C, simple_bind(1, "cn=svc,dc=corp", "pw")),
        (S, result(1, 0x61, 0)),
        (C, search(2)),
        (S, [entry(2), entry(2), entry(2)].concat()),
        (S, result(2, 0x65, 0)),
        (C, ldap(3, tlv(0x42, &[]))),
    ];
    let out = assert_split_invariant("ldap/tcp", &msgs);
    assert_eq!(out.len(), 3);
    let sr = &out[1];
    assert_eq!(s(sr, "mamori.ldap.operation"), "search");
    assert_eq!(s(sr, "mamori.ldap.search.base"), "dc=corp,dc=example,dc=jp");
    assert_eq!(s(sr, "mamori.ldap.search.scope"), "sub");
    assert_eq!(
        s(sr, "mamori.ldap.search.filter"),
        "(&(objectClass=user)(cn=adm*)(servicePrincipalName=*))"
    );
    assert_eq!(
        strs(sr, "mamori.ldap.search.attributes"),
        ["sAMAccountName", "memberOf"]
    );
    assert_eq!(i(sr, "mamori.ldap.search.entries"), 3);
    assert_eq!(s(&out[2], "mamori.ldap.operation"), "unbind");
}

#[test]
fn ldap_sasl_bind_and_starttls_stop_parsing() {
    let sasl = ldap(
        1,
        tlv(
            0x60,
            &[int(3), octets(b""), tlv(0xa3, &octets(b"GSS-SPNEGO"))].concat(),
        ),
    );
    let mut d = dissector("ldap/tcp");
    let mut out = Vec::new();
    d.feed(C, &sasl, ts(0), &mut out);
    d.feed(S, &result(1, 0x61, 0), ts(1), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(s(&out[0], "mamori.ldap.bind_type"), "sasl");
    assert_eq!(s(&out[0], "mamori.ldap.sasl_mechanism"), "GSS-SPNEGO");
    // The sealed traffic that follows is not parsed.
    let p = d.feed(C, &[0, 0, 0, 40, 5, 4, 0xff], ts(2), &mut out);
    assert_eq!(p, mamori_proto::app::Progress::Done);

    let starttls = ldap(1, tlv(0x77, &tlv(0x80, b"1.3.6.1.4.1.1466.20037")));
    let mut d = dissector("ldap/tcp");
    let mut out = Vec::new();
    d.feed(C, &starttls, ts(0), &mut out);
    d.feed(S, &result(1, 0x78, 0), ts(1), &mut out);
    assert_eq!(get(&out[0], "mamori.ldap.starttls"), &Value::Bool(true));
    assert_eq!(
        d.feed(C, b"\x16\x03\x01\x00\x10", ts(2), &mut out),
        mamori_proto::app::Progress::Done
    );
}

#[test]
fn ldap_probe_identify_and_robustness() {
    let b = simple_bind(1, "cn=a", "b");
    assert_eq!(probe("ldap", &meta(TCP, 389), C, &b), Probe::Yes);
    assert_eq!(probe("ldap", &meta(TCP, 389), C, &b[..3]), Probe::Maybe);
    assert_eq!(identified(&meta(TCP, 10389), C, &b), Some("ldap"));
    assert_eq!(identified(&meta(UDP, 10389), C, &search(5)), Some("ldap"));
    assert_ne!(
        probe("ldap", &meta(UDP, 161), C, &snmp_v2c_get(b"public")),
        Probe::Yes
    );
    assert_ne!(probe("snmp", &meta(UDP, 389), C, &b), Probe::Yes);
    assert_probe_rejects("ldap", TCP, 389);
    assert_no_panic("ldap", &[(C, b), (C, search(2)), (S, result(2, 0x65, 0))]);
}

// ------------------------------------------- transport from the flow (CLDAP, Kerberos)

#[test]
fn cldap_truncated_datagram_does_not_corrupt_the_next_one() {
    let full = search(7);
    let mut d = dissector("ldap/udp");
    let mut out = Vec::new();
    // A datagram cut short (e.g. by the capture's snap length), then a complete exchange.
    d.feed(C, &search(6)[..20], ts(0), &mut out);
    d.feed(C, &full, ts(1), &mut out);
    d.feed(S, &result(7, 0x65, 0), ts(2), &mut out);
    d.finish(ts(3), &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(i(&out[0], "mamori.ldap.message_id"), 7);
    assert_eq!(
        s(&out[0], "mamori.ldap.search.base"),
        "dc=corp,dc=example,dc=jp"
    );
    let c = d.counters().expect("ldap keeps counters");
    assert_eq!(c.get("truncated_datagram"), 1);
    // Over TCP the same bytes are one stream: the cut message swallows what follows.
    let mut t = dissector("ldap/tcp");
    let mut out = Vec::new();
    t.feed(C, &search(6)[..20], ts(0), &mut out);
    t.feed(C, &full, ts(1), &mut out);
    t.finish(ts(3), &mut out);
    assert!(out.iter().all(|r| i(r, "mamori.ldap.message_id") != 7));
}

#[test]
fn cldap_datagram_with_two_messages_and_garbage_tail() {
    let mut dgram = search(1);
    dgram.extend(search(2));
    dgram.extend([0x04, 0x01, 0x00]);
    let mut d = dissector("ldap/udp");
    let mut out = Vec::new();
    d.feed(C, &dgram, ts(0), &mut out);
    d.finish(ts(1), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(d.counters().unwrap().get("malformed_message"), 1);
}

#[test]
fn kerberos_udp_datagram_starting_with_zero_does_not_switch_to_tcp_framing() {
    let mut d = dissector("kerberos/udp");
    let mut out = Vec::new();
    d.feed(C, &[0, 0, 0, 9, 1, 2, 3], ts(0), &mut out);
    d.feed(C, &as_req("alice", &[18], true), ts(1), &mut out);
    d.feed(S, &krb_error(25), ts(2), &mut out);
    d.finish(ts(3), &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(s(&out[0], "user.name"), "alice");
    assert_eq!(d.counters().unwrap().get("malformed_message"), 1);
}

#[test]
fn kerberos_tcp_frames_are_parsed_as_tcp_from_the_start() {
    let msgs = vec![
        (C, tcp4(&as_req("bob", &[18], true))),
        (S, tcp4(&krb_error(6))),
    ];
    assert_eq!(run("kerberos/tcp", &msgs).len(), 1);
    // The same framed bytes on a UDP flow are not Kerberos messages.
    assert!(run("kerberos/udp", &msgs).is_empty());
}
