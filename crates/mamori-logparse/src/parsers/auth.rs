//! Host authentication: sshd, sudo, su, PAM, systemd-logind.

use mamori_core::Event;

use super::{
    auth_event, set_int, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo,
};
use crate::text::{after, between, int, word, word_after};

/// The auth parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "sshd",
            module: "sshd",
            dataset: "sshd",
            description_en: "OpenSSH server: logins accepted/failed, invalid users, disconnects, pre-auth errors",
            description_ja: "OpenSSH サーバ: ログイン成功・失敗、存在しないユーザ、切断、認証前エラー",
            fields: &["event.action", "event.outcome", "event.category", "user.name", "source.ip", "source.port", "mamori.auth.method", "mamori.ssh.preauth"],
        },
        parse: sshd,
    },
    ParserDef {
        info: ParserInfo {
            name: "sudo",
            module: "sudo",
            dataset: "sudo",
            description_en: "sudo: commands run as another user and refused attempts",
            description_ja: "sudo: 別ユーザとして実行したコマンドと拒否された試行",
            fields: &["user.name", "user.target.name", "process.command_line", "process.executable", "process.working_directory", "event.outcome"],
        },
        parse: sudo,
    },
    ParserDef {
        info: ParserInfo {
            name: "su",
            module: "su",
            dataset: "su",
            description_en: "su: switching user, successful and failed",
            description_ja: "su: ユーザ切替の成功と失敗",
            fields: &["user.name", "user.target.name", "event.outcome", "process.tty"],
        },
        parse: su,
    },
    ParserDef {
        info: ParserInfo {
            name: "pam",
            module: "pam",
            dataset: "pam",
            description_en: "PAM modules (pam_unix, pam_sss, …): authentication failures, sessions opened and closed",
            description_ja: "PAM モジュール (pam_unix など): 認証失敗、セッション開始・終了",
            fields: &["user.name", "user.id", "source.ip", "source.address", "event.outcome", "mamori.pam.module", "mamori.pam.service", "mamori.pam.type"],
        },
        parse: pam,
    },
    ParserDef {
        info: ParserInfo {
            name: "systemd-logind",
            module: "systemd",
            dataset: "logind",
            description_en: "systemd-logind: user sessions created and removed",
            description_ja: "systemd-logind: ユーザセッションの作成と削除",
            fields: &["user.name", "mamori.session.id", "event.action", "event.type"],
        },
        parse: logind,
    },
];

/// sshd message prefixes: (prefix, action, outcome or "" for non-auth).
const SSHD_TABLE: &[(&str, &str, &str)] = &[
    ("Accepted ", "logged-in", "success"),
    ("Failed ", "login-failed", "failure"),
    ("Invalid user ", "invalid-user", "failure"),
    (
        "input_userauth_request: invalid user ",
        "invalid-user",
        "failure",
    ),
    ("invalid user ", "invalid-user", "failure"),
    ("Disconnected from ", "disconnected", ""),
    ("Received disconnect from ", "disconnected", ""),
    ("Connection closed by ", "connection-closed", ""),
    ("Connection reset by ", "connection-closed", ""),
    ("Connection from ", "connection", ""),
    (
        "Did not receive identification string from ",
        "no-identification",
        "failure",
    ),
    (
        "maximum authentication attempts exceeded for ",
        "max-auth-attempts",
        "failure",
    ),
    ("kex_exchange_identification:", "kex-error", "failure"),
    ("Unable to negotiate with ", "negotiation-failed", "failure"),
    ("banner exchange: ", "banner-error", "failure"),
    (
        "fatal: Timeout before authentication for ",
        "auth-timeout",
        "failure",
    ),
    (
        "Timeout before authentication for ",
        "auth-timeout",
        "failure",
    ),
    ("PAM ", "pam-failures", "failure"),
    ("User ", "user-not-allowed", "failure"),
    ("reverse mapping checking ", "reverse-mapping-failed", ""),
    ("Postponed ", "postponed", ""),
    ("refused connect from ", "connection-refused", "failure"),
    ("Close session: ", "session-closed", ""),
    ("ssh_dispatch_run_fatal: ", "fatal-error", "failure"),
    ("Magic value check failed", "bad-handshake", "failure"),
    ("Server listening on ", "listening", ""),
    ("Received signal ", "signal", ""),
];

