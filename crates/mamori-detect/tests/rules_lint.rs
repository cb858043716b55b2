//! Loading and linting rule files: the built-in folder, syntax errors with lines, unknown
//! fields and operators, limits.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use mamori_detect::rules::{LintOutcome, RulesConfig, ThresholdRules};

fn builtin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

fn full_config() -> RulesConfig {
    RulesConfig::from_toml_str(
        r#"
trap_accounts = ["decoy-admin", "backup_svc2"]
allowed_sudoers = ["alice"]
admin_hosts = ["10.0.0.250/32"]
proxy_addresses = ["10.0.0.3"]
"#,
        "test.toml",
    )
    .unwrap()
}

#[test]
fn builtin_rules_all_load_without_warnings() {
    let (rules, report) = ThresholdRules::load_dir(&builtin_dir(), &full_config()).unwrap();
    for e in &report.entries {
        assert_eq!(
            e.outcome,
            LintOutcome::Loaded,
            "{}:{} {:?}",
            e.file,
            e.line,
            e.rule_id
        );
        assert!(e.warnings.is_empty(), "{:?}: {:?}", e.rule_id, e.warnings);
    }
    assert!(report.counters.is_empty(), "{:?}", report.counters);
    assert!(rules.rules().len() >= 30, "{}", rules.rules().len());
    assert_eq!(report.loaded(), rules.rules().len());
    // Every rule has names in both languages, a technique or control, and ids are unique.
    let mut ids = std::collections::BTreeSet::new();
    for r in rules.rules() {
        assert!(r.id.starts_with("mamori.log."), "{}", r.id);
        assert!(
            !r.name_ja.is_empty() && !r.description_ja.is_empty(),
            "{}",
            r.id
        );
        assert!(!r.controls.is_empty(), "{}", r.id);
        assert!(ids.insert(r.id.clone()));
    }
    let ds = report.datasets();
    for d in [
        "sshd",
        "windows.security",
        "squid",
        "firewall",
        "dns",
        "sudo",
    ] {
        assert!(ds.contains(d), "{d} missing from {ds:?}");
    }
}

#[test]
fn rules_needing_config_are_inactive_without_it() {
    let (rules, report) =
        ThresholdRules::load_dir(&builtin_dir(), &RulesConfig::default()).unwrap();
    let inactive: Vec<_> = report
        .entries
        .iter()
        .filter(|e| matches!(e.outcome, LintOutcome::Inactive(_)))
        .filter_map(|e| e.rule_id.as_deref())
        .collect();
    for id in [
        "mamori.log.trap_account",
        "mamori.log.sudo_unlisted_user",
        "mamori.log.fw_proxy_bypass",
        "mamori.log.admin_logon_unexpected_host",
    ] {
        assert!(
            inactive.contains(&id),
            "{id} should be inactive: {inactive:?}"
        );
        assert!(rules.rules().iter().all(|r| r.id != id));
    }
    assert_eq!(report.errors(), 0);
}

#[test]
fn yaml_error_names_file_and_line_and_the_rest_load() {
    let text = "id: ok.one\nname: a\nname_ja: あ\nseverity: low\nmatch: {event.dataset: sshd}\nmessage: m\nmessage_ja: m\n---\nid: broken\nname: [unclosed\n";
    let (rules, report) =
        ThresholdRules::load_str(text, "mixed.yml", &RulesConfig::default()).unwrap();
    assert_eq!(rules.rules().len(), 1);
    assert_eq!(report.loaded(), 1);
    assert_eq!(report.errors(), 1);
    let bad = report
        .entries
        .iter()
        .find(|e| matches!(e.outcome, LintOutcome::Error(_)))
        .unwrap();
    assert_eq!(bad.file, "mixed.yml");
    assert!(bad.line >= 9, "line {}", bad.line);
}

fn one_error(text: &str) -> (usize, String) {
    let (_, report) = ThresholdRules::load_str(text, "r.yml", &RulesConfig::default()).unwrap();
    assert_eq!(report.entries.len(), 1, "{:?}", report.entries);
    let e = &report.entries[0];
    match &e.outcome {
        LintOutcome::Error(r) => (e.line, r.clone()),
        other => panic!("expected an error, got {other:?}"),
    }
}

const HEAD: &str = "id: t.rule\nname: a\nname_ja: あ\nseverity: low\nmessage: m\nmessage_ja: m\n";

