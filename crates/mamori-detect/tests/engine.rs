#![allow(clippy::unwrap_used)] // tests: a panic is the failure report
//! Engine behaviour: config errors, exclusions, authorised scanners, lifecycle, host score,
//! determinism, intel list parsing and robustness against malformed events.

mod common;

use std::time::Instant;

use common::*;
use mamori_core::{AlertState, Event, Severity, Timestamp, Value};
use mamori_detect::{CheckId, ConfigError, DetectConfig, Engine, Intel, IntelSource, ListFormat};

fn scan(src: &str, dst: &str, ports: u16, t0: f64) -> Vec<Event> {
    (0..ports)
        .map(|p| {
            flow(src, 40000, dst, 1 + p, "tcp")
                .state("rejected")
                .at(t0 + f64::from(p) * 0.1)
                .ev()
        })
        .collect()
}

#[test]
fn config_toml_errors_keep_line_and_column() {
    let err =
        DetectConfig::from_toml_str("host_score_threshold = 10\n[checks.port_scan\n", "m.toml")
            .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("m.toml: "), "{text}");
    assert!(text.contains("line 2"), "{text}");
}

#[test]
fn config_semantic_errors_name_key_and_line() {
    let cases: &[(&str, &str)] = &[
        ("\n\n[checks.port_scann]\nenabled = false\n", "m.toml:3: checks.port_scann: unknown check"),
        ("[checks.port_scan]\nthresholds = { min_portz = 3 }\n", "m.toml:2: checks.port_scan.thresholds.min_portz: unknown threshold (known: window_secs, min_ports, min_failed_pct)"),
        ("[checks.port_scan]\nseverity = \"urgent\"\n", "m.toml:2: checks.port_scan.severity: \"urgent\" is not a severity"),
        ("allowed_dns_servers = [\"10.0.0.53\", \"not-an-ip\"]\n", "m.toml:1: allowed_dns_servers[1]: \"not-an-ip\" is not an IP address or CIDR"),
        ("[[authorized_scanners]]\nsource = \"10.0.0.5\"\nwindows = [{ daily = \"22:00-04:00\", zone = \"Mars/Olympus\" }]\n", "m.toml:3: authorized_scanners[0].windows[0]: unsupported zone"),
        ("[checks.dns_tunnel.exclude]\ndomains = [\"*.ex*ample.jp\"]\n", "m.toml:2: checks.dns_tunnel.exclude.domains[0]"),
        ("[checks.port_scan]\nthresholds = { min_ports = -1 }\n", "checks.port_scan.thresholds.min_ports: -1 must be a finite number"),
    ];
    for (src, want) in cases {
        let e = DetectConfig::from_toml_str(src, "m.toml").unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { .. }), "{e}");
        assert!(e.to_string().contains(want), "{e} ≠ {want}");
    }
    let e =
        DetectConfig::from_toml_str("[checks.port_scan]\nenabeld = true\n", "m.toml").unwrap_err();
    assert!(e.to_string().contains("unknown field `enabeld`"), "{e}");
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = DetectConfig::from_toml_str("colour = 1\n", "m.toml").unwrap_err();
    assert!(e.to_string().contains("unknown field `colour`"), "{e}");
}

#[test]
fn every_catalogue_threshold_is_configurable() {
    let mut toml = String::new();
    for c in mamori_detect::catalogue() {
        toml.push_str(&format!(
            "[checks.{:?}]\nenabled = true\nseverity = \"{}\"\n",
            c.id,
            c.severity.as_str()
        ));
        if !c.thresholds.is_empty() {
            let t: Vec<String> = c
                .thresholds
                .iter()
                .map(|t| format!("{} = {}", t.name, t.default))
                .collect();
            toml.push_str(&format!("thresholds = {{ {} }}\n", t.join(", ")));
        }
    }
    let cfg = DetectConfig::from_toml_str(&toml, "all.toml").unwrap();
    assert_eq!(cfg.checks.len(), mamori_detect::catalogue().len());
    Engine::new(cfg, Intel::empty()).unwrap();
}

#[test]
fn disabled_check_and_severity_override() {
    let mut e = engine("[checks.port_scan]\nenabled = false\n");
    let a = run(&mut e, scan("10.0.0.5", "10.0.0.9", 100, 0.0));
    assert!(engaged(&a, "mamori.net.port_scan").is_empty());
    assert_eq!(e.check_counters(CheckId::PortScan).evaluated, 0);
    let mut e = engine("[checks.\"mamori.net.port_scan\"]\nseverity = \"critical\"\n");
    let a = run(&mut e, scan("10.0.0.5", "10.0.0.9", 100, 0.0));
    assert_eq!(
        engaged(&a, "mamori.net.port_scan")[0].severity,
        Severity::Critical
    );
}

