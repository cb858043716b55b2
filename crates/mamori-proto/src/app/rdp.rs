//! rdp (dissector module; see registry).
