//! bittorrent (dissector module; see registry).
