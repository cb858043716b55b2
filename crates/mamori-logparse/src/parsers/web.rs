//! Web and proxy: Squid access.log (native and common/combined), Apache/nginx access and error.

use mamori_core::{Event, Timestamp};

use super::{set_int, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo};
use crate::text::{int, ip, word};
use crate::time::{month_from_abbr, num, parse_hms, Zone};

/// The web parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "squid",
            module: "squid",
            dataset: "squid",
            description_en: "Squid access.log, native format (time elapsed client code/status bytes method URL user hierarchy/peer type)",
            description_ja: "Squid の access.log (ネイティブ形式)",
            fields: &["source.ip", "http.request.method", "url.original", "url.domain", "http.response.status_code", "http.response.bytes", "user.name", "event.duration", "event.action", "destination.ip", "http.response.mime_type", "mamori.squid.result_code"],
        },
        parse: squid,
    },
    ParserDef {
        info: ParserInfo {
            name: "http-access",
            module: "webserver",
            dataset: "webserver",
            description_en: "Apache / nginx / Squid access logs in common or combined format, with or without a virtual host",
            description_ja: "Apache / nginx / Squid のアクセスログ (common / combined 形式、仮想ホスト付きも可)",
            fields: &["source.ip", "user.name", "http.request.method", "url.original", "http.version", "http.response.status_code", "http.response.body.bytes", "http.request.referrer", "user_agent.original", "url.domain"],
        },
        parse: access,
    },
    ParserDef {
        info: ParserInfo {
            name: "http-error",
            module: "webserver",
            dataset: "webserver",
            description_en: "Apache and nginx error logs",
            description_ja: "Apache / nginx のエラーログ",
            fields: &["log.level", "source.ip", "source.port", "process.pid", "error.code", "message", "url.domain"],
        },
        parse: error_log,
    },
];

fn http_outcome(ev: &mut Event, status: Option<i64>) {
    ev.set("event.category", vec!["web"]);
    ev.set("event.type", vec!["access"]);
    if let Some(s) = status {
        ev.set("http.response.status_code", s);
        ev.set(
            "event.outcome",
            if (100..400).contains(&s) {
                "success"
            } else {
                "failure"
            },
        );
    }
}

/// Host part of an absolute URL or `host:port` (CONNECT).
fn url_domain(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next()?.trim_start_matches('[')
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

fn squid(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    let mut it = t.split_whitespace();
    let Some(time) = it.next() else {
        return Outcome::NoMatch;
    };
    let Some((secs, frac)) = time.split_once('.').or(Some((time, ""))) else {
        return Outcome::NoMatch;
    };
    let Ok(secs) = secs.parse::<i64>() else {
        return Outcome::NoMatch;
    };
    if !(9..=11).contains(&time.split('.').next().map_or(0, str::len)) {
        return Outcome::NoMatch;
    }
    let f: Vec<&str> = it.take(9).collect();
    if f.len() < 4 {
        return Outcome::Partial("too_few_fields");
    }
    let millis = num(frac.as_bytes().get(..frac.len().min(3)).unwrap_or(b"")).unwrap_or(0);
    let scale = match frac.len().min(3) {
        1 => 100,
        2 => 10,
        _ => 1,
    };
    ev.timestamp = Timestamp::from_unix_millis(
        secs.saturating_mul(1000)
            .saturating_add(i64::from(millis * scale)),
    );
    if let Some(ms) = int(f[0]) {
        ev.set("event.duration", ms.saturating_mul(1_000_000));
    }
    if !set_ip(ev, "source.ip", f[1]) {
        set_str(ev, "source.address", f[1]);
    }
    let (code, status) = f[2].split_once('/').unwrap_or((f[2], ""));
    ev.set("mamori.squid.result_code", code);
    http_outcome(ev, int(status));
    let denied = code.contains("DENIED");
    ev.set("event.action", if denied { "deny" } else { "allow" });
    if denied {
        ev.set("event.type", vec!["access", "denied"]);
    }
    set_int(ev, "http.response.bytes", f[3]);
    let Some(method) = f.get(4) else {
        return Outcome::Partial("truncated");
    };
    set_str(ev, "http.request.method", method);
    if let Some(url) = f.get(5) {
        ev.set("url.original", *url);
        if let Some(d) = url_domain(url) {
            ev.set("url.domain", d);
        }
    }
    if let Some(u) = f.get(6) {
        set_str(ev, "user.name", u);
    }
    if let Some(h) = f.get(7) {
        let (hier, peer) = h.split_once('/').unwrap_or((h, ""));
        set_str(ev, "mamori.squid.hierarchy", hier);
        if !set_ip(ev, "destination.ip", peer) {
            set_str(ev, "destination.address", peer);
        }
    }
    if let Some(m) = f.get(8) {
        set_str(ev, "http.response.mime_type", m);
    }
    Outcome::Done
}

/// `[23/Nov/2026:10:00:00 +0900]` contents.
fn clf_time(s: &str, zone: &Zone) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let d = num(&b[0..2])?;
    let mo = month_from_abbr(&b[3..6])?;
    let y = num(&b[7..11])? as i32;
    let (h, mi, sec, ns, used) = parse_hms(&b[12..])?;
    let rest = s[12 + used..].trim();
    let rb = rest.as_bytes();
    if rb.len() == 5 && matches!(rb[0], b'+' | b'-') {
        let off = i64::from(num(&rb[1..3])?) * 3600 + i64::from(num(&rb[3..5])?) * 60;
        let utc = Timestamp::from_civil(y, mo, d, h, mi, sec.min(59), ns)?;
        let off = if rb[0] == b'-' { -off } else { off };
        return Some(utc - mamori_core::Duration::from_secs(off));
    }
    zone.civil(y, mo, d, h, mi, sec, ns)
}

