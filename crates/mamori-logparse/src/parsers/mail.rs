//! Mail: Postfix, Dovecot, Exim.

use mamori_core::Event;

use super::{
    auth_event, set_int, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo,
};
use crate::text::{after, between, kv_pairs, word};

/// The mail parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "postfix",
            module: "postfix",
            dataset: "mail",
            description_en: "Postfix: smtpd connect/disconnect, SASL failures, rejects, qmgr from/size, delivery to/status",
            description_ja: "Postfix: 接続・切断、SASL 認証失敗、拒否、送信者・サイズ、配送先と結果",
            fields: &["source.ip", "source.domain", "email.from.address", "email.to.address", "email.local_id", "email.message_id", "user.name", "event.action", "event.outcome", "mamori.mail.status", "mamori.mail.size", "destination.ip"],
        },
        parse: postfix,
    },
    ParserDef {
        info: ParserInfo {
            name: "dovecot",
            module: "dovecot",
            dataset: "mail",
            description_en: "Dovecot IMAP/POP3 logins and authentication failures",
            description_ja: "Dovecot の IMAP/POP3 ログインと認証失敗",
            fields: &["user.name", "source.ip", "destination.ip", "mamori.auth.method", "event.outcome", "network.protocol"],
        },
        parse: dovecot,
    },
    ParserDef {
        info: ParserInfo {
            name: "exim",
            module: "exim",
            dataset: "mail",
            description_en: "Exim main log: arrivals (<=), deliveries (=> ->), bounces (**), rejects, authenticator failures",
            description_ja: "Exim メインログ: 受信、配送、配送失敗、拒否、認証失敗",
            fields: &["email.local_id", "email.from.address", "email.to.address", "source.ip", "destination.ip", "user.name", "event.action", "event.outcome"],
        },
        parse: exim,
    },
];

fn mail_event(ev: &mut Event, action: &str) {
    ev.set("event.category", vec!["email"]);
    ev.set("event.type", vec!["info"]);
    ev.set("event.action", action);
}

/// `host[1.2.3.4]` / `host[1.2.3.4]:25` → (host, ip).
fn host_ip(s: &str) -> Option<(&str, &str)> {
    let (h, r) = s.split_once('[')?;
    let ip = r.split(']').next()?;
    Some((h, ip))
}

fn set_client(ev: &mut Event, s: &str) -> bool {
    if let Some((h, a)) = host_ip(s.trim_end_matches([',', ':'])) {
        if h != "unknown" {
            set_str(ev, "source.domain", h);
        }
        return set_ip(ev, "source.ip", a);
    }
    false
}

fn addr(v: &str) -> &str {
    v.trim_matches(['<', '>', ','])
}

