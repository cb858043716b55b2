//! Password hashing, verification and policy.

mod auth_common;

use auth_common::*;
use mamori_server::auth::{
    hash_password, verify_password, AuthError, HashParams, PasswordHash, PasswordPolicy,
    PolicyViolation, Principal, Role,
};

#[test]
fn owasp_default_params_in_phc_string() {
    let h = hash_password("a fine passphrase", &HashParams::default()).expect("hash");
    assert!(
        h.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        h.as_phc()
    );
    assert_eq!(verify_password("a fine passphrase", &h), Ok(true));
    assert_eq!(verify_password("a fine passphrasE", &h), Ok(false));
}

#[test]
fn same_password_different_salt() {
    let p = HashParams {
        m_cost_kib: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    let a = hash_password("same password here", &p).expect("hash");
    let b = hash_password("same password here", &p).expect("hash");
    assert_ne!(a.as_phc(), b.as_phc());
    assert_eq!(verify_password("same password here", &a), Ok(true));
    assert_eq!(verify_password("same password here", &b), Ok(true));
    assert_eq!(verify_password("", &a), Ok(false));
}

#[test]
fn malformed_stored_hash_is_an_error_not_a_match() {
    for bad in [
        "",
        "garbage",
        "$argon2id$v=19$m=1024",
        "$2b$12$abcdefghijklmnopqrstuv",
    ] {
        let h = PasswordHash::from_phc(bad.to_string());
        assert!(
            matches!(
                verify_password("whatever password", &h),
                Err(AuthError::PasswordHash(_))
            ),
            "{bad}"
        );
    }
    // A valid PHC string for another algorithm (argon2i) is refused.
    let p = HashParams {
        m_cost_kib: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    let id = hash_password("x y z password", &p).expect("hash");
    let other = PasswordHash::from_phc(id.as_phc().replacen("argon2id", "argon2i", 1));
    assert!(verify_password("x y z password", &other).is_err());
}

#[test]
fn oversized_password_never_verifies() {
    let p = HashParams {
        m_cost_kib: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    let h = hash_password("short but fine pw", &p).expect("hash");
    assert_eq!(verify_password(&"x".repeat(100_000), &h), Ok(false));
    assert!(matches!(
        hash_password(&"x".repeat(100_000), &p),
        Err(AuthError::WeakPassword(PolicyViolation::TooLong { .. }))
    ));
}

#[test]
fn policy_rejections() {
    let p = PasswordPolicy::default();
    assert_eq!(
        p.check("alice", "short"),
        Err(PolicyViolation::TooShort { min: 12, actual: 5 })
    );
    // Length counts characters, not bytes: 11 kana = 33 bytes is still too short.
    assert!(matches!(
        p.check("alice", "まもりまもりまもりまも"),
        Err(PolicyViolation::TooShort { actual: 11, .. })
    ));
    assert_eq!(
        p.check("alice", "まもりのパスワードです"),
        Err(PolicyViolation::TooShort {
            min: 12,
            actual: 11
        })
    );
    assert_eq!(p.check("alice", "まもりのパスワードです!"), Ok(()));
    assert_eq!(
        p.check("longusername12", "LongUserName12"),
        Err(PolicyViolation::EqualsUserName)
    );
    assert_eq!(
        p.check("alice", "Password1234"),
        Err(PolicyViolation::Common)
    );
    assert_eq!(
        p.check("alice", "qwertyuiop123"),
        Err(PolicyViolation::Common)
    );
    assert_eq!(
        p.check("alice", "aaaaaaaaaaaaaaaa"),
        Err(PolicyViolation::Repetitive)
    );
    assert!(matches!(
        p.check("alice", &"ab1!".repeat(300)),
        Err(PolicyViolation::TooLong { actual: 1200 })
    ));
    assert_eq!(p.check("alice", "tsukuba river 1987"), Ok(()));
    // Configurable minimum; the common list still applies to short passwords.
    let short = PasswordPolicy { min_len: 6 };
    assert_eq!(short.check("alice", "dragon"), Err(PolicyViolation::Common));
    assert_eq!(short.check("alice", "kx9-tq"), Ok(()));
}

#[test]
fn create_user_enforces_policy_and_name() {
    let mut svc = service();
    let sys = mamori_server::auth::Principal::system();
    let mk = |name, pw| mamori_server::auth::NewUser {
        name,
        role: Role::Analyst,
        password: pw,
    };
    let e = svc.create_user(&sys, mk("alice", "password1234"), None, t(0));
    assert!(matches!(
        e,
        Err(AuthError::WeakPassword(PolicyViolation::Common))
    ));
    let long = "a".repeat(65);
    for bad in [
        "",
        "Alice",
        "-alice",
        "al ice",
        "alice/x",
        "ä",
        long.as_str(),
    ] {
        let e = svc.create_user(&sys, mk(bad, USER_PW), None, t(0));
        assert!(
            matches!(e, Err(AuthError::InvalidUserName { .. })),
            "{bad:?}"
        );
    }
    svc.create_user(&sys, mk("alice.s-1@corp", USER_PW), None, t(0))
        .expect("valid");
    let e = svc.create_user(&sys, mk("alice.s-1@corp", USER_PW), None, t(0));
    assert!(matches!(e, Err(AuthError::UserExists { .. })));
}

#[test]
fn unknown_user_runs_the_same_argon2_work() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let before = svc.password_verifications();
    assert_eq!(
        login(&mut svc, "nobody", USER_PW, None, "10.0.0.1", t(1)),
        Err(AuthError::InvalidCredentials)
    );
    assert_eq!(
        svc.password_verifications(),
        before + 1,
        "dummy hash verified"
    );
    assert_eq!(
        login(
            &mut svc,
            "alice",
            "wrong password!!",
            None,
            "10.0.0.1",
            t(2)
        ),
        Err(AuthError::InvalidCredentials)
    );
    assert_eq!(svc.password_verifications(), before + 2);
    // Invalid names (not even storable) take the same path.
    assert_eq!(
        login(&mut svc, "BAD NAME\0", USER_PW, None, "10.0.0.1", t(3)),
        Err(AuthError::InvalidCredentials)
    );
    assert_eq!(svc.password_verifications(), before + 3);
    assert_eq!(svc.counters().get("auth_login_unknown_user"), 2);
    assert_eq!(svc.counters().get("auth_login_bad_password"), 1);
}

#[test]
fn password_change_requires_session_old_password_and_policy() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let s = login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(0)).expect("login");
    let me = svc.authenticate_session(&s.id, t(0)).expect("session");
    let from = ip("10.0.0.1");
    assert_eq!(
        svc.change_password(&me, "not the password", "brand new secret 1", from, t(1)),
        Err(AuthError::InvalidCredentials)
    );
    assert_eq!(svc.counters().get("auth_password_change_bad_password"), 1);
    assert!(matches!(
        svc.change_password(&me, USER_PW, "alice", from, t(1)),
        Err(AuthError::WeakPassword(PolicyViolation::TooShort { .. }))
    ));
    // The system principal and API tokens cannot use this path.
    assert_eq!(
        svc.change_password(
            &Principal::system(),
            USER_PW,
            "brand new secret 1",
            from,
            t(1)
        ),
        Err(AuthError::InteractiveOnly)
    );
    svc.change_password(&me, USER_PW, "brand new secret 1", from, t(2))
        .expect("change");
    assert!(login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(3)).is_err());
    assert!(login(
        &mut svc,
        "alice",
        "brand new secret 1",
        None,
        "10.0.0.1",
        t(4)
    )
    .is_ok());
}

#[test]
fn password_change_guesses_lock_out_like_logins() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let s = login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(0)).expect("login");
    let me = svc.authenticate_session(&s.id, t(0)).expect("session");
    let from = ip("10.6.6.6");
    for i in 0..5 {
        assert_eq!(
            svc.change_password(
                &me,
                "guess number one",
                "brand new secret 1",
                from,
                t(1 + i)
            ),
            Err(AuthError::InvalidCredentials)
        );
    }
    // Locked: even the right current password is refused from that address.
    assert!(matches!(
        svc.change_password(&me, USER_PW, "brand new secret 1", from, t(10)),
        Err(AuthError::LockedOut { .. })
    ));
    assert!(matches!(
        login(&mut svc, "alice", USER_PW, None, "10.6.6.6", t(11)),
        Err(AuthError::LockedOut { .. })
    ));
}
