//! Protocol registry (this file lists the dissectors of one group of protocol modules).
//!
//! Order matters only between definite matches on the same payload: [`super::identify`]
//! keeps the first `Yes` unless a later one is on its default port. `tor` precedes `tls`
//! and lists the TLS ports, so a Tor-like ClientHello is named `tor` on 443 too.

use super::{
    bittorrent, ftp, http, irc, mail, openvpn, quic, ssh, telnet, tls, tor, wireguard, ProtocolDef,
    Transport,
};

const TCP: &[Transport] = &[Transport::Tcp];
const UDP: &[Transport] = &[Transport::Udp];
const BOTH: &[Transport] = &[Transport::Tcp, Transport::Udp];

/// Protocols of this group.
pub(crate) static PROTOCOLS: &[ProtocolDef] = &[
    ProtocolDef {
        name: "tor",
        transports: TCP,
        default_ports: &[443, 9001, 9030, 9050, 9150, 8443],
        probe: tor::probe,
        new: Some(tor::new_dissector),
    },
    ProtocolDef {
        name: "tls",
        transports: TCP,
        default_ports: &[
            443, 8443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 5061, 3269,
        ],
        probe: tls::probe,
        new: Some(tls::new_dissector),
    },
    ProtocolDef {
        name: "quic",
        transports: UDP,
        default_ports: &[443, 80, 8443],
        probe: quic::probe,
        new: Some(quic::new_dissector),
    },
    ProtocolDef {
        name: "http",
        transports: TCP,
        default_ports: &[80, 8080, 8000, 8008, 3128, 8888],
        probe: http::probe,
        new: Some(http::new_dissector),
    },
    ProtocolDef {
        name: "ssh",
        transports: TCP,
        default_ports: &[22, 2222],
        probe: ssh::probe,
        new: Some(ssh::new_dissector),
    },
    ProtocolDef {
        name: "smtp",
        transports: TCP,
        default_ports: &[25, 587, 2525],
        probe: mail::probe_smtp,
        new: Some(mail::new_smtp),
    },
    ProtocolDef {
        name: "imap",
        transports: TCP,
        default_ports: &[143],
        probe: mail::probe_imap,
        new: Some(mail::new_imap),
    },
    ProtocolDef {
        name: "pop3",
        transports: TCP,
        default_ports: &[110],
        probe: mail::probe_pop3,
        new: Some(mail::new_pop3),
    },
    ProtocolDef {
        name: "ftp",
        transports: TCP,
        default_ports: &[21, 2121],
        probe: ftp::probe,
        new: Some(ftp::new_dissector),
    },
    ProtocolDef {
        name: "telnet",
        transports: TCP,
        default_ports: &[23, 2323],
        probe: telnet::probe,
        new: Some(telnet::new_dissector),
    },
    ProtocolDef {
        name: "irc",
        transports: TCP,
        default_ports: &[6667, 6668, 6669, 6697, 7000],
        probe: irc::probe,
        new: Some(irc::new_dissector),
    },
    ProtocolDef {
        name: "bittorrent",
        transports: BOTH,
        default_ports: &[
            6881, 6882, 6883, 6884, 6885, 6886, 6887, 6888, 6889, 6969, 51413,
        ],
        probe: bittorrent::probe,
        new: Some(bittorrent::new_dissector),
    },
    ProtocolDef {
        name: "openvpn",
        transports: BOTH,
        default_ports: &[1194],
        probe: openvpn::probe,
        new: Some(openvpn::new_dissector),
    },
    ProtocolDef {
        name: "wireguard",
        transports: UDP,
        default_ports: &[51820],
        probe: wireguard::probe,
        new: Some(wireguard::new_dissector),
    },
];
