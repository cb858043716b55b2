//! telnet (dissector module; see registry).
