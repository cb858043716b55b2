//! HTTP/1.1 requests and responses (Content-Length or chunked bodies) and a minimal
//! Windows executable body (`MZ` … `PE\0\0`) for download fixtures.
//!
//! ```
//! use mamori_testkit::payload::http::{HttpRequest, HttpResponse, exe_body};
//! let req = HttpRequest::get("downloads.example.net", "/setup.exe").build();
//! assert!(req.starts_with(b"GET /setup.exe HTTP/1.1\r\nHost: downloads.example.net\r\n"));
//! let resp = HttpResponse::ok().content_type("application/octet-stream").body(&exe_body(4096)).build();
//! let body_at = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
//! assert_eq!(&resp[body_at..body_at + 2], b"MZ");
//! ```

/// Default User-Agent of generated requests.
pub const DEFAULT_USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// Chunk size used for chunked bodies.
pub const CHUNK_SIZE: usize = 4096;
/// Smallest executable produced by [`exe_body`] (DOS header, stub and PE header).
pub const EXE_MIN_LEN: usize = 0x98;

/// An HTTP/1.1 request builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunked: bool,
}

impl HttpRequest {
    /// A request with `Host` and a browser `User-Agent`.
    pub fn new(method: &str, host: &str, target: &str) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: vec![
                ("Host".to_owned(), host.to_owned()),
                ("User-Agent".to_owned(), DEFAULT_USER_AGENT.to_owned()),
                ("Accept".to_owned(), "*/*".to_owned()),
            ],
            body: Vec::new(),
            chunked: false,
        }
    }

    /// A GET request.
    pub fn get(host: &str, target: &str) -> HttpRequest {
        HttpRequest::new("GET", host, target)
    }

    /// A POST request with a body.
    pub fn post(host: &str, target: &str, body: &[u8]) -> HttpRequest {
        HttpRequest::new("POST", host, target).body(body)
    }

    /// Add a header (or replace one of the same name, case-insensitive).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        set_header(&mut self.headers, name, value);
        self
    }

    /// Set the User-Agent.
    pub fn user_agent(self, ua: &str) -> Self {
        self.header("User-Agent", ua)
    }

    /// Set the body.
    pub fn body(mut self, b: &[u8]) -> Self {
        self.body = b.to_vec();
        self
    }

    /// Send the body chunked instead of with Content-Length.
    pub fn chunked(mut self, c: bool) -> Self {
        self.chunked = c;
        self
    }

    /// The wire bytes.
    pub fn build(&self) -> Vec<u8> {
        let start = format!("{} {} HTTP/1.1", self.method, self.target);
        let with_len = !self.body.is_empty() || self.method == "POST" || self.method == "PUT";
        message(&start, &self.headers, &self.body, self.chunked, with_len)
    }
}

/// An HTTP/1.1 response builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunked: bool,
}

impl HttpResponse {
    /// A response with a status code and reason phrase.
    pub fn new(status: u16, reason: &str) -> HttpResponse {
        HttpResponse {
            status,
            reason: reason.to_owned(),
            headers: vec![
                (
                    "Date".to_owned(),
                    "Mon, 02 Nov 2026 09:00:00 GMT".to_owned(),
                ),
                ("Server".to_owned(), "nginx/1.24.0".to_owned()),
            ],
            body: Vec::new(),
            chunked: false,
        }
    }

    /// 200 OK.
    pub fn ok() -> HttpResponse {
        HttpResponse::new(200, "OK")
    }

    /// 404 Not Found.
    pub fn not_found() -> HttpResponse {
        HttpResponse::new(404, "Not Found")
    }

    /// Add or replace a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        set_header(&mut self.headers, name, value);
        self
    }

    /// Set Content-Type.
    pub fn content_type(self, ct: &str) -> Self {
        self.header("Content-Type", ct)
    }

    /// Set the body.
    pub fn body(mut self, b: &[u8]) -> Self {
        self.body = b.to_vec();
        self
    }

    /// Send the body chunked.
    pub fn chunked(mut self, c: bool) -> Self {
        self.chunked = c;
        self
    }

    /// The wire bytes.
    pub fn build(&self) -> Vec<u8> {
        let start = format!("HTTP/1.1 {} {}", self.status, self.reason);
        message(&start, &self.headers, &self.body, self.chunked, true)
    }

    /// Only the status line and headers, announcing `content_length` body bytes that the
    /// caller streams separately (for large generated bodies).
    pub fn build_head(&self, content_length: u64) -> Vec<u8> {
        let start = format!("HTTP/1.1 {} {}", self.status, self.reason);
        let mut h = self.headers.clone();
        set_header(&mut h, "Content-Length", &content_length.to_string());
        message(&start, &h, &[], false, false)
    }
}

