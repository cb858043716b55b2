//! ClamAV: clamd detections (`FOUND`) and freshclam updates.

use mamori_core::Event;

use super::{set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo};
use crate::text::between;

/// The ClamAV parser.
pub const PARSERS: &[ParserDef] = &[ParserDef {
    info: ParserInfo {
        name: "clamav",
        module: "clamav",
        dataset: "clamav",
        description_en: "ClamAV clamd detections (FOUND) and freshclam database updates",
        description_ja: "ClamAV: clamd の検知 (FOUND) と freshclam の定義更新",
        fields: &[
            "file.path",
            "rule.name",
            "threat.indicator.name",
            "event.action",
            "event.outcome",
            "mamori.clamav.version",
        ],
    },
    parse: clamav,
}];

fn clamav(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let mut t = inp.text.trim();
    // clamd.log: "Mon Nov 23 10:00:00 2026 -> message"
    if let Some((pre, rest)) = t.split_once(" -> ") {
        if pre.len() >= 24 {
            if let Some((mo, d, y, h, mi, s, ns)) = pre.get(4..).and_then(super::web::ctime) {
                if let Some(ts) = inp.zone.civil(y, mo, d, h, mi, s, ns) {
                    ev.timestamp = ts;
                }
            }
        }
        t = rest;
    }
    if let Some(body) = t.strip_suffix(" FOUND") {
        let Some((path, sig)) = body.rsplit_once(": ") else {
            return Outcome::Partial("missing_signature");
        };
        ev.set("event.category", vec!["malware", "file"]);
        ev.set("event.type", vec!["info"]);
        ev.set("event.action", "malware-detected");
        ev.set("event.outcome", "success");
        set_str(ev, "file.path", path);
        set_str(ev, "rule.name", sig);
        set_str(ev, "threat.indicator.name", sig);
        return Outcome::Done;
    }
    if t.contains("Database updated")
        || t.contains(".cvd updated")
        || t.contains(".cld updated")
        || t.contains(" is up to date")
    {
        ev.set("event.category", vec!["configuration"]);
        ev.set("event.type", vec!["change"]);
        ev.set("event.action", "signatures-updated");
        ev.set("event.outcome", "success");
        if let Some(v) = between(t, "(version: ", ",") {
            set_str(ev, "mamori.clamav.version", v);
        }
        if let Some(a) = between(t, "(IP: ", ")") {
            set_ip(ev, "server.ip", a);
        }
        return Outcome::Done;
    }
    if t.contains("Can't download") || t.contains("Update failed") || t.contains("Can't connect") {
        ev.set("event.category", vec!["configuration"]);
        ev.set("event.action", "signature-update-failed");
        ev.set("event.outcome", "failure");
        return Outcome::Done;
    }
    Outcome::NoMatch
}
