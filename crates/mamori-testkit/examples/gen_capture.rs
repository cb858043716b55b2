//! Write the demo capture or a benchmark capture.
//!
//! ```text
//! cargo run --release -p mamori-testkit --example gen_capture -- demo demo.pcap
//! cargo run --release -p mamori-testkit --example gen_capture -- samples samples.pcapng
//! cargo run --release -p mamori-testkit --example gen_capture -- bench bench.pcap 1000000 50000 1
//! cargo run --release -p mamori-testkit --example gen_capture -- logs logs.txt 1000000 1
//! ```
//!
//! A path of `-` discards the output (to time generation alone).
//!

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

fn arg(args: &[String], i: usize, default: u64) -> u64 {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("demo", String::as_str);
    let path = args.get(2).map_or("out.pcap", String::as_str);
    let started = Instant::now();
    match mode {
        "demo" => {
            mamori_testkit::write_demo(path)?;
            eprintln!("wrote {path} ({} packets)", mamori_testkit::demo().len());
        }
        "samples" => {
            let frames = mamori_testkit::scenario::encapsulation_samples();
            mamori_testkit::pcap::write_pcapng_file(path, &frames)?;
            eprintln!("wrote {path} ({} frames, pcapng)", frames.len());
        }
        "bench" => {
            let packets = arg(&args, 3, 1_000_000);
            let flows = arg(&args, 4, 50_000);
            let seed = arg(&args, 5, 1);
            let stats = if path == "-" {
                mamori_testkit::bench_capture(io::sink(), packets, flows, seed)?
            } else {
                mamori_testkit::bench_capture(File::create(path)?, packets, flows, seed)?
            };
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "wrote {path}: {} packets, {} flows ({} tcp, {} udp, {} icmp), {} bytes in {secs:.2}s ({:.0} packets/s)",
                stats.packets,
                stats.flows,
                stats.tcp_flows,
                stats.udp_flows,
                stats.icmp_flows,
                stats.bytes,
                stats.packets as f64 / secs
            );
        }
        "logs" => {
            let lines = arg(&args, 3, 1_000_000);
            let seed = arg(&args, 4, 1);
            let mut w: Box<dyn Write> = if path == "-" {
                Box::new(io::sink())
            } else {
                Box::new(BufWriter::new(File::create(path)?))
            };
            for line in mamori_testkit::logs::LogMix::new(seed).take(lines as usize) {
                w.write_all(line.as_bytes())?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "wrote {path}: {lines} lines in {secs:.2}s ({:.0} lines/s)",
                lines as f64 / secs
            );
        }
        other => {
            eprintln!("unknown mode {other:?}: use demo, samples, bench or logs");
            std::process::exit(2);
        }
    }
    Ok(())
}
