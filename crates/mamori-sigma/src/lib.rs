//! # mamori-sigma
//!
//! Sigma rules (detection and correlation) compiled once and evaluated over events
#![allow(missing_docs)]
pub mod condition;
pub mod detection;
pub mod document;
pub mod error;
pub mod mapping;
pub mod pattern;
