//! Threshold-rule engine semantics: sliding windows at their edges, distinct counting,
//! lateness, re-arm, eviction, absence and rate rules, templates, enrichment, test runner.
#![allow(clippy::unwrap_used)]

use mamori_core::{Alert, AlertState, Event, EventKind, Ruleset, Severity, Timestamp};
use mamori_detect::rules::{
    test_rules, Enricher, RulesConfig, ThresholdRules, MAX_GROUPS_PER_RULE,
};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000;

fn at(secs: f64) -> Timestamp {
    Timestamp::from_unix_nanos(T0 * 1_000_000_000 + (secs * 1e9) as i64)
}

const SCAN: &str = r#"
id: custom.scan
name: scan
name_ja: スキャン
severity: high
techniques: [T1046]
controls: [JP-DISCS-8]
match: {event.dataset: firewall, event.action: deny}
threshold: {count: 10, within: 30s, same: [source.ip, destination.ip], distinct: destination.port}
message: "{source.ip} probed {distinct} ports of {destination.ip} in {window} ({count} events)"
message_ja: "{source.ip} が {destination.ip} の {distinct} ポートを探索"
"#;

fn load(yaml: &str) -> ThresholdRules {
    let (r, rep) = ThresholdRules::load_str(yaml, "t.yml", &RulesConfig::default()).unwrap();
    assert_eq!(rep.errors(), 0, "{:?}", rep.entries);
    assert_eq!(rep.loaded(), 1);
    r
}

fn deny(secs: f64, src: &str, port: i64) -> Event {
    let mut e = Event::new(at(secs), "firewall");
    e.set("event.action", "deny")
        .set("source.ip", src)
        .set("destination.ip", "10.0.0.5")
        .set("destination.port", port);
    e
}

fn run(r: &mut ThresholdRules, evs: &[Event]) -> Vec<Alert> {
    let mut out = Vec::new();
    for e in evs {
        r.process(e, &mut out);
    }
    out
}

#[test]
fn n_minus_one_then_n() {
    let mut r = load(SCAN);
    let evs: Vec<Event> = (0..10)
        .map(|i| deny(i as f64, "192.0.2.1", 100 + i))
        .collect();
    assert!(run(&mut r, &evs[..9]).is_empty());
    let out = run(&mut r, &evs[9..]);
    assert_eq!(out.len(), 1);
    let a = &out[0];
    assert_eq!(
        a.message,
        "192.0.2.1 probed 10 ports of 10.0.0.5 in 30s (10 events)"
    );
    assert_eq!(
        a.message_ja.as_deref(),
        Some("192.0.2.1 が 10.0.0.5 の 10 ポートを探索")
    );
    assert_eq!(a.ruleset, Ruleset::Custom);
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.count, 10);
    assert_eq!(a.first_seen, at(0.0));
    assert_eq!(a.last_seen, at(9.0));
    assert_eq!(a.source_ip, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(a.destination_ip, Some("10.0.0.5".parse().unwrap()));
    assert_eq!(a.state, AlertState::Engaged);
    assert_eq!(
        a.fields.get("mamori.alert.key").and_then(|v| v.as_str()),
        Some("custom.scan|192.0.2.1|10.0.0.5")
    );
    assert_eq!(r.stats().next().unwrap().fired, 1);
    assert_eq!(r.stats().next().unwrap().matched, 10);
}

#[test]
fn event_exactly_at_window_end_counts() {
    let mut r = load(SCAN);
    let mut evs: Vec<Event> = (0..9)
        .map(|i| deny(i as f64, "192.0.2.1", 100 + i))
        .collect();
    evs.push(deny(30.0, "192.0.2.1", 200)); // exactly 30 s after the first
    assert_eq!(run(&mut r, &evs).len(), 1);
    let mut r = load(SCAN);
    let mut evs: Vec<Event> = (0..9)
        .map(|i| deny(i as f64, "192.0.2.1", 100 + i))
        .collect();
    evs.push(deny(30.001, "192.0.2.1", 200)); // the first one has left the window
    assert!(run(&mut r, &evs).is_empty());
}

#[test]
fn window_slides_rather_than_tumbles() {
    // 5 events at 0–4 s and 5 at 28–32 s: a tumbling window starting at 0 would split them
    // at 30 s; the sliding window [2, 32] still holds 8 and later 10 within 30 s.
    let mut r = load(SCAN);
    let mut evs: Vec<Event> = (0..5)
        .map(|i| deny(25.0 + i as f64, "192.0.2.1", 100 + i))
        .collect();
    evs.extend((0..5).map(|i| deny(31.0 + i as f64, "192.0.2.1", 200 + i)));
    assert_eq!(run(&mut r, &evs).len(), 1);
}