#[test]
fn exclusions_by_every_selector() {
    let selectors = [
        "sources = [\"10.0.0.5\"]",
        "sources = [\"10.0.0.0/24\"]",
        "destinations = [\"10.0.0.9\"]",
        "hosts = [\"10.0.0.9\"]",
        "pairs = [[\"10.0.0.5\", \"10.0.0.0/28\"]]",
    ];
    for sel in selectors {
        let mut e = engine(&format!("[checks.port_scan.exclude]\n{sel}\n"));
        let a = run(&mut e, scan("10.0.0.5", "10.0.0.9", 100, 0.0));
        assert!(engaged(&a, "mamori.net.port_scan").is_empty(), "{sel}");
        assert!(e.check_counters(CheckId::PortScan).excluded > 0, "{sel}");
    }
    // A pair that does not match keeps the alert.
    let mut e = engine("[checks.port_scan.exclude]\npairs = [[\"10.0.0.9\", \"10.0.0.5\"]]\n");
    assert_eq!(
        engaged(
            &run(&mut e, scan("10.0.0.5", "10.0.0.9", 100, 0.0)),
            "mamori.net.port_scan"
        )
        .len(),
        1
    );

    // Port exclusion.
    let mut e = engine("[checks.remote_access.exclude]\nports = [3389]\n");
    let a = run(
        &mut e,
        [flow("203.0.113.5", 40000, "10.0.0.33", 3389, "tcp")
            .proto("rdp")
            .ev()],
    );
    assert!(a.is_empty());

    // Domain wildcard and exact.
    let q = |name: &str| {
        rec("dns", "10.0.0.7", "10.0.0.53", 53)
            .set("dns.question.name", name.to_owned())
            .set("dns.question.type", "ANY")
            .ev()
    };
    let mut e = engine(
        "[checks.dns_suspicious_type.exclude]\ndomains = [\"*.example.jp\", \"exact.example\"]\n",
    );
    let a = run(
        &mut e,
        [
            q("a.example.jp"),
            q("exact.example"),
            q("example.jp"),
            q("sub.exact.example"),
        ],
    );
    let en = engaged(&a, "mamori.net.dns_suspicious_type");
    let names: Vec<&str> = en.iter().map(|x| x.message.as_str()).collect();
    // Both remaining queries share the (client, server, type) alert key: one alert, count 2.
    assert_eq!(en.len(), 1, "{names:?}");
    assert_eq!(past(&a, "mamori.net.dns_suspicious_type")[0].count, 2);
    assert!(past(&a, "mamori.net.dns_suspicious_type")[0]
        .message
        .contains("sub.exact.example"));
    assert_eq!(e.check_counters(CheckId::DnsSuspiciousType).excluded, 2);
}

#[test]
fn authorised_scanner_is_suppressed_and_recorded() {
    let mut e = engine("[[authorized_scanners]]\nsource = \"10.0.0.5\"\n");
    let a = run(&mut e, scan("10.0.0.5", "10.0.0.9", 200, 0.0));
    assert!(engaged(&a, "mamori.net.port_scan").is_empty());
    let all = engaged(&a, "mamori.net.authorized_scan");
    // One record per scanner and suppressed rule (port scan, unanswered scan, refused burst).
    assert_eq!(all.len(), 3);
    let rec: Vec<_> = all
        .into_iter()
        .filter(|r| r.message.contains("port_scan"))
        .collect();
    assert_eq!(rec[0].severity, Severity::Low);
    assert!(
        rec[0]
            .message
            .starts_with("authorised scanner 10.0.0.5: 10.0.0.5 probed 25 TCP ports"),
        "{}",
        rec[0].message
    );
    assert_eq!(
        rec[0].fields.get("mamori.suppressed.rule_id"),
        Some(&Value::Str("mamori.net.port_scan".into()))
    );
    assert!(e.check_counters(CheckId::PortScan).suppressed > 0);
    // Another source still alerts.
    let mut e = engine("[[authorized_scanners]]\nsource = \"10.0.0.5\"\n");
    assert_eq!(
        engaged(
            &run(&mut e, scan("10.0.0.6", "10.0.0.9", 200, 0.0)),
            "mamori.net.port_scan"
        )
        .len(),
        1
    );
    // Non-scan checks are not suppressed for the scanner.
    let mut e = engine("[[authorized_scanners]]\nsource = \"10.0.0.5\"\n");
    let a = run(
        &mut e,
        [flow("10.0.0.5", 40000, "10.0.0.23", 23, "tcp").ev()],
    );
    assert_eq!(engaged(&a, "mamori.net.insecure_protocol").len(), 1);
}

