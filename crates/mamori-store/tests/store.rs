//! Store: round trips, seal/scan consistency, pruning, triggers.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use common::*;
use mamori_core::{Event, EventKind, Timestamp, Value};
use mamori_store::segment;
use mamori_store::{ScanRequest, Store};

fn all(store: &Store) -> Vec<Event> {
    let req = ScanRequest::default();
    store.scan(&req).collect::<Result<Vec<_>, _>>().unwrap()
}

fn sorted(mut v: Vec<Event>) -> Vec<Event> {
    v.sort_by(|a, b| (a.timestamp, a.get_str("message")).cmp(&(b.timestamp, b.get_str("message"))));
    v
}

fn rich_event() -> Event {
    let mut e =
        Event::new(Timestamp::from_unix_parts(T0, 123_456_789), "dns").with_kind(EventKind::Alert);
    e.set("source.ip", Ipv4Addr::new(192, 168, 1, 2))
        .set(
            "destination.ip",
            "2001:db8::53".parse::<Ipv6Addr>().unwrap(),
        )
        .set("source.port", 53000)
        .set("destination.port", 53)
        .set("network.bytes", i64::MAX)
        .set("event.duration", -1i64)
        .set("mamori.score", 0.25)
        .set("event.start", Timestamp::from_unix_secs(T0 - 1))
        .set("mamori.tls.self_signed", true)
        .set("dns.question.name", "例え.jp")
        .set("dns.answers", vec!["1.2.3.4", "5.6.7.8"])
        // A typed column holding a value of another type goes to `_extra` and round-trips.
        .set("source.bytes", "not a number")
        .set(
            "related.ip",
            Value::List(vec![
                Value::Ip("10.0.0.1".parse().unwrap()),
                Value::Ip("::1".parse().unwrap()),
            ]),
        )
        .set("winlog.event_data.TargetUserName", "ADMIN$")
        .set("x.float", 1.0)
        .set("x.nan", f64::NAN)
        .set("x.bool", false)
        .set("x.time", Timestamp::from_unix_nanos(-5))
        .set("x.ip", Ipv4Addr::new(8, 8, 8, 8))
        .set(
            "x.nested",
            Value::List(vec![
                Value::List(vec![Value::Int(1)]),
                Value::Str("{\"$ip\":1}".into()),
            ]),
        )
        .set("x.json_like", "{\"$ip\":\"1.2.3.4\"}");
    e
}

fn same(a: &Event, b: &Event) {
    // NaN != NaN: compare that field separately.
    let mut a2 = a.clone();
    let mut b2 = b.clone();
    let na = a2.fields.remove("x.nan");
    let nb = b2.fields.remove("x.nan");
    assert_eq!(a2, b2);
    match (na, nb) {
        (Some(Value::Float(x)), Some(Value::Float(y))) => assert!(x.is_nan() && y.is_nan()),
        (None, None) => {}
        other => panic!("x.nan differs: {other:?}"),
    }
}

#[test]
fn every_field_type_round_trips_through_a_segment() {
    let t = TempDir::new("rt");
    let mut s = open(&t);
    let e = rich_event();
    s.append_batch(std::slice::from_ref(&e)).unwrap();
    // From the tail.
    same(&all(&s)[0], &e);
    let rep = s.seal().unwrap();
    assert_eq!(rep.segments.len(), 1);
    assert_eq!(s.tail_rows(), 0);
    let back = all(&s);
    assert_eq!(back.len(), 1);
    same(&back[0], &e);
    // And the file itself has typed columns where the types fit.
    let path = t.data().join("segments").join(&rep.segments[0].path);
    let evs = segment::read_segment(&path).unwrap();
    same(&evs[0], &e);
    let sch = segment::schema();
    assert_eq!(
        sch.field_with_name("@timestamp")
            .unwrap()
            .data_type()
            .to_string(),
        "Timestamp(ns, \"UTC\")"
    );
    // Reopen: the same events come back from the segment, nothing from the WAL.
    drop(s);
    let s = open(&t);
    assert_eq!(s.tail_rows(), 0);
    same(&all(&s)[0], &e);
}

#[test]
fn tail_and_segments_together_give_what_was_written() {
    let t = TempDir::new("consistency");
    let mut s = open(&t);
    let evs: Vec<Event> = (0..3000).map(event).collect();
    s.append_batch(&evs[..1000]).unwrap();
    s.seal().unwrap();
    s.append_batch(&evs[1000..2000]).unwrap();
    s.seal().unwrap();
    s.append_batch(&evs[2000..]).unwrap();
    assert_eq!(s.tail_rows(), 1000);
    assert_eq!(sorted(all(&s)), sorted(evs.clone()));
    // After reopening, the tail comes back from the WAL.
    drop(s);
    let mut s = open(&t);
    assert_eq!(s.tail_rows(), 1000);
    assert_eq!(sorted(all(&s)), sorted(evs.clone()));
    s.seal().unwrap();
    assert_eq!(sorted(all(&s)), sorted(evs));
    // Sealed WAL files are gone.
    let wal_files = mamori_store::wal::list_files(&t.data().join("wal")).unwrap();
    assert_eq!(wal_files.len(), 1, "{wal_files:?}");
}

