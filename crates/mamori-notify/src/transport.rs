//! Blocking network delivery: a small SMTP client (EHLO, STARTTLS / implicit TLS, AUTH PLAIN or
//! LOGIN, MIME multipart/alternative), an HTTP/1.1 client for Slack, Teams and webhooks (HMAC
//! signature and timestamp headers), and syslog over UDP, TCP or TLS with octet counting.
//!
//! Every read is bounded ([`MAX_REPLY_LINE`], [`MAX_HTTP_RESPONSE`]) and every socket has the
//! configured timeout, so a stuck peer costs at most the timeout per step.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::config::{
    EmailEndpoint, HttpTarget, SmtpTls, SyslogEndpoint, SyslogTransport, WebhookEndpoint,
};
use crate::render::Payload;

/// Longest SMTP reply line accepted.
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines in one multi-line SMTP reply.
pub const MAX_REPLY_LINES: usize = 64;
/// Bytes of an HTTP response read (status line and headers are all we need).
pub const MAX_HTTP_RESPONSE: usize = 16 * 1024;
/// Largest UDP syslog datagram sent; longer messages are truncated (and counted).
pub const MAX_UDP_DATAGRAM: usize = 8 * 1024;
/// Largest PEM CA file read.
pub const MAX_CA_FILE: u64 = 1024 * 1024;
/// Base64 line length in MIME bodies (RFC 2045 limit is 76).
const B64_LINE: usize = 76;
/// Input bytes per RFC 2047 encoded word (keeps each word under 75 characters).
const ENCODED_WORD_BYTES: usize = 45;

/// A delivery failure.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Connect, read or write failed.
    #[error("{peer}: {what}: {source}")]
    Io {
        /// `host:port`.
        peer: String,
        /// Step.
        what: &'static str,
        /// Cause.
        source: io::Error,
    },
    /// TLS setup failed.
    #[error("{peer}: tls: {reason}")]
    Tls {
        /// `host:port`.
        peer: String,
        /// Why.
        reason: String,
    },
    /// The server answered with an error or an unexpected reply.
    #[error("{peer}: {step}: server replied `{reply}`")]
    Rejected {
        /// `host:port`.
        peer: String,
        /// Protocol step.
        step: &'static str,
        /// First reply line (truncated).
        reply: String,
    },
    /// The payload does not fit this endpoint.
    #[error("payload kind does not match endpoint `{0}`")]
    Mismatch(String),
}

impl DeliveryError {
    /// Whether a retry can help (protocol rejections with 5xx SMTP/4xx HTTP cannot).
    pub fn is_permanent(&self) -> bool {
        match self {
            DeliveryError::Mismatch(_) => true,
            DeliveryError::Rejected { reply, .. } => {
                let code = reply.split_whitespace().nth(1).or(reply.get(..3));
                // SMTP 5xx and HTTP 4xx other than 408 / 429 are permanent.
                let smtp = reply.get(..1) == Some("5")
                    && reply
                        .get(..3)
                        .is_some_and(|c| c.bytes().all(|b| b.is_ascii_digit()));
                let http = reply.starts_with("HTTP/")
                    && code.is_some_and(|c| c.starts_with('4') && c != "408" && c != "429");
                smtp || http
            }
            _ => false,
        }
    }
}

fn io_err<'a>(peer: &'a str, what: &'static str) -> impl FnOnce(io::Error) -> DeliveryError + 'a {
    move |source| DeliveryError::Io {
        peer: peer.to_owned(),
        what,
        source,
    }
}

