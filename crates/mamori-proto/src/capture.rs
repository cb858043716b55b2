//! Capture files: pcap and pcapng, streamed.
//!
//! INTERFACE DRAFT: [`RawPacket`] is the contract with `mamori-flow` and the binary.

use mamori_core::Timestamp;

use crate::packet::LinkType;

/// One frame as read from a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// Capture timestamp.
    pub ts: Timestamp,
    /// Link type of the interface it was captured on.
    pub linktype: LinkType,
    /// Captured bytes (may be shorter than `orig_len` when a snaplen applied).
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
    /// pcapng interface index (0 for pcap).
    pub interface: u32,
}
