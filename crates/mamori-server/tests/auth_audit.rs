//! Audit entries for every state-changing auth action, and no secrets in output.

mod auth_common;

use auth_common::*;
use mamori_server::auth::{
    totp, AuditAction, AuditEntry, AuditOutcome, AuthError, AuthStore, NewTokenRequest, NewUser,
    Role,
};

fn find(entries: &[AuditEntry], action: AuditAction, outcome: AuditOutcome) -> Vec<&AuditEntry> {
    entries
        .iter()
        .filter(|e| e.action == action && e.outcome == outcome)
        .collect()
}

#[test]
fn each_action_produces_an_entry() {
    let mut svc = service();
    let (_secret, admin_s) = admin_session(&mut svc);
    let admin = svc.authenticate_session(&admin_s.id, t(61)).expect("admin");
    let from = Some(ip("10.1.1.1"));
    svc.create_user(
        &admin,
        NewUser {
            name: "alice",
            role: Role::Analyst,
            password: USER_PW,
        },
        from,
        t(62),
    )
    .expect("create");
    let _ = login(
        &mut svc,
        "alice",
        "wrong password!!",
        None,
        "10.2.2.2",
        t(63),
    );
    let s = login(&mut svc, "alice", USER_PW, None, "10.2.2.2", t(64)).expect("login");
    let alice = svc.authenticate_session(&s.id, t(64)).expect("session");
    svc.change_password(&alice, USER_PW, "alices new pass 42", ip("10.2.2.2"), t(65))
        .expect("pw");
    svc.set_role(&admin, "alice", Role::Auditor, from, t(66))
        .expect("role");
    svc.set_disabled(&admin, "alice", true, from, t(67))
        .expect("disable");
    svc.set_disabled(&admin, "alice", false, from, t(68))
        .expect("enable");
    let tok = svc
        .create_token(
            &admin,
            NewTokenRequest {
                name: "ci",
                owner: "alice",
                role: Role::Auditor,
                expires: None,
            },
            from,
            t(69),
        )
        .expect("token");
    svc.revoke_token(&admin, &tok.record.id, from, t(70))
        .expect("revoke");
    let s2 = login(
        &mut svc,
        "alice",
        "alices new pass 42",
        None,
        "10.2.2.2",
        t(71),
    )
    .expect("login");
    svc.logout(&s2.id, Some(ip("10.2.2.2")), t(72))
        .expect("logout");
    for i in 0..5 {
        assert_eq!(
            login(
                &mut svc,
                "alice",
                "wrong password!!",
                None,
                "10.9.9.9",
                t(80 + i)
            ),
            Err(AuthError::InvalidCredentials)
        );
    }
    let e = svc.store().audit_entries().to_vec();

    let creates = find(&e, AuditAction::UserCreate, AuditOutcome::Success);
    assert_eq!(creates.len(), 2, "bootstrap admin and alice");
    assert_eq!(creates[1].actor, "boss");
    assert_eq!(creates[1].target, "alice");
    assert_eq!(creates[1].source_ip, from);
    assert_eq!(creates[1].time, t(62));
    assert_eq!(creates[0].actor, "system");

    let fail = find(&e, AuditAction::LoginFailure, AuditOutcome::Failure);
    assert!(fail
        .iter()
        .any(|x| x.target == "alice" && x.details == "auth_login_bad_password" && x.time == t(63)));
    let ok = find(&e, AuditAction::LoginSuccess, AuditOutcome::Success);
    assert_eq!(ok.iter().filter(|x| x.target == "alice").count(), 2);
    assert_eq!(ok.iter().filter(|x| x.target == "boss").count(), 1);
    assert_eq!(
        find(&e, AuditAction::PasswordChange, AuditOutcome::Success).len(),
        1
    );
    let role = find(&e, AuditAction::UserRoleChange, AuditOutcome::Success);
    assert_eq!(role.len(), 1);
    assert!(
        role[0].details.starts_with("analyst -> auditor"),
        "{}",
        role[0].details
    );
    assert_eq!(
        find(&e, AuditAction::UserDisable, AuditOutcome::Success).len(),
        1
    );
    assert_eq!(
        find(&e, AuditAction::UserEnable, AuditOutcome::Success).len(),
        1
    );
    assert_eq!(
        find(&e, AuditAction::TokenCreate, AuditOutcome::Success)[0].target,
        tok.record.id
    );
    assert_eq!(
        find(&e, AuditAction::TokenRevoke, AuditOutcome::Success)[0].target,
        tok.record.id
    );
    let rev = find(&e, AuditAction::SessionRevoke, AuditOutcome::Success);
    assert!(rev
        .iter()
        .any(|x| x.details == "logout" && x.actor == "alice"));
    let locks = find(&e, AuditAction::Lockout, AuditOutcome::Success);
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].source_ip, Some(ip("10.9.9.9")));
    assert_eq!(
        find(&e, AuditAction::MfaEnrolBegin, AuditOutcome::Success).len(),
        1
    );
    assert_eq!(
        find(&e, AuditAction::MfaEnrol, AuditOutcome::Success).len(),
        1
    );
}

