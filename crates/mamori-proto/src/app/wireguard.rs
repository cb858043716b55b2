//! wireguard (dissector module; see registry).
