//! # mamori-server
//!
//! The always-on runtime.
