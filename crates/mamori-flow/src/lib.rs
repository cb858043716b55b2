//! # mamori-flow
//!
//! Flow table, TCP state and reassembly, protocol dispatch: packets to flow and protocol records