fn sshd(inp: &Input<'_>, ev: &mut Event, st: &mut ParseState) -> Outcome {
    let t = inp.text;
    if t.starts_with("pam_") {
        return pam(inp, ev, st);
    }
    // "error: " prefixes carry the same messages.
    let t = t.strip_prefix("error: ").unwrap_or(t);
    let Some(&(prefix, action, outcome)) = SSHD_TABLE.iter().find(|(p, ..)| t.starts_with(p))
    else {
        return Outcome::NoMatch;
    };
    if outcome.is_empty() {
        ev.set("event.category", vec!["network"]);
        ev.set(
            "event.type",
            vec![if action == "connection" {
                "start"
            } else {
                "end"
            }],
        );
        ev.set("event.action", action);
    } else {
        auth_event(ev, action, outcome);
    }
    if t.ends_with("[preauth]") {
        ev.set("mamori.ssh.preauth", true);
    }
    let rest = &t[prefix.len()..];
    // User names.
    let user = match action {
        "logged-in" | "login-failed" => {
            let (method, r) = word(rest);
            ev.set("mamori.auth.method", method);
            let r = r.strip_prefix("for ").unwrap_or(r);
            let r = match r.strip_prefix("invalid user ") {
                Some(x) => {
                    ev.set("mamori.ssh.invalid_user", true);
                    x
                }
                None => r,
            };
            r.find(" from ").map(|i| &r[..i])
        }
        "invalid-user" => Some(
            rest.find(" from ")
                .map_or_else(|| word(rest).0, |i| &rest[..i]),
        ),
        "max-auth-attempts" => rest.find(" from ").map(|i| &rest[..i]),
        "user-not-allowed" => rest.find(" from ").map(|i| &rest[..i]),
        "session-closed" => rest
            .strip_prefix("user ")
            .and_then(|r| r.find(" from ").map(|i| &r[..i])),
        "disconnected" | "connection-closed" => {
            let r = rest
                .strip_prefix("authenticating user ")
                .or_else(|| rest.strip_prefix("invalid user "))
                .or_else(|| rest.strip_prefix("user "));
            r.map(|r| word(r).0)
        }
        _ => None,
    };
    if let Some(u) = user.map(str::trim).filter(|u| !u.is_empty()) {
        ev.set("user.name", u);
    }
    // Source address: after " from ", or the word before " port ".
    let addr = match action {
        "disconnected" | "connection-closed" | "connection" | "no-identification"
        | "auth-timeout" | "negotiation-failed" | "banner-error" => {
            let r = rest.strip_prefix("Connection from ").unwrap_or(rest);
            before_port(r)
        }
        "pam-failures" => after(rest, "rhost=").map(|r| word(r).0),
        "connection-refused" => between(rest, "(", ")").or_else(|| Some(word(rest).0)),
        "fatal-error" => {
            word_after(rest, "Connection from ").or_else(|| word_after(rest, " from "))
        }
        "reverse-mapping-failed" => between(rest, "[", "]"),
        "listening" | "signal" | "postponed" | "kex-error" => None,
        _ => word_after(rest, " from "),
    };
    if action == "pam-failures" {
        if let Some(u) = after(rest, "user=").map(|r| word(r).0) {
            set_str(ev, "user.name", u);
        }
    }
    if let Some(a) = addr {
        if !set_ip(ev, "source.ip", a) {
            if matches!(action, "logged-in" | "login-failed" | "invalid-user") {
                return Outcome::Partial("bad_source_ip");
            }
            set_str(ev, "source.address", a);
        }
    } else if matches!(action, "logged-in" | "login-failed")
        || (action == "invalid-user" && rest.contains(" from"))
    {
        return Outcome::Partial("missing_source_ip");
    }
    if let Some(p) = word_after(rest, " port ") {
        set_int(
            ev,
            "source.port",
            p.trim_end_matches([':', ','])
                .split(':')
                .next()
                .unwrap_or(""),
        );
    }
    Outcome::Done
}