fn set_header(h: &mut Vec<(String, String)>, name: &str, value: &str) {
    if let Some(e) = h.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        e.1 = value.to_owned();
    } else {
        h.push((name.to_owned(), value.to_owned()));
    }
}

fn message(
    start: &str,
    headers: &[(String, String)],
    body: &[u8],
    chunked: bool,
    with_len: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (n, v) in headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        for c in body.chunks(CHUNK_SIZE) {
            out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        if with_len
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        {
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }
    out
}

/// A minimal PE executable image of `len` bytes (at least [`EXE_MIN_LEN`]): DOS header with
/// `e_lfanew`, the DOS stub message, a `PE\0\0` COFF header for x86-64, then filler.
pub fn exe_body(len: usize) -> Vec<u8> {
    let len = len.max(EXE_MIN_LEN);
    let mut v = vec![0u8; len];
    v[0] = b'M';
    v[1] = b'Z';
    v[2] = 0x90;
    v[0x3C] = 0x80; // e_lfanew
    let stub = b"This program cannot be run in DOS mode.\r\r\n$";
    v[0x4E..0x4E + stub.len()].copy_from_slice(stub);
    v[0x80..0x84].copy_from_slice(b"PE\0\0");
    v[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes()); // machine
    v[0x86..0x88].copy_from_slice(&3u16.to_le_bytes()); // sections
    v[0x94..0x96].copy_from_slice(&0xF0u16.to_le_bytes()); // optional header size
    v[0x96..0x98].copy_from_slice(&0x0022u16.to_le_bytes()); // characteristics
    for (i, b) in v.iter_mut().enumerate().skip(EXE_MIN_LEN) {
        *b = (i as u8).wrapping_mul(31) ^ 0x5C;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_matches_body() {
        let r = HttpResponse::ok().body(b"hello").build();
        let s = String::from_utf8(r).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(s.contains("Content-Length: 5\r\n"));
        assert!(s.ends_with("\r\n\r\nhello"));
    }

    #[test]
    fn head_only_announces_length_once() {
        let h = String::from_utf8(HttpResponse::ok().build_head(1_000_000)).unwrap();
        assert!(h.ends_with("Content-Length: 1000000\r\n\r\n"));
        assert_eq!(h.matches("Content-Length").count(), 1);
        let r = String::from_utf8(
            HttpResponse::ok()
                .header("Content-Length", "9")
                .body(b"abc")
                .build(),
        )
        .unwrap();
        assert_eq!(r.matches("Content-Length").count(), 1);
    }

    #[test]
    fn chunked_body_encoding() {
        let body = vec![b'a'; CHUNK_SIZE + 3];
        let r = HttpResponse::ok().chunked(true).body(&body).build();
        let s = String::from_utf8(r).unwrap();
        assert!(s.contains("Transfer-Encoding: chunked\r\n\r\n1000\r\n"));
        assert!(s.ends_with("\r\n3\r\naaa\r\n0\r\n\r\n"));
        assert!(!s.contains("Content-Length"));
    }

    #[test]
    fn get_has_no_length_post_does() {
        let g = String::from_utf8(HttpRequest::get("h", "/").build()).unwrap();
        assert!(!g.contains("Content-Length"));
        assert!(g.ends_with("\r\n\r\n"));
        let p = String::from_utf8(
            HttpRequest::post("h", "/x", b"a=1")
                .header("host", "h2")
                .build(),
        )
        .unwrap();
        assert!(p.contains("Content-Length: 3\r\n"));
        assert!(p.contains("Host: h2\r\n"));
        assert!(!p.contains("Host: h\r\n"));
    }

    #[test]
    fn exe_has_dos_and_pe_headers() {
        let e = exe_body(10);
        assert_eq!(e.len(), EXE_MIN_LEN);
        assert_eq!(&e[..2], b"MZ");
        let off = usize::from(e[0x3C]);
        assert_eq!(&e[off..off + 4], b"PE\0\0");
        assert_eq!(exe_body(5000).len(), 5000);
    }
}
