//! SMB1 and SMB2/3 over NetBIOS session framing (139) or direct TCP (445).
//!
//! `smb` records (`mamori.smb.action`):
//! - `negotiate`: `mamori.smb.dialect` (`NT LM 0.12`, `2.02`, `2.1`, `3.0`, `3.0.2`, `3.1.1`),
//!   `mamori.smb.version` (1, 2 or 3 — SMBv1 is what the insecure-protocol check looks for),
//!   `mamori.smb.dialects_offered`;
//! - `session_setup`: NTLMSSP AUTHENTICATE → `user.name`, `user.domain`,
//!   `mamori.smb.workstation`, `mamori.smb.ntlm_version` (`v1` is weak), `event.outcome`,
//!   `mamori.smb.status` (SMB1 non-extended session setup: account and domain likewise);
//! - `tree_connect`: `mamori.smb.path` (`\\host\ADMIN$`), `mamori.smb.share` (`ADMIN$`,
//!   `C$`, `IPC$` are lateral-movement hints), `mamori.smb.share_type`;
//! - `create`: `file.path`/`file.name` of opened files and pipes (at most
//!   [`MAX_FILE_RECORDS`] per flow), with the share they were opened on.
//!
//! Encrypted SMB3 (transform header) is counted and skipped; only the first
//! [`MAX_MESSAGE_HEAD`] bytes of each message are parsed (READ/WRITE data is never buffered).

mod ntlm;

use std::borrow::Cow;
use std::collections::VecDeque;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::registry_a::util::{
    bounded_str, le16, le32, set, utf16le, Emitter, Frame, Streams, MAX_RECORDS_PER_FLOW,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

pub use ntlm::{authenticate as parse_ntlm_authenticate, Authenticate};

/// Bytes of one SMB message kept for parsing.
pub const MAX_MESSAGE_HEAD: usize = 16 * 1024;
/// Requests awaiting their response.
pub const MAX_PENDING: usize = 64;
/// `create` records per flow.
pub const MAX_FILE_RECORDS: usize = 256;
/// Tree ids remembered per flow.
pub const MAX_TREES: usize = 64;
/// Dialects listed from a negotiate request.
pub const MAX_DIALECTS: usize = 32;
/// Compounded SMB2 messages followed in one frame.
pub const MAX_COMPOUND: usize = 16;
/// Longest path or file name decoded (characters).
pub const MAX_PATH_CHARS: usize = 1024;

const SMB1: &[u8; 4] = b"\xffSMB";
const SMB2: &[u8; 4] = b"\xfeSMB";
const SMB3_TRANSFORM: &[u8; 4] = b"\xfdSMB";
const SMB2_COMPRESSED: &[u8; 4] = b"\xfcSMB";

/// NT status name (the common ones), else `0x…` hex.
pub fn status_name(s: u32) -> String {
    let n = match s {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0xC000_0005 => "STATUS_ACCESS_VIOLATION",
        0xC000_000D => "STATUS_INVALID_PARAMETER",
        0xC000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xC000_0022 => "STATUS_ACCESS_DENIED",
        0xC000_0033 => "STATUS_OBJECT_NAME_INVALID",
        0xC000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xC000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xC000_003A => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xC000_0043 => "STATUS_SHARING_VIOLATION",
        0xC000_0064 => "STATUS_NO_SUCH_USER",
        0xC000_006A => "STATUS_WRONG_PASSWORD",
        0xC000_006D => "STATUS_LOGON_FAILURE",
        0xC000_006E => "STATUS_ACCOUNT_RESTRICTION",
        0xC000_006F => "STATUS_INVALID_LOGON_HOURS",
        0xC000_0070 => "STATUS_INVALID_WORKSTATION",
        0xC000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xC000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xC000_00BB => "STATUS_NOT_SUPPORTED",
        0xC000_00CC => "STATUS_BAD_NETWORK_NAME",
        0xC000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xC000_0203 => "STATUS_USER_SESSION_DELETED",
        0xC000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xC000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        _ => return format!("0x{s:08x}"),
    };
    n.to_owned()
}

/// SMB2 dialect revision text.
pub fn smb2_dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.02".into(),
        0x0210 => "2.1".into(),
        0x0222 => "2.2.2".into(),
        0x0224 => "2.2.4".into(),
        0x0300 => "3.0".into(),
        0x0302 => "3.0.2".into(),
        0x0310 => "3.1".into(),
        0x0311 => "3.1.1".into(),
        0x02ff => "2.???".into(),
        other => format!("0x{other:04x}"),
    }
}

