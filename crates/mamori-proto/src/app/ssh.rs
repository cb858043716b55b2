//! SSH (RFC 4253): banner exchange and the KEXINIT of each side, giving the software
//! names and the HASSH / HASSH-server fingerprints (MD5 of the `kex;enc;mac;cmp` lists).
//! Everything after the key exchange starts is encrypted: the dissector then stops.

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::http::text::bounded_str;
use super::tls::{ja3::md5_hex, Reader};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Longest banner line (RFC 4253 §4.2 allows 255 bytes).
pub const MAX_BANNER: usize = 255;
/// Non-banner lines a server may send before its banner.
pub const MAX_PRE_BANNER_LINES: usize = 32;
/// Largest binary packet accepted while looking for KEXINIT.
pub const MAX_PACKET: usize = 35_000;
/// Bytes buffered per direction.
pub const MAX_BUFFER: usize = 64 * 1024;
/// Longest algorithm name list kept.
pub const MAX_NAME_LIST: usize = 4096;

/// SSH message number of KEXINIT.
const MSG_KEXINIT: u8 = 20;

/// Probe: `SSH-1.x-` or `SSH-2.0-` at the start of a direction.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    const P: &[u8] = b"SSH-";
    if data.len() < P.len() {
        return if !data.is_empty() && P.starts_with(data) {
            Probe::Maybe
        } else {
            Probe::No
        };
    }
    if !data.starts_with(P) {
        return Probe::No;
    }
    match data.get(4..8) {
        None => Probe::Maybe,
        Some(b"2.0-" | b"1.99" | b"1.5-" | b"1.3-") => Probe::Yes,
        Some(_) => Probe::No,
    }
}

/// A fresh SSH dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(SshDissector::default())
}

/// The algorithm lists of one KEXINIT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KexInit {
    /// Key exchange algorithms.
    pub kex: String,
    /// Host key algorithms.
    pub host_key: String,
    /// Ciphers client→server.
    pub enc_c2s: String,
    /// Ciphers server→client.
    pub enc_s2c: String,
    /// MACs client→server.
    pub mac_c2s: String,
    /// MACs server→client.
    pub mac_s2c: String,
    /// Compression client→server.
    pub cmp_c2s: String,
    /// Compression server→client.
    pub cmp_s2c: String,
}

impl KexInit {
    /// The HASSH input string of the client (`kex;enc;mac;cmp` of client→server lists).
    pub fn hassh_string(&self) -> String {
        format!(
            "{};{};{};{}",
            self.kex, self.enc_c2s, self.mac_c2s, self.cmp_c2s
        )
    }
    /// The HASSH-server input string (server→client lists).
    pub fn hassh_server_string(&self) -> String {
        format!(
            "{};{};{};{}",
            self.kex, self.enc_s2c, self.mac_s2c, self.cmp_s2c
        )
    }
}

/// Parse a KEXINIT payload (starting at the message number).
pub fn parse_kexinit(payload: &[u8]) -> Option<KexInit> {
    let mut r = Reader::new(payload);
    if r.u8()? != MSG_KEXINIT {
        return None;
    }
    r.take(16)?;
    let mut list = || -> Option<String> {
        let n = usize::try_from(r.u32()?).ok()?;
        Some(bounded_str(r.take(n)?, MAX_NAME_LIST))
    };
    Some(KexInit {
        kex: list()?,
        host_key: list()?,
        enc_c2s: list()?,
        enc_s2c: list()?,
        mac_c2s: list()?,
        mac_s2c: list()?,
        cmp_c2s: list()?,
        cmp_s2c: list()?,
    })
}

/// Split `SSH-2.0-OpenSSH_8.9p1 Ubuntu-3` into (proto, software, version, comment).
pub fn parse_banner(b: &str) -> Option<(&str, &str, Option<&str>, Option<&str>)> {
    let rest = b.strip_prefix("SSH-")?;
    let (proto, rest) = rest.split_once('-')?;
    let (sw, comment) = match rest.split_once(' ') {
        Some((s, c)) => (s, Some(c)),
        None => (rest, None),
    };
    let (name, ver) = match sw.split_once('_') {
        Some((n, v)) => (n, Some(v)),
        None => (sw, None),
    };
    Some((proto, name, ver, comment))
}

#[derive(Debug, Default)]
struct Side {
    buf: Vec<u8>,
    banner: Option<String>,
    pre_lines: usize,
    kex: Option<KexInit>,
    stopped: bool,
}

/// SSH banner and KEXINIT dissector.
#[derive(Debug, Default)]
pub struct SshDissector {
    client: Side,
    server: Side,
    emitted: bool,
    counters: Counters,
}

