//! Ingest rate over loopback TCP and from a file (ignored by default; run with
//! `cargo test -p mamori-collect --release --test throughput -- --ignored --nocapture`).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::Write;
use std::time::Instant;

use mamori_collect::{Collector, Input, ListenerConfig};
use tokio::io::AsyncWriteExt;

/// Lines sent in each measurement.
const LINES: usize = 200_000;

fn line(i: usize) -> String {
    format!(
        "<38>Nov 23 10:00:{:02} gw sshd[{}]: Failed password for invalid user admin from 192.0.2.{} port {} ssh2\n",
        i % 60,
        1000 + i % 5000,
        i % 250,
        30000 + i % 30000
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement"]
async fn tcp_and_file_ingest_rate() {
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::syslog_tcp(
            "t",
            "127.0.0.1:0".parse().unwrap(),
        ))
        .start()
        .await
        .unwrap();
    let addr = c.local_addr("t").unwrap();
    let mut payload = Vec::new();
    for i in 0..LINES {
        payload.extend_from_slice(line(i).as_bytes());
    }
    let bytes = payload.len();
    let t0 = Instant::now();
    let w = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(&payload).await.unwrap();
    });
    let mut n = 0;
    while n < LINES {
        if let Some(Input::Message(_)) = rx.recv().await {
            n += 1;
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    w.await.unwrap();
    println!(
        "tcp: {LINES} messages, {:.1} MB in {dt:.2} s = {:.0} msg/s",
        bytes as f64 / 1e6,
        LINES as f64 / dt
    );
    c.shutdown();
    while rx.recv().await.is_some() {}
    c.join().await;

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bench.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    for i in 0..LINES {
        f.write_all(line(i).as_bytes()).unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let t0 = Instant::now();
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::file_once("f", &p))
        .start()
        .await
        .unwrap();
    let mut n = 0;
    while rx.recv().await.is_some() {
        n += 1;
    }
    let dt = t0.elapsed().as_secs_f64();
    assert_eq!(n, LINES);
    println!(
        "file: {LINES} lines in {dt:.2} s = {:.0} lines/s",
        LINES as f64 / dt
    );
    c.join().await;
}