#[test]
fn segments_are_time_ordered_and_split_by_dataset_and_day() {
    let t = TempDir::new("layout");
    let mut s = open(&t);
    let mut evs: Vec<Event> = (0..200).map(event).collect();
    evs.reverse();
    let mut late = event(1);
    late.timestamp = Timestamp::from_unix_secs(T0 + 86_400 * 2);
    evs.push(late);
    s.append_batch(&evs).unwrap();
    s.seal().unwrap();
    let days: Vec<String> = s
        .manifest()
        .live_segments()
        .iter()
        .map(|x| format!("{}/{}", x.entry.dataset, x.entry.day))
        .collect();
    assert_eq!(days.len(), 3, "{days:?}");
    assert!(days.contains(&"sshd/2023-11-16".to_string()));
    let req = ScanRequest {
        datasets: Some(vec!["sshd".into()]),
        ..Default::default()
    };
    let got: Vec<Event> = s.scan(&req).map(|r| r.unwrap()).collect();
    assert!(got.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    assert!(got.iter().all(|e| e.dataset == "sshd"));
    assert_eq!(
        got.len(),
        evs.iter().filter(|e| e.dataset == "sshd").count()
    );
}

#[test]
fn pruning_skips_segments_row_groups_and_uses_bloom_filters() {
    const DAY0: i64 = 1_699_920_000; // 2023-11-14T00:00:00Z
    let t = TempDir::new("prune");
    let mut s = open(&t);
    // Several row groups per segment: more than ROW_GROUP_ROWS rows, time-sorted.
    let n = (segment::ROW_GROUP_ROWS * 3) as u64;
    let evs: Vec<Event> = (0..n)
        .map(|i| {
            let mut e = Event::new(Timestamp::from_unix_secs(DAY0 + i as i64 / 10), "flow");
            e.set(
                "source.ip",
                Ipv4Addr::from(0x0a00_0000u32 + (i as u32 % 5000)),
            )
            .set("destination.port", 443);
            e
        })
        .collect();
    s.append_batch(&evs).unwrap();
    s.seal().unwrap();
    let mut other = Event::new(Timestamp::from_unix_secs(DAY0), "sshd");
    other.set("user.name", "root");
    s.append_batch(&[other]).unwrap();
    s.seal().unwrap();

    // Time range inside the first row group: other row groups pruned by statistics, and
    // the sshd segment is pruned by dataset.
    let req = ScanRequest {
        time: (
            Some(Timestamp::from_unix_secs(DAY0)),
            Some(Timestamp::from_unix_secs(DAY0 + 100)),
        ),
        datasets: Some(vec!["flow".into()]),
        ..Default::default()
    };
    let mut sc = s.scan(&req);
    let got = sc.by_ref().count();
    assert_eq!(got, 1000);
    let st = sc.stats();
    assert_eq!(st.segments_considered, 2);
    assert_eq!(st.segments_pruned, 1);
    assert_eq!(st.row_groups_considered, 3);
    assert_eq!(st.row_groups_pruned_stats, 2);
    assert_eq!(st.rows_scanned, segment::ROW_GROUP_ROWS as u64);

    // Needle: an IP inside every row group's min/max range but absent → bloom filter.
    let req = ScanRequest {
        equals: vec![(
            "source.ip".into(),
            vec![Value::Ip("10.0.5.1".parse().unwrap())],
        )],
        ..Default::default()
    };
    // 10.0.5.1 = 0x0a000501 = offset 1281 (present). Use an absent one between min and max.
    // 10.0.100.1 sorts between "10.0.0.0" and "10.0.9.99" as text but was never written.
    let absent = ScanRequest {
        equals: vec![("source.ip".into(), vec![Value::Str("10.0.100.1".into())])],
        ..Default::default()
    };
    let mut sc = s.scan(&absent);
    assert_eq!(sc.by_ref().count(), 0);
    let st = sc.stats();
    assert_eq!(st.rows_scanned, 0, "{st:?}");
    assert!(st.row_groups_pruned_bloom >= 3, "{st:?}");
    let mut sc = s.scan(&req);
    let hits = sc.by_ref().count() as u64;
    assert_eq!(
        hits,
        evs.iter()
            .filter(|e| e.get_ip("source.ip") == Some("10.0.5.1".parse().unwrap()))
            .count() as u64
    );
    assert!(hits > 0);
    // Equality with a non-bloom, statistics-only column: port 80 is outside [443, 443].
    let req = ScanRequest {
        equals: vec![("destination.port".into(), vec![Value::Int(80)])],
        datasets: Some(vec!["flow".into()]),
        ..Default::default()
    };
    let mut sc = s.scan(&req);
    assert_eq!(sc.by_ref().count(), 0);
    assert_eq!(sc.stats().row_groups_pruned_stats, 3);
}

#[test]
fn spilled_values_are_not_pruned_away() {
    // A list in a typed IP column lives in `_extra`; statistics of the typed column must not
    // hide it.
    let t = TempDir::new("spill");
    let mut s = open(&t);
    let mut a = Event::new(Timestamp::from_unix_secs(T0), "flow");
    a.set("source.ip", Ipv4Addr::new(10, 0, 0, 1));
    let mut b = Event::new(Timestamp::from_unix_secs(T0 + 1), "flow");
    b.set(
        "source.ip",
        Value::List(vec![Value::Ip("192.0.2.9".parse().unwrap())]),
    );
    s.append_batch(&[a, b.clone()]).unwrap();
    s.seal().unwrap();
    let req = ScanRequest {
        equals: vec![(
            "source.ip".into(),
            vec![Value::Ip("192.0.2.9".parse().unwrap())],
        )],
        ..Default::default()
    };
    let got: Vec<Event> = s.scan(&req).map(|r| r.unwrap()).collect();
    assert_eq!(got, vec![b]);
}

#[test]
fn ip_ranges_and_predicate_filter_exactly() {
    let t = TempDir::new("filters");
    let mut s = open(&t);
    let evs: Vec<Event> = (0..500).map(event).collect();
    s.append_batch(&evs[..250]).unwrap();
    s.seal().unwrap();
    s.append_batch(&evs[250..]).unwrap();
    let req = ScanRequest {
        ip_ranges: vec![("source.ip".into(), "10.3.0.0/16".parse().unwrap())],
        predicate: Some(Box::new(|e: &Event| {
            e.get_str("event.outcome") == Some("failure")
        })),
        ..Default::default()
    };
    let got = sorted(s.scan(&req).map(|r| r.unwrap()).collect());
    let want = sorted(
        evs.iter()
            .filter(|e| {
                e.get_ip("source.ip")
                    .is_some_and(|ip| ip.to_string().starts_with("10.3."))
            })
            .filter(|e| e.get_str("event.outcome") == Some("failure"))
            .cloned()
            .collect(),
    );
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

#[test]
fn seal_triggers_on_rows_and_new_day() {
    let t = TempDir::new("triggers");
    let mut cfg = config(&t);
    cfg.seal.max_rows = 100;
    let mut s = Store::open(cfg).unwrap();
    let evs: Vec<Event> = (0..99).map(event).collect();
    s.append_batch(&evs).unwrap();
    assert_eq!(s.manifest().live_segments().len(), 0);
    s.append_batch(&[event(99)]).unwrap();
    assert_eq!(s.tail_rows(), 0);
    assert!(!s.manifest().live_segments().is_empty());
    let n = s.manifest().live_segments().len();
    let mut next = event(5);
    next.timestamp = Timestamp::from_unix_secs(T0 + 86_400);
    s.append_batch(&[event(3)]).unwrap();
    assert_eq!(s.tail_rows(), 1);
    s.append_batch(&[next]).unwrap();
    assert_eq!(s.tail_rows(), 0, "entering a new UTC day seals");
    assert!(s.manifest().live_segments().len() > n);
    let r = s.close().unwrap();
    assert_eq!(r.rows, 0);
}

#[test]
fn anchor_is_printable_and_changes_with_each_seal() {
    let t = TempDir::new("anchor");
    let mut s = open(&t);
    let a0 = s.export_anchor();
    s.append_batch(&[event(1)]).unwrap();
    s.seal().unwrap();
    let a1 = s.export_anchor();
    assert_ne!(a0.hash, a1.hash);
    assert_eq!(a1.entries, 1);
    let line = a1.anchor_line();
    assert!(line.starts_with("mamori-anchor v1 entries=1 head="));
    assert!(line.contains(&a1.signature));
    // The key is outside the data dir.
    assert!(t
        .path()
        .join("keys")
        .join(mamori_store::keys::KEY_FILE)
        .exists());
    assert!(!t
        .data()
        .join("manifest")
        .join(mamori_store::keys::KEY_FILE)
        .exists());
}

#[test]
fn default_key_dir_is_outside_the_data_dir() {
    let d = mamori_store::keys::default_key_dir(std::path::Path::new("/srv/mamori/data"));
    assert_eq!(d, std::path::PathBuf::from("/srv/mamori/mamori-keys"));
}
