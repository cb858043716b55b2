//! SSH banner and HASSH tests.

// Test builders unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

#[path = "app_b_common.rs"]
mod common;

use common::*;
use mamori_proto::app::ssh;
use mamori_proto::app::tls::ja3::md5_hex;
use mamori_proto::app::{identify, Identified, Probe, Progress, Transport};

fn name_list(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u32).to_be_bytes().to_vec();
    v.extend(s.as_bytes());
    v
}

fn kexinit(kex: &str, enc: &str, mac: &str, cmp: &str) -> Vec<u8> {
    let mut p = vec![20u8];
    p.extend([0xab; 16]);
    for l in [
        kex,
        "ssh-ed25519,rsa-sha2-512",
        enc,
        enc,
        mac,
        mac,
        cmp,
        cmp,
        "",
        "",
    ] {
        p.extend(name_list(l));
    }
    p.push(0);
    p.extend([0; 4]);
    let pad = 8 - ((p.len() + 5) % 8) + 4;
    let mut pkt = ((p.len() + pad + 1) as u32).to_be_bytes().to_vec();
    pkt.push(pad as u8);
    pkt.extend(p);
    pkt.extend(vec![0; pad]);
    pkt
}

const KEX: &str = "curve25519-sha256,diffie-hellman-group14-sha256";
const ENC_C: &str = "chacha20-poly1305@openssh.com,aes128-ctr";
const MAC: &str = "umac-64-etm@openssh.com,hmac-sha2-256";

fn flow() -> Vec<(mamori_proto::app::Dir, Vec<u8>)> {
    let mut c = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n".to_vec();
    c.extend(kexinit(KEX, ENC_C, MAC, "none,zlib@openssh.com"));
    let mut s = b"SSH-2.0-dropbear_2022.83\r\n".to_vec();
    s.extend(kexinit(KEX, "aes256-ctr", "hmac-sha1", "none"));
    vec![(S, s), (C, c), (C, vec![0; 40])]
}

#[test]
fn banners_and_hassh() {
    let f = flow();
    let script: Vec<_> = f.iter().map(|(d, b)| (*d, b.as_slice())).collect();
    let (recs, progress) = run(ssh::new_dissector(&tcp()), &script);
    assert_eq!(progress[1], Progress::Done);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.dataset, "ssh");
    assert_eq!(
        s(r, "mamori.ssh.client_banner"),
        "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13"
    );
    assert_eq!(s(r, "mamori.ssh.client_software"), "OpenSSH");
    assert_eq!(s(r, "mamori.ssh.client_version"), "9.6p1");
    assert_eq!(s(r, "mamori.ssh.server_software"), "dropbear");
    assert_eq!(s(r, "mamori.ssh.server_version"), "2022.83");
    let hs = format!("{KEX};{ENC_C};{MAC};none,zlib@openssh.com");
    assert_eq!(s(r, "mamori.ssh.hassh_string"), hs);
    assert_eq!(s(r, "mamori.ssh.hassh"), md5_hex(hs.as_bytes()));
    let hss = format!("{KEX};aes256-ctr;hmac-sha1;none");
    assert_eq!(s(r, "mamori.ssh.hassh_server"), md5_hex(hss.as_bytes()));
    let bytewise = run_bytewise(ssh::new_dissector(&tcp()), &script);
    assert_eq!(fields_only(&bytewise), fields_only(&recs));
}

#[test]
fn pre_banner_lines_and_banner_only_flow() {
    let (recs, _) = run(
        ssh::new_dissector(&tcp()),
        &[
            (S, b"Welcome\r\nSSH-2.0-Go\r\n"),
            (C, b"SSH-2.0-libssh_0.10.6\r\n"),
        ],
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(s(&recs[0], "mamori.ssh.server_software"), "Go");
    assert_eq!(s(&recs[0], "mamori.ssh.client_software"), "libssh");
    assert!(!recs[0].fields.contains_key("mamori.ssh.hassh"));
}

#[test]
fn probe_and_identify() {
    let m = meta(Transport::Tcp, 22);
    assert_eq!(ssh::probe(&m, S, b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::Yes);
    assert_eq!(ssh::probe(&m, C, b"SSH-1.99-x\r\n"), Probe::Yes);
    assert_eq!(ssh::probe(&m, C, b"SS"), Probe::Maybe);
    assert_eq!(ssh::probe(&m, C, b"SSH-3.0-x"), Probe::No);
    assert_eq!(ssh::probe(&m, C, b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(ssh::probe(&m, C, &garbage(4, 64)), Probe::No);
    match identify(&meta(Transport::Tcp, 2022), S, b"SSH-2.0-OpenSSH_9.6\r\n") {
        Identified::Protocol(p) => assert_eq!(p.name, "ssh"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_and_truncation() {
    let (recs, progress) = run(ssh::new_dissector(&tcp()), &[(C, b"hello world\r\n")]);
    assert!(recs.is_empty());
    assert_eq!(progress[0], Progress::NotThisProtocol);
    let f = flow();
    let c = &f[1].1;
    for cut in [3, 20, 45, 60, 100] {
        let (recs, _) = run(ssh::new_dissector(&tcp()), &[(C, &c[..cut.min(c.len())])]);
        assert!(recs.len() <= 1);
    }
    for seed in 0..50 {
        let mut g = b"SSH-2.0-x\r\n".to_vec();
        g.extend(garbage(seed, 2000));
        no_panic(ssh::new_dissector, &g, (seed as usize % 9) + 1);
    }
    assert!(ssh::parse_kexinit(&[20, 1, 2]).is_none());
}
