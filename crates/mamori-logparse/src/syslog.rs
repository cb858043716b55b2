//! Syslog headers: RFC 5424 (structured data kept) and lenient RFC 3164 (missing year, ISO
//! timestamps, no PRI, Cisco sequence numbers and `%ASA-…` tags, no hostname).

use mamori_core::{Event, Timestamp};

use crate::time::{month_from_abbr, num, parse_hms, parse_iso_prefix, Zone};

/// Most structured-data parameters kept from one RFC 5424 message.
pub const MAX_SD_PARAMS: usize = 64;
/// Longest program tag accepted in an RFC 3164 header.
pub const MAX_TAG_LEN: usize = 64;
/// Longest hostname accepted in a header.
pub const MAX_HOSTNAME_LEN: usize = 255;

/// The parsed header of one syslog message; `message` is the rest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyslogHeader<'a> {
    /// `<PRI>` value (facility × 8 + severity).
    pub priority: Option<u8>,
    /// RFC 5424 version (1) when the message was RFC 5424.
    pub version: Option<u8>,
    /// Source time (zone-less times read in the source's zone).
    pub timestamp: Option<Timestamp>,
    /// Host name or address from the header.
    pub hostname: Option<&'a str>,
    /// APP-NAME / program tag.
    pub app: Option<&'a str>,
    /// PROCID / pid in `prog[pid]:`.
    pub procid: Option<&'a str>,
    /// RFC 5424 MSGID.
    pub msgid: Option<&'a str>,
    /// Cisco-style sequence number before the timestamp.
    pub sequence: Option<u64>,
    /// RFC 5424 structured data, flattened as (`sd-id.param`, value).
    pub structured_data: Vec<(String, String)>,
    /// The message text after the header.
    pub message: &'a str,
}

/// ECS facility names by code.
pub const FACILITY_NAMES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
/// ECS severity names by code.
pub const SEVERITY_NAMES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

/// Parse a syslog header leniently; never fails (a line without any header has only
/// `message`). Zone-less times are read in `zone`; a missing year is inferred from `received`.
pub fn parse_header<'a>(line: &'a str, zone: &Zone, received: Timestamp) -> SyslogHeader<'a> {
    let mut h = SyslogHeader {
        message: line,
        ..Default::default()
    };
    let mut s = line.trim_start_matches([' ', '\u{feff}']);
    if let Some(rest) = s.strip_prefix('<') {
        if let Some(end) = rest.as_bytes().iter().take(4).position(|&c| c == b'>') {
            if let Some(p) = num(&rest.as_bytes()[..end]).filter(|&p| p <= 191) {
                h.priority = u8::try_from(p).ok();
                s = &rest[end + 1..];
            }
        }
    }
    // RFC 5424: "1 " then a timestamp or "-".
    if let Some(rest) = s.strip_prefix("1 ") {
        if rest.starts_with('-') || rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            if let Some(()) = parse_5424(rest, zone, &mut h) {
                h.version = Some(1);
                return h;
            }
            h.structured_data.clear();
            h.timestamp = None;
            h.hostname = None;
            h.app = None;
            h.procid = None;
            h.msgid = None;
        }
    }
    parse_3164(s, zone, received, &mut h);
    h
}

fn nil(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

fn parse_5424<'a>(s: &'a str, zone: &Zone, h: &mut SyslogHeader<'a>) -> Option<()> {
    let mut parts = s.splitn(6, ' ');
    let ts = parts.next()?;
    if ts != "-" {
        let (t, used) = parse_iso_prefix(ts, zone)?;
        if used != ts.len() {
            return None;
        }
        h.timestamp = Some(t);
    }
    h.hostname = nil(parts.next()?).filter(|x| x.len() <= MAX_HOSTNAME_LEN);
    h.app = nil(parts.next()?);
    h.procid = nil(parts.next()?);
    h.msgid = nil(parts.next()?);
    let rest = parts.next().unwrap_or("");
    let msg = if let Some(r) = rest.strip_prefix('-') {
        r
    } else if rest.starts_with('[') {
        parse_sd(rest, &mut h.structured_data)?
    } else {
        return None;
    };
    let msg = msg.strip_prefix(' ').unwrap_or(msg);
    h.message = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    Some(())
}

