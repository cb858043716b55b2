//! Errors of the pipeline building blocks. Every message names the file or setting at fault.

use std::path::PathBuf;

/// A boxed error from the caller's event sink (a full disk, a closed channel…).
pub type SinkError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong while loading configuration, rules or intel, or reading an input.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A file could not be opened or read.
    #[error("{what} {path}: {source}")]
    Io {
        /// What the file was (`opening`, `reading rule file`, …).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file is invalid; the message names file and line where known.
    #[error("{0}")]
    Config(String),
    /// Threat-intelligence lists could not be loaded.
    #[error("loading threat intelligence: {0}")]
    Intel(String),
    /// Rules could not be loaded.
    #[error("loading rules: {0}")]
    Rules(String),
    /// An input file is not in a format mamori reads (or is damaged beyond reading).
    #[error("{0}")]
    Input(String),
    /// The caller's sink refused an event; reading stopped.
    #[error("{0}")]
    Sink(SinkError),
}

impl PipelineError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PipelineError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// Result alias.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
