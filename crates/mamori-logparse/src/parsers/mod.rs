//! Per-product parsers. Each declares a [`ParserInfo`] (name, dataset, descriptions, ECS fields
//! it fills) and one function over the message text after the syslog header.

use std::collections::HashMap;

use mamori_core::{Event, Timestamp};

use crate::syslog::SyslogHeader;
use crate::time::Zone;

pub mod auth;
pub mod clamav;
pub mod dhcp;
pub mod dns;
pub mod firewall;
pub mod ftp;
pub mod json;
pub mod mail;
pub mod secfmt;
pub mod vpn;
pub mod web;
pub mod windows;
pub mod zeek;

/// What a parser declares about itself (for `mamori parsers list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserInfo {
    /// Stable parser name (`sshd`, `iptables`, `squid`, …).
    pub name: &'static str,
    /// Product family (`event.module`).
    pub module: &'static str,
    /// `event.dataset` it produces (`zeek.*` / `windows.*` families pick the suffix per line).
    pub dataset: &'static str,
    /// One line in English.
    pub description_en: &'static str,
    /// One line in Japanese.
    pub description_ja: &'static str,
    /// ECS fields it fills.
    pub fields: &'static [&'static str],
}

/// What one parser made of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not this parser's line.
    NoMatch,
    /// Parsed.
    Done,
    /// Recognised but not finished: the stable reason.
    Partial(&'static str),
}

/// One line being parsed.
#[derive(Debug)]
pub struct Input<'a> {
    /// The whole line.
    pub line: &'a str,
    /// Its syslog header (possibly empty).
    pub header: &'a SyslogHeader<'a>,
    /// The message after the header.
    pub text: &'a str,
    /// Zone for zone-less times.
    pub zone: &'a Zone,
    /// Receive time (reference for year inference).
    pub received: Timestamp,
    /// Source name (state such as Zeek headers is kept per source).
    pub source: &'a str,
    /// The caller's hint (parser name or `zeek.<log>`), if any.
    pub hint: Option<&'a str>,
}

/// Most sources whose Zeek TSV header is remembered.
pub const MAX_ZEEK_SOURCES: usize = 1024;

/// Mutable state some parsers keep between lines.
#[derive(Debug, Default)]
pub struct ParseState {
    /// Zeek TSV headers per source.
    pub zeek: HashMap<String, zeek::ZeekHeader>,
    /// Generic JSON field map: (source path, ECS name).
    pub json_map: Vec<(String, String)>,
}

/// A parser function.
pub type ParseFn = fn(&Input<'_>, &mut Event, &mut ParseState) -> Outcome;

/// A registered parser.
#[derive(Debug, Clone, Copy)]
pub struct ParserDef {
    /// What it declares.
    pub info: ParserInfo,
    /// The function.
    pub parse: ParseFn,
}

/// Every parser, in catalog order.
pub fn all() -> &'static [ParserDef] {
    static ALL: std::sync::OnceLock<Vec<ParserDef>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = Vec::new();
        v.extend_from_slice(auth::PARSERS);
        v.extend_from_slice(firewall::PARSERS);
        v.extend_from_slice(web::PARSERS);
        v.extend_from_slice(dns::PARSERS);
        v.extend_from_slice(dhcp::PARSERS);
        v.extend_from_slice(mail::PARSERS);
        v.extend_from_slice(vpn::PARSERS);
        v.extend_from_slice(ftp::PARSERS);
        v.extend_from_slice(json::PARSERS);
        v.extend_from_slice(zeek::PARSERS);
        v.extend_from_slice(secfmt::PARSERS);
        v.extend_from_slice(clamav::PARSERS);
        v.extend_from_slice(windows::PARSERS);
        v
    })
}

/// Set `source.ip` (and `related.ip`) from text when it parses as an address.
pub(crate) fn set_ip(ev: &mut Event, field: &'static str, s: &str) -> bool {
    match crate::text::ip(s) {
        Some(a) => {
            ev.set(field, a);
            true
        }
        None => false,
    }
}

/// Set an integer field from text when it parses.
pub(crate) fn set_int(ev: &mut Event, field: &'static str, s: &str) {
    if let Some(n) = crate::text::int(s) {
        ev.set(field, n);
    }
}

/// Set a string field when not empty and not `-`.
pub(crate) fn set_str(ev: &mut Event, field: &'static str, s: &str) {
    if !s.is_empty() && s != "-" {
        ev.set(field, s);
    }
}

/// Authentication event boilerplate.
pub(crate) fn auth_event(ev: &mut Event, action: &str, outcome: &str) {
    ev.set("event.category", vec!["authentication"]);
    ev.set(
        "event.type",
        vec![if outcome == "success" {
            "start"
        } else {
            "info"
        }],
    );
    ev.set("event.action", action);
    ev.set("event.outcome", outcome);
}

/// Network connection boilerplate.
pub(crate) fn net_event(ev: &mut Event, action: &str, allowed: Option<bool>) {
    ev.set("event.category", vec!["network"]);
    ev.set(
        "event.type",
        vec![match allowed {
            Some(false) => "denied",
            Some(true) => "allowed",
            None => "connection",
        }],
    );
    ev.set("event.action", action);
    if let Some(a) = allowed {
        ev.set("event.outcome", if a { "success" } else { "failure" });
    }
}
