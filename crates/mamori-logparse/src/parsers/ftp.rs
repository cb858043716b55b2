//! FTP servers: vsftpd and ProFTPD.

use mamori_core::Event;

use super::{
    auth_event, set_int, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo,
};
use crate::text::{between, word};

/// The FTP parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "vsftpd",
            module: "vsftpd",
            dataset: "ftp",
            description_en: "vsftpd: OK/FAIL LOGIN, uploads, downloads, connects",
            description_ja: "vsftpd: ログイン成功・失敗、アップロード、ダウンロード、接続",
            fields: &[
                "user.name",
                "source.ip",
                "event.action",
                "event.outcome",
                "file.path",
                "file.size",
                "process.pid",
            ],
        },
        parse: vsftpd,
    },
    ParserDef {
        info: ParserInfo {
            name: "proftpd",
            module: "proftpd",
            dataset: "ftp",
            description_en: "ProFTPD: logins, failures, unknown users, sessions",
            description_ja: "ProFTPD: ログイン、失敗、存在しないユーザ、セッション",
            fields: &[
                "user.name",
                "source.ip",
                "source.domain",
                "event.action",
                "event.outcome",
            ],
        },
        parse: proftpd,
    },
];

fn vsftpd(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let mut t = inp.text.trim();
    // File form: "Mon Nov 23 10:00:00 2026 [pid 1234] ..."
    if t.len() > 25 && t.as_bytes().get(3) == Some(&b' ') {
        if let Some((mo, d, y, h, mi, s, ns)) = t.get(4..).and_then(super::web::ctime) {
            if let Some(ts) = inp.zone.civil(y, mo, d, h, mi, s, ns) {
                ev.timestamp = ts;
            }
            match t.find("[pid ") {
                Some(i) => t = &t[i..],
                None => return Outcome::NoMatch,
            }
        }
    }
    if let Some(r) = t.strip_prefix("[pid ") {
        let (pid, rest) = r.split_once("] ").unwrap_or((r, ""));
        set_int(ev, "process.pid", pid);
        t = rest;
    }
    if let Some(r) = t.strip_prefix('[') {
        let (u, rest) = r.split_once("] ").unwrap_or((r, ""));
        set_str(ev, "user.name", u);
        t = rest;
    }
    let (status, rest) = word(t);
    let (verb, rest) = word(rest);
    let verb = verb.trim_end_matches(':');
    if status == "CONNECT:" {
        ev.set("event.category", vec!["network"]);
        ev.set("event.type", vec!["start"]);
        ev.set("event.action", "connect");
    } else if matches!(status, "OK" | "FAIL") {
        let outcome = if status == "OK" { "success" } else { "failure" };
        match verb {
            "LOGIN" => auth_event(ev, "login", outcome),
            _ => {
                ev.set("event.category", vec!["file"]);
                ev.set("event.type", vec!["access"]);
                ev.set("event.action", verb.to_ascii_lowercase());
                ev.set("event.outcome", outcome);
            }
        }
    } else {
        return Outcome::NoMatch;
    }
    let Some(client) = between(t, "Client \"", "\"") else {
        return Outcome::Partial("missing_client");
    };
    if !set_ip(ev, "source.ip", client) {
        return Outcome::Partial("bad_client_address");
    }
    // , "/path", 1234 bytes, 56.78Kbyte/sec
    let mut parts = rest.split(", ").skip(1);
    if let Some(p) = parts.next() {
        set_str(ev, "file.path", p.trim_matches('"'));
    }
    if let Some(b) = parts.next().and_then(|b| b.strip_suffix(" bytes")) {
        set_int(ev, "file.size", b);
    }
    Outcome::Done
}

fn proftpd(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let mut t = inp.text.trim();
    // proftpd.log (file) form: "proftpd[pid] server (client[ip]): message".
    if let Some(r) = t.strip_prefix("proftpd[") {
        if let Some((pid, rest)) = r.split_once("] ") {
            set_int(ev, "process.pid", pid);
            t = rest;
        }
    }
    // "host (client[1.2.3.4]) - message" (syslog) or "host (client[1.2.3.4]): message"
    let Some((pre, msg)) = t.split_once(") - ").or_else(|| t.split_once("): ")) else {
        return Outcome::NoMatch;
    };
    let Some((_server, client)) = pre.split_once(" (") else {
        return Outcome::NoMatch;
    };
    let (name, a) = client.split_once('[').unwrap_or((client, ""));
    ev.set("event.module", "proftpd");
    set_ip(ev, "source.ip", a.trim_end_matches(']'));
    if crate::text::ip(name).is_none() {
        set_str(ev, "source.domain", name);
    }
    if let Some(r) = msg.strip_prefix("USER ") {
        let (user, rest) = r.split_once([':', ' ']).unwrap_or((r, ""));
        set_str(ev, "user.name", user);
        if rest.contains("Login successful") {
            auth_event(ev, "login", "success");
        } else if r.contains("Login failed")
            || rest.contains("no such user")
            || rest.contains("Incorrect password")
        {
            auth_event(ev, "login-failed", "failure");
            ev.set("event.reason", rest.trim_start_matches([':', ' ']));
        } else {
            auth_event(ev, "user", "unknown");
        }
    } else if msg.starts_with("FTP session opened") {
        ev.set("event.category", vec!["network"]);
        ev.set("event.type", vec!["start"]);
        ev.set("event.action", "session-opened");
    } else if msg.starts_with("FTP session closed") {
        ev.set("event.category", vec!["network"]);
        ev.set("event.type", vec!["end"]);
        ev.set("event.action", "session-closed");
    } else if msg.starts_with("Maximum login attempts") {
        auth_event(ev, "max-login-attempts", "failure");
    } else {
        ev.set("event.action", "proftpd-message");
    }
    Outcome::Done
}
