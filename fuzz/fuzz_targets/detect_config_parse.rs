#![no_main]
//! The detection config parser must reject bad TOML with an error, never panic, and a config
//! it accepts must build an engine.
use libfuzzer_sys::fuzz_target;
use mamori_detect::{DetectConfig, Engine, Intel};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = DetectConfig::from_toml_str(text, "fuzz.toml") {
        assert!(Engine::new(cfg, Intel::empty()).is_ok());
    }
});
