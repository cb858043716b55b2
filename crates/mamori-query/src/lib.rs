//! # mamori-query
//!
//! The mamori query language: text to AST to typed plan, evaluated over events
