//! dhcpv6 (dissector module; see registry).
