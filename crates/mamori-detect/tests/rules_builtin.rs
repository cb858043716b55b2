//! Every built-in log check in the repository's `rules/` folder: a positive and a negative
//! case, events built in code with the field names the mamori log parsers produce.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use mamori_core::{Alert, AlertState, Event, EventKind, Severity, Timestamp};
use mamori_detect::rules::{test_rules, RulesConfig, ThresholdRules};

/// Wednesday 2026-11-25 10:00:00 JST (business hours).
const T0: i64 = 1_795_654_800;

fn rules() -> &'static ThresholdRules {
    static R: OnceLock<ThresholdRules> = OnceLock::new();
    R.get_or_init(|| {
        let cfg = RulesConfig::from_toml_str(
            r#"
trap_accounts = ["decoy-admin"]
allowed_sudoers = ["alice"]
admin_hosts = ["10.0.0.250"]
proxy_addresses = ["10.0.0.3"]
"#,
            "t.toml",
        )
        .unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules");
        let (r, report) = ThresholdRules::load_dir(&dir, &cfg).unwrap();
        assert_eq!(report.errors(), 0);
        r
    })
}

fn at(secs: f64) -> Timestamp {
    Timestamp::from_unix_nanos(T0 * 1_000_000_000 + (secs * 1e9) as i64)
}

fn ev(secs: f64, dataset: &'static str, fields: &[(&'static str, &str)]) -> Event {
    let mut e = Event::new(at(secs), dataset);
    for (k, v) in fields {
        match v.parse::<i64>() {
            Ok(n) if !k.ends_with("event.code") => e.set(*k, n),
            _ => e.set(*k, *v),
        };
    }
    e
}

/// Engaged alerts of `id` raised over `events`.
fn fired(id: &str, events: &[Event]) -> Vec<Alert> {
    let (res, alerts) = test_rules(rules(), events);
    assert!(res.iter().any(|r| r.rule_id == id), "no rule {id}");
    alerts
        .into_iter()
        .filter(|a| a.rule_id == id && a.state == AlertState::Engaged)
        .collect()
}

fn ssh_fail(secs: f64, src: &str, user: &str) -> Event {
    let mut e = ev(
        secs,
        "sshd",
        &[
            ("event.action", "login-failed"),
            ("event.outcome", "failure"),
            ("source.ip", src),
            ("user.name", user),
            ("host.name", "srv1"),
        ],
    );
    e.set("event.category", vec!["authentication"]);
    e
}

fn ssh_ok(secs: f64, src: &str, user: &str) -> Event {
    let mut e = ev(
        secs,
        "sshd",
        &[
            ("event.action", "logged-in"),
            ("event.outcome", "success"),
            ("source.ip", src),
            ("user.name", user),
            ("host.name", "srv1"),
        ],
    );
    e.set("event.category", vec!["authentication"]);
    e
}

fn win(secs: f64, code: &str, fields: &[(&'static str, &str)]) -> Event {
    let mut e = ev(secs, "windows.security", fields);
    e.set("event.code", code);
    e
}

#[test]
fn bruteforce_per_source() {
    let evs: Vec<Event> = (0..10)
        .map(|i| ssh_fail(i as f64 * 10.0, "203.0.113.9", "root"))
        .collect();
    let a = fired("mamori.log.bruteforce_source", &evs);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].severity, Severity::High);
    assert_eq!(
        a[0].message,
        "10 failed logons from 203.0.113.9 within 5m (last user root)"
    );
    assert!(a[0]
        .message_ja
        .as_deref()
        .unwrap()
        .contains("203.0.113.9 から 5m 以内に 10 回"));
    assert_eq!(a[0].first_seen, at(0.0));
    assert_eq!(a[0].techniques[0], "T1110");
    // 9 failures, or 10 spread over more than 5 minutes: nothing.
    assert!(fired("mamori.log.bruteforce_source", &evs[..9]).is_empty());
    let slow: Vec<Event> = (0..10)
        .map(|i| ssh_fail(i as f64 * 40.0, "203.0.113.9", "root"))
        .collect();
    assert!(fired("mamori.log.bruteforce_source", &slow).is_empty());
    // Windows 4625 counts too.
    let w: Vec<Event> = (0..10)
        .map(|i| {
            win(
                i as f64,
                "4625",
                &[
                    ("event.outcome", "failure"),
                    ("source.ip", "10.1.1.1"),
                    ("user.name", "bob"),
                ],
            )
        })
        .collect();
    assert_eq!(fired("mamori.log.bruteforce_source", &w).len(), 1);
    // 4624 successes do not.
    let w: Vec<Event> = (0..10)
        .map(|i| {
            win(
                i as f64,
                "4624",
                &[("event.outcome", "success"), ("source.ip", "10.1.1.1")],
            )
        })
        .collect();
    assert!(fired("mamori.log.bruteforce_source", &w).is_empty());
}

