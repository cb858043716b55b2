//! Mail access and transfer: SMTP (RFC 5321), IMAP (RFC 9051) and POP3 (RFC 1939).
//!
//! Line-based command/reply dissectors. They record who authenticated and how
//! (`mamori.mail.auth_mechanism`, `user.name`, `mamori.mail.cleartext_auth`), whether
//! STARTTLS was offered and used (`mamori.mail.starttls_offered`, `mamori.mail.starttls`),
//! and for SMTP the envelope (`email.from.address`, `email.to.address`) and message size.
//! Passwords are never kept. After a successful STARTTLS the session is encrypted and the
//! dissector stops.

use std::collections::VecDeque;

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::http::text::{
    base64_decode, bounded_str, contains_ci, push_bounded, split_word, starts_with_ci, str_list,
    trim, LineBuf,
};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Recipients kept per message.
pub const MAX_RECIPIENTS: usize = 100;
/// Reply codes kept per record.
pub const MAX_STATUS_CODES: usize = 32;
/// Longest address or name kept.
pub const MAX_NAME_LEN: usize = 320;
/// Commands awaiting a reply.
pub const MAX_PENDING: usize = 64;
/// Records a single flow may emit.
pub const MAX_RECORDS_PER_FLOW: usize = 1_000;

/// `true` if the line is a complete reply line `ddd ` / `ddd-` / `ddd`.
fn reply_code(line: &[u8]) -> Option<(u16, bool)> {
    let d = line.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = d.iter().fold(0u16, |a, &c| a * 10 + u16::from(c - b'0'));
    match line.get(3) {
        None | Some(b' ') => Some((code, true)),
        Some(b'-') => Some((code, false)),
        _ => None,
    }
}

fn first_line(data: &[u8]) -> Option<&[u8]> {
    let nl = data.iter().position(|&b| b == b'\n')?;
    let l = data.get(..nl)?;
    Some(l.strip_suffix(b"\r").unwrap_or(l))
}

/// SMTP probe: `220` greeting naming SMTP/ESMTP, or a client `EHLO`/`HELO`.
pub fn probe_smtp(_meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    match dir {
        Dir::ToClient => {
            if data.len() < 4 {
                return if b"220".starts_with(data.get(..3.min(data.len())).unwrap_or(&[])) {
                    Probe::Maybe
                } else {
                    Probe::No
                };
            }
            if !(data.starts_with(b"220 ") || data.starts_with(b"220-")) {
                return Probe::No;
            }
            match first_line(data) {
                Some(l) if contains_ci(l, b"smtp") || contains_ci(l, b"mail") => Probe::Yes,
                Some(l) if contains_ci(l, b"ftp") => Probe::No,
                _ => Probe::Maybe,
            }
        }
        Dir::ToServer => {
            if data.len() < 5 {
                return if !data.is_empty()
                    && (starts_with_ci(b"EHLO ", data) || starts_with_ci(b"HELO ", data))
                {
                    Probe::Maybe
                } else {
                    Probe::No
                };
            }
            if starts_with_ci(data, b"EHLO ") || starts_with_ci(data, b"HELO ") {
                Probe::Yes
            } else {
                Probe::No
            }
        }
    }
}

/// IMAP probe: `* OK`/`* PREAUTH` greeting, or a tagged client command.
pub fn probe_imap(_meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    match dir {
        Dir::ToClient => {
            for p in [&b"* OK"[..], b"* PREAUTH", b"* BYE"] {
                if data.len() < p.len() {
                    if !data.is_empty() && p.starts_with(data) {
                        return Probe::Maybe;
                    }
                } else if starts_with_ci(data, p) {
                    return Probe::Yes;
                }
            }
            Probe::No
        }
        Dir::ToServer => {
            let Some(line) = first_line(data) else {
                return if data.len() < 64
                    && data.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
                    && !data.is_empty()
                {
                    Probe::Maybe
                } else {
                    Probe::No
                };
            };
            let (tag, rest) = split_word(line);
            let (cmd, _) = split_word(rest);
            let tag_ok = !tag.is_empty()
                && tag.len() <= 32
                && tag.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'.');
            let cmd_ok = [
                &b"CAPABILITY"[..],
                b"LOGIN",
                b"AUTHENTICATE",
                b"STARTTLS",
                b"ID",
                b"NOOP",
                b"LOGOUT",
            ]
            .iter()
            .any(|c| cmd.eq_ignore_ascii_case(c));
            if tag_ok && cmd_ok {
                Probe::Yes
            } else {
                Probe::No
            }
        }
    }
}

