//! modbus (dissector module; see registry).
