#![no_main]
//! NetFlow v5/v9, IPFIX and sFlow datagrams through one decoder (templates persist across
//! inputs split from the same fuzz case, so template/data interplay is exercised).
use libfuzzer_sys::fuzz_target;
use mamori_core::Timestamp;
use mamori_proto::netflow::FlowDecoder;

fuzz_target!(|data: &[u8]| {
    let mut dec = FlowDecoder::new();
    let mut out = Vec::new();
    let exporter = "192.0.2.1:2055".parse().expect("static address");
    for chunk in data.split(|b| *b == 0xFE).take(16) {
        let _ = dec.decode(exporter, chunk, Timestamp::EPOCH, &mut out);
        for f in out.drain(..) {
            let _ = f.to_event();
        }
    }
});
