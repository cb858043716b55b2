//! Capture file writers: classic pcap (µs or ns, little-endian) and pcapng (several
//! interfaces with their own link types and `if_tsresol`), streaming to any [`io::Write`].
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_testkit::packet::linktype;
//! use mamori_testkit::pcap::{PcapWriter, PcapNgWriter, TsResolution};
//!
//! let mut w = PcapWriter::new(Vec::new(), linktype::ETHERNET)?;
//! w.write_packet(Timestamp::from_unix_secs(1), &[0u8; 60])?;
//! let bytes = w.into_inner();
//! assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
//! assert_eq!(bytes.len(), 24 + 16 + 60);
//!
//! let mut ng = PcapNgWriter::new(Vec::new())?;
//! let eth = ng.add_interface(linktype::ETHERNET, TsResolution::Micro, Some("eth0"))?;
//! let raw = ng.add_interface(linktype::RAW, TsResolution::Nano, Some("tun0"))?;
//! ng.write_packet(eth, Timestamp::from_unix_secs(1), &[0u8; 60])?;
//! ng.write_packet(raw, Timestamp::from_unix_secs(2), &[0x45u8; 20])?;
//! assert_eq!(ng.packets(), 2);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use mamori_core::{Counters, Timestamp};

use crate::TimedFrame;

/// Default snapshot length (what tcpdump uses).
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// pcap magic for microsecond timestamps.
pub const PCAP_MAGIC_MICRO: u32 = 0xA1B2_C3D4;
/// pcap magic for nanosecond timestamps.
pub const PCAP_MAGIC_NANO: u32 = 0xA1B2_3C4D;
/// pcapng Section Header Block type.
pub const BLOCK_SHB: u32 = 0x0A0D_0D0A;
/// pcapng Interface Description Block type.
pub const BLOCK_IDB: u32 = 0x0000_0001;
/// pcapng Enhanced Packet Block type.
pub const BLOCK_EPB: u32 = 0x0000_0006;
/// pcapng byte-order magic.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Longest option value written (options carry a 16-bit length).
pub const OPTION_VALUE_MAX: usize = 65_535;
/// Largest packet the writers accept whole; longer data is cut (counted as
/// `packet_over_u32_truncated`).
pub const PACKET_MAX: usize = u32::MAX as usize - 64;

/// Timestamp resolution of a capture file or interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TsResolution {
    /// Microseconds.
    #[default]
    Micro,
    /// Nanoseconds.
    Nano,
}

impl TsResolution {
    fn units(self, ts: Timestamp) -> (i64, u32) {
        match self {
            TsResolution::Micro => (ts.unix_secs(), ts.subsec_nanos() / 1_000),
            TsResolution::Nano => (ts.unix_secs(), ts.subsec_nanos()),
        }
    }

    fn per_sec(self) -> u64 {
        match self {
            TsResolution::Micro => 1_000_000,
            TsResolution::Nano => 1_000_000_000,
        }
    }

    /// The `if_tsresol` option byte (6 or 9: a negative power of ten).
    pub fn if_tsresol(self) -> u8 {
        match self {
            TsResolution::Micro => 6,
            TsResolution::Nano => 9,
        }
    }
}

fn mismatch(frame_lt: u16, file_lt: u16) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("frame link type {frame_lt} does not match the file link type {file_lt}"),
    )
}

/// Classic pcap writer (little-endian).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    w: W,
    linktype: u16,
    res: TsResolution,
    snaplen: u32,
    packets: u64,
    counters: Counters,
}

impl<W: Write> PcapWriter<W> {
    /// A µs-resolution writer with the default snaplen; writes the global header.
    pub fn new(w: W, linktype: u16) -> io::Result<Self> {
        PcapWriter::with_options(w, linktype, TsResolution::Micro, DEFAULT_SNAPLEN)
    }

    /// A writer with explicit resolution and snaplen (0 is treated as the default).
    pub fn with_options(
        mut w: W,
        linktype: u16,
        res: TsResolution,
        snaplen: u32,
    ) -> io::Result<Self> {
        let snaplen = if snaplen == 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        let magic = match res {
            TsResolution::Micro => PCAP_MAGIC_MICRO,
            TsResolution::Nano => PCAP_MAGIC_NANO,
        };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&magic.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0
        h[16..20].copy_from_slice(&snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&u32::from(linktype).to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter {
            w,
            linktype,
            res,
            snaplen,
            packets: 0,
            counters: Counters::new(),
        })
    }

