//! Fuzz the capture reader: any bytes, read until the end or a fatal error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_proto::capture::{CaptureReader, MAX_PACKET_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(data) else {
        return;
    };
    // Every call consumes input or ends, so the bound only guards against a reader bug.
    for _ in 0..1_000_000 {
        match reader.next_packet() {
            Ok(Some(p)) => assert!(p.data.len() <= MAX_PACKET_LEN),
            Ok(None) => break,
            Err(e) if e.is_fatal() => {
                assert!(matches!(reader.next_packet(), Ok(None)));
                break;
            }
            Err(_) => {}
        }
    }
    assert!(reader.bytes_read() <= data.len() as u64);
});