/// Parse `[id k="v" ...][id2 ...]`; returns the text after it.
fn parse_sd<'a>(mut s: &'a str, out: &mut Vec<(String, String)>) -> Option<&'a str> {
    while let Some(rest) = s.strip_prefix('[') {
        let id_end = rest.find([' ', ']'])?;
        let id = &rest[..id_end];
        let mut r = &rest[id_end..];
        loop {
            r = r.trim_start_matches(' ');
            if let Some(after) = r.strip_prefix(']') {
                s = after;
                break;
            }
            let eq = r.find('=')?;
            let name = &r[..eq];
            let v = r[eq + 1..].strip_prefix('"')?;
            let mut val = String::new();
            let mut it = v.char_indices();
            let mut end = None;
            while let Some((i, c)) = it.next() {
                match c {
                    '\\' => match it.next() {
                        Some((_, e @ ('"' | '\\' | ']'))) => val.push(e),
                        Some((_, e)) => {
                            val.push('\\');
                            val.push(e);
                        }
                        None => return None,
                    },
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => val.push(c),
                }
            }
            let end = end?;
            if out.len() < MAX_SD_PARAMS {
                out.push((format!("{id}.{name}"), val));
            }
            r = &v[end + 1..];
        }
    }
    Some(s)
}

/// `Mmm dd [yyyy] hh:mm:ss[.frac]` at the start of `b`: (month, day, year, h, m, s, ns, used).
type BsdTime = (u32, u32, Option<i32>, u32, u32, u32, u32, usize);

fn parse_bsd_time(b: &[u8]) -> Option<BsdTime> {
    let mo = month_from_abbr(b.get(..3)?)?;
    let mut i = 3;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let ds = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) && i - ds < 2 {
        i += 1;
    }
    let d = num(&b[ds..i])?;
    if !(1..=31).contains(&d) || b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let mut year = None;
    if b.len() >= i + 5 && b[i + 4] == b' ' {
        if let Some(y) = num(&b[i..i + 4]) {
            year = Some(y as i32);
            i += 5;
        }
    }
    let (h, mi, s, ns, used) = parse_hms(b.get(i..)?)?;
    i += used;
    if year.is_none() && b.len() >= i + 5 && b[i] == b' ' {
        // "Mmm dd hh:mm:ss yyyy" (e.g. some network devices)
        if let Some(y) = num(&b[i + 1..i + 5]).filter(|y| (1970..=9999).contains(y)) {
            if b.get(i + 5).is_none_or(|c| *c == b' ' || *c == b':') {
                year = Some(y as i32);
                i += 5;
            }
        }
    }
    Some((mo, d, year, h, mi, s, ns, i))
}

fn is_tag_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/' | b'%' | b'@' | b'(' | b')')
}

