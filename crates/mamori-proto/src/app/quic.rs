//! quic (dissector module; see registry).
