//! QUIC (RFC 9000) client Initial packets: version, connection IDs and — after removing
//! header protection and decrypting with the version's Initial keys (RFC 9001 §5, RFC 9369
//! for QUIC v2) — the TLS ClientHello carried in CRYPTO frames: SNI, ALPN and JA4 (`q`).
//!
//! Initial keys derive from public values (the version salt and the client's first
//! Destination Connection ID), so this is passive parsing, not breaking encryption.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes_gcm::{AeadInOut, Aes128Gcm};
use hkdf::Hkdf;
use mamori_core::{Counters, Fields, Timestamp, Value};
use sha2::Sha256;

use super::http::text::{bounded_str, hex_lower};
use super::tls::{self, ja3, ja4};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// A client Initial datagram is padded to at least this size (RFC 9000 §14.1).
pub const MIN_INITIAL_DATAGRAM: usize = 1200;
/// Longest connection ID (RFC 9000 §17.2).
pub const MAX_CID_LEN: usize = 20;
/// CRYPTO stream bytes reassembled for the ClientHello.
pub const MAX_CRYPTO_BYTES: usize = 64 * 1024;
/// CRYPTO frames kept while reassembling.
pub const MAX_CRYPTO_FRAMES: usize = 256;
/// Client Initial packets examined before giving up on the ClientHello.
pub const MAX_INITIAL_PACKETS: usize = 16;
/// Coalesced packets examined per datagram.
pub const MAX_COALESCED: usize = 8;
/// Tags read from a gQUIC CHLO.
pub const MAX_CHLO_TAGS: usize = 128;
/// Frames examined per packet.
pub const MAX_FRAMES: usize = 1024;

/// A QUIC version number; unknown values still parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuicVersion(pub u32);

impl QuicVersion {
    /// Version negotiation.
    pub const NEGOTIATION: QuicVersion = QuicVersion(0);
    /// QUIC v1 (RFC 9000).
    pub const V1: QuicVersion = QuicVersion(1);
    /// QUIC v2 (RFC 9369).
    pub const V2: QuicVersion = QuicVersion(0x6b33_43cf);

    /// Initial salt and whether the v2 labels apply; `None` for versions without known keys.
    fn salt(self) -> Option<(&'static [u8; 20], bool)> {
        const SALT_V1: [u8; 20] = [
            0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
            0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
        ];
        const SALT_V2: [u8; 20] = [
            0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
            0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
        ];
        const SALT_D29: [u8; 20] = [
            0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
            0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
        ];
        const SALT_D23: [u8; 20] = [
            0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4,
            0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02,
        ];
        match self.0 {
            1 => Some((&SALT_V1, false)),
            0x6b33_43cf => Some((&SALT_V2, true)),
            0xff00_001d..=0xff00_0020 => Some((&SALT_D29, false)),
            0xff00_0017..=0xff00_001c => Some((&SALT_D23, false)),
            _ => None,
        }
    }

    /// Long-header packet type of Initial packets for this version.
    fn initial_type(self) -> u8 {
        if self == QuicVersion::V2 {
            1
        } else {
            0
        }
    }

    /// `mamori.quic.version` value: `1`, `2`, `draft-29`, or hex.
    pub fn name(self) -> String {
        match self.0 {
            1 => "1".into(),
            0x6b33_43cf => "2".into(),
            v if v & 0xffff_ff00 == 0xff00_0000 => format!("draft-{}", v & 0xff),
            v if v.to_be_bytes().iter().all(u8::is_ascii_alphanumeric) => {
                String::from_utf8_lossy(&v.to_be_bytes()).into_owned()
            }
            v => format!("0x{v:08x}"),
        }
    }
}

/// Client Initial packet protection keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialKeys {
    /// AEAD key (AES-128-GCM).
    pub key: [u8; 16],
    /// AEAD IV.
    pub iv: [u8; 12],
    /// Header protection key (AES-128).
    pub hp: [u8; 16],
}

