//! Throughput of all built-in rules over a generated event mix.
//! `cargo test -p mamori-detect --release --test rules_perf -- --ignored --nocapture`
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use mamori_core::{Event, Timestamp};
use mamori_detect::rules::{RulesConfig, ThresholdRules};

/// Events in the generated mix.
const EVENTS: usize = 1_000_000;

fn mix(n: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(n);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let ts = Timestamp::from_unix_nanos(1_795_654_800_000_000_000 + i as i64 * 1_000_000);
        let host = (x % 500) as u8;
        let src = format!("10.0.{}.{}", host / 250, host % 250 + 1);
        let mut e;
        match i % 10 {
            0 | 1 => {
                e = Event::new(ts, "firewall");
                e.set(
                    "event.action",
                    if x.is_multiple_of(7) { "deny" } else { "allow" },
                )
                .set("source.ip", src.as_str())
                .set("destination.ip", format!("203.0.113.{}", x % 200))
                .set("destination.port", (x % 1024) as i64)
                .set("source.bytes", (x % 100_000) as i64);
            }
            2 | 3 => {
                e = Event::new(ts, "squid");
                e.set("event.action", "allow")
                    .set("source.ip", src.as_str())
                    .set(
                        "http.request.method",
                        if x.is_multiple_of(5) {
                            "CONNECT"
                        } else {
                            "GET"
                        },
                    )
                    .set(
                        "url.original",
                        format!("http://www{}.example.jp/index{}.html", x % 300, x % 9),
                    )
                    .set("url.domain", format!("www{}.example.jp", x % 300))
                    .set("http.response.status_code", 200);
            }
            4 | 5 => {
                e = Event::new(ts, "dns");
                e.set("source.ip", src.as_str())
                    .set(
                        "dns.question.name",
                        format!("host{}.corp.example.jp", x % 1000),
                    )
                    .set(
                        "dns.response_code",
                        if x.is_multiple_of(20) {
                            "NXDOMAIN"
                        } else {
                            "NOERROR"
                        },
                    );
            }
            6 => {
                e = Event::new(ts, "sshd");
                let ok = x.is_multiple_of(3);
                e.set(
                    "event.action",
                    if ok { "logged-in" } else { "login-failed" },
                )
                .set("event.outcome", if ok { "success" } else { "failure" })
                .set("event.category", vec!["authentication"])
                .set("source.ip", src.as_str())
                .set("user.name", format!("user{}", x % 50));
            }
            7 | 8 => {
                e = Event::new(ts, "windows.security");
                e.set(
                    "event.code",
                    if x.is_multiple_of(4) { "4625" } else { "4624" },
                )
                .set(
                    "event.outcome",
                    if x.is_multiple_of(4) {
                        "failure"
                    } else {
                        "success"
                    },
                )
                .set("winlog.logon.type", "Network")
                .set("user.name", format!("user{}", x % 50))
                .set("host.name", format!("pc{}", x % 300))
                .set("source.ip", src.as_str());
            }
            _ => {
                e = Event::new(ts, "syslog");
                e.set("message", "kernel: something happened");
                if x.is_multiple_of(50) {
                    e.set("mamori.parse_error", true);
                }
            }
        }
        e.set("mamori.log.source", format!("udp:10.9.0.{}", i % 10));
        e.set("mamori.log.clock_skew_ms", (x % 3000) as i64);
        out.push(e);
    }
    out
}

/// Nanoseconds this thread spent on a CPU (Linux schedstat), so a loaded machine does not
/// distort the figure; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

#[test]
#[ignore = "throughput measurement; run with --release --ignored --nocapture"]
fn builtin_rules_throughput() {
    let cfg = RulesConfig::from_toml_str(
        "trap_accounts = [\"decoy\"]\nallowed_sudoers = [\"alice\"]\nadmin_hosts = [\"10.0.0.250\"]\nproxy_addresses = [\"10.0.0.3\"]\n",
        "perf.toml",
    )
    .unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let (mut rules, report) = ThresholdRules::load_dir(&dir, &cfg).unwrap();
    assert_eq!(report.errors(), 0);
    let events = mix(EVENTS);
    let mut out = Vec::new();
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    for e in &events {
        rules.process(e, &mut out);
    }
    rules.finish(&mut out);
    let secs = start.elapsed().as_secs_f64();
    if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
        let cpu = (b.saturating_sub(a)) as f64 / 1e9;
        println!(
            "on-CPU {:.3} s = {:.0} events/s per core",
            cpu,
            events.len() as f64 / cpu
        );
    }
    println!(
        "{} rules, {} events in {:.3} s = {:.0} events/s, {} alerts",
        rules.rules().len(),
        events.len(),
        secs,
        events.len() as f64 / secs,
        out.len()
    );
    assert!(!out.is_empty());
}