fn tls_config(ca_file: Option<&str>, peer: &str) -> Result<Arc<ClientConfig>, DeliveryError> {
    let tls_err = |reason: String| DeliveryError::Tls {
        peer: peer.to_owned(),
        reason,
    };
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut pem = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CA_FILE).read_to_end(&mut pem))
            .map_err(|e| tls_err(format!("ca_file {path}: {e}")))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| tls_err(format!("ca_file {path}: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| tls_err(format!("ca_file {path}: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(tls_err(format!("ca_file {path}: no certificates")));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

fn tls_wrap(
    tcp: TcpStream,
    host: &str,
    ca_file: Option<&str>,
    peer: &str,
) -> Result<StreamOwned<ClientConnection, TcpStream>, DeliveryError> {
    let cfg = tls_config(ca_file, peer)?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| DeliveryError::Tls {
        peer: peer.to_owned(),
        reason: format!("server name `{host}`: {e}"),
    })?;
    let conn = ClientConnection::new(cfg, name).map_err(|e| DeliveryError::Tls {
        peer: peer.to_owned(),
        reason: e.to_string(),
    })?;
    let mut s = StreamOwned::new(conn, tcp);
    // Complete the handshake now so certificate errors surface as TLS errors.
    while s.conn.is_handshaking() {
        s.conn
            .complete_io(&mut s.sock)
            .map_err(|e| DeliveryError::Tls {
                peer: peer.to_owned(),
                reason: e.to_string(),
            })?;
    }
    Ok(s)
}

fn connect(host: &str, port: u16, timeout: StdDuration) -> Result<TcpStream, DeliveryError> {
    let peer = format!("{host}:{port}");
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(io_err(&peer, "resolve"))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout))
                    .and_then(|()| s.set_write_timeout(Some(timeout)))
                    .map_err(io_err(&peer, "socket options"))?;
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(DeliveryError::Io {
        peer,
        what: "connect",
        source: last,
    })
}

/// A plain or TLS stream.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SMTP

/// An SMTP session with a small read buffer (never shared across a STARTTLS upgrade).
struct Smtp {
    conn: Option<Conn>,
    buf: Vec<u8>,
    peer: String,
}

impl Smtp {
    fn conn(&mut self) -> Result<&mut Conn, DeliveryError> {
        self.conn.as_mut().ok_or_else(|| DeliveryError::Tls {
            peer: self.peer.clone(),
            reason: "connection lost during upgrade".into(),
        })
    }

