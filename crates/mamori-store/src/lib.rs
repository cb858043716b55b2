//! # mamori-store
//!
//! The embedded event store of one data directory (`--data DIR`, default `./data`):
//!
//! ```text
//! data/
//!   wal/<seq>.wal                         write-ahead log (crate::wal)
//!   segments/<dataset>/<yyyy-mm-dd>/<seq>.parquet   sealed, immutable (crate::segment)
//!   archive/<dataset>/<yyyy-mm-dd>/<seq>.parquet    older segments (crate::retention)
//!   manifest/manifest.jsonl, head.json, signing.pub  hash chain + signed head (crate::manifest)
//!   mamori.db                             alerts, cases, audit log (crate::db)
//! mamori-keys/manifest-signing.key        next to the data dir by default (crate::keys)
//! ```
//!
//! Events are appended to the WAL in batches ([`Store::append_batch`]), kept in an
//! in-memory tail and sealed into zstd Parquet segments per dataset and UTC day; each
//! sealed segment's SHA-256 goes into a hash-chained manifest whose head is signed with
//! ed25519. [`Store::scan`] streams events from segments (pruned by day, row-group
//! statistics and bloom filters) and then from the tail. Sealed segments are plain
//! Parquet (see [`segment`] for the schema), so DuckDB reads them directly:
//!
//! ```sh
//! duckdb -c "SELECT \"source.ip\", count(*) FROM 'data/segments/sshd/*/*.parquet' GROUP BY 1"
//! ```
//!
//! ```
//! use mamori_core::{Event, Timestamp};
//! use mamori_store::{ScanRequest, Store, StoreConfig};
//!
//! let dir = std::env::temp_dir().join(format!("mamori-store-doc-{}", std::process::id()));
//! let mut cfg = StoreConfig::new(dir.join("data"));
//! cfg.key_dir = Some(dir.join("keys"));
//! let mut store = Store::open(cfg)?;
//! let mut ev = Event::new(Timestamp::from_unix_secs(1_700_000_000), "sshd");
//! ev.set("source.ip", std::net::Ipv4Addr::new(192, 0, 2, 7)).set("event.outcome", "failure");
//! store.append_batch(&[ev.clone()])?;
//! store.seal()?;
//! let req = ScanRequest { datasets: Some(vec!["sshd".into()]), ..Default::default() };
//! let found: Vec<Event> = store.scan(&req).collect::<Result<_, _>>()?;
//! assert_eq!(found, vec![ev]);
//! assert!(store.verify().ok);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), mamori_store::StoreError>(())
//! ```

pub mod codec;
pub mod db;
pub mod error;
pub mod keys;
pub mod manifest;
pub mod retention;
pub mod scan;
pub mod segment;
pub mod store;
pub mod wal;

pub use db::{AlertFilter, AlertRow, AlertStatus, AuditEntry, Db, NewAlert};
pub use error::{Result, StoreError};
pub use manifest::{Head, Problem, VerifyReport};
pub use retention::{RetentionConfig, RetentionPlan, RetentionPolicy};
pub use scan::{Scan, ScanRequest, ScanStats};
pub use segment::schema;
pub use store::{SealPolicy, SealReport, Store, StoreConfig};
pub use wal::{Ack, FsyncPolicy, WalOptions};

/// File name of the SQLite database inside the data directory.
pub const DB_FILE: &str = "mamori.db";

impl Store {
    /// Open the SQLite database of this data directory.
    pub fn open_db(&self) -> Result<Db> {
        Db::open(&self.data_dir().join(DB_FILE))
    }
    /// Retention plan for `now` (see [`retention::plan`]).
    pub fn retention_plan(
        &self,
        cfg: &RetentionConfig,
        now: mamori_core::Timestamp,
    ) -> Result<RetentionPlan> {
        retention::plan(self, cfg, now)
    }
    /// Apply a retention plan (see [`retention::apply`]).
    pub fn apply_retention(
        &mut self,
        db: &mut Db,
        plan: &RetentionPlan,
        actor: &str,
        now: mamori_core::Timestamp,
    ) -> Result<Vec<AuditEntry>> {
        retention::apply(self, db, plan, actor, now)
    }
}
