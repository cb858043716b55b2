//! Capture files: pcap and pcapng, streamed.
//!
//! [`CaptureReader`] detects the format by its magic number and yields one [`RawPacket`] at a
//! time. It reads through one fixed buffer ([`BUFFER_LEN`]) and hands out packet bytes as
//! slices of it, so memory stays constant on captures of any size and no packet is copied or
//! allocated.
//!
//! Supported:
//! - pcap with microsecond (`a1b2c3d4`) and nanosecond (`a1b23c4d`) magic, either byte order,
//!   and the old "modified pcap" (`a1b2cd34`) with its longer record header;
//! - pcapng sections in either byte order (a file may hold several sections), several
//!   interfaces with different link types, `if_tsresol` (decimal and power-of-two resolutions)
//!   and `if_tsoffset`; enhanced, simple and obsolete packet blocks. Name resolution,
//!   statistics, decryption-secrets, custom and unknown blocks are skipped.
//!
//! Errors name the byte offset and the packet number. [`CaptureError::is_fatal`] tells whether
//! the reader can go on: after a fatal error (truncated file, corrupt framing, I/O) it only
//! returns `Ok(None)`; after a non-fatal one (an oversized record, a malformed record inside
//! intact framing) the record is skipped and the next call continues.
//!
//! ```
//! use mamori_proto::capture::{CaptureFormat, CaptureReader};
//! use mamori_proto::packet::LinkType;
//!
//! // A little-endian microsecond pcap with one 4-byte Ethernet "frame".
//! let mut file = Vec::new();
//! file.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
//! file.extend_from_slice(&2u16.to_le_bytes());
//! file.extend_from_slice(&4u16.to_le_bytes());
//! file.extend_from_slice(&[0; 8]); // thiszone, sigfigs
//! file.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
//! file.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
//! file.extend_from_slice(&1_700_000_000u32.to_le_bytes()); // ts_sec
//! file.extend_from_slice(&250_000u32.to_le_bytes()); // ts_usec
//! file.extend_from_slice(&4u32.to_le_bytes()); // incl_len
//! file.extend_from_slice(&60u32.to_le_bytes()); // orig_len
//! file.extend_from_slice(&[1, 2, 3, 4]);
//!
//! let mut reader = CaptureReader::new(&file[..]).unwrap();
//! assert!(matches!(reader.format(), CaptureFormat::Pcap { nanosecond: false, .. }));
//! let pkt = reader.next_packet().unwrap().unwrap();
//! assert_eq!(pkt.linktype, LinkType::ETHERNET);
//! assert_eq!(pkt.data, &[1, 2, 3, 4]);
//! assert_eq!(pkt.orig_len, 60);
//! assert_eq!(pkt.ts.unix_nanos(), 1_700_000_000_250_000_000);
//! assert!(reader.next_packet().unwrap().is_none());
//! assert_eq!(reader.packets_read(), 1);
//! ```

use std::io::{self, Read};

use mamori_core::Timestamp;

use crate::packet::LinkType;

/// Largest captured packet accepted (bytes). Larger records are skipped with
/// [`CaptureError::Oversized`].
pub const MAX_PACKET_LEN: usize = 256 * 1024;

/// Largest pcapng block kept in memory: a maximal packet plus room for block headers and
/// options. Larger non-packet blocks are skipped without being buffered.
pub const MAX_BLOCK_LEN: usize = MAX_PACKET_LEN + 64 * 1024;

/// Size of the one read buffer every reader owns.
pub const BUFFER_LEN: usize = 1024 * 1024;

/// Records claiming more than this are taken as corrupt framing rather than skipped.
pub const MAX_SKIP_LEN: u64 = 64 * 1024 * 1024;

/// Most interfaces a pcapng section may describe.
pub const MAX_INTERFACES: usize = 4096;

/// Most options read from one pcapng interface description block.
pub const MAX_IDB_OPTIONS: usize = 256;

const _: () = assert!(BUFFER_LEN >= 2 * MAX_BLOCK_LEN);