    fn read_line(&mut self) -> Result<String, DeliveryError> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let s = String::from_utf8_lossy(&line);
                return Ok(s.trim_end_matches(['\r', '\n']).to_owned());
            }
            if self.buf.len() > MAX_REPLY_LINE {
                return Err(DeliveryError::Rejected {
                    peer: self.peer.clone(),
                    step: "reply",
                    reply: format!("line longer than {MAX_REPLY_LINE} bytes"),
                });
            }
            let mut chunk = [0u8; 1024];
            let peer = self.peer.clone();
            let n = self
                .conn()?
                .read(&mut chunk)
                .map_err(io_err(&peer, "read"))?;
            if n == 0 {
                return Err(DeliveryError::Io {
                    peer,
                    what: "read",
                    source: io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"),
                });
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }

    /// Read a (multi-line) reply; returns (code, lines).
    fn reply(&mut self, step: &'static str) -> Result<(u16, Vec<String>), DeliveryError> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line()?;
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| DeliveryError::Rejected {
                    peer: self.peer.clone(),
                    step,
                    reply: truncate(&line),
                })?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line);
            if !more {
                return Ok((code, lines));
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(DeliveryError::Rejected {
                    peer: self.peer.clone(),
                    step,
                    reply: format!("more than {MAX_REPLY_LINES} reply lines"),
                });
            }
        }
    }

    fn expect(&mut self, step: &'static str, ok: &[u16]) -> Result<Vec<String>, DeliveryError> {
        let (code, lines) = self.reply(step)?;
        if ok.contains(&code) {
            Ok(lines)
        } else {
            Err(DeliveryError::Rejected {
                peer: self.peer.clone(),
                step,
                reply: truncate(lines.first().map_or("", String::as_str)),
            })
        }
    }

    fn send(&mut self, data: &[u8]) -> Result<(), DeliveryError> {
        let peer = self.peer.clone();
        let c = self.conn()?;
        c.write_all(data)
            .and_then(|()| c.flush())
            .map_err(io_err(&peer, "write"))
    }

    fn cmd(
        &mut self,
        line: &str,
        step: &'static str,
        ok: &[u16],
    ) -> Result<Vec<String>, DeliveryError> {
        self.send(format!("{line}\r\n").as_bytes())?;
        self.expect(step, ok)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// RFC 2047 encoding of a header value: ASCII text as is, anything else as UTF-8 base64
/// encoded words split on character boundaries and folded.
pub fn encode_header(value: &str) -> String {
    let clean: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.is_ascii() && !clean.contains("=?") && clean.len() <= 900 {
        return clean;
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in clean.chars() {
        if chunk.len() + c.len_utf8() > ENCODED_WORD_BYTES {
            words.push(format!("=?UTF-8?B?{}?=", b64.encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", b64.encode(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

fn base64_lines(data: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(enc.len() + enc.len() / B64_LINE * 2 + 2);
    let bytes = enc.as_bytes();
    for line in bytes.chunks(B64_LINE) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
    out
}

/// RFC 5322 date, e.g. `Mon, 23 Nov 2026 17:43:21 +0000`.
pub fn rfc5322_date(now_ms: u64) -> String {
    let secs = i64::try_from(now_ms / 1000).unwrap_or(0);
    let t = mamori_core::Timestamp::from_unix_secs(secs);
    let (y, mo, d, h, mi, s, _) = t.to_civil();
    let days = secs.div_euclid(86_400);
    // 1970-01-01 was a Thursday.
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        .get(days.rem_euclid(7) as usize)
        .copied()
        .unwrap_or("Mon");
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .get(mo.saturating_sub(1) as usize)
    .copied()
    .unwrap_or("Jan");
    format!("{wd}, {d:02} {mon} {y:04} {h:02}:{mi:02}:{s:02} +0000")
}

/// Build the RFC 5322 / MIME message (CRLF line ends, not yet dot-stuffed).
pub fn build_mime(
    from: &str,
    to: &[String],
    subject: &str,
    text: &str,
    html: &str,
    now_ms: u64,
    id: u64,
) -> String {
    let boundary = format!("=_mamori_{now_ms:x}_{id:x}");
    let host = from.rsplit_once('@').map_or("mamori", |(_, d)| d);
    let mut m = String::new();
    m.push_str(&format!("From: {from}\r\n"));
    // One address per folded line keeps long recipient lists under the 998-byte line limit.
    m.push_str(&format!("To: {}\r\n", to.join(",\r\n ")));
    m.push_str(&format!("Subject: {}\r\n", encode_header(subject)));
    m.push_str(&format!("Date: {}\r\n", rfc5322_date(now_ms)));
    m.push_str(&format!("Message-ID: <{now_ms:x}.{id:x}@{host}>\r\n"));
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str("Auto-Submitted: auto-generated\r\n");
    m.push_str("X-Mailer: mamori\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
    ));
    for (ctype, body) in [("text/plain", text), ("text/html", html)] {
        m.push_str(&format!("--{boundary}\r\n"));
        m.push_str(&format!("Content-Type: {ctype}; charset=UTF-8\r\n"));
        m.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        m.push_str(&base64_lines(body.as_bytes()));
    }
    m.push_str(&format!("--{boundary}--\r\n"));
    m
}

/// Dot-stuff (RFC 5321 §4.5.2) and terminate a CRLF message for DATA.
fn dot_stuff(msg: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 8);
    for line in msg.split("\r\n") {
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // `split` yields a trailing empty piece for a message ending in CRLF: drop its CRLF.
    if msg.ends_with("\r\n") {
        out.truncate(out.len().saturating_sub(2));
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn ehlo_caps(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .skip(1)
        .filter_map(|l| l.get(4..))
        .map(|l| l.to_ascii_uppercase())
        .collect()
}

/// One mail to send.
#[derive(Debug, Clone, Copy)]
pub struct MailMessage<'a> {
    /// Recipient addresses.
    pub to: &'a [String],
    /// Subject (UTF-8).
    pub subject: &'a str,
    /// Plain text body.
    pub text: &'a str,
    /// HTML body.
    pub html: &'a str,
}

/// Send one mail through `ep`; `id` makes the Message-ID unique.
pub fn send_email(
    ep: &EmailEndpoint,
    mail: &MailMessage<'_>,
    now_ms: u64,
    id: u64,
    timeout: StdDuration,
) -> Result<(), DeliveryError> {
    let MailMessage {
        to,
        subject,
        text,
        html,
    } = *mail;
    let peer = format!("{}:{}", ep.host, ep.port);
    let tcp = connect(&ep.host, ep.port, timeout)?;
    let conn = match ep.tls {
        SmtpTls::Tls => Conn::Tls(Box::new(tls_wrap(
            tcp,
            &ep.host,
            ep.ca_file.as_deref(),
            &peer,
        )?)),
        _ => Conn::Plain(tcp),
    };
    let mut s = Smtp {
        conn: Some(conn),
        buf: Vec::new(),
        peer: peer.clone(),
    };
    s.expect("greeting", &[220])?;
    let mut caps = ehlo_caps(&s.cmd(&format!("EHLO {}", ep.helo_name), "ehlo", &[250])?);
    if ep.tls == SmtpTls::Starttls {
        if !caps.iter().any(|c| c == "STARTTLS") {
            return Err(DeliveryError::Tls {
                peer,
                reason: "server does not offer STARTTLS".into(),
            });
        }
        s.cmd("STARTTLS", "starttls", &[220])?;
        if !s.buf.is_empty() {
            // Bytes after the 220 before the handshake would be a command injection.
            return Err(DeliveryError::Tls {
                peer,
                reason: "data received before the TLS handshake".into(),
            });
        }
        let tcp = match s.conn.take() {
            Some(Conn::Plain(t)) => t,
            _ => {
                return Err(DeliveryError::Tls {
                    peer,
                    reason: "unexpected connection state".into(),
                })
            }
        };
        s.conn = Some(Conn::Tls(Box::new(tls_wrap(
            tcp,
            &ep.host,
            ep.ca_file.as_deref(),
            &peer,
        )?)));
        caps = ehlo_caps(&s.cmd(&format!("EHLO {}", ep.helo_name), "ehlo", &[250])?);
    }
    if let Some((user, pass)) = &ep.credentials {
        let auth = caps
            .iter()
            .find(|c| c.starts_with("AUTH"))
            .cloned()
            .unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD;
        if auth.split_whitespace().any(|m| m == "PLAIN") {
            let token = b64.encode(format!("\0{user}\0{}", pass.expose()));
            s.cmd(&format!("AUTH PLAIN {token}"), "auth", &[235])?;
        } else if auth.split_whitespace().any(|m| m == "LOGIN") {
            s.cmd("AUTH LOGIN", "auth", &[334])?;
            s.cmd(&b64.encode(user), "auth", &[334])?;
            s.cmd(&b64.encode(pass.expose()), "auth", &[235])?;
        } else {
            return Err(DeliveryError::Rejected {
                peer,
                step: "auth",
                reply: "server offers neither AUTH PLAIN nor LOGIN".into(),
            });
        }
    }
    s.cmd(&format!("MAIL FROM:<{}>", ep.from), "mail from", &[250])?;
    for rcpt in to {
        s.cmd(&format!("RCPT TO:<{rcpt}>"), "rcpt to", &[250, 251])?;
    }
    s.cmd("DATA", "data", &[354])?;
    let msg = build_mime(&ep.from, to, subject, text, html, now_ms, id);
    s.send(&dot_stuff(&msg))?;
    s.expect("data end", &[250])?;
    // The mail is accepted; a failing QUIT does not matter.
    let _ = s.cmd("QUIT", "quit", &[221]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// Hex encoding (lowercase).
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

/// `sha256=<hex>` HMAC over `<timestamp>.<body>`.
pub fn webhook_signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    type HmacSha256 = hmac::Hmac<sha2::Sha256>;
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// POST/PUT `body` to `target`; 2xx is success.
pub fn send_http(
    target: &HttpTarget,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    ca_file: Option<&str>,
    timeout: StdDuration,
) -> Result<u16, DeliveryError> {
    let peer = format!("{}:{}", target.host, target.port);
    let tcp = connect(&target.host, target.port, timeout)?;
    let mut conn = if target.https {
        Conn::Tls(Box::new(tls_wrap(tcp, &target.host, ca_file, &peer)?))
    } else {
        Conn::Plain(tcp)
    };
    let host_header = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let default_port = if target.https { 443 } else { 80 };
    let host_header = if target.port == default_port {
        host_header
    } else {
        format!("{host_header}:{}", target.port)
    };
    let mut req = format!(
        "{method} {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: mamori/{}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        target.path,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(k);
        req.push_str(": ");
        req.push_str(v);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    conn.write_all(req.as_bytes())
        .and_then(|()| conn.write_all(body))
        .and_then(|()| conn.flush())
        .map_err(io_err(&peer, "write"))?;
    let mut resp = Vec::new();
    let mut chunk = [0u8; 2048];
    while !resp.windows(2).any(|w| w == b"\r\n") {
        let n = conn.read(&mut chunk).map_err(io_err(&peer, "read"))?;
        if n == 0 {
            break;
        }
        resp.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        if resp.len() >= MAX_HTTP_RESPONSE {
            break;
        }
    }
    let text = String::from_utf8_lossy(&resp);
    let status_line = text.lines().next().unwrap_or("").to_owned();
    let code = status_line
        .strip_prefix("HTTP/")
        .and_then(|r| r.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(c) if (200..300).contains(&c) => Ok(c),
        _ => Err(DeliveryError::Rejected {
            peer,
            step: "http response",
            reply: truncate(if status_line.is_empty() {
                "<no response>"
            } else {
                &status_line
            }),
        }),
    }
}

/// Send a webhook payload with signature headers when a secret is set.
pub fn send_webhook(
    ep: &WebhookEndpoint,
    body: &str,
    now_ms: u64,
    timeout: StdDuration,
) -> Result<u16, DeliveryError> {
    let mut headers = ep.headers.clone();
    if let Some(secret) = &ep.secret {
        let ts = now_ms / 1000;
        headers.push((ep.timestamp_header.clone(), ts.to_string()));
        headers.push((
            ep.signature_header.clone(),
            webhook_signature(secret.expose().as_bytes(), ts, body.as_bytes()),
        ));
    }
    send_http(
        &ep.target,
        &ep.method,
        &headers,
        body.as_bytes(),
        ep.ca_file.as_deref(),
        timeout,
    )
}

// ---------------------------------------------------------------------------------------------
// Syslog

/// Send syslog lines; returns how many UDP datagrams were truncated.
pub fn send_syslog(
    ep: &SyslogEndpoint,
    lines: &[String],
    timeout: StdDuration,
) -> Result<u64, DeliveryError> {
    let peer = format!("{}:{}", ep.host, ep.port);
    match ep.transport {
        SyslogTransport::Udp => {
            let addr = (ep.host.as_str(), ep.port)
                .to_socket_addrs()
                .map_err(io_err(&peer, "resolve"))?
                .next()
                .ok_or_else(|| DeliveryError::Io {
                    peer: peer.clone(),
                    what: "resolve",
                    source: io::Error::new(io::ErrorKind::NotFound, "no address"),
                })?;
            let bind = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let sock = UdpSocket::bind(bind).map_err(io_err(&peer, "bind"))?;
            let mut truncated = 0;
            for l in lines {
                let mut b = l.as_bytes();
                if b.len() > MAX_UDP_DATAGRAM {
                    let mut cut = MAX_UDP_DATAGRAM;
                    while cut > 0 && !l.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    b = b.get(..cut).unwrap_or(b);
                    truncated += 1;
                }
                sock.send_to(b, addr).map_err(io_err(&peer, "send"))?;
            }
            Ok(truncated)
        }
        SyslogTransport::Tcp | SyslogTransport::Tls => {
            let tcp = connect(&ep.host, ep.port, timeout)?;
            let mut conn = if ep.transport == SyslogTransport::Tls {
                Conn::Tls(Box::new(tls_wrap(
                    tcp,
                    &ep.server_name,
                    ep.ca_file.as_deref(),
                    &peer,
                )?))
            } else {
                Conn::Plain(tcp)
            };
            let mut out = Vec::new();
            for l in lines {
                // RFC 6587 / RFC 5425 octet counting: "<len> <msg>".
                out.extend_from_slice(format!("{} ", l.len()).as_bytes());
                out.extend_from_slice(l.as_bytes());
            }
            conn.write_all(&out)
                .and_then(|()| conn.flush())
                .map_err(io_err(&peer, "write"))?;
            if let Conn::Tls(mut t) = conn {
                t.conn.send_close_notify();
                let _ = t.conn.complete_io(&mut t.sock);
            }
            Ok(0)
        }
    }
}

/// Deliver a rendered payload; returns UDP datagrams truncated (syslog) or 0.
pub fn deliver(
    endpoint: &crate::config::Endpoint,
    to: &[String],
    payload: &Payload,
    now_ms: u64,
    id: u64,
    timeout: StdDuration,
) -> Result<u64, DeliveryError> {
    use crate::config::EndpointKind as K;
    match (&endpoint.kind, payload) {
        (
            K::Email(ep),
            Payload::Email {
                subject,
                text,
                html,
            },
        ) => {
            let mail = MailMessage {
                to,
                subject,
                text,
                html,
            };
            send_email(ep, &mail, now_ms, id, timeout).map(|()| 0)
        }
        (K::Slack(t) | K::Teams(t), Payload::Http { body, .. }) => {
            send_http(t, "POST", &[], body.as_bytes(), None, timeout).map(|_| 0)
        }
        (K::Webhook(w), Payload::Http { body, .. }) => {
            send_webhook(w, body, now_ms, timeout).map(|_| 0)
        }
        (K::Syslog(s), Payload::Syslog { lines }) => send_syslog(s, lines, timeout),
        _ => Err(DeliveryError::Mismatch(endpoint.id.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_subject_is_encoded_words() {
        let e = encode_header("[mamori][高] ポートスキャン検知");
        assert!(e.starts_with("=?UTF-8?B?"));
        for w in e.split("\r\n ") {
            assert!(w.len() <= 75, "{w}");
        }
        assert_eq!(encode_header("plain"), "plain");
        assert_eq!(encode_header("a\r\nBcc: x"), "a  Bcc: x");
    }

    #[test]
    fn dot_stuffing_and_date() {
        assert_eq!(dot_stuff("a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_795_455_801_000),
            "Mon, 23 Nov 2026 17:43:21 +0000"
        );
    }

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Reference value computed independently (Python hmac module).
        assert_eq!(
            webhook_signature(b"key", 1_700_000_000, br#"{"a":1}"#),
            "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
        assert_ne!(
            webhook_signature(b"key", 1_700_000_001, br#"{"a":1}"#),
            webhook_signature(b"key", 1_700_000_000, br#"{"a":1}"#)
        );
    }

    #[test]
    fn permanent_errors() {
        let r = |reply: &str| DeliveryError::Rejected {
            peer: "p".into(),
            step: "s",
            reply: reply.into(),
        };
        assert!(r("550 no such user").is_permanent());
        assert!(!r("451 try later").is_permanent());
        assert!(r("HTTP/1.1 404 Not Found").is_permanent());
        assert!(!r("HTTP/1.1 429 Too Many").is_permanent());
        assert!(!r("HTTP/1.1 503 Unavailable").is_permanent());
    }
}