/// Probe: a NetBIOS session message holding an SMB1/SMB2/SMB3 header, or a NetBIOS session
/// request with encoded called and calling names.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    let Some(&t) = data.first() else {
        return Probe::No;
    };
    match t {
        0x00 => {
            let Some(proto) = data.get(4..8) else {
                let have = data.get(4..).unwrap_or(&[]);
                return if [SMB1, SMB2, SMB3_TRANSFORM, SMB2_COMPRESSED]
                    .iter()
                    .any(|m| m.starts_with(have))
                {
                    Probe::Maybe
                } else {
                    Probe::No
                };
            };
            if [SMB1, SMB2, SMB3_TRANSFORM, SMB2_COMPRESSED]
                .iter()
                .any(|m| m.as_slice() == proto)
            {
                Probe::Yes
            } else {
                Probe::No
            }
        }
        0x81 => match data.get(4..38) {
            Some(n)
                if n.first() == Some(&0x20)
                    && n.get(1..33)
                        .is_some_and(|e| e.iter().all(|c| (b'A'..=b'P').contains(c))) =>
            {
                Probe::Yes
            }
            Some(_) => Probe::No,
            None => Probe::Maybe,
        },
        _ => Probe::No,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Session,
    Tree,
    Create,
}

#[derive(Debug)]
struct Pending {
    key: (bool, u64),
    kind: Kind,
    ts: Timestamp,
    fields: Fields,
}

/// Per-flow SMB dissector.
#[derive(Debug, Default)]
pub struct SmbDissector {
    streams: Streams,
    counters: Counters,
    emitter: Emitter,
    pending: VecDeque<Pending>,
    offered: Vec<String>,
    dialect: Option<String>,
    version: Option<u8>,
    negotiated: bool,
    trees: Vec<(u32, String)>,
    files: usize,
    encrypted: bool,
    first_user: Option<(String, String)>,
}

/// A fresh dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::<SmbDissector>::default()
}

fn share_of(path: &str) -> String {
    path.rsplit('\\')
        .find(|s| !s.is_empty())
        .unwrap_or(path)
        .to_owned()
}

fn last_component(path: &str) -> String {
    path.rsplit(['\\', '/']).next().unwrap_or(path).to_owned()
}

fn le64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from(le32(b, off)?) | (u64::from(le32(b, off + 4)?) << 32))
}

/// A NUL-terminated string at `pos` (UTF-16LE when `unicode`), and the offset after it.
fn smb_string(b: &[u8], pos: usize, unicode: bool) -> Option<(String, usize)> {
    let rest = b.get(pos..)?;
    if unicode {
        let end = rest
            .chunks_exact(2)
            .position(|c| c == [0, 0])
            .map_or(rest.len() & !1, |i| i * 2);
        Some((utf16le(rest.get(..end)?, MAX_PATH_CHARS), pos + end + 2))
    } else {
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        Some((bounded_str(rest.get(..end)?, MAX_PATH_CHARS), pos + end + 1))
    }
}

