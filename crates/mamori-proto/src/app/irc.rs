//! irc (dissector module; see registry).
