//! # mamori-testkit
//!
//! Builds every fixture mamori's tests and benchmarks use — packets, conversations, protocol
//! payloads, capture files and log lines — in code, deterministically. Nothing is copied
//! from elsewhere.
//!
//! | module | what |
//! |---|---|
//! | [`packet`] | [`Frame`] builder: Ethernet/VLAN/QinQ/SLL/SLL2/raw/NULL, IPv4 (options) and IPv6 (extension headers), fragmentation of both, TCP/UDP/ICMP/ICMPv6 with valid checksums, GRE and VXLAN |
//! | [`conv`] | [`TcpConversation`] with seq/ack bookkeeping, [`UdpExchange`], ping, DHCP DORA |
//! | [`payload`] | DNS, TLS (ClientHello, ServerHello, DER X.509), HTTP, DHCP, SSH, SMTP, FTP, Telnet, SMB, NTP, SNMP, LDAP, Kerberos, RDP, NBNS |
//! | [`pcap`] | [`PcapWriter`] and [`PcapNgWriter`] |
//! | [`scenario`] | [`demo`] office capture and the streaming [`bench_capture`] |
//! | [`logs`] | syslog/file log line builders and the [`LogMix`](logs::LogMix) bench iterator |
//! | [`rng`] | the deterministic [`SplitMix64`](rng::SplitMix64) generator |
//!
//! ## Example: a TCP handshake written to an in-memory pcap
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_testkit::conv::TcpConversation;
//! use mamori_testkit::packet::linktype;
//! use mamori_testkit::pcap::PcapWriter;
//!
//! let start = Timestamp::parse_rfc3339("2026-11-02T09:00:00Z").unwrap();
//! let frames = TcpConversation::new(
//!     "192.168.10.21:50123".parse().unwrap(),
//!     "10.0.0.20:22".parse().unwrap(),
//!     start,
//! )
//! .handshake()
//! .frames();
//! assert_eq!(frames.len(), 3);
//!
//! let mut pcap = PcapWriter::new(Vec::new(), linktype::ETHERNET)?;
//! for f in &frames {
//!     pcap.write_frame(f)?;
//! }
//! let bytes = pcap.into_inner();
//! assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]); // little-endian, µs
//! let syn_flags = bytes[24 + 16 + 14 + 20 + 13];
//! assert_eq!(syn_flags, 0x02);
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod conv;
pub mod logs;
pub mod packet;
pub mod payload;
pub mod pcap;
pub mod rng;
pub mod scenario;

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

pub use conv::{Side, TcpConversation, UdpExchange};
pub use packet::{Frame, Mac, TcpFlags, TcpSeg};
pub use pcap::{PcapNgWriter, PcapWriter, TsResolution};
pub use scenario::{bench_capture, demo, write_demo, write_demo_pcapng};
