//! mqtt (dissector module; see registry).
