//! syslog (dissector module; see registry).
