//! # mamori-collect
//!
//! Collectors at the async edge.
