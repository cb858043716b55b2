//! Throughput of the engine with every check enabled and a 100k-entry blacklist loaded.
//!
//! `cargo run --release -p mamori-detect --example throughput [events]`
//!
//! Generates flow records (a realistic office mix: web, DNS, SMB, some scans and beacons)
//! plus DNS, HTTP and TLS records in the ratio a sensor emits them, and reports events/s,
//! intel load time and the cost per packet at ~20 packets per flow.

use std::net::IpAddr;
use std::time::Instant;

use mamori_core::{Event, Timestamp};
use mamori_detect::{DetectConfig, Engine, Intel, ListFormat};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);

    // 100k-entry list: IPs, CIDRs, domains, URLs.
    let mut list = String::new();
    for i in 0..100_000u32 {
        let (a, b, c) = (11 + i % 200, (i >> 8) & 255, i & 255);
        match i % 4 {
            0 => list.push_str(&format!("{a}.{b}.{c}.{}\n", (i >> 3) & 255)),
            1 => list.push_str(&format!("{a}.{b}.{c}.0/24\n")),
            2 => list.push_str(&format!("d{i}.bad-domain.example\n")),
            _ => list.push_str(&format!("http://u{i}.example/p/{i}\n")),
        }
    }
    let t = Instant::now();
    let mut intel = Intel::empty();
    intel.add_text("bench", "bench", &list, &ListFormat::Auto);
    intel.finish();
    let load = t.elapsed();

    // `throughput N off` disables every check: the cost of dispatch alone.
    let mut toml = String::from("allowed_dns_servers = [\"10.0.0.53\"]\nallowed_ntp_servers = [\"10.0.0.123\"]\nallowed_smtp_servers = [\"10.0.0.25\"]\nallowed_dhcp_servers = [\"10.0.0.1\"]\n");
    if std::env::args().nth(2).as_deref() == Some("off") {
        for c in mamori_detect::catalogue() {
            toml.push_str(&format!("[checks.{:?}]\nenabled = false\n", c.id));
        }
    }
    // `throughput N skip=id,id` disables the listed checks (to see what each costs).
    if let Some(list) = std::env::args()
        .nth(2)
        .and_then(|a| a.strip_prefix("skip=").map(str::to_owned))
    {
        for id in list.split(',') {
            toml.push_str(&format!("[checks.{id:?}]\nenabled = false\n"));
        }
    }
    let cfg = DetectConfig::from_toml_str(&toml, "bench.toml").expect("bench config");
    let mut engine = Engine::new(cfg, intel).expect("engine");

    // Events are generated in small batches and processed right away (as the sensor hands
    // them over, still in cache); only the processing is timed.
    const BATCH: usize = 1024;
    let mut out = Vec::new();
    let mut alerts = 0usize;
    let (mut wall, mut cpu_ns, mut total, mut flows, mut seed) =
        (0.0f64, 0u64, 0usize, 0usize, 0u64);
    while total < n {
        let events = generate(BATCH.min(n - total), total, &mut seed);
        flows += events.iter().filter(|e| e.dataset == "flow").count();
        let cpu0 = thread_cpu_ns();
        let t = Instant::now();
        for ev in &events {
            engine.process(ev, &mut out);
        }
        if let Some(last) = events.last() {
            engine.advance(last.timestamp, &mut out);
        }
        wall += t.elapsed().as_secs_f64();
        if let (Some(a), Some(b)) = (thread_cpu_ns(), cpu0) {
            cpu_ns += a.saturating_sub(b);
        }
        total += events.len();
        alerts += out.len();
        out.clear();
    }
    let t = Instant::now();
    engine.finish(&mut out);
    wall += t.elapsed().as_secs_f64();
    alerts += out.len();
    println!(
        "intel: {} indicators loaded in {:.1} ms",
        engine.intel().len(),
        load.as_secs_f64() * 1e3
    );
    println!(
        "events: {total} ({flows} flows) in {wall:.3} s wall = {:.0} events/s; {alerts} alert records",
        total as f64 / wall
    );
    if cpu_ns > 0 {
        let cpu = cpu_ns as f64 / 1e9;
        println!(
            "on-CPU: {cpu:.3} s = {:.0} events/s; {:.0} ns per event; {:.1} ns per packet at 20 packets/flow",
            total as f64 / cpu,
            cpu * 1e9 / total as f64,
            cpu * 1e9 / (flows as f64 * 20.0)
        );
    }
    for (name, c) in engine.stats().iter() {
        println!("  counter {name}: {}", c.count);
    }
}

