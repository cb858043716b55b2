//! FTP control channel (RFC 959, RFC 2428): login, transferred file names, reply codes and
//! the data-channel endpoints announced by `PORT`/`EPRT` and `PASV`/`EPSV` replies.
//! One `ftp` record per session; passwords are never kept (only that one was sent).

use std::collections::VecDeque;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::http::text::{
    bounded_str, contains_ci, push_bounded, split_word, starts_with_ci, str_list, LineBuf,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// File names kept per session.
pub const MAX_FILES: usize = 32;
/// Data-channel endpoints kept per session.
pub const MAX_DATA_CHANNELS: usize = 32;
/// Reply codes kept per session.
pub const MAX_REPLY_CODES: usize = 64;
/// Commands awaiting a reply.
pub const MAX_PENDING: usize = 64;
/// Longest name kept.
pub const MAX_NAME_LEN: usize = 512;

/// Client commands that identify FTP on their own.
const FTP_ONLY: &[&[u8]] = &[b"AUTH TLS", b"AUTH SSL", b"FEAT", b"SYST", b"OPTS UTF8"];

/// Probe: a `220` greeting naming FTP, or an FTP-only client command.
pub fn probe(_meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    let line = data
        .iter()
        .position(|&b| b == b'\n')
        .and_then(|i| data.get(..i));
    match dir {
        Dir::ToClient => {
            if data.len() < 4 {
                return if !data.is_empty()
                    && b"220".starts_with(data.get(..3.min(data.len())).unwrap_or(&[]))
                {
                    Probe::Maybe
                } else {
                    Probe::No
                };
            }
            if !(data.starts_with(b"220 ") || data.starts_with(b"220-")) {
                return Probe::No;
            }
            match line {
                Some(l) if contains_ci(l, b"ftp") => Probe::Yes,
                Some(l) if contains_ci(l, b"smtp") => Probe::No,
                _ => Probe::Maybe,
            }
        }
        Dir::ToServer => {
            let Some(l) = line else {
                return if !data.is_empty()
                    && data.len() < 10
                    && data.iter().all(u8::is_ascii_alphabetic)
                {
                    Probe::Maybe
                } else {
                    Probe::No
                };
            };
            if FTP_ONLY.iter().any(|c| starts_with_ci(l, c)) {
                Probe::Yes
            } else if starts_with_ci(l, b"USER ") {
                Probe::Maybe
            } else {
                Probe::No
            }
        }
    }
}

/// A fresh FTP dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(FtpDissector::default())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    User,
    Pass,
    AuthTls,
    Other,
}

/// FTP control-channel dissector.
#[derive(Debug, Default)]
pub struct FtpDissector {
    client: LineBuf,
    server: LineBuf,
    pending: VecDeque<Cmd>,
    greeted: bool,
    user: Option<String>,
    password_seen: bool,
    outcome: Option<&'static str>,
    files: Vec<String>,
    data_channels: Vec<String>,
    codes: Vec<i64>,
    commands: u64,
    tls: bool,
    emitted: bool,
    not_ftp: bool,
    counters: Counters,
}

/// `h1,h2,h3,h4,p1,p2` → `h1.h2.h3.h4:port`.
fn port_tuple(b: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(b).ok()?;
    let n: Vec<u16> = s
        .split(',')
        .map(|x| x.trim().parse::<u16>())
        .collect::<Result<_, _>>()
        .ok()?;
    if n.len() != 6 || n.iter().any(|&x| x > 255) {
        return None;
    }
    let port = n.get(4)? * 256 + n.get(5)?;
    Some(format!(
        "{}.{}.{}.{}:{}",
        n.first()?,
        n.get(1)?,
        n.get(2)?,
        n.get(3)?,
        port
    ))
}

/// `|1|10.0.0.1|5282|` (EPRT) or `|||5282|` (EPSV reply) → `addr:port` / `:port`.
fn extended_tuple(b: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(b).ok()?;
    let d = s.chars().next()?;
    let parts: Vec<&str> = s.split(d).collect();
    let addr = parts.get(2)?;
    let port: u16 = parts.get(3)?.parse().ok()?;
    if addr.contains(':') {
        Some(format!("[{addr}]:{port}"))
    } else {
        Some(format!("{addr}:{port}"))
    }
}

