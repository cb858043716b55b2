//! Fuzz target: notification config JSON → `validate_and_build`, and URL parsing.
//!
//! Arbitrary text must give a config or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_notify::config::HttpTarget;
use mamori_notify::NotifyConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = HttpTarget::parse(text) {
        assert!(t.path.starts_with('/'));
        assert!(!t.host.is_empty());
    }
    // Secrets named `file:` are only read when they exist; env lookups are harmless.
    if let Ok(raw) = NotifyConfig::from_json(text) {
        let _ = raw.validate_and_build();
    }
});