const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const PCAP_MAGIC_MODIFIED: u32 = 0xa1b2_cd34;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BOM: u32 = 0x1a2b_3c4d;
const BLOCK_IDB: u32 = 1;
const BLOCK_PB: u32 = 2;
const BLOCK_SPB: u32 = 3;
const BLOCK_EPB: u32 = 6;
const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// One frame as read from a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// Capture timestamp.
    pub ts: Timestamp,
    /// Link type of the interface it was captured on.
    pub linktype: LinkType,
    /// Captured bytes (may be shorter than `orig_len` when a snaplen applied).
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
    /// pcapng interface index (0 for pcap).
    pub interface: u32,
}

/// Which kind of capture file is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap.
    Pcap {
        /// Nanosecond timestamps (magic `a1b23c4d`).
        nanosecond: bool,
        /// Big-endian file.
        big_endian: bool,
        /// The link type from the file header.
        linktype: LinkType,
    },
    /// pcapng.
    PcapNg {
        /// Byte order of the current section.
        big_endian: bool,
    },
}

impl std::fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptureFormat::Pcap {
                nanosecond,
                big_endian,
                ..
            } => write!(
                f,
                "pcap{}{}",
                if *nanosecond { " (ns)" } else { "" },
                if *big_endian { " big-endian" } else { "" }
            ),
            CaptureFormat::PcapNg { .. } => f.write_str("pcapng"),
        }
    }
}

/// Errors reading a capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The input does not start with a pcap or pcapng magic number.
    #[error("not a pcap or pcapng file (magic {magic:02x?})")]
    NotACapture {
        /// The first (up to) four bytes, zero-padded.
        magic: [u8; 4],
    },
    /// The file ends inside a header or record.
    #[error("capture truncated at byte {offset} (packet {packet}): needed {needed} more bytes")]
    Truncated {
        /// Byte offset where the incomplete header or record starts.
        offset: u64,
        /// Number (1-based) of the packet being read.
        packet: u64,
        /// Bytes missing from the incomplete unit (at least 1).
        needed: u64,
    },
    /// Framing is inconsistent; nothing after this point can be trusted.
    #[error("corrupt capture at byte {offset} (packet {packet}): {reason}")]
    Corrupt {
        /// Byte offset of the offending header or block.
        offset: u64,
        /// Number (1-based) of the packet being read.
        packet: u64,
        /// What is wrong, naming the value.
        reason: String,
    },
    /// A record larger than [`MAX_PACKET_LEN`] was skipped; the reader continues.
    #[error("record at byte {offset} (packet {packet}) is {len} bytes, over the {max} byte limit: skipped")]
    Oversized {
        /// Byte offset of the record.
        offset: u64,
        /// Number (1-based) of the skipped packet.
        packet: u64,
        /// Its stated length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A record inside intact framing is malformed (e.g. an unknown interface); it was
    /// skipped and the reader continues.
    #[error("bad record at byte {offset} (packet {packet}): {reason}: skipped")]
    BadRecord {
        /// Byte offset of the record.
        offset: u64,
        /// Number (1-based) of the skipped packet.
        packet: u64,
        /// What is wrong, naming the value.
        reason: String,
    },
    /// The underlying reader failed.
    #[error(transparent)]
    Io(IoError),
}

/// An I/O error of the underlying reader, with the offset of the failed read.
#[derive(Debug, thiserror::Error)]
#[error("read error at byte {offset}: {source}")]
pub struct IoError {
    /// Byte offset of the read.
    pub offset: u64,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

impl CaptureError {
    /// Whether the reader stops after this error (it then only returns `Ok(None)`).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            CaptureError::Oversized { .. } | CaptureError::BadRecord { .. }
        )
    }

    /// A stable snake_case name for counters.
    pub fn reason_name(&self) -> &'static str {
        match self {
            CaptureError::NotACapture { .. } => "not_a_capture",
            CaptureError::Truncated { .. } => "capture_truncated",
            CaptureError::Corrupt { .. } => "capture_corrupt",
            CaptureError::Oversized { .. } => "capture_record_oversized",
            CaptureError::BadRecord { .. } => "capture_bad_record",
            CaptureError::Io(_) => "capture_io_error",
        }
    }
}

