//! # mamori-detect
//!
//! Detection engine: built-in checks, threat intel, exclusions and the alert lifecycle.
