//! Parser and filter behaviour: every operator, precedence, escaping, wildcards, CIDR, regex,
//! time ranges, typed values and error messages with columns.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::net::IpAddr;

use mamori_core::{Event, Timestamp};
use mamori_query::{
    parse, parse_filter, Constraint, Expr, FieldType, Lit, ParseOptions, Plan, QueryErrorKind,
    Schema, TimeRange,
};

const T0: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

fn opts() -> ParseOptions {
    ParseOptions::default()
}

fn p(q: &str) -> Plan {
    parse(q, &Schema::ecs(), &opts()).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn perr(q: &str) -> mamori_query::QueryError {
    match parse(q, &Schema::ecs(), &opts()) {
        Ok(plan) => panic!("expected an error for {q:?}, got plan {plan}"),
        Err(e) => e,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Five events of three datasets, built here.
fn events() -> Vec<Event> {
    let t = |s: i64| Timestamp::from_unix_secs(T0 + s);
    vec![
        Event::new(t(0), "sshd")
            .with("source.ip", ip("10.0.0.5"))
            .with("user.name", "admin")
            .with("event.outcome", "failure")
            .with("destination.port", 22)
            .with("message", "Failed password for admin from 10.0.0.5"),
        Event::new(t(60), "sshd")
            .with("source.ip", ip("10.0.0.6"))
            .with("user.name", "root")
            .with("event.outcome", "failure")
            .with("destination.port", 22)
            .with("message", "Failed password for root from 10.0.0.6"),
        Event::new(t(120), "sshd")
            .with("source.ip", ip("192.0.2.9"))
            .with("user.name", "administrator")
            .with("event.outcome", "success")
            .with("destination.port", 2222)
            .with("message", "Accepted publickey for administrator"),
        Event::new(t(3600), "dns")
            .with("source.ip", ip("2001:db8::1"))
            .with("dns.question.name", "example.jp")
            .with("destination.port", 53)
            .with("event.original", "query[A] EXAMPLE.jp from 2001:db8::1"),
        Event::new(t(7200), "flow")
            .with("source.ip", ip("10.1.2.3"))
            .with("destination.ip", ip("fe80::1"))
            .with("network.bytes", 1500)
            .with("destination.port", 443)
            .with("related.user", vec!["alice", "bob"])
            .with("user.name", "a*b"),
    ]
}

/// Indices of the events that the query's filter (and time range) matches.
fn hits(q: &str) -> Vec<usize> {
    let plan = p(q);
    events()
        .iter()
        .enumerate()
        .filter(|(_, e)| plan.matches(e))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn equality_operators() {
    assert_eq!(hits("event.dataset:sshd"), [0, 1, 2]);
    assert_eq!(hits("event.dataset=dns"), [3]);
    assert_eq!(hits("user.name:admin"), [0]);
    assert_eq!(hits("user.name:\"admin\""), [0]);
    assert_eq!(hits("destination.port:22"), [0, 1]);
    assert_eq!(hits("event.kind:event"), [0, 1, 2, 3, 4]);
    // `!=` is NOT equality and also matches events without the field.
    assert_eq!(hits("user.name!=admin"), [1, 2, 3, 4]);
    assert_eq!(hits("destination.port!=22"), [2, 3, 4]);
}

#[test]
fn keyword_equality_is_exact() {
    assert_eq!(hits("user.name:Admin"), Vec::<usize>::new());
    assert_eq!(hits("user.name:adm"), Vec::<usize>::new());
}

#[test]
fn range_operators() {
    assert_eq!(hits("destination.port<53"), [0, 1]);
    assert_eq!(hits("destination.port<=53"), [0, 1, 3]);
    assert_eq!(hits("destination.port>443"), [2]);
    assert_eq!(hits("destination.port>=443"), [2, 4]);
    assert_eq!(hits("network.bytes>1000"), [4]);
    assert_eq!(hits("source.ip>=10.0.0.6 AND source.ip<11.0.0.0"), [1, 4]);
    // Keyword fields compare numerically when the value is a number.
    assert_eq!(hits("user.name>5"), Vec::<usize>::new());
}

#[test]
fn boolean_logic_and_synonyms() {
    assert_eq!(hits("user.name:admin OR user.name:root"), [0, 1]);
    assert_eq!(hits("user.name:admin || user.name:root"), [0, 1]);
    assert_eq!(hits("event.dataset:sshd AND event.outcome:failure"), [0, 1]);
    assert_eq!(hits("event.dataset:sshd && event.outcome:failure"), [0, 1]);
    assert_eq!(hits("event.dataset:sshd event.outcome:failure"), [0, 1]);
    assert_eq!(hits("event.dataset:sshd and event.outcome:failure"), [0, 1]);
    assert_eq!(hits("event.dataset:sshd NOT event.outcome:failure"), [2]);
    assert_eq!(hits("event.dataset:sshd -event.outcome:failure"), [2]);
    assert_eq!(hits("event.dataset:sshd !event.outcome:failure"), [2]);
    assert_eq!(hits("event.dataset:sshd not event.outcome:failure"), [2]);
    assert_eq!(hits("NOT NOT user.name:root"), [1]);
}

#[test]
fn precedence_not_and_or() {
    // AND binds tighter than OR.
    let plan = p("user.name:root OR event.dataset:sshd AND event.outcome:success");
    assert!(matches!(&plan.filter, Expr::Or(v) if v.len() == 2 && matches!(v[1], Expr::And(_))));
    assert_eq!(
        hits("user.name:root OR event.dataset:sshd AND event.outcome:success"),
        [1, 2]
    );
    // NOT binds tighter than AND.
    let plan = p("NOT user.name:root AND event.dataset:sshd");
    assert!(matches!(&plan.filter, Expr::And(v) if matches!(v[0], Expr::Not(_))));
    assert_eq!(hits("NOT user.name:root AND event.dataset:sshd"), [0, 2]);
    // Parentheses override.
    assert_eq!(
        hits("(user.name:root OR event.dataset:sshd) AND event.outcome:success"),
        [2]
    );
    assert_eq!(hits("NOT (user.name:root OR event.dataset:sshd)"), [3, 4]);
    assert_eq!(
        p("NOT (a:1 OR b:2)"
            .replace("a:", "user.name:")
            .replace("b:", "user.id:")
            .as_str())
        .to_string(),
        "NOT (user.name:\"1\" OR user.id:\"2\")"
    );
}

#[test]
fn canonical_text() {
    assert_eq!(
        p("event.dataset:sshd event.outcome=failure | stats count() by source.ip | sort -count | head 10").to_string(),
        "event.dataset:\"sshd\" AND event.outcome:\"failure\" | stats count() by source.ip | sort -count | head 10"
    );
    assert_eq!(p("").to_string(), "*");
    assert_eq!(p("   ").filter, Expr::All);
    assert_eq!(p("*").filter, Expr::All);
    assert_eq!(p("(a OR b) c").to_string(), "(\"a\" OR \"b\") AND \"c\"");
    assert_eq!(
        p("destination.port>=1024").to_string(),
        "destination.port>=1024"
    );
    assert_eq!(
        p("source.ip:10.1.2.3/8").to_string(),
        "source.ip:10.0.0.0/8"
    );
    assert_eq!(
        p("| timechart span=60m count() by event.dataset").to_string(),
        "* | timechart span=1h count() by event.dataset"
    );
}

#[test]
fn quoting_and_escapes() {
    let plan = p(r#"message:"password for \"root\" \\ x""#);
    let Expr::Cmp(pr) = &plan.filter else {
        panic!("a comparison")
    };
    // Text fields keep the case-folded literal.
    assert_eq!(
        pr.op,
        mamori_query::Op::Eq(Lit::Str("password for \"root\" \\ x".into()))
    );
    assert_eq!(plan.to_string(), r#"message:"password for \"root\" \\ x""#);
    // A quoted `*` is a literal star, an escaped one too.
    assert_eq!(hits(r#"user.name:"a*b""#), [4]);
    assert_eq!(hits(r"user.name:a\*b"), [4]);
    // Unescaped it is a wildcard (and would also match `aXb`).
    assert!(matches!(
        p("user.name:a*b").filter,
        Expr::Cmp(ref pr) if matches!(pr.op, mamori_query::Op::Wildcard(_))
    ));
    assert_eq!(hits("user.name:a*b"), [4]);
    // Newline and tab escapes.
    let plan = p(r#"user.name:"a\nb\tc""#);
    assert_eq!(plan.to_string(), r#"user.name:"a\nb\tc""#);
}

#[test]
fn wildcards() {
    assert_eq!(hits("user.name:adm*"), [0, 2]);
    assert_eq!(hits("user.name:*min*"), [0, 2]);
    assert_eq!(hits("user.name:r??t"), [1]);
    assert_eq!(hits("user.name:r?t"), Vec::<usize>::new());
    assert_eq!(hits("source.ip:10.0.*"), [0, 1]);
    // Text fields: case-insensitive.
    assert_eq!(hits("message:*PASSWORD*"), [0, 1]);
    // Lists: any item.
    assert_eq!(hits("related.user:b*"), [4]);
    assert_eq!(hits("related.user:bob"), [4]);
    // Free text wildcard.
    assert_eq!(hits("pass*rd"), [0, 1]);
}

#[test]
fn wildcard_on_number_is_a_type_error() {
    let e = perr("destination.port:2*");
    assert_eq!(
        e.kind,
        QueryErrorKind::BadValue {
            field: "destination.port".into(),
            expected: "a number",
            value: "2*".into()
        }
    );
}

#[test]
fn cidr_v4_and_v6() {
    assert_eq!(hits("source.ip:10.0.0.0/8"), [0, 1, 4]);
    assert_eq!(hits("source.ip:10.0.0.0/30"), Vec::<usize>::new());
    assert_eq!(hits("source.ip:10.0.0.4/30"), [0, 1]);
    assert_eq!(hits("source.ip:2001:db8::/32"), [3]);
    assert_eq!(hits("source.ip:2001:db8::1"), [3]);
    assert_eq!(hits("destination.ip:fe80::/10"), [4]);
    assert_eq!(hits("NOT source.ip:10.0.0.0/8"), [2, 3]);
    let e = perr("source.ip:10.0.0.0/33");
    assert!(matches!(
        e.kind,
        QueryErrorKind::BadValue {
            expected: "an IP address or CIDR",
            ..
        }
    ));
    let e = perr("source.ip:not-an-ip");
    assert_eq!(
        e.to_string(),
        "`source.ip` expects an IP address or CIDR, got `not-an-ip` at column 11"
    );
}

#[test]
fn regex_values() {
    assert_eq!(hits("user.name:/^adm.n$/"), [0]);
    assert_eq!(hits("user.name:/^ADMIN/"), Vec::<usize>::new());
    assert_eq!(hits("user.name:/^ADMIN/i"), [0, 2]);
    assert_eq!(hits("message:/from 10\\.0\\.0\\.[56]$/"), [0, 1]);
    // `\/` is a slash inside the pattern; printing keeps it escaped.
    let plan = p(r"url.path:/^\/admin\/.*/");
    assert_eq!(plan.to_string(), r"url.path:/^\/admin\/.*/");
    let e = perr("user.name:/(unclosed/");
    assert_eq!(
        e.to_string(),
        "invalid regular expression /(unclosed/: unclosed group at column 11"
    );
    assert_eq!(e.column, 11);
    let e = perr("user.name:/abc");
    assert_eq!(e.kind, QueryErrorKind::UnterminatedRegex);
    let e = perr("user.name:/abc/x");
    assert!(matches!(e.kind, QueryErrorKind::Expected { .. }));
}

#[test]
fn value_groups() {
    assert_eq!(hits("user.name:(admin OR root)"), [0, 1]);
    assert_eq!(hits("user.name:(admin || \"root\" OR adm*)"), [0, 1, 2]);
    assert_eq!(hits("destination.port:(22 OR 53)"), [0, 1, 3]);
    assert_eq!(
        hits("source.ip:(10.0.0.0/8 OR 2001:db8::/32)"),
        [0, 1, 3, 4]
    );
    assert_eq!(hits("user.name!=(admin OR root)"), [2, 3, 4]);
    assert_eq!(
        p("user.name:(admin OR root)").to_string(),
        "user.name:\"admin\" OR user.name:\"root\""
    );
    // The group is a prune hint like the spelled-out OR.
    assert_eq!(
        p("destination.port:(22 OR 53)").prune_hints().fields.len(),
        1
    );
    let e = perr("destination.port:(22 OR x)");
    assert_eq!(
        e.to_string(),
        "`destination.port` expects a number, got `x` at column 25"
    );
    let e = perr("user.name:(admin OR)");
    assert_eq!(e.to_string(), "expected a value after ':' at column 10");
    let e = perr("user.name:(admin root)");
    assert!(matches!(e.kind, QueryErrorKind::Expected { .. }));
    assert_eq!(e.column, 18);
    assert!(matches!(
        perr("destination.port>(1 OR 2)").kind,
        QueryErrorKind::ExpectedValue { .. }
    ));
}

#[test]
fn exists() {
    assert_eq!(hits("dns.question.name:*"), [3]);
    assert_eq!(hits("NOT user.name:*"), [3]);
    assert_eq!(hits("user.name!=*"), [3]);
    assert_eq!(p("user.name:*").to_string(), "user.name:*");
}

#[test]
fn free_text() {
    assert_eq!(hits("failed"), [0, 1]);
    assert_eq!(hits("FAILED root"), [1]);
    assert_eq!(hits("\"password for root\""), [1]);
    assert_eq!(hits("\"PASSWORD FOR\" -root"), [0]);
    // event.original is searched too.
    assert_eq!(hits("example.JP"), [3]);
    assert_eq!(hits("nothing-like-this"), Vec::<usize>::new());
}

#[test]
fn time_from_caller_and_query() {
    let t = |s: i64| Timestamp::from_unix_secs(T0 + s);
    // The query narrows.
    let plan = p("@timestamp>=2023-11-14T22:14:20Z");
    assert_eq!(plan.time.start, Some(t(60)));
    assert_eq!(plan.time.end, None);
    let hits_q = |plan: &Plan| {
        events()
            .iter()
            .enumerate()
            .filter(|(_, e)| plan.matches(e))
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    assert_eq!(hits_q(&plan), [1, 2, 3, 4]);
    // Caller range intersected with the query range.
    let o = ParseOptions {
        now: Some(t(7200)),
        time: TimeRange::since(t(7200), mamori_core::Duration::from_secs(3600)),
    };
    let plan = parse("@timestamp<now-30m", &Schema::ecs(), &o).unwrap();
    assert_eq!(plan.time, TimeRange::between(t(3600), t(5400)));
    assert_eq!(hits_q(&plan), [3]);
    // Date-only values are midnight UTC.
    let plan = p("@timestamp>=2023-11-14 AND @timestamp<2023-11-15");
    assert_eq!(
        plan.time,
        TimeRange::between(
            Timestamp::from_civil(2023, 11, 14, 0, 0, 0, 0).unwrap(),
            Timestamp::from_civil(2023, 11, 15, 0, 0, 0, 0).unwrap()
        )
    );
    assert_eq!(hits_q(&plan), [0, 1, 2, 3]);
    // Under an OR the time is not a range constraint.
    let plan = p("@timestamp>=2023-11-15 OR user.name:root");
    assert_eq!(plan.time, TimeRange::ALL);
    assert_eq!(hits_q(&plan), [1, 4]);
    // Relative time needs a reference.
    let e = perr("@timestamp>now-1h");
    assert_eq!(
        e.kind,
        QueryErrorKind::NoReferenceTime {
            value: "now-1h".into()
        }
    );
    // Offsets and the canonical form.
    let plan = p("@timestamp>=2023-11-15T07:13:20+09:00");
    assert_eq!(plan.time.start, Some(t(0)));
    assert_eq!(
        plan.to_string(),
        "@timestamp>=2023-11-14T22:13:20.000000000Z"
    );
    // Outside the nanosecond range (years 1678..2261) is not a date we can compare.
    assert!(matches!(
        perr("@timestamp>1600-01-01").kind,
        QueryErrorKind::BadValue { .. }
    ));
    assert!(matches!(
        perr("@timestamp>9999-01-01").kind,
        QueryErrorKind::BadValue { .. }
    ));
    let e = perr("@timestamp>yesterday");
    assert!(matches!(e.kind, QueryErrorKind::BadValue { .. }));
}

#[test]
fn type_errors_name_field_value_and_column() {
    let e = perr("event.dataset:sshd destination.port:abc");
    assert_eq!(
        e.to_string(),
        "`destination.port` expects a number, got `abc` at column 37"
    );
    let e = perr("destination.port > abc");
    assert_eq!(
        e.to_string(),
        "`destination.port` expects a number, got `abc` at column 20"
    );
    let e = perr("network.bytes>1.5");
    assert!(matches!(e.kind, QueryErrorKind::BadValue { .. }));
    let e = perr("user.name<abc");
    assert!(matches!(e.kind, QueryErrorKind::BadValue { .. }));
    let e = perr("user.name>a*");
    assert!(matches!(e.kind, QueryErrorKind::UnsupportedOperator { .. }));
}

#[test]
fn unknown_fields_get_suggestions() {
    let e = perr("sorce.ip:10.0.0.1");
    assert_eq!(
        e.to_string(),
        "unknown field `sorce.ip` (did you mean `source.ip`?) at column 1"
    );
    let e = perr("event.dataset:x AND destination.prot>1");
    assert_eq!(
        e.kind,
        QueryErrorKind::UnknownField {
            field: "destination.prot".into(),
            suggestion: Some("destination.port".into())
        }
    );
    assert_eq!(e.column, 21);
    let e = perr("zzzzzz.qqqqq:1");
    assert_eq!(e.to_string(), "unknown field `zzzzzz.qqqqq` at column 1");
    // Caller fields and prefixes.
    let schema = Schema::ecs()
        .with_field("custom.score", FieldType::Double)
        .with_prefix("labels.*", FieldType::Keyword);
    assert!(parse("custom.score>0.5 labels.team:red", &schema, &opts()).is_ok());
    assert!(parse("winlog.event_data.TargetUserName:bob", &schema, &opts()).is_ok());
    let e = parse("custom.scor>1", &schema, &opts()).unwrap_err();
    assert!(e.to_string().contains("did you mean `custom.score`"), "{e}");
}

#[test]
fn syntax_errors_point_at_columns() {
    let e = perr("event.outcome:");
    assert_eq!(e.to_string(), "expected a value after ':' at column 14");
    assert_eq!(
        e.render(),
        "expected a value after ':' at column 14\n  event.outcome:\n               ^"
    );
    // A keyword after `: ` is not taken as the value.
    let e = perr("event.outcome: AND x");
    assert_eq!(e.to_string(), "expected a value after ':' at column 14");
    // Quoted, it is one.
    assert!(parse("event.outcome: \"AND\" x", &Schema::ecs(), &opts()).is_ok());
    let e = perr("(user.name:root");
    assert_eq!(
        e.to_string(),
        "expected ')', found end of query at column 16"
    );
    let e = perr("user.name:root)");
    assert_eq!(e.column, 15);
    let e = perr("user.name:\"root");
    assert_eq!(e.kind, QueryErrorKind::UnterminatedQuote);
    assert_eq!(e.column, 11);
    let e = perr("user.name:root OR");
    assert_eq!(
        e.to_string(),
        "expected a search term, found end of query at column 18"
    );
    let e = perr(":root");
    assert!(matches!(e.kind, QueryErrorKind::Expected { .. }));
    let e = perr("a | nosuch x");
    assert_eq!(
        e.kind,
        QueryErrorKind::UnknownCommand {
            name: "nosuch".into()
        }
    );
    assert_eq!(e.column, 5);
    let e = perr("a |");
    assert!(matches!(e.kind, QueryErrorKind::Expected { .. }));
    let e = perr("| stats median(network.bytes)");
    assert_eq!(
        e.kind,
        QueryErrorKind::UnknownFunction {
            name: "median".into()
        }
    );
    let e = perr("| stats sum()");
    assert!(matches!(
        e.kind,
        QueryErrorKind::FunctionNeedsField { name: "sum" }
    ));
    let e = perr("| stats count() by source.ip | sort -cnt");
    assert!(matches!(e.kind, QueryErrorKind::UnknownColumn { ref name, .. } if name == "cnt"));
    assert!(
        e.to_string().contains("columns here: source.ip, count"),
        "{e}"
    );
    let e = perr("| stats count() by source.ip | where failed");
    assert!(matches!(e.kind, QueryErrorKind::FreeTextOnRows { .. }));
    let e = perr("| head lots");
    assert!(matches!(
        e.kind,
        QueryErrorKind::Expected { .. } | QueryErrorKind::BadArgument { .. }
    ));
    let e = perr("| head 5x");
    assert!(matches!(e.kind, QueryErrorKind::BadArgument { .. }));
    let e = perr("| timechart span=0s count()");
    assert!(matches!(e.kind, QueryErrorKind::BadArgument { .. }));
    let e = perr("| timechart span=fortnight count()");
    assert!(matches!(e.kind, QueryErrorKind::BadArgument { .. }));
}

#[test]
fn limits_on_input() {
    let long = "a ".repeat(mamori_query::MAX_QUERY_CHARS);
    assert!(matches!(perr(&long).kind, QueryErrorKind::TooLong { .. }));
    let deep = format!("{}a{}", "(".repeat(200), ")".repeat(200));
    assert!(matches!(perr(&deep).kind, QueryErrorKind::TooDeep { .. }));
    let nots = format!("{}a", "NOT ".repeat(200));
    assert!(matches!(perr(&nots).kind, QueryErrorKind::TooDeep { .. }));
    let ok_depth = format!("{}a{}", "(".repeat(30), ")".repeat(30));
    assert!(parse(&ok_depth, &Schema::ecs(), &opts()).is_ok());
    let many = format!("a{}", " OR a".repeat(mamori_query::MAX_LIST_ITEMS));
    assert!(matches!(perr(&many).kind, QueryErrorKind::TooMany { .. }));
    let stages = "| head 1 ".repeat(mamori_query::MAX_STAGES + 1);
    assert!(matches!(perr(&stages).kind, QueryErrorKind::TooMany { .. }));
}

#[test]
fn parse_filter_for_saved_searches() {
    let e = parse_filter("user.name:root", &Schema::ecs(), &opts()).unwrap();
    assert!(e.matches(&events()[1]));
    assert!(!e.matches(&events()[0]));
    let err = parse_filter("user.name:root | head 1", &Schema::ecs(), &opts()).unwrap_err();
    assert_eq!(err.column, 16);
}

#[test]
fn prune_hints_from_top_level_ands() {
    let plan = p("event.dataset:sshd source.ip:10.0.0.0/8 destination.port>=1024 user.name:adm* (user.name:a OR user.name:b) message:fail (x OR user.name:c) NOT user.id:1");
    let h = plan.prune_hints();
    let get = |f: &str| {
        h.fields
            .iter()
            .filter(|x| x.field == f)
            .map(|x| x.constraint.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        get("event.dataset"),
        [Constraint::AnyOf {
            values: vec![Lit::Str("sshd".into())],
            nets: vec![]
        }]
    );
    assert_eq!(
        get("source.ip"),
        [Constraint::AnyOf {
            values: vec![],
            nets: vec!["10.0.0.0/8".parse().unwrap()]
        }]
    );
    assert_eq!(
        get("destination.port"),
        [Constraint::Range {
            lower: Some((Lit::Int(1024), true)),
            upper: None
        }]
    );
    assert_eq!(
        get("user.name"),
        [
            Constraint::Prefix("adm".into()),
            Constraint::AnyOf {
                values: vec![Lit::Str("a".into()), Lit::Str("b".into())],
                nets: vec![]
            }
        ]
    );
    // Substring text matches, mixed ORs and NOTs give no hint.
    assert!(get("message").is_empty());
    assert!(get("user.id").is_empty());
    assert_eq!(h.fields.len(), 5);
    assert_eq!(h.time, TimeRange::ALL);
    // Nothing from an OR at the top.
    assert!(p("source.ip:10.0.0.1 OR user.name:x")
        .prune_hints()
        .fields
        .is_empty());
}

#[test]
fn fields_needed() {
    let need =
        p("event.dataset:sshd failed | stats count(), dc(user.name) by source.ip | sort -count")
            .fields_needed()
            .unwrap();
    let v: Vec<&str> = need.iter().map(String::as_str).collect();
    assert_eq!(
        v,
        [
            "@timestamp",
            "event.dataset",
            "event.original",
            "message",
            "source.ip",
            "user.name"
        ]
    );
    assert_eq!(p("user.name:x | head 5").fields_needed(), None);
    let need = p("user.name:x | fields source.ip").fields_needed().unwrap();
    assert!(need.contains("source.ip") && need.contains("user.name"));
}

#[test]
fn values_of_other_types() {
    let schema = Schema::ecs()
        .with_field("x.flag", FieldType::Boolean)
        .with_field("x.ratio", FieldType::Double);
    let f = |q: &str| parse(q, &schema, &opts()).map(|p| p.filter);
    let e = Event::new(Timestamp::from_unix_secs(T0), "t")
        .with("x.flag", true)
        .with("x.ratio", 0.25)
        .with("event.duration", "1500"); // text that parses as a number
    assert!(f("x.flag:true").unwrap().matches(&e));
    assert!(!f("x.flag:false").unwrap().matches(&e));
    assert!(f("x.ratio<0.5").unwrap().matches(&e));
    assert!(f("x.ratio>=0.25").unwrap().matches(&e));
    assert!(f("event.duration>1000").unwrap().matches(&e));
    assert!(f("x.flag<true").is_err());
    assert!(f("x.flag:maybe").is_err());
    assert!(f("x.ratio:NaN").is_err());
    assert!(f("x.ratio:inf").is_err());
    assert!(f("destination.port:99999999999999999999").is_err());
}

#[test]
fn unicode_and_japanese_text() {
    let e = Event::new(Timestamp::from_unix_secs(T0), "app")
        .with("message", "ログイン失敗: ユーザー 山田")
        .with("user.name", "山田");
    let m = |q: &str| p(q).filter.matches(&e);
    assert!(m("ログイン失敗"));
    assert!(m("user.name:山田"));
    assert!(m("user.name:山?"));
    assert!(m("\"ユーザー 山田\""));
    assert!(!m("user.name:田中"));
}

#[test]
fn error_render_handles_control_characters() {
    let e = perr("user.name:\t\"x");
    let r = e.render();
    assert!(!r.contains('\t'), "{r}");
    assert!(r.ends_with('^'));
}
