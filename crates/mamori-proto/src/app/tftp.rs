//! tftp (dissector module; see registry).