#[test]
fn authorised_scanner_time_windows() {
    // T0 = 2023-11-14T22:13:20Z = 07:13 JST.
    let inside = "[[authorized_scanners]]\nsource = \"10.0.0.0/24\"\nwindows = [{ daily = \"07:00-08:00\", zone = \"Asia/Tokyo\" }]\n";
    let mut e = engine(inside);
    assert!(engaged(
        &run(&mut e, scan("10.0.0.5", "10.0.0.9", 100, 0.0)),
        "mamori.net.port_scan"
    )
    .is_empty());
    let outside = "[[authorized_scanners]]\nsource = \"10.0.0.0/24\"\nwindows = [{ daily = \"22:00-04:00\", zone = \"+09:00\" }]\n";
    let mut e = engine(outside);
    assert_eq!(
        engaged(
            &run(&mut e, scan("10.0.0.5", "10.0.0.9", 100, 0.0)),
            "mamori.net.port_scan"
        )
        .len(),
        1
    );
    let absolute = "[[authorized_scanners]]\nsource = \"10.0.0.5\"\nwindows = [{ from = \"2023-11-14T22:00:00Z\", to = \"2023-11-14T23:00:00Z\" }]\n";
    let mut e = engine(absolute);
    assert!(engaged(
        &run(&mut e, scan("10.0.0.5", "10.0.0.9", 100, 0.0)),
        "mamori.net.port_scan"
    )
    .is_empty());
}

#[test]
fn lifecycle_engaged_then_past_then_new() {
    let mut e = engine(
        "[checks.unanswered_scan]\nenabled = false\n[checks.conn_refused_burst]\nenabled = false\n",
    );
    let mut out = Vec::new();
    for ev in scan("10.0.0.5", "10.0.0.9", 100, 0.0) {
        e.process(&ev, &mut out);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].state, AlertState::Engaged);
    assert_eq!(out[0].count, 1);
    // Still inside the window: nothing ends.
    e.advance(ts(200.0), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(e.open_alerts(), 1);
    // After the window (300 s) from the last hit (≈ 9.9 s) the alert turns past.
    e.advance(ts(311.0), &mut out);
    let p: Vec<_> = out.iter().filter(|a| a.state == AlertState::Past).collect();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].count, 76);
    assert_eq!(p[0].first_seen, ts(2.4));
    assert_eq!(p[0].last_seen, ts(9.9));
    assert_eq!(e.open_alerts(), 0);
    // A new scan later is a new alert.
    for ev in scan("10.0.0.5", "10.0.0.9", 30, 1000.0) {
        e.process(&ev, &mut out);
    }
    assert_eq!(
        out.iter()
            .filter(|a| a.state == AlertState::Engaged)
            .count(),
        2
    );
    let json = out[0].to_event().to_json();
    assert_eq!(json["mamori"]["alert"]["key"], "10.0.0.5>10.0.0.9");
    assert_eq!(json["rule"]["id"], "mamori.net.port_scan");
}

#[test]
fn host_score_and_dangerous_host() {
    let mut e = engine("host_score_threshold = 250\n");
    let mut out = Vec::new();
    // Three high-severity alerts from 10.0.0.5 within one minute.
    let evs: Vec<Event> = scan("10.0.0.5", "10.0.0.9", 40, 0.0)
        .into_iter()
        .chain(scan("10.0.0.5", "10.0.0.10", 40, 5.0))
        .chain(scan("10.0.0.5", "10.0.0.11", 40, 10.0))
        .collect();
    for ev in &evs {
        e.process(ev, &mut out);
    }
    e.advance(ts(125.0), &mut out);
    let scores = e.drain_host_scores();
    let attacker = scores
        .iter()
        .find(|s| s.ip == "10.0.0.5".parse::<std::net::IpAddr>().unwrap())
        .unwrap();
    // Three port scans (high, 100 each), one unanswered scan (medium, 30) and three
    // refused bursts (low, 10 each).
    assert_eq!(attacker.as_attacker, 300 + 30 + 30);
    let victim = scores
        .iter()
        .find(|s| s.ip == "10.0.0.9".parse::<std::net::IpAddr>().unwrap())
        .unwrap();
    assert_eq!(victim.as_victim, 100 + 10, "port scan + refused burst");
    let d = engaged(&out, "mamori.net.dangerous_host");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].source_ip, "10.0.0.5".parse().ok());
    assert!(
        d[0].message
            .starts_with("10.0.0.5 scored 360 points in the minute"),
        "{}",
        d[0].message
    );

    let mut e = engine(NONE);
    let a = run(&mut e, scan("10.0.0.5", "10.0.0.9", 40, 0.0));
    assert!(engaged(&a, "mamori.net.dangerous_host").is_empty());
}

