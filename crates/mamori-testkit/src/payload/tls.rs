//! TLS handshake messages: ClientHello (version, SNI, ALPN, ciphers, GREASE,
//! supported_versions, signature algorithms, groups, key share), ServerHello, Certificate with
//! a hand-built DER X.509 v3 certificate, ServerHelloDone, and the record layer.
//!
//! ```
//! use mamori_testkit::payload::tls::{ClientHello, ServerHello, Certificate, record, content};
//! use mamori_core::Timestamp;
//!
//! let hello = ClientHello::new().sni("www.example.com").alpn(&["h2", "http/1.1"]).build();
//! assert_eq!(hello[0], content::HANDSHAKE);
//! assert_eq!(hello[5], 1); // client_hello
//!
//! let cert = Certificate::new("www.example.com", "Example Issuing CA 1")
//!     .san(&["www.example.com", "example.com"])
//!     .validity(Timestamp::from_unix_secs(1_780_000_000), Timestamp::from_unix_secs(1_810_000_000))
//!     .der();
//! assert_eq!(cert[0], 0x30);
//! let flight = [ServerHello::tls12(0xC02F).handshake(), Certificate::message(&[cert])].concat();
//! let rec = record(content::HANDSHAKE, 0x0303, &flight);
//! assert_eq!(&rec[..3], &[22, 3, 3]);
//! ```

use mamori_core::Timestamp;

use super::der;

/// Largest record fragment (2^14); longer bodies are split into several records.
pub const RECORD_MAX: usize = 16_384;

/// Record content types.
pub mod content {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
}

/// Protocol versions.
pub mod version {
    /// SSL 3.0.
    pub const SSL30: u16 = 0x0300;
    /// TLS 1.0.
    pub const TLS10: u16 = 0x0301;
    /// TLS 1.1.
    pub const TLS11: u16 = 0x0302;
    /// TLS 1.2.
    pub const TLS12: u16 = 0x0303;
    /// TLS 1.3.
    pub const TLS13: u16 = 0x0304;
}

/// Extension types.
pub mod ext {
    /// server_name.
    pub const SERVER_NAME: u16 = 0;
    /// status_request.
    pub const STATUS_REQUEST: u16 = 5;
    /// supported_groups.
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats.
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms.
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation.
    pub const ALPN: u16 = 16;
    /// extended_master_secret.
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    /// session_ticket.
    pub const SESSION_TICKET: u16 = 35;
    /// supported_versions.
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// psk_key_exchange_modes.
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 45;
    /// key_share.
    pub const KEY_SHARE: u16 = 51;
    /// renegotiation_info.
    pub const RENEGOTIATION_INFO: u16 = 0xFF01;
}

/// Handshake message types.
pub mod hs {
    /// client_hello.
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello.
    pub const SERVER_HELLO: u8 = 2;
    /// certificate.
    pub const CERTIFICATE: u8 = 11;
    /// server_hello_done.
    pub const SERVER_HELLO_DONE: u8 = 14;
}

/// A modern browser-like cipher list (TLS 1.3 suites first, then ECDHE suites).
pub const BROWSER_CIPHERS: &[u16] = &[
    0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C,
    0x009D, 0x002F, 0x0035,
];

/// GREASE values (RFC 8701).
pub const GREASE: [u16; 16] = [
    0x0A0A, 0x1A1A, 0x2A2A, 0x3A3A, 0x4A4A, 0x5A5A, 0x6A6A, 0x7A7A, 0x8A8A, 0x9A9A, 0xAAAA, 0xBABA,
    0xCACA, 0xDADA, 0xEAEA, 0xFAFA,
];

fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

fn vec8(body: &[u8]) -> Vec<u8> {
    let b = body.get(..255).unwrap_or(body);
    let mut v = Vec::with_capacity(b.len() + 1);
    v.push(b.len() as u8);
    v.extend_from_slice(b);
    v
}

fn vec16(body: &[u8]) -> Vec<u8> {
    let b = body.get(..65_535).unwrap_or(body);
    let mut v = Vec::with_capacity(b.len() + 2);
    v.extend_from_slice(&(b.len() as u16).to_be_bytes());
    v.extend_from_slice(b);
    v
}

