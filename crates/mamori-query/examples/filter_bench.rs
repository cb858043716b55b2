//! Filter and pipeline throughput on generated events (one core).
//!
//! `cargo run --release -p mamori-query --example filter_bench [EVENTS]`

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use mamori_core::{Event, Timestamp};
use mamori_query::{parse, ParseOptions, Schema};

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), so that a loaded machine
/// does not count other processes' time; `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Rate in M events/s by on-CPU time (wall time when schedstat is missing).
fn rate(n: usize, wall: std::time::Duration, cpu0: Option<u64>) -> (f64, f64) {
    let wall_rate = n as f64 / wall.as_secs_f64() / 1e6;
    let cpu_rate = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) if b > a => n as f64 / ((b - a) as f64 / 1e9) / 1e6,
        _ => wall_rate,
    };
    (cpu_rate, wall_rate)
}

fn events(n: usize) -> Vec<Event> {
    let datasets = ["sshd", "dns", "flow", "http"];
    let users = [
        "admin",
        "root",
        "alice",
        "bob",
        "administrator",
        "svc_backup",
    ];
    (0..n)
        .map(|i| {
            let ip = IpAddr::from([
                10 + (i % 3) as u8 * 81,
                (i / 7 % 256) as u8,
                (i % 256) as u8,
                1,
            ]);
            Event::new(
                Timestamp::from_unix_secs(1_700_000_000 + i as i64),
                datasets[i % 4],
            )
            .with("source.ip", ip)
            .with("destination.ip", IpAddr::from([192, 0, 2, (i % 200) as u8]))
            .with("source.port", 1024 + (i % 60000) as i64)
            .with("destination.port", [22i64, 53, 443, 80][i % 4])
            .with("user.name", users[i % users.len()])
            .with(
                "event.outcome",
                if i % 5 == 0 { "success" } else { "failure" },
            )
            .with("network.transport", "tcp")
            .with("network.bytes", (i % 10_000) as i64)
            .with("host.name", "gw01")
            .with(
                "message",
                format!(
                    "Failed password for {} from port {}",
                    users[i % users.len()],
                    i % 65536
                ),
            )
        })
        .collect()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let evs = events(n);
    let schema = Schema::ecs();
    let opts = ParseOptions::default();
    let queries = [
        "event.dataset:sshd",
        "destination.port:22",
        "user.name:admin",
        "source.ip:10.0.0.0/8",
        "event.dataset:sshd AND event.outcome:failure AND destination.port:22",
        "destination.port>=443 OR network.bytes<100",
        "user.name:adm*",
        "NOT user.name:root",
        "failed",
        "message:/for (root|admin) from/",
    ];
    println!("{n} events, 11 fields each");
    for q in queries {
        let plan = parse(q, &schema, &opts).expect("benchmark query parses");
        let cpu0 = cpu_ns();
        let start = Instant::now();
        let mut hits = 0u64;
        for e in &evs {
            if plan.matches(black_box(e)) {
                hits += 1;
            }
        }
        let (cpu, wall) = rate(n, start.elapsed(), cpu0);
        println!("filter {q:<75} {cpu:>7.2} M events/s on-CPU ({wall:.2} wall)  ({hits} hits)");
    }
    for q in [
        "event.outcome:failure | stats count() by source.ip | sort -count | head 10",
        "| timechart span=1h count() by event.dataset",
        "event.dataset:sshd | head 10",
    ] {
        let plan = parse(q, &schema, &opts).expect("benchmark query parses");
        let cpu0 = cpu_ns();
        let start = Instant::now();
        let out = plan.execute(&evs).expect("benchmark query runs");
        let elapsed = start.elapsed();
        if (out.scanned as usize) < n {
            println!(
                "query  {q:<75} stopped after {} of {n} events in {} µs ({} rows)",
                out.scanned,
                elapsed.as_micros(),
                out.result.len()
            );
            continue;
        }
        let (cpu, wall) = rate(out.scanned as usize, elapsed, cpu0);
        println!(
            "query  {q:<75} {cpu:>7.2} M events/s on-CPU ({wall:.2} wall)  ({} rows, {} scanned)",
            out.result.len(),
            out.scanned
        );
    }
}
