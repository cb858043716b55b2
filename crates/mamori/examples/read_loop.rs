//! The raw capture read loop alone (no decoding): the floor `mamori analyze` is measured
//! against in bench/sensor.sh.
//!
//! `cargo run --release --example read_loop -- capture.pcap`

use std::fs::File;

use mamori_proto::capture::CaptureReader;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: read_loop FILE"))?;
    let mut r = CaptureReader::new(File::open(&path)?)?;
    let (mut n, mut bytes) = (0u64, 0u64);
    while let Some(p) = r.next_packet()? {
        n += 1;
        bytes += p.data.len() as u64;
    }
    println!("{n} packets, {bytes} bytes");
    Ok(())
}