#[test]
fn bruteforce_per_account_and_web_401() {
    let evs: Vec<Event> = (0..10)
        .map(|i| {
            ev(
                i as f64,
                "webserver",
                &[
                    ("http.response.status_code", "401"),
                    ("source.ip", &format!("198.51.100.{i}")),
                    ("user.name", "carol"),
                ],
            )
        })
        .collect();
    let a = fired("mamori.log.bruteforce_account", &evs);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].user_name.as_deref(), Some("carol"));
    // Different sources: the per-source rule stays quiet.
    assert!(fired("mamori.log.bruteforce_source", &evs).is_empty());
    // 200 answers are not failures.
    let ok: Vec<Event> = (0..10)
        .map(|i| {
            ev(
                i as f64,
                "webserver",
                &[
                    ("http.response.status_code", "200"),
                    ("source.ip", "198.51.100.1"),
                    ("user.name", "carol"),
                ],
            )
        })
        .collect();
    assert!(fired("mamori.log.bruteforce_account", &ok).is_empty());
}

#[test]
fn password_spraying() {
    let evs: Vec<Event> = (0..5)
        .map(|i| ssh_fail(i as f64, "203.0.113.5", &format!("user{i}")))
        .collect();
    let a = fired("mamori.log.password_spraying", &evs);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].message,
        "203.0.113.5 failed logons with 5 different accounts within 10m"
    );
    // Same account five times is not spraying.
    let same: Vec<Event> = (0..5)
        .map(|i| ssh_fail(i as f64, "203.0.113.5", "user1"))
        .collect();
    assert!(fired("mamori.log.password_spraying", &same).is_empty());
    // VPN failures count (category authentication).
    let vpn: Vec<Event> = (0..5)
        .map(|i| {
            let mut e = ev(
                i as f64,
                "vpn",
                &[
                    ("event.outcome", "failure"),
                    ("source.ip", "203.0.113.6"),
                    ("user.name", &format!("v{i}")),
                ],
            );
            e.set("event.category", vec!["authentication"]);
            e
        })
        .collect();
    assert_eq!(fired("mamori.log.password_spraying", &vpn).len(), 1);
}

#[test]
fn success_after_failures() {
    let mut evs: Vec<Event> = (0..5)
        .map(|i| ssh_fail(i as f64, "203.0.113.7", "admin"))
        .collect();
    evs.push(ssh_ok(60.0, "203.0.113.7", "admin"));
    let a = fired("mamori.log.success_after_failures", &evs);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].severity, Severity::Critical);
    assert_eq!(
        a[0].message,
        "203.0.113.7 logged on as admin after 5 failed logons within 10m"
    );
    // Four failures, a success from another source, or failures too long before: nothing.
    let mut four: Vec<Event> = (0..4)
        .map(|i| ssh_fail(i as f64, "203.0.113.7", "admin"))
        .collect();
    four.push(ssh_ok(60.0, "203.0.113.7", "admin"));
    assert!(fired("mamori.log.success_after_failures", &four).is_empty());
    let mut other = evs[..5].to_vec();
    other.push(ssh_ok(60.0, "203.0.113.8", "admin"));
    assert!(fired("mamori.log.success_after_failures", &other).is_empty());
    let mut old = evs[..5].to_vec();
    old.push(ssh_ok(700.0, "203.0.113.7", "admin"));
    assert!(fired("mamori.log.success_after_failures", &old).is_empty());
}

