//! HTTP/1.0 and HTTP/1.1 over TCP.
//!
//! Requests are queued in order (pipelining) and paired with responses; one `http` record is
//! emitted per transaction once the response body ended, and unanswered requests are emitted
//! on [`Dissector::finish`]. Bodies are never buffered: `Content-Length` and chunked bodies
//! are counted while skipped, only the first [`MAGIC_LEN`] response bytes are kept to classify
//! the content (`mamori.http.magic`: `pe`, `elf`, `zip`, `pdf`, `ole`, `gzip`, …).

use std::collections::VecDeque;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

pub(crate) mod text;

use text::{base64_decode, bounded_str, parse_u64, split_word, starts_with_ci, trim};

/// Largest header block (request or status line plus headers) kept while framing.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Requests awaiting their response; further requests are emitted unanswered.
pub const MAX_PENDING: usize = 64;
/// Records a single flow may emit.
pub const MAX_RECORDS_PER_FLOW: usize = 10_000;
/// Longest value copied into a field (URLs, user agents…).
pub const MAX_FIELD_LEN: usize = 2048;
/// Response body bytes kept to classify its type.
pub const MAGIC_LEN: usize = 8;
/// Longest chunk-size line.
const MAX_CHUNK_LINE: usize = 1024;

/// Request methods recognised by the probe.
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKCALENDAR",
    b"RPC_IN_DATA",
    b"RPC_OUT_DATA",
];

/// Probe: a request line `METHOD target HTTP/1.x` or a status line `HTTP/1.x nnn`.
pub fn probe(_meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    if data.is_empty() {
        return Probe::No;
    }
    if data.len() < 5 && (b"HTTP/".starts_with(data)) && dir == Dir::ToClient {
        return Probe::Maybe;
    }
    if data.starts_with(b"HTTP/1.") {
        return match data.get(7..12) {
            None => Probe::Maybe,
            Some(&[b'0' | b'1', b' ', a, b, c]) => {
                if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() {
                    Probe::Yes
                } else {
                    Probe::No
                }
            }
            Some(_) => Probe::No,
        };
    }
    // Request line.
    let sp = match data.iter().take(16).position(|&b| b == b' ') {
        Some(i) => i,
        None => {
            let prefix_of_method = data.len() < 16 && METHODS.iter().any(|m| m.starts_with(data));
            return if prefix_of_method {
                Probe::Maybe
            } else {
                Probe::No
            };
        }
    };
    let method = data.get(..sp).unwrap_or(&[]);
    if !METHODS.contains(&method) {
        return Probe::No;
    }
    let line_end = data.iter().position(|&b| b == b'\n');
    let line = match line_end {
        Some(e) => data.get(..e).unwrap_or(data),
        None => data
            .get(..data.len().min(MAX_FIELD_LEN * 4))
            .unwrap_or(data),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let has_version = line
        .windows(9)
        .rposition(|w| w.starts_with(b" HTTP/1.") && matches!(w.get(8), Some(b'0' | b'1')));
    match (has_version, line_end) {
        (Some(i), _) if i + 9 == line.len() => Probe::Yes,
        (_, Some(_)) => Probe::No,
        (_, None) => Probe::Maybe,
    }
}

/// A fresh HTTP dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(HttpDissector::default())
}

