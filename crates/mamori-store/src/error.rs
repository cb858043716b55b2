//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk (or quota) is full: nothing of the failed call was acknowledged.
    #[error("disk full while writing {path}: {source}")]
    DiskFull {
        /// File being written.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Any other I/O failure.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A stored record could not be decoded.
    #[error("corrupt data in {location}: {reason}")]
    Corrupt {
        /// Where (file and offset or row).
        location: String,
        /// What was wrong.
        reason: String,
    },
    /// Parquet encoding/decoding failed.
    #[error("parquet error in {path}: {source}")]
    Parquet {
        /// Segment file.
        path: PathBuf,
        /// The library error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow array building failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// SQLite failed.
    #[error("sqlite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A configuration value is not acceptable.
    #[error("invalid configuration {name}={value}: {reason}")]
    Config {
        /// Setting name.
        name: &'static str,
        /// Offending value.
        value: String,
        /// Why.
        reason: String,
    },
    /// An event is larger than [`crate::wal::MAX_RECORD_BYTES`].
    #[error("event of dataset {dataset} encodes to {size} bytes, over the limit of {limit}")]
    EventTooLarge {
        /// Dataset of the event.
        dataset: String,
        /// Encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The signing key could not be read or created.
    #[error("signing key {path}: {reason}")]
    Key {
        /// Key file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A referenced row does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind of object.
        what: &'static str,
        /// Its id.
        id: String,
    },
}

/// ENOSPC / EDQUOT.
const ENOSPC: i32 = 28;
const EDQUOT: i32 = 122;

impl StoreError {
    /// Wrap an I/O error, classifying "no space" and "quota exceeded" as [`StoreError::DiskFull`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        let path = path.into();
        let full = source.kind() == std::io::ErrorKind::StorageFull
            || matches!(source.raw_os_error(), Some(ENOSPC) | Some(EDQUOT));
        if full {
            StoreError::DiskFull { path, source }
        } else {
            StoreError::Io { path, source }
        }
    }
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