fn postfix(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    let daemon = inp
        .header
        .app
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("");
    set_str(ev, "mamori.mail.daemon", daemon);
    if let Some(r) = t.strip_prefix("connect from ") {
        mail_event(ev, "connect");
        if !set_client(ev, r) {
            return Outcome::Partial("bad_client");
        }
        return Outcome::Done;
    }
    if let Some(r) = t.strip_prefix("disconnect from ") {
        mail_event(ev, "disconnect");
        if !set_client(ev, word(r).0) {
            return Outcome::Partial("bad_client");
        }
        return Outcome::Done;
    }
    if let Some(r) = t.strip_prefix("warning: ") {
        if r.contains("SASL") && r.contains("authentication failed") {
            auth_event(ev, "sasl-auth-failed", "failure");
            set_client(ev, word(r).0);
            if let Some(m) = between(r, "SASL ", " authentication") {
                ev.set("mamori.auth.method", m);
            }
            if let Some(u) = after(r, "sasl_username=") {
                set_str(ev, "user.name", word(u).0);
            }
            return Outcome::Done;
        }
        return Outcome::NoMatch;
    }
    // "QUEUEID: rest" or "NOQUEUE: rest"
    let Some((qid, rest)) = t.split_once(": ") else {
        return Outcome::NoMatch;
    };
    if qid.is_empty() || !qid.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Outcome::NoMatch;
    }
    if qid != "NOQUEUE" {
        ev.set("email.local_id", qid);
    }
    if let Some(r) = rest.strip_prefix("reject: ") {
        mail_event(ev, "reject");
        ev.set("event.outcome", "failure");
        if let Some(c) = crate::text::word_after(r, " from ") {
            set_client(ev, c);
        }
        if let Some(reason) = r
            .split_once("]: ")
            .map(|(_, x)| x.split(';').next().unwrap_or(x))
        {
            ev.set("event.reason", reason.trim());
        }
    } else if rest.starts_with("client=") {
        mail_event(ev, "client");
    } else if rest.starts_with("from=") {
        mail_event(ev, "queued");
    } else if rest.starts_with("to=") {
        mail_event(ev, "delivery");
    } else if rest.starts_with("message-id=") {
        mail_event(ev, "cleanup");
    } else if rest == "removed" {
        mail_event(ev, "removed");
        return Outcome::Done;
    } else {
        return Outcome::NoMatch;
    }
    for (k, v) in kv_pairs(rest) {
        let v = v.trim_end_matches(',');
        match k {
            "from" => set_str(ev, "email.from.address", addr(v)),
            "to" => set_str(ev, "email.to.address", addr(v)),
            "client" => {
                set_client(ev, v);
            }
            "size" => set_int(ev, "mamori.mail.size", v),
            "nrcpt" => set_int(ev, "mamori.mail.recipients", v),
            "relay" => {
                if let Some((h, a)) = host_ip(v) {
                    set_str(ev, "destination.domain", h);
                    set_ip(ev, "destination.ip", a);
                }
            }
            "status" => {
                ev.set("mamori.mail.status", v);
                ev.set(
                    "event.outcome",
                    if v == "sent" { "success" } else { "failure" },
                );
            }
            "dsn" => set_str(ev, "mamori.mail.dsn", v),
            "sasl_username" => set_str(ev, "user.name", v),
            "sasl_method" => set_str(ev, "mamori.auth.method", v),
            "message-id" => set_str(ev, "email.message_id", addr(v)),
            "helo" => set_str(ev, "mamori.mail.helo", addr(v)),
            "proto" => set_str(ev, "mamori.mail.proto", v),
            _ => {}
        }
    }
    Outcome::Done
}

fn dovecot(inp: &Input<'_>, ev: &mut Event, st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    let (svc, rest) = t.split_once(": ").unwrap_or(("", t));
    // Newer releases put the level after the service ("pop3-login: Info: Login: ...").
    let rest = ["Info: ", "Warning: ", "Error: ", "Debug: "]
        .iter()
        .find_map(|l| rest.strip_prefix(l))
        .unwrap_or(rest);
    if rest.starts_with("pam_") {
        return super::auth::PARSERS
            .iter()
            .find(|p| p.info.name == "pam")
            .map_or(Outcome::NoMatch, |p| (p.parse)(inp, ev, st));
    }
    let proto = svc.split('-').next().unwrap_or("");
    if matches!(
        proto,
        "imap" | "pop3" | "submission" | "managesieve" | "lmtp"
    ) {
        ev.set("network.protocol", proto);
    }
    let lower = rest.to_ascii_lowercase();
    if rest.starts_with("Login:") {
        auth_event(ev, "login", "success");
    } else if lower.contains("auth failed")
        || lower.contains("password mismatch")
        || lower.contains("unknown user")
    {
        auth_event(ev, "login-failed", "failure");
        if let Some(u) = between(rest, "(", ",").filter(|_| rest.contains("): ")) {
            if !u.contains(' ') {
                set_str(ev, "user.name", u);
            }
            if let Some(a) = between(rest, &format!("({u},"), ")") {
                set_ip(ev, "source.ip", a.split(',').next().unwrap_or(""));
            }
        }
    } else if rest.starts_with("Disconnected") || rest.starts_with("Aborted login") {
        ev.set("event.category", vec!["authentication"]);
        ev.set("event.action", "disconnected");
    } else {
        return Outcome::NoMatch;
    }
    for (k, v) in kv_pairs(rest) {
        let v = v.trim_end_matches(',');
        match k {
            "user" => set_str(ev, "user.name", addr(v)),
            "method" => set_str(ev, "mamori.auth.method", v),
            "rip" => {
                set_ip(ev, "source.ip", v);
            }
            "lip" => {
                set_ip(ev, "destination.ip", v);
            }
            "session" => set_str(ev, "mamori.session.id", addr(v)),
            _ => {}
        }
    }
    Outcome::Done
}

