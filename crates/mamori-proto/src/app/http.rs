//! http (dissector module; see registry).