/// The fixed read buffer: `buf[pos..end]` holds bytes not consumed yet; `base` is the file
/// offset of `buf[0]`.
struct Buffer<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    base: u64,
    eof: bool,
}

impl<R: Read> Buffer<R> {
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn avail(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or(&[])
    }

    /// Make at least `n` (≤ buffer size) bytes available; `Ok(false)` at end of input.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        debug_assert!(n <= self.buf.len());
        if self.end - self.pos >= n {
            return Ok(true);
        }
        if self.pos + n > self.buf.len() {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end - self.pos < n {
            if self.eof {
                return Ok(false);
            }
            let Some(space) = self.buf.get_mut(self.end..) else {
                return Ok(false);
            };
            match self.inner.read(space) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end = (self.end + k).min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    /// Discard `n` bytes; `Ok(false)` when the input ends first.
    fn skip(&mut self, mut n: u64) -> io::Result<bool> {
        loop {
            let have = (self.end - self.pos) as u64;
            if have >= n {
                self.consume(n as usize);
                return Ok(true);
            }
            n -= have;
            self.consume(have as usize);
            if !self.fill(1)? {
                return Ok(false);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: LinkType,
    snaplen: u32,
    /// Timestamp units per second (`if_tsresol`).
    units_per_sec: u64,
    /// `if_tsoffset`, seconds.
    offset_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pcap {
        nanosecond: bool,
        big_endian: bool,
        modified: bool,
        linktype: LinkType,
    },
    PcapNg {
        big_endian: bool,
    },
}

/// A streaming pcap/pcapng reader over any [`Read`].
///
/// Wrap files in nothing: the reader buffers itself (one [`BUFFER_LEN`] buffer).
pub struct CaptureReader<R> {
    buf: Buffer<R>,
    mode: Mode,
    interfaces: Vec<Interface>,
    /// Packets delivered.
    packets: u64,
    /// Packet records seen, including skipped ones (numbers packets in errors).
    records: u64,
    done: bool,
}

impl<R> std::fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("mode", &self.mode)
            .field("offset", &(self.buf.base + self.buf.pos as u64))
            .field("packets", &self.packets)
            .field("done", &self.done)
            .finish()
    }
}

fn rd_u16(b: &[u8], off: usize, be: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(off..off + 2)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    })
}

fn rd_u32(b: &[u8], off: usize, be: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

fn rd_u64(b: &[u8], off: usize, be: bool) -> Option<u64> {
    let a: [u8; 8] = b.get(off..off + 8)?.try_into().ok()?;
    Some(if be {
        u64::from_be_bytes(a)
    } else {
        u64::from_le_bytes(a)
    })
}

/// Units per second for an `if_tsresol` value (saturating for absurd exponents).
fn tsresol_units(v: u8) -> u64 {
    let exp = u32::from(v & 0x7f);
    if v & 0x80 != 0 {
        1u64.checked_shl(exp).unwrap_or(u64::MAX)
    } else {
        10u64.checked_pow(exp).unwrap_or(u64::MAX)
    }
}

fn ts_from_units(units: u64, units_per_sec: u64, offset_secs: i64) -> Timestamp {
    let ns: i64 = match units_per_sec {
        1_000_000 => (units as i128 * 1000).min(i64::MAX as i128) as i64,
        NANOS_PER_SEC => units.min(i64::MAX as u64) as i64,
        0 => 0,
        u => {
            let v = u128::from(units) * u128::from(NANOS_PER_SEC) / u128::from(u);
            v.min(i64::MAX as u128) as i64
        }
    };
    Timestamp::from_unix_nanos(ns.saturating_add(offset_secs.saturating_mul(NANOS_PER_SEC as i64)))
}

impl<R: Read> CaptureReader<R> {
    /// Open a capture: reads the file header and detects pcap or pcapng by its magic.
    pub fn new(inner: R) -> Result<Self, CaptureError> {
        let mut buf = Buffer {
            inner,
            buf: vec![0u8; BUFFER_LEN].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
        };
        let io_err = |source| CaptureError::Io(IoError { offset: 0, source });
        let have4 = buf.fill(4).map_err(io_err)?;
        let head = buf.avail();
        if !have4 {
            let mut magic = [0u8; 4];
            for (m, b) in magic.iter_mut().zip(head) {
                *m = *b;
            }
            return Err(CaptureError::NotACapture { magic });
        }
        let magic: [u8; 4] = [head[0], head[1], head[2], head[3]];
        let le = u32::from_le_bytes(magic);
        let be = u32::from_be_bytes(magic);
        let pcap = [
            (PCAP_MAGIC_US, false, false),
            (PCAP_MAGIC_NS, true, false),
            (PCAP_MAGIC_MODIFIED, false, true),
        ]
        .into_iter()
        .find_map(|(m, ns, modified)| {
            if le == m {
                Some((ns, false, modified))
            } else if be == m {
                Some((ns, true, modified))
            } else {
                None
            }
        });
        let mode = if let Some((nanosecond, big_endian, modified)) = pcap {
            if !buf.fill(24).map_err(io_err)? {
                return Err(CaptureError::Truncated {
                    offset: 0,
                    packet: 1,
                    needed: 24 - buf.avail().len() as u64,
                });
            }
            let network = rd_u32(buf.avail(), 20, big_endian).unwrap_or(0);
            buf.consume(24);
            Mode::Pcap {
                nanosecond,
                big_endian,
                modified,
                linktype: LinkType((network & 0xffff) as u16),
            }
        } else if le == PCAPNG_SHB {
            // Byte order is settled by the section header, parsed by `next_packet`.
            Mode::PcapNg { big_endian: false }
        } else {
            return Err(CaptureError::NotACapture { magic });
        };
        let mut reader = CaptureReader {
            buf,
            mode,
            interfaces: Vec::new(),
            packets: 0,
            records: 0,
            done: false,
        };
        if let Mode::PcapNg { .. } = reader.mode {
            // Validate the first section header now, so a bad file fails at open.
            reader.read_shb()?;
        }
        Ok(reader)
    }

    /// Bytes of the input consumed so far (the offset of the next record).
    pub fn bytes_read(&self) -> u64 {
        self.buf.offset()
    }

    /// Packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// The detected format.
    pub fn format(&self) -> CaptureFormat {
        match self.mode {
            Mode::Pcap {
                nanosecond,
                big_endian,
                linktype,
                ..
            } => CaptureFormat::Pcap {
                nanosecond,
                big_endian,
                linktype,
            },
            Mode::PcapNg { big_endian } => CaptureFormat::PcapNg { big_endian },
        }
    }

    /// Link types of the interfaces of the current pcapng section (the one pcap link type for
    /// pcap).
    pub fn linktypes(&self) -> Vec<LinkType> {
        match self.mode {
            Mode::Pcap { linktype, .. } => vec![linktype],
            Mode::PcapNg { .. } => self.interfaces.iter().map(|i| i.linktype).collect(),
        }
    }

    /// The next packet, `Ok(None)` at the end of the input or after a fatal error.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let r = match self.mode {
            Mode::Pcap { .. } => self.next_pcap(),
            Mode::PcapNg { .. } => self.next_pcapng(),
        };
        match r {
            Ok(Some((start, len, meta))) => {
                self.packets += 1;
                self.records += 1;
                let data = self.buf.buf.get(start..start + len).unwrap_or(&[]);
                Ok(Some(RawPacket {
                    ts: meta.ts,
                    linktype: meta.linktype,
                    data,
                    orig_len: meta.orig_len,
                    interface: meta.interface,
                }))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                if e.is_fatal() {
                    self.done = true;
                }
                Err(e)
            }
        }
    }