fn vec24(body: &[u8]) -> Vec<u8> {
    let b = body.get(..0xFF_FFFF).unwrap_or(body);
    let n = (b.len() as u32).to_be_bytes();
    let mut v = Vec::with_capacity(b.len() + 3);
    v.extend_from_slice(&n[1..]);
    v.extend_from_slice(b);
    v
}

/// A handshake message: type, 24-bit length, body.
pub fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![msg_type];
    v.extend_from_slice(&vec24(body));
    v
}

/// TLS records of `content_type` carrying `body` (split at [`RECORD_MAX`]).
pub fn record(content_type: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    let mut chunks = body.chunks(RECORD_MAX).peekable();
    if chunks.peek().is_none() {
        out.push(content_type);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
    }
    for c in chunks {
        out.push(content_type);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

/// A ClientHello builder. Defaults resemble a current browser: TLS 1.2 legacy version with
/// supported_versions (1.3, 1.2), X25519 key share, GREASE on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    record_version: u16,
    legacy_version: u16,
    random: [u8; 32],
    session_id: Vec<u8>,
    ciphers: Vec<u16>,
    sni: Option<String>,
    alpn: Vec<String>,
    supported_versions: Vec<u16>,
    sig_algs: Vec<u16>,
    groups: Vec<u16>,
    grease: Option<usize>,
    key_share: bool,
    extra: Vec<(u16, Vec<u8>)>,
}

impl Default for ClientHello {
    fn default() -> Self {
        ClientHello::new()
    }
}

impl ClientHello {
    /// Browser-like defaults.
    pub fn new() -> ClientHello {
        let mut random = [0u8; 32];
        for (i, b) in random.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        ClientHello {
            record_version: version::TLS10,
            legacy_version: version::TLS12,
            random,
            session_id: (0..32u8).map(|i| i ^ 0x5A).collect(),
            ciphers: BROWSER_CIPHERS.to_vec(),
            sni: None,
            alpn: Vec::new(),
            supported_versions: vec![version::TLS13, version::TLS12],
            sig_algs: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            groups: vec![0x001D, 0x0017, 0x0018],
            grease: Some(0),
            key_share: true,
            extra: Vec::new(),
        }
    }

    /// An old-style hello: `version` in the hello and record, no supported_versions, no key
    /// share, no GREASE (e.g. `version::TLS10` for a legacy client).
    pub fn legacy(v: u16) -> ClientHello {
        ClientHello {
            record_version: v,
            legacy_version: v,
            supported_versions: Vec::new(),
            grease: None,
            key_share: false,
            ciphers: vec![0xC013, 0xC014, 0x002F, 0x0035, 0x000A],
            ..ClientHello::new()
        }
    }

    /// Server name indication.
    pub fn sni(mut self, name: &str) -> Self {
        self.sni = Some(name.to_owned());
        self
    }

    /// ALPN protocol names.
    pub fn alpn(mut self, protos: &[&str]) -> Self {
        self.alpn = protos.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Cipher suites.
    pub fn ciphers(mut self, c: &[u16]) -> Self {
        self.ciphers = c.to_vec();
        self
    }

    /// The legacy `client_version` field of the hello.
    pub fn version(mut self, v: u16) -> Self {
        self.legacy_version = v;
        self
    }

    /// The version in the record header.
    pub fn record_version(mut self, v: u16) -> Self {
        self.record_version = v;
        self
    }

    /// supported_versions extension contents (empty: no extension).
    pub fn supported_versions(mut self, v: &[u16]) -> Self {
        self.supported_versions = v.to_vec();
        self
    }

    /// signature_algorithms extension contents.
    pub fn signature_algorithms(mut self, v: &[u16]) -> Self {
        self.sig_algs = v.to_vec();
        self
    }

    /// supported_groups extension contents.
    pub fn groups(mut self, v: &[u16]) -> Self {
        self.groups = v.to_vec();
        self
    }

    /// GREASE values on (choosing the set by `seed`) or off.
    pub fn grease(mut self, seed: Option<usize>) -> Self {
        self.grease = seed;
        self
    }

    /// The 32-byte random.
    pub fn random(mut self, r: [u8; 32]) -> Self {
        self.random = r;
        self
    }

    /// An extra extension (appended after the standard ones).
    pub fn extension(mut self, ty: u16, data: &[u8]) -> Self {
        self.extra.push((ty, data.to_vec()));
        self
    }

    fn grease_value(&self, k: usize) -> Option<u16> {
        self.grease
            .map(|s| GREASE[(s.wrapping_mul(7).wrapping_add(k * 5)) % GREASE.len()])
    }

    /// The handshake message (no record header).
    pub fn handshake(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(512);
        b.extend_from_slice(&self.legacy_version.to_be_bytes());
        b.extend_from_slice(&self.random);
        b.extend_from_slice(&vec8(&self.session_id));
        let mut ciphers = Vec::new();
        if let Some(g) = self.grease_value(0) {
            ciphers.push(g);
        }
        ciphers.extend_from_slice(&self.ciphers);
        b.extend_from_slice(&vec16(&u16s(&ciphers)));
        b.extend_from_slice(&vec8(&[0]));
        let mut exts: Vec<(u16, Vec<u8>)> = Vec::new();
        if let Some(g) = self.grease_value(1) {
            exts.push((g, Vec::new()));
        }
        if let Some(name) = &self.sni {
            let mut entry = vec![0u8];
            entry.extend_from_slice(&vec16(name.as_bytes()));
            exts.push((ext::SERVER_NAME, vec16(&entry)));
        }
        exts.push((ext::EXTENDED_MASTER_SECRET, Vec::new()));
        exts.push((ext::RENEGOTIATION_INFO, vec![0]));
        let mut groups = Vec::new();
        if let Some(g) = self.grease_value(2) {
            groups.push(g);
        }
        groups.extend_from_slice(&self.groups);
        exts.push((ext::SUPPORTED_GROUPS, vec16(&u16s(&groups))));
        exts.push((ext::EC_POINT_FORMATS, vec8(&[0])));
        exts.push((ext::SESSION_TICKET, Vec::new()));
        if !self.alpn.is_empty() {
            let mut l = Vec::new();
            for p in &self.alpn {
                l.extend_from_slice(&vec8(p.as_bytes()));
            }
            exts.push((ext::ALPN, vec16(&l)));
        }
        exts.push((ext::STATUS_REQUEST, vec![1, 0, 0, 0, 0]));
        if !self.sig_algs.is_empty() {
            exts.push((ext::SIGNATURE_ALGORITHMS, vec16(&u16s(&self.sig_algs))));
        }
        if self.key_share {
            let mut ks = Vec::new();
            if let Some(g) = self.grease_value(3) {
                ks.extend_from_slice(&g.to_be_bytes());
                ks.extend_from_slice(&vec16(&[0]));
            }
            ks.extend_from_slice(&0x001Du16.to_be_bytes());
            let key: Vec<u8> = (0..32u8)
                .map(|i| i.wrapping_mul(91).wrapping_add(3))
                .collect();
            ks.extend_from_slice(&vec16(&key));
            exts.push((ext::KEY_SHARE, vec16(&ks)));
            exts.push((ext::PSK_KEY_EXCHANGE_MODES, vec8(&[1])));
        }
        if !self.supported_versions.is_empty() {
            let mut v = Vec::new();
            if let Some(g) = self.grease_value(4) {
                v.push(g);
            }
            v.extend_from_slice(&self.supported_versions);
            exts.push((ext::SUPPORTED_VERSIONS, vec8(&u16s(&v))));
        }
        exts.extend(self.extra.iter().cloned());
        if let Some(g) = self.grease_value(5) {
            exts.push((g, vec![0]));
        }
        let mut e = Vec::new();
        for (ty, data) in &exts {
            e.extend_from_slice(&ty.to_be_bytes());
            e.extend_from_slice(&vec16(data));
        }
        b.extend_from_slice(&vec16(&e));
        handshake(hs::CLIENT_HELLO, &b)
    }

    /// The ClientHello in a handshake record.
    pub fn build(&self) -> Vec<u8> {
        record(content::HANDSHAKE, self.record_version, &self.handshake())
    }
}

/// A ServerHello builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    version: u16,
    cipher: u16,
    random: [u8; 32],
    session_id: Vec<u8>,
    alpn: Option<String>,
    tls13: bool,
}

impl ServerHello {
    /// A TLS 1.2 ServerHello choosing `cipher`.
    pub fn tls12(cipher: u16) -> ServerHello {
        let mut random = [0u8; 32];
        for (i, b) in random.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(53).wrapping_add(7);
        }
        ServerHello {
            version: version::TLS12,
            cipher,
            random,
            session_id: (0..32u8).map(|i| i ^ 0xA5).collect(),
            alpn: None,
            tls13: false,
        }
    }

    /// A TLS 1.3 ServerHello (legacy version 1.2 + supported_versions 1.3 + key share).
    pub fn tls13(cipher: u16) -> ServerHello {
        ServerHello {
            tls13: true,
            ..ServerHello::tls12(cipher)
        }
    }

    /// A ServerHello with an explicit (legacy) version, e.g. `version::TLS10`.
    pub fn with_version(v: u16, cipher: u16) -> ServerHello {
        ServerHello {
            version: v,
            ..ServerHello::tls12(cipher)
        }
    }

    /// The chosen ALPN protocol.
    pub fn alpn(mut self, p: &str) -> Self {
        self.alpn = Some(p.to_owned());
        self
    }

    /// The handshake message.
    pub fn handshake(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(128);
        b.extend_from_slice(&self.version.to_be_bytes());
        b.extend_from_slice(&self.random);
        b.extend_from_slice(&vec8(&self.session_id));
        b.extend_from_slice(&self.cipher.to_be_bytes());
        b.push(0);
        let mut e = Vec::new();
        let mut push = |ty: u16, data: &[u8]| {
            e.extend_from_slice(&ty.to_be_bytes());
            e.extend_from_slice(&vec16(data));
        };
        if self.tls13 {
            push(ext::SUPPORTED_VERSIONS, &version::TLS13.to_be_bytes());
            let mut ks = 0x001Du16.to_be_bytes().to_vec();
            let key: Vec<u8> = (0..32u8)
                .map(|i| i.wrapping_mul(29).wrapping_add(1))
                .collect();
            ks.extend_from_slice(&vec16(&key));
            push(ext::KEY_SHARE, &ks);
        } else {
            push(ext::RENEGOTIATION_INFO, &[0]);
            push(ext::EXTENDED_MASTER_SECRET, &[]);
            push(ext::EC_POINT_FORMATS, &vec8(&[0]));
        }
        if let Some(p) = &self.alpn {
            push(ext::ALPN, &vec16(&vec8(p.as_bytes())));
        }
        b.extend_from_slice(&vec16(&e));
        handshake(hs::SERVER_HELLO, &b)
    }

    /// The ServerHello in a handshake record.
    pub fn build(&self) -> Vec<u8> {
        record(content::HANDSHAKE, version::TLS12, &self.handshake())
    }
}

