//! # mamori-proto
//!
//! Pure wire parsers over `&[u8]`: capture files ([`capture`]: pcap and pcapng, streamed),
//! link/network/transport decoding ([`packet`]: Ethernet, VLAN, SLL, IPv4/IPv6, GRE, VXLAN,
//! TCP/UDP/ICMP, bounded IPv4 defragmentation) and application protocols ([`app`]: protocol
//! identification by payload and per-protocol dissectors that emit ECS fields) and flow
//! export protocols ([`netflow`]: NetFlow v5/v9, IPFIX, sFlow v5).
//!
//! Parsers are lenient (unknown values still parse), never panic and never allocate without
//! a bound; every entry point has a fuzz target under `fuzz/`.

pub mod app;
pub mod capture;
pub mod netflow;
pub mod packet;
