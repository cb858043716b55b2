//! RFC 6238 TOTP, skew, replay, enrolment URI and recovery codes.

mod auth_common;

use auth_common::*;
use mamori_core::Timestamp;
use mamori_server::auth::totp::{
    base32_decode, base32_encode, format_code, hotp, otpauth_uri, totp_code, totp_step, verify_totp,
};
use mamori_server::auth::{AuditAction, AuthError, Role};

/// RFC 6238 Appendix B, SHA-1 rows: (time, 8-digit TOTP).
const RFC6238_SHA1: &[(i64, u32)] = &[
    (59, 94_287_082),
    (1_111_111_109, 7_081_804),
    (1_111_111_111, 14_050_471),
    (1_234_567_890, 89_005_924),
    (2_000_000_000, 69_279_037),
];
/// The last Appendix B row (year 2603) lies beyond `Timestamp` (i64 ns, ends in 2262), so it
/// is checked on the step counter directly: T = 20000000000 / 30.
const RFC6238_SHA1_LAST: (u64, u32) = (20_000_000_000 / 30, 65_353_130);
const RFC_SEED: &[u8] = b"12345678901234567890";

#[test]
fn rfc6238_appendix_b_sha1_vectors() {
    for &(secs, expected) in RFC6238_SHA1 {
        let step = totp_step(Timestamp::from_unix_secs(secs)).expect("step");
        assert_eq!(hotp(RFC_SEED, step, 8), expected, "t={secs}");
        // Six digits are the low six digits of the eight-digit value.
        assert_eq!(
            totp_code(RFC_SEED, Timestamp::from_unix_secs(secs)),
            Some(format_code(expected % 1_000_000, 6)),
            "t={secs}"
        );
    }
    let (step, expected) = RFC6238_SHA1_LAST;
    assert_eq!(hotp(RFC_SEED, step, 8), expected);
    assert_eq!(hotp(RFC_SEED, step, 6), expected % 1_000_000);
}

#[test]
fn rfc4226_appendix_d_hotp_vectors() {
    let expected = [
        755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871, 520_489,
    ];
    for (counter, want) in expected.iter().enumerate() {
        assert_eq!(hotp(RFC_SEED, counter as u64, 6), *want);
    }
}

#[test]
fn skew_of_one_step_either_side_only() {
    let now = Timestamp::from_unix_secs(1_111_111_111);
    let step = totp_step(now).expect("step");
    for (delta, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
        let s = (step as i64 + delta) as u64;
        let code = format_code(hotp(RFC_SEED, s, 6), 6);
        assert_eq!(
            verify_totp(RFC_SEED, &code, now, None),
            ok.then_some(s),
            "delta {delta}"
        );
    }
}

#[test]
fn replay_and_older_codes_rejected() {
    let now = Timestamp::from_unix_secs(1_234_567_890);
    let step = totp_step(now).expect("step");
    let code = totp_code(RFC_SEED, now).expect("code");
    assert_eq!(verify_totp(RFC_SEED, &code, now, None), Some(step));
    assert_eq!(
        verify_totp(RFC_SEED, &code, now, Some(step)),
        None,
        "replay"
    );
    let previous = format_code(hotp(RFC_SEED, step - 1, 6), 6);
    assert_eq!(
        verify_totp(RFC_SEED, &previous, now, Some(step)),
        None,
        "older"
    );
    let next = format_code(hotp(RFC_SEED, step + 1, 6), 6);
    assert_eq!(
        verify_totp(RFC_SEED, &next, now, Some(step)),
        Some(step + 1)
    );
}

#[test]
fn malformed_codes_rejected() {
    let now = Timestamp::from_unix_secs(59);
    let good = totp_code(RFC_SEED, now).expect("code");
    for bad in [
        "",
        "12345",
        "1234567",
        "abcdef",
        " 287082",
        "２８７０８２",
        "28708\u{0}",
    ] {
        assert_eq!(verify_totp(RFC_SEED, bad, now, None), None, "{bad:?}");
    }
    assert_eq!(good, "287082");
    assert!(verify_totp(RFC_SEED, &good, now, None).is_some());
    // Before the epoch there is no step.
    assert_eq!(
        verify_totp(RFC_SEED, &good, Timestamp::from_unix_secs(-100), None),
        None
    );
}