/// POP3 probe: `+OK` greeting naming POP or carrying an APOP timestamp, or a client
/// `CAPA`/`APOP`/`STLS`/`AUTH` (plain `USER` is shared with FTP: undecided).
pub fn probe_pop3(_meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    match dir {
        Dir::ToClient => {
            if data.len() < 4 {
                return if !data.is_empty()
                    && b"+OK".starts_with(data.get(..3.min(data.len())).unwrap_or(&[]))
                {
                    Probe::Maybe
                } else {
                    Probe::No
                };
            }
            if !data.starts_with(b"+OK") {
                return Probe::No;
            }
            match first_line(data) {
                Some(l) if contains_ci(l, b"pop") || (l.contains(&b'<') && l.contains(&b'@')) => {
                    Probe::Yes
                }
                _ => Probe::Maybe,
            }
        }
        Dir::ToServer => {
            let Some(line) = first_line(data) else {
                return if !data.is_empty() && data.len() < 5 {
                    Probe::Maybe
                } else {
                    Probe::No
                };
            };
            let (cmd, _) = split_word(line);
            if [&b"CAPA"[..], b"APOP", b"STLS"]
                .iter()
                .any(|c| cmd.eq_ignore_ascii_case(c))
                || (cmd.eq_ignore_ascii_case(b"AUTH") && line.len() > 5)
            {
                Probe::Yes
            } else if cmd.eq_ignore_ascii_case(b"USER") {
                Probe::Maybe
            } else {
                Probe::No
            }
        }
    }
}

/// A fresh SMTP dissector.
pub fn new_smtp(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(SmtpDissector::default())
}
/// A fresh IMAP dissector.
pub fn new_imap(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(ImapDissector::default())
}
/// A fresh POP3 dissector.
pub fn new_pop3(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(Pop3Dissector::default())
}

/// Authentication seen in a session (shared by the three protocols).
#[derive(Debug, Default, Clone)]
struct Auth {
    mechanism: Option<String>,
    user: Option<String>,
    cleartext: bool,
    outcome: Option<&'static str>,
    starttls_offered: bool,
    starttls: bool,
}

impl Auth {
    fn write(&self, f: &mut Fields) {
        if let Some(m) = &self.mechanism {
            f.insert("mamori.mail.auth_mechanism".into(), Value::from(m.clone()));
        }
        if let Some(u) = &self.user {
            f.insert("user.name".into(), Value::from(u.clone()));
        }
        if self.cleartext {
            f.insert("mamori.mail.cleartext_auth".into(), Value::from(true));
        }
        if let Some(o) = self.outcome {
            f.insert("event.outcome".into(), Value::from(o));
        }
        f.insert(
            "mamori.mail.starttls_offered".into(),
            Value::from(self.starttls_offered),
        );
        f.insert("mamori.mail.starttls".into(), Value::from(self.starttls));
    }

    /// User name from a SASL PLAIN response (`authzid\0authcid\0password`).
    fn plain_user(b64: &[u8]) -> Option<String> {
        let raw = base64_decode(trim(b64))?;
        let mut parts = raw.split(|&b| b == 0);
        let authz = parts.next()?;
        let authc = parts.next()?;
        let user = if authc.is_empty() { authz } else { authc };
        Some(bounded_str(user, MAX_NAME_LEN))
    }

    fn b64_user(b64: &[u8]) -> Option<String> {
        let raw = base64_decode(trim(b64))?;
        Some(bounded_str(&raw, MAX_NAME_LEN))
    }
}

