//! TLS 1.0–1.3 and SSLv3 over TCP (plus SSLv2-style ClientHello detection).
//!
//! Records are framed per direction (bounded), handshake messages are reassembled across
//! records and segments until the direction turns encrypted (ChangeCipherSpec or
//! application data). ClientHello gives SNI, ALPN, offered versions and ciphers, JA3
//! ([`ja3`]) and JA4 ([`ja4`]); ServerHello the negotiated version and cipher and JA3S;
//! a cleartext Certificate (TLS ≤ 1.2) the server certificate fields ([`cert`]). One `tls`
//! record is emitted per handshake when both directions are encrypted, or on finish.

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::http::text::{bounded_str, hex_lower, str_list};
use super::{tor, Dir, Dissector, FlowMeta, Probe, Progress, Record};

pub mod cert;
pub mod ja3;
pub mod ja4;

/// Largest TLS record payload accepted (2^14 plus the 2048 bytes of expansion allowed).
pub const MAX_RECORD_LEN: usize = 16_384 + 2_048;
/// Largest handshake message reassembled (certificate chains included).
pub const MAX_HANDSHAKE_LEN: usize = 64 * 1024;
/// Longest server name kept.
pub const MAX_NAME_LEN: usize = 255;
/// ALPN values kept.
pub const MAX_ALPN: usize = 16;
/// Smallest application-data record accepted by the mid-stream probe (an AEAD tag alone
/// is 16 bytes; anything shorter is not encrypted TLS data).
pub const MIDSTREAM_MIN_RECORD: usize = 17;
/// Cipher suites listed in `tls.client.supported_ciphers`.
pub const MAX_LISTED_CIPHERS: usize = 128;

/// A TLS protocol version; unknown values still parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    /// SSL 2.0.
    pub const SSL2: TlsVersion = TlsVersion(0x0002);
    /// SSL 3.0.
    pub const SSL3: TlsVersion = TlsVersion(0x0300);
    /// TLS 1.0.
    pub const TLS10: TlsVersion = TlsVersion(0x0301);
    /// TLS 1.1.
    pub const TLS11: TlsVersion = TlsVersion(0x0302);
    /// TLS 1.2.
    pub const TLS12: TlsVersion = TlsVersion(0x0303);
    /// TLS 1.3.
    pub const TLS13: TlsVersion = TlsVersion(0x0304);

    /// `tls.version` value ("1.2", "3.0" for SSLv3…), `None` for unknown versions.
    pub fn ecs_version(self) -> Option<&'static str> {
        Some(match self {
            TlsVersion::SSL2 => "2.0",
            TlsVersion::SSL3 => "3.0",
            TlsVersion::TLS10 => "1.0",
            TlsVersion::TLS11 => "1.1",
            TlsVersion::TLS12 => "1.2",
            TlsVersion::TLS13 => "1.3",
            _ => return None,
        })
    }
    /// `tls.version_protocol` value: `ssl` or `tls`.
    pub fn protocol(self) -> &'static str {
        if self.0 <= 0x0300 {
            "ssl"
        } else {
            "tls"
        }
    }
}

/// True for the reserved GREASE values (RFC 8701): `0x?a?a` with equal bytes.
pub fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Extension type numbers used here.
pub mod ext {
    /// server_name.
    pub const SERVER_NAME: u16 = 0;
    /// supported_groups (elliptic curves).
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats.
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms.
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation.
    pub const ALPN: u16 = 16;
    /// supported_versions.
    pub const SUPPORTED_VERSIONS: u16 = 43;
}

/// A parsed ClientHello (borrowing the message bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// `legacy_version` field.
    pub legacy_version: u16,
    /// Offered cipher suites, in order (GREASE included).
    pub ciphers: Vec<u16>,
    /// Extension types, in order (GREASE included).
    pub extensions: Vec<u16>,
    /// Host name from the server_name extension.
    pub sni: Option<&'a [u8]>,
    /// ALPN protocol names, in order.
    pub alpn: Vec<&'a [u8]>,
    /// supported_versions list.
    pub versions: Vec<u16>,
    /// supported_groups list.
    pub groups: Vec<u16>,
    /// ec_point_formats list.
    pub point_formats: Vec<u8>,
    /// signature_algorithms list, in order.
    pub sig_algs: Vec<u16>,
}