/// The address word before " port ", skipping "user NAME" style prefixes.
fn before_port(r: &str) -> Option<&str> {
    match r.find(" port ") {
        Some(i) => r[..i].rsplit(' ').next(),
        None => {
            // "Received disconnect from 192.0.2.1: 14: ..." (older OpenSSH, no port).
            let w = word(r).0.trim_end_matches(':');
            crate::text::ip(w).map(|_| w)
        }
    }
}

fn sudo(inp: &Input<'_>, ev: &mut Event, st: &mut ParseState) -> Outcome {
    let t = inp.text.trim_start();
    if t.starts_with("pam_") {
        return pam(inp, ev, st);
    }
    let Some((user, rest)) = t.split_once(" : ") else {
        return Outcome::NoMatch;
    };
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return Outcome::NoMatch;
    }
    ev.set("user.name", user);
    let mut failure = None;
    for part in rest.split(" ; ") {
        let part = part.trim();
        if let Some((k, v)) = part.split_once('=') {
            match k {
                "TTY" => set_str(ev, "process.tty", v),
                "PWD" => set_str(ev, "process.working_directory", v),
                "USER" => set_str(ev, "user.target.name", v),
                "GROUP" => set_str(ev, "group.target.name", v),
                "COMMAND" => {
                    ev.set("process.command_line", v);
                    set_str(ev, "process.executable", word(v).0);
                }
                _ => {}
            }
        } else if !part.is_empty() {
            failure = Some(part);
        }
    }
    if ev.get_str("process.command_line").is_none() && failure.is_none() {
        return Outcome::Partial("missing_command");
    }
    match failure {
        Some(reason) => {
            auth_event(ev, "sudo-refused", "failure");
            ev.set("event.reason", reason);
        }
        None => {
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["start"]);
            ev.set("event.action", "sudo-command");
            ev.set("event.outcome", "success");
        }
    }
    Outcome::Done
}

fn su(inp: &Input<'_>, ev: &mut Event, st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    if t.starts_with("pam_") {
        return pam(inp, ev, st);
    }
    let (ok, target, user, tty) = if let Some(r) = t.strip_prefix("FAILED SU (to ") {
        let (target, r) = r.split_once(") ").unwrap_or((r, ""));
        let (user, tty) = r.split_once(" on ").unwrap_or((r, ""));
        (false, target, user, tty)
    } else if let Some(r) = t.strip_prefix("(to ") {
        let (target, r) = r.split_once(") ").unwrap_or((r, ""));
        let (user, tty) = r.split_once(" on ").unwrap_or((r, ""));
        (true, target, user, tty)
    } else if let Some(r) = t.strip_prefix("Successful su for ") {
        let (target, user) = r.split_once(" by ").unwrap_or((r, ""));
        (true, target, user, "")
    } else if let Some(r) = t.strip_prefix("FAILED su for ") {
        let (target, user) = r.split_once(" by ").unwrap_or((r, ""));
        (false, target, user, "")
    } else if let Some(r) = t.strip_prefix("+ ").or_else(|| t.strip_prefix("- ")) {
        let (tty, pair) = word(r);
        let Some((user, target)) = pair.split_once(':') else {
            return Outcome::NoMatch;
        };
        (t.starts_with('+'), target, user, tty)
    } else {
        return Outcome::NoMatch;
    };
    if user.trim().is_empty() || target.trim().is_empty() {
        return Outcome::Partial("missing_user");
    }
    auth_event(ev, "su", if ok { "success" } else { "failure" });
    ev.set("user.name", user.trim());
    ev.set("user.target.name", target.trim());
    set_str(ev, "process.tty", tty.trim());
    Outcome::Done
}

