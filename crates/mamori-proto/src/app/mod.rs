//! Application-layer protocols: identification by payload and stateful dissectors.
//!
//! The flow table (`mamori-flow`) owns TCP reassembly; a [`Dissector`] receives in-order
//! stream bytes per direction (or whole UDP datagrams) and emits [`Record`]s. Records carry
//! only protocol fields; the flow adds addresses, ports, transport and Community ID.
//!
//! A dissector is built for its flow ([`ProtocolDef::new`] takes the [`FlowMeta`]), so
//! protocols that run over both TCP and UDP (DNS, Kerberos, LDAP/CLDAP, syslog, OpenVPN,
//! BitTorrent) frame their input by the flow's transport instead of guessing from the bytes.
//! Malformed or over-limit input is counted in the dissector's own [`Counters`], exposed
//! through [`Dissector::counters`] so the sensor can report them.
//!
//! Identification: every [`ProtocolDef`] has a `probe` over the first payload of a
//! direction. [`identify`] prefers a definite `Yes`, breaking ties with the protocol's
//! default ports; a port alone never names a protocol (unknown stays `unknown`).

use mamori_core::{Counters, Fields, Timestamp};

// Binary protocols (registry_a).
pub mod ber;
pub mod dhcp;
pub mod dhcpv6;
pub mod dns;
pub mod kerberos;
pub mod ldap;
pub mod modbus;
pub mod mqtt;
pub mod netbios;
pub mod ntp;
pub mod rdp;
pub mod sip;
pub mod smb;
pub mod snmp;
pub mod syslog;
pub mod tftp;
// Text and encrypted protocols (registry_b).
pub mod bittorrent;
pub mod ftp;
pub mod http;
pub mod irc;
pub mod mail;
pub mod openvpn;
pub mod quic;
pub mod ssh;
pub mod telnet;
pub mod tls;
pub mod tor;
pub mod wireguard;

mod registry_a;
mod registry_b;

/// Transport a dissector can run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP stream (reassembled, in order).
    Tcp,
    /// UDP datagrams.
    Udp,
}

/// Direction of payload within a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the client (the side that opened the flow).
    ToServer,
    /// From the server.
    ToClient,
}

/// What a dissector knows about its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowMeta {
    /// TCP or UDP.
    pub transport: Transport,
    /// Client port.
    pub client_port: u16,
    /// Server port.
    pub server_port: u16,
}

/// A protocol record (one DNS transaction, one HTTP request/response, one TLS handshake…).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `event.dataset`, e.g. `dns`, `http`, `tls`.
    pub dataset: &'static str,
    /// Event time of the record (the packet that completed it).
    pub ts: Timestamp,
    /// ECS fields (`dns.question.name`, `http.request.method`, …).
    pub fields: Fields,
}

/// What a dissector wants after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Keep feeding.
    Continue,
    /// Nothing more of interest (e.g. encrypted TLS records): stop feeding this flow.
    Done,
    /// The data turned out not to be this protocol.
    NotThisProtocol,
}

/// Outcome of probing payload for a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Probe {
    /// Definitely not.
    No,
    /// Could be, need more bytes.
    Maybe,
    /// Yes.
    Yes,
}

/// A stateful per-flow dissector.
pub trait Dissector: Send {
    /// Feed in-order payload of one direction (TCP stream chunk or one UDP datagram).
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress;
    /// `len` bytes were lost in `dir` (capture loss or reassembly limit).
    fn gap(&mut self, _dir: Dir, _len: usize) {}
    /// The flow ended: emit partial transactions still pending.
    fn finish(&mut self, _ts: Timestamp, _out: &mut Vec<Record>) {}
    /// Fields summarising the protocol on the flow record (SNI, banners, JA3…).
    fn flow_fields(&self, _fields: &mut Fields) {}
    /// The dissector's own counters (malformed messages, limits hit…), named without the
    /// protocol prefix; the flow table merges them into the sensor's statistics as
    /// `<protocol>.<name>` when the dissector is dropped. `None` when it keeps none.
    fn counters(&self) -> Option<&Counters> {
        None
    }
}

/// Constructor of a protocol's dissector for one flow (see [`ProtocolDef::new`]).
pub type NewDissector = fn(&FlowMeta) -> Box<dyn Dissector>;

/// A protocol mamori can identify.
pub struct ProtocolDef {
    /// `network.protocol` value (`dns`, `http`, `tls`, …).
    pub name: &'static str,
    /// Transports it runs over.
    pub transports: &'static [Transport],
    /// IANA/usual ports; used to break ties and to flag known protocols on other ports.
    pub default_ports: &'static [u16],
    /// Look at the first payload of a direction.
    pub probe: fn(meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe,
    /// A fresh dissector for a flow (the [`FlowMeta`] tells it TCP or UDP and the ports);
    /// `None` for protocols that are only identified.
    pub new: Option<NewDissector>,
}

impl std::fmt::Debug for ProtocolDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtocolDef")
            .field("name", &self.name)
            .finish()
    }
}

/// Result of [`identify`].
#[derive(Debug, Clone, Copy)]
pub enum Identified {
    /// This protocol.
    Protocol(&'static ProtocolDef),
    /// Some protocol might match with more data.
    NeedMore,
    /// Nothing matches.
    Unknown,
}

/// Every protocol definition, in registry order.
pub fn protocols() -> impl Iterator<Item = &'static ProtocolDef> {
    registry_a::PROTOCOLS
        .iter()
        .chain(registry_b::PROTOCOLS.iter())
}

/// Look a protocol up by its `network.protocol` name.
pub fn by_name(name: &str) -> Option<&'static ProtocolDef> {
    protocols().find(|p| p.name == name)
}

/// Identify the protocol of a flow from a direction's first payload.
pub fn identify(meta: &FlowMeta, dir: Dir, data: &[u8]) -> Identified {
    let mut best: Option<&'static ProtocolDef> = None;
    let mut best_on_port = false;
    let mut maybe = false;
    for p in protocols() {
        if !p.transports.contains(&meta.transport) {
            continue;
        }
        match (p.probe)(meta, dir, data) {
            Probe::Yes => {
                let on_port = p.default_ports.contains(&meta.server_port)
                    || p.default_ports.contains(&meta.client_port);
                if best.is_none() || (on_port && !best_on_port) {
                    best = Some(p);
                    best_on_port = on_port;
                }
            }
            Probe::Maybe => maybe = true,
            Probe::No => {}
        }
    }
    match best {
        Some(p) => Identified::Protocol(p),
        None if maybe => Identified::NeedMore,
        None => Identified::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_are_unique_and_lowercase() {
        let mut names: Vec<&str> = protocols().map(|p| p.name).collect();
        for n in &names {
            assert_eq!(*n, n.to_ascii_lowercase());
        }
        let len = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), len, "duplicate protocol names");
    }

    #[test]
    fn empty_payload_is_never_a_definite_match() {
        let meta = FlowMeta {
            transport: Transport::Tcp,
            client_port: 40000,
            server_port: 80,
        };
        assert!(!matches!(
            identify(&meta, Dir::ToServer, b""),
            Identified::Protocol(_)
        ));
    }
}
