//! What the collectors deliver: raw messages with their metadata, and decoded flow batches.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use mamori_core::{Event, Timestamp};
use mamori_proto::netflow::ExportedFlow;

/// Where a message came from: the listener (or file input) name and the peer address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceId {
    /// Name of the listener or file input that received it (from the configuration).
    pub listener: Arc<str>,
    /// Peer address (UDP source or TCP/TLS peer); `None` for files.
    pub peer: Option<SocketAddr>,
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.peer {
            Some(p) => write!(f, "{}/{p}", self.listener),
            None => f.write_str(&self.listener),
        }
    }
}

/// How a message arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// One UDP datagram.
    Udp,
    /// A frame from a plain TCP connection.
    Tcp,
    /// A frame from a TLS connection (RFC 5425).
    Tls,
    /// A line of a file.
    File {
        /// The file's path.
        path: Arc<PathBuf>,
        /// Byte offset of the line's first byte (in the decompressed stream for `.gz`/`.zst`).
        offset: u64,
    },
}

impl Transport {
    /// Short name: `udp`, `tcp`, `tls` or `file`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::File { .. } => "file",
        }
    }
}

/// One raw message, unparsed. The caller (normally `mamori-logparse`) parses the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// Wall-clock time of receipt (becomes `event.ingested`).
    pub received: Timestamp,
    /// Listener and peer.
    pub source: SourceId,
    /// Transport and, for files, position.
    pub transport: Transport,
    /// The message without framing (no trailing newline).
    pub bytes: Vec<u8>,
    /// The message was longer than the maximum size and was cut.
    pub truncated: bool,
}

/// Flows decoded from one NetFlow/IPFIX/sFlow datagram.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowBatch {
    /// Wall-clock time of receipt.
    pub received: Timestamp,
    /// Listener and exporter address.
    pub source: SourceId,
    /// The decoded flows.
    pub flows: Vec<ExportedFlow>,
}

impl FlowBatch {
    /// The flows as ECS events (`event.dataset: flow`).
    pub fn to_events(&self) -> Vec<Event> {
        self.flows.iter().map(ExportedFlow::to_event).collect()
    }
}

/// What the collector yields on its channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A log message.
    Message(RawMessage),
    /// Decoded flow records.
    Flows(FlowBatch),
}

/// Wall-clock now as a [`Timestamp`] (this crate is the edge; wall time is allowed here).
pub fn now() -> Timestamp {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => Timestamp::from_unix_parts(
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(_) => Timestamp::EPOCH,
    }
}