/// Classify the first bytes of a body (`pe`, `elf`, `zip`, `pdf`, `ole`, `gzip`, …).
pub fn classify_magic(b: &[u8]) -> Option<&'static str> {
    const TABLE: &[(&[u8], &str)] = &[
        (b"MZ", "pe"),
        (b"\x7fELF", "elf"),
        (b"PK\x03\x04", "zip"),
        (b"%PDF", "pdf"),
        (b"\xd0\xcf\x11\xe0", "ole"),
        (b"\x1f\x8b", "gzip"),
        (b"Rar!", "rar"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"MSCF", "cab"),
        (b"\xca\xfe\xba\xbe", "macho"),
        (b"\xcf\xfa\xed\xfe", "macho"),
        (b"\xce\xfa\xed\xfe", "macho"),
        (b"\xfd7zXZ", "xz"),
        (b"BZh", "bzip2"),
        (b"\x89PNG", "png"),
        (b"\xff\xd8\xff", "jpeg"),
        (b"GIF8", "gif"),
        (b"#!", "script"),
    ];
    // Java class files share CA FE BA BE with fat Mach-O binaries: a class file has its
    // major version (45 and up) where a fat binary has its small architecture count.
    if let Some(&[0xca, 0xfe, 0xba, 0xbe, a, b2, c, d]) = b.get(..8) {
        if u32::from_be_bytes([a, b2, c, d]) >= JAVA_MIN_MAJOR {
            return Some("java_class");
        }
    }
    TABLE
        .iter()
        .find(|(m, _)| b.starts_with(m))
        .map(|(_, n)| *n)
}

/// Smallest class-file major version (JDK 1.1); fat Mach-O headers count far fewer
/// architectures than this.
const JAVA_MIN_MAJOR: u32 = 45;

#[derive(Debug, Default)]
struct Txn {
    fields: Fields,
    head: bool,
    connect: bool,
    req_body: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Reading the header block.
    Headers,
    /// Skipping `n` more bytes.
    Length(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// Skipping chunk data then its CRLF.
    ChunkData(u64),
    /// CRLF after chunk data.
    ChunkCrlf,
    /// Trailer lines after the last chunk.
    Trailers,
    /// Body runs until the connection closes.
    UntilClose,
    /// Not HTTP any more (tunnel or upgrade).
    Opaque,
}

#[derive(Debug)]
struct Side {
    state: Body,
    buf: Vec<u8>,
    /// Body bytes of the current message.
    body: u64,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            state: Body::Headers,
            buf: Vec::new(),
            body: 0,
        }
    }
}

/// HTTP/1.x transaction dissector.
#[derive(Debug, Default)]
pub struct HttpDissector {
    req: Side,
    resp: Side,
    pending: VecDeque<Txn>,
    /// The transaction whose response is being read.
    current: Option<Txn>,
    magic: Vec<u8>,
    emitted: usize,
    first_host: Option<String>,
    first_ua: Option<String>,
    counters: Counters,
    done: bool,
}

struct Header<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

fn headers(block: &[u8]) -> impl Iterator<Item = Header<'_>> {
    block
        .split(|&b| b == b'\n')
        .skip(1)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter_map(|l| {
            let c = l.iter().position(|&b| b == b':')?;
            Some(Header {
                name: trim(l.get(..c)?),
                value: trim(l.get(c + 1..)?),
            })
        })
}

fn find_header_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    let tail = buf.get(start..)?;
    let mut i = 0;
    while i < tail.len() {
        if tail.get(i) == Some(&b'\n') {
            if tail.get(i + 1) == Some(&b'\n') {
                return Some(start + i + 2);
            }
            if tail.get(i + 1) == Some(&b'\r') && tail.get(i + 2) == Some(&b'\n') {
                return Some(start + i + 3);
            }
        }
        i += 1;
    }
    None
}