impl SshDissector {
    /// Counters of dropped or malformed input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn side(&mut self, dir: Dir) -> &mut Side {
        match dir {
            Dir::ToServer => &mut self.client,
            Dir::ToClient => &mut self.server,
        }
    }

    /// Consume buffered bytes; false when the stream is not SSH.
    fn process(&mut self, dir: Dir) -> bool {
        let counters = &mut self.counters;
        let side = match dir {
            Dir::ToServer => &mut self.client,
            Dir::ToClient => &mut self.server,
        };
        while side.banner.is_none() {
            let Some(nl) = side.buf.iter().position(|&b| b == b'\n') else {
                if side.buf.len() > MAX_BANNER + 2 {
                    return false;
                }
                return true;
            };
            let line: Vec<u8> = side.buf.drain(..=nl).collect();
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.starts_with(b"SSH-") {
                side.banner = Some(bounded_str(line, MAX_BANNER));
            } else {
                side.pre_lines += 1;
                if dir == Dir::ToServer || side.pre_lines > MAX_PRE_BANNER_LINES {
                    return false;
                }
            }
        }
        while side.kex.is_none() && !side.stopped {
            let mut r = Reader::new(&side.buf);
            let (Some(len), Some(pad)) = (r.u32(), r.u8()) else {
                return true;
            };
            let len = len as usize;
            if !(5..=MAX_PACKET).contains(&len) || usize::from(pad) >= len {
                counters.incr("ssh_bad_packet");
                side.stopped = true;
                return true;
            }
            if side.buf.len() < 4 + len {
                return true;
            }
            let payload = side.buf.get(5..4 + len - usize::from(pad)).unwrap_or(&[]);
            if payload.first() == Some(&MSG_KEXINIT) {
                match parse_kexinit(payload) {
                    Some(k) => side.kex = Some(k),
                    None => {
                        counters.incr("ssh_bad_kexinit");
                        side.stopped = true;
                    }
                }
            }
            side.buf.drain(..4 + len);
        }
        true
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        if self.emitted || (self.client.banner.is_none() && self.server.banner.is_none()) {
            return;
        }
        self.emitted = true;
        let mut f = Fields::new();
        self.write(&mut f, true);
        out.push(Record {
            dataset: "ssh",
            ts,
            fields: f,
        });
    }

    fn write(&self, f: &mut Fields, full: bool) {
        for (side, who) in [(&self.client, "client"), (&self.server, "server")] {
            if let Some(b) = &side.banner {
                f.insert(
                    format!("mamori.ssh.{who}_banner").into(),
                    Value::from(b.clone()),
                );
                if let Some((proto, sw, ver, _)) = parse_banner(b) {
                    f.insert(format!("mamori.ssh.{who}_proto").into(), Value::from(proto));
                    f.insert(format!("mamori.ssh.{who}_software").into(), Value::from(sw));
                    if let Some(v) = ver {
                        f.insert(format!("mamori.ssh.{who}_version").into(), Value::from(v));
                    }
                }
            }
        }
        if let Some(k) = &self.client.kex {
            let s = k.hassh_string();
            f.insert(
                "mamori.ssh.hassh".into(),
                Value::from(md5_hex(s.as_bytes())),
            );
            if full {
                f.insert("mamori.ssh.hassh_string".into(), Value::from(s));
            }
        }
        if let Some(k) = &self.server.kex {
            let s = k.hassh_server_string();
            f.insert(
                "mamori.ssh.hassh_server".into(),
                Value::from(md5_hex(s.as_bytes())),
            );
            if full {
                f.insert("mamori.ssh.hassh_server_string".into(), Value::from(s));
                f.insert(
                    "mamori.ssh.host_key_algorithms".into(),
                    Value::from(k.host_key.clone()),
                );
            }
        }
    }
}

impl Dissector for SshDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.emitted {
            return Progress::Done;
        }
        let side = self.side(dir);
        if side.kex.is_some() || side.stopped {
            return Progress::Continue;
        }
        if side.buf.len() + data.len() > MAX_BUFFER {
            self.counters.incr("ssh_buffer_over_limit");
            self.side(dir).stopped = true;
        } else {
            side.buf.extend_from_slice(data);
            if !self.process(dir) {
                if self.client.banner.is_none() && self.server.banner.is_none() {
                    return Progress::NotThisProtocol;
                }
                self.side(dir).stopped = true;
            }
        }
        let c = self.client.kex.is_some() || self.client.stopped;
        let s = self.server.kex.is_some() || self.server.stopped;
        if c && s {
            self.emit(ts, out);
            return Progress::Done;
        }
        Progress::Continue
    }

    fn gap(&mut self, dir: Dir, _len: usize) {
        self.counters.incr("gap");
        let side = self.side(dir);
        side.buf.clear();
        side.stopped = true;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        self.emit(ts, out);
    }

    fn flow_fields(&self, fields: &mut Fields) {
        self.write(fields, false);
    }
}
