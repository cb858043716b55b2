//! WAL replay over arbitrary bytes: record framing, CRC, hash chain and event decoding must
//! never panic, and the valid prefix must re-scan identically.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let (valid, _, _) = mamori_store::wal::scan_records(data, None, |_| n += 1);
    assert!(valid <= data.len());
    let mut m = 0usize;
    let (again, _, why) = mamori_store::wal::scan_records(&data[..valid], None, |_| m += 1);
    assert_eq!(again, valid);
    assert!(why.is_none());
    assert_eq!(n, m);
    let _ = mamori_store::codec::decode_event(data);
});