#[test]
fn reading_the_audit_log_is_audited_and_restricted() {
    let mut svc = service();
    let (_s, admin_s) = admin_session(&mut svc);
    let admin = svc.authenticate_session(&admin_s.id, t(61)).expect("admin");
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    add_user(&mut svc, "aud", Role::Auditor, "auditor passphrase 1");
    let a = login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(70)).expect("login");
    let analyst = svc.authenticate_session(&a.id, t(71)).expect("ok");
    assert!(matches!(
        svc.read_audit(&analyst, None, 100, None, t(72)),
        Err(AuthError::Denied(_))
    ));
    let before = svc.store().audit_entries().len();
    let got = svc
        .read_audit(&admin, None, 1000, Some(ip("10.0.0.5")), t(73))
        .expect("read");
    let last = got.last().expect("non-empty");
    assert_eq!(
        last.action,
        AuditAction::AuditRead,
        "the read is in its own result"
    );
    assert_eq!(last.actor, "boss");
    assert_eq!(svc.store().audit_entries().len(), before + 1);
    let b = login(
        &mut svc,
        "aud",
        "auditor passphrase 1",
        None,
        "10.0.0.2",
        t(74),
    )
    .expect("login");
    let auditor = svc.authenticate_session(&b.id, t(75)).expect("ok");
    let got = svc
        .read_audit(&auditor, Some(t(73)), 2, None, t(76))
        .expect("read");
    assert_eq!(got.len(), 2, "limit applies, newest kept");
    assert_eq!(got[1].action, AuditAction::AuditRead);
    assert_eq!(got[1].actor, "aud");
    // The analyst's refused read was recorded as a denial.
    assert!(svc
        .store()
        .audit_entries()
        .iter()
        .any(|e| e.action == AuditAction::AccessDenied
            && e.actor == "alice"
            && e.target == "audit.read"));
}

#[test]
fn secrets_never_in_debug_or_serialized_output() {
    let mut svc = service();
    svc.bootstrap_admin(
        "boss",
        ADMIN_PW,
        mamori_core::Timestamp::from_unix_secs(1_700_000_000),
    )
    .expect("bootstrap");
    let enrol = svc
        .begin_totp_enrolment("boss", ADMIN_PW, ip("127.0.0.1"), t(0))
        .expect("begin");
    let secret = totp::base32_decode(&enrol.secret_base32).expect("secret");
    let code = totp::totp_code(&secret, t(0)).expect("code");
    let recovery = svc
        .confirm_totp_enrolment("boss", &enrol.ticket, &code, ip("127.0.0.1"), t(0))
        .expect("ok");
    let code = totp::totp_code(&secret, t(60)).expect("code");
    let session =
        login(&mut svc, "boss", ADMIN_PW, Some(&code), "127.0.0.1", t(60)).expect("login");
    let admin = svc.authenticate_session(&session.id, t(61)).expect("ok");
    let tok = svc
        .create_token(
            &admin,
            NewTokenRequest {
                name: "ci",
                owner: "boss",
                role: Role::Auditor,
                expires: None,
            },
            None,
            t(62),
        )
        .expect("token");

    let user = svc.store().get_user("boss").expect("store").expect("user");
    let phc = user.password_hash.as_phc().to_string();
    let hash_part = phc.rsplit('$').next().expect("hash").to_string();
    let token_secret = tok.token.rsplit('_').next().expect("secret").to_string();
    let forbidden: Vec<String> = vec![
        ADMIN_PW.to_string(),
        phc.clone(),
        hash_part,
        enrol.secret_base32.clone(),
        format!("{:?}", secret),
        session.id.clone(),
        session.csrf_token.clone(),
        tok.token.clone(),
        token_secret,
        recovery[0].clone(),
        user.recovery_code_hashes[0].clone(),
    ];
    let stored_session = svc.store().list_sessions("boss").expect("sessions");
    let outputs = vec![
        format!("{user:?}"),
        format!("{:?}", user.public()),
        serde_json::to_string(&user).expect("json"),
        serde_json::to_string(&user.public()).expect("json"),
        format!("{session:?}"),
        format!("{tok:?}"),
        format!("{enrol:?}"),
        format!("{stored_session:?}"),
        serde_json::to_string(&tok.record).expect("json"),
        format!("{:?}", tok.record),
        serde_json::to_string(&svc.list_users(&admin, None, t(63)).expect("users")).expect("json"),
        serde_json::to_string(&svc.list_tokens(&admin, None, t(63)).expect("tokens"))
            .expect("json"),
        serde_json::to_string(
            &svc.read_audit(&admin, None, 1000, None, t(64))
                .expect("audit"),
        )
        .expect("json"),
        format!("{:?}", svc.store().audit_entries()),
        format!("{:?}", svc),
    ];
    for out in &outputs {
        for secret in &forbidden {
            assert!(!out.contains(secret.as_str()), "{secret:?} leaked in {out}");
        }
    }
    // The views still carry the useful fields.
    let json = serde_json::to_string(&user).expect("json");
    assert!(
        json.contains("\"name\":\"boss\"") && json.contains("\"mfa_enrolled\":true"),
        "{json}"
    );
    assert!(json.contains("\"role\":\"admin\""));
}