/// A parsed ServerHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// `legacy_version` field.
    pub legacy_version: u16,
    /// Selected cipher suite.
    pub cipher: u16,
    /// Extension types, in order.
    pub extensions: Vec<u16>,
    /// Version from supported_versions (TLS 1.3), if present.
    pub selected_version: Option<u16>,
    /// ALPN protocol selected by the server.
    pub alpn: Option<String>,
}

impl ServerHello {
    /// The negotiated version.
    pub fn version(&self) -> TlsVersion {
        TlsVersion(self.selected_version.unwrap_or(self.legacy_version))
    }
}

/// Bounds-checked big-endian reader.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Reader { b }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.b
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    pub(crate) fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some(
            (usize::from(*b.first()?) << 16)
                | (usize::from(*b.get(1)?) << 8)
                | usize::from(*b.get(2)?),
        )
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        ]))
    }
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

fn u16_list(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect()
}

/// Parse a ClientHello body (after the 4-byte handshake header). Lenient: a truncated
/// extension block keeps what was read.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello<'_>> {
    let mut r = Reader::new(body);
    let mut ch = ClientHello {
        legacy_version: r.u16()?,
        ..ClientHello::default()
    };
    r.take(32)?;
    r.vec8()?;
    ch.ciphers = u16_list(r.vec16()?);
    r.vec8()?;
    let Some(exts) = r.vec16() else {
        return Some(ch);
    };
    let mut e = Reader::new(exts);
    while !e.is_empty() {
        let Some(ty) = e.u16() else { break };
        let Some(data) = e.vec16() else { break };
        ch.extensions.push(ty);
        let mut d = Reader::new(data);
        match ty {
            ext::SERVER_NAME => {
                if let Some(list) = d.vec16() {
                    let mut l = Reader::new(list);
                    while let (Some(kind), Some(name)) = (l.u8(), l.vec16()) {
                        if kind == 0 {
                            ch.sni = Some(name);
                            break;
                        }
                    }
                }
            }
            ext::ALPN => {
                if let Some(list) = d.vec16() {
                    let mut l = Reader::new(list);
                    while let Some(p) = l.vec8() {
                        if ch.alpn.len() < MAX_ALPN {
                            ch.alpn.push(p);
                        }
                    }
                }
            }
            ext::SUPPORTED_VERSIONS => {
                if let Some(list) = d.vec8() {
                    ch.versions = u16_list(list);
                }
            }
            ext::SUPPORTED_GROUPS => {
                if let Some(list) = d.vec16() {
                    ch.groups = u16_list(list);
                }
            }
            ext::EC_POINT_FORMATS => {
                if let Some(list) = d.vec8() {
                    ch.point_formats = list.to_vec();
                }
            }
            ext::SIGNATURE_ALGORITHMS => {
                if let Some(list) = d.vec16() {
                    ch.sig_algs = u16_list(list);
                }
            }
            _ => {}
        }
    }
    Some(ch)
}

/// Parse a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    let mut sh = ServerHello {
        legacy_version: r.u16()?,
        ..ServerHello::default()
    };
    r.take(32)?;
    r.vec8()?;
    sh.cipher = r.u16()?;
    r.u8()?;
    let Some(exts) = r.vec16() else {
        return Some(sh);
    };
    let mut e = Reader::new(exts);
    while !e.is_empty() {
        let Some(ty) = e.u16() else { break };
        let Some(data) = e.vec16() else { break };
        sh.extensions.push(ty);
        let mut d = Reader::new(data);
        match ty {
            ext::SUPPORTED_VERSIONS => sh.selected_version = d.u16(),
            ext::ALPN => {
                if let Some(p) = d.vec16().and_then(|l| Reader::new(l).vec8()) {
                    sh.alpn = Some(bounded_str(p, 64));
                }
            }
            _ => {}
        }
    }
    Some(sh)
}

