//! The seam between the HTTP API and the running pipeline.
//!
//! The API (`crate::api`) answers requests about stored state from SQLite itself (alerts,
//! cases, exclusions, users, audit log) and asks the runtime (`crate::runtime`) for
//! everything that lives in the pipeline: health, metrics, event search over the store the
//! runtime writes, pcap import, config reload, check settings, host inventory and
//! notifications. The runtime implements [`RuntimeControl`]; API tests use their own fake.
//!
//! All methods are synchronous and cheap to call from an async handler through
//! `tokio::task::spawn_blocking` when they do real work (search, import, reload).

use mamori_core::{Severity, Timestamp};
use serde::{Deserialize, Serialize};

/// A request the runtime refused, with the HTTP status class it maps to.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The caller's input is wrong (400): bad query, unknown check id, bad pcap.
    #[error("{0}")]
    Invalid(String),
    /// Something named does not exist (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The runtime cannot take it now (503): overloaded, shutting down, store failed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An internal failure (500); the message is logged, not shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
}

/// One source of events (a listener, a followed file, an interface, an exporter).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceHealth {
    /// Stable name (`syslog-udp`, `eth1`, `netflow`, `file:/var/log/auth.log`).
    pub name: String,
    /// `syslog_udp`, `syslog_tcp`, `syslog_tls`, `netflow`, `file`, `capture`, `import`.
    pub kind: String,
    /// When anything was last received from it.
    pub last_seen: Option<Timestamp>,
    /// Events delivered into the pipeline.
    pub events: u64,
    /// Events per second over the last minute.
    pub rate_per_sec: f64,
    /// Lines or records that failed to parse (kept raw).
    pub parse_errors: u64,
    /// Messages or packets dropped (socket, queue, truncation).
    pub drops: u64,
    /// Median `@timestamp` minus receive time over recent events, milliseconds.
    pub clock_skew_ms: Option<i64>,
    /// Whether the source is considered silent (past its expected interval).
    pub silent: bool,
}

/// One capture interface.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InterfaceHealth {
    /// Interface name.
    pub name: String,
    /// Packets received by mamori.
    pub packets: u64,
    /// Packets the kernel dropped (libpcap `ps_drop` + `ps_ifdrop`).
    pub kernel_drops: u64,
    /// Packets mamori dropped because its queue was full.
    pub app_drops: u64,
}

/// One pipeline stage queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QueueHealth {
    /// `decode`, `detect`, `store`, `notify`.
    pub stage: String,
    /// Items waiting.
    pub depth: u64,
    /// Capacity of the bounded queue.
    pub capacity: u64,
    /// Items dropped because the queue was full.
    pub dropped: u64,
}

/// The event store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct StoreHealth {
    /// Bytes of sealed segments (hot + archive).
    pub segment_bytes: u64,
    /// Bytes of WAL not yet sealed.
    pub wal_bytes: u64,
    /// Free bytes on the data directory's file system.
    pub free_disk_bytes: u64,
    /// Events stored since start.
    pub events_stored: u64,
    /// When the last seal finished.
    pub last_seal: Option<Timestamp>,
    /// Set when the store refused writes (disk full, I/O error); the message says why.
    pub error: Option<String>,
}

/// What `/api/v1/health` shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Health {
    /// mamori version.
    pub version: String,
    /// When the runtime started.
    pub started: Timestamp,
    /// Event sources.
    pub sources: Vec<SourceHealth>,
    /// Capture interfaces.
    pub interfaces: Vec<InterfaceHealth>,
    /// Pipeline queues.
    pub queues: Vec<QueueHealth>,
    /// The store.
    pub store: StoreHealth,
}

/// An event search (the mamori query language, see `mamori-query`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SearchRequest {
    /// The query text, e.g. `event.dataset:sshd AND event.outcome:failure | head 50`.
    pub query: String,
    /// Inclusive lower time bound.
    pub since: Option<Timestamp>,
    /// Exclusive upper time bound.
    pub until: Option<Timestamp>,
    /// Most rows returned (the runtime caps it).
    pub limit: Option<u32>,
}

