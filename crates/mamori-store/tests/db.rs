//! SQLite: migrations, alert workflow, audit chain.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed assertion"
)]

mod common;

use common::TempDir;
use mamori_core::{Alert, Severity, Timestamp};
use mamori_store::db::{AlertFilter, AlertStatus, Db, NewAlert};

fn alert(ip: [u8; 4], at: i64) -> NewAlert {
    let mut a = Alert::new(
        "mamori.net.port_scan",
        "Port scan",
        Severity::High,
        Timestamp::from_unix_secs(at),
        "scan",
    );
    a.source_ip = Some(std::net::Ipv4Addr::from(ip).into());
    NewAlert::from_alert(&a)
}

#[test]
fn migrations_run_twice_without_harm() {
    let t = TempDir::new("db-mig");
    let p = t.path().join("mamori.db");
    let mut db = Db::open(&p).unwrap();
    assert_eq!(db.schema_version().unwrap(), 1);
    assert_eq!(db.migrate().unwrap(), 1);
    db.set_setting("k", "v").unwrap();
    drop(db);
    let db = Db::open(&p).unwrap();
    assert_eq!(db.schema_version().unwrap(), 1);
    assert_eq!(db.setting("k").unwrap().as_deref(), Some("v"));
    let n: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn alert_workflow() {
    let mut db = Db::open_in_memory().unwrap();
    let now = Timestamp::from_unix_secs(2_000_000_000);
    let a = db.upsert_alert(&alert([10, 0, 0, 1], 100), now).unwrap();
    let a2 = db.upsert_alert(&alert([10, 0, 0, 1], 50), now).unwrap();
    assert_eq!(a, a2, "same rule and entities merge");
    let b = db.upsert_alert(&alert([10, 0, 0, 2], 200), now).unwrap();
    assert_ne!(a, b);
    let row = db.get_alert(a).unwrap();
    assert_eq!(row.count, 2);
    assert_eq!(row.first_seen, Timestamp::from_unix_secs(50));
    assert_eq!(row.last_seen, Timestamp::from_unix_secs(100));
    assert_eq!(row.status, AlertStatus::New);
    assert_eq!(row.entities["source.ip"], "10.0.0.1");

    let all = db.list_alerts(&AlertFilter::default()).unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![b, a],
        "newest first"
    );
    let page = db
        .list_alerts(&AlertFilter {
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, a);

    db.ack_alert(a, "alice", now).unwrap();
    db.assign_alert(a, Some("bob"), "alice", now).unwrap();
    db.comment_alert(a, "bob", "調査中", now).unwrap();
    let acked = db
        .list_alerts(&AlertFilter {
            status: Some(AlertStatus::Acknowledged),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(acked.len(), 1);
    assert_eq!(acked[0].assignee.as_deref(), Some("bob"));
    assert_eq!(db.comments(a).unwrap()[0].body, "調査中");

    db.close_alert(a, "bob", now).unwrap();
    assert_eq!(db.get_alert(a).unwrap().status, AlertStatus::Closed);
    // A new occurrence reopens a closed alert.
    db.upsert_alert(&alert([10, 0, 0, 1], 300), now).unwrap();
    assert_eq!(db.get_alert(a).unwrap().status, AlertStatus::New);
    assert_eq!(db.get_alert(a).unwrap().count, 3);

    assert_eq!(db.bulk_ack(&[a, b], "carol", now).unwrap(), 2);
    // Bulk is all-or-nothing.
    assert!(db.bulk_ack(&[a, 9999], "carol", now).is_err());
    assert!(db.ack_alert(12345, "x", now).is_err());
    let hi = db
        .list_alerts(&AlertFilter {
            min_severity: Some(Severity::Critical),
            ..Default::default()
        })
        .unwrap();
    assert!(hi.is_empty());

    let audit = db.list_audit(0, 0).unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "alert.acknowledged",
            "alert.assign",
            "alert.comment",
            "alert.closed",
            "alert.acknowledged",
            "alert.acknowledged"
        ]
    );
    assert_eq!(db.verify_audit().unwrap(), Ok(6));
}

#[test]
fn audit_log_is_append_only_and_tampering_is_detected() {
    let mut db = Db::open_in_memory().unwrap();
    let now = Timestamp::from_unix_secs(1);
    for i in 0..5 {
        db.append_audit(now, "system", "test", &format!("t{i}"), "{}")
            .unwrap();
    }
    assert!(db
        .conn()
        .execute("UPDATE audit_log SET actor = 'x' WHERE id = 2", [])
        .is_err());
    assert!(db
        .conn()
        .execute("DELETE FROM audit_log WHERE id = 2", [])
        .is_err());
    // Behind the triggers' back: drop them, edit a row.
    db.conn()
        .execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    db.conn()
        .execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 3", [])
        .unwrap();
    let brk = db.verify_audit().unwrap().unwrap_err();
    assert_eq!(brk.id, 3);
    assert!(brk.reason.contains("edited"));
    db.conn()
        .execute("UPDATE audit_log SET actor = 'system' WHERE id = 3", [])
        .unwrap();
    assert_eq!(db.verify_audit().unwrap(), Ok(5));
    db.conn()
        .execute("DELETE FROM audit_log WHERE id = 2", [])
        .unwrap();
    let brk = db.verify_audit().unwrap().unwrap_err();
    assert_eq!(brk.id, 3);
    assert!(brk.reason.contains("removed"));
}