impl HttpDissector {
    /// Counters of dropped or over-limit input (`header_too_large`, `pending_overflow`, …).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn emit(&mut self, mut t: Txn, ts: Timestamp, out: &mut Vec<Record>, resp_body: Option<u64>) {
        if self.emitted >= MAX_RECORDS_PER_FLOW {
            self.counters.incr("records_over_limit");
            return;
        }
        self.emitted += 1;
        t.fields
            .insert("http.request.body.bytes".into(), Value::from(t.req_body));
        if let Some(b) = resp_body {
            t.fields
                .insert("http.response.body.bytes".into(), Value::from(b));
            if let Some(m) = classify_magic(&self.magic) {
                t.fields.insert("mamori.http.magic".into(), Value::from(m));
            }
        }
        out.push(Record {
            dataset: "http",
            ts,
            fields: t.fields,
        });
    }

    fn on_request(&mut self, block: &[u8]) -> Body {
        let first = block
            .split(|&b| b == b'\n')
            .next()
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&[]);
        let (method, rest) = split_word(first);
        let (target, version) = split_word(rest);
        let mut t = Txn::default();
        let f = &mut t.fields;
        let method_s = bounded_str(method, 32);
        t.head = method == b"HEAD";
        t.connect = method == b"CONNECT";
        f.insert("http.request.method".into(), Value::from(method_s));
        let target_s = bounded_str(target, MAX_FIELD_LEN);
        f.insert("url.original".into(), Value::from(target_s.clone()));
        if let Some(v) = version.strip_prefix(b"HTTP/") {
            f.insert("http.version".into(), Value::from(bounded_str(v, 8)));
        }
        let mut host_from_url = None;
        if t.connect {
            f.insert(
                "mamori.http.connect_target".into(),
                Value::from(target_s.clone()),
            );
            let (h, p) = split_host_port(&target_s);
            host_from_url = Some(h.to_owned());
            if let Some(p) = p {
                f.insert("url.port".into(), Value::from(p));
            }
        } else {
            let mut path = target_s.as_str();
            for scheme in ["http://", "https://"] {
                if let Some(rest) = path.strip_prefix(scheme) {
                    let end = rest.find('/').unwrap_or(rest.len());
                    let (auth, p) = rest.split_at(end);
                    let (h, port) = split_host_port(auth);
                    host_from_url = Some(h.to_owned());
                    if let Some(port) = port {
                        f.insert("url.port".into(), Value::from(port));
                    }
                    f.insert(
                        "url.scheme".into(),
                        Value::from(scheme.trim_end_matches("://")),
                    );
                    path = if p.is_empty() { "/" } else { p };
                }
            }
            let (p, q) = match path.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (path, None),
            };
            let p = p.split('#').next().unwrap_or(p);
            f.insert("url.path".into(), Value::from(p));
            if let Some(q) = q {
                f.insert("url.query".into(), Value::from(q));
            }
        }
        let mut framing = Body::Length(0);
        let mut length = None;
        let mut chunked = false;
        for h in headers(block) {
            let v = || bounded_str(h.value, MAX_FIELD_LEN);
            if h.name.eq_ignore_ascii_case(b"host") {
                let host = v();
                let (hh, _) = split_host_port(&host);
                if self.first_host.is_none() {
                    self.first_host = Some(hh.to_owned());
                }
                f.insert("url.domain".into(), Value::from(hh));
            } else if h.name.eq_ignore_ascii_case(b"user-agent") {
                let ua = v();
                if self.first_ua.is_none() {
                    self.first_ua = Some(ua.clone());
                }
                f.insert("user_agent.original".into(), Value::from(ua));
            } else if h.name.eq_ignore_ascii_case(b"referer") {
                f.insert("http.request.referrer".into(), Value::from(v()));
            } else if h.name.eq_ignore_ascii_case(b"x-forwarded-for") {
                f.insert("mamori.http.x_forwarded_for".into(), Value::from(v()));
            } else if h.name.eq_ignore_ascii_case(b"content-type") {
                f.insert("http.request.mime_type".into(), Value::from(v()));
            } else if h.name.eq_ignore_ascii_case(b"authorization")
                || h.name.eq_ignore_ascii_case(b"proxy-authorization")
            {
                let (scheme, cred) = split_word(h.value);
                let scheme_s = if scheme.eq_ignore_ascii_case(b"basic") {
                    if let Some(user) = basic_user(cred) {
                        f.insert("user.name".into(), Value::from(user));
                    }
                    "Basic".to_owned()
                } else if scheme.eq_ignore_ascii_case(b"ntlm") {
                    "NTLM".to_owned()
                } else if scheme.eq_ignore_ascii_case(b"bearer") {
                    "Bearer".to_owned()
                } else if scheme.eq_ignore_ascii_case(b"negotiate") {
                    "Negotiate".to_owned()
                } else if scheme.eq_ignore_ascii_case(b"digest") {
                    "Digest".to_owned()
                } else {
                    bounded_str(scheme, 32)
                };
                f.insert(
                    "mamori.http.authorization_scheme".into(),
                    Value::from(scheme_s),
                );
            } else if h.name.eq_ignore_ascii_case(b"content-length") {
                length = parse_u64(h.value);
            } else if h.name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = text::contains_ci(h.value, b"chunked");
            }
        }
        if let Some(h) = host_from_url {
            f.entry("url.domain".into()).or_insert(Value::from(h));
        }
        if chunked {
            framing = Body::ChunkSize;
        } else if let Some(n) = length {
            framing = Body::Length(n);
        }
        if self.pending.len() >= MAX_PENDING {
            self.counters.incr("pending_overflow");
        } else {
            self.pending.push_back(t);
        }
        framing
    }

    /// Returns the body framing; `None` for an interim 1xx response.
    fn on_response(&mut self, block: &[u8]) -> Option<Body> {
        let first = block
            .split(|&b| b == b'\n')
            .next()
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&[]);
        let (version, rest) = split_word(first);
        let (code, _) = split_word(rest);
        let code = parse_u64(code).unwrap_or(0);
        if (100..200).contains(&code) && code != 101 {
            return None;
        }
        let mut t = self.pending.pop_front().unwrap_or_else(|| {
            self.counters.incr("response_without_request");
            Txn::default()
        });
        let f = &mut t.fields;
        f.insert("http.response.status_code".into(), Value::from(code));
        if let Some(v) = version.strip_prefix(b"HTTP/") {
            f.entry("http.version".into())
                .or_insert(Value::from(bounded_str(v, 8)));
        }
        let mut length = None;
        let mut chunked = false;
        for h in headers(block) {
            let v = || bounded_str(h.value, MAX_FIELD_LEN);
            if h.name.eq_ignore_ascii_case(b"content-type") {
                f.insert("http.response.mime_type".into(), Value::from(v()));
            } else if h.name.eq_ignore_ascii_case(b"server") {
                f.insert("mamori.http.server".into(), Value::from(v()));
            } else if h.name.eq_ignore_ascii_case(b"content-disposition") {
                if let Some(name) = disposition_filename(h.value) {
                    f.insert("file.name".into(), Value::from(name));
                }
            } else if h.name.eq_ignore_ascii_case(b"location") {
                f.insert("mamori.http.location".into(), Value::from(v()));
            } else if h.name.eq_ignore_ascii_case(b"content-length") {
                length = parse_u64(h.value);
            } else if h.name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = text::contains_ci(h.value, b"chunked");
            }
        }
        let framing = if code == 101 || (t.connect && (200..300).contains(&code)) {
            Body::Opaque
        } else if t.head || code == 204 || code == 304 {
            Body::Length(0)
        } else if chunked {
            Body::ChunkSize
        } else if let Some(n) = length {
            Body::Length(n)
        } else {
            Body::UntilClose
        };
        self.magic.clear();
        self.current = Some(t);
        Some(framing)
    }

    fn feed_side(&mut self, dir: Dir, mut data: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        while !data.is_empty() && !self.done {
            let side = match dir {
                Dir::ToServer => &mut self.req,
                Dir::ToClient => &mut self.resp,
            };
            match side.state {
                Body::Headers => {
                    // Skip stray CRLFs between messages.
                    if side.buf.is_empty() {
                        let skip = data
                            .iter()
                            .take_while(|&&b| b == b'\r' || b == b'\n')
                            .count();
                        data = data.get(skip..).unwrap_or(&[]);
                        if data.is_empty() {
                            return;
                        }
                    }
                    let old = side.buf.len();
                    let room = MAX_HEADER_BYTES.saturating_sub(old);
                    let take = data.len().min(room);
                    side.buf.extend_from_slice(data.get(..take).unwrap_or(&[]));
                    match find_header_end(&side.buf, old) {
                        Some(end) => {
                            let consumed = end - old;
                            data = data.get(consumed..).unwrap_or(&[]);
                            let block = std::mem::take(&mut side.buf);
                            let block = block.get(..end).unwrap_or(&block);
                            let next = match dir {
                                Dir::ToServer => Some(self.on_request(block)),
                                Dir::ToClient => self.on_response(block),
                            };
                            let side = match dir {
                                Dir::ToServer => &mut self.req,
                                Dir::ToClient => &mut self.resp,
                            };
                            side.body = 0;
                            match next {
                                None => side.state = Body::Headers,
                                Some(s) => {
                                    side.state = s;
                                    self.body_state_entered(dir, ts, out);
                                }
                            }
                        }
                        None if take < data.len() => {
                            self.counters.incr("header_too_large");
                            self.done = true;
                            return;
                        }
                        None => return,
                    }
                }
                Body::Length(n) => {
                    let k = (data.len() as u64).min(n);
                    let (body, rest) = data.split_at(k as usize);
                    self.body_bytes(dir, body);
                    data = rest;
                    let side = self.side(dir);
                    side.state = Body::Length(n - k);
                    if n - k == 0 {
                        self.message_end(dir, ts, out);
                    }
                }
                Body::ChunkSize | Body::Trailers | Body::ChunkCrlf => {
                    let nl = data.iter().position(|&b| b == b'\n');
                    let (line_part, rest) = match nl {
                        Some(i) => (data.get(..i).unwrap_or(&[]), data.get(i + 1..)),
                        None => (data, None),
                    };
                    let side = self.side(dir);
                    if side.buf.len() + line_part.len() > MAX_CHUNK_LINE {
                        self.counters.incr("chunk_line_too_long");
                        self.side(dir).state = Body::UntilClose;
                        continue;
                    }
                    side.buf.extend_from_slice(line_part);
                    let Some(rest) = rest else { return };
                    data = rest;
                    let line = std::mem::take(&mut side.buf);
                    let line = trim(line.strip_suffix(b"\r").unwrap_or(&line));
                    match side.state {
                        Body::ChunkCrlf => side.state = Body::ChunkSize,
                        Body::Trailers => {
                            if line.is_empty() {
                                side.state = Body::Length(0);
                                self.message_end(dir, ts, out);
                            }
                        }
                        _ => {
                            let hex = line.split(|&b| b == b';').next().map(trim).unwrap_or(&[]);
                            match parse_hex(hex) {
                                Some(0) => side.state = Body::Trailers,
                                Some(n) => side.state = Body::ChunkData(n),
                                None => {
                                    side.state = Body::UntilClose;
                                    self.counters.incr("bad_chunk_size");
                                }
                            }
                        }
                    }
                }
                Body::ChunkData(n) => {
                    let k = (data.len() as u64).min(n);
                    let (body, rest) = data.split_at(k as usize);
                    self.body_bytes(dir, body);
                    data = rest;
                    self.side(dir).state = if n - k == 0 {
                        Body::ChunkCrlf
                    } else {
                        Body::ChunkData(n - k)
                    };
                }
                Body::UntilClose => {
                    self.body_bytes(dir, data);
                    return;
                }
                Body::Opaque => return,
            }
        }
    }

    fn side(&mut self, dir: Dir) -> &mut Side {
        match dir {
            Dir::ToServer => &mut self.req,
            Dir::ToClient => &mut self.resp,
        }
    }

    fn body_state_entered(&mut self, dir: Dir, ts: Timestamp, out: &mut Vec<Record>) {
        match self.side(dir).state {
            Body::Length(0) => self.message_end(dir, ts, out),
            Body::Opaque if dir == Dir::ToClient => {
                if let Some(t) = self.current.take() {
                    self.emit(t, ts, out, None);
                }
                self.done = true;
            }
            _ => {}
        }
    }

    fn body_bytes(&mut self, dir: Dir, body: &[u8]) {
        match dir {
            Dir::ToServer => {
                if let Some(t) = self.pending.back_mut() {
                    t.req_body = t.req_body.saturating_add(body.len() as u64);
                }
            }
            Dir::ToClient => {
                self.resp.body = self.resp.body.saturating_add(body.len() as u64);
                if self.magic.len() < MAGIC_LEN {
                    let k = (MAGIC_LEN - self.magic.len()).min(body.len());
                    self.magic.extend_from_slice(body.get(..k).unwrap_or(&[]));
                }
            }
        }
    }

    fn message_end(&mut self, dir: Dir, ts: Timestamp, out: &mut Vec<Record>) {
        let side = self.side(dir);
        side.state = Body::Headers;
        if dir == Dir::ToClient {
            let body = side.body;
            if let Some(t) = self.current.take() {
                self.emit(t, ts, out, Some(body));
            }
        }
    }
}

