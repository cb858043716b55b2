//! # mamori-collect
//!
//! Collectors at the async edge: syslog over UDP, TCP (newline and RFC 6587 octet counting)
//! and TLS (RFC 5425), NetFlow v5/v9, IPFIX and sFlow over UDP, and files (read once, `.gz`,
//! `.zst`, or followed with `tail -F` semantics and persisted offsets).
//!
//! This crate does **not** parse log content: it delivers [`RawMessage`]s (bytes plus receive
//! time, listener, peer and transport) and the caller parses them (`mamori-logparse`). Flow
//! datagrams are decoded here with [`mamori_proto::netflow::FlowDecoder`] (one per listener,
//! templates per exporter) and delivered as [`FlowBatch`]es.
//!
//! Everything arrives on one bounded channel. UDP cannot wait, so a full channel drops the
//! datagram and counts `udp_dropped_queue_full` (kernel drops are read from `/proc/net/udp` as
//! `udp_socket_drops`); TCP, TLS and files wait for room (backpressure). [`Collector::stats`]
//! returns per-listener [`mamori_core::Counters`] and the last time each source was heard from.
//!
//! ```
//! use mamori_collect::{Collector, Input, ListenerConfig};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (collector, mut rx) = Collector::builder()
//!     .listener(ListenerConfig::syslog_udp("udp", "127.0.0.1:0".parse().unwrap()))
//!     .start()
//!     .await
//!     .unwrap();
//! let addr = collector.local_addr("udp").unwrap();
//! let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
//! client.send_to(b"<13>Nov 23 10:00:00 host app: hello", addr).unwrap();
//! match rx.recv().await {
//!     Some(Input::Message(m)) => assert_eq!(m.bytes, b"<13>Nov 23 10:00:00 host app: hello"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! collector.shutdown();
//! while rx.recv().await.is_some() {}
//! collector.join().await;
//! # });
//! ```

pub mod file;
pub mod framing;
pub mod message;
mod net;
pub mod stats;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

pub use file::{FileState, OffsetStore, StartAt};
pub use message::{FlowBatch, Input, RawMessage, SourceId, Transport};
pub use stats::ListenerStats;
pub use tls::TlsIdentity;

use stats::StatsHandle;

/// Default maximum syslog message size (bytes); longer messages are cut and flagged.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;
/// Default requested UDP socket receive buffer (the kernel may cap it at `rmem_max`).
pub const DEFAULT_UDP_RECV_BUFFER: usize = 8 * 1024 * 1024;
/// Default maximum concurrent TCP/TLS connections per listener.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default idle timeout of a TCP/TLS connection.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
/// Default capacity of the output channel (messages).
pub const DEFAULT_CHANNEL_CAPACITY: usize = 16 * 1024;
/// Default poll interval of followed files.
pub const DEFAULT_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);
/// Default maximum line length of file inputs.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;
/// Minimum interval between two writes of the offset state file while following.
pub const STATE_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Errors starting a collector.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A listener could not bind.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// TLS certificate or key problem.
    #[error("tls identity {path}: {reason}")]
    Tls {
        /// Offending file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The offset state file is unreadable.
    #[error("offset state file {path}: {reason}")]
    State {
        /// Path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A compressed file could not be opened.
    #[error("cannot decompress {path}: {reason}")]
    Decompress {
        /// Path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Two listeners share a name.
    #[error("duplicate listener name {0:?}")]
    DuplicateName(String),
}

/// A UDP listener (syslog or flows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpConfig {
    /// Listener name (appears in [`SourceId`] and stats).
    pub name: String,
    /// Address to bind.
    pub addr: SocketAddr,
    /// Maximum message size (syslog only).
    pub max_message: usize,
    /// Requested socket receive buffer.
    pub recv_buffer: usize,
}

/// A TCP or TLS syslog listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// Listener name.
    pub name: String,
    /// Address to bind.
    pub addr: SocketAddr,
    /// Maximum message size; longer frames are cut and flagged.
    pub max_message: usize,
    /// Connections beyond this are closed at once (`connections_rejected_max`).
    pub max_connections: usize,
    /// A connection silent this long is closed (`idle_timeout`).
    pub idle_timeout: std::time::Duration,
    /// TLS identity; `None` for plain TCP.
    pub tls: Option<TlsIdentity>,
}

