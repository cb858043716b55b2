//! Throughput on a generated sshd / firewall / squid / DNS mix (one core).
//! Run: `cargo test -p mamori-logparse --release --test bench -- --ignored --nocapture`.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::time::Instant;

use mamori_core::Timestamp;
use mamori_logparse::{LineContext, LineStatus, LogParser};

/// Lines generated for the measurement.
const LINES: usize = 400_000;

fn mix(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let a = (i % 250) + 1;
            let port = 1024 + (i % 60000);
            match i % 4 {
                0 => format!("<38>Nov 23 10:{:02}:{:02} gw sshd[{}]: Failed password for invalid user u{} from 203.0.113.{a} port {port} ssh2", (i / 60) % 60, i % 60, 1000 + i % 5000, i % 97),
                1 => format!("<4>Nov 23 10:{:02}:{:02} fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=198.51.100.{a} DST=192.168.1.2 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID={i} DF PROTO=TCP SPT={port} DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0", (i / 60) % 60, i % 60),
                2 => format!("{}.{:03} {:6} 192.168.1.{a} TCP_MISS/200 {} GET http://site{}.example.jp/path/{i} - HIER_DIRECT/93.184.216.34 text/html", 1_795_395_900 + i / 100, i % 1000, i % 900, 500 + i % 10000, i % 50),
                _ => format!("<30>Nov 23 10:{:02}:{:02} ns1 named[800]: client @0x7f8b2c0a1b20 192.168.1.{a}#{port} (h{}.example.jp): query: h{}.example.jp IN A +E(0)K (192.168.1.1)", (i / 60) % 60, i % 60, i % 300, i % 300),
            }
        })
        .collect()
}

#[test]
#[ignore = "throughput measurement; run in release"]
fn mixed_lines_per_second() {
    let lines = mix(LINES);
    let mut p = LogParser::default();
    let ctx = LineContext {
        received: Timestamp::from_civil(2026, 11, 23, 2, 0, 0, 0).unwrap_or(Timestamp::EPOCH),
        source: "bench",
        source_ip: None,
        hint: None,
    };
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let mut parsed = 0usize;
    for l in &lines {
        let x = p.explain_line(l.as_bytes(), &ctx);
        if x.status == LineStatus::Parsed {
            parsed += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = LINES as f64 / secs;
    println!("{LINES} lines in {secs:.3} s wall: {rate:.0} lines/s, {parsed} parsed");
    // On a shared machine wall time includes waiting for a core; CPU time does not.
    if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
        let cpu = (b - a) as f64 / 1e9;
        println!(
            "{cpu:.3} s on-CPU: {:.0} lines/s per core",
            LINES as f64 / cpu
        );
    }
    assert_eq!(parsed, LINES, "every generated line must parse");
}

/// This thread's time on a CPU (Linux `/proc/thread-self/schedstat`), in nanoseconds.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
