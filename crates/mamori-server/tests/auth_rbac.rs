//! The full RBAC matrix, written out independently of the table in `rbac.rs`.

mod auth_common;

use auth_common::*;
use mamori_server::auth::{
    authorize, Action, AuditAction, AuthError, Denied, Principal, PrincipalKind, Role,
};

/// (action name, admin, analyst, auditor, log-admin)
const MATRIX: &[(&str, bool, bool, bool, bool)] = &[
    ("events.search", true, true, true, false),
    ("alerts.read", true, true, true, false),
    ("alerts.ack", true, true, false, false),
    ("alerts.comment", true, true, false, false),
    ("alerts.assign", true, true, false, false),
    ("alerts.close", true, true, false, false),
    ("cases.read", true, true, true, false),
    ("cases.write", true, true, false, false),
    ("exclusions.read", true, true, true, false),
    ("exclusions.write", true, true, false, false),
    ("hosts.read", true, true, true, false),
    ("flows.read", true, true, true, false),
    ("sources.read", true, true, true, false),
    ("rules.read", true, true, true, false),
    ("rules.write", true, true, false, false),
    ("checks.read", true, true, true, false),
    ("checks.write", true, false, false, false),
    ("notifications.read", true, true, true, false),
    ("notifications.write", true, false, false, false),
    ("notifications.test", true, false, false, false),
    ("users.read", true, false, true, false),
    ("users.write", true, false, false, false),
    ("audit.read", true, false, true, false),
    ("retention.read", true, false, true, true),
    ("retention.apply", true, false, false, true),
    ("integrity.verify", true, false, true, true),
    ("pcap.upload", true, true, false, false),
    ("scans.read", true, true, true, false),
    ("scans.run", true, true, false, false),
    ("config.read", true, false, true, false),
    ("config.write", true, false, false, false),
];

fn principal(role: Role) -> Principal {
    Principal {
        user: "u".to_string(),
        role,
        kind: PrincipalKind::System,
    }
}

#[test]
fn every_action_times_every_role() {
    assert_eq!(
        MATRIX.len(),
        Action::ALL.len(),
        "matrix covers every action"
    );
    let mut checked = 0;
    for &(name, admin, analyst, auditor, log_admin) in MATRIX {
        let action: Action = name.parse().expect("known action");
        assert_eq!(action.as_str(), name);
        for (role, allowed) in [
            (Role::Admin, admin),
            (Role::Analyst, analyst),
            (Role::Auditor, auditor),
            (Role::LogAdmin, log_admin),
        ] {
            let got = authorize(&principal(role), action);
            if allowed {
                assert_eq!(got, Ok(()), "{role} {name}");
            } else {
                assert_eq!(got, Err(Denied { role, action }), "{role} {name}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 31 * 4);
}

#[test]
fn auditor_is_read_only_and_log_admin_is_retention_integrity_only() {
    for &a in Action::ALL {
        if a.changes_state() {
            assert!(authorize(&principal(Role::Auditor), a).is_err(), "{a}");
        }
        let name = a.as_str();
        let log_admin_ok = authorize(&principal(Role::LogAdmin), a).is_ok();
        assert_eq!(
            log_admin_ok,
            name.starts_with("retention.") || name.starts_with("integrity."),
            "{a}"
        );
    }
}

#[test]
fn role_and_action_names_round_trip() {
    for r in Role::ALL {
        assert_eq!(r.as_str().parse::<Role>(), Ok(r));
    }
    assert!("superuser".parse::<Role>().is_err());
    assert!("Admin".parse::<Role>().is_err());
    assert!("alerts.delete".parse::<Action>().is_err());
    assert_eq!(
        serde_json::to_string(&Role::LogAdmin).expect("json"),
        "\"log-admin\""
    );
}

#[test]
fn denials_are_audited() {
    let mut svc = service();
    add_user(&mut svc, "carol", Role::LogAdmin, "carol passphrase 9");
    let s = login(
        &mut svc,
        "carol",
        "carol passphrase 9",
        None,
        "10.0.0.7",
        t(0),
    )
    .expect("login");
    let p = svc.authenticate_session(&s.id, t(1)).expect("ok");
    assert!(svc
        .check(&p, Action::RetentionApply, Some(ip("10.0.0.7")), t(1))
        .is_ok());
    assert_eq!(
        svc.check(&p, Action::EventsSearch, Some(ip("10.0.0.7")), t(2)),
        Err(AuthError::Denied(Denied {
            role: Role::LogAdmin,
            action: Action::EventsSearch
        }))
    );
    let last = svc.store().audit_entries().last().expect("entry").clone();
    assert_eq!(last.action, AuditAction::AccessDenied);
    assert_eq!(last.actor, "carol");
    assert_eq!(last.target, "events.search");
    assert_eq!(last.source_ip, Some(ip("10.0.0.7")));
    assert_eq!(svc.counters().get("auth_access_denied"), 1);
}