fn expand_label(secret: &[u8], label: &[u8], out: &mut [u8]) -> Option<()> {
    let hk = Hkdf::<Sha256>::from_prk(secret).ok()?;
    let len = u16::try_from(out.len()).ok()?;
    let mut info = Vec::with_capacity(4 + 6 + label.len());
    info.extend_from_slice(&len.to_be_bytes());
    info.push(u8::try_from(6 + label.len()).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    hk.expand(&info, out).ok()
}

/// Derive the client Initial keys for `version` from the client's first Destination
/// Connection ID. `None` for versions without a known salt.
pub fn client_initial_keys(version: QuicVersion, dcid: &[u8]) -> Option<InitialKeys> {
    let (salt, v2) = version.salt()?;
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), dcid);
    let mut client = [0u8; 32];
    expand_label(prk.as_slice(), b"client in", &mut client)?;
    let mut k = InitialKeys {
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    let (lk, li, lh): (&[u8], &[u8], &[u8]) = if v2 {
        (b"quicv2 key", b"quicv2 iv", b"quicv2 hp")
    } else {
        (b"quic key", b"quic iv", b"quic hp")
    };
    expand_label(&client, lk, &mut k.key)?;
    expand_label(&client, li, &mut k.iv)?;
    expand_label(&client, lh, &mut k.hp)?;
    Some(k)
}

/// Read a QUIC variable-length integer.
fn varint(r: &mut tls::Reader<'_>) -> Option<u64> {
    let first = r.u8()?;
    let extra = (1usize << (first >> 6)) - 1;
    let mut v = u64::from(first & 0x3f);
    for b in r.take(extra)? {
        v = (v << 8) | u64::from(*b);
    }
    Some(v)
}

/// A parsed long header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongHeader<'a> {
    /// First byte (still header-protected).
    pub first: u8,
    /// Version.
    pub version: QuicVersion,
    /// Destination connection ID.
    pub dcid: &'a [u8],
    /// Source connection ID.
    pub scid: &'a [u8],
    /// Long packet type bits.
    pub packet_type: u8,
    /// Offset of the packet number (Initial/0-RTT/Handshake), 0 otherwise.
    pub pn_offset: usize,
    /// Total length of this packet within the datagram.
    pub packet_len: usize,
}

impl LongHeader<'_> {
    /// Whether this is an Initial packet of its version.
    pub fn is_initial(&self) -> bool {
        self.version.salt().is_some() && self.packet_type == self.version.initial_type()
    }
}

/// Parse a long-header packet at the start of `d` (RFC 9000 §17.2).
pub fn parse_long_header(d: &[u8]) -> Option<LongHeader<'_>> {
    let mut r = tls::Reader::new(d);
    let first = r.u8()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = QuicVersion(r.u32()?);
    let dl = usize::from(r.u8()?);
    if dl > MAX_CID_LEN {
        return None;
    }
    let dcid = r.take(dl)?;
    let sl = usize::from(r.u8()?);
    if sl > MAX_CID_LEN {
        return None;
    }
    let scid = r.take(sl)?;
    let packet_type = (first >> 4) & 3;
    let mut h = LongHeader {
        first,
        version,
        dcid,
        scid,
        packet_type,
        pn_offset: 0,
        packet_len: d.len(),
    };
    if version == QuicVersion::NEGOTIATION {
        return Some(h);
    }
    let v2 = version == QuicVersion::V2;
    // Packet types: v1 Initial 0, 0-RTT 1, Handshake 2, Retry 3; v2 Initial 1, 0-RTT 2,
    // Handshake 3, Retry 0.
    let retry = if v2 { 0 } else { 3 };
    if packet_type == retry {
        return Some(h);
    }
    if packet_type == version.initial_type() {
        let tl = usize::try_from(varint(&mut r)?).ok()?;
        r.take(tl)?;
    }
    let len = usize::try_from(varint(&mut r)?).ok()?;
    let pn_offset = d.len() - r.rest().len();
    if len > r.rest().len() || len < 20 {
        return None;
    }
    h.pn_offset = pn_offset;
    h.packet_len = pn_offset + len;
    Some(h)
}