fn parse_hex(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 15 {
        return None;
    }
    b.iter().try_fold(0u64, |a, &c| {
        let d = char::from(c).to_digit(16)?;
        Some(a * 16 + u64::from(d))
    })
}

fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, tail)) = rest.split_once(']') {
            return (h, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (s, None),
        },
        _ => (s, None),
    }
}

/// The user name of a Basic credential (the password is never kept).
fn basic_user(cred: &[u8]) -> Option<String> {
    let raw = base64_decode(trim(cred))?;
    let user = raw.split(|&b| b == b':').next()?;
    Some(bounded_str(user, 256))
}

/// `filename*=UTF-8''name` (preferred) or `filename="name"` from Content-Disposition.
fn disposition_filename(v: &[u8]) -> Option<String> {
    let mut plain = None;
    for part in v.split(|&b| b == b';') {
        let part = trim(part);
        if starts_with_ci(part, b"filename*=") {
            let val = part.get(10..)?;
            let val = match val.windows(2).position(|w| w == b"''") {
                Some(i) => val.get(i + 2..)?,
                None => val,
            };
            return Some(bounded_str(&percent_decode(val), 512));
        }
        if starts_with_ci(part, b"filename=") {
            let val = trim(part.get(9..)?);
            let val = val
                .strip_prefix(b"\"")
                .map(|x| x.strip_suffix(b"\"").unwrap_or(x))
                .unwrap_or(val);
            plain = Some(bounded_str(val, 512));
        }
    }
    plain
}

