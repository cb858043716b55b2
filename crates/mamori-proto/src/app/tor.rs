//! tor (dissector module; see registry).
