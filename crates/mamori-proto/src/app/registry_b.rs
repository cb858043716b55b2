//! Protocol registry (this file lists the dissectors of one group of protocol modules).

use super::{http, ProtocolDef, Transport};

const TCP: &[Transport] = &[Transport::Tcp];

/// Protocols of this group.
pub(crate) static PROTOCOLS: &[ProtocolDef] = &[ProtocolDef {
    name: "http",
    transports: TCP,
    default_ports: &[80, 8080, 8000, 8008, 3128, 8888],
    probe: http::probe,
    new: Some(http::new_dissector),
}];
