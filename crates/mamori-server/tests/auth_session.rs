//! Sessions: expiry, CSRF, revocation.

mod auth_common;

use auth_common::*;
use mamori_core::Duration;
use mamori_server::auth::{AuthError, AuthStore, Principal, PrincipalKind, Role};

fn analyst_session(
    svc: &mut mamori_server::auth::AuthService<mamori_server::auth::MemoryStore>,
) -> mamori_server::auth::NewSession {
    add_user(svc, "alice", Role::Analyst, USER_PW);
    login(svc, "alice", USER_PW, None, "10.0.0.1", t(0)).expect("login")
}

#[test]
fn session_id_is_random_256_bit_and_stored_hashed() {
    let mut svc = service();
    let a = analyst_session(&mut svc);
    let b = login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(1)).expect("login");
    assert_eq!(a.id.len(), 64);
    assert_ne!(a.id, b.id);
    assert_ne!(a.csrf_token, a.id);
    let PrincipalKind::Session { handle } = &a.principal.kind else {
        panic!("session principal expected");
    };
    let stored = svc
        .store()
        .get_session(handle)
        .expect("store")
        .expect("present");
    assert_ne!(&stored.id_hash, &a.id);
    assert!(
        svc.store().get_session(&a.id).expect("store").is_none(),
        "raw id not a key"
    );
    assert_eq!(stored.role, Role::Analyst);
    assert_eq!(stored.expires, t(0) + mins(12 * 60));
}

#[test]
fn idle_expiry() {
    let mut svc = service();
    let s = analyst_session(&mut svc);
    // Activity every 29 minutes keeps it alive.
    for k in 1..=4 {
        let p = svc
            .authenticate_session(&s.id, t(0) + mins(29 * k))
            .expect("alive");
        assert_eq!(p.user, "alice");
        assert_eq!(p.role, Role::Analyst);
    }
    let last = t(0) + mins(29 * 4);
    assert_eq!(
        svc.authenticate_session(&s.id, last + mins(30)),
        Err(AuthError::SessionExpired)
    );
    // Expired sessions are deleted.
    assert_eq!(
        svc.authenticate_session(&s.id, last + mins(31)),
        Err(AuthError::InvalidSession)
    );
    assert_eq!(svc.counters().get("auth_session_expired_idle"), 1);
}

#[test]
fn absolute_expiry_despite_activity() {
    let mut svc = service();
    let s = analyst_session(&mut svc);
    let mut now = t(0);
    while now < t(0) + mins(12 * 60) - mins(20) {
        now = now + mins(20);
        svc.authenticate_session(&s.id, now).expect("alive");
    }
    assert_eq!(
        svc.authenticate_session(&s.id, t(0) + mins(12 * 60)),
        Err(AuthError::SessionExpired)
    );
    assert_eq!(svc.counters().get("auth_session_expired_absolute"), 1);
}

#[test]
fn configurable_expiry() {
    let mut cfg = mamori_server::auth::AuthConfig::for_tests();
    cfg.session_idle = Duration::from_secs(60);
    cfg.session_absolute = Duration::from_secs(120);
    let mut svc = service_with(cfg);
    let s = analyst_session(&mut svc);
    assert!(svc.authenticate_session(&s.id, t(59)).is_ok());
    assert!(svc.authenticate_session(&s.id, t(118)).is_ok());
    assert_eq!(
        svc.authenticate_session(&s.id, t(120)),
        Err(AuthError::SessionExpired)
    );
}

#[test]
fn csrf_synchronizer_token() {
    let mut svc = service();
    let s = analyst_session(&mut svc);
    let other = login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(1)).expect("login");
    assert_eq!(svc.verify_csrf(&s.id, &s.csrf_token, t(2)), Ok(()));
    assert_eq!(
        svc.verify_csrf(&s.id, &other.csrf_token, t(2)),
        Err(AuthError::CsrfMismatch),
        "token of another session"
    );
    for bad in [
        "",
        "x",
        &s.csrf_token[..63],
        &s.csrf_token.to_uppercase(),
        &s.id,
    ] {
        assert_eq!(
            svc.verify_csrf(&s.id, bad, t(2)),
            Err(AuthError::CsrfMismatch),
            "{bad:?}"
        );
    }
    assert_eq!(
        svc.verify_csrf("not-a-session", &s.csrf_token, t(2)),
        Err(AuthError::InvalidSession)
    );
    // An expired session's CSRF token is useless too.
    assert_eq!(
        svc.verify_csrf(&s.id, &s.csrf_token, t(2) + mins(60)),
        Err(AuthError::SessionExpired)
    );
}