    /// Write one packet captured at `ts` (cut to the snaplen; the original length is kept).
    pub fn write_packet(&mut self, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        self.write_packet_orig_len(ts, data, data.len())
    }

    /// Write one packet with an explicit original length (to build truncated captures).
    pub fn write_packet_orig_len(
        &mut self,
        ts: Timestamp,
        data: &[u8],
        orig_len: usize,
    ) -> io::Result<()> {
        let (mut secs, mut frac) = self.res.units(ts);
        if !(0..=i64::from(u32::MAX)).contains(&secs) {
            self.counters
                .incr_with_sample("timestamp_out_of_range", || ts.to_rfc3339());
            secs = secs.clamp(0, i64::from(u32::MAX));
            frac = 0;
        }
        let cap_limit = (self.snaplen as usize).min(PACKET_MAX);
        let caplen = data.len().min(cap_limit);
        if caplen < data.len() {
            self.counters.incr("snaplen_truncated");
        }
        let orig = u32::try_from(orig_len.max(caplen)).unwrap_or(u32::MAX);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data.get(..caplen).unwrap_or(data))?;
        self.packets += 1;
        Ok(())
    }

    /// Write a [`TimedFrame`]; its link type must be the file's (else `InvalidInput`, counted
    /// as `linktype_mismatch`).
    pub fn write_frame(&mut self, f: &TimedFrame) -> io::Result<()> {
        if f.linktype != self.linktype {
            self.counters.incr("linktype_mismatch");
            return Err(mismatch(f.linktype, self.linktype));
        }
        self.write_packet(f.ts, &f.data)
    }

    /// Packets written.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Counters of adjusted or rejected input (`snaplen_truncated`,
    /// `timestamp_out_of_range`, `linktype_mismatch`).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Flush the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.w
    }
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: u16,
    res: TsResolution,
}

/// pcapng writer (little-endian, one section).
#[derive(Debug)]
pub struct PcapNgWriter<W: Write> {
    w: W,
    ifaces: Vec<Iface>,
    packets: u64,
    counters: Counters,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

fn push_option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    let v = value.get(..OPTION_VALUE_MAX).unwrap_or(value);
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(v.len() as u16).to_le_bytes());
    body.extend_from_slice(v);
    body.extend(std::iter::repeat_n(0, pad4(v.len())));
}

fn end_options(body: &mut Vec<u8>) {
    body.extend_from_slice(&[0, 0, 0, 0]);
}

impl<W: Write> PcapNgWriter<W> {
    /// A writer; writes the Section Header Block (with `shb_userappl`).
    pub fn new(mut w: W) -> io::Result<Self> {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        push_option(&mut body, 4, b"mamori-testkit");
        end_options(&mut body);
        write_block(&mut w, BLOCK_SHB, &body)?;
        Ok(PcapNgWriter {
            w,
            ifaces: Vec::new(),
            packets: 0,
            counters: Counters::new(),
        })
    }

    /// Add an interface (Interface Description Block with `if_name` and `if_tsresol`);
    /// returns its id for [`write_packet`](Self::write_packet).
    pub fn add_interface(
        &mut self,
        linktype: u16,
        res: TsResolution,
        name: Option<&str>,
    ) -> io::Result<u32> {
        let mut body = Vec::with_capacity(32);
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&DEFAULT_SNAPLEN.to_le_bytes());
        if let Some(n) = name {
            push_option(&mut body, 2, n.as_bytes());
        }
        push_option(&mut body, 9, &[res.if_tsresol()]);
        end_options(&mut body);
        write_block(&mut self.w, BLOCK_IDB, &body)?;
        self.ifaces.push(Iface { linktype, res });
        Ok(u32::try_from(self.ifaces.len() - 1).unwrap_or(u32::MAX))
    }

    /// Write a packet on interface `iface` (an unknown id is `InvalidInput`, counted as
    /// `unknown_interface`). Timestamps before 1970 are clamped to 0
    /// (`timestamp_out_of_range`).
    pub fn write_packet(&mut self, iface: u32, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        let Some(info) = self.ifaces.get(iface as usize).copied() else {
            self.counters.incr("unknown_interface");
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "pcapng interface {iface} was not added (have {})",
                    self.ifaces.len()
                ),
            ));
        };
        let (secs, frac) = info.res.units(ts);
        let units = if secs < 0 {
            self.counters
                .incr_with_sample("timestamp_out_of_range", || ts.to_rfc3339());
            0
        } else {
            (secs as u64)
                .saturating_mul(info.res.per_sec())
                .saturating_add(u64::from(frac))
        };
        let data = if data.len() > PACKET_MAX {
            self.counters.incr("packet_over_u32_truncated");
            data.get(..PACKET_MAX).unwrap_or(data)
        } else {
            data
        };
        let len = data.len() as u32;
        let total = 4 + 4 + 20 + data.len() + pad4(data.len()) + 4;
        let total32 = u32::try_from(total).unwrap_or(u32::MAX);
        let mut h = [0u8; 28];
        h[0..4].copy_from_slice(&BLOCK_EPB.to_le_bytes());
        h[4..8].copy_from_slice(&total32.to_le_bytes());
        h[8..12].copy_from_slice(&iface.to_le_bytes());
        h[12..16].copy_from_slice(&((units >> 32) as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(units as u32).to_le_bytes());
        h[20..24].copy_from_slice(&len.to_le_bytes());
        h[24..28].copy_from_slice(&len.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        self.w.write_all(&[0u8; 3][..pad4(data.len())])?;
        self.w.write_all(&total32.to_le_bytes())?;
        self.packets += 1;
        Ok(())
    }

    /// Write a [`TimedFrame`] on the first interface of its link type, adding a µs
    /// interface named after the link type if there is none yet.
    pub fn write_frame(&mut self, f: &TimedFrame) -> io::Result<()> {
        let id = match self.ifaces.iter().position(|i| i.linktype == f.linktype) {
            Some(i) => u32::try_from(i).unwrap_or(u32::MAX),
            None => {
                let name = format!("if{}", f.linktype);
                self.add_interface(f.linktype, TsResolution::Micro, Some(&name))?
            }
        };
        self.write_packet(id, f.ts, &f.data)
    }

    /// Packets written.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Counters of adjusted or rejected input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Flush the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.w
    }
}

