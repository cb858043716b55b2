//! snmp (dissector module; see registry).
