//! dns (dissector module; see registry).
