//! Lockout per (user, source) pair and per account.

mod auth_common;

use auth_common::*;
use mamori_server::auth::{AuditAction, AuthConfig, AuthError, Principal, Role};

const BAD: &str = "wrong password!!";

#[test]
fn pair_locks_after_n_failures_and_releases_after_m_minutes() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    for i in 0..4 {
        assert_eq!(
            login(&mut svc, "alice", BAD, None, "192.0.2.9", t(i)),
            Err(AuthError::InvalidCredentials)
        );
    }
    // The fifth failure locks the pair.
    assert_eq!(
        login(&mut svc, "alice", BAD, None, "192.0.2.9", t(4)),
        Err(AuthError::InvalidCredentials)
    );
    let until = t(4) + mins(15);
    // Now even the right password is refused from that address, without hashing.
    let before = svc.password_verifications();
    assert_eq!(
        login(&mut svc, "alice", USER_PW, None, "192.0.2.9", t(5)),
        Err(AuthError::LockedOut { until })
    );
    assert_eq!(svc.password_verifications(), before);
    // The real user on another address is not affected (no trivial DoS).
    assert!(login(&mut svc, "alice", USER_PW, None, "198.51.100.1", t(6)).is_ok());
    // Still locked one second before the end, released at the end.
    assert!(matches!(
        login(
            &mut svc,
            "alice",
            USER_PW,
            None,
            "192.0.2.9",
            until - mamori_core::Duration::from_secs(1)
        ),
        Err(AuthError::LockedOut { .. })
    ));
    assert!(login(&mut svc, "alice", USER_PW, None, "192.0.2.9", until).is_ok());
    let audit = svc.store().audit_entries();
    let lockouts: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::Lockout)
        .collect();
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0].target, "alice");
    assert_eq!(lockouts[0].source_ip, Some(ip("192.0.2.9")));
    assert_eq!(svc.counters().get("auth_lockout_source"), 1);
    assert_eq!(svc.counters().get("auth_login_locked_source"), 2);
}

#[test]
fn success_resets_the_pair_counter() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    for i in 0..4 {
        let _ = login(&mut svc, "alice", BAD, None, "192.0.2.9", t(i));
    }
    assert!(login(&mut svc, "alice", USER_PW, None, "192.0.2.9", t(5)).is_ok());
    for i in 0..4 {
        assert_eq!(
            login(&mut svc, "alice", BAD, None, "192.0.2.9", t(10 + i)),
            Err(AuthError::InvalidCredentials)
        );
    }
    assert!(login(&mut svc, "alice", USER_PW, None, "192.0.2.9", t(20)).is_ok());
}

#[test]
fn ipv6_neighbours_share_a_lock() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    for i in 0..5 {
        let from = format!("2001:db8:0:1::{i:x}");
        let _ = login(&mut svc, "alice", BAD, None, &from, t(i));
    }
    assert!(matches!(
        login(
            &mut svc,
            "alice",
            USER_PW,
            None,
            "2001:db8:0:1::ffff",
            t(10)
        ),
        Err(AuthError::LockedOut { .. })
    ));
    assert!(login(&mut svc, "alice", USER_PW, None, "2001:db8:0:2::1", t(11)).is_ok());
}

#[test]
fn unknown_users_lock_like_real_ones() {
    let mut svc = service();
    for i in 0..5 {
        assert_eq!(
            login(&mut svc, "ghost", BAD, None, "192.0.2.9", t(i)),
            Err(AuthError::InvalidCredentials)
        );
    }
    assert!(matches!(
        login(&mut svc, "ghost", BAD, None, "192.0.2.9", t(6)),
        Err(AuthError::LockedOut { .. })
    ));
}

