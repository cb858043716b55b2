//! Capture reading: pcap (µs/ns, both byte orders, modified), pcapng (sections, interfaces,
//! resolutions, block kinds), truncated/corrupt/oversized input and garbage.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

use std::io::Read;

use mamori_proto::capture::{CaptureError, CaptureFormat, CaptureReader, MAX_PACKET_LEN};
use mamori_proto::packet::LinkType;
use proptest::prelude::*;

// ---------------------------------------------------------------- builders

fn put16(out: &mut Vec<u8>, v: u16, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put32(out: &mut Vec<u8>, v: u32, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn pcap_header(magic: u32, be: bool, linktype: u32) -> Vec<u8> {
    let mut f = Vec::new();
    put32(&mut f, magic, be);
    put16(&mut f, 2, be);
    put16(&mut f, 4, be);
    put32(&mut f, 0, be);
    put32(&mut f, 0, be);
    put32(&mut f, 262_144, be);
    put32(&mut f, linktype, be);
    f
}

fn pcap_record(f: &mut Vec<u8>, be: bool, sec: u32, frac: u32, data: &[u8], orig: u32) {
    put32(f, sec, be);
    put32(f, frac, be);
    put32(f, data.len() as u32, be);
    put32(f, orig, be);
    f.extend_from_slice(data);
}

/// A pcapng block with `body` padded to 4 bytes.
fn block(out: &mut Vec<u8>, be: bool, btype: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    put32(out, btype, be);
    put32(out, total, be);
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    put32(out, total, be);
}

fn shb(out: &mut Vec<u8>, be: bool) {
    let mut body = Vec::new();
    put32(&mut body, 0x1a2b_3c4d, be);
    put16(&mut body, 1, be);
    put16(&mut body, 0, be);
    body.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
    block(out, be, 0x0a0d_0d0a, &body);
}

/// Options: (code, value).
fn options(be: bool, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut o = Vec::new();
    for (code, val) in opts {
        put16(&mut o, *code, be);
        put16(&mut o, val.len() as u16, be);
        o.extend_from_slice(val);
        o.resize(o.len().div_ceil(4) * 4, 0);
    }
    if !opts.is_empty() {
        o.extend_from_slice(&[0, 0, 0, 0]);
    }
    o
}

fn idb(out: &mut Vec<u8>, be: bool, linktype: u16, snaplen: u32, opts: &[(u16, &[u8])]) {
    let mut body = Vec::new();
    put16(&mut body, linktype, be);
    put16(&mut body, 0, be);
    put32(&mut body, snaplen, be);
    body.extend_from_slice(&options(be, opts));
    block(out, be, 1, &body);
}

fn epb(out: &mut Vec<u8>, be: bool, iface: u32, ts: u64, data: &[u8], orig: u32) {
    let mut body = Vec::new();
    put32(&mut body, iface, be);
    put32(&mut body, (ts >> 32) as u32, be);
    put32(&mut body, ts as u32, be);
    put32(&mut body, data.len() as u32, be);
    put32(&mut body, orig, be);
    body.extend_from_slice(data);
    body.resize(body.len().div_ceil(4) * 4, 0);
    // An epb_flags option, to check options after the data are ignored.
    body.extend_from_slice(&options(be, &[(2, &[0, 0, 0, 1])]));
    block(out, be, 6, &body);
}

/// (ts ns, link type, data, orig_len, interface)
type Got = (i64, u16, Vec<u8>, u32, u32);

fn collect(file: &[u8]) -> (Vec<Got>, Option<CaptureError>) {
    let mut r = CaptureReader::new(file).expect("open");
    let mut got = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => got.push((
                p.ts.unix_nanos(),
                p.linktype.0,
                p.data.to_vec(),
                p.orig_len,
                p.interface,
            )),
            Ok(None) => return (got, None),
            Err(e) => {
                assert!(
                    r.next_packet().unwrap().is_none(),
                    "reader must stop after {e}"
                );
                return (got, Some(e));
            }
        }
    }
}

// ---------------------------------------------------------------- pcap