/// What the next client line is, after an AUTH exchange started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum SaslWait {
    #[default]
    None,
    /// Next line is a PLAIN initial response.
    Plain,
    /// Next line is the LOGIN user name.
    LoginUser,
    /// Next line is the LOGIN password (skipped, never stored).
    LoginPass,
    /// Other mechanisms: opaque lines until the server's final reply.
    Opaque,
}

fn start_sasl(auth: &mut Auth, mech: &[u8], initial: &[u8]) -> SaslWait {
    let m = bounded_str(mech, 32).to_ascii_uppercase();
    auth.mechanism = Some(m.clone());
    match m.as_str() {
        "PLAIN" => {
            auth.cleartext = true;
            if initial.is_empty() || initial == b"=" {
                SaslWait::Plain
            } else {
                auth.user = Auth::plain_user(initial);
                SaslWait::None
            }
        }
        "LOGIN" => {
            auth.cleartext = true;
            if initial.is_empty() {
                SaslWait::LoginUser
            } else {
                auth.user = Auth::b64_user(initial);
                SaslWait::LoginPass
            }
        }
        _ => SaslWait::Opaque,
    }
}

fn sasl_line(auth: &mut Auth, wait: SaslWait, line: &[u8]) -> SaslWait {
    if line == b"*" {
        return SaslWait::None;
    }
    match wait {
        SaslWait::Plain => {
            auth.user = Auth::plain_user(line);
            SaslWait::None
        }
        SaslWait::LoginUser => {
            auth.user = Auth::b64_user(line);
            SaslWait::LoginPass
        }
        SaslWait::LoginPass => SaslWait::None,
        w => w,
    }
}

// ---------------------------------------------------------------------------------------
// SMTP

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SmtpCmd {
    Helo,
    Mail,
    Rcpt,
    Data,
    DataEnd,
    Auth,
    StartTls,
    Other,
}

/// SMTP session dissector: one record per message transaction, or one for the session
/// when no message was sent.
#[derive(Debug, Default)]
pub struct SmtpDissector {
    client: LineBuf,
    server: LineBuf,
    pending: VecDeque<SmtpCmd>,
    greeted: bool,
    helo: Option<String>,
    auth: Auth,
    sasl: SaslWait,
    from: Option<String>,
    to: Vec<String>,
    codes: Vec<i64>,
    in_data: bool,
    data_bytes: u64,
    records: usize,
    done: bool,
    not_smtp: bool,
    counters: Counters,
}

fn angle_addr(arg: &[u8]) -> String {
    let a = match (
        arg.iter().position(|&b| b == b'<'),
        arg.iter().position(|&b| b == b'>'),
    ) {
        (Some(s), Some(e)) if e > s => arg.get(s + 1..e).unwrap_or(&[]),
        _ => split_word(trim(arg)).0,
    };
    bounded_str(a, MAX_NAME_LEN)
}

