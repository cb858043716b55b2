//! QUIC Initial decryption tests with the RFC 9001 Appendix A (v1) and RFC 9369
//! Appendix A (v2) client Initial keys.

// Test builders unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

#[path = "app_b_common.rs"]
mod common;

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes_gcm::{AeadInOut, Aes128Gcm};
use common::*;
use mamori_proto::app::quic::{self, InitialKeys, QuicVersion};
use mamori_proto::app::{identify, Identified, Probe, Progress, Transport};

const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 9001 A.1 client keys.
fn rfc9001_keys() -> InitialKeys {
    InitialKeys {
        key: hex("1f369613dd76d5467730efcbe3b1a22d").try_into().unwrap(),
        iv: hex("fa044b2f42a3fd3b46fb255c").try_into().unwrap(),
        hp: hex("9f50449e04a0e810283a1e9933adedd2").try_into().unwrap(),
    }
}

/// RFC 9369 A.1 client keys.
fn rfc9369_keys() -> InitialKeys {
    InitialKeys {
        key: hex("8b1a0bc121284290a29e0971b5cd045d").try_into().unwrap(),
        iv: hex("91f73e2351d8fa91660e909f").try_into().unwrap(),
        hp: hex("45b95e15235d6f45a6b19cbcb0294ba9").try_into().unwrap(),
    }
}

/// Build a protected client Initial (independent implementation of RFC 9001 §5.3/§5.4).
fn initial_packet(
    version: u32,
    keys: &InitialKeys,
    pn: u32,
    frames: &[u8],
    pad_to: usize,
) -> Vec<u8> {
    initial_packet_dcid(&DCID, version, keys, pn, frames, pad_to)
}

fn initial_packet_dcid(
    dcid: &[u8],
    version: u32,
    keys: &InitialKeys,
    pn: u32,
    frames: &[u8],
    pad_to: usize,
) -> Vec<u8> {
    let first = if version == 0x6b33_43cf { 0xd3 } else { 0xc3 }; // pn length 4
    let mut hdr = vec![first];
    hdr.extend(version.to_be_bytes());
    hdr.push(dcid.len() as u8);
    hdr.extend(dcid);
    hdr.push(0); // SCID
    hdr.push(0); // token length
    let fixed = hdr.len() + 2 + 4 + 16;
    let mut payload = frames.to_vec();
    if pad_to > fixed + payload.len() {
        payload.resize(pad_to - fixed, 0); // PADDING frames
    }
    let len = 4 + payload.len() + 16;
    hdr.extend([0x40 | (len >> 8) as u8, len as u8]);
    let pn_offset = hdr.len();
    hdr.extend(pn.to_be_bytes());
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(u64::from(pn).to_be_bytes()) {
        *n ^= p;
    }
    let aead = Aes128Gcm::new_from_slice(&keys.key).unwrap();
    let mut ct = payload.clone();
    let tag = aead
        .encrypt_inout_detached(&aes_gcm::Nonce::from(nonce), &hdr, ct.as_mut_slice().into())
        .unwrap();
    let mut pkt = hdr;
    pkt.extend(ct);
    pkt.extend(tag.as_slice());
    let sample: [u8; 16] = pkt[pn_offset + 4..pn_offset + 20].try_into().unwrap();
    let hp = aes::Aes128::new_from_slice(&keys.hp).unwrap();
    let mut mask = aes::Block::from(sample);
    hp.encrypt_block(&mut mask);
    pkt[0] ^= mask[0] & 0x0f;
    for i in 0..4 {
        pkt[pn_offset + i] ^= mask[1 + i];
    }
    pkt
}

fn crypto_frame(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06, 0x40 | (offset >> 8) as u8, offset as u8];
    f.extend([0x40 | (data.len() >> 8) as u8, data.len() as u8]);
    f.extend_from_slice(data);
    f
}

