//! kerberos (dissector module; see registry).
