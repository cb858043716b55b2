//! # mamori-scan
//!
//! Vulnerability scanning: nmap runner and hardened XML parser, CVE import, CPE and version matching