    fn io(&self, source: io::Error) -> CaptureError {
        CaptureError::Io(IoError {
            offset: self.buf.offset(),
            source,
        })
    }

    fn truncated(&self, offset: u64, needed: u64) -> CaptureError {
        CaptureError::Truncated {
            offset,
            packet: self.records + 1,
            needed: needed.max(1),
        }
    }

    fn corrupt(&self, offset: u64, reason: String) -> CaptureError {
        CaptureError::Corrupt {
            offset,
            packet: self.records + 1,
            reason,
        }
    }

    /// Returns (buffer start, length, metadata) of the next pcap record.
    fn next_pcap(&mut self) -> Result<Option<(usize, usize, Meta)>, CaptureError> {
        let Mode::Pcap {
            nanosecond,
            big_endian: be,
            modified,
            linktype,
        } = self.mode
        else {
            return Ok(None);
        };
        let hdr_len = if modified { 24 } else { 16 };
        let offset = self.buf.offset();
        if !self.buf.fill(hdr_len).map_err(|e| self.io(e))? {
            let have = self.buf.avail().len();
            if have == 0 {
                return Ok(None);
            }
            return Err(self.truncated(offset, (hdr_len - have) as u64));
        }
        let h = self.buf.avail();
        let (Some(sec), Some(frac), Some(incl), Some(orig)) = (
            rd_u32(h, 0, be),
            rd_u32(h, 4, be),
            rd_u32(h, 8, be),
            rd_u32(h, 12, be),
        ) else {
            return Err(self.truncated(offset, hdr_len as u64));
        };
        let incl_len = u64::from(incl);
        if incl_len > MAX_PACKET_LEN as u64 {
            if incl_len > MAX_SKIP_LEN {
                return Err(self.corrupt(
                    offset,
                    format!("record length {incl_len} is implausible (limit {MAX_SKIP_LEN})"),
                ));
            }
            self.buf.consume(hdr_len);
            if !self.buf.skip(incl_len).map_err(|e| self.io(e))? {
                return Err(self.truncated(offset, 1));
            }
            self.records += 1;
            return Err(CaptureError::Oversized {
                offset,
                packet: self.records,
                len: incl_len,
                max: MAX_PACKET_LEN,
            });
        }
        let total = hdr_len + incl as usize;
        if !self.buf.fill(total).map_err(|e| self.io(e))? {
            let have = self.buf.avail().len();
            return Err(self.truncated(offset, (total - have) as u64));
        }
        let mult: i64 = if nanosecond { 1 } else { 1000 };
        let ts = Timestamp::from_unix_nanos(
            i64::from(sec)
                .saturating_mul(NANOS_PER_SEC as i64)
                .saturating_add(i64::from(frac).saturating_mul(mult)),
        );
        let start = self.buf.pos + hdr_len;
        self.buf.consume(total);
        Ok(Some((
            start,
            incl as usize,
            Meta {
                ts,
                linktype,
                orig_len: orig,
                interface: 0,
            },
        )))
    }