#[test]
fn same_input_same_output() {
    let mut evs: Vec<Event> = Vec::new();
    for i in 0..300u32 {
        let src = format!("10.0.0.{}", i % 5);
        evs.push(
            flow(
                &src,
                40000,
                &format!("10.1.0.{}", i % 3),
                i as u16 + 1,
                "tcp",
            )
            .state(if i % 3 == 0 { "rejected" } else { "no_reply" })
            .at(f64::from(i) * 0.2)
            .ev(),
        );
        evs.push(
            rec("dns", &src, "10.0.0.53", 53)
                .set("dns.question.name", format!("x{i}.t.example"))
                .set("dns.question.type", "TXT")
                .set("dns.response_code", "NXDOMAIN")
                .at(f64::from(i) * 0.2)
                .ev(),
        );
    }
    let once = |evs: &[Event]| {
        let mut e = engine("host_score_threshold = 50\n");
        let mut out = Vec::new();
        for (i, ev) in evs.iter().enumerate() {
            e.process(ev, &mut out);
            if i % 50 == 0 {
                e.advance(ev.timestamp, &mut out);
            }
        }
        e.finish(&mut out);
        (out, e.drain_host_scores())
    };
    let (a, sa) = once(&evs);
    let (b, sb) = once(&evs);
    assert!(a.len() > 5);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
}

#[test]
fn malformed_events_never_panic() {
    let mut e = engine_intel(NONE, &[("l", "evil.example\n10.9.9.9\n")]);
    let mut out = Vec::new();
    let garbage = [
        Value::Str("".into()),
        Value::Str("\u{0}\u{ffff}%%%%".into()),
        Value::Int(-1),
        Value::Int(i64::MAX),
        Value::Float(f64::NAN),
        Value::Bool(true),
        Value::List(vec![Value::Int(1), Value::Str("x".into())]),
        Value::Time(Timestamp::MIN),
    ];
    let fields = [
        "source.ip",
        "destination.ip",
        "destination.port",
        "source.port",
        "network.transport",
        "mamori.flow.state",
        "source.bytes",
        "destination.packets",
        "event.start",
        "event.end",
        "dns.question.name",
        "dns.question.type",
        "dns.response_code",
        "url.original",
        "url.domain",
        "user_agent.original",
        "tls.client.server_name",
        "tls.server.x509.not_after",
        "mamori.tls.alpn",
        "mamori.dhcp.message_type",
        "mamori.snmp.version",
        "tls.server.hash.sha1",
        "mamori.flow.tcp_flags",
    ];
    for ds in [
        "flow", "dns", "http", "tls", "dhcp", "smb", "snmp", "ldap", "ftp", "quic", "other",
    ] {
        for (i, g) in garbage.iter().enumerate() {
            let mut ev = rec(ds, "10.0.0.1", "10.0.0.2", 80).ev();
            ev.timestamp = if i % 2 == 0 {
                Timestamp::MIN
            } else {
                Timestamp::MAX
            };
            for f in fields {
                ev.set(f, g.clone());
            }
            e.process(&ev, &mut out);
            let mut ev2 = rec(ds, "10.0.0.1", "10.0.0.2", 80).ev();
            ev2.set(fields[i % fields.len()], g.clone());
            e.process(&ev2, &mut out);
        }
    }
    e.advance(Timestamp::MAX, &mut out);
    e.finish(&mut out);
    assert_eq!(e.open_alerts(), 0);
}

// ---------- intel lists ----------

