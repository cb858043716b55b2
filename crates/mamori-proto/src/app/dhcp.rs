//! dhcp (dissector module; see registry).