impl SmtpDissector {
    /// Counters of dropped or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn client_line(&mut self, line: &[u8]) {
        if self.in_data {
            if line == b"." {
                self.in_data = false;
                self.pending.push_back(SmtpCmd::DataEnd);
            } else {
                self.data_bytes = self.data_bytes.saturating_add(line.len() as u64 + 2);
            }
            return;
        }
        if self.sasl != SaslWait::None {
            self.sasl = sasl_line(&mut self.auth, self.sasl, line);
            return;
        }
        let (verb, arg) = split_word(line);
        let cmd = if verb.eq_ignore_ascii_case(b"HELO") || verb.eq_ignore_ascii_case(b"EHLO") {
            self.helo = Some(bounded_str(split_word(arg).0, MAX_NAME_LEN));
            SmtpCmd::Helo
        } else if verb.eq_ignore_ascii_case(b"MAIL") && starts_with_ci(arg, b"FROM:") {
            self.from = Some(angle_addr(arg.get(5..).unwrap_or(&[])));
            SmtpCmd::Mail
        } else if verb.eq_ignore_ascii_case(b"RCPT") && starts_with_ci(arg, b"TO:") {
            let a = angle_addr(arg.get(3..).unwrap_or(&[]));
            push_bounded(
                &mut self.to,
                a,
                MAX_RECIPIENTS,
                &mut self.counters,
                "smtp_recipients_over_limit",
            );
            SmtpCmd::Rcpt
        } else if verb.eq_ignore_ascii_case(b"DATA") {
            SmtpCmd::Data
        } else if verb.eq_ignore_ascii_case(b"BDAT") {
            // BDAT chunks are binary: size from the argument; content is not line-framed,
            // so stop dissecting after noting it.
            if let Some(n) = super::http::text::parse_u64(split_word(arg).0) {
                self.data_bytes = self.data_bytes.saturating_add(n);
            }
            self.done = true;
            SmtpCmd::Other
        } else if verb.eq_ignore_ascii_case(b"AUTH") {
            let (mech, initial) = split_word(arg);
            self.sasl = start_sasl(&mut self.auth, mech, initial);
            SmtpCmd::Auth
        } else if verb.eq_ignore_ascii_case(b"STARTTLS") {
            SmtpCmd::StartTls
        } else {
            SmtpCmd::Other
        };
        if self.pending.len() < MAX_PENDING {
            self.pending.push_back(cmd);
        } else {
            self.counters.incr("smtp_pending_overflow");
        }
    }

    fn server_line(&mut self, line: &[u8], ts: Timestamp, out: &mut Vec<Record>) {
        let Some((code, last)) = reply_code(line) else {
            if !self.greeted {
                self.not_smtp = true;
            }
            return;
        };
        if contains_ci(line, b"STARTTLS")
            && line
                .get(4..)
                .is_some_and(|t| starts_with_ci(t, b"STARTTLS"))
        {
            self.auth.starttls_offered = true;
        }
        if !last {
            return;
        }
        if self.codes.len() < MAX_STATUS_CODES {
            self.codes.push(i64::from(code));
        }
        if !self.greeted {
            self.greeted = true;
            return;
        }
        match self.pending.pop_front() {
            Some(SmtpCmd::Data) if code == 354 => self.in_data = true,
            Some(SmtpCmd::Data) => {}
            Some(SmtpCmd::DataEnd) => self.emit(ts, out, false),
            Some(SmtpCmd::Auth) => {
                if code == 334 {
                    // Continuation: the AUTH is still pending.
                    self.pending.push_front(SmtpCmd::Auth);
                } else {
                    self.sasl = SaslWait::None;
                    self.auth.outcome = Some(if (200..300).contains(&code) {
                        "success"
                    } else {
                        "failure"
                    });
                }
            }
            Some(SmtpCmd::StartTls) if code == 220 => {
                self.auth.starttls = true;
                self.emit(ts, out, true);
                self.done = true;
            }
            _ => {}
        }
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Record>, session_end: bool) {
        if session_end && self.records > 0 && self.from.is_none() {
            return;
        }
        if self.records >= MAX_RECORDS_PER_FLOW {
            self.counters.incr("records_over_limit");
            return;
        }
        self.records += 1;
        let mut f = Fields::new();
        if let Some(h) = &self.helo {
            f.insert("mamori.smtp.helo".into(), Value::from(h.clone()));
        }
        if let Some(a) = self.from.take() {
            f.insert("email.from.address".into(), Value::from(a));
        }
        if !self.to.is_empty() {
            f.insert("email.to.address".into(), str_list(&self.to));
            self.to.clear();
        }
        if self.data_bytes > 0 {
            f.insert(
                "mamori.smtp.data_bytes".into(),
                Value::from(self.data_bytes),
            );
            self.data_bytes = 0;
        }
        if !self.codes.is_empty() {
            f.insert(
                "mamori.smtp.status_codes".into(),
                Value::List(self.codes.drain(..).map(Value::Int).collect()),
            );
        }
        self.auth.write(&mut f);
        out.push(Record {
            dataset: "smtp",
            ts,
            fields: f,
        });
    }
}

