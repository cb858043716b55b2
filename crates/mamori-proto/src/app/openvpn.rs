//! openvpn (dissector module; see registry).