#[test]
fn trap_account() {
    let e = win(
        0.0,
        "4625",
        &[
            ("event.outcome", "failure"),
            ("user.name", "Decoy-Admin"),
            ("source.ip", "10.2.2.2"),
            ("host.name", "dc1"),
        ],
    );
    let a = fired("mamori.log.trap_account", &[e]);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].severity, Severity::Critical);
    assert!(a[0]
        .message
        .contains("decoy account Decoy-Admin from 10.2.2.2 on dc1"));
    let e = win(
        0.0,
        "4625",
        &[("event.outcome", "failure"), ("user.name", "decoy-admin2")],
    );
    assert!(fired("mamori.log.trap_account", &[e]).is_empty());
    // su to the decoy account (target user) counts too.
    let e = ev(
        0.0,
        "su",
        &[
            ("user.name", "bob"),
            ("user.target.name", "decoy-admin"),
            ("event.outcome", "failure"),
        ],
    );
    assert_eq!(fired("mamori.log.trap_account", &[e]).len(), 1);
}

#[test]
fn admin_logon_off_hours() {
    // 23:30 JST on a Wednesday.
    let night = ssh_ok(13.5 * 3600.0, "10.0.0.250", "root");
    assert_eq!(fired("mamori.log.admin_logon_off_hours", &[night]).len(), 1);
    let day = ssh_ok(3600.0, "10.0.0.250", "root");
    assert!(fired("mamori.log.admin_logon_off_hours", &[day]).is_empty());
    let night_user = ssh_ok(13.5 * 3600.0, "10.0.0.250", "alice");
    assert!(fired("mamori.log.admin_logon_off_hours", &[night_user]).is_empty());
    // Saturday noon is outside business hours too.
    let sat = win(
        3.0 * 86_400.0 + 7200.0,
        "4624",
        &[
            ("user.name", "Administrator"),
            ("winlog.logon.type", "RemoteInteractive"),
            ("host.name", "fs1"),
        ],
    );
    assert_eq!(fired("mamori.log.admin_logon_off_hours", &[sat]).len(), 1);
}

#[test]
fn admin_logon_unexpected_host() {
    assert_eq!(
        fired(
            "mamori.log.admin_logon_unexpected_host",
            &[ssh_ok(0.0, "10.0.0.77", "root")]
        )
        .len(),
        1
    );
    assert!(fired(
        "mamori.log.admin_logon_unexpected_host",
        &[ssh_ok(0.0, "10.0.0.250", "root")]
    )
    .is_empty());
    assert!(fired(
        "mamori.log.admin_logon_unexpected_host",
        &[ssh_ok(0.0, "127.0.0.1", "root")]
    )
    .is_empty());
}

#[test]
fn sudo_unlisted_user() {
    let e = ev(
        0.0,
        "sudo",
        &[
            ("user.name", "mallory"),
            ("user.target.name", "root"),
            ("process.command_line", "/bin/bash"),
            ("event.outcome", "success"),
            ("host.name", "srv1"),
        ],
    );
    let a = fired("mamori.log.sudo_unlisted_user", &[e]);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].message,
        "mallory ran sudo on srv1 as root: /bin/bash (success)"
    );
    // Syslog sources name the host in host.hostname.
    let e = ev(
        0.0,
        "sudo",
        &[
            ("user.name", "mallory"),
            ("host.hostname", "gw"),
            ("user.target.name", "root"),
        ],
    );
    let a = fired("mamori.log.sudo_unlisted_user", &[e]);
    assert!(
        a[0].message.starts_with("mallory ran sudo on gw as root"),
        "{}",
        a[0].message
    );
    assert_eq!(a[0].host_name.as_deref(), Some("gw"));
    let e = ev(
        0.0,
        "sudo",
        &[("user.name", "alice"), ("user.target.name", "root")],
    );
    assert!(fired("mamori.log.sudo_unlisted_user", &[e]).is_empty());
}

