//! # mamori-logparse
//!
//! Pure log parsers: syslog framing, per-product parsers, CEF/LEEF/JSON, EVTX records to ECS events
