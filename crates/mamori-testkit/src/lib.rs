//! # mamori-testkit
//!
//! Test kit: builds packets, conversations and log lines in code and writes pcap/pcapng
//! fixtures. Every capture and log line used in mamori's tests and benchmarks comes from here;
//! nothing is copied from elsewhere.

pub mod packet;
pub mod rng;

use mamori_core::Timestamp;

/// A frame with its capture time and pcap link type, as written by the [`pcap`] writers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimedFrame {
    /// Capture time.
    pub ts: Timestamp,
    /// pcap link type (see [`packet::linktype`]).
    pub linktype: u16,
    /// Frame bytes, starting with the link header.
    pub data: Vec<u8>,
}
