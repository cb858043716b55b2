//! # mamori-testkit
//!
//! Test kit: builds packets, conversations and log lines in code and writes pcap/pcapng fixtures