/// Remove header protection and decrypt one Initial packet; returns the plaintext frames.
pub fn decrypt_initial(packet: &[u8], h: &LongHeader<'_>, keys: &InitialKeys) -> Option<Vec<u8>> {
    let pkt = packet.get(..h.packet_len)?;
    let sample: [u8; 16] = pkt
        .get(h.pn_offset + 4..h.pn_offset + 20)?
        .try_into()
        .ok()?;
    let hp = aes::Aes128::new_from_slice(&keys.hp).ok()?;
    let mut mask = aes::Block::from(sample);
    hp.encrypt_block(&mut mask);
    let first = h.first ^ (mask.first()? & 0x0f);
    let pn_len = usize::from(first & 3) + 1;
    let mut header = pkt.get(..h.pn_offset + pn_len)?.to_vec();
    *header.first_mut()? = first;
    let mut pn: u64 = 0;
    for i in 0..pn_len {
        let b = header.get_mut(h.pn_offset + i)?;
        *b ^= mask.get(1 + i)?;
        pn = (pn << 8) | u64::from(*b);
    }
    let body = pkt.get(h.pn_offset + pn_len..)?;
    if body.len() < 16 {
        return None;
    }
    let (ct, tag) = body.split_at(body.len() - 16);
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let aead = Aes128Gcm::new_from_slice(&keys.key).ok()?;
    let mut buf = ct.to_vec();
    let tag: [u8; 16] = tag.try_into().ok()?;
    aead.decrypt_inout_detached(
        &aes_gcm::Nonce::from(nonce),
        &header,
        buf.as_mut_slice().into(),
        &aes_gcm::Tag::from(tag),
    )
    .ok()?;
    Some(buf)
}

/// Collect the CRYPTO frames of a decrypted Initial payload as (offset, data).
pub fn crypto_frames(plain: &[u8]) -> Vec<(u64, &[u8])> {
    let mut out = Vec::new();
    let mut r = tls::Reader::new(plain);
    for _ in 0..MAX_FRAMES {
        let Some(ty) = varint(&mut r) else { break };
        let ok = match ty {
            0x00 | 0x01 => Some(()),
            0x02 | 0x03 => (|| {
                varint(&mut r)?;
                varint(&mut r)?;
                let n = varint(&mut r)?;
                varint(&mut r)?;
                for _ in 0..n.min(MAX_FRAMES as u64) {
                    varint(&mut r)?;
                    varint(&mut r)?;
                }
                if ty == 0x03 {
                    for _ in 0..3 {
                        varint(&mut r)?;
                    }
                }
                Some(())
            })(),
            0x06 => (|| {
                let off = varint(&mut r)?;
                let len = usize::try_from(varint(&mut r)?).ok()?;
                out.push((off, r.take(len)?));
                Some(())
            })(),
            0x1c | 0x1d => (|| {
                varint(&mut r)?;
                if ty == 0x1c {
                    varint(&mut r)?;
                }
                let l = usize::try_from(varint(&mut r)?).ok()?;
                r.take(l)?;
                Some(())
            })(),
            _ => None,
        };
        if ok.is_none() {
            break;
        }
    }
    out
}

/// Google QUIC version (`Q043`, `Q046`, `Q050`…) of a client packet: the legacy public
/// header with the version flag and an 8-byte connection ID, or a long header whose
/// version is `Q0nn`.
pub fn gquic_version(d: &[u8]) -> Option<[u8; 4]> {
    let b0 = *d.first()?;
    let v: [u8; 4] = if b0 & 0x80 != 0 {
        d.get(1..5)?.try_into().ok()?
    } else if b0 & 0x09 == 0x09 {
        d.get(9..13)?.try_into().ok()?
    } else {
        return None;
    };
    (v[0] == b'Q' && v[1] == b'0' && v[2].is_ascii_digit() && v[3].is_ascii_digit()).then_some(v)
}