/// Exim message id: three alphanumeric parts joined by `-` (6-6-2 or 6-11-4).
fn is_exim_id(s: &str) -> bool {
    let p: Vec<&str> = s.split('-').collect();
    p.len() == 3
        && p[0].len() == 6
        && p.iter()
            .all(|x| !x.is_empty() && x.bytes().all(|c| c.is_ascii_alphanumeric()))
}

/// Whether a line looks like an Exim main log line.
pub(crate) fn looks_like_exim(line: &str) -> bool {
    let b = line.as_bytes();
    if b.len() < 22 || b[4] != b'-' || b[10] != b' ' {
        return false;
    }
    let Some(rest) = line.get(20..) else {
        return false;
    };
    let (first, _) = word(rest);
    is_exim_id(first) || rest.contains(" H=") || rest.contains("authenticator failed")
}

fn exim(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let line = inp.line.trim();
    let Some((ts, used)) = crate::time::parse_iso_prefix(line, inp.zone) else {
        return Outcome::NoMatch;
    };
    ev.timestamp = ts;
    ev.fields.remove("host.hostname");
    let mut rest = line[used..].trim_start();
    // Optional "[pid]" and message id.
    if rest.starts_with('[') {
        rest = rest.split_once("] ").map_or(rest, |(_, r)| r);
    }
    let (first, after_id) = word(rest);
    if is_exim_id(first) {
        ev.set("email.local_id", first);
        rest = after_id;
    }
    let (flag, body) = word(rest);
    let action = match flag {
        "<=" => "received",
        "=>" => "delivered",
        "->" => "delivered-additional",
        "**" => "bounced",
        "==" => "deferred",
        "Completed" => "completed",
        _ if rest.contains("authenticator failed") => "auth-failed",
        _ if rest.contains(" rejected ") => "reject",
        _ => return Outcome::NoMatch,
    };
    mail_event(ev, action);
    let addr_word = word(body).0;
    match action {
        "received" => set_str(ev, "email.from.address", addr(addr_word)),
        "delivered" | "delivered-additional" | "bounced" | "deferred" => {
            set_str(ev, "email.to.address", addr(addr_word));
            ev.set(
                "event.outcome",
                if action.starts_with("delivered") {
                    "success"
                } else {
                    "failure"
                },
            );
        }
        "auth-failed" => {
            auth_event(ev, "smtp-auth-failed", "failure");
            if let Some(u) = between(rest, "(set_id=", ")") {
                set_str(ev, "user.name", u);
            }
        }
        "reject" => {
            ev.set("event.outcome", "failure");
            if let Some(f) = between(rest, "F=<", ">") {
                set_str(ev, "email.from.address", f);
            }
        }
        _ => {}
    }
    // Host and address: "H=name (helo) [1.2.3.4]" or "[1.2.3.4]:port".
    if let Some(a) = between(rest, "[", "]") {
        let field = if matches!(
            action,
            "delivered" | "delivered-additional" | "bounced" | "deferred"
        ) {
            "destination.ip"
        } else {
            "source.ip"
        };
        set_ip(ev, field, a);
    }
    for (k, v) in kv_pairs(body) {
        match k {
            "S" => set_int(ev, "mamori.mail.size", v),
            "id" => set_str(ev, "email.message_id", v),
            "A" => set_str(ev, "user.name", v.split(':').nth(1).unwrap_or("")),
            "R" => set_str(ev, "mamori.mail.router", v),
            "T" => set_str(ev, "mamori.mail.transport", v),
            "P" => set_str(ev, "mamori.mail.proto", v),
            _ => {}
        }
    }
    Outcome::Done
}
