//! MQTT, Modbus/TCP, SMB and RDP.

mod app_a_common;

use app_a_common::*;
use mamori_core::Value;
use mamori_proto::app::{Probe, Progress};

// ---------------------------------------------------------------- MQTT

fn mstr(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

fn packet(b0: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![b0];
    let mut n = body.len();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        v.push(b);
        if n == 0 {
            break;
        }
    }
    v.extend_from_slice(body);
    v
}

fn connect(level: u8, client: &[u8], user: Option<(&[u8], &[u8])>) -> Vec<u8> {
    let mut b = mstr(b"MQTT");
    b.push(level);
    b.push(if user.is_some() { 0xc2 } else { 0x02 });
    b.extend([0, 60]);
    if level == 5 {
        b.push(0);
    }
    b.extend(mstr(client));
    if let Some((u, p)) = user {
        b.extend(mstr(u));
        b.extend(mstr(p));
    }
    packet(0x10, &b)
}

fn publish(topic: &[u8], payload_len: usize) -> Vec<u8> {
    let mut b = mstr(topic);
    b.extend(vec![0x42; payload_len]);
    packet(0x30, &b)
}

#[test]
fn mqtt_connect_connack_publish_subscribe() {
    let mut sub = vec![0, 1];
    sub.extend(mstr(b"plant/+/temp"));
    sub.push(0);
    let msgs = vec![
        (C, connect(4, b"sensor-17", Some((b"operator", b"hunter2")))),
        (S, vec![0x20, 0x02, 0x00, 0x05]),
        (C, publish(b"plant/line1/temp", 10)),
        (C, publish(b"plant/line1/temp", 3)),
        (C, publish(b"plant/line2/pressure", 70_000)),
        (C, packet(0x82, &sub)),
    ];
    let out = assert_split_invariant("mqtt", &msgs);
    assert_eq!(out.len(), 2);
    let c = &out[0];
    assert_eq!(c.dataset, "mqtt");
    assert_eq!(s(c, "mamori.mqtt.client_id"), "sensor-17");
    assert_eq!(s(c, "user.name"), "operator");
    assert_eq!(i(c, "mamori.mqtt.protocol_level"), 4);
    assert_eq!(get(c, "mamori.mqtt.password_present"), &Value::Bool(true));
    assert_eq!(s(c, "mamori.mqtt.connect_return_code"), "not_authorized");
    assert_eq!(s(c, "event.outcome"), "failure");
    for v in c.fields.values() {
        assert!(!v.to_string().contains("hunter2"));
    }
    assert_eq!(
        strs(&out[1], "mamori.mqtt.subscribe_topics"),
        ["plant/+/temp"]
    );

    let mut d = dissector("mqtt");
    let mut o = Vec::new();
    for (dir, m) in &msgs {
        d.feed(*dir, m, ts(0), &mut o);
    }
    let mut f = mamori_core::Fields::new();
    d.flow_fields(&mut f);
    assert_eq!(f.get("mamori.mqtt.publish_count"), Some(&Value::Int(3)));
    assert_eq!(
        f.get("mamori.mqtt.publish_topics").map(|v| v.items().len()),
        Some(2),
        "distinct topics, the large payload skipped unbuffered"
    );
}

#[test]
fn mqtt_v5_and_unanswered_connect() {
    let out = run("mqtt", &[(C, connect(5, b"v5client", None))]);
    assert_eq!(out.len(), 1);
    assert_eq!(i(&out[0], "mamori.mqtt.protocol_level"), 5);
    assert_eq!(s(&out[0], "mamori.mqtt.client_id"), "v5client");
    assert_eq!(
        get(&out[0], "mamori.mqtt.password_present"),
        &Value::Bool(false)
    );
    assert!(!out[0]
        .fields
        .contains_key("mamori.mqtt.connect_return_code"));
}

