//! Protocol registry (this file lists the dissectors of one group of protocol modules).
//!
//! Order matters only for identification on non-standard ports (the first definite match
//! wins there): NetBIOS name service comes before DNS because its messages are DNS-shaped.

use super::{dns, ProtocolDef, Transport};

pub(crate) mod util;

const UDP: &[Transport] = &[Transport::Udp];
const BOTH: &[Transport] = &[Transport::Udp, Transport::Tcp];

/// Protocols of this group.
pub(crate) static PROTOCOLS: &[ProtocolDef] = &[
    ProtocolDef {
        name: "dns",
        transports: BOTH,
        default_ports: &[53],
        probe: dns::probe,
        new: Some(dns::new_dissector),
    },
    ProtocolDef {
        name: "mdns",
        transports: UDP,
        default_ports: &[5353],
        probe: dns::probe_mdns,
        new: Some(dns::new_mdns),
    },
    ProtocolDef {
        name: "llmnr",
        transports: UDP,
        default_ports: &[5355],
        probe: dns::probe_llmnr,
        new: Some(dns::new_llmnr),
    },
];
