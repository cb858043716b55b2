#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mamori_core::{Event, Timestamp};
use mamori_store::{FsyncPolicy, Store, StoreConfig};

static N: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "mamori-store-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn data(&self) -> PathBuf {
        self.0.join("data")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn config(t: &TempDir) -> StoreConfig {
    let mut c = StoreConfig::new(t.data());
    c.key_dir = Some(t.path().join("keys"));
    c.wal.fsync = FsyncPolicy::Never;
    c
}

pub fn open(t: &TempDir) -> Store {
    Store::open(config(t)).unwrap()
}

pub const T0: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

/// A generated sshd/flow-like event, deterministic in `i`.
pub fn event(i: u64) -> Event {
    let ds = if i.is_multiple_of(3) { "flow" } else { "sshd" };
    let mut e = Event::new(
        Timestamp::from_unix_parts(T0 + (i as i64) * 7, (i % 1000) as u32),
        ds,
    );
    e.set(
        "source.ip",
        std::net::Ipv4Addr::new(10, (i % 7) as u8, (i % 251) as u8, (i % 13) as u8),
    )
    .set("destination.port", 22 + (i % 5) as i64)
    .set(
        "event.outcome",
        if i.is_multiple_of(2) {
            "failure"
        } else {
            "success"
        },
    )
    .set("user.name", format!("user{}", i % 17))
    .set("message", format!("line {i}"));
    e
}