/// Next `"quoted"` field (backslash escapes kept) and the rest.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let q = s.strip_prefix('"')?;
    let b = q.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] != b'"' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    if i >= b.len() {
        return None;
    }
    Some((&q[..i], &q[i + 1..]))
}

fn access(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    let Some(lb) = t.find(" [") else {
        return Outcome::NoMatch;
    };
    let pre: Vec<&str> = t[..lb].split(' ').collect();
    // client ident user | vhost client ident user
    let (vhost, client, user) = match pre.as_slice() {
        [c, _, u] => (None, *c, *u),
        [v, c, _, u] => (Some(*v), *c, *u),
        _ => return Outcome::NoMatch,
    };
    let Some(rb) = t[lb + 2..].find(']') else {
        return Outcome::NoMatch;
    };
    let Some(ts) = clf_time(&t[lb + 2..lb + 2 + rb], inp.zone) else {
        return Outcome::NoMatch;
    };
    ev.timestamp = ts;
    if !set_ip(ev, "source.ip", client) {
        set_str(ev, "source.address", client);
    }
    set_str(ev, "user.name", user);
    if let Some(v) = vhost {
        let host = v.rsplit_once(':').filter(|(_, p)| p.parse::<u16>().is_ok());
        match host {
            Some((h, p)) => {
                ev.set("url.domain", h);
                set_int(ev, "destination.port", p);
            }
            None => {
                ev.set("url.domain", v);
            }
        }
    }
    let rest = &t[lb + 2 + rb + 1..];
    let Some((req, rest)) = quoted(rest) else {
        return Outcome::Partial("missing_request");
    };
    let mut rq = req.splitn(3, ' ');
    let method = rq.next().unwrap_or("");
    set_str(ev, "http.request.method", method);
    if let Some(u) = rq.next() {
        ev.set("url.original", u);
        if u.contains("://") {
            if let Some(d) = url_domain(u) {
                ev.set("url.domain", d);
            }
        }
    }
    if let Some(v) = rq.next().and_then(|v| v.strip_prefix("HTTP/")) {
        ev.set("http.version", v);
    }
    let (status, rest) = word(rest);
    let (bytes, rest) = word(rest);
    let st = int(status);
    if st.is_none() {
        return Outcome::Partial("bad_status");
    }
    http_outcome(ev, st);
    if bytes != "-" {
        set_int(ev, "http.response.body.bytes", bytes);
    }
    if let Some((r, rest)) = quoted(rest) {
        set_str(ev, "http.request.referrer", r);
        if let Some((ua, _)) = quoted(rest) {
            set_str(ev, "user_agent.original", ua);
        }
    }
    ev.set(
        "event.module",
        match inp.header.app.unwrap_or("") {
            "nginx" => "nginx",
            "squid" => "squid",
            "httpd" | "apache" | "apache2" => "apache",
            _ => "webserver",
        },
    );
    Outcome::Done
}

