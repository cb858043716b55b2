//! Protocol registry (this file lists the dissectors of one group of protocol modules).
//!
//! Order matters only for identification on non-standard ports (the first definite match
//! wins there): NetBIOS name service comes before DNS because its messages are DNS-shaped.

use super::{
    dhcp, dhcpv6, dns, kerberos, ldap, modbus, mqtt, netbios, ntp, rdp, sip, smb, snmp, syslog,
    tftp, ProtocolDef, Transport,
};

pub(crate) mod util;

const TCP: &[Transport] = &[Transport::Tcp];
const UDP: &[Transport] = &[Transport::Udp];
const BOTH: &[Transport] = &[Transport::Udp, Transport::Tcp];

/// Protocols of this group.
pub(crate) static PROTOCOLS: &[ProtocolDef] = &[
    ProtocolDef {
        name: "netbios",
        transports: UDP,
        default_ports: &[137, 138],
        probe: netbios::probe,
        new: Some(netbios::new_dissector),
    },
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
    ProtocolDef {
        name: "dhcp",
        transports: UDP,
        default_ports: &[67, 68],
        probe: dhcp::probe,
        new: Some(dhcp::new_dissector),
    },
    ProtocolDef {
        name: "dhcpv6",
        transports: UDP,
        default_ports: &[546, 547],
        probe: dhcpv6::probe,
        new: Some(dhcpv6::new_dissector),
    },
    ProtocolDef {
        name: "ntp",
        transports: UDP,
        default_ports: &[123],
        probe: ntp::probe,
        new: Some(ntp::new_dissector),
    },
    ProtocolDef {
        name: "snmp",
        transports: UDP,
        default_ports: &[161, 162],
        probe: snmp::probe,
        new: Some(snmp::new_dissector),
    },
    ProtocolDef {
        name: "kerberos",
        transports: BOTH,
        default_ports: &[88],
        probe: kerberos::probe,
        new: Some(kerberos::new_dissector),
    },
    ProtocolDef {
        name: "ldap",
        transports: BOTH,
        default_ports: &[389, 3268],
        probe: ldap::probe,
        new: Some(ldap::new_dissector),
    },
    ProtocolDef {
        name: "sip",
        transports: BOTH,
        default_ports: &[5060],
        probe: sip::probe,
        new: Some(sip::new_dissector),
    },
    ProtocolDef {
        name: "syslog",
        transports: BOTH,
        default_ports: &[514, 601],
        probe: syslog::probe,
        new: Some(syslog::new_dissector),
    },
    ProtocolDef {
        name: "tftp",
        transports: UDP,
        default_ports: &[69],
        probe: tftp::probe,
        new: Some(tftp::new_dissector),
    },
    ProtocolDef {
        name: "mqtt",
        transports: TCP,
        default_ports: &[1883],
        probe: mqtt::probe,
        new: Some(mqtt::new_dissector),
    },
    ProtocolDef {
        name: "modbus",
        transports: TCP,
        default_ports: &[502],
        probe: modbus::probe,
        new: Some(modbus::new_dissector),
    },
    ProtocolDef {
        name: "smb",
        transports: TCP,
        default_ports: &[445, 139],
        probe: smb::probe,
        new: Some(smb::new_dissector),
    },
    ProtocolDef {
        name: "rdp",
        transports: TCP,
        default_ports: &[3389],
        probe: rdp::probe,
        new: Some(rdp::new_dissector),
    },
];
