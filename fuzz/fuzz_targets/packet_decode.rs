//! Fuzz the L2–L4 decoder: the first byte picks the link type, the rest is a sequence of
//! frames (each prefixed by a one-byte time step and a two-byte length) decoded through one
//! `Decoder`, so fragment reassembly state is exercised across frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_core::Timestamp;
use mamori_proto::packet::{Decoder, FragmentLimits, LinkType, Transport};

const LINKTYPES: [LinkType; 10] = [
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::RAW_DLT12,
    LinkType(0xffff),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let linktype = LINKTYPES[usize::from(sel) % LINKTYPES.len()];
    // Small limits so eviction paths are reached with small inputs.
    let mut dec = Decoder::with_limits(FragmentLimits {
        max_datagrams: 4,
        max_fragments: 8,
        ..FragmentLimits::default()
    });
    let mut now = 0i64;
    while rest.len() >= 3 {
        now += i64::from(rest[0]);
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        let body = &rest[3..];
        let (frame, next) = body.split_at(len.min(body.len()));
        rest = next;
        let ts = Timestamp::from_unix_secs(now);
        if let Ok(d) = dec.decode(ts, linktype, frame) {
            let payload_len = match d.transport {
                Transport::Tcp(_, p) => p.len(),
                Transport::Udp { payload, .. } => payload.len(),
                Transport::Icmp { payload, .. } => payload.len(),
                Transport::Other { payload, .. } => payload.len(),
            };
            assert!(payload_len <= 65_535 || !d.ip.reassembled);
        }
        assert!(dec.fragments_in_flight() <= 4);
    }
});