fn error_log(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text.trim();
    if let Some(r) = t.strip_prefix('[') {
        // Apache: [Mon Nov 23 10:00:00.123456 2026] [core:error] [pid 1:tid 2] [client a:p] msg
        let Some((time, mut rest)) = r.split_once("] ") else {
            return Outcome::NoMatch;
        };
        let tb = time.as_bytes();
        if tb.len() < 20 || tb[3] != b' ' {
            return Outcome::NoMatch;
        }
        let (mo, d, y, h, mi, s, ns) = match ctime(&time[4..]) {
            Some(x) => x,
            None => return Outcome::NoMatch,
        };
        if let Some(ts) = inp.zone.civil(y, mo, d, h, mi, s, ns) {
            ev.timestamp = ts;
        }
        ev.set("event.module", "apache");
        while let Some(r) = rest.strip_prefix('[') {
            let Some((item, tail)) = r.split_once("] ") else {
                break;
            };
            if let Some(p) = item.strip_prefix("pid ") {
                set_int(ev, "process.pid", p.split(':').next().unwrap_or(""));
            } else if let Some(c) = item
                .strip_prefix("client ")
                .or_else(|| item.strip_prefix("remote "))
            {
                if let Some((a, p)) = crate::text::ip_port(c) {
                    ev.set("source.ip", a);
                    ev.set_opt("source.port", p);
                }
            } else {
                let level = item.rsplit(':').next().unwrap_or(item);
                set_str(ev, "log.level", level);
            }
            rest = tail;
        }
        if let Some((code, m)) = rest.split_once(": ") {
            if code.starts_with("AH") && code.len() == 7 {
                ev.set("error.code", code);
                ev.set("message", m);
                return finish_error(ev);
            }
        }
        ev.set("message", rest);
        return finish_error(ev);
    }
    // nginx: 2026/11/23 10:00:00 [error] 1234#1234: *5 message, client: 1.2.3.4, server: x
    let b = t.as_bytes();
    if b.len() < 21 || b[4] != b'/' || b[7] != b'/' || b[10] != b' ' {
        return Outcome::NoMatch;
    }
    let (Some(y), Some(mo), Some(d)) = (num(&b[0..4]), num(&b[5..7]), num(&b[8..10])) else {
        return Outcome::NoMatch;
    };
    let Some((h, mi, s, ns, used)) = parse_hms(&b[11..]) else {
        return Outcome::NoMatch;
    };
    if let Some(ts) = inp.zone.civil(y as i32, mo, d, h, mi, s, ns) {
        ev.timestamp = ts;
    }
    let rest = t[11 + used..].trim_start();
    let Some(r) = rest.strip_prefix('[') else {
        return Outcome::Partial("missing_level");
    };
    let Some((level, r)) = r.split_once("] ") else {
        return Outcome::Partial("missing_level");
    };
    ev.set("event.module", "nginx");
    ev.set("log.level", level);
    let (pid, msg) = r.split_once(": ").unwrap_or(("", r));
    set_int(ev, "process.pid", pid.split('#').next().unwrap_or(""));
    let msg = msg
        .split_once(' ')
        .filter(|(c, _)| c.starts_with('*'))
        .map_or(msg, |(_, m)| m);
    let text = msg.split(", client: ").next().unwrap_or(msg);
    ev.set("message", text);
    if let Some(c) = crate::text::word_after(msg, "client: ") {
        set_ip(ev, "source.ip", c.trim_end_matches(','));
    }
    if let Some(s) = crate::text::word_after(msg, "server: ") {
        set_str(ev, "url.domain", s.trim_end_matches(','));
    }
    if let Some(rq) = crate::text::between(msg, "request: \"", "\"") {
        let mut p = rq.split(' ');
        set_str(ev, "http.request.method", p.next().unwrap_or(""));
        set_str(ev, "url.original", p.next().unwrap_or(""));
    }
    finish_error(ev)
}

fn finish_error(ev: &mut Event) -> Outcome {
    ev.set("event.category", vec!["web"]);
    ev.set("event.type", vec!["error"]);
    Outcome::Done
}

/// `Nov 23 10:00:00[.frac] 2026` → (month, day, year, h, m, s, ns).
pub(crate) fn ctime(s: &str) -> Option<(u32, u32, i32, u32, u32, u32, u32)> {
    let b = s.as_bytes();
    let mo = month_from_abbr(b.get(..3)?)?;
    let r = s.get(3..)?.trim_start();
    let (d, r) = r.split_once(' ')?;
    let d = num(d.as_bytes())?;
    let (h, mi, sec, ns, used) = parse_hms(r.as_bytes())?;
    let y = num(r.get(used..)?.trim().get(..4)?.as_bytes())? as i32;
    Some((mo, d, y, h, mi, sec, ns))
}

/// Whether `s` starts like an IPv4/IPv6 client address or host then " - ".
pub(crate) fn looks_like_access(s: &str) -> bool {
    let (first, _) = word(s);
    (ip(first).is_some() || first.contains('.')) && s.contains(" [") && s.contains("] \"")
}