/// How a file input reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// Read to the end once, then stop (always the case for `.gz` and `.zst`).
    Once,
    /// Follow (`tail -F`): rotation, truncation, persisted offsets.
    Follow,
}

/// A file input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// Input name.
    pub name: String,
    /// Path of the file.
    pub path: PathBuf,
    /// Once or follow.
    pub mode: FileMode,
    /// Where a followed file without saved state starts.
    pub start_at: StartAt,
    /// Maximum line length.
    pub max_line: usize,
    /// Poll interval when following.
    pub poll_interval: std::time::Duration,
}

/// One input of a collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerConfig {
    /// Syslog over UDP.
    SyslogUdp(UdpConfig),
    /// Syslog over TCP or TLS (when `tls` is set).
    SyslogTcp(TcpConfig),
    /// NetFlow v5/v9, IPFIX and sFlow v5 over UDP.
    Netflow(UdpConfig),
    /// A file.
    File(FileConfig),
}

impl ListenerConfig {
    /// Syslog over UDP with default limits.
    pub fn syslog_udp(name: &str, addr: SocketAddr) -> Self {
        ListenerConfig::SyslogUdp(UdpConfig {
            name: name.to_owned(),
            addr,
            max_message: DEFAULT_MAX_MESSAGE,
            recv_buffer: DEFAULT_UDP_RECV_BUFFER,
        })
    }
    /// Syslog over TCP with default limits.
    pub fn syslog_tcp(name: &str, addr: SocketAddr) -> Self {
        ListenerConfig::SyslogTcp(TcpConfig {
            name: name.to_owned(),
            addr,
            max_message: DEFAULT_MAX_MESSAGE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            tls: None,
        })
    }
    /// Syslog over TLS (RFC 5425) with default limits.
    pub fn syslog_tls(name: &str, addr: SocketAddr, identity: TlsIdentity) -> Self {
        let mut c = Self::syslog_tcp(name, addr);
        if let ListenerConfig::SyslogTcp(t) = &mut c {
            t.tls = Some(identity);
        }
        c
    }
    /// NetFlow/IPFIX/sFlow collector.
    pub fn netflow(name: &str, addr: SocketAddr) -> Self {
        ListenerConfig::Netflow(UdpConfig {
            name: name.to_owned(),
            addr,
            max_message: net::MAX_UDP_DATAGRAM,
            recv_buffer: DEFAULT_UDP_RECV_BUFFER,
        })
    }
    /// A file read once (`.gz` and `.zst` are decompressed).
    pub fn file_once(name: &str, path: impl Into<PathBuf>) -> Self {
        ListenerConfig::File(FileConfig {
            name: name.to_owned(),
            path: path.into(),
            mode: FileMode::Once,
            start_at: StartAt::Beginning,
            max_line: DEFAULT_MAX_LINE,
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }
    /// A file followed with `tail -F` semantics (compressed files are still read once).
    pub fn file_follow(name: &str, path: impl Into<PathBuf>) -> Self {
        let mut c = Self::file_once(name, path);
        if let ListenerConfig::File(f) = &mut c {
            f.mode = FileMode::Follow;
        }
        c
    }

    /// The listener's name.
    pub fn name(&self) -> &str {
        match self {
            ListenerConfig::SyslogUdp(c) | ListenerConfig::Netflow(c) => &c.name,
            ListenerConfig::SyslogTcp(c) => &c.name,
            ListenerConfig::File(c) => &c.name,
        }
    }
}

/// Builds a [`Collector`].
#[derive(Debug, Clone)]
pub struct CollectorBuilder {
    listeners: Vec<ListenerConfig>,
    capacity: usize,
    state_file: Option<PathBuf>,
}

impl CollectorBuilder {
    /// Add an input.
    pub fn listener(mut self, l: ListenerConfig) -> Self {
        self.listeners.push(l);
        self
    }
    /// Capacity of the output channel (default [`DEFAULT_CHANNEL_CAPACITY`], at least 1).
    pub fn channel_capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }
    /// Where followed files' offsets are persisted (without it, following starts afresh).
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Bind every listener and start the tasks on the current tokio runtime. Returns the
    /// collector handle and the receiving end of the channel.
    pub async fn start(self) -> Result<(Collector, mpsc::Receiver<Input>), CollectError> {
        let (tx, rx) = mpsc::channel(self.capacity);
        let (sd_tx, sd_rx) = watch::channel(false);
        let store = match &self.state_file {
            Some(p) => Some(Arc::new(OffsetStore::load(p)?)),
            None => None,
        };
        let mut names = std::collections::HashSet::new();
        for l in &self.listeners {
            if !names.insert(l.name().to_owned()) {
                return Err(CollectError::DuplicateName(l.name().to_owned()));
            }
        }
        // Bind everything first so a bad address fails before any task runs.
        let mut tasks = JoinSet::new();
        let mut stats = Vec::new();
        for l in self.listeners {
            match l {
                ListenerConfig::SyslogUdp(c) => {
                    let sock = net::bind_udp(c.addr, c.recv_buffer)?;
                    let local = sock.local_addr().map_err(|e| CollectError::Bind {
                        addr: c.addr,
                        source: e,
                    })?;
                    let st = StatsHandle::new(c.name.as_str().into(), "syslog_udp", Some(local));
                    stats.push(st.clone());
                    tasks.spawn(net::run_syslog_udp(sock, c, st, tx.clone(), sd_rx.clone()));
                }
                ListenerConfig::Netflow(c) => {
                    let sock = net::bind_udp(c.addr, c.recv_buffer)?;
                    let local = sock.local_addr().map_err(|e| CollectError::Bind {
                        addr: c.addr,
                        source: e,
                    })?;
                    let st = StatsHandle::new(c.name.as_str().into(), "netflow", Some(local));
                    stats.push(st.clone());
                    tasks.spawn(net::run_netflow(sock, st, tx.clone(), sd_rx.clone()));
                }
                ListenerConfig::SyslogTcp(c) => {
                    let acceptor = match &c.tls {
                        Some(id) => Some(tokio_rustls::TlsAcceptor::from(tls::server_config(id)?)),
                        None => None,
                    };
                    let bind = |e| CollectError::Bind {
                        addr: c.addr,
                        source: e,
                    };
                    let listener = tokio::net::TcpListener::bind(c.addr).await.map_err(bind)?;
                    let local = listener.local_addr().map_err(bind)?;
                    let kind = if acceptor.is_some() {
                        "syslog_tls"
                    } else {
                        "syslog_tcp"
                    };
                    let st = StatsHandle::new(c.name.as_str().into(), kind, Some(local));
                    stats.push(st.clone());
                    tasks.spawn(net::run_syslog_tcp(
                        listener,
                        c,
                        acceptor,
                        st,
                        tx.clone(),
                        sd_rx.clone(),
                    ));
                }
                ListenerConfig::File(c) => {
                    let st = StatsHandle::new(c.name.as_str().into(), "file", None);
                    stats.push(st.clone());
                    tasks.spawn(run_file(c, store.clone(), st, tx.clone(), sd_rx.clone()));
                }
            }
        }
        Ok((
            Collector {
                shutdown: sd_tx,
                tasks,
                stats,
            },
            rx,
        ))
    }
}

/// Running collectors. Dropping it aborts the tasks at once; for a graceful stop call
/// [`Collector::shutdown`], drain the channel, then [`Collector::join`].
#[derive(Debug)]
pub struct Collector {
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    stats: Vec<StatsHandle>,
}

impl Collector {
    /// A builder with no inputs.
    pub fn builder() -> CollectorBuilder {
        CollectorBuilder {
            listeners: Vec::new(),
            capacity: DEFAULT_CHANNEL_CAPACITY,
            state_file: None,
        }
    }

