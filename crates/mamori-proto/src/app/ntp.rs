//! ntp (dissector module; see registry).