/// IANA name of a cipher suite for the common ones, `0x....` otherwise.
pub fn cipher_name(c: u16) -> String {
    let name = match c {
        0x0000 => "TLS_NULL_WITH_NULL_NULL",
        0x0001 => "TLS_RSA_WITH_NULL_MD5",
        0x0002 => "TLS_RSA_WITH_NULL_SHA",
        0x0003 => "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
        0x0004 => "TLS_RSA_WITH_RC4_128_MD5",
        0x0005 => "TLS_RSA_WITH_RC4_128_SHA",
        0x0009 => "TLS_RSA_WITH_DES_CBC_SHA",
        0x000a => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0016 => "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
        0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0033 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x0039 => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x003b => "TLS_RSA_WITH_NULL_SHA256",
        0x003c => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003d => "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x0067 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        0x006b => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009d => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x009e => "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009f => "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0x00ff => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0x1304 => "TLS_AES_128_CCM_SHA256",
        0x1305 => "TLS_AES_128_CCM_8_SHA256",
        0x5600 => "TLS_FALLBACK_SCSV",
        0xc007 => "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        0xc009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xc00a => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xc011 => "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        0xc012 => "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xc014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xc023 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xc024 => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xc027 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xc028 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xccaa => "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => return format!("0x{c:04x}"),
    };
    name.to_owned()
}

/// Probe: a handshake record holding a ClientHello (to server) or ServerHello (to client),
/// or an SSLv2-style ClientHello.
pub fn probe(_meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    let Some(&b0) = data.first() else {
        return Probe::No;
    };
    if b0 == 0x16 {
        let want = if dir == Dir::ToServer { 1 } else { 2 };
        if data.get(1).is_some_and(|&v| v != 3) || data.get(2).is_some_and(|&v| v > 4) {
            return Probe::No;
        }
        let Some(len) = data
            .get(3..5)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            return Probe::Maybe;
        };
        if !(4..=MAX_RECORD_LEN).contains(&len) {
            return Probe::No;
        }
        return match data.get(5) {
            None => Probe::Maybe,
            Some(&t) if t == want => Probe::Yes,
            Some(_) => Probe::No,
        };
    }
    if dir == Dir::ToServer && b0 & 0x80 != 0 {
        return probe_sslv2(data);
    }
    if matches!(b0, 20 | 21 | 23) {
        return probe_midstream(data);
    }
    Probe::No
}

/// A flow seen from the middle (capture started after the handshake): the payload must be
/// a chain of complete ChangeCipherSpec/alert/application-data records that ends exactly
/// at the end of the payload (at least [`MIDSTREAM_MIN_RECORD`] bytes of record data).
fn probe_midstream(data: &[u8]) -> Probe {
    let mut r = Reader::new(data);
    let mut records = 0;
    while !r.is_empty() {
        // Check each header byte as far as the payload goes.
        let ty = r.u8();
        let major = r.u8();
        let minor = r.u8();
        if ty.is_some_and(|t| !matches!(t, 20 | 21 | 23))
            || major.is_some_and(|m| m != 3)
            || minor.is_some_and(|m| m > 4)
        {
            return Probe::No;
        }
        let Some(len) = r.u16() else {
            // A header cut by segmentation: what is there is valid.
            return if records == 0 {
                Probe::Maybe
            } else {
                Probe::Yes
            };
        };
        let ty = ty.unwrap_or(0);
        let len = usize::from(len);
        if !(1..=MAX_RECORD_LEN).contains(&len) {
            return Probe::No;
        }
        if ty == 23 && len < MIDSTREAM_MIN_RECORD {
            return Probe::No;
        }
        if r.take(len).is_none() {
            // The record continues in a later segment.
            return if records == 0 {
                Probe::Maybe
            } else {
                Probe::Yes
            };
        }
        records += 1;
    }
    Probe::Yes
}

