//! Store benchmark: ingest (WAL + seal, fsync=interval) of generated events, stored bytes per
//! event against `zstd -19` of the same events as JSON lines, a needle scan (IP equality
//! with bloom filters) and a full count.
//!
//! `cargo run --release -p mamori-store --example store_bench -- [events] [dir]`

use std::io::Write;
use std::net::Ipv4Addr;
use std::time::Instant;

use mamori_core::{Event, Timestamp, Value};
use mamori_store::{FsyncPolicy, ScanRequest, Store, StoreConfig};

const BATCH: usize = 1000;

fn gen(i: u64) -> Event {
    // A mix shaped like the generated 1M-line mix: flows, dns, sshd.
    let ts = Timestamp::from_unix_nanos(1_763_856_000_000_000_000 + (i as i64) * 3_000_000);
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let src = Ipv4Addr::new(
        10,
        (h >> 8) as u8 % 4,
        (h >> 16) as u8,
        (h >> 24) as u8 % 200 + 1,
    );
    let dst = Ipv4Addr::new(203, 0, 113, (h >> 32) as u8 % 50 + 1);
    match i % 10 {
        0..=5 => {
            let mut e = Event::new(ts, "flow");
            e.set("source.ip", src)
                .set("destination.ip", dst)
                .set("source.port", 1024 + (h >> 40) as i64 % 60000)
                .set(
                    "destination.port",
                    [443i64, 80, 53, 22, 445][(h % 5) as usize],
                )
                .set("network.transport", "tcp")
                .set(
                    "network.protocol",
                    ["tls", "http", "dns", "ssh", "smb"][(h % 5) as usize],
                )
                .set("source.bytes", (h >> 20) as i64 % 100_000)
                .set("destination.bytes", (h >> 30) as i64 % 1_000_000)
                .set("source.packets", (h >> 12) as i64 % 100)
                .set("destination.packets", (h >> 14) as i64 % 1000)
                .set("event.duration", (h >> 10) as i64 % 10_000_000_000)
                .set("network.community_id", format!("1:{:x}", h >> 16))
                .set("network.direction", "outbound");
            e
        }
        6..=8 => {
            let mut e = Event::new(ts, "dns");
            e.set("source.ip", src)
                .set("destination.ip", Ipv4Addr::new(10, 0, 0, 53))
                .set("destination.port", 53)
                .set(
                    "dns.question.name",
                    format!("host{}.example{}.jp", h % 500, h % 7),
                )
                .set("dns.question.type", "A")
                .set("dns.response_code", "NOERROR")
                .set(
                    "dns.answers",
                    Value::List(vec![Value::Str(dst.to_string())]),
                );
            e
        }
        _ => {
            let mut e = Event::new(ts, "sshd");
            let ok = h.is_multiple_of(4);
            e.set("source.ip", src)
                .set(
                    "user.name",
                    ["root", "admin", "tanaka", "suzuki"][(h % 4) as usize],
                )
                .set("event.outcome", if ok { "success" } else { "failure" })
                .set("event.category", "authentication")
                .set("host.name", "gw01")
                .set(
                    "message",
                    format!(
                        "{} password for {} from {src} port {} ssh2",
                        if ok { "Accepted" } else { "Failed" },
                        ["root", "admin", "tanaka", "suzuki"][(h % 4) as usize],
                        (h >> 40) % 60000
                    ),
                );
            e
        }
    }
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let p = e.path();
            n += if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            };
        }
    }
    n
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let base = std::path::PathBuf::from(
        args.get(2)
            .cloned()
            .unwrap_or_else(|| "/tmp/mamori-store-bench".into()),
    );
    let _ = std::fs::remove_dir_all(&base);
    let mut cfg = StoreConfig::new(base.join("data"));
    cfg.key_dir = Some(base.join("keys"));
    cfg.wal.fsync = FsyncPolicy::Interval(std::time::Duration::from_millis(200));
    cfg.seal.end_of_day = false;
    let events: Vec<Event> = (0..n).map(gen).collect();

    let mut store = Store::open(cfg.clone())?;
    let t = Instant::now();
    for c in events.chunks(BATCH) {
        store.append_batch(c)?;
    }
    let t_wal = t.elapsed();
    store.seal()?;
    store.sync()?;
    let t_all = t.elapsed();
    println!(
        "ingest: {n} events in {:.2}s ({:.0} ev/s; WAL only {:.0} ev/s, seal {:.2}s)",
        t_all.as_secs_f64(),
        n as f64 / t_all.as_secs_f64(),
        n as f64 / t_wal.as_secs_f64(),
        (t_all - t_wal).as_secs_f64()
    );
    let seg = dir_bytes(&base.join("data/segments"));
    println!(
        "segments: {seg} bytes = {:.1} bytes/event",
        seg as f64 / n as f64
    );

    let jsonl = base.join("events.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&jsonl)?);
        for e in &events {
            serde_json::to_writer(&mut f, &e.to_json())?;
            f.write_all(b"\n")?;
        }
    }
    let raw = std::fs::metadata(&jsonl)?.len();
    let st = std::process::Command::new("zstd")
        .args(["-19", "-T1", "-q", "-f"])
        .arg(&jsonl)
        .status();
    let z = std::fs::metadata(base.join("events.jsonl.zst"))
        .map(|m| m.len())
        .unwrap_or(0);
    if st.is_ok() && z > 0 {
        println!(
            "json lines: {raw} bytes ({:.1} B/ev); zstd -19: {z} bytes ({:.1} B/ev); segments/zstd-19 = {:.2}",
            raw as f64 / n as f64,
            z as f64 / n as f64,
            seg as f64 / z as f64
        );
    }

    let needle: Ipv4Addr = match events
        .get(n as usize / 2)
        .and_then(|e| e.get_ip("source.ip"))
    {
        Some(std::net::IpAddr::V4(v)) => v,
        _ => Ipv4Addr::new(10, 1, 2, 3),
    };
    let req = ScanRequest {
        equals: vec![("source.ip".into(), vec![Value::Ip(needle.into())])],
        ..Default::default()
    };
    let t = Instant::now();
    let mut sc = store.scan(&req);
    let hits = sc.by_ref().count();
    println!(
        "needle source.ip={needle}: {hits} hits in {:.3}s {:?}",
        t.elapsed().as_secs_f64(),
        sc.stats()
    );
    let absent = ScanRequest {
        equals: vec![(
            "source.ip".into(),
            vec![Value::Ip(Ipv4Addr::new(10, 3, 255, 254).into())],
        )],
        ..Default::default()
    };
    let t = Instant::now();
    let mut sc = store.scan(&absent);
    let hits = sc.by_ref().count();
    println!(
        "absent needle: {hits} hits in {:.3}s {:?}",
        t.elapsed().as_secs_f64(),
        sc.stats()
    );
    let all = ScanRequest::default();
    let t = Instant::now();
    let mut sc = store.scan(&all);
    let c = sc.by_ref().count();
    println!(
        "full count: {c} in {:.2}s ({:.0} ev/s)",
        t.elapsed().as_secs_f64(),
        c as f64 / t.elapsed().as_secs_f64()
    );
    Ok(())
}