#[test]
fn account_and_group_changes_and_log_clearing() {
    let e = win(
        0.0,
        "4720",
        &[
            ("winlog.event_data.TargetUserName", "evil"),
            ("winlog.event_data.SubjectUserName", "admin"),
            ("host.name", "dc1"),
        ],
    );
    let a = fired("mamori.log.account_created", &[e]);
    assert_eq!(a[0].message, "account evil created by admin on dc1");
    for code in ["4728", "4732", "4756"] {
        let e = win(0.0, code, &[("winlog.event_data.MemberName", "CN=evil")]);
        assert_eq!(
            fired("mamori.log.group_membership_change", &[e]).len(),
            1,
            "{code}"
        );
    }
    assert!(fired(
        "mamori.log.group_membership_change",
        &[win(0.0, "4729", &[])]
    )
    .is_empty());
    assert_eq!(
        fired(
            "mamori.log.log_cleared",
            &[win(0.0, "1102", &[("host.name", "pc1")])]
        )
        .len(),
        1
    );
    let mut sys = ev(0.0, "windows.system", &[]);
    sys.set("event.code", "104");
    assert_eq!(fired("mamori.log.log_cleared", &[sys]).len(), 1);
    // 104 in the Security channel is something else.
    assert!(fired("mamori.log.log_cleared", &[win(0.0, "104", &[])]).is_empty());
}

#[test]
fn remote_service_created() {
    let mut sys = ev(
        0.0,
        "windows.system",
        &[
            ("winlog.event_data.ServiceName", "PSEXESVC"),
            ("winlog.event_data.ImagePath", "%SystemRoot%\\PSEXESVC.exe"),
            ("host.name", "pc9"),
        ],
    );
    sys.set("event.code", "7045");
    let a = fired("mamori.log.remote_service_created", &[sys]);
    assert_eq!(
        a[0].message,
        "service PSEXESVC installed on pc9: %SystemRoot%\\PSEXESVC.exe"
    );
    assert_eq!(
        fired(
            "mamori.log.remote_service_created",
            &[win(0.0, "4697", &[])]
        )
        .len(),
        1
    );
    assert!(fired(
        "mamori.log.remote_service_created",
        &[win(0.0, "7045", &[])]
    )
    .is_empty());
}

#[test]
fn lateral_logons() {
    let mk = |i: usize, user: &str, ty: &str| {
        let mut e = win(
            i as f64 * 30.0,
            "4624",
            &[
                ("user.name", user),
                ("winlog.logon.type", ty),
                ("source.ip", "10.0.5.5"),
            ],
        );
        e.set("host.name", format!("pc{i}"));
        e
    };
    let evs: Vec<Event> = (0..5).map(|i| mk(i, "svc-backup", "Network")).collect();
    let a = fired("mamori.log.lateral_logons", &evs);
    assert_eq!(a.len(), 1);
    assert!(a[0]
        .message
        .starts_with("svc-backup logged on to 5 hosts within 10m"));
    assert!(fired("mamori.log.lateral_logons", &evs[..4]).is_empty());
    let machine: Vec<Event> = (0..5).map(|i| mk(i, "PC01$", "Network")).collect();
    assert!(fired("mamori.log.lateral_logons", &machine).is_empty());
    let interactive: Vec<Event> = (0..5).map(|i| mk(i, "svc-backup", "Interactive")).collect();
    assert!(fired("mamori.log.lateral_logons", &interactive).is_empty());
}