#[test]
fn otpauth_uri_format() {
    let uri = otpauth_uri("alice@corp", RFC_SEED);
    assert_eq!(
        uri,
        format!(
            "otpauth://totp/mamori:alice%40corp?secret={}&issuer=mamori&algorithm=SHA1&digits=6&period=30",
            base32_encode(RFC_SEED)
        )
    );
    assert_eq!(base32_encode(RFC_SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert_eq!(
        base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").as_deref(),
        Ok(RFC_SEED)
    );
}

#[test]
fn enrolment_login_replay_and_recovery_codes() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    // Wrong password cannot start enrolment.
    assert_eq!(
        svc.begin_totp_enrolment("alice", "wrong password!!", ip("127.0.0.1"), t(0)),
        Err(AuthError::InvalidCredentials)
    );
    // Confirmation without a pending enrolment.
    assert!(matches!(
        svc.confirm_totp_enrolment("alice", "no-ticket", "123456", ip("127.0.0.1"), t(0)),
        Err(AuthError::MfaNotPending { .. })
    ));
    let e = svc
        .begin_totp_enrolment("alice", USER_PW, ip("127.0.0.1"), t(0))
        .expect("begin");
    assert!(e.uri.starts_with("otpauth://totp/mamori:alice?secret="));
    assert!(e
        .uri
        .contains(&format!("secret={}&issuer=mamori", e.secret_base32)));
    let secret = base32_decode(&e.secret_base32).expect("secret");
    assert_eq!(secret.len(), 20);
    // A wrong confirmation code leaves MFA unenrolled.
    let wrong = format_code(
        (hotp(&secret, totp_step(t(0)).expect("s"), 6) + 1) % 1_000_000,
        6,
    );
    assert_eq!(
        svc.confirm_totp_enrolment("alice", &e.ticket, &wrong, ip("127.0.0.1"), t(0)),
        Err(AuthError::InvalidMfaCode)
    );
    let code0 = totp_code(&secret, t(0)).expect("code");
    let codes = svc
        .confirm_totp_enrolment("alice", &e.ticket, &code0, ip("127.0.0.1"), t(0))
        .expect("ok");
    assert_eq!(codes.len(), 10);
    assert!(codes
        .iter()
        .all(|c| c.len() == 19 && c.matches('-').count() == 3));
    // Enrolling again is refused.
    assert!(matches!(
        svc.begin_totp_enrolment("alice", USER_PW, ip("127.0.0.1"), t(1)),
        Err(AuthError::MfaAlreadyEnrolled { .. })
    ));

    // Password alone is no longer enough.
    assert_eq!(
        login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(1)),
        Err(AuthError::MfaRequired)
    );
    // The confirmation code cannot be replayed for login.
    assert_eq!(
        login(&mut svc, "alice", USER_PW, Some(&code0), "10.0.0.1", t(1)),
        Err(AuthError::InvalidMfaCode)
    );
    let code1 = totp_code(&secret, t(31)).expect("code");
    assert!(login(&mut svc, "alice", USER_PW, Some(&code1), "10.0.0.1", t(31)).is_ok());
    assert_eq!(
        login(&mut svc, "alice", USER_PW, Some(&code1), "10.0.0.2", t(32)),
        Err(AuthError::InvalidMfaCode),
        "same code accepted once, even from another address"
    );

    // Recovery codes: any case, dashes optional, single use.
    let rc = codes[3].to_uppercase().replace('-', "");
    assert!(login(&mut svc, "alice", USER_PW, Some(&rc), "10.0.0.1", t(40)).is_ok());
    assert_eq!(
        login(
            &mut svc,
            "alice",
            USER_PW,
            Some(&codes[3]),
            "10.0.0.1",
            t(41)
        ),
        Err(AuthError::InvalidMfaCode)
    );
    assert!(login(
        &mut svc,
        "alice",
        USER_PW,
        Some(&codes[4]),
        "10.0.0.1",
        t(42)
    )
    .is_ok());
    let u = svc.store().audit_entries();
    assert_eq!(
        u.iter()
            .filter(|e| e.action == AuditAction::RecoveryCodeUsed)
            .count(),
        2
    );
    assert!(u.iter().any(|e| e.action == AuditAction::MfaEnrol));
    assert!(u.iter().any(|e| e.action == AuditAction::MfaVerifyFailure));
}

#[test]
fn admin_needs_mfa_by_default_and_config_can_change_it() {
    let mut svc = service();
    svc.bootstrap_admin("boss", ADMIN_PW, t(0))
        .expect("bootstrap");
    assert!(matches!(
        login(&mut svc, "boss", ADMIN_PW, None, "127.0.0.1", t(1)),
        Err(AuthError::MfaEnrolmentRequired { .. })
    ));
    // A wrong password still says invalid credentials (no MFA hint).
    assert_eq!(
        login(&mut svc, "boss", "not my password", None, "127.0.0.1", t(1)),
        Err(AuthError::InvalidCredentials)
    );
    let mut cfg = mamori_server::auth::AuthConfig::for_tests();
    cfg.mfa_required_roles.clear();
    let mut relaxed = service_with(cfg);
    relaxed
        .bootstrap_admin("boss", ADMIN_PW, t(0))
        .expect("bootstrap");
    assert!(login(&mut relaxed, "boss", ADMIN_PW, None, "127.0.0.1", t(1)).is_ok());
    // ...and analysts can be made to need it.
    let mut cfg = mamori_server::auth::AuthConfig::for_tests();
    cfg.mfa_required_roles.push(Role::Analyst);
    let mut strict = service_with(cfg);
    add_user(&mut strict, "alice", Role::Analyst, USER_PW);
    assert!(matches!(
        login(&mut strict, "alice", USER_PW, None, "127.0.0.1", t(1)),
        Err(AuthError::MfaEnrolmentRequired { .. })
    ));
}

