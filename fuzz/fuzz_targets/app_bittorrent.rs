//! Fuzz target: `bittorrent` probe and dissector over arbitrary bytes in arbitrary chunks.
//!
//! The first input byte seeds the chunk sizes and directions; UDP protocols get each chunk
//! as one datagram, TCP protocols as consecutive stream segments.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "harness/mod.rs"]
mod harness;
use mamori_proto::app::{bittorrent, Dir, Dissector, FlowMeta, Transport};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let meta = FlowMeta {
        transport: if ctl & 0x80 == 0 {
            Transport::Tcp
        } else {
            Transport::Udp
        },
        client_port: 40_000,
        server_port: 443,
    };
    for dir in [Dir::ToServer, Dir::ToClient] {
        let _ = bittorrent::probe(&meta, dir, rest);
    }
    let news: &[fn(&FlowMeta) -> Box<dyn Dissector>] = &[bittorrent::new_dissector];
    harness::dissect(ctl, rest, news);
});
