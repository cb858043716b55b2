#![no_main]
//! Syslog stream framing (newline and RFC 6587 octet counting): the first byte picks the
//! split points, so the same stream is also fed in pieces.
use libfuzzer_sys::fuzz_target;
use mamori_logparse::framing::Framer;

fuzz_target!(|data: &[u8]| {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut whole = Framer::with_max_size(256);
    let a: Vec<_> = whole.push(stream).collect();
    let mut pieces = Framer::with_max_size(256);
    let mut b = Vec::new();
    for chunk in stream.chunks(step) {
        b.extend(pieces.push(chunk));
    }
    assert_eq!(a, b, "framing must not depend on how bytes arrive");
    for f in a.iter() {
        assert!(f.data.len() <= 256);
    }
    let _ = whole.finish();
});
