//! Shared by the `app_*` fuzz targets: runs each dissector over the input cut into
//! pseudo-random chunks and directions (seeded by the control byte), with gaps, then
//! `finish` and `flow_fields`, so every dissector sees split, reordered and lost data.

use mamori_core::Timestamp;
use mamori_proto::app::{Dir, Dissector, FlowMeta, Transport};

/// Feed `rest` to a fresh dissector from each constructor in `news`.
pub fn dissect(ctl: u8, rest: &[u8], news: &[fn(&FlowMeta) -> Box<dyn Dissector>]) {
    for new in news {
        // The control byte's top bit picks the flow's transport.
        let mut d = new(&FlowMeta {
            transport: if ctl & 0x80 == 0 { Transport::Udp } else { Transport::Tcp },
            client_port: 40_000,
            server_port: 0,
        });
        let mut out = Vec::new();
        let mut seed = u32::from(ctl) | 1;
        let mut pos = 0usize;
        let mut n = 0i64;
        while pos < rest.len() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let len = 1 + (seed >> 16) as usize % 1500;
            let end = rest.len().min(pos + len);
            let dir = if (seed >> 8) & 3 == 0 {
                Dir::ToClient
            } else {
                Dir::ToServer
            };
            let _ = d.feed(dir, &rest[pos..end], Timestamp::from_unix_secs(n), &mut out);
            if (seed >> 12) & 31 == 0 {
                d.gap(dir, len);
            }
            pos = end;
            n += 1;
        }
        d.finish(Timestamp::from_unix_secs(n), &mut out);
        let mut fields = Default::default();
        d.flow_fields(&mut fields);
    }
}