#[test]
fn intel_plain_list_detects_kinds_and_counts_rejects() {
    let text = "# feed header\n\n198.51.100.1\n203.0.113.0/24 ; SBL123\n2001:db8::/32\nevil.example # trailing\n*.wild.example\nhttp://bad.example/x.php?id=1\nbad2.example/gate.php\n192.0.2.1:8080\ne7d705a3286e19ea42f587b344ee6865\nt13d1516h2_8daaf6152771_02713d6af862\nABCDEF0123456789ABCDEF0123456789ABCDEF01\n0.0.0.0 hosts.example\n10.0.0.0/33\nnot a valid line\n999.1.1.1\n@@@\n1.2.3.4:99999\n";
    let mut intel = Intel::empty();
    intel.add_text("feed.txt", "feed", text, &ListFormat::Auto);
    intel.finish();
    let rep = intel.report();
    assert_eq!(rep.files[0].loaded, 12);
    assert_eq!(rep.files[0].rejected, 5);
    let lines: Vec<(usize, &str)> = rep.files[0]
        .rejects
        .iter()
        .map(|r| (r.line, r.reason))
        .collect();
    assert_eq!(
        lines,
        vec![
            (15, "bad_cidr"),
            (16, "extra_text"),
            (17, "unrecognised_indicator"),
            (18, "unrecognised_indicator"),
            (19, "bad_port")
        ]
    );
    assert_eq!(rep.counters.get("bad_cidr"), 1);
    assert!(rep
        .counters
        .iter()
        .any(|(_, c)| c.sample.as_deref() == Some("feed.txt:15: 10.0.0.0/33")));

    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    assert_eq!(intel.match_ip(ip("198.51.100.1")).unwrap().label, "feed");
    assert_eq!(
        intel.match_ip(ip("203.0.113.77")).unwrap().indicator,
        "203.0.113.0/24"
    );
    assert_eq!(
        intel.match_ip(ip("2001:db8::5")).unwrap().indicator,
        "2001:db8::/32"
    );
    assert!(intel.match_ip(ip("203.0.114.1")).is_none());
    assert!(intel.match_ip_port(ip("192.0.2.1"), 8080).is_some());
    assert!(intel.match_ip_port(ip("192.0.2.1"), 80).is_none());
    assert_eq!(
        intel.match_domain("A.B.Evil.Example.").unwrap().indicator,
        "evil.example"
    );
    assert!(intel.match_domain("notevil.example").is_none());
    assert!(intel.match_domain("x.wild.example").is_some());
    assert!(intel.match_domain("hosts.example").is_some());
    assert!(intel.match_url("bad.example", "/x.php?id=1").is_some());
    assert!(intel
        .match_url("ignored", "http://bad2.example/gate.php?z=9")
        .is_some());
    assert!(intel.match_url("bad.example", "/y.php").is_none());
    assert!(intel
        .match_ja3("E7D705A3286E19EA42F587B344EE6865")
        .is_some());
    assert!(intel
        .match_ja4("t13d1516h2_8daaf6152771_02713d6af862")
        .is_some());
    assert!(intel
        .match_cert_sha1("ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01")
        .is_some());
}