/// SNI and user agent from a cleartext gQUIC `CHLO` handshake message (versions before
/// Q050 send it unencrypted): a tag table of (tag, end offset) pairs, then the values.
pub fn gquic_chlo(d: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let at = d.windows(4).position(|w| w == b"CHLO")?;
    let mut r = tls::Reader::new(d.get(at + 4..)?);
    let n = usize::from(u16::from_le_bytes(r.take(2)?.try_into().ok()?));
    r.take(2)?;
    if n > MAX_CHLO_TAGS {
        return None;
    }
    let table = r.take(n * 8)?;
    let values = r.rest();
    let (mut sni, mut ua) = (None, None);
    let mut start = 0usize;
    for e in table.chunks_exact(8) {
        let end = usize::try_from(u32::from_le_bytes(e.get(4..8)?.try_into().ok()?)).ok()?;
        let v = values.get(start..end);
        match (e.get(..4), v) {
            (Some(b"SNI\0"), Some(v)) => sni = Some(bounded_str(v, tls::MAX_NAME_LEN)),
            (Some(b"UAID"), Some(v)) => ua = Some(bounded_str(v, 512)),
            _ => {}
        }
        start = end;
    }
    Some((sni, ua))
}

/// Probe: a client Initial of a known version in a full-size datagram, a server
/// long-header packet of a known version, or a Google QUIC client packet.
pub fn probe(_meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    let Some(&b0) = data.first() else {
        return Probe::No;
    };
    if gquic_version(data).is_some() {
        return if dir == Dir::ToServer {
            Probe::Yes
        } else {
            Probe::No
        };
    }
    if b0 & 0xc0 != 0xc0 {
        return Probe::No;
    }
    let Some(h) = parse_long_header(data) else {
        return Probe::No;
    };
    if h.version.salt().is_none() {
        return Probe::No;
    }
    match dir {
        Dir::ToServer => {
            if h.is_initial() && data.len() >= MIN_INITIAL_DATAGRAM && h.dcid.len() >= 8 {
                Probe::Yes
            } else {
                Probe::No
            }
        }
        Dir::ToClient => {
            if h.pn_offset > 0 || h.packet_type == if h.version == QuicVersion::V2 { 0 } else { 3 }
            {
                Probe::Yes
            } else {
                Probe::No
            }
        }
    }
}

/// A fresh QUIC dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(QuicDissector::default())
}

/// QUIC Initial dissector.
#[derive(Debug, Default)]
pub struct QuicDissector {
    version: Option<QuicVersion>,
    keys: Option<InitialKeys>,
    dcid: Option<String>,
    scid: Option<String>,
    server_scid: Option<String>,
    crypto: Vec<(u64, Vec<u8>)>,
    crypto_bytes: usize,
    initials: usize,
    fields: Fields,
    hello: bool,
    emitted: bool,
    counters: Counters,
}

