//! Fault injection: a child process appends with fsync=always and prints each acknowledged
//! id; the parent SIGKILLs it at varying moments (also mid-seal), reopens the store and
//! checks that every acknowledged event is present exactly once and everything verifies.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mamori_core::{Event, Timestamp};
use mamori_store::{FsyncPolicy, Store, StoreConfig};

const CHILD_ENV: &str = "MAMORI_STORE_FAULT_CHILD";
const ROUNDS: u64 = 8;
const ID_FIELD: &str = "event.sequence";

fn cfg(dir: &str) -> StoreConfig {
    let base = std::path::Path::new(dir);
    let mut c = StoreConfig::new(base.join("data"));
    c.key_dir = Some(base.join("keys"));
    c.wal.fsync = FsyncPolicy::Always;
    c.wal.max_file_bytes = 16 * 1024;
    c.seal.max_rows = 150;
    c
}

/// The child side: only does something when started by the parent.
#[test]
fn child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (dir, start) = spec.split_once('|').unwrap();
    let start: u64 = start.parse().unwrap();
    let mut s = Store::open(cfg(dir)).unwrap();
    let mut id = start;
    loop {
        let batch: Vec<Event> = (0..7)
            .map(|k| {
                let n = id + k;
                let mut e = Event::new(
                    Timestamp::from_unix_secs(T0 + (n % 100_000) as i64),
                    if n.is_multiple_of(2) { "flow" } else { "sshd" },
                );
                e.set(ID_FIELD, n as i64)
                    .set("message", format!("event {n}"));
                e
            })
            .collect();
        let ack = s.append_batch(&batch).unwrap();
        assert!(ack.durable);
        id += 7;
        println!("ACK {}", id - 1);
    }
}

#[test]
fn kill_9_at_any_point_loses_nothing_acknowledged() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let t = TempDir::new("fault");
    let dir = t.path().to_str().unwrap().to_owned();
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    let mut sealed = 0;
    for round in 0..ROUNDS {
        let start = round * 1_000_000;
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{dir}|{start}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(n) = line
                    .strip_prefix("ACK ")
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    if tx.send(n).is_err() {
                        break;
                    }
                }
            }
        });
        // Wait for a varying number of acknowledgements, then kill without warning.
        let want = 20 + round * 37;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = None;
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(n) => {
                    last = Some(n);
                    if n - start >= want * 7 {
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(_) => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Acks already printed before the kill count too.
        while let Ok(n) = rx.try_recv() {
            last = Some(last.map_or(n, |l: u64| l.max(n)));
        }
        reader.join().unwrap();
        let last = last.expect("child acknowledged nothing");
        acked.extend(start..=last);

        let s = Store::open(cfg(&dir)).unwrap();
        let mut seen = BTreeSet::new();
        for e in s.scan(&Default::default()) {
            let e = e.unwrap();
            let id = e.get_i64(ID_FIELD).unwrap() as u64;
            assert!(seen.insert(id), "round {round}: event {id} stored twice");
            assert_eq!(e.get_str("message"), Some(format!("event {id}").as_str()));
        }
        let missing: Vec<&u64> = acked.difference(&seen).take(5).collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged events lost: {missing:?}"
        );
        let r = s.verify();
        assert!(r.ok, "round {round}: {:?}", r.problems);
        sealed = s.manifest().live_segments().len();
    }
    // The kills happened while seals were running too.
    assert!(sealed > 0);
}