fn write_block<W: Write>(w: &mut W, ty: u32, body: &[u8]) -> io::Result<()> {
    let total = u32::try_from(12 + body.len()).unwrap_or(u32::MAX);
    w.write_all(&ty.to_le_bytes())?;
    w.write_all(&total.to_le_bytes())?;
    w.write_all(body)?;
    w.write_all(&total.to_le_bytes())
}

/// A classic pcap (µs) of `frames` in memory; the link type is the first frame's
/// (Ethernet when empty). Frames of another link type are an `InvalidInput` error.
pub fn pcap_bytes(frames: &[TimedFrame]) -> io::Result<Vec<u8>> {
    let lt = frames
        .first()
        .map_or(crate::packet::linktype::ETHERNET, |f| f.linktype);
    let mut w = PcapWriter::new(Vec::new(), lt)?;
    for f in frames {
        w.write_frame(f)?;
    }
    Ok(w.into_inner())
}

/// A pcapng of `frames` in memory (one interface per link type).
pub fn pcapng_bytes(frames: &[TimedFrame]) -> io::Result<Vec<u8>> {
    let mut w = PcapNgWriter::new(Vec::new())?;
    for f in frames {
        w.write_frame(f)?;
    }
    Ok(w.into_inner())
}

/// Write `frames` to a classic pcap file at `path`.
pub fn write_pcap_file(path: impl AsRef<Path>, frames: &[TimedFrame]) -> io::Result<()> {
    let lt = frames
        .first()
        .map_or(crate::packet::linktype::ETHERNET, |f| f.linktype);
    let mut w = PcapWriter::new(BufWriter::new(File::create(path)?), lt)?;
    for f in frames {
        w.write_frame(f)?;
    }
    w.flush()
}