#[test]
fn account_locks_after_distributed_failures() {
    let mut cfg = AuthConfig::for_tests();
    cfg.max_failures_per_user = 8;
    cfg.lockout = mins(10);
    let mut svc = service_with(cfg);
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    for i in 0..8 {
        let from = format!("192.0.2.{}", i + 1);
        assert_eq!(
            login(&mut svc, "alice", BAD, None, &from, t(i)),
            Err(AuthError::InvalidCredentials)
        );
    }
    let until = t(7) + mins(10);
    assert_eq!(
        login(&mut svc, "alice", USER_PW, None, "198.51.100.1", t(8)),
        Err(AuthError::LockedOut { until })
    );
    let users = svc
        .list_users(&Principal::system(), None, t(9))
        .expect("list");
    assert_eq!(users[0].locked_until, Some(until));
    assert!(login(&mut svc, "alice", USER_PW, None, "198.51.100.1", until).is_ok());
    assert_eq!(svc.counters().get("auth_lockout_account"), 1);
}

#[test]
fn admin_password_reset_clears_lockout() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    for i in 0..5 {
        let _ = login(&mut svc, "alice", BAD, None, "192.0.2.9", t(i));
    }
    svc.reset_password(
        &Principal::system(),
        "alice",
        "fresh start pass 1",
        None,
        t(10),
    )
    .expect("reset");
    assert!(login(
        &mut svc,
        "alice",
        "fresh start pass 1",
        None,
        "192.0.2.9",
        t(11)
    )
    .is_ok());
}

#[test]
fn wrong_mfa_codes_count_towards_lockout() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    enrol(&mut svc, "alice", USER_PW, t(0));
    for i in 0..5 {
        assert_eq!(
            login(
                &mut svc,
                "alice",
                USER_PW,
                Some("000000"),
                "192.0.2.9",
                t(100 + i)
            ),
            Err(AuthError::InvalidMfaCode)
        );
    }
    assert!(matches!(
        login(
            &mut svc,
            "alice",
            USER_PW,
            Some("000000"),
            "192.0.2.9",
            t(110)
        ),
        Err(AuthError::LockedOut { .. })
    ));
    let fails = svc
        .store()
        .audit_entries()
        .iter()
        .filter(|e| e.action == AuditAction::MfaVerifyFailure)
        .count();
    assert_eq!(fails, 5);
}

#[test]
fn disabled_user_cannot_log_in_and_looks_like_bad_credentials() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let s = login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(1)).expect("login");
    svc.set_disabled(&Principal::system(), "alice", true, None, t(2))
        .expect("disable");
    assert_eq!(
        login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(3)),
        Err(AuthError::InvalidCredentials)
    );
    assert_eq!(
        svc.authenticate_session(&s.id, t(3)),
        Err(AuthError::InvalidSession)
    );
    svc.set_disabled(&Principal::system(), "alice", false, None, t(4))
        .expect("enable");
    assert!(login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(5)).is_ok());
}

#[test]
fn failures_spread_wider_than_the_window_do_not_add_up() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    // Four failures, then a pause of one lockout length, then four more: never locked.
    for i in 0..4 {
        let _ = login(&mut svc, "alice", BAD, None, "192.0.2.9", t(i));
    }
    let later = t(3) + mins(15);
    for i in 0..4 {
        assert_eq!(
            login(
                &mut svc,
                "alice",
                BAD,
                None,
                "192.0.2.9",
                later + mamori_core::Duration::from_secs(i)
            ),
            Err(AuthError::InvalidCredentials)
        );
    }
    assert!(login(
        &mut svc,
        "alice",
        USER_PW,
        None,
        "192.0.2.9",
        later + mins(1)
    )
    .is_ok());
    assert_eq!(svc.counters().get("auth_lockout_source"), 0);
}

#[test]
fn overlong_names_lock_too() {
    let mut svc = service();
    let long = "x".repeat(500);
    for i in 0..5 {
        let _ = login(&mut svc, &long, BAD, None, "192.0.2.9", t(i));
    }
    assert!(matches!(
        login(&mut svc, &long, BAD, None, "192.0.2.9", t(6)),
        Err(AuthError::LockedOut { .. })
    ));
}