/// This thread's on-CPU time in ns (Linux `schedstat`; the machine may be shared).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn ip(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::from([a, b, c, d])
}

fn generate(n: usize, offset: usize, state: &mut u64) -> Vec<Event> {
    let mut v = Vec::with_capacity(n);
    let mut x: u64 = if *state == 0 {
        0x9e37_79b9_7f4a_7c15
    } else {
        *state
    };
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in offset..offset + n {
        let t = Timestamp::from_unix_nanos(1_700_000_000_000_000_000 + i as i64 * 200_000);
        let r = rnd();
        let client = ip(10, 0, (r % 8) as u8, (r >> 8) as u8 % 250 + 1);
        let kind = r % 20;
        let mut e;
        if kind < 14 {
            let (dst, dport, proto, dir) = match r >> 16 & 7 {
                0..=3 => (
                    ip(93, (r >> 20) as u8, (r >> 28) as u8, (r >> 36) as u8),
                    443,
                    "tls",
                    "outbound",
                ),
                4 => (ip(10, 0, 0, 53), 53, "dns", "internal"),
                5 => (ip(10, 0, 9, (r >> 24) as u8 % 20), 445, "smb", "internal"),
                6 => (
                    ip(11, (r >> 20) as u8, (r >> 28) as u8, 9),
                    80,
                    "http",
                    "outbound",
                ),
                _ => (
                    ip(10, 0, 9, (r >> 24) as u8),
                    (r >> 32) as u16 % 1024,
                    "",
                    "internal",
                ),
            };
            e = Event::new(t, "flow");
            let state = if proto.is_empty() {
                "rejected"
            } else {
                "established"
            };
            e.set("source.ip", client)
                .set("destination.ip", dst)
                .set("source.port", 1024 + (r >> 40) as u16 % 60000)
                .set("destination.port", dport)
                .set("network.transport", if dport == 53 { "udp" } else { "tcp" })
                .set(
                    "network.protocol",
                    if proto.is_empty() { "unknown" } else { proto },
                )
                .set("network.direction", dir)
                .set("mamori.flow.state", state)
                .set("mamori.flow.tcp_flags", "SAPF")
                .set("source.bytes", 800 + r % 5000)
                .set("destination.bytes", 5000 + r % 50000)
                .set("source.packets", 8)
                .set("destination.packets", 12)
                .set("mamori.flow.source_payload_bytes", 300)
                .set("mamori.flow.destination_payload_bytes", 4000)
                .set("event.start", t)
                .set("event.end", t);
        } else if kind < 17 {
            e = Event::new(t, "dns");
            e.set("source.ip", client)
                .set("destination.ip", ip(10, 0, 0, 53))
                .set("destination.port", 53)
                .set(
                    "dns.question.name",
                    format!("host{}.example{}.com", r % 1000, r % 97),
                )
                .set("dns.question.type", "A")
                .set("dns.response_code", "NOERROR");
        } else if kind < 19 {
            e = Event::new(t, "tls");
            e.set("source.ip", client)
                .set("destination.ip", ip(93, 1, 2, 3))
                .set("destination.port", 443)
                .set(
                    "tls.client.server_name",
                    format!("www{}.example.com", r % 500),
                )
                .set("tls.version", "1.3")
                .set("tls.cipher", "TLS_AES_128_GCM_SHA256")
                .set("tls.client.ja3", "e7d705a3286e19ea42f587b344ee6865")
                .set("mamori.tls.alpn", vec!["h2", "http/1.1"]);
        } else {
            e = Event::new(t, "http");
            e.set("source.ip", client)
                .set("destination.ip", ip(11, 2, 3, 4))
                .set("destination.port", 80)
                .set("http.request.method", "GET")
                .set("url.domain", format!("site{}.example", r % 300))
                .set(
                    "url.original",
                    format!("/path/{}/index.html?id={}", r % 100, r % 7),
                )
                .set(
                    "user_agent.original",
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                )
                .set("http.response.status_code", 200);
        }
        v.push(e);
    }
    *state = rnd();
    v
}