/// ServerHelloDone handshake message.
pub fn server_hello_done() -> Vec<u8> {
    handshake(hs::SERVER_HELLO_DONE, &[])
}

/// A minimal X.509 v3 certificate builder (ECDSA P-256 key and signature algorithm; the
/// public key and signature bytes are fixed dummies, the structure is valid DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    serial: Vec<u8>,
    subject_cn: String,
    subject_org: Option<String>,
    issuer_cn: String,
    issuer_org: Option<String>,
    not_before: Timestamp,
    not_after: Timestamp,
    san: Vec<String>,
    is_ca: bool,
}

const OID_CN: &[u64] = &[2, 5, 4, 3];
const OID_O: &[u64] = &[2, 5, 4, 10];
const OID_C: &[u64] = &[2, 5, 4, 6];
const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10_045, 2, 1];
const OID_P256: &[u64] = &[1, 2, 840, 10_045, 3, 1, 7];
const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10_045, 4, 3, 2];
const OID_SAN: &[u64] = &[2, 5, 29, 17];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];

impl Certificate {
    /// A certificate for `subject_cn` issued by `issuer_cn`, valid 2026-01-01 to 2027-01-01.
    pub fn new(subject_cn: &str, issuer_cn: &str) -> Certificate {
        let mut serial = vec![0x4D];
        serial.extend(subject_cn.bytes().take(15));
        Certificate {
            serial,
            subject_cn: subject_cn.to_owned(),
            subject_org: None,
            issuer_cn: issuer_cn.to_owned(),
            issuer_org: None,
            not_before: Timestamp::from_unix_secs(1_767_225_600),
            not_after: Timestamp::from_unix_secs(1_798_761_600),
            san: Vec::new(),
            is_ca: false,
        }
    }