#[test]
fn distinct_and_groups_are_separate() {
    let mut r = load(SCAN);
    // 20 events on 9 ports: not 10 distinct.
    let evs: Vec<Event> = (0..20)
        .map(|i| deny(i as f64, "192.0.2.1", 100 + i % 9))
        .collect();
    assert!(run(&mut r, &evs).is_empty());
    // 5 ports each from two sources: no group reaches 10.
    let mut r = load(SCAN);
    let evs: Vec<Event> = (0..10)
        .map(|i| {
            deny(
                i as f64,
                if i % 2 == 0 { "192.0.2.1" } else { "192.0.2.2" },
                100 + i,
            )
        })
        .collect();
    assert!(run(&mut r, &evs).is_empty());
    // Events without the distinct field are counted as missing.
    let mut r = load(SCAN);
    let mut e = deny(0.0, "192.0.2.1", 1);
    e.fields.remove("destination.port");
    assert!(run(&mut r, &[e]).is_empty());
    assert_eq!(r.stats().next().unwrap().missing_field, 1);
    assert_eq!(r.counters().get("missing_field"), 1);
}

#[test]
fn out_of_order_within_lateness_counts_and_too_late_is_dropped() {
    let mut r = load(SCAN);
    // Ten events arriving shuffled, all within 20 s.
    let order = [5, 2, 9, 0, 7, 1, 8, 3, 6, 4];
    let evs: Vec<Event> = order
        .iter()
        .map(|&i| deny(i as f64 * 2.0, "192.0.2.1", 100 + i))
        .collect();
    let out = run(&mut r, &evs);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].first_seen, at(0.0));
    // An event 61 s behind the newest of its group (lateness 60 s) is dropped and counted.
    let mut r = load(SCAN);
    let out = run(
        &mut r,
        &[deny(100.0, "192.0.2.1", 1), deny(39.0, "192.0.2.1", 2)],
    );
    assert!(out.is_empty());
    assert_eq!(r.stats().next().unwrap().late, 1);
    assert_eq!(r.counters().get("late_event"), 1);
}

#[test]
fn rearm_and_suppression() {
    let mut r = load(SCAN);
    // 30 ports in 15 s: one alert, the window is emptied and re-arms after 30 s.
    let evs: Vec<Event> = (0..30)
        .map(|i| deny(i as f64 * 0.5, "192.0.2.1", 100 + i))
        .collect();
    assert_eq!(run(&mut r, &evs).len(), 1);
    // Still within re-arm (fired at 4.5 s): no second alert.
    let evs: Vec<Event> = (0..10)
        .map(|i| deny(20.0 + i as f64, "192.0.2.1", 300 + i))
        .collect();
    assert!(run(&mut r, &evs).is_empty());
    // After re-arm with 10 fresh ports in the window: a second alert.
    let evs: Vec<Event> = (0..10)
        .map(|i| deny(40.0 + i as f64, "192.0.2.1", 400 + i))
        .collect();
    assert_eq!(run(&mut r, &evs).len(), 1);
}

#[test]
fn groups_are_bounded_and_eviction_counted() {
    let yaml = SCAN
        .replace("count: 10", "count: 2")
        .replace("distinct: destination.port", "rearm: 1h");
    let mut r = load(&yaml);
    let mut out = Vec::new();
    for i in 0..(MAX_GROUPS_PER_RULE as u32 + 10) {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
        let mut e = Event::new(at(f64::from(i) * 0.0001), "firewall");
        e.set("event.action", "deny")
            .set("source.ip", ip)
            .set("destination.ip", "10.0.0.5");
        r.process(&e, &mut out);
    }
    assert!(out.is_empty());
    let evicted = r.stats().next().unwrap().group_evicted;
    assert!(evicted >= (MAX_GROUPS_PER_RULE / 8) as u64, "{evicted}");
    assert_eq!(r.counters().get("group_evicted"), evicted);
}

