//! WAL: replay, torn tails, corruption, rotation, disk full.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;

use common::*;
use mamori_core::Event;
use mamori_store::wal::{self, FsyncPolicy, Wal, WalOptions, HEADER_BYTES};

fn opts() -> WalOptions {
    WalOptions {
        fsync: FsyncPolicy::Always,
        max_file_bytes: 1 << 20,
    }
}

fn write_some(dir: &std::path::Path, n: u64) -> Vec<Event> {
    let (mut w, r) = Wal::open(dir, opts(), None).unwrap();
    assert!(r.events.is_empty());
    let evs: Vec<Event> = (0..n).map(event).collect();
    for chunk in evs.chunks(7) {
        let ack = w.append_batch(chunk).unwrap();
        assert!(ack.durable);
        assert_eq!(ack.count, chunk.len());
    }
    evs
}

fn only_file(dir: &std::path::Path) -> std::path::PathBuf {
    let f = wal::list_files(dir).unwrap();
    assert_eq!(f.len(), 1);
    f[0].1.clone()
}

#[test]
fn replay_returns_everything_in_order() {
    let t = TempDir::new("wal-replay");
    let evs = write_some(t.path(), 50);
    let (_, r) = Wal::open(t.path(), opts(), None).unwrap();
    assert_eq!(r.events, evs);
    assert!(r.counters.is_empty());
}

#[test]
fn torn_tail_at_every_cut_point_is_truncated_and_reported() {
    let t = TempDir::new("wal-torn");
    let evs = write_some(t.path(), 5);
    let path = only_file(t.path());
    let full = fs::read(&path).unwrap();
    // Record boundaries.
    let mut bounds = vec![0usize];
    let mut pos = 0;
    while pos < full.len() {
        let len = u32::from_le_bytes(full[pos..pos + 4].try_into().unwrap()) as usize;
        pos += HEADER_BYTES + len;
        bounds.push(pos);
    }
    assert_eq!(bounds.len(), 6);
    for cut in 0..full.len() {
        fs::write(&path, &full[..cut]).unwrap();
        let (mut w, r) = Wal::open(t.path(), opts(), None).unwrap();
        let complete = bounds.iter().filter(|b| **b <= cut).count() - 1;
        assert_eq!(r.events, evs[..complete].to_vec(), "cut {cut}");
        let on_boundary = bounds.contains(&cut);
        assert_eq!(
            r.counters.get("wal_torn_tail"),
            u64::from(!on_boundary),
            "cut {cut}"
        );
        if !on_boundary {
            let valid = bounds[complete];
            assert!(
                r.messages[0].contains(&format!("torn tail at byte {valid}")),
                "{:?}",
                r.messages
            );
            assert_eq!(fs::metadata(&path).unwrap().len(), valid as u64);
        }
        // The log continues validly after the truncation.
        w.append_batch(&[event(99)]).unwrap();
        drop(w);
        let (_, r2) = Wal::open(t.path(), opts(), None).unwrap();
        assert_eq!(r2.events.len(), complete + 1);
        assert!(r2.counters.is_empty(), "cut {cut}: {:?}", r2.messages);
    }
}

#[test]
fn bad_crc_and_chain_break_end_the_log() {
    let t = TempDir::new("wal-crc");
    let evs = write_some(t.path(), 4);
    let path = only_file(t.path());
    let full = fs::read(&path).unwrap();
    let len0 = u32::from_le_bytes(full[0..4].try_into().unwrap()) as usize;
    let second = HEADER_BYTES + len0;
    // Flip a payload byte of record 2.
    let mut b = full.clone();
    b[second + HEADER_BYTES + 3] ^= 0x40;
    fs::write(&path, &b).unwrap();
    let (_, r) = Wal::open(t.path(), opts(), None).unwrap();
    assert_eq!(r.events, evs[..1].to_vec());
    assert!(
        r.messages[0].contains("crc32c mismatch"),
        "{:?}",
        r.messages
    );

    // A record with a valid CRC but the wrong prev hash (spliced in) breaks the chain.
    let t2 = TempDir::new("wal-chain");
    write_some(t2.path(), 2);
    let p2 = only_file(t2.path());
    let mut data = fs::read(&p2).unwrap();
    let payload = &full[HEADER_BYTES..HEADER_BYTES + len0];
    let bogus_prev = [9u8; 32];
    let crc = crc32c::crc32c_append(crc32c::crc32c(&bogus_prev), payload);
    data.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    data.extend_from_slice(&crc.to_le_bytes());
    data.extend_from_slice(&bogus_prev);
    data.extend_from_slice(payload);
    fs::write(&p2, &data).unwrap();
    let (_, r) = Wal::open(t2.path(), opts(), None).unwrap();
    assert_eq!(r.events.len(), 2);
    assert!(
        r.messages[0].contains("hash chain break"),
        "{:?}",
        r.messages
    );
}

