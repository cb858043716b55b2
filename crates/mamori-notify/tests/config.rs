//! Configuration: unknown keys, secrets, references, templates and limits.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use mamori_notify::config::{EndpointKind, HttpTarget};
use mamori_notify::{ConfigError, NotifyConfig};

fn build(json: &str) -> Result<mamori_notify::Config, String> {
    NotifyConfig::from_json(json)
        .map_err(|e| format!("parse: {e}"))?
        .validate_and_build()
        .map_err(|e| e.to_string())
}

const SLACK: &str =
    r#"{"kind": "slack", "id": "s", "url": "https://hooks.slack.test/services/T0/B0/XYZ"}"#;

#[test]
fn unknown_keys_are_rejected_everywhere() {
    let cases = [
        r#"{"endpoints": [], "bogus": 1}"#.to_owned(),
        r#"{"delivery": {"max_attempt": 3}}"#.to_owned(),
        r#"{"endpoints": [{"kind": "slack", "id": "s", "url": "https://x.test/", "channel": "c"}]}"#
            .to_owned(),
        r#"{"endpoints": [{"kind": "pager", "id": "p"}]}"#.to_owned(),
        format!(r#"{{"endpoints": [{SLACK}], "recipients": [{{"id": "r", "endpoint": "s", "min_sev": "high"}}]}}"#),
        r#"{"endpoints": [{"kind": "email", "id": "m", "host": "h", "port": 25, "tls": "none", "from": "a@b.jp", "cc": []}]}"#.to_owned(),
    ];
    for c in &cases {
        let err = build(c).unwrap_err();
        assert!(err.starts_with("parse:"), "{c}: {err}");
    }
}

#[test]
fn full_config_builds() {
    let cfg = build(&format!(
        r#"{{"version": 1,
            "delivery": {{"max_attempts": 3}},
            "endpoints": [{SLACK},
              {{"kind": "syslog", "id": "siem", "address": "[::1]:6514", "transport": "tls", "format": "ecs"}}],
            "recipients": [
              {{"id": "a", "endpoint": "s", "min_severity": "high", "rules": ["mamori.net.*"],
                "tactics": ["Command and Control"], "host_groups": ["10.0.0.0/8", "fd00::/8"],
                "states": ["engaged"], "language": "en", "rate_limit_per_minute": 10,
                "subject_template": "{{{{severity}}}} {{{{rule_name}}}}"}},
              {{"id": "b", "endpoint": "siem", "mode": "digest", "digest_minutes": 15}}]}}"#
    ))
    .unwrap();
    assert_eq!(cfg.delivery.max_attempts, 3);
    assert_eq!(cfg.recipients[1].digest_ms, Some(15 * 60_000));
    match &cfg.endpoints[1].kind {
        EndpointKind::Syslog(s) => {
            assert_eq!((s.host.as_str(), s.port), ("::1", 6514));
            assert_eq!(s.facility, 16);
            assert_eq!(s.server_name, "::1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn references_and_values_are_checked() {
    let cases: &[(&str, &str)] = &[
        (r#"{"version": 2}"#, "version 2"),
        (
            r#"{"recipients": [{"id": "r", "endpoint": "none"}]}"#,
            "unknown endpoint `none`",
        ),
        (
            r#"{"endpoints": [{"kind": "slack", "id": "s", "url": "ftp://x/"}]}"#,
            "scheme",
        ),
        (
            r#"{"endpoints": [{"kind": "slack", "id": "s", "url": "https://x/"},
                              {"kind": "teams", "id": "s", "url": "https://y/"}]}"#,
            "duplicate endpoint id `s`",
        ),
        (
            r#"{"endpoints": [{"kind": "webhook", "id": "w", "url": "http://x/", "headers": {"X-A": "a\r\nInjected: 1"}}]}"#,
            "CR/LF",
        ),
        (
            r#"{"endpoints": [{"kind": "webhook", "id": "w", "url": "http://x/", "method": "GET"}]}"#,
            "POST or PUT",
        ),
        (
            r#"{"endpoints": [{"kind": "webhook", "id": "w", "url": "http://x/", "body_template": "{\"a\": {{nope}}}"}]}"#,
            "unknown field `nope`",
        ),
        (
            r#"{"endpoints": [{"kind": "webhook", "id": "w", "url": "http://x/", "body_template": "{\"a\": {{message}}}"}]}"#,
            "does not render to JSON",
        ),
        (
            r#"{"endpoints": [{"kind": "email", "id": "m", "host": "h", "port": 25, "tls": "none",
                "from": "a@b.jp", "username": "u", "password": "p"}]}"#,
            "allow_plaintext_auth",
        ),
        (
            r#"{"endpoints": [{"kind": "email", "id": "m", "host": "h", "port": 25, "tls": "tls", "from": "nobody"}]}"#,
            "not a mail address",
        ),
        (
            r#"{"endpoints": [{"kind": "email", "id": "m", "host": "h", "port": 25, "tls": "tls", "from": "a@b.jp"}],
                "recipients": [{"id": "r", "endpoint": "m"}]}"#,
            "need `to`",
        ),
        (
            r#"{"endpoints": [{"kind": "email", "id": "m", "host": "h", "port": 25, "tls": "tls", "from": "a@b.jp"}],
                "recipients": [{"id": "r", "endpoint": "m", "to": ["x@y.jp>\r\nRCPT TO:<evil@z"]}]}"#,
            "not a mail address",
        ),
        (
            r#"{"endpoints": [{"kind": "syslog", "id": "y", "address": "h", "transport": "udp", "format": "cef"}]}"#,
            "host:port",
        ),
        (
            r#"{"endpoints": [{"kind": "syslog", "id": "y", "address": "h:1", "transport": "udp", "format": "cef", "facility": 24}]}"#,
            "0..=23",
        ),
        (
            r#"{"endpoints": [{"kind": "syslog", "id": "y", "address": "h:1", "transport": "udp", "format": "cef", "app_name": "has space"}]}"#,
            "app_name",
        ),
        (
            r#"{"endpoints": [{"kind": "slack", "id": "s", "url": "https://x/"}],
                "recipients": [{"id": "r", "endpoint": "s", "mode": "digest"}]}"#,
            "digest_minutes",
        ),
        (
            r#"{"endpoints": [{"kind": "slack", "id": "s", "url": "https://x/"}],
                "recipients": [{"id": "r", "endpoint": "s", "rate_limit_per_minute": 0}]}"#,
            "rate_limit_per_minute",
        ),
        (
            r#"{"endpoints": [{"kind": "slack", "id": "s", "url": "https://x/"}],
                "recipients": [{"id": "r", "endpoint": "s", "rules": ["a*b"]}]}"#,
            "only at the end",
        ),
        (r#"{"delivery": {"max_attempts": 0}}"#, "max_attempts"),
        (
            r#"{"delivery": {"backoff_initial_ms": 5000, "backoff_max_ms": 10}}"#,
            "backoff_initial_ms",
        ),
    ];
    for (json, want) in cases {
        let err = build(json).unwrap_err();
        assert!(err.contains(want), "{json}\n  got: {err}\n  want: {want}");
    }
}