#[test]
fn pcap_microsecond_and_nanosecond_in_both_byte_orders() {
    for (magic, ns) in [(0xa1b2_c3d4u32, false), (0xa1b2_3c4d, true)] {
        for be in [false, true] {
            let mut f = pcap_header(magic, be, 1);
            pcap_record(&mut f, be, 1_700_000_000, 123_456, &[1, 2, 3], 3);
            pcap_record(&mut f, be, 1_700_000_001, 999_999, &[4, 5, 6, 7, 8], 1514);
            let mut r = CaptureReader::new(&f[..]).unwrap();
            assert_eq!(
                r.format(),
                CaptureFormat::Pcap {
                    nanosecond: ns,
                    big_endian: be,
                    linktype: LinkType::ETHERNET
                }
            );
            let mult = if ns { 1 } else { 1000 };
            let p = r.next_packet().unwrap().unwrap();
            assert_eq!(
                p.ts.unix_nanos(),
                1_700_000_000_000_000_000 + 123_456 * mult
            );
            assert_eq!(p.data, &[1, 2, 3]);
            assert_eq!(p.linktype, LinkType::ETHERNET);
            assert_eq!(p.interface, 0);
            let p = r.next_packet().unwrap().unwrap();
            assert_eq!(
                p.ts.unix_nanos(),
                1_700_000_001_000_000_000 + 999_999 * mult
            );
            assert_eq!(p.data, &[4, 5, 6, 7, 8]);
            assert_eq!(p.orig_len, 1514);
            assert!(r.next_packet().unwrap().is_none());
            assert_eq!(r.packets_read(), 2);
            assert_eq!(r.bytes_read(), f.len() as u64);
        }
    }
}

#[test]
fn pcap_linktype_from_header_and_modified_format() {
    let mut f = pcap_header(0xa1b2_cd34, false, 113);
    // Modified pcap records carry 8 more bytes (ifindex, protocol, pkt_type, pad).
    put32(&mut f, 10, false);
    put32(&mut f, 5, false);
    put32(&mut f, 2, false);
    put32(&mut f, 2, false);
    f.extend_from_slice(&[0xee; 8]);
    f.extend_from_slice(&[9, 8]);
    let (got, err) = collect(&f);
    assert!(err.is_none());
    assert_eq!(got, vec![(10_000_005_000, 113, vec![9, 8], 2, 0)]);
}

#[test]
fn pcap_truncated_mid_record_delivers_complete_packets_then_error() {
    let mut f = pcap_header(0xa1b2_c3d4, false, 1);
    pcap_record(&mut f, false, 1, 0, &[0xaa; 40], 40);
    pcap_record(&mut f, false, 2, 0, &[0xbb; 40], 40);
    let second = 24 + 16 + 40;
    f.truncate(f.len() - 10);
    let (got, err) = collect(&f);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, vec![0xaa; 40]);
    match err {
        Some(CaptureError::Truncated {
            offset,
            packet,
            needed,
        }) => {
            assert_eq!(offset, second as u64);
            assert_eq!(packet, 2);
            assert_eq!(needed, 10);
        }
        other => panic!("expected truncated, got {other:?}"),
    }
}

#[test]
fn pcap_truncated_in_record_header_and_file_header() {
    let mut f = pcap_header(0xa1b2_c3d4, true, 1);
    pcap_record(&mut f, true, 1, 0, &[1], 1);
    f.extend_from_slice(&[0, 0, 0]);
    let (got, err) = collect(&f);
    assert_eq!(got.len(), 1);
    assert!(matches!(
        err,
        Some(CaptureError::Truncated {
            offset: 41,
            packet: 2,
            needed: 13
        })
    ));
    let header = pcap_header(0xa1b2_c3d4, false, 1);
    let e = CaptureReader::new(&header[..10]).unwrap_err();
    assert!(
        matches!(e, CaptureError::Truncated { offset: 0, .. }),
        "{e}"
    );
}

