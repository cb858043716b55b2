//! tls (dissector module; see registry).