#[test]
fn semantic_errors_have_reasons() {
    let cases = [
        ("match: {user.name: {bogus_op: 1}}\n", "unknown operator"),
        ("match: {user.name: x}\nunknown_key: 1\n", "unknown field"),
        ("match: {source.ip: {cidr: 300.1.1.1/8}}\n", "invalid CIDR"),
        ("match: {url.original: {re: '(['}}\n", "invalid regex"),
        (
            "match: {user.name: x}\nthreshold: {count: 0, within: 1m}\n",
            "threshold.count",
        ),
        (
            "match: {user.name: x}\nthreshold: {count: 5}\n",
            "within: required",
        ),
        (
            "match: {user.name: x}\nthreshold: {count: 5, within: 9y}\n",
            "duration",
        ),
        (
            "match: {user.name: x}\nthreshold: {count: 2, within: 30d}\n",
            "outside 0",
        ),
        ("match: {user.name: \"${nope}\"}\n", "unknown placeholder"),
        (
            "match: {user.name: x}\nrequires: [nope]\n",
            "unknown config list",
        ),
        ("match: [a, b]\n", "mapping"),
        (
            "match: {user.name: x}\nabsence: {group_by: a.b, expected_every: 0s}\n",
            "above zero",
        ),
        (
            "match: {user.name: x}\nrate: {of: {a.b: 1}, percent_above: 5}\n",
            "threshold.within",
        ),
    ];
    for (body, want) in cases {
        let (line, reason) = one_error(&format!("{HEAD}{body}"));
        assert!(reason.contains(want), "{body:?}: {reason}");
        assert_eq!(line, 1);
    }
    let (_, r) = one_error("id: t\nname: a\nname_ja: a\nseverity: urgent\nmatch: {a.b: 1}\nmessage: m\nmessage_ja: m\n");
    assert!(r.contains("severity"), "{r}");
    let (_, r) =
        one_error(&(HEAD.replace("message: m", "message: \"{nothing}\"") + "match: {a.b: 1}\n"));
    assert!(r.contains("unknown placeholder"), "{r}");
}

#[test]
fn duplicate_ids_rejected_and_unknown_fields_warned() {
    let doc = format!("{HEAD}match: {{user.name: x, foo.bar_baz: 1}}\n");
    let text = format!("{doc}---\n{doc}");
    let (rules, report) =
        ThresholdRules::load_str(&text, "d.yml", &RulesConfig::default()).unwrap();
    assert_eq!(rules.rules().len(), 1);
    assert_eq!(report.errors(), 1);
    assert_eq!(report.entries[0].warnings.len(), 1);
    assert!(report.entries[0].warnings[0].contains("foo.bar_baz"));
    assert_eq!(report.entries[1].line, 9);
}

#[test]
fn disabled_rules_are_inactive() {
    let cfg = RulesConfig {
        disabled: vec!["t.rule".into()],
        ..RulesConfig::default()
    };
    let (rules, report) =
        ThresholdRules::load_str(&format!("{HEAD}match: {{a.b: 1}}\n"), "x", &cfg).unwrap();
    assert!(rules.rules().is_empty());
    assert_eq!(report.inactive(), 1);
    let (rules, report) = ThresholdRules::load_str(
        &format!("{HEAD}enabled: false\nmatch: {{a.b: 1}}\n"),
        "x",
        &RulesConfig::default(),
    )
    .unwrap();
    assert!(rules.rules().is_empty());
    assert_eq!(report.inactive(), 1);
}

#[test]
fn garbage_and_empty_inputs_do_not_panic() {
    for text in [
        "",
        "---\n---\n",
        "\u{0}\u{1}",
        "- a\n- b\n",
        "id: [",
        "a: *x",
        "{{{{",
        "%TAG ! x\n",
    ] {
        let (rules, _) = ThresholdRules::load_str(text, "g.yml", &RulesConfig::default()).unwrap();
        assert!(rules.rules().is_empty());
    }
}

#[test]
fn config_rejects_unknown_keys_and_bad_hours() {
    assert!(RulesConfig::from_toml_str("nope = 1", "c").is_err());
    assert!(RulesConfig::from_toml_str("[business_hours]\nstart = \"25:00\"", "c").is_err());
    assert!(RulesConfig::from_toml_str("[business_hours]\ndays = [\"funday\"]", "c").is_err());
    assert!(
        RulesConfig::from_toml_str("[business_hours]\nholidays = [\"2026-13-01\"]", "c").is_err()
    );
    let c = RulesConfig::from_toml_str("[lists]\nvip = [\"ceo\"]", "c").unwrap();
    assert_eq!(c.list("vip"), Some(&["ceo".to_owned()][..]));
}

#[test]
fn missing_directory_is_counted() {
    let (rules, report) = ThresholdRules::load_dir(
        std::path::Path::new("/nonexistent/mamori-rules"),
        &RulesConfig::default(),
    )
    .unwrap();
    assert!(rules.rules().is_empty());
    assert_eq!(report.counters.get("io_error"), 1);
}