fn pam(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim_start();
    // Old Linux-PAM puts the module in the program tag: "sshd(pam_unix)[12]: message".
    let old = inp
        .header
        .app
        .and_then(|a| a.split_once("(pam_"))
        .map(|(svc, m)| (svc, m.trim_end_matches(')')));
    let (module, ctx, msg) = if let (Some((svc, m)), false) = (old, t.starts_with("pam_")) {
        (format!("pam_{m}"), svc, t)
    } else {
        // pam_unix(sshd:auth): message
        let Some(open) = t.find('(') else {
            return Outcome::NoMatch;
        };
        let module = &t[..open];
        if !module.starts_with("pam_") || module.contains(' ') {
            return Outcome::NoMatch;
        }
        let Some((ctx, msg)) = t[open + 1..].split_once("): ") else {
            return Outcome::Partial("truncated");
        };
        (module.to_owned(), ctx, msg)
    };
    ev.set("mamori.pam.module", module);
    let (service, typ) = ctx.split_once(':').unwrap_or((ctx, ""));
    set_str(ev, "mamori.pam.service", service);
    set_str(ev, "mamori.pam.type", typ);
    if msg.starts_with("authentication failure") {
        auth_event(ev, "authentication-failure", "failure");
        for (k, v) in crate::text::kv_pairs(msg) {
            match k {
                "user" => set_str(ev, "user.name", v),
                "ruser" => set_str(ev, "source.user.name", v),
                "logname" => set_str(ev, "mamori.pam.logname", v),
                "uid" => set_int(ev, "user.id", v),
                "tty" => set_str(ev, "process.tty", v),
                "rhost" if !v.is_empty() && !set_ip(ev, "source.ip", v) => {
                    ev.set("source.address", v);
                }
                _ => {}
            }
        }
    } else if let Some(r) = msg.strip_prefix("session opened for user ") {
        ev.set("event.category", vec!["session"]);
        ev.set("event.type", vec!["start"]);
        ev.set("event.action", "session-opened");
        ev.set("event.outcome", "success");
        let u = word(r).0;
        let name = u.split('(').next().unwrap_or(u);
        set_str(ev, "user.name", name);
        if let Some(uid) = between(u, "(uid=", ")").and_then(int) {
            ev.set("user.id", uid);
        }
        if let Some(by) = word_after(r, "by ") {
            let by_name = by.split('(').next().unwrap_or("");
            set_str(ev, "source.user.name", by_name);
        }
    } else if let Some(r) = msg.strip_prefix("session closed for user ") {
        ev.set("event.category", vec!["session"]);
        ev.set("event.type", vec!["end"]);
        ev.set("event.action", "session-closed");
        set_str(ev, "user.name", word(r).0);
    } else if msg.starts_with("check pass; user unknown") {
        auth_event(ev, "user-unknown", "failure");
    } else if let Some(r) = msg.strip_prefix("auth could not identify password for [") {
        auth_event(ev, "password-unidentified", "failure");
        set_str(ev, "user.name", r.trim_end_matches(']'));
    } else {
        ev.set("event.category", vec!["authentication"]);
        ev.set("event.action", "pam-message");
    }
    Outcome::Done
}

fn logind(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim().trim_end_matches('.');
    if let Some(r) = t.strip_prefix("New session ") {
        let Some((id, user)) = r.split_once(" of user ") else {
            return Outcome::Partial("missing_user");
        };
        ev.set("event.category", vec!["session"]);
        ev.set("event.type", vec!["start"]);
        ev.set("event.action", "session-created");
        ev.set("mamori.session.id", id);
        ev.set("user.name", user);
    } else if let Some(id) = t.strip_prefix("Removed session ") {
        ev.set("event.category", vec!["session"]);
        ev.set("event.type", vec!["end"]);
        ev.set("event.action", "session-removed");
        ev.set("mamori.session.id", id);
    } else if let Some(r) = t.strip_prefix("Session ") {
        let Some(id) = r
            .strip_suffix(" logged out. Waiting for processes to exit")
            .or_else(|| {
                r.split(" logged out")
                    .next()
                    .filter(|_| r.contains(" logged out"))
            })
        else {
            return Outcome::NoMatch;
        };
        ev.set("event.category", vec!["session"]);
        ev.set("event.type", vec!["end"]);
        ev.set("event.action", "session-logged-out");
        ev.set("mamori.session.id", id);
    } else {
        return Outcome::NoMatch;
    }
    Outcome::Done
}
