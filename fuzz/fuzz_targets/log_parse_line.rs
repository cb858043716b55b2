#![no_main]
//! One log line through the dispatcher (every parser family is reachable through the hint
//! chosen by the first byte, or by content when no hint is given).
use libfuzzer_sys::fuzz_target;
use mamori_core::Timestamp;
use mamori_logparse::{Catalog, LineContext, LogParser};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, line)) = data.split_first() else {
        return;
    };
    let names: Vec<&str> = Catalog::parsers().map(|p| p.name).collect();
    let hint = names.get(usize::from(sel) % (names.len() + 1)).copied();
    let mut p = LogParser::default();
    let ctx = LineContext {
        received: Timestamp::from_unix_secs(1_795_400_000),
        source: "fuzz",
        source_ip: None,
        hint,
    };
    let ev = p.parse_line(line, &ctx);
    let _ = ev.to_json();
    // Stateful parsers (Zeek headers) see a second line with the state the first left.
    let _ = p.parse_line(line, &ctx);
});
