//! ssh (dissector module; see registry).