#[test]
fn oversized_length_and_garbage_do_not_panic() {
    let t = TempDir::new("wal-garbage");
    write_some(t.path(), 1);
    let path = only_file(t.path());
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&u32::MAX.to_le_bytes()).unwrap();
    f.write_all(&[0xAB; 100]).unwrap();
    drop(f);
    let (_, r) = Wal::open(t.path(), opts(), None).unwrap();
    assert_eq!(r.events.len(), 1);
    assert!(r.messages[0].contains("over limit"), "{:?}", r.messages);
}

#[test]
fn rotation_by_size_and_chain_across_files() {
    let t = TempDir::new("wal-rotate");
    let o = WalOptions {
        fsync: FsyncPolicy::Never,
        max_file_bytes: 2000,
    };
    let (mut w, _) = Wal::open(t.path(), o.clone(), None).unwrap();
    let evs: Vec<Event> = (0..100).map(event).collect();
    for c in evs.chunks(5) {
        w.append_batch(c).unwrap();
    }
    w.sync().unwrap();
    drop(w);
    let files = wal::list_files(t.path()).unwrap();
    assert!(files.len() > 3, "{files:?}");
    let (_, r) = Wal::open(t.path(), o.clone(), None).unwrap();
    assert_eq!(r.events, evs);
    // Files covered by a seal are removed on open.
    let through = files[1].0;
    let (_, r) = Wal::open(t.path(), o, Some(through)).unwrap();
    assert!(r.events.len() < evs.len());
    assert_eq!(r.events.last(), evs.last());
    assert!(wal::list_files(t.path())
        .unwrap()
        .iter()
        .all(|(s, _)| *s > through));
}

#[test]
fn fsync_policy_parses() {
    assert_eq!(
        "always".parse::<FsyncPolicy>().unwrap(),
        FsyncPolicy::Always
    );
    assert_eq!("never".parse::<FsyncPolicy>().unwrap(), FsyncPolicy::Never);
    assert_eq!(
        "interval=500ms".parse::<FsyncPolicy>().unwrap(),
        FsyncPolicy::Interval(std::time::Duration::from_millis(500))
    );
    assert!("interval=banana".parse::<FsyncPolicy>().is_err());
    assert!("sometimes".parse::<FsyncPolicy>().is_err());
}

#[cfg(unix)]
#[test]
fn disk_full_is_a_clear_error_and_keeps_acknowledged_records() {
    let t = TempDir::new("wal-full");
    let (mut w, _) = Wal::open(t.path(), opts(), None).unwrap();
    let a: Vec<Event> = (0..10).map(event).collect();
    w.append_batch(&a).unwrap();
    // The next WAL file is /dev/full: every write fails with ENOSPC.
    std::os::unix::fs::symlink("/dev/full", t.path().join(format!("{:020}.wal", 1))).unwrap();
    w.rotate().unwrap();
    let err = w.append_batch(&[event(11)]).unwrap_err();
    assert!(
        matches!(err, mamori_store::StoreError::DiskFull { .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("disk full"), "{err}");
    drop(w);
    fs::remove_file(t.path().join(format!("{:020}.wal", 1))).unwrap();
    let (_, r) = Wal::open(t.path(), opts(), None).unwrap();
    assert_eq!(r.events, a);
}