/// Search results: either events or a table from `stats`/`timechart`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SearchResponse {
    /// Matching events as ECS JSON objects, newest last.
    Events {
        /// The events.
        events: Vec<serde_json::Value>,
        /// True when more matched than were returned.
        truncated: bool,
    },
    /// An aggregation result.
    Table {
        /// Column names.
        columns: Vec<String>,
        /// Rows of JSON values (null for missing).
        rows: Vec<Vec<serde_json::Value>>,
    },
}

/// The outcome of a pcap import.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportReceipt {
    /// The name it was uploaded as.
    pub name: String,
    /// Packets read.
    pub packets: u64,
    /// Events produced (flows, protocol records).
    pub events: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Packets that could not be used, per reason.
    pub unusable: std::collections::BTreeMap<String, u64>,
}

/// The outcome of a config reload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReloadReport {
    /// Config file that was loaded.
    pub path: String,
    /// Human-readable notes (what changed, lists loaded).
    pub notes: Vec<String>,
}

/// A check or rule with its current settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckState {
    /// Stable id (`mamori.net.port_scan`, a rule id, a Sigma id).
    pub id: String,
    /// `network`, `log_rule`, `sigma`.
    pub kind: String,
    /// English name.
    pub name: String,
    /// Japanese name.
    pub name_ja: String,
    /// Default severity.
    pub severity: Severity,
    /// Whether it runs.
    pub enabled: bool,
    /// Current thresholds (name → value).
    pub thresholds: std::collections::BTreeMap<String, serde_json::Value>,
    /// ATT&CK technique ids.
    pub attack: Vec<String>,
    /// Compliance controls it evidences.
    pub controls: Vec<String>,
}

/// A change to one check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct CheckChange {
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Thresholds to set (others keep their values).
    #[serde(default)]
    pub thresholds: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A host seen in traffic or logs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostInfo {
    /// Address.
    pub ip: std::net::IpAddr,
    /// MAC addresses seen with it.
    pub macs: Vec<String>,
    /// Names (DHCP host name, DNS, NetBIOS, Kerberos).
    pub names: Vec<String>,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
    /// Services it answered on (`tcp/22 ssh`).
    pub services: Vec<String>,
    /// Current host score (see `mamori-detect`).
    pub score: u64,
}

/// A notification that could not be delivered after its retries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeadLetterInfo {
    /// Recipient id.
    pub recipient: String,
    /// Alert rule id or `digest`.
    pub subject: String,
    /// When it was given up.
    pub time: Timestamp,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: u32,
}

/// What the API needs from the running pipeline.
pub trait RuntimeControl: Send + Sync + 'static {
    /// Current health of sources, interfaces, queues and the store.
    fn health(&self) -> Health;
    /// Prometheus text exposition (counters and gauges only, never event content).
    fn metrics(&self) -> String;
    /// Search stored events (sealed segments and the unsealed tail).
    fn search(&self, req: &SearchRequest) -> Result<SearchResponse, ControlError>;
    /// Run an uploaded capture through the pipeline (events and alerts are stored).
    fn import_pcap(
        &self,
        name: &str,
        bytes: Vec<u8>,
        actor: &str,
    ) -> Result<ImportReceipt, ControlError>;
    /// Re-read the config file; the running config is replaced only if the new one is valid.
    fn reload(&self, actor: &str) -> Result<ReloadReport, ControlError>;
    /// Checks and rules with their settings.
    fn checks(&self) -> Vec<CheckState>;
    /// Change one check (validated; persisted so it survives a restart).
    fn set_check(
        &self,
        id: &str,
        change: &CheckChange,
        actor: &str,
    ) -> Result<CheckState, ControlError>;
    /// Host inventory.
    fn hosts(&self) -> Vec<HostInfo>;
    /// Send a test notification to one recipient; returns a delivery note.
    fn test_notification(&self, recipient: &str) -> Result<String, ControlError>;
    /// Undeliverable notifications.
    fn dead_letters(&self) -> Vec<DeadLetterInfo>;
}
