//! Data-driven end-to-end cases, suricata-verify style: each directory under `tests/cases/`
//! is one case. Its capture is generated here by the test kit (the function named after the
//! directory), `args` holds extra `mamori analyze` arguments (optional) and `expected.jsonl`
//! lists records that must appear in the output: every key given must be present with the
//! same value in at least one output record (records may carry more fields).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing unwrap in a test is a failing assertion

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mamori_core::{Duration, Timestamp};
use mamori_testkit::conv::{dhcp_dora, TcpConversation, UdpExchange};
use mamori_testkit::packet::{linktype, Frame, Mac};
use mamori_testkit::payload::dns::{qtype, DnsMessage};
use mamori_testkit::payload::tls::{ClientHello, ServerHello};
use mamori_testkit::pcap::{PcapNgWriter, TsResolution};
use mamori_testkit::TimedFrame;
use serde_json::Value;

fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-02T09:00:00Z").unwrap()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The capture of each case, by directory name.
fn capture(case: &str) -> Vec<TimedFrame> {
    match case {
        "dns_udp" => {
            let q = DnsMessage::query(0x4242, "www.example.jp", qtype::A).build();
            let r = DnsMessage::response(0x4242, "www.example.jp", qtype::A)
                .a("www.example.jp", 300, Ipv4Addr::new(203, 0, 113, 10))
                .build();
            UdpExchange::new(sa("192.168.10.21:53001"), sa("10.0.0.53:53"), t0())
                .request(&q)
                .response(&r)
                .frames()
        }
        "dns_nxdomain_tcp" => {
            let q = DnsMessage::query(7, "missing.example.jp", qtype::A).build_tcp();
            let r = DnsMessage::response(7, "missing.example.jp", qtype::A)
                .nxdomain("example.jp")
                .build_tcp();
            TcpConversation::new(sa("192.168.10.21:40000"), sa("10.0.0.53:53"), t0())
                .handshake()
                .client(&q)
                .server(&r)
                .fin()
                .frames()
        }
        "tls_sni_on_8443" => TcpConversation::new(
            sa("192.168.10.21:50000"),
            sa("203.0.113.7:8443"),
            t0(),
        )
        .handshake()
        .client(&ClientHello::new().sni("portal.example.jp").alpn(&["h2"]).build())
        .server(&ServerHello::tls12(0xc02f).build())
        .fin()
        .frames(),
        "http_nonstandard_port" => {
            TcpConversation::new(sa("192.168.10.21:50123"), sa("203.0.113.5:9999"), t0())
                .handshake()
                .client(b"GET /a.exe HTTP/1.1\r\nHost: files.example\r\nUser-Agent: curl/8.5.0\r\n\r\n")
                .server(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: application/octet-stream\r\n\r\nMZ\x90\x00")
                .fin()
                .frames()
        }
        "dhcp_dora" => dhcp_dora(
            Mac::local(0x21),
            "PC-SOUMU-01",
            Ipv4Addr::new(192, 168, 10, 50),
            Ipv4Addr::new(192, 168, 10, 1),
            0x1234_5678,
            t0(),
        ),
        "icmp_error_tied_to_flow" => {
            UdpExchange::new(sa("192.168.10.21:40000"), sa("10.0.0.20:9999"), t0())
                .request(b"hello?")
                .port_unreachable()
                .frames()
        }
        "rejected_and_half_open" => {
            let mut f = TcpConversation::new(sa("192.168.10.30:41000"), sa("10.0.0.20:23"), t0())
                .rejected()
                .frames();
            f.extend(
                TcpConversation::new(sa("192.168.10.30:41001"), sa("10.0.0.20:22"), t0() + Duration::from_secs(1))
                    .half_open()
                    .frames(),
            );
            f
        }
        "fragmented_udp" => {
            let big = vec![b'x'; 3000];
            let frame = Frame::ethernet(Mac::local(1), Mac::local(2))
                .ipv4(Ipv4Addr::new(192, 168, 10, 21), Ipv4Addr::new(10, 0, 0, 20))
                .udp(5000, 6000)
                .payload(&big);
            frame
                .fragment(1500)
                .into_iter()
                .enumerate()
                .map(|(i, data)| TimedFrame {
                    ts: t0() + Duration::from_millis(i as i64),
                    linktype: linktype::ETHERNET,
                    data,
                })
                .collect()
        }
        "encapsulations" => mamori_testkit::scenario::encapsulation_samples(),
        other => panic!("no capture generator for case {other}"),
    }
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// Whether every key of `want` is in `got` with the same value (recursively for objects;
/// arrays must be equal).
fn subset(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| subset(v, gv))),
        (w, g) => w == g,
    }
}

fn run_case(dir: &Path) -> Result<(), String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join(format!("{name}.pcapng"));
    let out = tmp.path().join("out.jsonl");
    let frames = capture(&name);
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let mut ifaces = std::collections::HashMap::new();
    for f in &frames {
        let id = match ifaces.get(&f.linktype) {
            Some(id) => *id,
            None => {
                let id = w
                    .add_interface(
                        f.linktype,
                        TsResolution::Nano,
                        Some(&format!("if{}", f.linktype)),
                    )
                    .unwrap();
                ifaces.insert(f.linktype, id);
                id
            }
        };
        w.write_packet(id, f.ts, &f.data).unwrap();
    }
    std::fs::write(&cap, w.into_inner()).unwrap();
    let mut args: Vec<String> = vec![
        "analyze".into(),
        "-q".into(),
        "--format".into(),
        "jsonl".into(),
    ];
    if let Ok(extra) = std::fs::read_to_string(dir.join("args")) {
        args.extend(extra.split_whitespace().map(str::to_owned));
    }
    let status = Command::cargo_bin("mamori")
        .unwrap()
        .args(&args)
        .arg("-o")
        .arg(&out)
        .arg(&cap)
        .output()
        .unwrap();
    if !status.status.success() {
        return Err(format!(
            "{name}: mamori failed: {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    let got: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected = std::fs::read_to_string(dir.join("expected.jsonl"))
        .map_err(|e| format!("{name}: expected.jsonl: {e}"))?;
    for (i, line) in expected
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let want: Value = serde_json::from_str(line)
            .map_err(|e| format!("{name}: expected.jsonl line {}: {e}", i + 1))?;
        if !got.iter().any(|g| subset(&want, g)) {
            let same_dataset: Vec<&Value> = got
                .iter()
                .filter(|g| g["event"]["dataset"] == want["event"]["dataset"])
                .collect();
            return Err(format!(
                "{name}: expected.jsonl line {} not found: {want}\nrecords of that dataset:\n{}",
                i + 1,
                same_dataset
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    Ok(())
}

#[test]
fn every_case_directory_produces_its_expected_records() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 8, "cases missing: {dirs:?}");
    let failures: Vec<String> = dirs.iter().filter_map(|d| run_case(d).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