impl FtpDissector {
    /// Counters of dropped or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn client_line(&mut self, line: &[u8]) {
        self.commands += 1;
        let (verb, arg) = split_word(line);
        let cmd = if verb.eq_ignore_ascii_case(b"USER") {
            self.user = Some(bounded_str(arg, MAX_NAME_LEN));
            Cmd::User
        } else if verb.eq_ignore_ascii_case(b"PASS") {
            self.password_seen = true;
            Cmd::Pass
        } else if verb.eq_ignore_ascii_case(b"AUTH")
            && (starts_with_ci(arg, b"TLS") || starts_with_ci(arg, b"SSL"))
        {
            Cmd::AuthTls
        } else {
            if ["RETR", "STOR", "STOU", "APPE", "DELE"]
                .iter()
                .any(|c| verb.eq_ignore_ascii_case(c.as_bytes()))
                && !arg.is_empty()
            {
                push_bounded(
                    &mut self.files,
                    bounded_str(arg, MAX_NAME_LEN),
                    MAX_FILES,
                    &mut self.counters,
                    "ftp_files_over_limit",
                );
            } else if verb.eq_ignore_ascii_case(b"PORT") {
                if let Some(ep) = port_tuple(arg) {
                    self.data_channel(ep);
                }
            } else if verb.eq_ignore_ascii_case(b"EPRT") {
                if let Some(ep) = extended_tuple(arg) {
                    self.data_channel(ep);
                }
            }
            Cmd::Other
        };
        if self.pending.len() < MAX_PENDING {
            self.pending.push_back(cmd);
        } else {
            self.counters.incr("ftp_pending_overflow");
        }
    }

    fn data_channel(&mut self, ep: String) {
        push_bounded(
            &mut self.data_channels,
            ep,
            MAX_DATA_CHANNELS,
            &mut self.counters,
            "ftp_data_channels_over_limit",
        );
    }

    fn server_line(&mut self, line: &[u8]) -> bool {
        let code = match line.get(..3) {
            Some(d) if d.iter().all(u8::is_ascii_digit) => {
                d.iter().fold(0u16, |a, &c| a * 10 + u16::from(c - b'0'))
            }
            _ => {
                if !self.greeted {
                    self.not_ftp = true;
                    return false;
                }
                return true; // continuation text of a multi-line reply
            }
        };
        if line.get(3) == Some(&b'-') {
            return true;
        }
        if self.codes.len() < MAX_REPLY_CODES {
            self.codes.push(i64::from(code));
        }
        if !self.greeted {
            self.greeted = true;
            return true;
        }
        if code == 227 {
            if let (Some(s), Some(e)) = (
                line.iter().position(|&b| b == b'('),
                line.iter().rposition(|&b| b == b')'),
            ) {
                if let Some(ep) = line.get(s + 1..e).and_then(port_tuple) {
                    self.data_channel(ep);
                }
            }
        } else if code == 229 {
            if let (Some(s), Some(e)) = (
                line.iter().position(|&b| b == b'('),
                line.iter().rposition(|&b| b == b')'),
            ) {
                if let Some(ep) = line.get(s + 1..e).and_then(extended_tuple) {
                    self.data_channel(ep);
                }
            }
        }
        if (100..200).contains(&code) {
            return true; // preliminary reply: the command is still pending
        }
        match self.pending.pop_front() {
            Some(Cmd::User | Cmd::Pass) if code == 230 => self.outcome = Some("success"),
            Some(Cmd::User | Cmd::Pass) if code == 530 || code == 430 => {
                self.outcome = Some("failure")
            }
            Some(Cmd::AuthTls) if code == 234 => {
                self.tls = true;
                return false;
            }
            _ => {}
        }
        true
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        if self.emitted || !self.greeted {
            return;
        }
        self.emitted = true;
        let mut f = Fields::new();
        self.write(&mut f);
        f.insert("mamori.ftp.commands".into(), Value::from(self.commands));
        if !self.codes.is_empty() {
            f.insert(
                "mamori.ftp.reply_codes".into(),
                Value::List(self.codes.iter().map(|&c| Value::Int(c)).collect()),
            );
        }
        if !self.data_channels.is_empty() {
            f.insert(
                "mamori.ftp.data_channel".into(),
                str_list(&self.data_channels),
            );
        }
        out.push(Record {
            dataset: "ftp",
            ts,
            fields: f,
        });
    }

    fn write(&self, f: &mut Fields) {
        if let Some(u) = &self.user {
            f.insert("user.name".into(), Value::from(u.clone()));
        }
        f.insert(
            "mamori.ftp.password_seen".into(),
            Value::from(self.password_seen),
        );
        if let Some(o) = self.outcome {
            f.insert("event.outcome".into(), Value::from(o));
        }
        if !self.files.is_empty() {
            f.insert("file.name".into(), str_list(&self.files));
        }
        if self.tls {
            f.insert("mamori.ftp.auth_tls".into(), Value::from(true));
        }
    }
}

impl Dissector for FtpDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.emitted {
            return Progress::Done;
        }
        let mut lines = Vec::new();
        let lb = match dir {
            Dir::ToServer => &mut self.client,
            Dir::ToClient => &mut self.server,
        };
        lb.feed(data, &mut self.counters, |l| {
            lines.push(l.to_vec());
            true
        });
        for l in lines {
            match dir {
                Dir::ToServer => self.client_line(&l),
                Dir::ToClient => {
                    if !self.server_line(&l) {
                        break;
                    }
                }
            }
        }
        if self.not_ftp {
            return Progress::NotThisProtocol;
        }
        if self.tls {
            self.emit(ts, out);
            return Progress::Done;
        }
        Progress::Continue
    }

    fn gap(&mut self, _dir: Dir, _len: usize) {
        self.counters.incr("gap");
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        self.emit(ts, out);
    }

    fn flow_fields(&self, fields: &mut Fields) {
        self.write(fields);
    }
}