    /// A self-signed certificate (issuer = subject).
    pub fn self_signed(cn: &str) -> Certificate {
        Certificate::new(cn, cn)
    }

    /// Serial number bytes (big-endian).
    pub fn serial(mut self, s: &[u8]) -> Self {
        self.serial = s.to_vec();
        self
    }

    /// Subject and issuer organisation names (O=).
    pub fn orgs(mut self, subject: Option<&str>, issuer: Option<&str>) -> Self {
        self.subject_org = subject.map(str::to_owned);
        self.issuer_org = issuer.map(str::to_owned);
        self
    }

    /// Validity period.
    pub fn validity(mut self, not_before: Timestamp, not_after: Timestamp) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// Subject alternative DNS names.
    pub fn san(mut self, names: &[&str]) -> Self {
        self.san = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Mark as a CA certificate (basicConstraints cA=TRUE).
    pub fn ca(mut self, is_ca: bool) -> Self {
        self.is_ca = is_ca;
        self
    }

    fn name(cn: &str, org: Option<&str>) -> Vec<u8> {
        let mut rdns = vec![der::set(&[der::seq(&[
            der::oid(OID_C),
            der::printable("JP"),
        ])])];
        if let Some(o) = org {
            rdns.push(der::set(&[der::seq(&[der::oid(OID_O), der::utf8(o)])]));
        }
        rdns.push(der::set(&[der::seq(&[der::oid(OID_CN), der::utf8(cn)])]));
        der::seq(&rdns)
    }

    /// The DER bytes of the certificate.
    pub fn der(&self) -> Vec<u8> {
        let alg = der::seq(&[der::oid(OID_ECDSA_SHA256)]);
        let mut point = vec![0x04];
        point.extend((0..64u8).map(|i| i.wrapping_mul(13).wrapping_add(0x21)));
        let spki = der::seq(&[
            der::seq(&[der::oid(OID_EC_PUBLIC_KEY), der::oid(OID_P256)]),
            der::bit_string(&point),
        ]);
        let mut exts = Vec::new();
        if !self.san.is_empty() {
            let names: Vec<Vec<u8>> = self
                .san
                .iter()
                .map(|n| der::implicit(2, n.as_bytes()))
                .collect();
            exts.push(der::seq(&[
                der::oid(OID_SAN),
                der::octets(&der::seq(&names)),
            ]));
        }
        if self.is_ca {
            exts.push(der::seq(&[
                der::oid(OID_BASIC_CONSTRAINTS),
                der::boolean(true),
                der::octets(&der::seq(&[der::boolean(true)])),
            ]));
        }
        let mut tbs_parts = vec![
            der::explicit(0, &[der::integer_u64(2)]),
            der::integer(&self.serial),
            alg.clone(),
            Certificate::name(&self.issuer_cn, self.issuer_org.as_deref()),
            der::seq(&[
                der::cert_time(self.not_before),
                der::cert_time(self.not_after),
            ]),
            Certificate::name(&self.subject_cn, self.subject_org.as_deref()),
            spki,
        ];
        if !exts.is_empty() {
            tbs_parts.push(der::explicit(3, &[der::seq(&exts)]));
        }
        let tbs = der::seq(&tbs_parts);
        let r: Vec<u8> = (0..32u8).map(|i| i.wrapping_add(0x10)).collect();
        let s: Vec<u8> = (0..32u8)
            .map(|i| i.wrapping_mul(3).wrapping_add(0x40))
            .collect();
        let sig = der::seq(&[der::integer(&r), der::integer(&s)]);
        der::seq(&[tbs, alg, der::bit_string(&sig)])
    }

    /// A Certificate handshake message (TLS 1.2 layout) carrying a chain of DER certs.
    pub fn message(chain: &[Vec<u8>]) -> Vec<u8> {
        let mut list = Vec::new();
        for c in chain {
            list.extend_from_slice(&vec24(c));
        }
        handshake(hs::CERTIFICATE, &vec24(&list))
    }
}

/// A TLS 1.2 server flight in one record: ServerHello, Certificate (leaf + issuer),
/// ServerHelloDone.
pub fn server_flight_tls12(
    cipher: u16,
    leaf: &Certificate,
    issuer: Option<&Certificate>,
) -> Vec<u8> {
    let mut chain = vec![leaf.der()];
    if let Some(i) = issuer {
        chain.push(i.der());
    }
    let body = [
        ServerHello::tls12(cipher).handshake(),
        Certificate::message(&chain),
        server_hello_done(),
    ]
    .concat();
    record(content::HANDSHAKE, version::TLS12, &body)
}

/// Opaque application data records of `len` bytes (deterministic filler).
pub fn application_data(len: usize, seed: u8) -> Vec<u8> {
    let body: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(167).wrapping_add(seed))
        .collect();
    record(content::APPLICATION_DATA, version::TLS12, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exts_of_client_hello(rec: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let h = &rec[5..];
        assert_eq!(h[0], 1);
        let body = &h[4..];
        let mut i = 2 + 32;
        i += 1 + usize::from(body[i]);
        let cl = usize::from(u16::from_be_bytes([body[i], body[i + 1]]));
        i += 2 + cl;
        i += 1 + usize::from(body[i]);
        let el = usize::from(u16::from_be_bytes([body[i], body[i + 1]]));
        i += 2;
        let end = i + el;
        assert_eq!(end, body.len(), "extensions fill the hello");
        let mut out = Vec::new();
        while i < end {
            let ty = u16::from_be_bytes([body[i], body[i + 1]]);
            let l = usize::from(u16::from_be_bytes([body[i + 2], body[i + 3]]));
            out.push((ty, body[i + 4..i + 4 + l].to_vec()));
            i += 4 + l;
        }
        out
    }

    #[test]
    fn client_hello_lengths_and_extensions() {
        let rec = ClientHello::new()
            .sni("www.example.com")
            .alpn(&["h2"])
            .build();
        let rl = usize::from(u16::from_be_bytes([rec[3], rec[4]]));
        assert_eq!(rl + 5, rec.len());
        let hl = u32::from_be_bytes([0, rec[6], rec[7], rec[8]]) as usize;
        assert_eq!(hl + 4, rl);
        let exts = exts_of_client_hello(&rec);
        let sni = exts.iter().find(|(t, _)| *t == 0).unwrap();
        assert_eq!(&sni.1[5..], b"www.example.com");
        assert!(exts.iter().any(|(t, d)| *t == 16 && d[3..] == *b"h2"));
        assert!(exts.iter().any(|(t, _)| GREASE.contains(t)));
        let sv = exts.iter().find(|(t, _)| *t == 43).unwrap();
        assert!(sv.1.windows(2).any(|w| w == [3, 4]));
    }

    #[test]
    fn legacy_hello_has_no_modern_extensions() {
        let rec = ClientHello::legacy(version::TLS10).build();
        assert_eq!(&rec[1..3], &[3, 1]);
        assert_eq!(&rec[9..11], &[3, 1]);
        let exts = exts_of_client_hello(&rec);
        assert!(!exts
            .iter()
            .any(|(t, _)| *t == 43 || *t == 51 || GREASE.contains(t)));
    }

    #[test]
    fn certificate_is_well_formed_der() {
        let c = Certificate::new("mail.example.co.jp", "Example CA")
            .san(&["mail.example.co.jp"])
            .der();
        // outer SEQUENCE length covers the whole certificate
        assert_eq!(c[0], 0x30);
        assert_eq!(c[1], 0x82);
        assert_eq!(usize::from(u16::from_be_bytes([c[2], c[3]])) + 4, c.len());
        let find = |needle: &[u8]| c.windows(needle.len()).any(|w| w == needle);
        assert!(find(b"mail.example.co.jp"));
        assert!(find(b"Example CA"));
        assert!(find(&[0x06, 0x03, 0x55, 0x1D, 0x11]));
        assert!(find(b"260101000000Z"));
        assert!(find(b"270101000000Z"));
    }

    #[test]
    fn records_split_at_limit() {
        let r = record(23, 0x0303, &vec![0; RECORD_MAX + 10]);
        assert_eq!(r.len(), RECORD_MAX + 10 + 10);
        assert_eq!(&r[RECORD_MAX + 5..RECORD_MAX + 10], &[23, 3, 3, 0, 10]);
        assert_eq!(record(21, 0x0303, &[]).len(), 5);
    }

    #[test]
    fn server_flight_contains_three_messages() {
        let f = server_flight_tls12(0xC02F, &Certificate::self_signed("x"), None);
        let body = &f[5..];
        assert_eq!(body[0], 2);
        let l1 = u32::from_be_bytes([0, body[1], body[2], body[3]]) as usize;
        let m2 = &body[4 + l1..];
        assert_eq!(m2[0], 11);
        let l2 = u32::from_be_bytes([0, m2[1], m2[2], m2[3]]) as usize;
        assert_eq!(&m2[4 + l2..], &[14, 0, 0, 0]);
    }
}
