//! ftp (dissector module; see registry).