fn percent_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let c = v.get(i).copied().unwrap_or(0);
        if c == b'%' {
            if let Some(n) = v
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(n);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

impl Dissector for HttpDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.done {
            return Progress::Done;
        }
        // The first bytes of a flow must look like HTTP.
        if self.emitted == 0 && self.pending.is_empty() && self.current.is_none() {
            let side = self.side(dir);
            if side.buf.is_empty() && side.state == Body::Headers {
                let meta = FlowMeta {
                    transport: super::Transport::Tcp,
                    client_port: 0,
                    server_port: 0,
                };
                let lead = data
                    .iter()
                    .position(|&b| b != b'\r' && b != b'\n')
                    .and_then(|i| data.get(i..))
                    .unwrap_or(&[]);
                if !lead.is_empty() && probe(&meta, dir, lead) == Probe::No {
                    return Progress::NotThisProtocol;
                }
            }
        }
        self.feed_side(dir, data, ts, out);
        if self.done {
            Progress::Done
        } else {
            Progress::Continue
        }
    }

    fn gap(&mut self, dir: Dir, len: usize) {
        self.counters.incr("gap");
        let side = self.side(dir);
        match side.state {
            Body::Length(n) => side.state = Body::Length(n.saturating_sub(len as u64)),
            Body::ChunkData(n) if n >= len as u64 => side.state = Body::ChunkData(n - len as u64),
            Body::UntilClose | Body::Opaque => {}
            _ => {
                // Lost framing: stop parsing this direction.
                side.buf.clear();
                side.state = Body::Opaque;
            }
        }
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        if let Some(t) = self.current.take() {
            let body = self.resp.body;
            self.emit(t, ts, out, Some(body));
        }
        while let Some(t) = self.pending.pop_front() {
            self.emit(t, ts, out, None);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some(h) = &self.first_host {
            fields.insert("url.domain".into(), Value::from(h.clone()));
        }
        if let Some(u) = &self.first_ua {
            fields.insert("user_agent.original".into(), Value::from(u.clone()));
        }
    }
}