    /// The bound address of listener `name` (useful with port 0).
    pub fn local_addr(&self, name: &str) -> Option<SocketAddr> {
        self.stats
            .iter()
            .find(|s| &*s.name == name)
            .and_then(|s| s.local_addr)
    }

    /// Per-listener statistics. UDP listeners include `udp_socket_drops` read from
    /// `/proc/net/udp` (Linux) at the time of the call.
    pub fn stats(&self) -> Vec<ListenerStats> {
        self.stats
            .iter()
            .map(|s| {
                let mut snap = s.snapshot();
                if matches!(s.kind, "syslog_udp" | "netflow") {
                    if let Some(d) = s.local_addr.and_then(stats::udp_socket_drops) {
                        snap.counters.add("udp_socket_drops", d);
                    }
                }
                snap
            })
            .collect()
    }

    /// Ask every task to stop. Keep receiving from the channel until it yields `None` (all
    /// tasks finished; TCP tasks deliver what they already framed, file inputs save offsets),
    /// then call [`Collector::join`].
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Wait for every task to end (after [`Collector::shutdown`], or when all inputs finished
    /// by themselves, e.g. files read once).
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn run_file(
    cfg: FileConfig,
    store: Option<Arc<OffsetStore>>,
    stats: StatsHandle,
    tx: mpsc::Sender<Input>,
    mut shutdown: watch::Receiver<bool>,
) {
    let source = SourceId {
        listener: stats.name.clone(),
        peer: None,
    };
    if cfg.mode == FileMode::Once || file::is_compressed(&cfg.path) {
        let st = stats.clone();
        let r = tokio::task::spawn_blocking(move || {
            let mut counters = mamori_core::Counters::new();
            let r = file::read_once(
                &cfg.path,
                &source,
                cfg.max_line,
                &mut counters,
                &mut |batch| {
                    let bytes = batch.iter().map(|m| m.bytes.len()).sum();
                    st.received_batch(None, batch.len() as u64, bytes, message::now());
                    for m in batch {
                        if tx.blocking_send(Input::Message(m)).is_err() {
                            return false;
                        }
                    }
                    !*shutdown.borrow()
                },
            );
            st.merge(&counters);
            r
        })
        .await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => stats.incr_with_sample("open_error", || e.to_string()),
            Err(e) => stats.incr_with_sample("task_failed", || e.to_string()),
        }
        return;
    }
    let mut follower = file::Follower::new(cfg.path.clone(), source, cfg.max_line, cfg.start_at);
    let saved = store.as_ref().and_then(|s| s.get(&cfg.path));
    let mut last_save = tokio::time::Instant::now();
    loop {
        let r = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let more = follower.poll(saved, &mut out);
            (follower, out, more)
        })
        .await;
        let (f, out, more) = match r {
            Ok(x) => x,
            Err(e) => {
                stats.incr_with_sample("task_failed", || e.to_string());
                return;
            }
        };
        follower = f;
        stats.merge(&std::mem::take(&mut follower.counters));
        let bytes = out.iter().map(|m| m.bytes.len()).sum();
        stats.received_batch(None, out.len() as u64, bytes, message::now());
        let mut closed = false;
        for m in out {
            if tx.send(Input::Message(m)).await.is_err() {
                closed = true;
                break;
            }
        }
        if closed {
            return;
        }
        if let (Some(store), Some(st)) = (&store, follower.state()) {
            store.set(&cfg.path, st);
            if last_save.elapsed() >= STATE_SAVE_INTERVAL {
                save_state(store, &stats);
                last_save = tokio::time::Instant::now();
            }
        }
        if *shutdown.borrow() {
            break;
        }
        if !more {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(cfg.poll_interval) => {}
            }
        }
    }
    if let Some(store) = &store {
        save_state(store, &stats);
    }
}

fn save_state(store: &OffsetStore, stats: &StatsHandle) {
    if let Err(e) = store.save() {
        stats.incr_with_sample("state_save_failed", || e.to_string());
    }
}