impl QuicDissector {
    /// Counters of dropped or undecryptable input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn client_datagram(&mut self, data: &[u8]) {
        if let Some(v) = gquic_version(data) {
            self.version = Some(QuicVersion(u32::from_be_bytes(v)));
            self.initials += 1;
            if let Some((sni, ua)) = gquic_chlo(data) {
                self.hello = true;
                if let Some(s) = sni {
                    self.fields
                        .insert("tls.client.server_name".into(), Value::from(s));
                }
                if let Some(u) = ua {
                    self.fields
                        .insert("user_agent.original".into(), Value::from(u));
                }
            }
            return;
        }
        let mut rest = data;
        for _ in 0..MAX_COALESCED {
            if rest.first().is_none_or(|b| b & 0x80 == 0) {
                break;
            }
            let Some(h) = parse_long_header(rest) else {
                self.counters.incr("quic_bad_header");
                break;
            };
            if self.version.is_none() {
                self.version = Some(h.version);
            }
            if h.is_initial() && !self.hello {
                if self.keys.is_none() {
                    self.keys = client_initial_keys(h.version, h.dcid);
                    self.dcid = Some(hex_lower(h.dcid));
                    self.scid = Some(hex_lower(h.scid));
                }
                self.initials += 1;
                let mut plain = self
                    .keys
                    .as_ref()
                    .and_then(|k| decrypt_initial(rest, &h, k));
                if plain.is_none() {
                    // After a Retry the client derives new keys from the server-chosen DCID.
                    if let Some(k) = client_initial_keys(h.version, h.dcid) {
                        plain = decrypt_initial(rest, &h, &k);
                        if plain.is_some() {
                            self.keys = Some(k);
                        }
                    }
                }
                match plain {
                    Some(plain) => self.add_crypto(&plain),
                    None => self.counters.incr("quic_decrypt_failed"),
                }
            }
            rest = rest.get(h.packet_len..).unwrap_or(&[]);
        }
    }

    fn add_crypto(&mut self, plain: &[u8]) {
        for (off, d) in crypto_frames(plain) {
            let end = off.saturating_add(d.len() as u64);
            if end > MAX_CRYPTO_BYTES as u64
                || self.crypto.len() >= MAX_CRYPTO_FRAMES
                || self.crypto_bytes + d.len() > MAX_CRYPTO_BYTES
            {
                self.counters.incr("quic_crypto_over_limit");
                continue;
            }
            self.crypto_bytes += d.len();
            self.crypto.push((off, d.to_vec()));
        }
        self.crypto.sort_by_key(|(o, _)| *o);
        let mut stream: Vec<u8> = Vec::new();
        for (off, d) in &self.crypto {
            let Ok(off) = usize::try_from(*off) else {
                break;
            };
            if off > stream.len() {
                break;
            }
            let skip = stream.len() - off;
            if let Some(tail) = d.get(skip..) {
                stream.extend_from_slice(tail);
            }
        }
        let mut r = tls::Reader::new(&stream);
        let (Some(1), Some(len)) = (r.u8(), r.u24()) else {
            return;
        };
        let Some(body) = r.take(len) else { return };
        match tls::parse_client_hello(body) {
            Some(ch) => {
                self.hello = true;
                tls::client_hello_fields(&ch, &mut self.fields);
                self.fields.insert(
                    "tls.client.ja4".into(),
                    Value::from(ja4::ja4(&ch, ja4::Transport::Quic)),
                );
                let s = ja3::ja3_string(&ch);
                self.fields.insert(
                    "tls.client.ja3".into(),
                    Value::from(ja3::md5_hex(s.as_bytes())),
                );
                self.crypto.clear();
            }
            None => self.counters.incr("quic_bad_client_hello"),
        }
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        if self.emitted || self.version.is_none() {
            return;
        }
        self.emitted = true;
        let mut f = self.fields.clone();
        if let Some(v) = self.version {
            f.insert("mamori.quic.version".into(), Value::from(v.name()));
        }
        if let Some(d) = &self.dcid {
            f.insert("mamori.quic.client_dcid".into(), Value::from(d.clone()));
        }
        if let Some(s) = &self.scid {
            f.insert("mamori.quic.client_scid".into(), Value::from(s.clone()));
        }
        if let Some(s) = &self.server_scid {
            f.insert("mamori.quic.server_scid".into(), Value::from(s.clone()));
        }
        out.push(Record {
            dataset: "quic",
            ts,
            fields: f,
        });
    }
}

impl Dissector for QuicDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.emitted {
            return Progress::Done;
        }
        match dir {
            Dir::ToServer => {
                if self.version.is_none()
                    && data.first().is_none_or(|b| b & 0x80 == 0)
                    && gquic_version(data).is_none()
                {
                    return Progress::NotThisProtocol;
                }
                self.client_datagram(data);
            }
            Dir::ToClient => {
                if self.server_scid.is_none() {
                    if let Some(h) = parse_long_header(data) {
                        self.server_scid = Some(hex_lower(h.scid));
                        if self.version.is_none() {
                            self.version = Some(h.version);
                        }
                    }
                }
            }
        }
        if self.hello || self.initials >= MAX_INITIAL_PACKETS {
            self.emit(ts, out);
            return Progress::Done;
        }
        Progress::Continue
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        self.emit(ts, out);
    }

    fn flow_fields(&self, fields: &mut Fields) {
        for k in [
            "tls.client.server_name",
            "tls.client.ja4",
            "mamori.tls.alpn",
        ] {
            if let Some(v) = self.fields.get(k) {
                fields.insert(k.into(), v.clone());
            }
        }
        if let Some(v) = self.version {
            fields.insert("mamori.quic.version".into(), Value::from(v.name()));
        }
    }
}