/// SSLv2-style (2-byte header) CLIENT-HELLO as sent by old clients and scanners.
fn probe_sslv2(data: &[u8]) -> Probe {
    let Some(h) = data.get(..11) else {
        return if data.len() < 11 {
            Probe::Maybe
        } else {
            Probe::No
        };
    };
    let len = (usize::from(h[0] & 0x7f) << 8) | usize::from(h[1]);
    let ver = u16::from_be_bytes([h[3], h[4]]);
    let cs = usize::from(u16::from_be_bytes([h[5], h[6]]));
    let sid = usize::from(u16::from_be_bytes([h[7], h[8]]));
    let chal = usize::from(u16::from_be_bytes([h[9], h[10]]));
    let ok = h[2] == 1
        && matches!(ver, 0x0002 | 0x0300..=0x0303)
        && cs > 0
        && cs % 3 == 0
        && (sid == 0 || sid == 16)
        && (16..=32).contains(&chal)
        && len == 9 + cs + sid + chal;
    if ok {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// A fresh TLS dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(TlsDissector::default())
}

#[derive(Debug, Default)]
struct Side {
    rbuf: Vec<u8>,
    hbuf: Vec<u8>,
    encrypted: bool,
    started: bool,
}

/// TLS handshake dissector.
#[derive(Debug, Default)]
pub struct TlsDissector {
    client: Side,
    server: Side,
    fields: Fields,
    client_hello_seen: bool,
    server_hello_seen: bool,
    version: Option<TlsVersion>,
    sni: Option<String>,
    ja3: Option<String>,
    ja4: Option<String>,
    tor_like: bool,
    emitted: bool,
    counters: Counters,
}

impl TlsDissector {
    /// Counters of dropped or malformed input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether Tor-like evidence was seen (random `www.<x>.com` names).
    pub fn tor_like(&self) -> bool {
        self.tor_like
    }

    fn side(&mut self, dir: Dir) -> &mut Side {
        match dir {
            Dir::ToServer => &mut self.client,
            Dir::ToClient => &mut self.server,
        }
    }

    /// Handle one complete record; false when the stream is not TLS.
    fn on_record(&mut self, dir: Dir, ty: u8, payload: &[u8]) -> bool {
        match ty {
            20 | 23 => self.side(dir).encrypted = true,
            21 | 24 => {}
            22 => {
                if self.side(dir).encrypted {
                    return true;
                }
                let side = self.side(dir);
                if side.hbuf.len() + payload.len() > MAX_HANDSHAKE_LEN {
                    side.hbuf.clear();
                    side.encrypted = true;
                    self.counters.incr("tls_handshake_too_large");
                    return true;
                }
                side.hbuf.extend_from_slice(payload);
                self.drain_handshake(dir);
            }
            _ => return false,
        }
        true
    }

    fn drain_handshake(&mut self, dir: Dir) {
        loop {
            let side = self.side(dir);
            let mut r = Reader::new(&side.hbuf);
            let (Some(ty), Some(len)) = (r.u8(), r.u24()) else {
                return;
            };
            if len > MAX_HANDSHAKE_LEN {
                side.hbuf.clear();
                side.encrypted = true;
                self.counters.incr("tls_handshake_too_large");
                return;
            }
            if side.hbuf.len() < 4 + len {
                return;
            }
            let msg: Vec<u8> = side.hbuf.drain(..4 + len).skip(4).collect();
            self.on_handshake(dir, ty, &msg);
        }
    }

    fn on_handshake(&mut self, dir: Dir, ty: u8, body: &[u8]) {
        match (dir, ty) {
            (Dir::ToServer, 1) if !self.client_hello_seen => match parse_client_hello(body) {
                Some(ch) => {
                    self.client_hello_seen = true;
                    let ja3s = ja3::ja3_string(&ch);
                    let ja3h = ja3::md5_hex(ja3s.as_bytes());
                    let ja4 = ja4::ja4(&ch, ja4::Transport::Tcp);
                    client_hello_fields(&ch, &mut self.fields);
                    self.fields
                        .insert("tls.client.ja3_string".into(), Value::from(ja3s));
                    self.fields
                        .insert("tls.client.ja3".into(), Value::from(ja3h.clone()));
                    self.fields
                        .insert("tls.client.ja4".into(), Value::from(ja4.clone()));
                    self.ja3 = Some(ja3h);
                    self.ja4 = Some(ja4);
                    if let Some(sni) = ch.sni {
                        let s = bounded_str(sni, MAX_NAME_LEN);
                        if tor::is_tor_like_name(&s) {
                            self.tor_like = true;
                        }
                        self.sni = Some(s);
                    }
                }
                None => self.counters.incr("tls_bad_client_hello"),
            },
            (Dir::ToClient, 2) if !self.server_hello_seen => match parse_server_hello(body) {
                Some(sh) => {
                    self.server_hello_seen = true;
                    let v = sh.version();
                    self.version = Some(v);
                    let f = &mut self.fields;
                    if let Some(s) = v.ecs_version() {
                        f.insert("tls.version".into(), Value::from(s));
                    } else {
                        f.insert("tls.version".into(), Value::from(format!("0x{:04x}", v.0)));
                    }
                    f.insert("tls.version_protocol".into(), Value::from(v.protocol()));
                    f.insert("tls.cipher".into(), Value::from(cipher_name(sh.cipher)));
                    if let Some(a) = &sh.alpn {
                        f.insert("tls.next_protocol".into(), Value::from(a.clone()));
                    }
                    let s = ja3::ja3s_string(&sh);
                    f.insert(
                        "tls.server.ja3s".into(),
                        Value::from(ja3::md5_hex(s.as_bytes())),
                    );
                    f.insert("mamori.tls.ja3s_string".into(), Value::from(s));
                    if v == TlsVersion::TLS13 {
                        // Everything after the ServerHello is encrypted.
                        self.server.encrypted = true;
                    }
                }
                None => self.counters.incr("tls_bad_server_hello"),
            },
            (Dir::ToClient, 11) => {
                if self.fields.contains_key("tls.server.hash.sha1") {
                    return;
                }
                let mut r = Reader::new(body);
                let first = r.u24().and_then(|_| {
                    let n = r.u24()?;
                    r.take(n)
                });
                match first.and_then(cert::parse) {
                    Some(c) => {
                        if c.tor_like() {
                            self.tor_like = true;
                        }
                        c.write_fields(&mut self.fields);
                    }
                    None => self.counters.incr("tls_bad_certificate"),
                }
            }
            _ => {}
        }
    }

    fn sslv2_hello(&mut self, rec: &[u8]) {
        let mut r = Reader::new(rec);
        let (Some(_), Some(ver), Some(cs), Some(_), Some(_)) =
            (r.u8(), r.u16(), r.u16(), r.u16(), r.u16())
        else {
            return;
        };
        self.client_hello_seen = true;
        let f = &mut self.fields;
        f.insert("mamori.tls.sslv2_client_hello".into(), Value::from(true));
        if let Some(v) = TlsVersion(ver).ecs_version() {
            f.insert(
                "mamori.tls.client_versions".into(),
                Value::List(vec![Value::from(v)]),
            );
        }
        if let Some(specs) = r.take(usize::from(cs)) {
            let list: Vec<Value> = specs
                .chunks_exact(3)
                .take(MAX_LISTED_CIPHERS)
                .map(|c| Value::from(format!("0x{}", hex_lower(c))))
                .collect();
            f.insert("tls.client.supported_ciphers".into(), Value::List(list));
        }
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        if self.emitted || !(self.client_hello_seen || self.server_hello_seen) {
            return;
        }
        self.emitted = true;
        let mut fields = std::mem::take(&mut self.fields);
        fields.insert(
            "tls.established".into(),
            Value::from(self.server_hello_seen && self.client.encrypted && self.server.encrypted),
        );
        if self.tor_like {
            fields.insert("mamori.tls.tor_like".into(), Value::from(true));
        }
        // Keep a copy for flow_fields.
        self.fields = fields.clone();
        out.push(Record {
            dataset: "tls",
            ts,
            fields,
        });
    }
}

/// Write the ClientHello summary fields (SNI, ALPN, versions, ciphers).
pub(crate) fn client_hello_fields(ch: &ClientHello<'_>, f: &mut Fields) {
    if let Some(sni) = ch.sni {
        f.insert(
            "tls.client.server_name".into(),
            Value::from(bounded_str(sni, MAX_NAME_LEN)),
        );
    }
    if !ch.alpn.is_empty() {
        let list: Vec<String> = ch.alpn.iter().map(|a| bounded_str(a, 64)).collect();
        f.insert("mamori.tls.alpn".into(), str_list(&list));
    }
    let versions: Vec<Value> = if ch.versions.is_empty() {
        vec![TlsVersion(ch.legacy_version)]
    } else {
        ch.versions.iter().map(|&v| TlsVersion(v)).collect()
    }
    .into_iter()
    .filter(|v| !is_grease(v.0))
    .map(|v| {
        Value::from(
            v.ecs_version()
                .map_or_else(|| format!("0x{:04x}", v.0), str::to_owned),
        )
    })
    .collect();
    f.insert("mamori.tls.client_versions".into(), Value::List(versions));
    let ciphers: Vec<Value> = ch
        .ciphers
        .iter()
        .filter(|&&c| !is_grease(c))
        .take(MAX_LISTED_CIPHERS)
        .map(|&c| Value::from(cipher_name(c)))
        .collect();
    f.insert("tls.client.supported_ciphers".into(), Value::List(ciphers));
}

impl Dissector for TlsDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.emitted {
            return Progress::Done;
        }
        if self.side(dir).encrypted {
            return self.progress(ts, out);
        }
        let side = self.side(dir);
        side.rbuf.extend_from_slice(data);
        let buf = std::mem::take(&mut side.rbuf);
        let mut pos = 0;
        let mut not_tls = false;
        loop {
            let rest = buf.get(pos..).unwrap_or(&[]);
            if rest.len() < 5 {
                break;
            }
            let first = !self.side(dir).started;
            // SSLv2-style ClientHello as the first client record.
            if first && dir == Dir::ToServer && rest.first().is_some_and(|b| b & 0x80 != 0) {
                let len = (usize::from(rest[0] & 0x7f) << 8) | usize::from(rest[1]);
                let Some(rec) = rest.get(2..2 + len) else {
                    break;
                };
                self.sslv2_hello(rec);
                self.side(dir).started = true;
                pos += 2 + len;
                continue;
            }
            let ty = rest[0];
            let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            if rest[1] != 3 || !(20..=24).contains(&ty) || len > MAX_RECORD_LEN {
                not_tls = true;
                break;
            }
            let Some(payload) = rest.get(5..5 + len) else {
                break;
            };
            self.side(dir).started = true;
            if !self.on_record(dir, ty, payload) {
                not_tls = true;
                break;
            }
            pos += 5 + len;
            if self.side(dir).encrypted {
                pos = buf.len();
                break;
            }
        }
        if not_tls {
            self.counters.incr("tls_bad_record");
            if !self.client_hello_seen && !self.server_hello_seen {
                return Progress::NotThisProtocol;
            }
            self.side(dir).encrypted = true;
            return self.progress(ts, out);
        }
        let side = self.side(dir);
        side.rbuf = buf;
        side.rbuf.drain(..pos.min(side.rbuf.len()));
        self.progress(ts, out)
    }

    fn gap(&mut self, dir: Dir, _len: usize) {
        self.counters.incr("gap");
        let side = self.side(dir);
        side.rbuf.clear();
        side.hbuf.clear();
        side.encrypted = true;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        self.emit(ts, out);
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some(s) = &self.sni {
            fields.insert("tls.client.server_name".into(), Value::from(s.clone()));
        }
        if let Some(v) = self.version.and_then(|v| v.ecs_version()) {
            fields.insert("tls.version".into(), Value::from(v));
        }
        if let Some(j) = &self.ja3 {
            fields.insert("tls.client.ja3".into(), Value::from(j.clone()));
        }
        if let Some(j) = &self.ja4 {
            fields.insert("tls.client.ja4".into(), Value::from(j.clone()));
        }
        for k in [
            "tls.server.x509.subject.common_name",
            "tls.server.x509.issuer.common_name",
        ] {
            if let Some(v) = self.fields.get(k) {
                fields.insert(k.into(), v.clone());
            }
        }
        if self.tor_like {
            fields.insert("mamori.tls.tor_like".into(), Value::from(true));
        }
    }
}

impl TlsDissector {
    fn progress(&mut self, ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.client.encrypted && self.server.encrypted {
            self.emit(ts, out);
            Progress::Done
        } else {
            Progress::Continue
        }
    }
}