#[test]
fn mqtt_probe_identify_and_robustness() {
    let c = connect(4, b"x", None);
    assert_eq!(probe("mqtt", &meta(TCP, 1883), C, &c), Probe::Yes);
    assert_eq!(probe("mqtt", &meta(TCP, 1883), C, &c[..5]), Probe::Maybe);
    assert_eq!(identified(&meta(TCP, 11883), C, &c), Some("mqtt"));
    let mut bad = c.clone();
    bad[8] = 9; // protocol level 9
    assert_eq!(probe("mqtt", &meta(TCP, 1883), C, &bad), Probe::No);
    assert_probe_rejects("mqtt", TCP, 1883);
    assert_no_panic(
        "mqtt",
        &[
            (C, connect(5, b"id", Some((b"u", b"p")))),
            (C, publish(b"t", 5)),
        ],
    );
}

// ---------------------------------------------------------------- Modbus

fn mbap(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = tid.to_be_bytes().to_vec();
    v.extend([0, 0]);
    v.extend(((pdu.len() + 1) as u16).to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

#[test]
fn modbus_writes_and_exceptions_are_records_reads_are_counted() {
    let mut read_resp = vec![3, 20];
    read_resp.extend([0u8; 20]);
    let msgs = vec![
        (C, mbap(1, 1, &[3, 0, 0, 0, 10])),
        (S, mbap(1, 1, &read_resp)),
        (C, mbap(2, 1, &[6, 0, 1, 0, 3])),
        (S, mbap(2, 1, &[6, 0, 1, 0, 3])),
        (C, mbap(3, 7, &[16, 0, 0x10, 0, 2, 4, 0, 1, 0, 2])),
        (S, mbap(3, 7, &[0x90, 2])),
    ];
    let out = assert_split_invariant("modbus", &msgs);
    assert_eq!(out.len(), 2, "the routine read is summarised, not recorded");
    let w = &out[0];
    assert_eq!(w.dataset, "modbus");
    assert_eq!(s(w, "mamori.modbus.function"), "write_single_register");
    assert_eq!(get(w, "mamori.modbus.write"), &Value::Bool(true));
    assert_eq!(i(w, "mamori.modbus.address"), 1);
    assert_eq!(s(w, "event.outcome"), "success");
    let e = &out[1];
    assert_eq!(i(e, "mamori.modbus.unit_id"), 7);
    assert_eq!(s(e, "mamori.modbus.function"), "write_multiple_registers");
    assert_eq!(i(e, "mamori.modbus.quantity"), 2);
    assert_eq!(s(e, "mamori.modbus.exception"), "illegal_data_address");
    assert_eq!(s(e, "event.outcome"), "failure");

    let mut d = dissector("modbus");
    let mut o = Vec::new();
    for (dir, m) in &msgs {
        d.feed(*dir, m, ts(0), &mut o);
    }
    let mut f = mamori_core::Fields::new();
    d.flow_fields(&mut f);
    assert_eq!(f.get("mamori.modbus.reads"), Some(&Value::Int(1)));
    assert_eq!(f.get("mamori.modbus.write"), Some(&Value::Bool(true)));
}

#[test]
fn modbus_probe_identify_and_robustness() {
    let req = mbap(1, 1, &[3, 0, 0, 0, 10]);
    assert_eq!(probe("modbus", &meta(TCP, 502), C, &req), Probe::Yes);
    assert_eq!(identified(&meta(TCP, 5020), C, &req), Some("modbus"));
    let mut bad = req.clone();
    bad[3] = 1; // protocol id 1
    assert_eq!(probe("modbus", &meta(TCP, 502), C, &bad), Probe::No);
    assert_probe_rejects("modbus", TCP, 502);
    assert_no_panic("modbus", &[(C, req), (S, mbap(1, 1, &[0x83, 1]))]);
}

// ---------------------------------------------------------------- SMB

fn nbss(m: &[u8]) -> Vec<u8> {
    let n = m.len();
    let mut v = vec![0, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    v.extend_from_slice(m);
    v
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn smb2(cmd: u16, mid: u64, response: bool, status: u32, tree: u32, body: &[u8]) -> Vec<u8> {
    let mut h = b"\xfeSMB".to_vec();
    h.extend(64u16.to_le_bytes());
    h.extend([0, 0]);
    h.extend(status.to_le_bytes());
    h.extend(cmd.to_le_bytes());
    h.extend(1u16.to_le_bytes());
    h.extend(u32::from(response).to_le_bytes());
    h.extend(0u32.to_le_bytes());
    h.extend(mid.to_le_bytes());
    h.extend(0u32.to_le_bytes());
    h.extend(tree.to_le_bytes());
    h.extend(0x1122u64.to_le_bytes());
    h.extend([0; 16]);
    h.extend_from_slice(body);
    nbss(&h)
}

fn ntlm_auth(domain: &str, user: &str, ws: &str, nt_len: usize) -> Vec<u8> {
    let (d, u, w) = (utf16(domain), utf16(user), utf16(ws));
    let lm = vec![0u8; 24];
    let nt = vec![0x5a; nt_len];
    let mut payload_off = 64u32;
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(3u32.to_le_bytes());
    let mut payload = Vec::new();
    let mut field = |m: &mut Vec<u8>, data: &[u8]| {
        m.extend((data.len() as u16).to_le_bytes());
        m.extend((data.len() as u16).to_le_bytes());
        m.extend(payload_off.to_le_bytes());
        payload.extend_from_slice(data);
        payload_off += data.len() as u32;
    };
    field(&mut m, &lm);
    field(&mut m, &nt);
    field(&mut m, &d);
    field(&mut m, &u);
    field(&mut m, &w);
    field(&mut m, &[]);
    m.extend(0xe2888215u32.to_le_bytes());
    m.extend(payload);
    m
}

fn negotiate_req() -> Vec<u8> {
    let mut b = 36u16.to_le_bytes().to_vec();
    b.extend(4u16.to_le_bytes());
    b.extend([1, 0, 0, 0, 0, 0, 0, 0]);
    b.extend([0x33; 16]);
    b.extend([0; 8]);
    for d in [0x0202u16, 0x0210, 0x0300, 0x0311] {
        b.extend(d.to_le_bytes());
    }
    smb2(0, 0, false, 0, 0, &b)
}

fn negotiate_resp(dialect: u16) -> Vec<u8> {
    let mut b = 65u16.to_le_bytes().to_vec();
    b.extend(1u16.to_le_bytes());
    b.extend(dialect.to_le_bytes());
    b.extend([0; 58]);
    smb2(0, 0, true, 0, 0, &b)
}

fn session_setup(mid: u64, blob: &[u8]) -> Vec<u8> {
    let mut b = 25u16.to_le_bytes().to_vec();
    b.extend([0, 1]);
    b.extend([0; 8]);
    b.extend(88u16.to_le_bytes());
    b.extend((blob.len() as u16).to_le_bytes());
    b.extend([0; 8]);
    b.extend_from_slice(blob);
    smb2(1, mid, false, 0, 0, &b)
}

fn tree_connect(mid: u64, path: &str) -> Vec<u8> {
    let p = utf16(path);
    let mut b = 9u16.to_le_bytes().to_vec();
    b.extend([0, 0]);
    b.extend(72u16.to_le_bytes());
    b.extend((p.len() as u16).to_le_bytes());
    b.extend(p);
    smb2(3, mid, false, 0, 0, &b)
}

fn tree_resp(mid: u64, status: u32, tree: u32, share_type: u8) -> Vec<u8> {
    let mut b = 16u16.to_le_bytes().to_vec();
    b.push(share_type);
    b.extend([0; 13]);
    smb2(3, mid, true, status, tree, &b)
}

fn create(mid: u64, tree: u32, name: &str) -> Vec<u8> {
    let n = utf16(name);
    let mut b = 57u16.to_le_bytes().to_vec();
    b.extend([0, 0]);
    b.extend(2u32.to_le_bytes());
    b.extend([0; 16]);
    b.extend(0x0012_019fu32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(3u32.to_le_bytes());
    b.extend(1u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(120u16.to_le_bytes());
    b.extend((n.len() as u16).to_le_bytes());
    b.extend([0; 8]);
    b.extend(n);
    smb2(5, mid, false, 0, tree, &b)
}

fn smb2_exchange() -> Vec<(mamori_proto::app::Dir, Vec<u8>)> {
    let empty_resp = |cmd: u16, mid: u64, status: u32| {
        smb2(cmd, mid, true, status, 0, &[9, 0, 0, 0, 0, 0, 0, 0])
    };
    vec![
        (C, negotiate_req()),
        (S, negotiate_resp(0x0311)),
        (
            C,
            session_setup(
                1,
                b"\x60\x48\x06\x06+\x06\x01\x05\x05\x02NTLMSSP\0\x01\0\0\0",
            ),
        ),
        (S, empty_resp(1, 1, 0xC000_0016)),
        (
            C,
            session_setup(2, &ntlm_auth("CORP", "alice", "WS-042", 50)),
        ),
        (S, empty_resp(1, 2, 0)),
        (C, tree_connect(3, "\\\\fs01\\ADMIN$")),
        (S, tree_resp(3, 0, 5, 1)),
        (C, create(4, 5, "Windows\\Temp\\payload.exe")),
        (S, empty_resp(5, 4, 0)),
    ]
}

#[test]
fn smb2_negotiate_auth_tree_and_create() {
    let mut msgs = smb2_exchange();
    // Opening the share root names no file and makes no record.
    msgs.push((C, create(5, 5, "")));
    msgs.push((S, smb2(5, 5, true, 0, 0, &[9, 0, 0, 0, 0, 0, 0, 0])));
    let out = assert_split_invariant("smb", &msgs);
    assert_eq!(out.len(), 4);
    let n = &out[0];
    assert_eq!(n.dataset, "smb");
    assert_eq!(s(n, "mamori.smb.action"), "negotiate");
    assert_eq!(s(n, "mamori.smb.dialect"), "3.1.1");
    assert_eq!(i(n, "mamori.smb.version"), 3);
    assert_eq!(
        strs(n, "mamori.smb.dialects_offered"),
        ["2.02", "2.1", "3.0", "3.1.1"]
    );
    let a = &out[1];
    assert_eq!(s(a, "mamori.smb.action"), "session_setup");
    assert_eq!(s(a, "user.name"), "alice");
    assert_eq!(s(a, "user.domain"), "CORP");
    assert_eq!(s(a, "mamori.smb.workstation"), "WS-042");
    assert_eq!(s(a, "mamori.smb.ntlm_version"), "v2");
    assert_eq!(s(a, "event.outcome"), "success");
    let t = &out[2];
    assert_eq!(s(t, "mamori.smb.share"), "ADMIN$");
    assert_eq!(s(t, "mamori.smb.path"), "\\\\fs01\\ADMIN$");
    assert_eq!(s(t, "mamori.smb.share_type"), "disk");
    let c = &out[3];
    assert_eq!(s(c, "file.path"), "Windows\\Temp\\payload.exe");
    assert_eq!(s(c, "file.name"), "payload.exe");
    assert_eq!(s(c, "mamori.smb.share"), "ADMIN$");
    assert_eq!(get(c, "mamori.smb.write_access"), &Value::Bool(true));
}

#[test]
fn smb2_logon_failure_and_ntlmv1() {
    let msgs = vec![
        (C, session_setup(9, &ntlm_auth("CORP", "bob", "PC", 24))),
        (
            S,
            smb2(1, 9, true, 0xC000_006D, 0, &[9, 0, 0, 0, 0, 0, 0, 0]),
        ),
    ];
    let out = run("smb", &msgs);
    assert_eq!(s(&out[0], "event.outcome"), "failure");
    assert_eq!(s(&out[0], "mamori.smb.status"), "STATUS_LOGON_FAILURE");
    assert_eq!(s(&out[0], "mamori.smb.ntlm_version"), "v1");
}

fn smb1(cmd: u8, response: bool, mid: u16, tid: u16, words: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut h = b"\xffSMB".to_vec();
    h.push(cmd);
    h.extend([0; 4]);
    h.push(if response { 0x98 } else { 0x18 });
    h.extend(0xc853u16.to_le_bytes());
    h.extend([0; 12]);
    h.extend(tid.to_le_bytes());
    h.extend(0xfeffu16.to_le_bytes());
    h.extend(0u16.to_le_bytes());
    h.extend(mid.to_le_bytes());
    h.push((words.len() / 2) as u8);
    h.extend_from_slice(words);
    h.extend((bytes.len() as u16).to_le_bytes());
    h.extend_from_slice(bytes);
    nbss(&h)
}

#[test]
fn smb1_negotiate_is_version_1_and_tree_connect_decodes() {
    let mut dialects = Vec::new();
    for d in ["PC NETWORK PROGRAM 1.0", "LANMAN1.0", "NT LM 0.12"] {
        dialects.push(2);
        dialects.extend(d.as_bytes());
        dialects.push(0);
    }
    let mut resp_words = 2u16.to_le_bytes().to_vec();
    resp_words.extend([0; 32]);
    let mut tc_bytes = vec![0u8];
    tc_bytes.extend(utf16("\\\\10.0.0.9\\IPC$"));
    tc_bytes.extend([0, 0]);
    tc_bytes.extend(b"?????\0");
    let msgs = vec![
        (C, smb1(0x72, false, 1, 0, &[], &dialects)),
        (S, smb1(0x72, true, 1, 0, &resp_words, &[])),
        (
            C,
            smb1(0x75, false, 2, 0, &[0xff, 0, 0, 0, 0, 0, 1, 0], &tc_bytes),
        ),
        (S, smb1(0x75, true, 2, 0x800, &[0xff, 0, 0, 0, 1, 0], &[])),
    ];
    let out = assert_split_invariant("smb", &msgs);
    assert_eq!(out.len(), 2);
    assert_eq!(s(&out[0], "mamori.smb.dialect"), "NT LM 0.12");
    assert_eq!(i(&out[0], "mamori.smb.version"), 1);
    assert_eq!(s(&out[1], "mamori.smb.share"), "IPC$");
    assert_eq!(i(&out[1], "mamori.smb.version"), 1);
    assert_eq!(s(&out[1], "event.outcome"), "success");
}

#[test]
fn smb_netbios_session_request_is_skipped_and_probed() {
    let mut req = vec![0x81, 0, 0, 68, 0x20];
    req.extend([b'C', b'A'].repeat(16));
    req.push(0);
    req.push(0x20);
    req.extend([b'E', b'B'].repeat(16));
    req.push(0);
    assert_eq!(probe("smb", &meta(TCP, 139), C, &req), Probe::Yes);
    let mut msgs = vec![(C, req), (S, vec![0x82, 0, 0, 0])];
    msgs.extend(smb2_exchange());
    let out = run("smb", &msgs);
    assert_eq!(out.len(), 4);
}

#[test]
fn smb_probe_identify_and_robustness() {
    let n = negotiate_req();
    assert_eq!(probe("smb", &meta(TCP, 445), C, &n), Probe::Yes);
    assert_eq!(probe("smb", &meta(TCP, 445), C, &n[..6]), Probe::Maybe);
    assert_eq!(identified(&meta(TCP, 4450), C, &n), Some("smb"));
    assert_probe_rejects("smb", TCP, 445);
    // Encrypted SMB3 is counted, not parsed, and reported on the flow.
    let mut enc = b"\xfdSMB".to_vec();
    enc.extend([0; 48]);
    let mut d = dissector("smb");
    let mut o = Vec::new();
    d.feed(C, &nbss(&enc), ts(0), &mut o);
    let mut f = mamori_core::Fields::new();
    d.flow_fields(&mut f);
    assert_eq!(f.get("mamori.smb.encrypted"), Some(&Value::Bool(true)));
    assert!(o.is_empty());
    assert_no_panic("smb", &smb2_exchange());
}

// ---------------------------------------------------------------- RDP

fn rdp_cr(cookie: &str, protocols: u32) -> Vec<u8> {
    let mut x = vec![0xe0, 0, 0, 0, 0, 0];
    x.extend(format!("Cookie: mstshash={cookie}\r\n").into_bytes());
    x.extend([1, 0, 8, 0]);
    x.extend(protocols.to_le_bytes());
    let mut v = vec![3, 0];
    v.extend(((x.len() + 5) as u16).to_be_bytes());
    v.push(x.len() as u8);
    v.extend(x);
    v
}

fn rdp_cc(kind: u8, value: u32) -> Vec<u8> {
    let mut v = vec![3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, kind, 0, 8, 0];
    v.extend(value.to_le_bytes());
    v
}

#[test]
fn rdp_cookie_protocols_and_selection() {
    let msgs = vec![(C, rdp_cr("administr", 0x3)), (S, rdp_cc(2, 0x2))];
    let out = assert_split_invariant("rdp", &msgs);
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r.dataset, "rdp");
    assert_eq!(s(r, "mamori.rdp.cookie"), "administr");
    assert_eq!(
        strs(r, "mamori.rdp.requested_protocols"),
        ["tls", "credssp"]
    );
    assert_eq!(s(r, "mamori.rdp.selected_protocol"), "credssp");
    assert_eq!(s(r, "mamori.rdp.security"), "enhanced");

    let out = run("rdp", &[(C, rdp_cr("bob", 0)), (S, rdp_cc(2, 0))]);
    assert_eq!(strs(&out[0], "mamori.rdp.requested_protocols"), ["rdp"]);
    assert_eq!(s(&out[0], "mamori.rdp.security"), "standard");

    let out = run("rdp", &[(C, rdp_cr("eve", 0)), (S, rdp_cc(3, 5))]);
    assert_eq!(
        s(&out[0], "mamori.rdp.failure"),
        "hybrid_required_by_server"
    );
    assert_eq!(s(&out[0], "event.outcome"), "failure");
}

#[test]
fn rdp_stops_after_confirm_and_emits_lone_request() {
    let mut d = dissector("rdp");
    let mut o = Vec::new();
    d.feed(C, &rdp_cr("a", 3), ts(0), &mut o);
    assert_eq!(d.feed(S, &rdp_cc(2, 1), ts(1), &mut o), Progress::Done);
    assert_eq!(o.len(), 1);
    let out = run("rdp", &[(C, rdp_cr("scanner", 1))]);
    assert_eq!(out.len(), 1);
    assert_eq!(s(&out[0], "mamori.rdp.cookie"), "scanner");
}

#[test]
fn rdp_probe_identify_and_robustness() {
    let cr = rdp_cr("x", 1);
    assert_eq!(probe("rdp", &meta(TCP, 3389), C, &cr), Probe::Yes);
    assert_eq!(probe("rdp", &meta(TCP, 3389), S, &rdp_cc(2, 1)), Probe::Yes);
    assert_eq!(probe("rdp", &meta(TCP, 3389), C, &cr[..3]), Probe::Maybe);
    assert_eq!(identified(&meta(TCP, 33890), C, &cr), Some("rdp"));
    // S7comm's COTP connection request is X.224 too, but with COTP parameters: not RDP.
    let s7 = [
        3, 0, 0, 22, 17, 0xe0, 0, 0, 0, 1, 0, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2, 0xc0, 1, 10,
    ];
    assert_eq!(probe("rdp", &meta(TCP, 102), C, &s7), Probe::No);
    assert_probe_rejects("rdp", TCP, 3389);
    assert_no_panic("rdp", &[(C, cr), (S, rdp_cc(3, 1))]);
}
