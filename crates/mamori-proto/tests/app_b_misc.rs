//! Telnet, IRC, BitTorrent, OpenVPN and WireGuard tests.

// Test builders unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

#[path = "app_b_common.rs"]
mod common;

use common::*;
use mamori_proto::app::{bittorrent, irc, openvpn, telnet, wireguard};
use mamori_proto::app::{identify, Identified, Probe, Progress, Transport};

fn expect_protocol(t: Transport, port: u16, dir: mamori_proto::app::Dir, data: &[u8], name: &str) {
    match identify(&meta(t, port), dir, data) {
        Identified::Protocol(p) => assert_eq!(p.name, name),
        other => panic!("{name}: {other:?}"),
    }
}

// ---- Telnet ----

#[test]
fn telnet_options_and_login() {
    let script: Vec<(mamori_proto::app::Dir, &[u8])> = vec![
        (S, b"\xff\xfd\x18\xff\xfd\x20\xff\xfb\x01"),
        (C, b"\xff\xfb\x18\xff\xfa\x18\x00xterm\xff\xf0"),
        (S, b"\r\nUbuntu 24.04\r\nrouter login: "),
        (C, b"adminx\x7f\r"),
        (S, b"Password: "),
        (C, b"secret\r"),
    ];
    let (recs, _) = run(telnet::new_dissector(&tcp()), &script);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.dataset, "telnet");
    assert_eq!(
        list(r, "mamori.telnet.options"),
        vec!["terminal-type", "terminal-speed", "echo"]
    );
    assert_eq!(s(r, "user.name"), "admin");
    let bytewise = run_bytewise(telnet::new_dissector(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
    let m = meta(Transport::Tcp, 23);
    assert_eq!(telnet::probe(&m, S, b"\xff\xfd\x18"), Probe::Yes);
    assert_eq!(telnet::probe(&m, S, b"\xff"), Probe::Maybe);
    assert_eq!(telnet::probe(&m, S, b"\xff\x10\x18"), Probe::No);
    assert_eq!(telnet::probe(&m, S, b"login: "), Probe::No);
    expect_protocol(
        Transport::Tcp,
        2601,
        S,
        b"\xff\xfb\x01\xff\xfb\x03",
        "telnet",
    );
    for seed in 0..30 {
        no_panic(
            telnet::new_dissector,
            &garbage(seed, 3000),
            (seed as usize % 5) + 1,
        );
    }
}

// ---- IRC ----

#[test]
fn irc_nick_user_channels() {
    let script: Vec<(mamori_proto::app::Dir, &[u8])> = vec![
        (C, b"CAP LS 302\r\nNICK bot123\r\nUSER bot 0 * :Bot\r\n"),
        (S, b":irc.example.test 001 bot123 :Welcome\r\n"),
        (
            C,
            b"JOIN #ops,#c2\r\nPRIVMSG #c2 :hello\r\nPRIVMSG #c2 :again\r\n",
        ),
    ];
    let (recs, _) = run(irc::new_dissector(&tcp()), &script);
    let r = &recs[0];
    assert_eq!(r.dataset, "irc");
    assert_eq!(s(r, "mamori.irc.nick"), "bot123");
    assert_eq!(s(r, "user.name"), "bot");
    assert_eq!(list(r, "mamori.irc.channels"), vec!["#ops", "#c2"]);
    assert_eq!(i(r, "mamori.irc.privmsg_count"), 2);
    let bytewise = run_bytewise(irc::new_dissector(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
    let m = meta(Transport::Tcp, 6667);
    assert_eq!(irc::probe(&m, C, b"NICK x\r\n"), Probe::Yes);
    assert_eq!(irc::probe(&m, C, b"USER u 0 * :Real\r\n"), Probe::Yes);
    assert_eq!(irc::probe(&m, C, b"USER u\r\n"), Probe::No);
    assert_eq!(irc::probe(&m, S, b":srv NOTICE * :hi\r\n"), Probe::Yes);
    assert_eq!(irc::probe(&m, S, b"220 ftp\r\n"), Probe::No);
    expect_protocol(
        Transport::Tcp,
        4444,
        C,
        b"NICK x\r\nUSER x 0 * :x\r\n",
        "irc",
    );
    for seed in 0..30 {
        no_panic(irc::new_dissector, &garbage(seed, 3000), 7);
    }
}

// ---- BitTorrent ----

fn bt_handshake(hash: u8, peer: &[u8; 20]) -> Vec<u8> {
    let mut h = bittorrent::HANDSHAKE_PREFIX.to_vec();
    h.extend([0, 0, 0, 0, 0, 0x10, 0, 5]);
    h.extend([hash; 20]);
    h.extend(peer);
    h
}

#[test]
fn bittorrent_handshake_and_dht() {
    let mut c = bt_handshake(0xab, b"-qB4630-abcdefghijkl");
    c.extend([0, 0, 0, 1, 2]); // interested
    let s_hs = bt_handshake(0xab, b"-TR4050-zyxwvutsrqpo");
    let script: Vec<(mamori_proto::app::Dir, &[u8])> = vec![(C, &c), (S, &s_hs)];
    let (recs, progress) = run(bittorrent::new_dissector(&tcp()), &script);
    assert_eq!(progress[1], Progress::Done);
    assert_eq!(recs.len(), 2);
    assert_eq!(s(&recs[0], "mamori.bittorrent.info_hash"), "ab".repeat(20));
    assert_eq!(
        s(&recs[0], "mamori.bittorrent.peer_id"),
        "-qB4630-abcdefghijkl"
    );
    let bytewise = run_bytewise(bittorrent::new_dissector(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
    let mut q = b"d1:ad2:id20:".to_vec();
    q.extend([0x11; 20]);
    q.extend(b"9:info_hash20:");
    q.extend([0x22; 20]);
    q.extend(b"e1:q9:get_peers1:t2:aa1:y1:qe");
    let (recs, _) = run(bittorrent::new_dissector(&udp()), &[(C, &q)]);
    assert_eq!(s(&recs[0], "mamori.bittorrent.dht_query"), "get_peers");
    assert_eq!(s(&recs[0], "mamori.bittorrent.info_hash"), "22".repeat(20));
    assert_eq!(s(&recs[0], "mamori.bittorrent.dht_type"), "q");
    assert_eq!(
        bittorrent::probe(&meta(Transport::Udp, 6881), C, &q),
        Probe::Yes
    );
    assert_eq!(
        bittorrent::probe(&meta(Transport::Tcp, 6881), C, &q),
        Probe::No
    );
    assert_eq!(
        bittorrent::probe(&meta(Transport::Tcp, 6881), C, &c[..5]),
        Probe::Maybe
    );
    assert_eq!(
        bittorrent::probe(&meta(Transport::Tcp, 6881), C, b"GET /"),
        Probe::No
    );
    expect_protocol(Transport::Tcp, 40000, C, &c, "bittorrent");
    expect_protocol(Transport::Udp, 40000, C, &q, "bittorrent");
    // Deep nesting is bounded.
    let deep = [b"l".repeat(100), b"e".repeat(100)].concat();
    assert!(bittorrent::parse_bencode(&deep).is_none());
    for seed in 0..30 {
        let mut g = b"d1:ad2:id20:".to_vec();
        g.extend(garbage(seed, 500));
        no_panic(bittorrent::new_dissector, &g, 600);
        no_panic(bittorrent::new_dissector, &garbage(seed, 500), 3);
    }
}

// ---- OpenVPN ----

fn ovpn_reset(opcode: u8, sid: u8, hmac: usize, remote: Option<u8>) -> Vec<u8> {
    let mut p = vec![opcode << 3];
    p.extend([sid; 8]);
    if hmac > 0 {
        p.extend(vec![0x5c; hmac]);
        p.extend(1u32.to_be_bytes());
        p.extend(0x6500_0000u32.to_be_bytes());
    }
    match remote {
        Some(r) => {
            p.push(1);
            p.extend(0u32.to_be_bytes());
            p.extend([r; 8]);
        }
        None => p.push(0),
    }
    p.extend(0u32.to_be_bytes());
    p
}

#[test]
fn openvpn_udp_and_tcp() {
    let c = ovpn_reset(7, 0x11, 0, None);
    let s_ = ovpn_reset(8, 0x22, 0, Some(0x11));
    let m = meta(Transport::Udp, 1194);
    assert_eq!(c.len(), 14);
    assert_eq!(openvpn::probe(&m, C, &c), Probe::Yes);
    assert_eq!(openvpn::probe(&m, S, &s_), Probe::Yes);
    let (recs, progress) = run(openvpn::new_dissector(&udp()), &[(C, &c), (S, &s_)]);
    assert_eq!(progress[1], Progress::Done);
    let r = &recs[0];
    assert_eq!(r.dataset, "openvpn");
    assert_eq!(s(r, "mamori.openvpn.opcode"), "hard_reset_client_v2");
    assert_eq!(s(r, "mamori.openvpn.client_session_id"), "11".repeat(8));
    assert_eq!(s(r, "mamori.openvpn.server_session_id"), "22".repeat(8));
    assert_eq!(s(r, "mamori.openvpn.control_protection"), "none");
    // tls-auth (HMAC-SHA1) over TCP with the 2-byte length prefix, split by byte.
    let c = ovpn_reset(7, 0x33, 20, None);
    let mut tc = (c.len() as u16).to_be_bytes().to_vec();
    tc.extend(&c);
    let s_ = ovpn_reset(8, 0x44, 20, Some(0x33));
    let mut ts_ = (s_.len() as u16).to_be_bytes().to_vec();
    ts_.extend(&s_);
    let mt = meta(Transport::Tcp, 1194);
    assert_eq!(openvpn::probe(&mt, C, &tc), Probe::Yes);
    let script: Vec<(mamori_proto::app::Dir, &[u8])> = vec![(C, &tc), (S, &ts_)];
    let (recs, _) = run(openvpn::new_dissector(&tcp()), &script);
    assert_eq!(s(&recs[0], "mamori.openvpn.control_protection"), "tls-auth");
    assert_eq!(
        s(&recs[0], "mamori.openvpn.client_session_id"),
        "33".repeat(8)
    );
    let bytewise = run_bytewise(openvpn::new_dissector(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
    expect_protocol(
        Transport::Udp,
        443,
        C,
        &ovpn_reset(7, 1, 0, None),
        "openvpn",
    );
    // Negative: wrong key id, nonzero message id, other bytes.
    let mut bad = ovpn_reset(7, 1, 0, None);
    bad[0] |= 1;
    assert_eq!(openvpn::probe(&m, C, &bad), Probe::No);
    let mut bad = ovpn_reset(7, 1, 0, None);
    bad[13] = 9;
    assert_eq!(openvpn::probe(&m, C, &bad), Probe::No);
    assert_eq!(openvpn::probe(&m, C, &garbage(2, 14)), Probe::No);
    for seed in 0..30 {
        let mut g = vec![0x38];
        g.extend(garbage(seed, 300));
        no_panic(openvpn::new_dissector, &g, (seed as usize % 5) + 1);
        let _ = openvpn::probe(&mt, C, &g);
        let _ = openvpn::probe(&m, C, &g);
    }
}

// ---- WireGuard ----

fn wg(ty: u8, len: usize, sender: u32, receiver: u32) -> Vec<u8> {
    let mut p = vec![ty, 0, 0, 0];
    p.extend(sender.to_le_bytes());
    p.extend(receiver.to_le_bytes());
    p.resize(len, 0x77);
    p
}

#[test]
fn wireguard_messages() {
    let init = wg(1, 148, 0x0102_0304, 0);
    let resp = wg(2, 92, 0x0a0b_0c0d, 0x0102_0304);
    let data = wg(4, 64, 0x0102_0304, 0);
    let m = meta(Transport::Udp, 51820);
    assert_eq!(wireguard::probe(&m, C, &init), Probe::Yes);
    assert_eq!(wireguard::probe(&m, S, &resp), Probe::Yes);
    assert_eq!(wireguard::probe(&m, C, &data), Probe::Maybe);
    assert_eq!(wireguard::probe(&m, C, &wg(1, 147, 1, 0)), Probe::No);
    let mut reserved = init.clone();
    reserved[2] = 1;
    assert_eq!(wireguard::probe(&m, C, &reserved), Probe::No);
    assert_eq!(wireguard::probe(&m, C, &wg(4, 40, 1, 0)), Probe::No);
    let (recs, _) = run(
        wireguard::new_dissector(&udp()),
        &[(C, &init), (S, &resp), (C, &data)],
    );
    assert_eq!(recs.len(), 2);
    assert_eq!(
        s(&recs[0], "mamori.wireguard.message_type"),
        "handshake_initiation"
    );
    assert_eq!(i(&recs[0], "mamori.wireguard.sender_index"), 0x0102_0304);
    assert_eq!(i(&recs[1], "mamori.wireguard.receiver_index"), 0x0102_0304);
    expect_protocol(Transport::Udp, 3333, C, &init, "wireguard");
    let (recs, progress) = run(wireguard::new_dissector(&udp()), &[(C, b"hello")]);
    assert!(recs.is_empty());
    assert_eq!(progress[0], Progress::NotThisProtocol);
    for seed in 0..30 {
        no_panic(wireguard::new_dissector, &garbage(seed, 148), 148);
    }
}

#[test]
fn openvpn_tls_crypt_layout() {
    // tls-crypt V2 client reset: opcode, session id, packet id 1, net time, 32-byte tag,
    // 5 encrypted bytes (ACK count + message id).
    let mut c = vec![7 << 3];
    c.extend([0x2a; 8]);
    c.extend(1u32.to_be_bytes());
    c.extend(1_674_530_805u32.to_be_bytes());
    c.extend([0xc3; 32 + 5]);
    assert_eq!(c.len(), 54);
    let mut tc = (c.len() as u16).to_be_bytes().to_vec();
    tc.extend(&c);
    let mt = meta(Transport::Tcp, 443);
    assert_eq!(openvpn::probe(&mt, C, &tc), Probe::Yes);
    let (recs, _) = run(openvpn::new_dissector(&tcp()), &[(C, &tc)]);
    assert_eq!(
        s(&recs[0], "mamori.openvpn.control_protection"),
        "tls-crypt"
    );
    // Implausible time: only Maybe.
    let mut bad = c.clone();
    bad[13..17].copy_from_slice(&5u32.to_be_bytes());
    assert_eq!(
        openvpn::probe(&meta(Transport::Udp, 1194), C, &bad),
        Probe::Maybe
    );
}

#[test]
fn bittorrent_transport_decides_dht_or_peer_wire() {
    let mut q = b"d1:ad2:id20:".to_vec();
    q.extend([0x11; 20]);
    q.extend(b"e1:q4:ping1:t2:aa1:y1:qe");
    // On TCP a dictionary is not the peer-wire handshake.
    let (recs, progress) = run(bittorrent::new_dissector(&tcp()), &[(C, &q)]);
    assert!(recs.is_empty());
    assert_eq!(progress[0], Progress::NotThisProtocol);
    let (recs, _) = run(bittorrent::new_dissector(&udp()), &[(C, &q)]);
    assert_eq!(s(&recs[0], "mamori.bittorrent.dht_query"), "ping");
}
