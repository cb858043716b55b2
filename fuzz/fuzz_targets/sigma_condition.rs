#![no_main]
//! Arbitrary condition text against a fixed set of selection names: parsing must never
//! panic (deep nesting, odd tokens, huge input), and a parsed condition must evaluate.

use libfuzzer_sys::fuzz_target;
use mamori_sigma::condition;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let names: Vec<String> = ["selection", "selection_img", "selection_cli", "filter_main", "_hidden"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Ok(c) = condition::parse(text, &names) {
        let mut flip = false;
        let _ = c.eval(&mut |i| {
            flip = !flip;
            i % 2 == 0 || flip
        });
        let _ = c.required();
    }
});
