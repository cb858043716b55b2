//! Property tests: parse → print → parse gives the same plan; arbitrary text never panics
//! (and whatever parses also round-trips and evaluates).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::net::IpAddr;

use mamori_core::{Event, Timestamp};
use mamori_query::{parse, ParseOptions, Plan, Schema};
use proptest::prelude::*;

fn schema() -> Schema {
    Schema::ecs()
}

fn opts() -> ParseOptions {
    ParseOptions {
        now: Some(Timestamp::from_unix_secs(1_700_000_000)),
        time: Default::default(),
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![":", "=", "!=", "<", "<=", ">", ">="])
}

fn eq_op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![":", "=", "!=", ": "])
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

/// One comparison or free-text term, as an analyst might type it.
fn term() -> impl Strategy<Value = String> {
    let kw_field = prop::sample::select(vec![
        "user.name",
        "event.outcome",
        "event.dataset",
        "host.name",
        "winlog.event_data.TargetUserName",
        "message",
    ]);
    prop_oneof![
        (kw_field.clone(), eq_op(), any::<String>())
            .prop_map(|(f, o, v)| format!("{f}{o}{}", quote(&v))),
        (kw_field.clone(), eq_op(), "[a-zA-Z0-9_.*?-]{1,10}")
            .prop_map(|(f, o, v)| format!("{f}{o}{v}")),
        (kw_field.clone(), op(), -1.0e9f64..1.0e9).prop_map(|(f, o, v)| {
            // Keyword range comparisons need numbers; equality takes any text.
            format!("{f}{o}{v}")
        }),
        (
            prop::sample::select(vec!["destination.port", "network.bytes"]),
            op(),
            any::<i64>()
        )
            .prop_map(|(f, o, v)| format!("{f}{o}{v}")),
        (
            prop::sample::select(vec!["mamori.score"]),
            op(),
            any::<f64>().prop_filter("finite", |f| f.is_finite())
        )
            .prop_map(|(f, o, v)| format!("{f}{o}{v}")),
        (
            prop::sample::select(vec!["source.ip", "destination.ip"]),
            op(),
            ip()
        )
            .prop_map(|(f, o, v)| format!("{f}{o}{v}")),
        (
            prop::sample::select(vec!["source.ip", "related.ip"]),
            eq_op(),
            ip(),
            0u8..=128
        )
            .prop_map(|(f, o, v, len)| {
                let len = if v.is_ipv4() { len % 33 } else { len };
                format!("{f}{o}{v}/{len}")
            }),
        (op(), -9_000_000_000i64..9_000_000_000, 0u32..1_000_000_000)
            .prop_map(|(o, s, n)| format!("@timestamp{o}{}", Timestamp::from_unix_parts(s, n))),
        (
            op(),
            prop::sample::select(vec![
                "now",
                "now-7d",
                "now+1h",
                "2026-11-01",
                "2026-11-01T10:30"
            ])
        )
            .prop_map(|(o, v)| format!("event.start{o}{v}")),
        (kw_field.clone(), any::<String>(), any::<bool>()).prop_map(|(f, v, ci)| {
            let src = regex::escape(&v).replace('/', "\\/");
            format!("{f}:/{src}/{}", if ci { "i" } else { "" })
        }),
        (kw_field.clone(), eq_op()).prop_map(|(f, o)| format!("{f}{o}*")),
        (
            kw_field,
            eq_op(),
            prop::collection::vec(any::<String>(), 1..4)
        )
            .prop_map(|(f, o, vs)| {
                let vs: Vec<String> = vs.iter().map(|v| quote(v)).collect();
                format!("{f}{o}({})", vs.join(" OR "))
            }),
        (
            prop::sample::select(vec!["destination.port", "network.bytes"]),
            prop::sample::select(vec![" > ", " <= ", " : ", " != "]),
            any::<i64>()
        )
            .prop_map(|(f, o, v)| format!("{f}{o}{v}")),
        "[a-zA-Z0-9_*?]{1,10}".prop_filter("not a keyword", |w| {
            !matches!(w.to_ascii_uppercase().as_str(), "AND" | "OR" | "NOT")
        }),
        any::<String>().prop_map(|s| quote(&s)),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    term().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                inner.clone(),
                prop::sample::select(vec![" AND ", " ", " && ", " and "])
            )
                .prop_map(|(a, b, j)| format!("{a}{j}{b}")),
            (
                inner.clone(),
                inner.clone(),
                prop::sample::select(vec![" OR ", " || ", " or "])
            )
                .prop_map(|(a, b, j)| format!("{a}{j}{b}")),
            (
                inner.clone(),
                prop::sample::select(vec!["NOT ", "-", "!", "not "])
            )
                .prop_map(|(a, n)| format!("{n}({a})")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

fn stage() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "| stats count() by source.ip | sort -count | head 5",
        "| stats count() as n, dc(user.name), sum(network.bytes) as b, avg(network.bytes), min(@timestamp), max(user.name), values(user.name) by source.ip, event.dataset | where n>1 AND b<1000",
        "| timechart span=15m count() by event.dataset",
        "| timechart span=1d sum(network.bytes)",
        "| sort -@timestamp, user.name | head 3",
        "| tail 2",
        "| fields source.ip, user.name | sort user.name",
        "| top 3 user.name",
        "| where destination.port>1024 | head",
        "",
    ])
}