    /// Read a section header block at the current position and switch to its byte order.
    fn read_shb(&mut self) -> Result<(), CaptureError> {
        let offset = self.buf.offset();
        if !self.buf.fill(12).map_err(|e| self.io(e))? {
            let have = self.buf.avail().len();
            return Err(self.truncated(offset, (12 - have) as u64));
        }
        let h = self.buf.avail();
        let be = match rd_u32(h, 8, false) {
            Some(PCAPNG_BOM) => false,
            Some(v) if v.swap_bytes() == PCAPNG_BOM => true,
            v => {
                return Err(self.corrupt(
                    offset,
                    format!(
                        "section header byte-order magic {:08x} unknown",
                        v.unwrap_or(0)
                    ),
                ))
            }
        };
        let blen = rd_u32(h, 4, be).unwrap_or(0) as usize;
        if blen < 28 || !blen.is_multiple_of(4) {
            return Err(self.corrupt(offset, format!("section header length {blen} invalid")));
        }
        if blen > MAX_BLOCK_LEN {
            return Err(self.corrupt(offset, format!("section header length {blen} too large")));
        }
        if !self.buf.fill(blen).map_err(|e| self.io(e))? {
            let have = self.buf.avail().len();
            return Err(self.truncated(offset, (blen - have) as u64));
        }
        let b = self.buf.avail();
        let major = rd_u16(b, 12, be).unwrap_or(0);
        if major != 1 {
            return Err(self.corrupt(offset, format!("pcapng major version {major} unsupported")));
        }
        let trailer = rd_u32(b, blen - 4, be).unwrap_or(0) as usize;
        if trailer != blen {
            return Err(self.corrupt(
                offset,
                format!("section header length {blen} does not match trailing length {trailer}"),
            ));
        }
        self.buf.consume(blen);
        self.mode = Mode::PcapNg { big_endian: be };
        self.interfaces.clear();
        Ok(())
    }