fn squid(secs: f64, fields: &[(&'static str, &str)]) -> Event {
    let mut e = ev(secs, "squid", fields);
    if e.get("event.action").is_none() {
        e.set("event.action", "allow");
    }
    e
}

#[test]
fn proxy_checks() {
    let evs: Vec<Event> = (0..20)
        .map(|i| {
            squid(
                i as f64,
                &[
                    ("source.ip", "10.0.1.5"),
                    ("http.response.status_code", "407"),
                    ("url.original", "http://x.example/"),
                ],
            )
        })
        .collect();
    assert_eq!(fired("mamori.log.proxy_auth_failures", &evs).len(), 1);
    assert!(fired("mamori.log.proxy_auth_failures", &evs[..19]).is_empty());

    let c = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("http.request.method", "CONNECT"),
            ("url.original", "evil.example:8443"),
        ],
    );
    assert_eq!(
        fired("mamori.log.proxy_connect_nonstandard_port", &[c]).len(),
        1
    );
    let c = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("http.request.method", "CONNECT"),
            ("url.original", "www.example.jp:443"),
        ],
    );
    assert!(fired("mamori.log.proxy_connect_nonstandard_port", &[c]).is_empty());

    let d = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("url.original", "http://203.0.113.50:8080/a.bin"),
            ("url.domain", "203.0.113.50"),
        ],
    );
    assert_eq!(fired("mamori.log.proxy_direct_ip", &[d]).len(), 1);
    let d = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("url.original", "http://www.example.jp/a"),
            ("url.domain", "www.example.jp"),
        ],
    );
    assert!(fired("mamori.log.proxy_direct_ip", &[d]).is_empty());
    let d = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("url.original", "http://192.168.1.1/"),
            ("url.domain", "192.168.1.1"),
        ],
    );
    assert!(fired("mamori.log.proxy_direct_ip", &[d]).is_empty());

    let u = ev(
        0.0,
        "webserver",
        &[
            ("source.ip", "198.51.100.4"),
            ("user_agent.original", "-"),
            ("url.original", "/login"),
        ],
    );
    assert_eq!(fired("mamori.log.http_missing_user_agent", &[u]).len(), 1);
    let u = ev(
        0.0,
        "webserver",
        &[
            ("source.ip", "198.51.100.4"),
            ("user_agent.original", "Mozilla/5.0"),
            ("url.original", "/"),
        ],
    );
    assert!(fired(
        "mamori.log.http_missing_user_agent",
        std::slice::from_ref(&u)
    )
    .is_empty());
    assert!(fired("mamori.log.http_scripted_user_agent", &[u]).is_empty());
    // Combined log format with "-" as User-Agent: the parser drops the field, the referrer
    // shows the format logs it.
    let u = ev(
        0.0,
        "webserver",
        &[
            ("source.ip", "198.51.100.4"),
            ("http.request.referrer", "http://a.example/"),
        ],
    );
    assert_eq!(fired("mamori.log.http_missing_user_agent", &[u]).len(), 1);
    let u = ev(0.0, "webserver", &[("source.ip", "198.51.100.4")]);
    assert!(fired("mamori.log.http_missing_user_agent", &[u]).is_empty());
    let u = ev(
        0.0,
        "webserver",
        &[
            ("source.ip", "198.51.100.4"),
            ("user_agent.original", "python-requests/2.31"),
        ],
    );
    assert_eq!(fired("mamori.log.http_scripted_user_agent", &[u]).len(), 1);
}

#[test]
fn cc_reconnect_after_cut() {
    let cut = |s: f64| {
        squid(
            s,
            &[
                ("source.ip", "10.0.1.9"),
                ("url.domain", "c2.example"),
                ("event.action", "deny"),
            ],
        )
    };
    let evs = vec![
        cut(0.0),
        cut(20.0),
        cut(40.0),
        squid(
            50.0,
            &[("source.ip", "10.0.1.9"), ("url.domain", "c2.example")],
        ),
    ];
    let a = fired("mamori.log.proxy_cc_reconnect", &evs);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].message,
        "10.0.1.9 reconnected to c2.example after 3 cuts within 2m"
    );
    // Two cuts, or a different destination: nothing.
    assert!(fired(
        "mamori.log.proxy_cc_reconnect",
        &[
            cut(0.0),
            cut(20.0),
            squid(
                30.0,
                &[("source.ip", "10.0.1.9"), ("url.domain", "c2.example")]
            )
        ]
    )
    .is_empty());
    let other = vec![
        cut(0.0),
        cut(20.0),
        cut(40.0),
        squid(
            50.0,
            &[("source.ip", "10.0.1.9"), ("url.domain", "www.example.jp")],
        ),
    ];
    assert!(fired("mamori.log.proxy_cc_reconnect", &other).is_empty());
}

