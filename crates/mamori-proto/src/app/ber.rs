//! ber (dissector module; see registry).