    fn next_pcapng(&mut self) -> Result<Option<(usize, usize, Meta)>, CaptureError> {
        loop {
            let be = match self.mode {
                Mode::PcapNg { big_endian } => big_endian,
                Mode::Pcap { .. } => return Ok(None),
            };
            let offset = self.buf.offset();
            if !self.buf.fill(8).map_err(|e| self.io(e))? {
                let have = self.buf.avail().len();
                if have == 0 {
                    return Ok(None);
                }
                return Err(self.truncated(offset, (8 - have) as u64));
            }
            let h = self.buf.avail();
            let btype = rd_u32(h, 0, be).unwrap_or(0);
            if btype == PCAPNG_SHB {
                self.read_shb()?;
                continue;
            }
            let blen = u64::from(rd_u32(h, 4, be).unwrap_or(0));
            if blen < 12 || blen % 4 != 0 {
                return Err(self.corrupt(
                    offset,
                    format!("block type {btype:#x} length {blen} invalid"),
                ));
            }
            let is_packet = matches!(btype, BLOCK_EPB | BLOCK_SPB | BLOCK_PB);
            if blen > MAX_BLOCK_LEN as u64 {
                if blen > MAX_SKIP_LEN {
                    return Err(self.corrupt(
                        offset,
                        format!("block type {btype:#x} length {blen} is implausible"),
                    ));
                }
                if !self.buf.skip(blen).map_err(|e| self.io(e))? {
                    return Err(self.truncated(offset, 1));
                }
                if is_packet {
                    self.records += 1;
                    return Err(CaptureError::Oversized {
                        offset,
                        packet: self.records,
                        len: blen,
                        max: MAX_PACKET_LEN,
                    });
                }
                continue;
            }
            let blen = blen as usize;
            if !self.buf.fill(blen).map_err(|e| self.io(e))? {
                let have = self.buf.avail().len();
                return Err(self.truncated(offset, (blen - have) as u64));
            }
            let start = self.buf.pos;
            let b = self.buf.avail().get(..blen).unwrap_or(&[]);
            let trailer = rd_u32(b, blen - 4, be).unwrap_or(0) as usize;
            if trailer != blen {
                return Err(self.corrupt(
                    offset,
                    format!("block type {btype:#x} length {blen} does not match trailing length {trailer}"),
                ));
            }
            let body = b.get(8..blen - 4).unwrap_or(&[]);
            let result = match btype {
                BLOCK_IDB => {
                    let r = parse_idb(body, be);
                    self.buf.consume(blen);
                    let iface = r.map_err(|reason| self.corrupt(offset, reason))?;
                    if self.interfaces.len() >= MAX_INTERFACES {
                        return Err(self.corrupt(
                            offset,
                            format!("more than {MAX_INTERFACES} interfaces in one section"),
                        ));
                    }
                    self.interfaces.push(iface);
                    continue;
                }
                BLOCK_EPB | BLOCK_PB => self.parse_epb(body, be, btype == BLOCK_PB, offset),
                BLOCK_SPB => self.parse_spb(body, be, offset),
                _ => {
                    self.buf.consume(blen);
                    continue;
                }
            };
            self.buf.consume(blen);
            return match result {
                Ok((data_off, len, meta)) => Ok(Some((start + 8 + data_off, len, meta))),
                Err(e) => {
                    self.records += 1;
                    Err(e)
                }
            };
        }
    }