#[test]
fn malformed_session_ids() {
    let mut svc = service();
    let s = analyst_session(&mut svc);
    let long = "a".repeat(1 << 16);
    for bad in [
        "",
        "zz",
        &s.id.to_uppercase(),
        &s.id[1..],
        long.as_str(),
        "\u{0}",
    ] {
        assert_eq!(
            svc.authenticate_session(bad, t(1)),
            Err(AuthError::InvalidSession)
        );
    }
    assert!(svc.authenticate_session(&s.id, t(1)).is_ok());
}

#[test]
fn logout_and_password_change_revoke() {
    let mut svc = service();
    let a = analyst_session(&mut svc);
    let b = login(&mut svc, "alice", USER_PW, None, "10.0.0.2", t(1)).expect("login");
    let c = login(&mut svc, "alice", USER_PW, None, "10.0.0.3", t(1)).expect("login");
    svc.logout(&a.id, Some(ip("10.0.0.1")), t(2))
        .expect("logout");
    assert_eq!(
        svc.authenticate_session(&a.id, t(3)),
        Err(AuthError::InvalidSession)
    );
    let bp = svc.authenticate_session(&b.id, t(3)).expect("alive");
    svc.change_password(&bp, USER_PW, "another good one 5", ip("10.0.0.2"), t(4))
        .expect("change");
    assert_eq!(
        svc.authenticate_session(&b.id, t(5)),
        Err(AuthError::InvalidSession)
    );
    assert_eq!(
        svc.authenticate_session(&c.id, t(5)),
        Err(AuthError::InvalidSession)
    );
}

#[test]
fn role_change_revokes_sessions_bound_to_old_role() {
    let mut svc = service();
    let s = analyst_session(&mut svc);
    svc.set_role(&Principal::system(), "alice", Role::Auditor, None, t(1))
        .expect("role");
    assert_eq!(
        svc.authenticate_session(&s.id, t(2)),
        Err(AuthError::InvalidSession)
    );
    let s2 = login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(3)).expect("login");
    assert_eq!(
        svc.authenticate_session(&s2.id, t(4)).expect("ok").role,
        Role::Auditor
    );
}

#[test]
fn revoke_session_by_handle() {
    let mut svc = service();
    let s = analyst_session(&mut svc);
    add_user(&mut svc, "bob", Role::Analyst, "bob passphrase 123");
    let bob = login(
        &mut svc,
        "bob",
        "bob passphrase 123",
        None,
        "10.0.0.9",
        t(1),
    )
    .expect("login");
    let bob_p = svc.authenticate_session(&bob.id, t(1)).expect("ok");
    let alice_p = svc.authenticate_session(&s.id, t(1)).expect("ok");
    let PrincipalKind::Session { handle } = alice_p.kind.clone() else {
        panic!("session principal expected");
    };
    // Bob (analyst) cannot revoke Alice's session.
    assert!(matches!(
        svc.revoke_session(&bob_p, &handle, None, t(2)),
        Err(AuthError::Denied(_))
    ));
    assert!(svc.authenticate_session(&s.id, t(2)).is_ok());
    // Alice can revoke her own; an admin anyone's.
    svc.revoke_session(&alice_p, &handle, None, t(3))
        .expect("own");
    assert_eq!(
        svc.authenticate_session(&s.id, t(3)),
        Err(AuthError::InvalidSession)
    );
    let PrincipalKind::Session { handle: bh } = bob_p.kind.clone() else {
        panic!("session principal expected");
    };
    svc.revoke_session(&Principal::system(), &bh, None, t(4))
        .expect("admin");
    assert_eq!(
        svc.authenticate_session(&bob.id, t(4)),
        Err(AuthError::InvalidSession)
    );
}

#[test]
fn last_admin_cannot_be_removed() {
    let mut svc = service();
    svc.bootstrap_admin("boss", ADMIN_PW, t(0))
        .expect("bootstrap");
    assert!(matches!(
        svc.set_disabled(&Principal::system(), "boss", true, None, t(1)),
        Err(AuthError::LastAdmin { .. })
    ));
    assert!(matches!(
        svc.set_role(&Principal::system(), "boss", Role::Analyst, None, t(1)),
        Err(AuthError::LastAdmin { .. })
    ));
    add_user(&mut svc, "boss2", Role::Admin, "second admin pass 1");
    svc.set_role(&Principal::system(), "boss", Role::Analyst, None, t(2))
        .expect("ok now");
    // bootstrap refuses once users exist.
    assert!(matches!(
        svc.bootstrap_admin("again", ADMIN_PW, t(3)),
        Err(AuthError::UserExists { .. })
    ));
}