#[test]
fn uploads_and_downloads() {
    let up = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("http.request.method", "POST"),
            ("http.request.bytes", "60000000"),
            ("url.domain", "files.example"),
        ],
    );
    assert_eq!(
        fired("mamori.log.large_upload", &[up])[0].message,
        "10.0.1.5 uploaded 60000000 bytes to files.example"
    );
    let small = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("http.request.method", "POST"),
            ("http.request.bytes", "6000"),
        ],
    );
    assert!(fired("mamori.log.large_upload", &[small]).is_empty());
    let fw = ev(
        0.0,
        "firewall",
        &[
            ("source.ip", "10.0.1.5"),
            ("destination.ip", "203.0.113.80"),
            ("destination.port", "22"),
            ("source.bytes", "80000000"),
            ("event.action", "allow"),
        ],
    );
    assert_eq!(fired("mamori.log.large_outbound_transfer", &[fw]).len(), 1);
    let internal = ev(
        0.0,
        "firewall",
        &[
            ("source.ip", "10.0.1.5"),
            ("destination.ip", "10.0.9.9"),
            ("source.bytes", "80000000"),
        ],
    );
    assert!(fired("mamori.log.large_outbound_transfer", &[internal]).is_empty());

    let exe = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("url.original", "http://dl.example/setup.EXE?x=1"),
        ],
    );
    assert_eq!(fired("mamori.log.executable_download", &[exe]).len(), 1);
    let mime = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("url.original", "http://dl.example/get"),
            ("http.response.mime_type", "application/x-msdownload"),
        ],
    );
    assert_eq!(fired("mamori.log.executable_download", &[mime]).len(), 1);
    let page = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("url.original", "http://dl.example/exe.html"),
        ],
    );
    assert!(fired("mamori.log.executable_download", &[page]).is_empty());
    let denied = squid(
        0.0,
        &[
            ("source.ip", "10.0.1.5"),
            ("url.original", "http://dl.example/a.exe"),
            ("event.action", "deny"),
        ],
    );
    assert!(fired("mamori.log.executable_download", &[denied]).is_empty());
}

fn fw(secs: f64, src: &str, dst: &str, port: u16, action: &str) -> Event {
    let mut e = ev(
        secs,
        "firewall",
        &[
            ("source.ip", src),
            ("destination.ip", dst),
            ("event.action", action),
        ],
    );
    e.set("destination.port", port);
    e
}

#[test]
fn firewall_checks() {
    let scan: Vec<Event> = (0..10)
        .map(|i| fw(i as f64, "198.51.100.7", "10.0.0.5", 20 + i as u16, "deny"))
        .collect();
    let a = fired("mamori.log.fw_port_scan", &scan);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].fields
            .get("mamori.rule.distinct")
            .and_then(|v| v.as_i64()),
        Some(10)
    );
    let same_port: Vec<Event> = (0..10)
        .map(|i| fw(i as f64, "198.51.100.7", "10.0.0.5", 22, "deny"))
        .collect();
    assert!(fired("mamori.log.fw_port_scan", &same_port).is_empty());
    let allowed: Vec<Event> = (0..10)
        .map(|i| fw(i as f64, "198.51.100.7", "10.0.0.5", 20 + i as u16, "allow"))
        .collect();
    assert!(fired("mamori.log.fw_port_scan", &allowed).is_empty());

    let burst: Vec<Event> = (0..100)
        .map(|i| fw(i as f64 * 0.5, "198.51.100.8", "10.0.0.5", 445, "deny"))
        .collect();
    assert_eq!(fired("mamori.log.fw_denied_burst", &burst).len(), 1);
    assert!(fired("mamori.log.fw_denied_burst", &burst[..99]).is_empty());

    assert_eq!(
        fired(
            "mamori.log.fw_proxy_bypass",
            &[fw(0.0, "10.0.1.5", "203.0.113.10", 443, "allow")]
        )
        .len(),
        1
    );
    assert!(fired(
        "mamori.log.fw_proxy_bypass",
        &[fw(0.0, "10.0.0.3", "203.0.113.10", 443, "allow")]
    )
    .is_empty());
    assert!(fired(
        "mamori.log.fw_proxy_bypass",
        &[fw(0.0, "10.0.1.5", "10.0.2.10", 443, "allow")]
    )
    .is_empty());
    assert!(fired(
        "mamori.log.fw_proxy_bypass",
        &[fw(0.0, "10.0.1.5", "203.0.113.10", 22, "allow")]
    )
    .is_empty());
}