#[test]
fn absence_fires_on_advance_and_closes_on_return() {
    let yaml = r#"
id: custom.silent
name: silent
name_ja: 途絶
severity: medium
controls: [JP-DISCS-9]
match: {mamori.log.source: {exists: true}}
absence: {group_by: mamori.log.source, expected_every: 10m}
message: "{mamori.log.source} silent for {silent_for}"
message_ja: "{mamori.log.source} が {silent_for} 途絶"
"#;
    let mut r = load(yaml);
    let mut e = Event::new(at(0.0), "syslog");
    e.set("mamori.log.source", "udp:10.0.0.1");
    let mut out = run(&mut r, &[e.clone()]);
    r.advance(at(600.0), &mut out);
    assert!(
        out.is_empty(),
        "exactly the expected interval is not silence"
    );
    r.advance(at(601.0), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message, "udp:10.0.0.1 silent for 10m1s");
    assert_eq!(out[0].first_seen, at(0.0));
    r.advance(at(1200.0), &mut out);
    assert_eq!(out.len(), 1, "one alert per silence");
    // The alert fed back as an event (it carries mamori.log.source) does not end the silence.
    let mut fed = out[0].to_event();
    fed.timestamp = at(1250.0);
    assert_eq!(fed.get_str("mamori.log.source"), Some("udp:10.0.0.1"));
    r.process(&fed, &mut out);
    assert_eq!(out.len(), 1);
    let mut back = e.clone();
    back.timestamp = at(1300.0);
    r.process(&back, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].state, AlertState::Past);
    // A never-seen source cannot be reported.
    let mut r = load(yaml);
    let mut out = Vec::new();
    r.advance(at(10_000.0), &mut out);
    r.finish(&mut out);
    assert!(out.is_empty());
}

#[test]
fn rate_rule() {
    let yaml = r#"
id: custom.rate
name: rate
name_ja: 率
severity: low
match: {mamori.parse_error: true}
rate: {of: {event.dataset: syslog}, percent_above: 20, min_events: 10}
threshold: {count: 1, within: 10m, same: [mamori.log.source], rearm: 1h}
message: "{percent}% of {total}"
message_ja: "{percent}% / {total}"
"#;
    let mk = |i: usize, err: bool| {
        let mut e = Event::new(at(i as f64), "syslog");
        e.set("mamori.log.source", "a");
        if err {
            e.set("mamori.parse_error", true);
        }
        e
    };
    let mut r = load(yaml);
    let evs: Vec<Event> = (0..10).map(|i| mk(i, i < 2)).collect();
    assert!(
        run(&mut r, &evs).is_empty(),
        "exactly 20 % is not above 20 %"
    );
    let mut r = load(yaml);
    let evs: Vec<Event> = (0..10).map(|i| mk(i, i < 3)).collect();
    let out = run(&mut r, &evs);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message, "30.0% of 10");
    // Fewer than min_events: nothing.
    let mut r = load(yaml);
    let evs: Vec<Event> = (0..9).map(|i| mk(i, true)).collect();
    assert!(run(&mut r, &evs).is_empty());
}

#[test]
fn operators() {
    let yaml = r#"
id: custom.ops
name: ops
name_ja: 演算子
severity: low
match:
  event.dataset: test
  source.ip: {cidr: [10.0.0.0/8, "2001:db8::/32"]}
  user.name: {startswith: adm, not: admin-ok}
  url.original: {re: '\.exe$', contains: dl}
  http.response.bytes: {gte: 100, lt: 1000}
  mamori.log.clock_skew_ms: {abs_gt: 5}
  host.name: "pc-*"
  any: [{event.code: 1}, {event.code: "2"}]
  not: {event.outcome: success}
message: hit
message_ja: hit
"#;
    let base = || {
        let mut e = Event::new(at(0.0), "test");
        e.set("source.ip", "10.1.2.3")
            .set("user.name", "ADMIN-x")
            .set("url.original", "http://dl.example/a.EXE")
            .set("http.response.bytes", 500)
            .set("mamori.log.clock_skew_ms", -6)
            .set("host.name", "PC-12")
            .set("event.code", "2");
        e
    };
    let r = load(yaml);
    let hits = |e: Event| test_rules(&r, &[e]).0[0].matched;
    assert_eq!(hits(base()), 1);
    let variants: Vec<(&str, mamori_core::Value)> = vec![
        ("source.ip", "192.168.1.1".into()),
        ("user.name", "admin-ok".into()),
        ("url.original", "http://dl.example/a.exe.txt".into()),
        ("http.response.bytes", 1000.into()),
        ("mamori.log.clock_skew_ms", 5.into()),
        ("host.name", "srv-1".into()),
        ("event.code", "3".into()),
        ("event.outcome", "success".into()),
    ];
    for (k, v) in variants {
        let mut e = base();
        e.set(k, v.clone());
        assert_eq!(hits(e), 0, "{k} = {v:?} must not match");
    }
    let mut e = base();
    e.set("source.ip", "2001:db8::1");
    assert_eq!(hits(e), 1);
    // A list-valued field matches when any item does.
    let mut e = base();
    e.set("host.name", vec!["x", "pc-9"]);
    assert_eq!(hits(e), 1);
}

