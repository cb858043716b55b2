//! # mamori-notify
//!
//! Notifications.