#[test]
fn mfa_reset_by_admin() {
    let mut svc = service();
    let (_secret, admin) = admin_session(&mut svc);
    let p = svc.authenticate_session(&admin.id, t(61)).expect("session");
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    enrol(&mut svc, "alice", USER_PW, t(61));
    assert_eq!(
        login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(62)),
        Err(AuthError::MfaRequired)
    );
    svc.reset_mfa(&p, "alice", None, t(63)).expect("reset");
    assert!(login(&mut svc, "alice", USER_PW, None, "10.0.0.1", t(64)).is_ok());
}

#[test]
fn enrolment_needs_its_ticket_expires_and_limits_attempts() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    let lo = ip("127.0.0.1");
    let e = svc
        .begin_totp_enrolment("alice", USER_PW, lo, t(0))
        .expect("begin");
    let secret = base32_decode(&e.secret_base32).expect("secret");
    let code = totp_code(&secret, t(0)).expect("code");
    // Without the ticket a correct code does nothing (no recovery codes for strangers).
    let bad_ticket = "0".repeat(64);
    for ticket in ["", "garbage", bad_ticket.as_str()] {
        assert!(matches!(
            svc.confirm_totp_enrolment("alice", ticket, &code, lo, t(0)),
            Err(AuthError::MfaNotPending { .. })
        ));
    }
    assert_eq!(svc.counters().get("auth_mfa_enrolment_bad_ticket"), 3);
    // Unknown or invalid user names.
    assert!(svc
        .confirm_totp_enrolment("ghost", &e.ticket, &code, lo, t(0))
        .is_err());
    assert!(svc
        .confirm_totp_enrolment("BAD\u{0}", &e.ticket, &code, lo, t(0))
        .is_err());

    // Expired after ten minutes.
    let later = t(0) + mins(10);
    let late_code = totp_code(&secret, later).expect("code");
    assert!(matches!(
        svc.confirm_totp_enrolment("alice", &e.ticket, &late_code, lo, later),
        Err(AuthError::MfaNotPending { .. })
    ));
    assert_eq!(svc.counters().get("auth_mfa_enrolment_expired"), 1);

    // Five wrong codes discard the pending enrolment.
    let e = svc
        .begin_totp_enrolment("alice", USER_PW, lo, later)
        .expect("begin");
    let secret = base32_decode(&e.secret_base32).expect("secret");
    for _ in 0..5 {
        assert_eq!(
            svc.confirm_totp_enrolment("alice", &e.ticket, "000000", lo, later),
            Err(AuthError::InvalidMfaCode)
        );
    }
    let code = totp_code(&secret, later).expect("code");
    assert!(matches!(
        svc.confirm_totp_enrolment("alice", &e.ticket, &code, lo, later),
        Err(AuthError::MfaNotPending { .. })
    ));
    // A fresh enrolment works, and the pending secret never became active before.
    assert!(login(&mut svc, "alice", USER_PW, None, "10.0.0.1", later).is_ok());
    let (secret, _) = enrol(&mut svc, "alice", USER_PW, later);
    let code = totp_code(&secret, later + mins(1)).expect("code");
    assert!(login(
        &mut svc,
        "alice",
        USER_PW,
        Some(&code),
        "10.0.0.1",
        later + mins(1)
    )
    .is_ok());
}

#[test]
fn enrolment_password_failures_count_towards_lockout() {
    let mut svc = service();
    add_user(&mut svc, "alice", Role::Analyst, USER_PW);
    for i in 0..5 {
        assert_eq!(
            svc.begin_totp_enrolment("alice", "guess guess guess", ip("10.6.6.6"), t(i)),
            Err(AuthError::InvalidCredentials)
        );
    }
    assert!(matches!(
        svc.begin_totp_enrolment("alice", USER_PW, ip("10.6.6.6"), t(10)),
        Err(AuthError::LockedOut { .. })
    ));
    assert_eq!(svc.counters().get("auth_mfa_enrolment_bad_password"), 5);
}
