//! Retention boundaries, override, quota.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

mod common;

use common::*;
use mamori_core::{Event, Timestamp};
use mamori_store::retention::{ActionKind, RetentionConfig, RetentionPolicy, Tier};
use mamori_store::{Db, Store};

const DAY: i64 = 86_400;
const NOW: i64 = 1_763_856_000; // 2025-11-23T00:00:00Z

/// One segment per age in `ages` (days before NOW), dataset sshd.
fn store_with_ages(t: &TempDir, ages: &[i64]) -> Store {
    let mut s = open(t);
    for a in ages {
        let mut e = Event::new(Timestamp::from_unix_secs(NOW - a * DAY + 3600), "sshd");
        e.set("message", format!("age {a}"));
        s.append_batch(&[e]).unwrap();
        s.seal().unwrap();
    }
    s
}

fn now() -> Timestamp {
    Timestamp::from_unix_secs(NOW + 12 * 3600)
}

fn kinds(plan: &mamori_store::RetentionPlan, s: &Store) -> Vec<(i64, Option<ActionKind>)> {
    let ents = s.manifest().entries();
    let mut v: Vec<(i64, Option<ActionKind>)> = plan
        .segments
        .iter()
        .map(|seg| {
            let a = plan
                .actions
                .iter()
                .find(|a| a.seq == seg.seq)
                .map(|a| a.kind);
            let _ = ents;
            (seg.age_days, a)
        })
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

#[test]
fn boundaries_at_hot_and_delete_days() {
    let t = TempDir::new("ret-bounds");
    let mut s = store_with_ages(&t, &[0, 89, 90, 91, 399, 400, 401]);
    let cfg = RetentionConfig::default();
    let plan = s.retention_plan(&cfg, now()).unwrap();
    assert_eq!(
        kinds(&plan, &s),
        vec![
            (0, None),
            (89, None),
            (90, Some(ActionKind::Archive)),
            (91, Some(ActionKind::Archive)),
            (399, Some(ActionKind::Archive)),
            (400, Some(ActionKind::Delete)),
            (401, Some(ActionKind::Delete)),
        ]
    );
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let mut db = Db::open_in_memory().unwrap();
    let audit = s
        .apply_retention(&mut db, &plan, "retention", now())
        .unwrap();
    assert_eq!(audit.len(), 5);
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "retention.delete")
            .count(),
        2
    );
    assert_eq!(db.list_audit(0, 0).unwrap().len(), 5);
    assert_eq!(db.verify_audit().unwrap(), Ok(5));
    // Archived segments are still scanned and verified; deleted ones are gone legitimately.
    let left: Vec<Event> = s.scan(&Default::default()).map(|r| r.unwrap()).collect();
    assert_eq!(left.len(), 5);
    let r = s.verify();
    assert!(r.ok, "{:?}", r.problems);
    let plan2 = s.retention_plan(&cfg, now()).unwrap();
    assert!(plan2.actions.is_empty(), "{:?}", plan2.actions);
    assert_eq!(
        plan2
            .segments
            .iter()
            .filter(|x| x.tier == Tier::Archived)
            .count(),
        3
    );
    // Survives reopening.
    drop(s);
    let s = open(&t);
    assert_eq!(s.scan(&Default::default()).count(), 5);
    assert!(s.verify().ok);
}

#[test]
fn below_recommended_needs_override_and_is_flagged() {
    let t = TempDir::new("ret-override");
    let s = store_with_ages(&t, &[10, 200]);
    let mut cfg = RetentionConfig::default();
    cfg.per_dataset.insert(
        "sshd".into(),
        RetentionPolicy {
            hot_days: 30,
            delete_after_days: 180,
            allow_below_recommended: false,
        },
    );
    let err = s.retention_plan(&cfg, now()).unwrap_err();
    assert!(err.to_string().contains("allow_below_recommended"), "{err}");
    cfg.per_dataset
        .get_mut("sshd")
        .unwrap()
        .allow_below_recommended = true;
    let plan = s.retention_plan(&cfg, now()).unwrap();
    assert_eq!(plan.below_recommended, vec!["sshd".to_string()]);
    assert!(plan.warnings[0].contains("below the recommended 365"));
    assert_eq!(
        kinds(&plan, &s),
        vec![(10, None), (200, Some(ActionKind::Delete))]
    );
    // delete before hot is nonsense.
    cfg.per_dataset.get_mut("sshd").unwrap().delete_after_days = 10;
    assert!(s.retention_plan(&cfg, now()).is_err());
}

#[test]
fn quota_deletes_oldest_first_with_a_warning() {
    let t = TempDir::new("ret-quota");
    let mut s = store_with_ages(&t, &[1, 2, 3, 4]);
    let sizes: u64 = s
        .manifest()
        .live_segments()
        .iter()
        .map(|x| x.entry.size)
        .sum();
    let one = s.manifest().live_segments()[0].entry.size;
    let cfg = RetentionConfig {
        quota_bytes: Some(sizes - one / 2),
        ..Default::default()
    };
    let plan = s.retention_plan(&cfg, now()).unwrap();
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.actions[0].age_days, 4);
    assert_eq!(plan.actions[0].reason, "quota");
    assert!(
        plan.warnings[0].contains("disk quota"),
        "{:?}",
        plan.warnings
    );
    let mut db = Db::open_in_memory().unwrap();
    let audit = s.apply_retention(&mut db, &plan, "admin", now()).unwrap();
    assert_eq!(audit[0].action, "retention.warning");
    assert_eq!(audit[1].action, "retention.delete");
    assert_eq!(s.manifest().live_segments().len(), 3);
    // Near the quota: a warning, no action.
    let left: u64 = s
        .manifest()
        .live_segments()
        .iter()
        .map(|x| x.entry.size)
        .sum();
    let cfg = RetentionConfig {
        quota_bytes: Some(left),
        ..Default::default()
    };
    let plan = s.retention_plan(&cfg, now()).unwrap();
    assert!(plan.actions.is_empty());
    assert!(
        plan.warnings.iter().any(|w| w.contains("90%")),
        "{:?}",
        plan.warnings
    );
}