/// `prog[pid]:` / `prog:` at the start of `s`: (prog, pid, rest).
fn parse_tag(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && i < MAX_TAG_LEN && is_tag_char(b[i]) {
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let prog = &s[..i];
    let mut pid = None;
    if b.get(i) == Some(&b'[') {
        let close = s[i..].find(']')? + i;
        pid = Some(&s[i + 1..close]);
        i = close + 1;
    }
    if b.get(i) != Some(&b':') || !matches!(b.get(i + 1), None | Some(b' ' | b'\t')) {
        return None;
    }
    let rest = &s[i + 1..];
    Some((prog, pid, rest.strip_prefix(' ').unwrap_or(rest)))
}

fn parse_3164<'a>(mut s: &'a str, zone: &Zone, received: Timestamp, h: &mut SyslogHeader<'a>) {
    s = s.trim_start_matches(' ');
    // Cisco IOS sequence number "000123: ".
    if let Some(colon) = s.as_bytes().iter().take(12).position(|&c| c == b':') {
        if colon > 0 && s.as_bytes().get(colon + 1) == Some(&b' ') {
            if let Ok(n) = s[..colon].parse::<u64>() {
                h.sequence = Some(n);
                s = &s[colon + 2..];
            }
        }
    }
    let s0 = s.trim_start_matches(['*', '.']);
    let b = s0.as_bytes();
    let mut had_time = false;
    if b.first().is_some_and(u8::is_ascii_digit) {
        if let Some((t, used)) = parse_iso_prefix(s0, zone) {
            h.timestamp = Some(t);
            s = &s0[used..];
            had_time = true;
        }
    } else if let Some((mo, d, year, hh, mi, ss, ns, used)) = parse_bsd_time(b) {
        h.timestamp = match year {
            Some(y) => zone.civil(y, mo, d, hh, mi, ss, ns),
            None => zone.civil_near(received, mo, d, hh, mi, ss, ns),
        };
        s = &s0[used..];
        // Cisco appends a zone name or a colon ("... 10:00:00.123 JST: ").
        s = s.strip_prefix(':').unwrap_or(s);
        had_time = h.timestamp.is_some();
    }
    s = s.trim_start_matches(' ');
    if had_time {
        let (tok, rest) = split_token(s);
        if tok == ":" {
            s = rest;
        } else if !tok.is_empty() && parse_tag(s).is_none() && !tok.contains('=') {
            if tok.len() <= MAX_HOSTNAME_LEN {
                h.hostname = Some(tok);
            }
            s = rest.trim_start_matches(' ');
            if let Some(r) = s.strip_prefix(": ") {
                s = r; // "fw01 : %ASA-..."
            }
        }
    }
    if let Some((prog, pid, rest)) = parse_tag(s) {
        h.app = Some(prog);
        h.procid = pid;
        s = rest;
    }
    h.message = s;
}