#[test]
fn test_runner_reports_per_rule() {
    let r = load(SCAN);
    let evs: Vec<Event> = (0..12)
        .rev()
        .map(|i| deny(i as f64, "192.0.2.1", 100 + i))
        .collect();
    let (res, alerts) = test_rules(&r, &evs);
    assert_eq!(res.len(), 1);
    assert_eq!(res[0].rule_id, "custom.scan");
    assert_eq!(res[0].matched, 12);
    assert_eq!(res[0].alerts, 1);
    assert!(res[0]
        .first_message
        .as_deref()
        .unwrap()
        .starts_with("192.0.2.1 probed 10 ports"));
    assert_eq!(alerts.len(), 1);
    // The original keeps no state from the test run.
    assert_eq!(r.stats().next().unwrap().matched, 0);
}

#[test]
fn enricher_names_alert_hosts() {
    let mut en = Enricher::new();
    let mut lease = Event::new(at(0.0), "dhcp");
    lease
        .set("mamori.dhcp.assigned_ip", "10.0.1.5")
        .set("mamori.dhcp.hostname", "PC-TANAKA");
    assert!(en.learn(&lease));
    let mut old = lease.clone();
    old.timestamp = at(-10.0);
    old.set("mamori.dhcp.hostname", "OLD");
    assert!(
        !en.learn(&old),
        "an older lease does not overwrite a newer one"
    );
    assert!(!en.learn(&Event::new(at(1.0), "dns")));
    let mut a = Alert::new("r", "r", Severity::Low, at(5.0), "m");
    a.source_ip = Some("10.0.1.5".parse().unwrap());
    assert!(en.enrich(&mut a));
    assert_eq!(a.host_name.as_deref(), Some("PC-TANAKA"));
    let mut b = Alert::new("r", "r", Severity::Low, at(5.0), "m");
    b.source_ip = Some("10.0.1.6".parse().unwrap());
    assert!(!en.enrich(&mut b));
    assert!(b.host_name.is_none());
    let mut c = a.clone();
    c.host_name = Some("keep".into());
    assert!(!en.enrich(&mut c));
    assert_eq!(c.host_name.as_deref(), Some("keep"));
}

#[test]
fn alerts_as_input_do_not_confuse_plain_rules() {
    let mut r = load(SCAN);
    let mut a = Event::new(at(0.0), "alert").with_kind(EventKind::Alert);
    a.set("event.action", "deny").set("source.ip", "192.0.2.1");
    assert!(run(&mut r, &[a]).is_empty());
    assert_eq!(r.stats().next().unwrap().matched, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn arbitrary_rule_text_never_panics(text in "\\PC{0,400}") {
        let (mut r, _) = ThresholdRules::load_str(&text, "p.yml", &RulesConfig::default()).unwrap();
        let mut out = Vec::new();
        r.process(&deny(0.0, "192.0.2.1", 1), &mut out);
        r.finish(&mut out);
    }

    #[test]
    fn arbitrary_rule_values_never_panic(
        field in "[a-z.@_]{1,20}",
        value in "\\PC{0,30}",
        op in prop::sample::select(vec!["eq", "re", "cidr", "gt", "len_gt", "entropy_gte", "dga_score_gte", "ip_host", "exists", "contains"]),
        count in 0u64..20,
        within in "[0-9]{1,3}[smhd]?",
    ) {
        let yaml = format!(
            "id: p\nname: p\nname_ja: p\nseverity: low\nmatch: {{{field}: {{{op}: {value:?}}}}}\nthreshold: {{count: {count}, within: {within}, same: [{field}], distinct: {field}}}\nmessage: '{{count}} {{{field}}}'\nmessage_ja: x\n"
        );
        let (mut r, _) = ThresholdRules::load_str(&yaml, "p.yml", &RulesConfig::default()).unwrap();
        let mut out = Vec::new();
        for i in 0..30 {
            let mut e = deny(f64::from(i) * 3.0, "192.0.2.1", i64::from(i));
            e.set(field.clone(), value.clone());
            r.process(&e, &mut out);
        }
        r.advance(at(1e6), &mut out);
        r.finish(&mut out);
    }
}
