//! API tokens: create, verify, revoke, expiry.

mod auth_common;

use auth_common::*;
use mamori_server::auth::{
    Action, AuditAction, AuthError, AuthStore, NewTokenRequest, Principal, PrincipalKind, Role,
};

fn req<'a>(
    name: &'a str,
    role: Role,
    expires: Option<mamori_core::Timestamp>,
) -> NewTokenRequest<'a> {
    NewTokenRequest {
        name,
        owner: "alice",
        role,
        expires,
    }
}

#[test]
fn create_verify_and_last_used() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let sys = Principal::system();
    let tok = svc
        .create_token(&sys, req("ci-export", Role::Auditor, None), None, t(0))
        .expect("create");
    assert!(tok.token.starts_with("mamori_"));
    assert_eq!(tok.token.len(), "mamori_".len() + 16 + 1 + 64);
    // Stored record holds only the hash of the secret.
    let stored = svc
        .store()
        .get_token(&tok.record.id)
        .expect("store")
        .expect("present");
    let secret = tok.token.rsplit('_').next().expect("secret part");
    assert_ne!(stored.secret_hash, secret);
    assert!(!stored.secret_hash.contains(secret));
    assert_eq!(stored.last_used, None);

    let p = svc.authenticate_token(&tok.token, t(5)).expect("valid");
    assert_eq!(p.user, "alice");
    assert_eq!(p.role, Role::Auditor, "token role, not the owner's");
    assert!(matches!(p.kind, PrincipalKind::Token { ref name, .. } if name == "ci-export"));
    assert_eq!(p.audit_name(), "token:ci-export(alice)");
    let stored = svc
        .store()
        .get_token(&tok.record.id)
        .expect("store")
        .expect("present");
    assert_eq!(stored.last_used, Some(t(5)));
    // Scope is enforced by the role.
    assert!(svc.check(&p, Action::AuditRead, None, t(6)).is_ok());
    assert!(svc.check(&p, Action::AlertsAck, None, t(6)).is_err());
}

#[test]
fn wrong_malformed_and_unknown_tokens() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let tok = svc
        .create_token(
            &Principal::system(),
            req("ci", Role::Analyst, None),
            None,
            t(0),
        )
        .expect("create");
    let mut flipped = tok.token.clone();
    let last = flipped.pop().expect("non-empty");
    flipped.push(if last == '0' { '1' } else { '0' });
    let other_id = format!("mamori_{}_{}", "0".repeat(16), &tok.token[24..]);
    for bad in [
        flipped.as_str(),
        other_id.as_str(),
        "",
        "mamori_",
        "mamori__",
        &tok.token[..tok.token.len() - 1],
        &tok.token.to_uppercase(),
        "Bearer x",
    ] {
        assert_eq!(
            svc.authenticate_token(bad, t(1)),
            Err(AuthError::InvalidToken),
            "{bad:?}"
        );
    }
    assert_eq!(svc.counters().get("auth_token_bad_secret"), 1);
    assert_eq!(svc.counters().get("auth_token_unknown"), 1);
    assert!(svc.authenticate_token(&tok.token, t(1)).is_ok());
}

#[test]
fn revoke_and_expiry() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let sys = Principal::system();
    let a = svc
        .create_token(&sys, req("a", Role::Analyst, None), None, t(0))
        .expect("a");
    let b = svc
        .create_token(&sys, req("b", Role::Analyst, Some(t(100))), None, t(0))
        .expect("b");
    assert!(svc.authenticate_token(&a.token, t(1)).is_ok());
    svc.revoke_token(&sys, &a.record.id, None, t(2))
        .expect("revoke");
    assert_eq!(
        svc.authenticate_token(&a.token, t(3)),
        Err(AuthError::InvalidToken)
    );
    assert!(matches!(
        svc.revoke_token(&sys, "ffffffffffffffff", None, t(3)),
        Err(AuthError::UnknownToken { .. })
    ));
    assert!(svc.authenticate_token(&b.token, t(99)).is_ok());
    assert_eq!(
        svc.authenticate_token(&b.token, t(100)),
        Err(AuthError::InvalidToken)
    );
    assert_eq!(svc.counters().get("auth_token_revoked"), 1);
    assert_eq!(svc.counters().get("auth_token_expired"), 1);
    let listed = svc.list_tokens(&sys, None, t(101)).expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|t| t.revoked == Some(t_2())));
    let audit = svc.store().audit_entries();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == AuditAction::TokenCreate)
            .count(),
        2
    );
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == AuditAction::TokenRevoke)
            .count(),
        1
    );
}

fn t_2() -> mamori_core::Timestamp {
    t(2)
}

#[test]
fn tokens_of_disabled_owner_stop_working() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let sys = Principal::system();
    let a = svc
        .create_token(&sys, req("a", Role::Analyst, None), None, t(0))
        .expect("a");
    svc.set_disabled(&sys, "alice", true, None, t(1))
        .expect("disable");
    assert_eq!(
        svc.authenticate_token(&a.token, t(2)),
        Err(AuthError::InvalidToken)
    );
    svc.set_disabled(&sys, "alice", false, None, t(3))
        .expect("enable");
    assert!(svc.authenticate_token(&a.token, t(4)).is_ok());
}

#[test]
fn only_admins_manage_tokens_and_names_are_validated() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let s = login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(0)).expect("login");
    let analyst = svc.authenticate_session(&s.id, t(1)).expect("ok");
    assert!(matches!(
        svc.create_token(&analyst, req("mine", Role::Admin, None), None, t(1)),
        Err(AuthError::Denied(_))
    ));
    let sys = Principal::system();
    for bad in ["", "has space", "ü", &"x".repeat(65)] {
        assert!(matches!(
            svc.create_token(&sys, req(bad, Role::Analyst, None), None, t(1)),
            Err(AuthError::InvalidTokenName { .. })
        ));
    }
    assert!(matches!(
        svc.create_token(
            &sys,
            NewTokenRequest {
                name: "x",
                owner: "nobody",
                role: Role::Analyst,
                expires: None
            },
            None,
            t(1)
        ),
        Err(AuthError::UnknownUser { .. })
    ));
}