#[test]
fn secrets_from_env_and_file_and_never_printed() {
    let dir = std::env::temp_dir().join(format!("mamori-notify-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hook.secret");
    std::fs::write(&file, "file-secret\n").unwrap();
    std::env::set_var(
        "MAMORI_NOTIFY_TEST_URL",
        "https://hooks.test/services/TOKEN123",
    );
    let cfg = build(&format!(
        r#"{{"endpoints": [
            {{"kind": "slack", "id": "s", "url": "env:MAMORI_NOTIFY_TEST_URL"}},
            {{"kind": "webhook", "id": "w", "url": "http://127.0.0.1:9/x", "secret": "file:{}"}}]}}"#,
        file.display()
    ))
    .unwrap();
    match &cfg.endpoints[0].kind {
        EndpointKind::Slack(t) => {
            assert_eq!(t.path, "/services/TOKEN123");
            assert!(!format!("{t:?}").contains("TOKEN123"));
        }
        other => panic!("{other:?}"),
    }
    match &cfg.endpoints[1].kind {
        EndpointKind::Webhook(w) => {
            assert_eq!(w.secret.as_ref().unwrap().expose(), "file-secret");
        }
        other => panic!("{other:?}"),
    }
    let dbg = format!("{cfg:?}");
    assert!(
        !dbg.contains("file-secret") && !dbg.contains("TOKEN123"),
        "{dbg}"
    );

    let missing = NotifyConfig::from_json(
        r#"{"endpoints": [{"kind": "slack", "id": "s", "url": "env:MAMORI_NOTIFY_TEST_UNSET_VAR"}]}"#,
    )
    .unwrap()
    .validate_and_build()
    .unwrap_err();
    assert!(matches!(missing, ConfigError::Secret { .. }));
    assert!(missing
        .to_string()
        .contains("env:MAMORI_NOTIFY_TEST_UNSET_VAR"));
    let raw = NotifyConfig::from_json(
        r#"{"endpoints": [{"kind": "webhook", "id": "w", "url": "http://x/", "secret": "inline-pw"}]}"#,
    )
    .unwrap();
    assert!(!format!("{raw:?}").contains("inline-pw"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn url_parsing_edge_cases() {
    let t = HttpTarget::parse("http://[::1]:8080/a?b#frag").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.path.as_str()),
        ("::1", 8080, "/a?b")
    );
    let t = HttpTarget::parse("https://example.jp").unwrap();
    assert_eq!((t.port, t.path.as_str()), (443, "/"));
    for bad in [
        "http://",
        "http://:80/",
        "http://h:99999/",
        "http://u:p@h/",
        "http://h/a b",
        "http://[::1/",
        "gopher://h/",
        "",
    ] {
        assert!(HttpTarget::parse(bad).is_err(), "{bad}");
    }
}
