//! ldap (dissector module; see registry).