fn dns(secs: f64, src: &str, name: &str, rcode: &str) -> Event {
    ev(
        secs,
        "dns",
        &[
            ("source.ip", src),
            ("dns.question.name", name),
            ("dns.response_code", rcode),
        ],
    )
}

#[test]
fn dns_checks() {
    let long = format!("{}.t.example.com", "a1b2c3d4e5".repeat(10));
    let evs: Vec<Event> = (0..5)
        .map(|i| dns(i as f64, "10.0.1.5", &format!("{i}{long}"), "NOERROR"))
        .collect();
    assert_eq!(fired("mamori.log.dns_long_names", &evs).len(), 1);
    let short: Vec<Event> = (0..5)
        .map(|i| dns(i as f64, "10.0.1.5", "www.example.com", "NOERROR"))
        .collect();
    assert!(fired("mamori.log.dns_long_names", &short).is_empty());

    let dga = [
        "xjw7qzk3vbn9pl.com",
        "qpz8rtk2mnbv5x.net",
        "zk4vnm7qw9trxp.org",
        "mnq3zx8vbk2wtr.com",
        "vbx9kq2zm7ntrw.info",
    ];
    let evs: Vec<Event> = dga
        .iter()
        .enumerate()
        .map(|(i, n)| dns(i as f64, "10.0.1.6", n, "NXDOMAIN"))
        .collect();
    assert_eq!(fired("mamori.log.dns_dga", &evs).len(), 1);
    let normal = [
        "www.google.com",
        "mail.yahoo.co.jp",
        "www.microsoft.com",
        "update.example.com",
        "news.example.jp",
    ];
    let evs: Vec<Event> = normal
        .iter()
        .enumerate()
        .map(|(i, n)| dns(i as f64, "10.0.1.6", n, "NOERROR"))
        .collect();
    assert!(fired("mamori.log.dns_dga", &evs).is_empty());

    let nx: Vec<Event> = (0..50)
        .map(|i| dns(i as f64, "10.0.1.7", "nope.example", "NXDOMAIN"))
        .collect();
    assert_eq!(fired("mamori.log.dns_nxdomain_burst", &nx).len(), 1);
    assert!(fired("mamori.log.dns_nxdomain_burst", &nx[..49]).is_empty());
}

