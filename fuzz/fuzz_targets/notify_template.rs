//! Fuzz target: `{{field}}` template parsing and rendering in both escape modes.
//!
//! A template that passes `check_json` must render valid JSON for any field value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_notify::template::{Escape, Template};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(split) * rest.len()) / 256;
    let (tpl, value) = rest.split_at(cut);
    let (Ok(tpl), Ok(value)) = (std::str::from_utf8(tpl), std::str::from_utf8(value)) else {
        return;
    };
    let Ok(t) = Template::parse(tpl) else {
        return;
    };
    let _ = t.render(&|_| value.to_owned(), Escape::None);
    if t.check_json().is_ok() {
        // Non-numeric text in a number position renders as `null`; strings are escaped.
        let out = t.render(&|_| value.to_owned(), Escape::Json);
        assert!(
            serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "template {tpl:?} with {value:?} gave {out:?}"
        );
    }
});