    fn bad_record(&self, offset: u64, reason: String) -> CaptureError {
        CaptureError::BadRecord {
            offset,
            packet: self.records + 1,
            reason,
        }
    }

    /// Enhanced (or obsolete) packet block: returns (offset in body, length, meta).
    fn parse_epb(
        &self,
        body: &[u8],
        be: bool,
        obsolete: bool,
        offset: u64,
    ) -> Result<(usize, usize, Meta), CaptureError> {
        let iface_id = if obsolete {
            rd_u16(body, 0, be).map(u32::from)
        } else {
            rd_u32(body, 0, be)
        };
        let (Some(iface_id), Some(hi), Some(lo), Some(cap), Some(orig)) = (
            iface_id,
            rd_u32(body, 4, be),
            rd_u32(body, 8, be),
            rd_u32(body, 12, be),
            rd_u32(body, 16, be),
        ) else {
            return Err(self.bad_record(offset, "packet block too short".into()));
        };
        let Some(iface) = self.interfaces.get(iface_id as usize) else {
            return Err(self.bad_record(offset, format!("unknown interface {iface_id}")));
        };
        let cap = cap as usize;
        if cap > body.len().saturating_sub(20) {
            return Err(self.bad_record(
                offset,
                format!(
                    "captured length {cap} exceeds block body of {} bytes",
                    body.len()
                ),
            ));
        }
        let units = (u64::from(hi) << 32) | u64::from(lo);
        Ok((
            20,
            cap,
            Meta {
                ts: ts_from_units(units, iface.units_per_sec, iface.offset_secs),
                linktype: iface.linktype,
                orig_len: orig,
                interface: iface_id,
            },
        ))
    }

    fn parse_spb(
        &self,
        body: &[u8],
        be: bool,
        offset: u64,
    ) -> Result<(usize, usize, Meta), CaptureError> {
        let Some(orig) = rd_u32(body, 0, be) else {
            return Err(self.bad_record(offset, "simple packet block too short".into()));
        };
        let Some(iface) = self.interfaces.first() else {
            return Err(self.bad_record(offset, "simple packet block before any interface".into()));
        };
        let mut cap = (orig as usize).min(body.len().saturating_sub(4));
        if iface.snaplen != 0 {
            cap = cap.min(iface.snaplen as usize);
        }
        Ok((
            4,
            cap,
            Meta {
                // Simple packet blocks carry no timestamp.
                ts: Timestamp::EPOCH,
                linktype: iface.linktype,
                orig_len: orig,
                interface: 0,
            },
        ))
    }
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    ts: Timestamp,
    linktype: LinkType,
    orig_len: u32,
    interface: u32,
}

/// Parse an interface description block body.
fn parse_idb(body: &[u8], be: bool) -> Result<Interface, String> {
    let (Some(lt), Some(snaplen)) = (rd_u16(body, 0, be), rd_u32(body, 4, be)) else {
        return Err(format!(
            "interface description block body of {} bytes too short",
            body.len()
        ));
    };
    let mut iface = Interface {
        linktype: LinkType(lt),
        snaplen,
        units_per_sec: 1_000_000,
        offset_secs: 0,
    };
    let mut pos = 8;
    for _ in 0..MAX_IDB_OPTIONS {
        let (Some(code), Some(len)) = (rd_u16(body, pos, be), rd_u16(body, pos + 2, be)) else {
            break;
        };
        let len = usize::from(len);
        let Some(val) = body.get(pos + 4..pos + 4 + len) else {
            break;
        };
        match code {
            OPT_END => break,
            OPT_IF_TSRESOL => {
                if let Some(&v) = val.first() {
                    iface.units_per_sec = tsresol_units(v);
                }
            }
            OPT_IF_TSOFFSET => {
                if let Some(v) = rd_u64(val, 0, be) {
                    iface.offset_secs = v as i64;
                }
            }
            _ => {}
        }
        pos += 4 + len.div_ceil(4) * 4;
    }
    Ok(iface)
}