impl Dissector for SmtpDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        if self.done {
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
                Dir::ToClient => self.server_line(&l, ts, out),
            }
            if self.done {
                return Progress::Done;
            }
        }
        if self.not_smtp && self.records == 0 {
            return Progress::NotThisProtocol;
        }
        Progress::Continue
    }

    fn gap(&mut self, _dir: Dir, _len: usize) {
        self.counters.incr("gap");
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        if self.done {
            return;
        }
        if (self.records == 0 || self.from.is_some()) && (self.greeted || self.helo.is_some()) {
            self.emit(ts, out, true);
        }
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if let Some(h) = &self.helo {
            fields.insert("mamori.smtp.helo".into(), Value::from(h.clone()));
        }
        if let Some(u) = &self.auth.user {
            fields.insert("user.name".into(), Value::from(u.clone()));
        }
        fields.insert(
            "mamori.mail.starttls".into(),
            Value::from(self.auth.starttls),
        );
    }
}

// ---------------------------------------------------------------------------------------
// IMAP

/// What the IMAP and POP3 dissectors share: lines split per direction, one record per
/// session emitted once, and the same flow summary.
trait LineSession {
    /// The session record was emitted: nothing more to read.
    fn done(&self) -> bool;
    /// The server's greeting showed this is not the protocol.
    fn rejected(&self) -> bool;
    /// Complete lines of `data` in direction `dir` (partial ones stay buffered).
    fn split(&mut self, dir: Dir, data: &[u8]) -> Vec<Vec<u8>>;
    /// One client command line.
    fn client_line(&mut self, l: &[u8]);
    /// One server line; `false` stops reading this chunk (the record was emitted).
    fn server_line(&mut self, l: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> bool;
}

fn split_lines(
    client: &mut LineBuf,
    server: &mut LineBuf,
    counters: &mut Counters,
    dir: Dir,
    data: &[u8],
) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let lb = match dir {
        Dir::ToServer => client,
        Dir::ToClient => server,
    };
    lb.feed(data, counters, |l| {
        lines.push(l.to_vec());
        true
    });
    lines
}

fn feed_session<S: LineSession>(
    s: &mut S,
    dir: Dir,
    data: &[u8],
    ts: Timestamp,
    out: &mut Vec<Record>,
) -> Progress {
    if s.done() {
        return Progress::Done;
    }
    for l in s.split(dir, data) {
        match dir {
            Dir::ToServer => s.client_line(&l),
            Dir::ToClient => {
                if !s.server_line(&l, ts, out) {
                    break;
                }
            }
        }
    }
    if s.rejected() {
        return Progress::NotThisProtocol;
    }
    if s.done() {
        return Progress::Done;
    }
    Progress::Continue
}

fn emit_session(
    auth: &Auth,
    dataset: &'static str,
    greeted: bool,
    emitted: &mut bool,
    ts: Timestamp,
    out: &mut Vec<Record>,
) {
    if *emitted || !greeted {
        return;
    }
    *emitted = true;
    let mut fields = Fields::new();
    auth.write(&mut fields);
    out.push(Record {
        dataset,
        ts,
        fields,
    });
}

fn session_flow_fields(auth: &Auth, fields: &mut Fields) {
    if let Some(u) = &auth.user {
        fields.insert("user.name".into(), Value::from(u.clone()));
    }
    fields.insert("mamori.mail.starttls".into(), Value::from(auth.starttls));
}

/// IMAP session dissector: one record per session.
#[derive(Debug, Default)]
pub struct ImapDissector {
    client: LineBuf,
    server: LineBuf,
    auth: Auth,
    sasl: SaslWait,
    login_tag: Option<Vec<u8>>,
    starttls_tag: Option<Vec<u8>>,
    greeted: bool,
    emitted: bool,
    not_imap: bool,
    counters: Counters,
}

