//! Manifest parsing and chain checking over arbitrary text must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (entries, _) = mamori_store::manifest::parse_manifest(&text);
    let _ = mamori_store::manifest::check_chain(&entries);
    for e in &entries {
        let _ = e.compute_hash();
    }
    let _ = mamori_store::manifest::unhex::<32>(&text);
});