impl SmbDissector {
    /// Counters of malformed, encrypted or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn emit(&mut self, out: &mut Vec<Record>, ts: Timestamp, mut f: Fields) {
        if let Some(v) = self.version {
            f.entry(Cow::Borrowed("mamori.smb.version"))
                .or_insert(Value::from(v));
        }
        if let Some(d) = &self.dialect {
            f.entry(Cow::Borrowed("mamori.smb.dialect"))
                .or_insert_with(|| Value::from(d.clone()));
        }
        self.emitter
            .emit(out, &mut self.counters, MAX_RECORDS_PER_FLOW, "smb", ts, f);
    }

    fn push_pending(&mut self, p: Pending, out: &mut Vec<Record>) {
        if self.pending.len() >= MAX_PENDING {
            self.counters.incr("pending_overflow");
            if let Some(old) = self.pending.pop_front() {
                self.emit(out, old.ts, old.fields);
            }
        }
        self.pending.push_back(p);
    }

    fn take_pending(&mut self, key: (bool, u64)) -> Option<Pending> {
        let i = self.pending.iter().position(|p| p.key == key)?;
        self.pending.remove(i)
    }

    fn negotiated(&mut self, dialect: String, version: u8, ts: Timestamp, out: &mut Vec<Record>) {
        self.dialect = Some(dialect.clone());
        self.version = Some(version);
        if self.negotiated {
            return;
        }
        self.negotiated = true;
        let mut f = Fields::new();
        set!(f, "mamori.smb.action", "negotiate");
        set!(f, "mamori.smb.dialect", dialect);
        set!(f, "mamori.smb.version", version);
        if !self.offered.is_empty() {
            let v: Vec<Value> = self
                .offered
                .iter()
                .map(|d| Value::from(d.clone()))
                .collect();
            set!(f, "mamori.smb.dialects_offered", v);
        }
        self.emit(out, ts, f);
    }

    fn auth_fields(&mut self, a: &Authenticate, f: &mut Fields) {
        set!(f, "mamori.smb.action", "session_setup");
        set!(f, "mamori.smb.auth", "ntlm");
        if !a.user.is_empty() {
            set!(f, "user.name", a.user.clone());
        }
        if !a.domain.is_empty() {
            set!(f, "user.domain", a.domain.clone());
        }
        if !a.workstation.is_empty() {
            set!(f, "mamori.smb.workstation", a.workstation.clone());
        }
        set!(f, "mamori.smb.ntlm_version", a.version);
        if self.first_user.is_none() && !a.user.is_empty() {
            self.first_user = Some((a.user.clone(), a.domain.clone()));
        }
    }

    fn response(
        &mut self,
        key: (bool, u64),
        status: u32,
        ts: Timestamp,
        extra: Fields,
        out: &mut Vec<Record>,
    ) -> Option<Kind> {
        // An interim session-setup response asks for another round: keep waiting.
        if status == 0xC000_0016 || status == 0x0000_0103 {
            return None;
        }
        let p = self.take_pending(key)?;
        let mut f = p.fields;
        set!(f, "mamori.smb.status", status_name(status));
        set!(
            f,
            "event.outcome",
            if status == 0 { "success" } else { "failure" }
        );
        for (k, v) in extra {
            f.insert(k, v);
        }
        let kind = p.kind;
        self.emit(out, ts, f);
        Some(kind)
    }

    fn smb2(&mut self, msg: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        let mut off = 0usize;
        for _ in 0..MAX_COMPOUND {
            let Some(m) = msg.get(off..) else { return };
            if m.get(..4) != Some(SMB2.as_slice()) {
                if off == 0 {
                    self.counters.incr("malformed_message");
                }
                return;
            }
            self.smb2_one(m, ts, out);
            match le32(m, 20) {
                Some(next) if next >= 64 => off += next as usize,
                _ => return,
            }
        }
    }

    fn smb2_one(&mut self, m: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        let (Some(status), Some(cmd), Some(flags), Some(mid)) =
            (le32(m, 8), le16(m, 12), le32(m, 16), le64(m, 24))
        else {
            self.counters.incr("truncated_header");
            return;
        };
        let tree = le32(m, 36).unwrap_or(0);
        let response = flags & 1 != 0;
        let body = m.get(64..).unwrap_or(&[]);
        let key = (true, mid);
        match (cmd, response) {
            (0, false) => {
                let count = usize::from(le16(body, 2).unwrap_or(0)).min(MAX_DIALECTS);
                self.offered = (0..count)
                    .filter_map(|i| le16(body, 36 + 2 * i))
                    .map(smb2_dialect_name)
                    .collect();
            }
            (0, true) => {
                if let Some(d) = le16(body, 4).filter(|_| status == 0) {
                    let v = if d >= 0x0300 { 3 } else { 2 };
                    if d != 0x02ff {
                        self.negotiated(smb2_dialect_name(d), v, ts, out);
                    }
                }
            }
            (1, false) => {
                let (Some(o), Some(l)) = (le16(body, 12), le16(body, 14)) else {
                    return;
                };
                let blob = m
                    .get(usize::from(o)..usize::from(o) + usize::from(l))
                    .unwrap_or(&[]);
                if let Some((nm, 3)) = ntlm::find(blob) {
                    if let Some(a) = ntlm::authenticate(nm) {
                        let mut f = Fields::new();
                        self.auth_fields(&a, &mut f);
                        self.push_pending(
                            Pending {
                                key,
                                kind: Kind::Session,
                                ts,
                                fields: f,
                            },
                            out,
                        );
                    }
                }
            }
            (1, true) => {
                self.response(key, status, ts, Fields::new(), out);
            }
            (3, false) => {
                let (Some(o), Some(l)) = (le16(body, 4), le16(body, 6)) else {
                    return;
                };
                let Some(p) = m.get(usize::from(o)..usize::from(o) + usize::from(l)) else {
                    return;
                };
                let path = utf16le(p, MAX_PATH_CHARS);
                let mut f = Fields::new();
                set!(f, "mamori.smb.action", "tree_connect");
                set!(f, "mamori.smb.share", share_of(&path));
                set!(f, "mamori.smb.path", path);
                self.push_pending(
                    Pending {
                        key,
                        kind: Kind::Tree,
                        ts,
                        fields: f,
                    },
                    out,
                );
            }
            (3, true) => {
                let mut extra = Fields::new();
                if let Some(&t) = body.get(2) {
                    let n = match t {
                        1 => "disk",
                        2 => "pipe",
                        3 => "print",
                        _ => "unknown",
                    };
                    set!(extra, "mamori.smb.share_type", n);
                }
                let path = self
                    .pending
                    .iter()
                    .find(|p| p.key == key)
                    .and_then(|p| p.fields.get("mamori.smb.path"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if self.response(key, status, ts, extra, out).is_some() && status == 0 {
                    if let Some(path) = path {
                        if self.trees.len() < MAX_TREES {
                            self.trees.push((tree, path));
                        } else {
                            self.counters.incr("trees_over_limit");
                        }
                    }
                }
            }
            (5, false) => {
                let (Some(o), Some(l)) = (le16(body, 44), le16(body, 46)) else {
                    return;
                };
                let Some(n) = m.get(usize::from(o)..usize::from(o) + usize::from(l)) else {
                    return;
                };
                let name = utf16le(n, MAX_PATH_CHARS);
                let f = self.create_fields(name, tree, le32(body, 24), le32(body, 36));
                if let Some(f) = f {
                    self.push_pending(
                        Pending {
                            key,
                            kind: Kind::Create,
                            ts,
                            fields: f,
                        },
                        out,
                    );
                }
            }
            (5, true) => {
                self.response(key, status, ts, Fields::new(), out);
            }
            _ => {}
        }
    }

    fn create_fields(
        &mut self,
        name: String,
        tree: u32,
        access: Option<u32>,
        disposition: Option<u32>,
    ) -> Option<Fields> {
        if name.is_empty() {
            // Opening the share root (directory listing) names no file.
            self.counters.incr("create_share_root_not_recorded");
            return None;
        }
        if self.files >= MAX_FILE_RECORDS {
            self.counters.incr("files_over_limit");
            return None;
        }
        self.files += 1;
        let mut f = Fields::new();
        set!(f, "mamori.smb.action", "create");
        if let Some((_, p)) = self.trees.iter().find(|(t, _)| *t == tree) {
            set!(f, "mamori.smb.path", p.clone());
            set!(f, "mamori.smb.share", share_of(p));
        }
        set!(f, "file.name", last_component(&name));
        set!(f, "file.path", name);
        if let Some(a) = access {
            set!(f, "mamori.smb.desired_access", format!("0x{a:08x}"));
            let write = a & (0x2 | 0x4 | 0x10000 | 0x4000_0000 | 0x1000_0000) != 0;
            set!(f, "mamori.smb.write_access", write);
        }
        if let Some(d) = disposition {
            let n = match d {
                0 => "supersede",
                1 => "open",
                2 => "create",
                3 => "open_if",
                4 => "overwrite",
                5 => "overwrite_if",
                _ => "unknown",
            };
            set!(f, "mamori.smb.disposition", n);
        }
        Some(f)
    }

    fn smb1(&mut self, m: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        let (Some(&cmd), Some(status), Some(&flags), Some(flags2), Some(tid), Some(mid)) = (
            m.get(4),
            le32(m, 5),
            m.get(9),
            le16(m, 10),
            le16(m, 24),
            le16(m, 30),
        ) else {
            self.counters.incr("truncated_header");
            return;
        };
        if self.version.is_none() {
            // Until negotiation says otherwise, SMB1 framing itself is evidence of SMBv1.
            self.version = Some(1);
        }
        let response = flags & 0x80 != 0;
        let unicode = flags2 & 0x8000 != 0;
        let wc = usize::from(m.get(32).copied().unwrap_or(0));
        let words = m.get(33..33 + 2 * wc).unwrap_or(&[]);
        let bstart = 33 + 2 * wc + 2;
        let bytes = m.get(bstart..).unwrap_or(&[]);
        let key = (false, u64::from(mid));
        match (cmd, response) {
            (0x72, false) => {
                let mut v = Vec::new();
                let mut pos = 0;
                while v.len() < MAX_DIALECTS && bytes.get(pos) == Some(&0x02) {
                    let Some((d, next)) = smb_string(bytes, pos + 1, false) else {
                        break;
                    };
                    v.push(d);
                    pos = next;
                }
                self.offered = v;
            }
            (0x72, true) => {
                if let Some(i) = le16(words, 0) {
                    if let Some(d) = self.offered.get(usize::from(i)).cloned() {
                        if !d.starts_with("SMB 2") {
                            self.negotiated(d, 1, ts, out);
                        }
                    }
                }
            }
            (0x73, false) => {
                let mut f = Fields::new();
                if wc == 12 {
                    let bl = usize::from(le16(words, 14).unwrap_or(0));
                    let blob = bytes.get(..bl).unwrap_or(bytes);
                    match ntlm::find(blob) {
                        Some((nm, 3)) => match ntlm::authenticate(nm) {
                            Some(a) => self.auth_fields(&a, &mut f),
                            None => return,
                        },
                        _ => return,
                    }
                } else if wc == 13 {
                    let oem = usize::from(le16(words, 14).unwrap_or(0));
                    let uni = usize::from(le16(words, 16).unwrap_or(0));
                    let mut pos = bstart + oem + uni;
                    if unicode && pos % 2 == 1 {
                        pos += 1;
                    }
                    let (user, p) = smb_string(m, pos, unicode).unwrap_or_default();
                    let (domain, _) = smb_string(m, p, unicode).unwrap_or_default();
                    let a = Authenticate {
                        user,
                        domain,
                        workstation: String::new(),
                        version: if uni == 0 && oem > 0 && oem != 24 {
                            "plaintext"
                        } else if oem == 24 || uni == 24 {
                            "v1"
                        } else if oem + uni == 0 {
                            "anonymous"
                        } else {
                            "v2"
                        },
                    };
                    self.auth_fields(&a, &mut f);
                    set!(f, "mamori.smb.auth", "smb1_basic");
                } else {
                    return;
                }
                self.push_pending(
                    Pending {
                        key,
                        kind: Kind::Session,
                        ts,
                        fields: f,
                    },
                    out,
                );
            }
            (0x73, true) => {
                self.response(key, status, ts, Fields::new(), out);
            }
            (0x75, false) => {
                let pwlen = usize::from(le16(words, 6).unwrap_or(0));
                let mut pos = bstart + pwlen;
                if unicode && pos % 2 == 1 {
                    pos += 1;
                }
                let Some((path, _)) = smb_string(m, pos, unicode) else {
                    return;
                };
                let mut f = Fields::new();
                set!(f, "mamori.smb.action", "tree_connect");
                set!(f, "mamori.smb.share", share_of(&path));
                set!(f, "mamori.smb.path", path);
                self.push_pending(
                    Pending {
                        key,
                        kind: Kind::Tree,
                        ts,
                        fields: f,
                    },
                    out,
                );
            }
            (0x75, true) => {
                let path = self
                    .pending
                    .iter()
                    .find(|p| p.key == key)
                    .and_then(|p| p.fields.get("mamori.smb.path"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if self.response(key, status, ts, Fields::new(), out).is_some() && status == 0 {
                    if let Some(path) = path {
                        if self.trees.len() < MAX_TREES {
                            self.trees.push((u32::from(tid), path));
                        }
                    }
                }
            }
            (0xa2, false) => {
                let nlen = usize::from(le16(words, 5).unwrap_or(0));
                let mut pos = bstart;
                if unicode && pos % 2 == 1 {
                    pos += 1;
                }
                let raw = m
                    .get(pos..pos + nlen)
                    .unwrap_or_else(|| m.get(pos..).unwrap_or(&[]));
                let name = if unicode {
                    utf16le(raw, MAX_PATH_CHARS)
                } else {
                    bounded_str(raw.split(|&c| c == 0).next().unwrap_or(&[]), MAX_PATH_CHARS)
                };
                let f = self.create_fields(name, u32::from(tid), le32(words, 15), le32(words, 35));
                if let Some(f) = f {
                    self.push_pending(
                        Pending {
                            key,
                            kind: Kind::Create,
                            ts,
                            fields: f,
                        },
                        out,
                    );
                }
            }
            (0xa2, true) => {
                self.response(key, status, ts, Fields::new(), out);
            }
            _ => {}
        }
    }

    fn message(&mut self, m: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        match m.get(..4) {
            Some(p) if p == SMB2 => self.smb2(m, ts, out),
            Some(p) if p == SMB1 => self.smb1(m, ts, out),
            Some(p) if p == SMB3_TRANSFORM => {
                self.encrypted = true;
                self.counters.incr("encrypted_message");
            }
            Some(p) if p == SMB2_COMPRESSED => self.counters.incr("compressed_message"),
            _ => self.counters.incr("not_smb"),
        }
    }
}

impl Dissector for SmbDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        let mut msgs: Vec<Vec<u8>> = Vec::new();
        let ok = self.streams.get(dir).feed(data, &mut self.counters, |d| {
            let Some(&t) = d.first() else {
                return Frame::Need;
            };
            if !matches!(t, 0x00 | 0x81..=0x85) {
                return Frame::Bad;
            }
            let (Some(&a), Some(&b), Some(&c)) = (d.get(1), d.get(2), d.get(3)) else {
                return Frame::Need;
            };
            let len = (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c);
            let total = 4 + len;
            if t != 0 {
                return Frame::Take(total);
            }
            let want = len.min(MAX_MESSAGE_HEAD);
            match d.get(4..4 + want) {
                Some(head) => {
                    msgs.push(head.to_vec());
                    Frame::Take(total)
                }
                None => Frame::Need,
            }
        });
        for m in msgs {
            self.message(&m, ts, out);
        }
        if !ok && self.streams.both_dead() {
            return Progress::Done;
        }
        Progress::Continue
    }

    fn gap(&mut self, dir: Dir, _len: usize) {
        self.counters.incr("gap");
        self.streams.get(dir).kill();
    }

    fn finish(&mut self, _ts: Timestamp, out: &mut Vec<Record>) {
        while let Some(p) = self.pending.pop_front() {
            self.emit(out, p.ts, p.fields);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some(d) = &self.dialect {
            fields.insert(Cow::Borrowed("mamori.smb.dialect"), Value::from(d.clone()));
        }
        if let Some(v) = self.version {
            fields.insert(Cow::Borrowed("mamori.smb.version"), Value::from(v));
        }
        if self.encrypted {
            fields.insert(Cow::Borrowed("mamori.smb.encrypted"), Value::from(true));
        }
        if let Some((u, d)) = &self.first_user {
            fields.insert(Cow::Borrowed("user.name"), Value::from(u.clone()));
            if !d.is_empty() {
                fields.insert(Cow::Borrowed("user.domain"), Value::from(d.clone()));
            }
        }
    }
}
