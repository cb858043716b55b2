//! File input tests: follow with append, rotation, truncation, restart; compressed read once.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mamori_collect::{Collector, Input, ListenerConfig, RawMessage, Transport};
use tokio::sync::mpsc::Receiver;

const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

fn follow(name: &str, path: &Path) -> ListenerConfig {
    let mut c = ListenerConfig::file_follow(name, path);
    if let ListenerConfig::File(f) = &mut c {
        f.poll_interval = POLL;
    }
    c
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.sync_all().unwrap();
}

async fn recv_lines(rx: &mut Receiver<Input>, n: usize) -> Vec<String> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(String::from_utf8(recv(rx).await.bytes).unwrap());
    }
    v
}

async fn recv(rx: &mut Receiver<Input>) -> RawMessage {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(Input::Message(m))) => m,
        other => panic!("expected a line, got {other:?}"),
    }
}

/// Nothing more arrives within a few poll intervals.
async fn assert_quiet(rx: &mut Receiver<Input>) {
    if let Ok(Some(x)) = tokio::time::timeout(POLL * 15, rx.recv()).await {
        panic!("unexpected extra input {x:?}");
    }
}

async fn stop(c: Collector, mut rx: Receiver<Input>) {
    c.shutdown();
    while tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("channel closes")
        .is_some()
    {}
    c.join().await;
}

fn counter(c: &Collector, name: &str, counter: &str) -> u64 {
    c.stats()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
        .counters
        .get(counter)
}

#[tokio::test]
async fn follow_append_and_partial_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    append(&p, "one\ntwo\n");
    let (c, mut rx) = Collector::builder()
        .listener(follow("f", &p))
        .start()
        .await
        .unwrap();
    let first = recv(&mut rx).await;
    assert_eq!(first.bytes, b"one");
    assert!(matches!(&first.transport, Transport::File { offset: 0, path } if **path == p));
    let second = recv(&mut rx).await;
    assert!(matches!(
        second.transport,
        Transport::File { offset: 4, .. }
    ));
    append(&p, "three\nfou");
    assert_eq!(recv_lines(&mut rx, 1).await, ["three"]);
    assert_quiet(&mut rx).await;
    append(&p, "r\n");
    assert_eq!(recv_lines(&mut rx, 1).await, ["four"]);
    stop(c, rx).await;
}

#[tokio::test]
async fn follow_rotation_reads_old_file_to_end_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("messages");
    append(&p, "a1\na2\n");
    let (c, mut rx) = Collector::builder()
        .listener(follow("f", &p))
        .start()
        .await
        .unwrap();
    assert_eq!(recv_lines(&mut rx, 2).await, ["a1", "a2"]);
    // logrotate: rename, the writer still appends to the old inode, then a new file appears.
    let rotated = dir.path().join("messages.1");
    std::fs::rename(&p, &rotated).unwrap();
    append(&rotated, "a3\na4-unterminated");
    append(&p, "b1\nb2\n");
    assert_eq!(
        recv_lines(&mut rx, 4).await,
        ["a3", "a4-unterminated", "b1", "b2"]
    );
    append(&p, "b3\n");
    assert_eq!(recv_lines(&mut rx, 1).await, ["b3"]);
    assert_quiet(&mut rx).await;
    assert_eq!(counter(&c, "f", "file_rotated"), 1);
    stop(c, rx).await;
}

#[tokio::test]
async fn follow_copytruncate_restarts_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    append(&p, "old line 1\nold line 2\n");
    let (c, mut rx) = Collector::builder()
        .listener(follow("f", &p))
        .start()
        .await
        .unwrap();
    assert_eq!(recv_lines(&mut rx, 2).await, ["old line 1", "old line 2"]);
    // copytruncate: the same inode is emptied, then written again (longer than before, so
    // only the fingerprint reveals the truncation if the poll comes late).
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    append(&p, "new line after truncate, quite a bit longer\nnext\n");
    assert_eq!(
        recv_lines(&mut rx, 2).await,
        ["new line after truncate, quite a bit longer", "next"]
    );
    assert_quiet(&mut rx).await;
    assert_eq!(counter(&c, "f", "file_truncated"), 1);
    stop(c, rx).await;
}

#[tokio::test]
async fn restart_resumes_from_persisted_offset_without_duplicates_or_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("auth.log");
    let state = dir.path().join("state").join("offsets.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    append(&p, "l1\nl2\nl3\n");
    let start = || async {
        Collector::builder()
            .state_file(&state)
            .listener(follow("f", &p))
            .start()
            .await
            .unwrap()
    };
    let (c, mut rx) = start().await;
    assert_eq!(recv_lines(&mut rx, 3).await, ["l1", "l2", "l3"]);
    append(&p, "l4\npart");
    assert_eq!(recv_lines(&mut rx, 1).await, ["l4"]);
    stop(c, rx).await;
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let key = p.to_string_lossy().into_owned();
    assert_eq!(saved["files"][key.as_str()]["offset"], 12, "{saved}");

    // While stopped: the partial line is completed and more lines arrive.
    append(&p, "ial\nl6\n");
    let (c, mut rx) = start().await;
    assert_eq!(recv_lines(&mut rx, 2).await, ["partial", "l6"]);
    assert_quiet(&mut rx).await;
    stop(c, rx).await;

    // Rotated while stopped: the rest of the old file comes first, then the new one.
    append(&p, "l7\n");
    std::fs::rename(&p, dir.path().join("auth.log.1")).unwrap();
    append(&p, "n1\n");
    let (c, mut rx) = start().await;
    assert_eq!(recv_lines(&mut rx, 2).await, ["l7", "n1"]);
    assert_quiet(&mut rx).await;
    stop(c, rx).await;
}