#[test]
fn intel_ipsum_and_csv_formats() {
    let mut intel = Intel::empty();
    intel.add_text(
        "ipsum.txt",
        "ipsum",
        "# IPsum\n198.51.100.1\t8\n198.51.100.2\t2\n198.51.100.3\tx\n198.51.100.4\n",
        &ListFormat::Ipsum { min_count: 3 },
    );
    let csv = "id,dateadded,url,status\n1,2024-01-01,\"http://mal.example/a,b.exe\",online\n2,2024-01-01,http://mal2.example/p,offline\n3,2024-01-02\n";
    intel.add_text(
        "urlhaus.csv",
        "urlhaus",
        csv,
        &ListFormat::Csv {
            column: 3,
            delimiter: ',',
            header: true,
        },
    );
    intel.finish();
    let r = &intel.report().files;
    assert_eq!((r[0].loaded, r[0].skipped, r[0].rejected), (1, 1, 2));
    assert_eq!(r[0].rejects[0].line, 4);
    assert_eq!(r[0].rejects[0].reason, "bad_count");
    assert_eq!(r[0].rejects[1].reason, "missing_count");
    assert_eq!((r[1].loaded, r[1].skipped, r[1].rejected), (2, 1, 1));
    assert_eq!(r[1].rejects[0].line, 4);
    assert!(intel.match_ip("198.51.100.1".parse().unwrap()).is_some());
    assert!(intel.match_ip("198.51.100.2".parse().unwrap()).is_none());
    assert_eq!(
        intel.match_url("mal.example", "/a,b.exe").unwrap().label,
        "urlhaus"
    );
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("mamori-detect-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn intel_folder_of_maltrail_trails_and_reload() {
    let d = tmpdir("trails");
    std::fs::write(
        d.join("emotet.txt"),
        "# Emotet\nemotet-c2.example\n198.51.100.9:7080\n",
    )
    .unwrap();
    std::fs::write(d.join("sinkhole.txt"), "sinkhole.example\nbad line here\n").unwrap();
    std::fs::write(d.join(".hidden"), "hidden.example\n").unwrap();
    let sources = vec![IntelSource::auto(&d)];
    let mut intel = Intel::load(&sources).unwrap();
    assert_eq!(intel.len(), 3);
    assert_eq!(
        intel.match_domain("x.emotet-c2.example").unwrap().label,
        "emotet"
    );
    assert_eq!(
        intel.match_domain("sinkhole.example").unwrap().label,
        "sinkhole"
    );
    assert!(intel.match_domain("hidden.example").is_none());
    assert_eq!(intel.report().rejected(), 1);
    assert_eq!(intel.report().files[1].rejects[0].line, 2);

    // Reload picks up changes.
    std::fs::write(d.join("sinkhole.txt"), "sinkhole2.example\n").unwrap();
    intel.reload().unwrap();
    assert!(intel.match_domain("sinkhole2.example").is_some());
    assert!(intel.match_domain("sinkhole.example").is_none());
    // A failing reload keeps the last good set.
    std::fs::remove_dir_all(&d).unwrap();
    assert!(intel.reload().is_err());
    assert!(intel.match_domain("sinkhole2.example").is_some());
    assert_eq!(intel.len(), 3);
    // Unknown format and missing files are errors naming the path.
    let bad = IntelSource {
        path: "/nonexistent/list.txt".into(),
        ..IntelSource::default()
    };
    assert!(Intel::load(&[bad])
        .unwrap_err()
        .to_string()
        .contains("/nonexistent/list.txt"));
    let bad = IntelSource {
        format: Some("xml".into()),
        ..IntelSource::auto("x")
    };
    assert!(Intel::load(&[bad])
        .unwrap_err()
        .to_string()
        .contains("unknown format \"xml\""));
}

#[test]
fn intel_100k_entries_load_and_match_fast() {
    let mut text = String::with_capacity(3_000_000);
    for i in 0..100_000u32 {
        match i % 4 {
            0 => text.push_str(&format!(
                "{}.{}.{}.{}\n",
                11 + i % 200,
                (i >> 8) & 255,
                i & 255,
                (i >> 3) & 255
            )),
            1 => text.push_str(&format!(
                "{}.{}.{}.0/24\n",
                11 + i % 200,
                (i >> 8) & 255,
                i & 255
            )),
            2 => text.push_str(&format!("d{i}.bad-domain.example\n")),
            _ => text.push_str(&format!("http://u{i}.example/p/{i}\n")),
        }
    }
    let t = Instant::now();
    let mut intel = Intel::empty();
    intel.add_text("big.txt", "big", &text, &ListFormat::Auto);
    intel.finish();
    let load = t.elapsed();
    assert_eq!(intel.report().rejected(), 0);
    assert!(intel.len() > 90_000);
    // Unoptimised test build: generous bound; the release figure is in the report.
    assert!(load.as_secs_f64() < 5.0, "{load:?}");
    let t = Instant::now();
    let mut hits = 0;
    for i in 0..100_000u32 {
        let ip = std::net::IpAddr::from([
            (11 + i % 200) as u8,
            ((i >> 8) & 255) as u8,
            (i & 255) as u8,
            7,
        ]);
        hits += usize::from(intel.match_ip(ip).is_some());
        hits += usize::from(
            intel
                .match_domain(&format!("x.d{i}.bad-domain.example"))
                .is_some(),
        );
    }
    assert!(hits > 50_000);
    assert!(t.elapsed().as_secs_f64() < 5.0);
}

#[test]
fn intel_garbage_is_rejected_not_fatal() {
    let mut intel = Intel::empty();
    let long = "a".repeat(5000);
    let text = format!("{long}\n\u{0}\u{1}\n::::\n[::1]:x\n/24\n.\n*.\nhttp://\nhttp:///path\n");
    intel.add_text("junk", "junk", &text, &ListFormat::Auto);
    intel.add_text(
        "junk.csv",
        "junk",
        "a,b\n\"unterminated\n",
        &ListFormat::Csv {
            column: 9,
            delimiter: ',',
            header: false,
        },
    );
    intel.finish();
    assert!(intel.is_empty());
    assert_eq!(intel.report().files[0].rejects[0].reason, "line_too_long");
    assert_eq!(intel.report().rejected(), 9 + 2);
}

#[test]
fn engine_from_config_with_intel_sources() {
    let d = tmpdir("cfg");
    std::fs::write(d.join("ipsum.txt"), "198.51.100.1\t5\n").unwrap();
    let toml = format!(
        "[[intel]]\npath = {:?}\nformat = \"ipsum\"\nmin_count = 3\n",
        d.join("ipsum.txt").display().to_string()
    );
    let cfg = DetectConfig::from_toml_str(&toml, "m.toml").unwrap();
    let intel = Intel::load(&cfg.intel).unwrap();
    let mut e = Engine::new(cfg, intel).unwrap();
    let a = run(
        &mut e,
        [flow("10.0.0.7", 40000, "198.51.100.1", 443, "tcp").ev()],
    );
    assert_eq!(
        engaged(&a, "mamori.intel.ip")[0].message,
        "10.0.0.7 contacted 198.51.100.1:443, listed as 198.51.100.1 in ipsum"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn domain_exclusions_cover_http_and_tls_alerts() {
    let mut e = engine("[checks.http_suspicious_user_agent.exclude]\ndomains = [\"*.updates.example\"]\n[checks.tls_missing_sni.exclude]\nports = [8443]\n");
    let req = |host: &str| {
        rec("http", "10.0.0.7", "198.51.100.5", 80)
            .set("http.request.method", "GET")
            .set("url.domain", host.to_owned())
            .set("url.original", "/feed")
            .set("user_agent.original", "curl/8.0")
            .ev()
    };
    let a = run(
        &mut e,
        [req("cdn.updates.example:8080"), req("other.example")],
    );
    let en = engaged(&a, "mamori.net.http_suspicious_user_agent");
    assert_eq!(en.len(), 1);
    assert!(en[0].message.contains("other.example"));
    assert_eq!(e.check_counters(CheckId::HttpSuspiciousUa).excluded, 1);
}

#[test]
fn window_state_is_bounded_and_counted() {
    let mut e = engine(NONE);
    let mut out = Vec::new();
    let n = mamori_detect::engine::MAX_TRACKED_KEYS as u32 + 50;
    for i in 0..n {
        let src = std::net::IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        let mut ev = flow("10.0.0.1", 40000, "10.0.0.9", 80, "tcp")
            .state("no_reply")
            .at(f64::from(i) * 0.0001)
            .ev();
        ev.set("source.ip", src);
        e.process(&ev, &mut out);
    }
    assert!(e.stats().get("mamori.net.unanswered_scan.state_full") >= 50);
    // (The victim side sees a SYN flood; no source crossed the scan thresholds.)
    assert!(engaged(&out, "mamori.net.unanswered_scan").is_empty());
    assert_eq!(engaged(&out, "mamori.net.syn_flood").len(), 1);
    // Much later the old keys expire and new ones are tracked again.
    let later = scan("10.0.0.5", "10.0.0.9", 40, 10_000.0);
    for ev in &later {
        e.process(ev, &mut out);
    }
    assert_eq!(engaged(&out, "mamori.net.unanswered_scan").len(), 1);
}

#[test]
fn reconfigure_keeps_running_config_on_error() {
    let mut e = engine(NONE);
    let bad = DetectConfig {
        allowed_dns_servers: vec!["nonsense".into()],
        ..DetectConfig::default()
    };
    assert!(e.reconfigure(bad).is_err());
    let a = run(&mut e, scan("10.0.0.5", "10.0.0.9", 40, 0.0));
    assert_eq!(engaged(&a, "mamori.net.port_scan").len(), 1);
    let off =
        DetectConfig::from_toml_str("[checks.port_scan]\nenabled = false\n", "m.toml").unwrap();
    e.reconfigure(off).unwrap();
    let a = run(&mut e, scan("10.0.0.6", "10.0.0.9", 40, 100.0));
    assert!(engaged(&a, "mamori.net.port_scan").is_empty());
}
