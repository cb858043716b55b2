//! Fuzz target: `tftp` probe and dissector over arbitrary bytes in arbitrary chunks.
//!
//! The first input byte seeds the chunk sizes, directions and gaps; each chunk is one
//! datagram (UDP) or one stream segment (TCP).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "harness/mod.rs"]
mod harness;
use mamori_proto::app::{tftp, Dir, Dissector, FlowMeta, Transport};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    for transport in [Transport::Udp] {
        let meta = FlowMeta {
            transport,
            client_port: 40_000,
            server_port: 69,
        };
        for dir in [Dir::ToServer, Dir::ToClient] {
            let _ = tftp::probe(&meta, dir, rest);
        }
    }
    let news: &[fn(&FlowMeta) -> Box<dyn Dissector>] = &[tftp::new_dissector];
    harness::dissect(ctl, rest, news);
});
