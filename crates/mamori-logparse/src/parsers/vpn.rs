//! VPN: OpenVPN server and strongSwan (charon).

use mamori_core::Event;

use super::{auth_event, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo};
use crate::text::{between, ip_port, word};

/// The VPN parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "openvpn",
            module: "openvpn",
            dataset: "vpn",
            description_en:
                "OpenVPN server: peer connections, AUTH_FAILED, TLS errors, user names, disconnects",
            description_ja: "OpenVPN サーバ: 接続確立、認証失敗、TLS エラー、ユーザ名、切断",
            fields: &[
                "user.name",
                "source.ip",
                "source.port",
                "event.action",
                "event.outcome",
                "mamori.vpn.assigned_ip",
            ],
        },
        parse: openvpn,
    },
    ParserDef {
        info: ParserInfo {
            name: "strongswan",
            module: "strongswan",
            dataset: "vpn",
            description_en:
                "strongSwan charon: IKE_SA established/deleted, authentication failures",
            description_ja: "strongSwan (charon): IKE SA の確立・削除、認証失敗",
            fields: &[
                "source.ip",
                "destination.ip",
                "user.name",
                "event.action",
                "event.outcome",
                "mamori.vpn.connection",
            ],
        },
        parse: strongswan,
    },
];

fn vpn_auth(ev: &mut Event, action: &str, outcome: &str) {
    auth_event(ev, action, outcome);
    ev.set("event.category", vec!["authentication", "network"]);
}

/// `user/1.2.3.4:51234` or `1.2.3.4:51234` → sets user/source; true when it was a peer.
fn set_peer(ev: &mut Event, tok: &str) -> bool {
    let (user, a) = match tok.rsplit_once('/') {
        Some((u, a)) if ip_port(a).is_some() => (Some(u), a),
        _ => (None, tok),
    };
    let a = a
        .trim_start_matches("[AF_INET]")
        .trim_start_matches("[AF_INET6]");
    match ip_port(a) {
        Some((ip, port)) => {
            ev.set("source.ip", ip);
            ev.set_opt("source.port", port);
            if let Some(u) = user.filter(|u| !u.is_empty() && *u != "UNDEF") {
                ev.set("user.name", u);
            }
            true
        }
        None => false,
    }
}

fn openvpn(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let mut t = inp.text.trim();
    // File logs: the header parser takes the peer for a host name.
    if let Some(h) = inp.header.hostname {
        if set_peer(ev, h) {
            ev.fields.remove("host.hostname");
        }
    }
    let (first, rest) = word(t);
    if set_peer(ev, first) {
        t = rest;
    }
    let action;
    if t.contains("Peer Connection Initiated") {
        action = ("connected", "success");
        if let Some(u) = between(t, "[", "]") {
            if !u.starts_with("AF_INET") {
                set_str(ev, "user.name", u);
            }
        }
    } else if let Some(u) = between(t, "authentication succeeded for username '", "'") {
        set_str(ev, "user.name", u);
        action = ("login", "success");
    } else if t.contains("AUTH_FAILED")
        || t.contains("Auth Username/Password verification failed")
        || t.contains("--auth-user-pass-verify")
    {
        if let Some(u) = between(t, "username '", "'").or_else(|| between(t, "for username '", "'"))
        {
            set_str(ev, "user.name", u);
        }
        action = ("login-failed", "failure");
    } else if t.contains("TLS Error")
        || t.contains("TLS handshake failed")
        || t.contains("VERIFY ERROR")
    {
        action = ("tls-error", "failure");
    } else if let Some(a) = between(t, "pool returned IPv4=", ",")
        .or_else(|| crate::text::word_after(t, "pool returned IPv4="))
    {
        set_ip(ev, "mamori.vpn.assigned_ip", a);
        action = ("address-assigned", "success");
    } else if t.contains("client-instance exiting") || t.contains("Connection reset, restarting") {
        ev.set("event.category", vec!["network"]);
        ev.set("event.type", vec!["end"]);
        ev.set("event.action", "disconnected");
        return Outcome::Done;
    } else {
        return Outcome::NoMatch;
    }
    vpn_auth(ev, action.0, action.1);
    Outcome::Done
}

fn strongswan(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let mut t = inp.text.trim();
    // "10[IKE] ..." thread and subsystem prefix.
    if let Some((pre, rest)) = t.split_once("] ") {
        if pre.contains('[') && pre.len() < 12 {
            set_str(
                ev,
                "mamori.vpn.subsystem",
                pre.split('[').nth(1).unwrap_or(""),
            );
            t = rest;
        }
    }
    if t.starts_with("IKE_SA ") && t.contains(" established between ") {
        vpn_auth(ev, "ike-sa-established", "success");
        set_str(ev, "mamori.vpn.connection", word(&t[7..]).0);
        endpoints(ev, t.split(" established between ").nth(1).unwrap_or(""));
    } else if let Some(r) = t.strip_prefix("deleting IKE_SA ") {
        ev.set("event.category", vec!["network"]);
        ev.set("event.type", vec!["end"]);
        ev.set("event.action", "ike-sa-deleted");
        set_str(ev, "mamori.vpn.connection", word(r).0);
        endpoints(ev, t.split(" between ").nth(1).unwrap_or(""));
    } else if t.starts_with("CHILD_SA ") && t.contains(" established") {
        ev.set("event.category", vec!["network"]);
        ev.set("event.type", vec!["start"]);
        ev.set("event.action", "child-sa-established");
        set_str(ev, "mamori.vpn.connection", word(&t[9..]).0);
    } else if t.contains("authentication of '") && t.contains(" failed") {
        vpn_auth(ev, "authentication-failed", "failure");
        set_str(
            ev,
            "user.name",
            between(t, "authentication of '", "'").unwrap_or(""),
        );
    } else if t.contains("authentication of '") && t.contains(" successful") {
        vpn_auth(ev, "authentication", "success");
        set_str(
            ev,
            "user.name",
            between(t, "authentication of '", "'").unwrap_or(""),
        );
    } else if t.contains("AUTHENTICATION_FAILED")
        || (t.starts_with("EAP method ") && t.contains(" failed"))
    {
        vpn_auth(ev, "authentication-failed", "failure");
        if let Some(p) = crate::text::word_after(t, "for peer ") {
            set_ip(ev, "source.ip", p);
        }
    } else if let Some(r) = t.strip_suffix(" is initiating an IKE_SA") {
        ev.set("event.category", vec!["network"]);
        ev.set("event.type", vec!["start"]);
        ev.set("event.action", "ike-sa-initiating");
        set_ip(ev, "source.ip", r.trim());
    } else {
        return Outcome::NoMatch;
    }
    Outcome::Done
}

/// `10.0.0.1[local-id]...192.168.1.10[remote-id]`: local is the destination.
fn endpoints(ev: &mut Event, s: &str) {
    let Some((local, remote)) = s.split_once("...") else {
        return;
    };
    let (lip, _) = local.split_once('[').unwrap_or((local, ""));
    let (rip, rid) = remote.split_once('[').unwrap_or((remote, ""));
    set_ip(ev, "destination.ip", lip);
    set_ip(ev, "source.ip", rip);
    let rid = rid.split(']').next().unwrap_or("");
    if !rid.is_empty() && crate::text::ip(rid).is_none() {
        set_str(ev, "user.name", rid);
    }
}