fn roundtrip(plan: &Plan) {
    let text = plan.to_string();
    let again = parse(&text, &schema(), &opts())
        .unwrap_or_else(|e| panic!("canonical text does not parse: {text:?}\n{}", e.render()));
    assert_eq!(&again, plan, "round trip changed the plan; text {text:?}");
    assert_eq!(again.to_string(), text, "printing is not idempotent");
}

fn sample_event() -> Event {
    Event::new(Timestamp::from_unix_secs(1_700_000_000), "sshd")
        .with("user.name", "admin")
        .with("message", "Failed password for admin")
        .with("source.ip", "10.0.0.5".parse::<IpAddr>().unwrap())
        .with("destination.port", 22)
        .with("network.bytes", 100)
        .with("related.ip", vec!["10.0.0.5".parse::<IpAddr>().unwrap()])
}

/// Events with extreme and odd values: the evaluator must not panic on any of them.
fn odd_events() -> Vec<Event> {
    let mut v = vec![sample_event()];
    for t in [Timestamp::MIN, Timestamp::MAX, Timestamp::EPOCH] {
        v.push(
            Event::new(t, "")
                .with("user.name", 12345)
                .with("destination.port", "not a number")
                .with("network.bytes", i64::MAX)
                .with("mamori.score", f64::NAN)
                .with("source.ip", "garbage")
                .with("message", "İstanbul ß ﬀ 日本語")
                .with("event.start", "2026-13-45")
                .with(
                    "related.ip",
                    mamori_core::Value::List(vec![
                        mamori_core::Value::Int(1),
                        mamori_core::Value::List(vec![]),
                    ]),
                ),
        );
    }
    v.push(Event::new(Timestamp::MAX, "x").with("network.bytes", i64::MAX));
    v.push(
        Event::new(Timestamp::MIN, "x")
            .with("network.bytes", i64::MIN)
            .with("mamori.score", f64::INFINITY),
    );
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, .. ProptestConfig::default() })]

    #[test]
    fn generated_queries_parse_and_round_trip(f in filter(), s in stage()) {
        let q = format!("{f} {s}");
        let plan = parse(&q, &schema(), &opts())
            .unwrap_or_else(|e| panic!("generated query rejected: {q:?}\n{}", e.render()));
        roundtrip(&plan);
        let _ = plan.execute(odd_events());
    }

    #[test]
    fn arbitrary_text_never_panics(q in any::<String>()) {
        if let Ok(plan) = parse(&q, &schema(), &opts()) {
            roundtrip(&plan);
            let _ = plan.execute(odd_events());
        }
    }

    #[test]
    fn query_alphabet_never_panics(q in r#"[a-z@.:=<>!()"*?/\\| \-&0-9]{0,80}"#) {
        if let Ok(plan) = parse(&q, &schema(), &opts()) {
            roundtrip(&plan);
            let _ = plan.execute(odd_events());
        }
    }

    #[test]
    fn field_soup_never_panics(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "source.ip", "user.name", "message", "destination.port", "@timestamp", ":", "=",
                "!=", "<", ">=", "*", "?", "\"", "\\", "/", "(", ")", "|", " ", "AND", "OR",
                "NOT", "-", "!", "stats", "count()", "by", "sort", "head", "10", "10.0.0.0/8",
                "::1", "now-1h", "2026-11-01", "/a.b/i", ",", "as", "timechart", "span=1h",
                "where", "top", "fields", "dc(user.name)", "日本", "tail", "&&", "||",
            ]),
            0..24,
        )
    ) {
        let q: String = parts.concat();
        if let Ok(plan) = parse(&q, &schema(), &opts()) {
            roundtrip(&plan);
            let _ = plan.execute(odd_events());
        }
        let spaced = parts.join(" ");
        if let Ok(plan) = parse(&spaced, &schema(), &opts()) {
            roundtrip(&plan);
            let _ = plan.execute(odd_events());
        }
    }
}