#[test]
fn pcap_corrupt_length_names_offset_and_stops() {
    let mut f = pcap_header(0xa1b2_c3d4, false, 1);
    pcap_record(&mut f, false, 1, 0, &[1, 2], 2);
    let bad = f.len() as u64;
    put32(&mut f, 2, false);
    put32(&mut f, 0, false);
    put32(&mut f, 0x7fff_ffff, false);
    put32(&mut f, 60, false);
    f.extend_from_slice(&[0; 100]);
    let (got, err) = collect(&f);
    assert_eq!(got.len(), 1);
    match err {
        Some(e @ CaptureError::Corrupt { .. }) => {
            assert!(e.is_fatal());
            let CaptureError::Corrupt {
                offset,
                packet,
                reason,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(offset, bad);
            assert_eq!(packet, 2);
            assert!(reason.contains("2147483647"), "{reason}");
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn pcap_oversized_record_is_skipped_and_reading_continues() {
    let mut f = pcap_header(0xa1b2_c3d4, false, 1);
    pcap_record(&mut f, false, 1, 0, &[1], 1);
    let big_at = f.len() as u64;
    let big = vec![0x55; MAX_PACKET_LEN + 1];
    pcap_record(&mut f, false, 2, 0, &big, big.len() as u32);
    pcap_record(&mut f, false, 3, 0, &[3, 3], 2);
    let mut r = CaptureReader::new(&f[..]).unwrap();
    assert_eq!(r.next_packet().unwrap().unwrap().data, &[1]);
    match r.next_packet() {
        Err(e @ CaptureError::Oversized { .. }) => {
            assert!(!e.is_fatal());
            assert!(matches!(
                e,
                CaptureError::Oversized { offset, packet: 2, .. } if offset == big_at
            ));
        }
        other => panic!("expected oversized, got {other:?}"),
    }
    let p = r.next_packet().unwrap().unwrap();
    assert_eq!(p.data, &[3, 3]);
    assert_eq!(p.ts.unix_secs(), 3);
    assert!(r.next_packet().unwrap().is_none());
    assert_eq!(r.packets_read(), 2);
}

#[test]
fn not_a_capture_and_empty_input() {
    let e = CaptureReader::new(&b"GET / HTTP/1.1\r\n"[..]).unwrap_err();
    assert!(matches!(e, CaptureError::NotACapture { magic } if &magic == b"GET "));
    assert!(e.to_string().contains("not a pcap"));
    let e = CaptureReader::new(&b""[..]).unwrap_err();
    assert!(matches!(
        e,
        CaptureError::NotACapture {
            magic: [0, 0, 0, 0]
        }
    ));
}

/// Yields one byte per read call: buffering must not depend on read sizes.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(out)) => {
                *out = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn many_packets_across_buffer_refills_and_tiny_reads() {
    let mut f = pcap_header(0xa1b2_3c4d, false, 101);
    let n = 30_000u32;
    for i in 0..n {
        let len = 20 + (i as usize * 7) % 90;
        let data = vec![(i % 251) as u8; len];
        pcap_record(&mut f, false, i, i, &data, len as u32);
    }
    assert!(f.len() > 2 * mamori_proto::capture::BUFFER_LEN);
    for trickle in [false, true] {
        let mut r: CaptureReader<Box<dyn Read>> = if trickle {
            CaptureReader::new(Box::new(Trickle(&f)) as Box<dyn Read>).unwrap()
        } else {
            CaptureReader::new(Box::new(&f[..]) as Box<dyn Read>).unwrap()
        };
        let mut i = 0u32;
        while let Some(p) = r.next_packet().unwrap() {
            let len = 20 + (i as usize * 7) % 90;
            assert_eq!(p.data.len(), len, "packet {i}");
            assert!(p.data.iter().all(|b| *b == (i % 251) as u8), "packet {i}");
            assert_eq!(p.ts.unix_nanos(), i as i64 * 1_000_000_000 + i as i64);
            i += 1;
        }
        assert_eq!(i, n);
        assert_eq!(r.bytes_read(), f.len() as u64);
    }
}

/// Delivers `good` bytes, then fails.
struct Failing<'a>(&'a [u8]);

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn io_errors_name_the_offset_and_are_fatal() {
    let mut f = pcap_header(0xa1b2_c3d4, false, 1);
    pcap_record(&mut f, false, 1, 0, &[1, 2, 3], 3);
    let mut r = CaptureReader::new(Failing(&f)).unwrap();
    assert_eq!(r.format().to_string(), "pcap");
    assert_eq!(r.next_packet().unwrap().unwrap().data, &[1, 2, 3]);
    let e = r.next_packet().unwrap_err();
    assert!(e.is_fatal());
    assert_eq!(e.reason_name(), "capture_io_error");
    assert!(matches!(&e, CaptureError::Io(io) if io.offset == f.len() as u64));
    assert!(e.to_string().contains("disk on fire"), "{e}");
    assert!(r.next_packet().unwrap().is_none());
}

// ---------------------------------------------------------------- pcapng

#[test]
fn pcapng_interfaces_resolutions_and_block_kinds() {
    for be in [false, true] {
        let mut f = Vec::new();
        shb(&mut f, be);
        // if0: Ethernet, default µs resolution.
        idb(&mut f, be, 1, 65535, &[]);
        // if1: raw IP, nanoseconds, with an if_name option before it.
        idb(&mut f, be, 101, 65535, &[(2, b"eth1"), (9, &[9])]);
        // if2: SLL, 2^-20 s units, offset 100 s.
        let off = if be {
            100u64.to_be_bytes()
        } else {
            100u64.to_le_bytes()
        };
        idb(&mut f, be, 113, 4, &[(9, &[0x80 | 20]), (14, &off)]);
        // Name resolution, statistics, decryption secrets, custom and unknown blocks.
        block(&mut f, be, 4, &[0; 12]);
        block(&mut f, be, 5, &[0; 20]);
        block(&mut f, be, 0x0a, &[1, 2, 3, 4, 5]);
        block(&mut f, be, 0x0bad, &[7; 9]);
        block(&mut f, be, 0x4000_1234, &[]);
        epb(&mut f, be, 0, 1_700_000_000_000_001, &[0xe0; 14], 60);
        epb(&mut f, be, 1, 1_700_000_000_000_000_123, &[0x45, 0, 0], 3);
        epb(&mut f, be, 2, 3 << 20 | 1 << 19, &[1, 2, 3], 3);
        // Simple packet block: interface 0, captured = min(orig, block).
        let mut spb = Vec::new();
        put32(&mut spb, 5, be);
        spb.extend_from_slice(&[9, 9, 9, 9, 9]);
        block(&mut f, be, 3, &spb);
        // Obsolete packet block on interface 1.
        let mut pb = Vec::new();
        put16(&mut pb, 1, be);
        put16(&mut pb, 0, be);
        put32(&mut pb, 0, be);
        put32(&mut pb, 77, be);
        put32(&mut pb, 2, be);
        put32(&mut pb, 2, be);
        pb.extend_from_slice(&[0x60, 0]);
        block(&mut f, be, 2, &pb);

        let mut r = CaptureReader::new(&f[..]).unwrap();
        assert_eq!(r.format(), CaptureFormat::PcapNg { big_endian: be });
        assert_eq!(r.format().to_string(), "pcapng");
        let mut got = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            got.push((
                p.ts.unix_nanos(),
                p.linktype.0,
                p.data.to_vec(),
                p.orig_len,
                p.interface,
            ));
        }
        assert_eq!(
            r.linktypes(),
            vec![LinkType(1), LinkType(101), LinkType(113)]
        );
        assert_eq!(
            got,
            vec![
                (1_700_000_000_000_001_000, 1, vec![0xe0; 14], 60, 0),
                (1_700_000_000_000_000_123, 101, vec![0x45, 0, 0], 3, 1),
                (103_500_000_000, 113, vec![1, 2, 3], 3, 2),
                (0, 1, vec![9, 9, 9, 9, 9], 5, 0),
                (77, 101, vec![0x60, 0], 2, 1),
            ],
            "big endian {be}"
        );
        assert_eq!(r.bytes_read(), f.len() as u64);
    }
}

#[test]
fn pcapng_second_section_switches_byte_order_and_resets_interfaces() {
    let mut f = Vec::new();
    shb(&mut f, false);
    idb(&mut f, false, 1, 0, &[]);
    epb(&mut f, false, 0, 5, &[1], 1);
    shb(&mut f, true);
    idb(&mut f, true, 229, 0, &[(9, &[3])]);
    epb(&mut f, true, 0, 5, &[2], 1);
    let (got, err) = collect(&f);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        got,
        vec![(5_000, 1, vec![1], 1, 0), (5_000_000, 229, vec![2], 1, 0)]
    );
}

#[test]
fn pcapng_picosecond_resolution_and_negative_offset() {
    let mut f = Vec::new();
    shb(&mut f, false);
    idb(
        &mut f,
        false,
        1,
        0,
        &[(9, &[12]), (14, &(-10i64).to_le_bytes())],
    );
    epb(&mut f, false, 0, 20_000_000_000_123_456, &[1], 1);
    let (got, err) = collect(&f);
    assert!(err.is_none());
    // 20,000 s + 123,456 ps, minus 10 s.
    assert_eq!(got[0].0, 19_990_000_000_123);
}

#[test]
fn pcapng_unknown_interface_is_a_skipped_record() {
    let mut f = Vec::new();
    shb(&mut f, false);
    idb(&mut f, false, 1, 0, &[]);
    let bad_at = f.len() as u64;
    epb(&mut f, false, 7, 0, &[1], 1);
    epb(&mut f, false, 0, 0, &[2], 1);
    let mut r = CaptureReader::new(&f[..]).unwrap();
    match r.next_packet() {
        Err(e @ CaptureError::BadRecord { .. }) => {
            assert!(!e.is_fatal());
            assert!(e.to_string().contains("unknown interface 7"), "{e}");
            assert!(
                matches!(e, CaptureError::BadRecord { offset, packet: 1, .. } if offset == bad_at)
            );
        }
        other => panic!("expected bad record, got {other:?}"),
    }
    assert_eq!(r.next_packet().unwrap().unwrap().data, &[2]);
}

#[test]
fn pcapng_truncated_and_corrupt_blocks() {
    let mut base = Vec::new();
    shb(&mut base, false);
    idb(&mut base, false, 1, 0, &[]);
    epb(&mut base, false, 0, 1, &[1; 10], 10);
    let second = base.len() as u64;
    epb(&mut base, false, 0, 2, &[2; 10], 10);

    // Cut inside the second packet block.
    let (got, err) = collect(&base[..base.len() - 5]);
    assert_eq!(got.len(), 1);
    assert!(
        matches!(err, Some(CaptureError::Truncated { offset, packet: 2, .. }) if offset == second),
        "{err:?}"
    );

    // Block length not a multiple of 4.
    let mut bad = base.clone();
    bad[second as usize + 4] = 0x2b;
    let (got, err) = collect(&bad);
    assert_eq!(got.len(), 1);
    match err {
        Some(CaptureError::Corrupt { offset, reason, .. }) => {
            assert_eq!(offset, second);
            assert!(reason.contains("length"), "{reason}");
        }
        other => panic!("expected corrupt, got {other:?}"),
    }

    // Trailing length that disagrees with the leading one.
    let mut bad = base.clone();
    let end = bad.len();
    bad[end - 4] = 0x10;
    let (got, err) = collect(&bad);
    assert_eq!(got.len(), 1);
    assert!(
        matches!(&err, Some(CaptureError::Corrupt { offset, reason, .. }) if *offset == second && reason.contains("trailing")),
        "{err:?}"
    );

    // A bad byte-order magic in the section header fails at open.
    let mut bad = base.clone();
    bad[8] = 0;
    assert!(matches!(
        CaptureReader::new(&bad[..]),
        Err(CaptureError::Corrupt { offset: 0, .. })
    ));
}

#[test]
fn pcapng_packet_block_overstating_its_captured_length_is_skipped() {
    let mut f = Vec::new();
    shb(&mut f, false);
    idb(&mut f, false, 1, 0, &[]);
    let mut body = Vec::new();
    for v in [0u32, 0, 0, 1000, 1000] {
        put32(&mut body, v, false);
    }
    body.extend_from_slice(&[0; 8]);
    block(&mut f, false, 6, &body);
    epb(&mut f, false, 0, 0, &[4], 1);
    let mut r = CaptureReader::new(&f[..]).unwrap();
    assert!(matches!(
        r.next_packet(),
        Err(CaptureError::BadRecord { .. })
    ));
    assert_eq!(r.next_packet().unwrap().unwrap().data, &[4]);
}

// ---------------------------------------------------------------- garbage

fn drain(bytes: &[u8]) {
    if let Ok(mut r) = CaptureReader::new(bytes) {
        for _ in 0..10_000 {
            match r.next_packet() {
                Ok(Some(p)) => assert!(p.data.len() <= MAX_PACKET_LEN),
                Ok(None) => break,
                Err(e) if e.is_fatal() => {
                    assert!(r.next_packet().unwrap().is_none());
                    break;
                }
                Err(_) => {}
            }
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drain(&bytes);
    }

    #[test]
    fn random_bodies_after_valid_headers_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
        ng in any::<bool>(),
        be in any::<bool>(),
    ) {
        let mut f = if ng {
            let mut f = Vec::new();
            shb(&mut f, be);
            idb(&mut f, be, 1, 0, &[(9, &[0xff])]);
            f
        } else {
            pcap_header(0xa1b2_c3d4, be, 1)
        };
        f.extend_from_slice(&tail);
        drain(&f);
    }
}