/// Next IMAP astring (atom or quoted string) and the rest.
fn imap_astring(b: &[u8]) -> (Vec<u8>, &[u8]) {
    let b = trim(b);
    if let Some(rest) = b.strip_prefix(b"\"") {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&c) = rest.get(i) {
            match c {
                b'\\' => {
                    if let Some(&n) = rest.get(i + 1) {
                        out.push(n);
                    }
                    i += 2;
                }
                b'"' => return (out, rest.get(i + 1..).unwrap_or(&[])),
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        (out, &[])
    } else {
        let (w, r) = split_word(b);
        (w.to_vec(), r)
    }
}

impl ImapDissector {
    /// Counters of dropped or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn client_line(&mut self, line: &[u8]) {
        if self.sasl != SaslWait::None {
            self.sasl = sasl_line(&mut self.auth, self.sasl, line);
            return;
        }
        let (tag, rest) = split_word(line);
        let (cmd, args) = split_word(rest);
        if cmd.eq_ignore_ascii_case(b"LOGIN") {
            let (user, _) = imap_astring(args);
            self.auth.mechanism = Some("LOGIN".into());
            self.auth.user = Some(bounded_str(&user, MAX_NAME_LEN));
            self.auth.cleartext = true;
            self.login_tag = Some(tag.to_vec());
        } else if cmd.eq_ignore_ascii_case(b"AUTHENTICATE") {
            let (mech, initial) = split_word(args);
            self.sasl = start_sasl(&mut self.auth, mech, initial);
            self.login_tag = Some(tag.to_vec());
        } else if cmd.eq_ignore_ascii_case(b"STARTTLS") {
            self.starttls_tag = Some(tag.to_vec());
        }
    }

    fn server_line(&mut self, line: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> bool {
        if !self.greeted {
            if !(starts_with_ci(line, b"* OK")
                || starts_with_ci(line, b"* PREAUTH")
                || starts_with_ci(line, b"* BYE"))
            {
                self.not_imap = true;
                return false;
            }
            self.greeted = true;
        }
        if (starts_with_ci(line, b"* CAPABILITY") || contains_ci(line, b"[CAPABILITY"))
            && contains_ci(line, b"STARTTLS")
        {
            self.auth.starttls_offered = true;
        }
        let (tag, rest) = split_word(line);
        let (status, _) = split_word(rest);
        if tag == b"+" {
            return true;
        }
        let ok = status.eq_ignore_ascii_case(b"OK");
        let no = status.eq_ignore_ascii_case(b"NO") || status.eq_ignore_ascii_case(b"BAD");
        if self.login_tag.as_deref() == Some(tag) && (ok || no) {
            self.auth.outcome = Some(if ok { "success" } else { "failure" });
            self.login_tag = None;
            self.sasl = SaslWait::None;
        }
        if self.starttls_tag.as_deref() == Some(tag) && ok {
            self.auth.starttls = true;
            self.emit(ts, out);
            return false;
        }
        true
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        emit_session(&self.auth, "imap", self.greeted, &mut self.emitted, ts, out);
    }
}

impl LineSession for ImapDissector {
    fn done(&self) -> bool {
        self.emitted
    }
    fn rejected(&self) -> bool {
        self.not_imap
    }
    fn split(&mut self, dir: Dir, data: &[u8]) -> Vec<Vec<u8>> {
        split_lines(
            &mut self.client,
            &mut self.server,
            &mut self.counters,
            dir,
            data,
        )
    }
    fn client_line(&mut self, l: &[u8]) {
        ImapDissector::client_line(self, l)
    }
    fn server_line(&mut self, l: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> bool {
        ImapDissector::server_line(self, l, ts, out)
    }
}

impl Dissector for ImapDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        feed_session(self, dir, data, ts, out)
    }

    fn gap(&mut self, _dir: Dir, _len: usize) {
        self.counters.incr("gap");
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        self.emit(ts, out);
    }

    fn flow_fields(&self, fields: &mut Fields) {
        session_flow_fields(&self.auth, fields);
    }
}

// ---------------------------------------------------------------------------------------
// POP3

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PopCmd {
    Pass,
    Apop,
    Auth,
    Stls,
    Multi,
    Other,
}

/// POP3 session dissector: one record per session.
#[derive(Debug, Default)]
pub struct Pop3Dissector {
    client: LineBuf,
    server: LineBuf,
    auth: Auth,
    sasl: SaslWait,
    pending: VecDeque<PopCmd>,
    greeted: bool,
    emitted: bool,
    not_pop: bool,
    in_multiline: bool,
    counters: Counters,
}

