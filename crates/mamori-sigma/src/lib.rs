//! # mamori-sigma
//!
//! Sigma rules (detection and correlation) compiled once and evaluated over events