#[tokio::test]
async fn corrupt_state_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("offsets.json");
    std::fs::write(&state, b"{not json").unwrap();
    let r = Collector::builder()
        .state_file(&state)
        .listener(follow("f", &dir.path().join("x.log")))
        .start()
        .await;
    let msg = r.err().unwrap().to_string();
    assert!(msg.contains("offsets.json"), "{msg}");
}

#[tokio::test]
async fn follow_waits_for_missing_file_and_cuts_long_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("later.log");
    let mut cfg = follow("f", &p);
    if let ListenerConfig::File(f) = &mut cfg {
        f.max_line = 8;
    }
    let (c, mut rx) = Collector::builder().listener(cfg).start().await.unwrap();
    assert_quiet(&mut rx).await;
    append(&p, "0123456789abcdef\nshort\n");
    let a = recv(&mut rx).await;
    assert_eq!(a.bytes, b"01234567");
    assert!(a.truncated);
    let b = recv(&mut rx).await;
    assert_eq!(b.bytes, b"short");
    assert!(!b.truncated);
    stop(c, rx).await;
}

async fn read_all_once(path: PathBuf) -> Vec<RawMessage> {
    {
        let (c, mut rx) = Collector::builder()
            .listener(ListenerConfig::file_once("once", path))
            .start()
            .await
            .unwrap();
        let mut v = Vec::new();
        // The channel closes by itself once the file is read.
        while let Some(x) = tokio::time::timeout(WAIT, rx.recv()).await.unwrap() {
            match x {
                Input::Message(m) => v.push(m),
                Input::Flows(_) => panic!("no flows from a file"),
            }
        }
        c.join().await;
        v
    }
}

#[tokio::test]
async fn gzip_read_once_multi_member() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("old.log.gz");
    let mut bytes = Vec::new();
    for part in ["g1\ng2\n", "g3\ng4"] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(part.as_bytes()).unwrap();
        bytes.extend(enc.finish().unwrap());
    }
    std::fs::write(&p, bytes).unwrap();
    let got = read_all_once(p).await;
    let lines: Vec<&[u8]> = got.iter().map(|m| m.bytes.as_slice()).collect();
    assert_eq!(lines, [&b"g1"[..], b"g2", b"g3", b"g4"]);
    assert!(matches!(
        got[2].transport,
        Transport::File { offset: 6, .. }
    ));
}

#[tokio::test]
async fn zstd_read_once_and_plain_once() {
    let dir = tempfile::tempdir().unwrap();
    // A zstd frame with one raw block, built by hand (RFC 8878 §3.1).
    let content = b"z1\nz2\n";
    let mut z = vec![0x28, 0xb5, 0x2f, 0xfd];
    z.push(0x20); // single segment, 1-byte content size
    z.push(content.len() as u8);
    let block_header = 1u32 | ((content.len() as u32) << 3); // last, raw
    z.extend_from_slice(&block_header.to_le_bytes()[..3]);
    z.extend_from_slice(content);
    let p = dir.path().join("x.log.zst");
    std::fs::write(&p, z).unwrap();
    let got = read_all_once(p).await;
    let lines: Vec<&[u8]> = got.iter().map(|m| m.bytes.as_slice()).collect();
    assert_eq!(lines, [&b"z1"[..], b"z2"]);

    let plain = dir.path().join("plain.log");
    std::fs::write(&plain, "p1\r\np2").unwrap();
    let got = read_all_once(plain).await;
    let lines: Vec<&[u8]> = got.iter().map(|m| m.bytes.as_slice()).collect();
    assert_eq!(lines, [&b"p1"[..], b"p2"]);
}

#[tokio::test]
async fn corrupt_gzip_keeps_what_was_read_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b"fine\n").unwrap();
    let mut bytes = enc.finish().unwrap();
    bytes.extend_from_slice(b"\x1f\x8b\x08\x00garbage-after-a-valid-member");
    std::fs::write(&p, bytes).unwrap();
    let (c, mut rx) = Collector::builder()
        .listener(ListenerConfig::file_once("once", &p))
        .start()
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(Input::Message(m)) = tokio::time::timeout(WAIT, rx.recv()).await.unwrap() {
        got.push(m.bytes);
    }
    assert_eq!(got, [b"fine".to_vec()]);
    assert_eq!(counter(&c, "once", "read_error"), 1);
    c.join().await;
}
