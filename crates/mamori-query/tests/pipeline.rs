//! Pipeline stages over small event sets built here: stats, timechart, sort, head, tail,
//! fields, where, top; streaming and limits.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::cell::Cell;
use std::net::IpAddr;

use mamori_core::{Event, Timestamp, Value};
use mamori_query::{parse, ExecError, Limits, OutputItem, ParseOptions, Plan, QueryResult, Schema};

const T0: i64 = 1_700_000_000 - 1_700_000_000 % 3600; // on an hour boundary

fn p(q: &str) -> Plan {
    parse(q, &Schema::ecs(), &ParseOptions::default()).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// sshd failures: 10.0.0.1 ×3 (users a, b, a), 10.0.0.2 ×2 (user c), 10.0.0.3 ×1 (no user),
/// plus one success from 10.0.0.1; bytes on each; spread over three hours.
fn events() -> Vec<Event> {
    let mk = |s: i64, src: &str, user: Option<&str>, outcome: &str, bytes: i64| {
        let mut e = Event::new(Timestamp::from_unix_secs(T0 + s), "sshd")
            .with("source.ip", ip(src))
            .with("event.outcome", outcome)
            .with("source.bytes", bytes);
        e.set_opt("user.name", user);
        e
    };
    vec![
        mk(0, "10.0.0.1", Some("a"), "failure", 100),
        mk(10, "10.0.0.1", Some("b"), "failure", 200),
        mk(3700, "10.0.0.1", Some("a"), "failure", 300),
        mk(3800, "10.0.0.2", Some("c"), "failure", 50),
        mk(7300, "10.0.0.2", Some("c"), "failure", 50),
        mk(7400, "10.0.0.3", None, "failure", 7),
        mk(7500, "10.0.0.1", Some("a"), "success", 1),
    ]
}

fn table(q: &str) -> (Vec<String>, Vec<Vec<Option<Value>>>) {
    match p(q).execute(events()).unwrap().result {
        QueryResult::Table { columns, rows } => (columns, rows),
        other => panic!("expected a table, got {other:?}"),
    }
}

fn s(x: &str) -> Option<Value> {
    Some(Value::Str(x.into()))
}
fn i(x: i64) -> Option<Value> {
    Some(Value::Int(x))
}
fn ipv(x: &str) -> Option<Value> {
    Some(Value::Ip(ip(x)))
}

#[test]
fn stats_count_by() {
    let (cols, rows) = table("event.outcome:failure | stats count() by source.ip");
    assert_eq!(cols, ["source.ip", "count"]);
    assert_eq!(
        rows,
        [
            vec![ipv("10.0.0.1"), i(3)],
            vec![ipv("10.0.0.2"), i(2)],
            vec![ipv("10.0.0.3"), i(1)]
        ]
    );
}

#[test]
fn stats_all_functions() {
    let (cols, rows) = table(
        "event.outcome:failure | stats count() as n, count(user.name), dc(user.name), sum(source.bytes), avg(source.bytes), min(source.bytes), max(user.name), values(user.name) by source.ip",
    );
    assert_eq!(
        cols,
        [
            "source.ip",
            "n",
            "count(user.name)",
            "dc(user.name)",
            "sum(source.bytes)",
            "avg(source.bytes)",
            "min(source.bytes)",
            "max(user.name)",
            "values(user.name)"
        ]
    );
    assert_eq!(
        rows[0],
        vec![
            ipv("10.0.0.1"),
            i(3),
            i(3),
            i(2),
            i(600),
            Some(Value::Float(200.0)),
            i(100),
            s("b"),
            Some(Value::List(vec!["a".into(), "b".into()]))
        ]
    );
    // 10.0.0.3 has no user: count(user.name) 0, max missing, values empty.
    assert_eq!(rows[2][2], i(0));
    assert_eq!(rows[2][3], i(0));
    assert_eq!(rows[2][7], None);
    assert_eq!(rows[2][8], Some(Value::List(vec![])));
}

#[test]
fn stats_without_by_and_over_nothing() {
    let (cols, rows) = table("| stats count(), sum(source.bytes)");
    assert_eq!(cols, ["count", "sum(source.bytes)"]);
    assert_eq!(rows, [vec![i(7), i(708)]]);
    let (_, rows) = table("user.name:nobody | stats count(), avg(source.bytes)");
    assert_eq!(rows, [vec![i(0), None]]);
    let (_, rows) = table("user.name:nobody | stats count() by source.ip");
    assert!(rows.is_empty());
}

#[test]
fn stats_missing_group_field_is_counted() {
    let out = p("| stats count() by user.name").execute(events()).unwrap();
    let QueryResult::Table { rows, .. } = &out.result else {
        panic!("table")
    };
    assert_eq!(rows.len(), 3);
    assert_eq!(out.counters.get("stats_missing_group_field"), 1);
    assert_eq!(out.scanned, 7);
    assert_eq!(out.matched, 7);
}

#[test]
fn sort_head_tail() {
    let (_, rows) = table("| stats count() by source.ip | sort -count, source.ip");
    let ips: Vec<_> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(ips, [ipv("10.0.0.1"), ipv("10.0.0.2"), ipv("10.0.0.3")]);
    let (_, rows) = table("| stats count() by source.ip | sort count");
    assert_eq!(rows[0][0], ipv("10.0.0.3"));
    let (_, rows) = table("| stats count() by source.ip | sort -count | head 2");
    assert_eq!(rows.len(), 2);
    let (_, rows) = table("| stats count() by source.ip | sort -count | tail 1");
    assert_eq!(rows, [vec![ipv("10.0.0.3"), i(1)]]);
    // Ties keep group order (stable sort); missing values sort last either way.
    let (_, rows) = table("| fields user.name, source.bytes | sort -user.name");
    assert_eq!(rows.first().unwrap()[0], s("c"));
    assert_eq!(rows.last().unwrap()[0], None);
    let (_, rows) = table("| fields user.name | sort user.name");
    assert_eq!(rows.last().unwrap()[0], None);
}

#[test]
fn events_sort_head_tail() {
    let ev = |q: &str| match p(q).execute(events()).unwrap().result {
        QueryResult::Events(v) => v,
        other => panic!("events expected, got {other:?}"),
    };
    let v = ev("event.outcome:failure | sort -source.bytes | head 2");
    let b: Vec<_> = v.iter().map(|e| e.get_i64("source.bytes")).collect();
    assert_eq!(b, [Some(300), Some(200)]);
    let v = ev("| head 3");
    assert_eq!(v.len(), 3);
    assert_eq!(v[0], events()[0]);
    let v = ev("| tail 2");
    assert_eq!(v, events()[5..].to_vec());
    let v = ev("| head 0");
    assert!(v.is_empty());
    let v = ev("| where source.bytes>=100 | head 10");
    assert_eq!(v.len(), 3);
}

#[test]
fn fields_makes_a_table() {
    let (cols, rows) = table(
        "source.ip:10.0.0.3 OR event.outcome:success | fields source.ip, user.name, @timestamp",
    );
    assert_eq!(cols, ["source.ip", "user.name", "@timestamp"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], ipv("10.0.0.3"));
    assert_eq!(rows[0][1], None);
    assert_eq!(
        rows[1][2],
        Some(Value::Time(Timestamp::from_unix_secs(T0 + 7500)))
    );
}

#[test]
fn where_after_stats() {
    let (_, rows) = table(
        "| stats count() as n, sum(source.bytes) as bytes by source.ip | where n>=2 AND bytes<1000",
    );
    assert_eq!(rows.len(), 2);
    let (_, rows) = table("| stats count() as n by source.ip | where source.ip:10.0.0.0/31");
    assert_eq!(rows, [vec![ipv("10.0.0.1"), i(4)]]);
    let (_, rows) = table("| stats count() as n by source.ip | where NOT n:1");
    assert_eq!(rows.len(), 2);
}

#[test]
fn top_is_stats_sort_head() {
    let (cols, rows) = table("| top 2 source.ip");
    assert_eq!(cols, ["source.ip", "count"]);
    assert_eq!(
        rows,
        [vec![ipv("10.0.0.1"), i(4)], vec![ipv("10.0.0.2"), i(2)]]
    );
    let (_, rows) = table("| top user.name");
    assert_eq!(rows[0], vec![s("a"), i(3)]);
    assert_eq!(rows.len(), 3);
    assert_eq!(p("| top source.ip").to_string(), "* | top 10 source.ip");
}

#[test]
fn timechart_buckets() {
    let (cols, rows) = table("event.outcome:failure | timechart span=1h count()");
    assert_eq!(cols, ["_time", "count"]);
    let t = |h: i64| Some(Value::Time(Timestamp::from_unix_secs(T0 + h * 3600)));
    assert_eq!(rows, [vec![t(0), i(2)], vec![t(1), i(2)], vec![t(2), i(2)]]);
    let (cols, rows) = table("| timechart span=2h count(), sum(source.bytes) as b by source.ip");
    assert_eq!(cols, ["_time", "source.ip", "count", "b"]);
    assert_eq!(
        rows,
        [
            vec![t(0), ipv("10.0.0.1"), i(3), i(600)],
            vec![t(0), ipv("10.0.0.2"), i(1), i(50)],
            vec![t(2), ipv("10.0.0.1"), i(1), i(1)],
            vec![t(2), ipv("10.0.0.2"), i(1), i(50)],
            vec![t(2), ipv("10.0.0.3"), i(1), i(7)],
        ]
    );
    // Quiet buckets between the first and the last are rows of zero counts.
    let (_, rows) = table("source.ip:10.0.0.3 OR @timestamp<2023-11-14T22:00:11Z | timechart span=1h count(), max(source.bytes)");
    assert_eq!(
        rows,
        [
            vec![t(0), i(2), i(200)],
            vec![t(1), i(0), None],
            vec![t(2), i(1), i(7)]
        ]
    );
    // Extreme instants: no overflow, no endless filling, the gap is reported.
    let far = vec![
        Event::new(Timestamp::MIN, "x"),
        Event::new(Timestamp::MAX, "x"),
    ];
    let out = p("| timechart span=1s count()").execute(&far).unwrap();
    assert_eq!(out.result.len(), 2);
    assert_eq!(out.counters.get("timechart_gaps_not_filled"), 1);
    let out = p("| timechart span=1ns count()")
        .execute(&far[1..])
        .unwrap();
    assert_eq!(out.result.len(), 1);
    // Default span is one hour and count() is implied.
    let (cols, rows) = table("| timechart");
    assert_eq!(cols, ["_time", "count"]);
    assert_eq!(rows.len(), 3);
}

#[test]
fn head_stops_reading_input() {
    let read = Cell::new(0u64);
    let base = events()[0].clone();
    // An endless input: only `head` lets this finish.
    let endless = std::iter::repeat_with(|| {
        read.set(read.get() + 1);
        base.clone()
    });
    let out = p("source.ip:10.0.0.1 | head 5").execute(endless).unwrap();
    assert_eq!(out.result.len(), 5);
    assert_eq!(read.get(), 5);
    assert_eq!(out.scanned, 5);
}

#[test]
fn head_before_a_blocking_stage() {
    let (_, rows) = table("| head 2 | stats count()");
    assert_eq!(rows, [vec![i(2)]]);
    let (_, rows) = table("| head 3 | sort -source.bytes | fields source.bytes");
    assert_eq!(rows, [vec![i(300)], vec![i(200)], vec![i(100)]]);
}

#[test]
fn sort_then_head_keeps_only_the_top_rows() {
    // 50 000 events but room for only 3 000 rows: `sort | head` must not need more.
    let evs: Vec<Event> = (0..50_000i64)
        .map(|n| {
            Event::new(Timestamp::from_unix_secs(T0 + n), "x")
                .with("source.bytes", (n * 7919) % 50_000)
        })
        .collect();
    let limits = Limits {
        max_buffered_rows: 3_000,
        ..Limits::default()
    };
    let out = p("| sort -source.bytes | head 5")
        .execute_with(&evs, &limits)
        .unwrap();
    let QueryResult::Events(v) = out.result else {
        panic!("events")
    };
    let b: Vec<_> = v
        .iter()
        .map(|e| e.get_i64("source.bytes").unwrap())
        .collect();
    assert_eq!(b, [49_999, 49_998, 49_997, 49_996, 49_995]);
    // Ties keep input order: the earliest of the equal values come first.
    let out = p("| sort -event.dataset | head 3")
        .execute_with(&evs, &limits)
        .unwrap();
    let QueryResult::Events(v) = out.result else {
        panic!("events")
    };
    assert_eq!(v, evs[..3].to_vec());
    // Without head the same sort is over the limit and says so.
    let err = p("| sort -source.bytes")
        .execute_with(&evs, &limits)
        .unwrap_err();
    assert!(matches!(err, ExecError::TooManyRows { limit: 3_000, .. }));
}

#[test]
fn group_limit_is_reported() {
    let limits = Limits {
        max_groups: 2,
        ..Limits::default()
    };
    let err = p("| stats count() by source.ip")
        .execute_with(events(), &limits)
        .unwrap_err();
    assert_eq!(
        err,
        ExecError::TooManyGroups {
            stage: "stats count() by source.ip".into(),
            limit: 2
        }
    );
    assert!(err.to_string().contains("more than 2 groups"));
    // Exactly at the limit is fine.
    let limits = Limits {
        max_groups: 3,
        ..Limits::default()
    };
    assert!(p("| stats count() by source.ip")
        .execute_with(events(), &limits)
        .is_ok());
}

#[test]
fn buffer_output_and_distinct_limits_are_reported() {
    let limits = Limits {
        max_buffered_rows: 3,
        ..Limits::default()
    };
    let err = p("| sort source.bytes")
        .execute_with(events(), &limits)
        .unwrap_err();
    assert!(matches!(err, ExecError::TooManyRows { limit: 3, .. }));
    let limits = Limits {
        max_output_rows: 4,
        ..Limits::default()
    };
    let err = p("*").execute_with(events(), &limits).unwrap_err();
    assert_eq!(
        err,
        ExecError::TooManyRows {
            stage: "result".into(),
            limit: 4
        }
    );
    assert!(p("| head 4").execute_with(events(), &limits).is_ok());
    let limits = Limits {
        max_distinct: 2,
        ..Limits::default()
    };
    let err = p("| stats dc(source.bytes)")
        .execute_with(events(), &limits)
        .unwrap_err();
    assert!(matches!(err, ExecError::TooManyDistinct { limit: 2, .. }));
}

#[test]
fn values_are_capped_and_counted() {
    let evs: Vec<Event> = (0..(mamori_query::MAX_VALUES as i64 + 5))
        .map(|n| {
            Event::new(Timestamp::from_unix_secs(T0), "x").with("user.name", format!("u{n:04}"))
        })
        .collect();
    let out = p("| stats values(user.name)").execute(&evs).unwrap();
    let QueryResult::Table { rows, .. } = &out.result else {
        panic!("table")
    };
    let Some(Value::List(v)) = &rows[0][0] else {
        panic!("list")
    };
    assert_eq!(v.len(), mamori_query::MAX_VALUES);
    assert_eq!(out.counters.get("values_truncated"), 5);
}

#[test]
fn stream_passes_items_and_can_stop() {
    let mut seen = Vec::new();
    let stats = p("event.outcome:failure")
        .stream(events(), &Limits::default(), |item| {
            seen.push(item);
            seen.len() < 2
        })
        .unwrap();
    assert_eq!(seen.len(), 2);
    assert!(matches!(seen[0], OutputItem::Event(_)));
    assert_eq!(stats.matched, 2);
}

#[test]
fn result_json_pairs_and_table_text() {
    let out = p("| stats count() by source.ip | sort -count | head 2")
        .execute(events())
        .unwrap();
    let json = out.result.to_json_rows();
    assert_eq!(json[0]["source.ip"], "10.0.0.1");
    assert_eq!(json[0]["count"], 4);
    let pairs = out.result.to_pairs();
    assert_eq!(pairs[1][1], ("count".to_string(), Value::Int(2)));
    let text = out.result.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "source.ip  count");
    assert_eq!(lines[1], "---------  -----");
    assert_eq!(lines[2], "10.0.0.1   4");
    let ev = p("| head 1").execute(events()).unwrap();
    assert!(ev.result.to_string().starts_with("{\"@timestamp\""));
    assert_eq!(ev.result.to_json_rows()[0]["source"]["ip"], "10.0.0.1");
}

#[test]
fn output_columns_follow_the_pipeline() {
    assert_eq!(p("x").output_columns(), None);
    assert_eq!(
        p("| stats count() by source.ip | fields count").output_columns(),
        Some(vec!["count".to_string()])
    );
}

#[test]
fn time_range_applies_before_stages() {
    let o = ParseOptions {
        now: None,
        time: mamori_query::TimeRange::between(
            Timestamp::from_unix_secs(T0 + 3600),
            Timestamp::from_unix_secs(T0 + 7200),
        ),
    };
    let plan = parse("| stats count()", &Schema::ecs(), &o).unwrap();
    let QueryResult::Table { rows, .. } = plan.execute(events()).unwrap().result else {
        panic!("table")
    };
    assert_eq!(rows, [vec![i(2)]]);
}