/// Write `frames` to a pcapng file at `path`.
pub fn write_pcapng_file(path: impl AsRef<Path>, frames: &[TimedFrame]) -> io::Result<()> {
    let mut w = PcapNgWriter::new(BufWriter::new(File::create(path)?))?;
    for f in frames {
        w.write_frame(f)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::linktype;

    fn le32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn pcap_global_header_bytes() {
        let w = PcapWriter::new(Vec::new(), linktype::ETHERNET).unwrap();
        assert_eq!(
            w.into_inner(),
            vec![
                0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0
            ]
        );
        let n =
            PcapWriter::with_options(Vec::new(), linktype::LINUX_SLL2, TsResolution::Nano, 65_535)
                .unwrap();
        let b = n.into_inner();
        assert_eq!(&b[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(le32(&b, 16), 65_535);
        assert_eq!(le32(&b, 20), 276);
    }

    #[test]
    fn record_header_and_snaplen() {
        let mut w = PcapWriter::with_options(Vec::new(), 1, TsResolution::Micro, 10).unwrap();
        w.write_packet(Timestamp::from_unix_parts(100, 123_456_789), &[7u8; 20])
            .unwrap();
        assert_eq!(w.counters().get("snaplen_truncated"), 1);
        let b = w.into_inner();
        assert_eq!(le32(&b, 24), 100);
        assert_eq!(le32(&b, 28), 123_456);
        assert_eq!(le32(&b, 32), 10);
        assert_eq!(le32(&b, 36), 20);
        assert_eq!(b.len(), 24 + 16 + 10);
        let mut n = PcapWriter::with_options(Vec::new(), 1, TsResolution::Nano, 0).unwrap();
        n.write_packet(Timestamp::from_unix_parts(100, 123_456_789), &[1])
            .unwrap();
        assert_eq!(le32(&n.into_inner(), 28), 123_456_789);
    }

    #[test]
    fn bad_times_and_linktypes_are_counted_not_fatal() {
        let mut w = PcapWriter::new(Vec::new(), 1).unwrap();
        w.write_packet(Timestamp::from_unix_secs(-5), &[1]).unwrap();
        assert_eq!(w.counters().get("timestamp_out_of_range"), 1);
        let f = TimedFrame {
            ts: Timestamp::EPOCH,
            linktype: 101,
            data: vec![0x45],
        };
        assert!(w.write_frame(&f).is_err());
        assert_eq!(w.counters().get("linktype_mismatch"), 1);
        assert_eq!(w.packets(), 1);
    }

    #[test]
    fn pcapng_block_lengths_and_resolution() {
        let mut ng = PcapNgWriter::new(Vec::new()).unwrap();
        let a = ng
            .add_interface(linktype::ETHERNET, TsResolution::Micro, Some("eth0"))
            .unwrap();
        let b = ng
            .add_interface(linktype::RAW, TsResolution::Nano, None)
            .unwrap();
        ng.write_packet(
            a,
            Timestamp::from_unix_parts(1, 500_000_000),
            &[1, 2, 3, 4, 5],
        )
        .unwrap();
        ng.write_packet(b, Timestamp::from_unix_parts(1, 500_000_000), &[0x45; 8])
            .unwrap();
        assert!(ng.write_packet(9, Timestamp::EPOCH, &[]).is_err());
        assert_eq!(ng.counters().get("unknown_interface"), 1);
        let bytes = ng.into_inner();
        // Walk blocks: each has matching leading and trailing lengths, multiple of 4.
        let mut i = 0;
        let mut types = Vec::new();
        while i < bytes.len() {
            let ty = le32(&bytes, i);
            let len = le32(&bytes, i + 4) as usize;
            assert_eq!(len % 4, 0);
            assert_eq!(le32(&bytes, i + len - 4) as usize, len);
            types.push(ty);
            if ty == BLOCK_EPB {
                let units =
                    (u64::from(le32(&bytes, i + 12)) << 32) | u64::from(le32(&bytes, i + 16));
                let iface = le32(&bytes, i + 8);
                let want = if iface == 0 { 1_500_000 } else { 1_500_000_000 };
                assert_eq!(units, want);
            }
            i += len;
        }
        assert_eq!(
            types,
            vec![BLOCK_SHB, BLOCK_IDB, BLOCK_IDB, BLOCK_EPB, BLOCK_EPB]
        );
        assert_eq!(le32(&bytes, 8), BYTE_ORDER_MAGIC);
        // if_tsresol option of the second IDB is 9
        assert!(bytes.windows(5).any(|w| w == [9, 0, 1, 0, 9]));
    }

    #[test]
    fn pcapng_auto_interfaces_per_linktype() {
        let frames = vec![
            TimedFrame {
                ts: Timestamp::EPOCH,
                linktype: 1,
                data: vec![0; 14],
            },
            TimedFrame {
                ts: Timestamp::EPOCH,
                linktype: 101,
                data: vec![0x45; 20],
            },
            TimedFrame {
                ts: Timestamp::EPOCH,
                linktype: 1,
                data: vec![0; 14],
            },
        ];
        let b = pcapng_bytes(&frames).unwrap();
        let mut i = 0;
        let mut types = Vec::new();
        while i < b.len() {
            types.push(le32(&b, i));
            i += le32(&b, i + 4) as usize;
        }
        assert_eq!(i, b.len());
        assert_eq!(
            types,
            vec![BLOCK_SHB, BLOCK_IDB, BLOCK_EPB, BLOCK_IDB, BLOCK_EPB, BLOCK_EPB]
        );
        assert!(pcap_bytes(&frames).is_err());
        assert_eq!(pcap_bytes(&frames[..1]).unwrap().len(), 24 + 16 + 14);
    }
}
