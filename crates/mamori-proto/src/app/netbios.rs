//! netbios (dissector module; see registry).