#[test]
fn log_health() {
    // Source A logs every minute for 10 minutes, then stops; B continues for an hour.
    let mut evs = Vec::new();
    for m in 0..60 {
        if m < 10 {
            evs.push(ev(
                m as f64 * 60.0,
                "syslog",
                &[("mamori.log.source", "udp:10.0.0.1")],
            ));
        }
        evs.push(ev(
            m as f64 * 60.0 + 1.0,
            "syslog",
            &[("mamori.log.source", "udp:10.0.0.2")],
        ));
    }
    let a = fired("mamori.log.source_silent", &evs);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].message,
        "no log from udp:10.0.0.1 for 15m1s (expected every 15m)"
    );
    assert!(a[0].message_ja.as_deref().unwrap().contains("15m1s 途絶"));
    // A source that keeps sending is never reported.
    let steady: Vec<Event> = (0..60)
        .map(|m| {
            ev(
                m as f64 * 60.0,
                "syslog",
                &[("mamori.log.source", "udp:10.0.0.2")],
            )
        })
        .collect();
    assert!(fired("mamori.log.source_silent", &steady).is_empty());

    let skew = ev(
        0.0,
        "sshd",
        &[
            ("mamori.log.source", "udp:10.0.0.1"),
            ("mamori.log.clock_skew_ms", "-400000"),
        ],
    );
    assert_eq!(fired("mamori.log.clock_skew", &[skew]).len(), 1);
    let fine = ev(
        0.0,
        "sshd",
        &[
            ("mamori.log.source", "udp:10.0.0.1"),
            ("mamori.log.clock_skew_ms", "2000"),
        ],
    );
    assert!(fired("mamori.log.clock_skew", &[fine]).is_empty());

    let lines = |errors: usize| -> Vec<Event> {
        (0..100)
            .map(|i| {
                let mut e = ev(i as f64, "syslog", &[("mamori.log.source", "udp:10.0.0.3")]);
                if i % 100 < errors {
                    e.set("mamori.parse_error", true);
                }
                e
            })
            .collect()
    };
    let a = fired("mamori.log.parse_error_rate", &lines(10));
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(
        a[0].message
            .starts_with("10.0 % of 100 lines from udp:10.0.0.3"),
        "{}",
        a[0].message
    );
    assert!(fired("mamori.log.parse_error_rate", &lines(4)).is_empty());
}

#[test]
fn network_alert_then_logon() {
    let mut alert = Event::new(at(0.0), "alert").with_kind(EventKind::Alert);
    alert
        .set("rule.id", "mamori.net.port_scan")
        .set("source.ip", "198.51.100.20");
    let evs = vec![alert.clone(), ssh_ok(600.0, "198.51.100.20", "bob")];
    let a = fired("mamori.log.alerted_ip_logon", &evs);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].message,
        "198.51.100.20 logged on as bob to srv1 after raising a network alert"
    );
    // Logon more than an hour later, or from another address: nothing.
    assert!(fired(
        "mamori.log.alerted_ip_logon",
        &[alert.clone(), ssh_ok(3700.0, "198.51.100.20", "bob")]
    )
    .is_empty());
    assert!(fired(
        "mamori.log.alerted_ip_logon",
        &[alert, ssh_ok(60.0, "198.51.100.21", "bob")]
    )
    .is_empty());
    // A log-rule alert (not mamori.net.*) does not count.
    let mut own = Event::new(at(0.0), "alert").with_kind(EventKind::Alert);
    own.set("rule.id", "mamori.log.clock_skew")
        .set("source.ip", "198.51.100.20");
    assert!(fired(
        "mamori.log.alerted_ip_logon",
        &[own, ssh_ok(60.0, "198.51.100.20", "bob")]
    )
    .is_empty());
}

#[test]
fn every_builtin_rule_is_tested_here() {
    let src = include_str!("rules_builtin.rs");
    for r in rules().rules() {
        assert!(
            src.contains(&format!("\"{}\"", r.id)),
            "no test for {}",
            r.id
        );
    }
}

#[test]
fn embedded_builtin_rules_all_load_without_errors() {
    let cfg = mamori_detect::rules::RulesConfig::default();
    let (rules, report) =
        mamori_detect::rules::ThresholdRules::load_texts(mamori_detect::rules::BUILTIN_RULES, &cfg)
            .unwrap();
    assert_eq!(report.errors(), 0, "{:?}", report.entries);
    // Rules that need a configured list (trap accounts, proxies…) load inactive.
    assert!(
        report.loaded() + report.inactive() >= 30,
        "only {} + {} built-in rules",
        report.loaded(),
        report.inactive()
    );
    assert!(
        rules.rules().len() >= 25,
        "only {} active",
        rules.rules().len()
    );
}