fn split_token(s: &str) -> (&str, &str) {
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

/// Put the header fields on an event (`log.syslog.*`, `host.hostname`, `process.*`).
pub fn apply_header(h: &SyslogHeader<'_>, ev: &mut Event) {
    if let Some(p) = h.priority {
        let (fac, sev) = (usize::from(p / 8), usize::from(p % 8));
        ev.set("log.syslog.priority", p);
        ev.set("log.syslog.facility.code", fac);
        ev.set_opt("log.syslog.facility.name", FACILITY_NAMES.get(fac).copied());
        ev.set("log.syslog.severity.code", sev);
        ev.set_opt("log.syslog.severity.name", SEVERITY_NAMES.get(sev).copied());
    }
    if let Some(v) = h.version {
        ev.set("log.syslog.version", v);
    }
    ev.set_opt("host.hostname", h.hostname);
    if let Some(app) = h.app {
        ev.set("process.name", app);
        ev.set("log.syslog.appname", app);
    }
    if let Some(pid) = h.procid {
        match pid.parse::<i64>() {
            Ok(n) => ev.set("process.pid", n),
            Err(_) => ev.set("log.syslog.procid", pid),
        };
    }
    ev.set_opt("log.syslog.msgid", h.msgid);
    if let Some(seq) = h.sequence {
        ev.set("event.sequence", seq);
    }
    for (k, v) in &h.structured_data {
        ev.set(format!("log.syslog.structured_data.{k}"), v.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokyo() -> Zone {
        Zone::get("Asia/Tokyo").unwrap()
    }
    fn recv() -> Timestamp {
        tokyo().civil(2026, 11, 23, 12, 0, 0, 0).unwrap()
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let l = r#"<165>1 2026-11-23T10:00:00.123+09:00 web01 myapp 4321 ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"x\]"][meta seq="1"] An application event"#;
        let h = parse_header(l, &tokyo(), recv());
        assert_eq!(h.priority, Some(165));
        assert_eq!(h.version, Some(1));
        assert_eq!(h.hostname, Some("web01"));
        assert_eq!(h.app, Some("myapp"));
        assert_eq!(h.procid, Some("4321"));
        assert_eq!(h.msgid, Some("ID47"));
        assert_eq!(h.message, "An application event");
        assert_eq!(
            h.structured_data,
            vec![
                ("exampleSDID@32473.iut".into(), "3".into()),
                ("exampleSDID@32473.eventSource".into(), "Appl\"x]".into()),
                ("meta.seq".into(), "1".into())
            ]
        );
        assert_eq!(
            h.timestamp,
            Timestamp::from_civil(2026, 11, 23, 1, 0, 0, 123_000_000)
        );
    }

    #[test]
    fn rfc5424_nil_fields() {
        let h = parse_header("<14>1 - - - - - -", &tokyo(), recv());
        assert_eq!(h.version, Some(1));
        assert_eq!(h.timestamp, None);
        assert_eq!(h.message, "");
    }

    #[test]
    fn rfc3164_classic_in_zone() {
        let h = parse_header(
            "<38>Nov 23 10:00:01 gw sshd[1234]: Accepted password",
            &tokyo(),
            recv(),
        );
        assert_eq!(h.priority, Some(38));
        assert_eq!(h.hostname, Some("gw"));
        assert_eq!(h.app, Some("sshd"));
        assert_eq!(h.procid, Some("1234"));
        assert_eq!(h.message, "Accepted password");
        assert_eq!(h.timestamp, Timestamp::from_civil(2026, 11, 23, 1, 0, 1, 0));
    }

    #[test]
    fn rfc3164_without_hostname_or_pri() {
        let h = parse_header("Nov  3 10:00:01 sshd[9]: hello", &tokyo(), recv());
        assert_eq!(h.hostname, None);
        assert_eq!(h.app, Some("sshd"));
        assert_eq!(h.priority, None);
        let h = parse_header("kernel: [UFW BLOCK] IN=eth0", &tokyo(), recv());
        assert_eq!(h.app, Some("kernel"));
        assert_eq!(h.message, "[UFW BLOCK] IN=eth0");
    }

    #[test]
    fn iso_timestamp_3164() {
        let h = parse_header("2026-11-23T10:00:00+09:00 host1 su: x", &tokyo(), recv());
        assert_eq!(h.timestamp, Timestamp::from_civil(2026, 11, 23, 1, 0, 0, 0));
        assert_eq!(h.hostname, Some("host1"));
        assert_eq!(h.app, Some("su"));
    }

    #[test]
    fn cisco_asa_with_year_and_sequence() {
        let h = parse_header(
            "<166>Nov 23 2026 10:00:00 fw01 : %ASA-6-302013: Built inbound",
            &tokyo(),
            recv(),
        );
        assert_eq!(h.hostname, Some("fw01"));
        assert_eq!(h.app, Some("%ASA-6-302013"));
        assert_eq!(h.message, "Built inbound");
        let h = parse_header(
            "<189>000123: *Nov 23 10:00:00.123: %SYS-5-CONFIG_I: Configured",
            &tokyo(),
            recv(),
        );
        assert_eq!(h.sequence, Some(123));
        assert_eq!(h.app, Some("%SYS-5-CONFIG_I"));
        assert_eq!(
            h.timestamp,
            Timestamp::from_civil(2026, 11, 23, 1, 0, 0, 123_000_000)
        );
    }

    #[test]
    fn fortinet_kv_without_header() {
        let h = parse_header(
            "<189>date=2026-11-23 time=10:00:00 devname=fg",
            &tokyo(),
            recv(),
        );
        assert_eq!(h.priority, Some(189));
        assert_eq!(h.hostname, None);
        assert_eq!(h.app, None);
        assert!(h.message.starts_with("date="));
    }

    #[test]
    fn garbage_is_all_message() {
        for l in [
            "<999>x",
            "<",
            "<12",
            "1 ",
            "1 2026-99",
            "Nov",
            "Nov 99 10:00:00 x",
            "\u{feff}",
        ] {
            let h = parse_header(l, &tokyo(), recv());
            assert!(h.timestamp.is_none(), "{l}");
        }
    }
}
