//! Fuzz target: `snmp` (and the shared BER reader) probe and dissector over arbitrary bytes in arbitrary chunks.
//!
//! The first input byte seeds the chunk sizes, directions and gaps; each chunk is one
//! datagram (UDP) or one stream segment (TCP).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "harness/mod.rs"]
mod harness;
use mamori_proto::app::{ber, snmp, Dir, Dissector, FlowMeta, Transport};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    for transport in [Transport::Udp] {
        let meta = FlowMeta {
            transport,
            client_port: 40_000,
            server_port: 161,
        };
        for dir in [Dir::ToServer, Dir::ToClient] {
            let _ = snmp::probe(&meta, dir, rest);
        }
    }
    if let Ok((tlv, _)) = ber::read_tlv(rest) {
        let _ = tlv.as_i64();
        let _ = ber::oid_string(tlv.value);
        for child in tlv.children() {
            let _ = child.inner();
        }
    }
    let _ = ber::element_len(rest);
    let news: &[fn(&FlowMeta) -> Box<dyn Dissector>] = &[snmp::new_dissector];
    harness::dissect(ctl, rest, news);
});
