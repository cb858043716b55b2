//! sip (dissector module; see registry).