#[test]
fn initial_keys_match_rfc_vectors() {
    assert_eq!(
        quic::client_initial_keys(QuicVersion::V1, &DCID).unwrap(),
        rfc9001_keys()
    );
    assert_eq!(
        quic::client_initial_keys(QuicVersion::V2, &DCID).unwrap(),
        rfc9369_keys()
    );
    assert!(quic::client_initial_keys(QuicVersion(0x1234_5678), &DCID).is_none());
    assert_eq!(QuicVersion(0xff00_001d).name(), "draft-29");
}

#[test]
fn v1_client_initial_gives_sni_alpn_ja4() {
    let ch = browser_client_hello("quic.example.test");
    let mut frames = vec![0x01]; // PING
    frames.extend(crypto_frame(0, &ch));
    let pkt = initial_packet(1, &rfc9001_keys(), 2, &frames, 1200);
    assert_eq!(pkt.len(), 1200);
    let m = meta(Transport::Udp, 443);
    assert_eq!(quic::probe(&m, C, &pkt), Probe::Yes);
    let (recs, progress) = run(quic::new_dissector(&udp()), &[(C, &pkt)]);
    assert_eq!(progress[0], Progress::Done);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.dataset, "quic");
    assert_eq!(s(r, "mamori.quic.version"), "1");
    assert_eq!(s(r, "tls.client.server_name"), "quic.example.test");
    assert_eq!(list(r, "mamori.tls.alpn"), vec!["h2", "http/1.1"]);
    assert_eq!(
        s(r, "tls.client.ja4"),
        "q13d1516h2_8daaf6152771_d8a2da3f94cd"
    );
    assert_eq!(s(r, "mamori.quic.client_dcid"), "8394c8f03e515708");
}

#[test]
fn v2_client_hello_split_over_two_packets_out_of_order() {
    let ch = browser_client_hello("v2.example.test");
    let (a, b) = ch.split_at(100);
    // Second half first, then the first half.
    let p1 = initial_packet(0x6b33_43cf, &rfc9369_keys(), 0, &crypto_frame(100, b), 1200);
    let p2 = initial_packet(0x6b33_43cf, &rfc9369_keys(), 1, &crypto_frame(0, a), 1200);
    assert_eq!(quic::probe(&meta(Transport::Udp, 443), C, &p1), Probe::Yes);
    let (recs, progress) = run(quic::new_dissector(&udp()), &[(C, &p1), (C, &p2)]);
    assert_eq!(progress, vec![Progress::Continue, Progress::Done]);
    assert_eq!(s(&recs[0], "mamori.quic.version"), "2");
    assert_eq!(s(&recs[0], "tls.client.server_name"), "v2.example.test");
}

#[test]
fn wrong_keys_fail_authentication() {
    let ch = browser_client_hello("x.test");
    let mut bad = rfc9001_keys();
    bad.key[0] ^= 1;
    let pkt = initial_packet(1, &bad, 0, &crypto_frame(0, &ch), 1200);
    let (recs, _) = run(quic::new_dissector(&udp()), &[(C, &pkt)]);
    assert_eq!(recs.len(), 1, "version still reported on finish");
    assert!(!recs[0].fields.contains_key("tls.client.server_name"));
}

