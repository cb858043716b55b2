//! smb (dissector module; see registry).
