#![no_main]
//! EVTX files (binary XML via the `evtx` crate) to ECS events. Inputs shorter than a file
//! header are padded behind a valid magic so the chunk code is reached.
use libfuzzer_sys::fuzz_target;
use mamori_core::{Counters, Timestamp};

fuzz_target!(|data: &[u8]| {
    let mut buf = Vec::with_capacity(data.len() + 8);
    if !data.starts_with(b"ElfFile\0") {
        buf.extend_from_slice(b"ElfFile\0");
    }
    buf.extend_from_slice(data);
    let mut counters = Counters::new();
    let _ = mamori_logparse::for_each_evtx_event(
        buf,
        Timestamp::from_unix_secs(1_795_400_000),
        &mut counters,
        |ev| {
            let _ = ev.to_json();
        },
    );
});
