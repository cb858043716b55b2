//! mail (dissector module; see registry).