impl Pop3Dissector {
    /// Counters of dropped or over-limit input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn client_line(&mut self, line: &[u8]) {
        if self.sasl != SaslWait::None {
            self.sasl = sasl_line(&mut self.auth, self.sasl, line);
            return;
        }
        let (cmd, arg) = split_word(line);
        let c = if cmd.eq_ignore_ascii_case(b"USER") {
            self.auth.user = Some(bounded_str(arg, MAX_NAME_LEN));
            self.auth.mechanism = Some("USER".into());
            PopCmd::Other
        } else if cmd.eq_ignore_ascii_case(b"PASS") {
            self.auth.cleartext = true;
            PopCmd::Pass
        } else if cmd.eq_ignore_ascii_case(b"APOP") {
            self.auth.user = Some(bounded_str(split_word(arg).0, MAX_NAME_LEN));
            self.auth.mechanism = Some("APOP".into());
            PopCmd::Apop
        } else if cmd.eq_ignore_ascii_case(b"AUTH") && !arg.is_empty() {
            let (mech, initial) = split_word(arg);
            self.sasl = start_sasl(&mut self.auth, mech, initial);
            PopCmd::Auth
        } else if cmd.eq_ignore_ascii_case(b"STLS") {
            PopCmd::Stls
        } else if [&b"CAPA"[..], b"RETR", b"TOP"]
            .iter()
            .any(|c| cmd.eq_ignore_ascii_case(c))
            || ((cmd.eq_ignore_ascii_case(b"LIST") || cmd.eq_ignore_ascii_case(b"UIDL"))
                && arg.is_empty())
        {
            PopCmd::Multi
        } else {
            PopCmd::Other
        };
        if self.pending.len() < MAX_PENDING {
            self.pending.push_back(c);
        }
    }

    fn server_line(&mut self, line: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> bool {
        if self.in_multiline {
            if line == b"." {
                self.in_multiline = false;
            } else if line == b"STLS" {
                self.auth.starttls_offered = true;
            }
            return true;
        }
        let ok = line.starts_with(b"+OK");
        let err = line.starts_with(b"-ERR");
        if !self.greeted {
            if !ok {
                self.not_pop = true;
                return false;
            }
            self.greeted = true;
            return true;
        }
        if line.starts_with(b"+ ") || line == b"+" {
            return true;
        }
        if !(ok || err) {
            return true;
        }
        match self.pending.pop_front() {
            Some(PopCmd::Pass | PopCmd::Apop | PopCmd::Auth) => {
                self.sasl = SaslWait::None;
                self.auth.outcome = Some(if ok { "success" } else { "failure" });
            }
            Some(PopCmd::Stls) if ok => {
                self.auth.starttls = true;
                self.emit(ts, out);
                return false;
            }
            Some(PopCmd::Multi) if ok => self.in_multiline = true,
            _ => {}
        }
        true
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        emit_session(&self.auth, "pop3", self.greeted, &mut self.emitted, ts, out);
    }
}

impl LineSession for Pop3Dissector {
    fn done(&self) -> bool {
        self.emitted
    }
    fn rejected(&self) -> bool {
        self.not_pop
    }
    fn split(&mut self, dir: Dir, data: &[u8]) -> Vec<Vec<u8>> {
        split_lines(
            &mut self.client,
            &mut self.server,
            &mut self.counters,
            dir,
            data,
        )
    }
    fn client_line(&mut self, l: &[u8]) {
        Pop3Dissector::client_line(self, l)
    }
    fn server_line(&mut self, l: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> bool {
        Pop3Dissector::server_line(self, l, ts, out)
    }
}

impl Dissector for Pop3Dissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Record>) -> Progress {
        feed_session(self, dir, data, ts, out)
    }

    fn gap(&mut self, _dir: Dir, _len: usize) {
        self.counters.incr("gap");
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        self.emit(ts, out);
    }

    fn flow_fields(&self, fields: &mut Fields) {
        session_flow_fields(&self.auth, fields);
    }
}