#[test]
fn probe_negative_and_identify() {
    let m = meta(Transport::Udp, 443);
    let ch = browser_client_hello("x.test");
    let pkt = initial_packet(1, &rfc9001_keys(), 0, &crypto_frame(0, &ch), 1200);
    // Too small to be a client Initial.
    let small = initial_packet(1, &rfc9001_keys(), 0, &crypto_frame(0, &ch), 0);
    assert_eq!(quic::probe(&m, C, &small), Probe::No);
    assert_eq!(quic::probe(&m, C, &garbage(3, 1200)), Probe::No);
    assert_eq!(quic::probe(&m, C, b"\x00\x01\x01\x00\x00\x01"), Probe::No);
    let mut unknown = pkt.clone();
    unknown[1..5].copy_from_slice(&[0x1a, 0x2a, 0x3a, 0x4a]);
    assert_eq!(quic::probe(&m, C, &unknown), Probe::No);
    match identify(&meta(Transport::Udp, 4433), C, &pkt) {
        Identified::Protocol(p) => assert_eq!(p.name, "quic"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_and_truncation_do_not_panic() {
    let ch = browser_client_hello("x.test");
    let pkt = initial_packet(1, &rfc9001_keys(), 0, &crypto_frame(0, &ch), 1200);
    for cut in [1, 5, 7, 20, 30, 60, 600, 1199] {
        let (recs, _) = run(quic::new_dissector(&udp()), &[(C, &pkt[..cut])]);
        for r in &recs {
            assert!(!r.fields.contains_key("tls.client.server_name"));
        }
    }
    for seed in 0..200 {
        let mut g = garbage(seed, 1300);
        g[0] = 0xc0 | (g[0] & 0x3f);
        g[1..5].copy_from_slice(&1u32.to_be_bytes());
        g[5] = (seed % 21) as u8;
        let mut d = quic::new_dissector(&udp());
        let mut out = Vec::new();
        let _ = d.feed(C, &g, ts(0), &mut out);
        let _ = d.feed(S, &g, ts(0), &mut out);
        d.finish(ts(1), &mut out);
        let _ = quic::probe(&meta(Transport::Udp, 443), C, &g);
        let _ = quic::probe(&meta(Transport::Udp, 443), S, &g);
    }
}

#[test]
fn google_quic_chlo() {
    // Legacy public header: flags (version + 8-byte CID), CID, version, packet number,
    // then a cleartext CHLO with SNI and UAID tags.
    let mut p = vec![0x0d];
    p.extend([0x11; 8]);
    p.extend(b"Q043");
    p.push(1);
    p.extend([0xaa; 12]); // message authentication hash
    p.extend([0xa0, 0x01, 0x00, 0x04]); // STREAM frame header (not parsed)
    p.extend(b"CHLO");
    p.extend(2u16.to_le_bytes());
    p.extend([0, 0]);
    p.extend(b"SNI\0");
    p.extend(11u32.to_le_bytes());
    p.extend(b"UAID");
    p.extend(27u32.to_le_bytes());
    p.extend(b"www.example");
    p.extend(b"Chrome/70.0.3538");
    p.resize(1350, 0);
    let m = meta(Transport::Udp, 443);
    assert_eq!(quic::probe(&m, C, &p), Probe::Yes);
    assert_eq!(quic::gquic_version(&p), Some(*b"Q043"));
    let (recs, progress) = run(quic::new_dissector(&udp()), &[(C, &p)]);
    assert_eq!(progress[0], Progress::Done);
    assert_eq!(s(&recs[0], "mamori.quic.version"), "Q043");
    assert_eq!(s(&recs[0], "tls.client.server_name"), "www.example");
    assert_eq!(s(&recs[0], "user_agent.original"), "Chrome/70.0.3538");
    // A short-header packet without the version flag is not identified.
    let mut short = p.clone();
    short[0] = 0x0c;
    assert_eq!(quic::probe(&m, C, &short), Probe::No);
    // A truncated tag table does not panic and yields no SNI.
    assert!(quic::gquic_chlo(&p[..40]).is_none());
}

#[test]
fn keys_follow_the_dcid_after_a_retry() {
    // First Initial undecryptable garbage-keyed; after a Retry the client uses a new DCID
    // (and keys derived from it) for the Initial that carries the ClientHello.
    let ch = browser_client_hello("retry.example.test");
    let mut bad = rfc9001_keys();
    bad.iv[0] ^= 1;
    let first = initial_packet(1, &bad, 0, &crypto_frame(0, &[0; 10]), 1200);
    let new_dcid = [0x51u8; 12];
    let keys = quic::client_initial_keys(QuicVersion::V1, &new_dcid).unwrap();
    let second = initial_packet_dcid(&new_dcid, 1, &keys, 1, &crypto_frame(0, &ch), 1200);
    let (recs, progress) = run(quic::new_dissector(&udp()), &[(C, &first), (C, &second)]);
    assert_eq!(progress, vec![Progress::Continue, Progress::Done]);
    assert_eq!(s(&recs[0], "tls.client.server_name"), "retry.example.test");
}
