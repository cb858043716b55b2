//! Helpers shared by the auth integration tests.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::net::IpAddr;

use mamori_core::{Duration, Timestamp};
use mamori_server::auth::{
    totp, AuthConfig, AuthError, AuthService, LoginRequest, MemoryStore, NewSession, NewUser,
    Principal, Role,
};

/// Passwords that satisfy the default policy.
pub const ADMIN_PW: &str = "admin passphrase 2026";
pub const USER_PW: &str = "analyst passphrase 77";

pub fn t(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(1_700_000_010 + secs)
}

pub fn mins(m: i64) -> Duration {
    Duration::from_mins(m)
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test ip literal")
}

pub fn service() -> AuthService<MemoryStore> {
    AuthService::new(MemoryStore::default(), AuthConfig::for_tests()).expect("service")
}

pub fn service_with(config: AuthConfig) -> AuthService<MemoryStore> {
    AuthService::new(MemoryStore::default(), config).expect("service")
}

/// Create a user through the system principal.
pub fn add_user(svc: &mut AuthService<MemoryStore>, name: &str, role: Role, pw: &str) {
    svc.create_user(
        &Principal::system(),
        NewUser {
            name,
            role,
            password: pw,
        },
        None,
        t(0),
    )
    .expect("create user");
}

pub fn login(
    svc: &mut AuthService<MemoryStore>,
    user: &str,
    password: &str,
    code: Option<&str>,
    from: &str,
    now: Timestamp,
) -> Result<NewSession, AuthError> {
    svc.login(
        LoginRequest {
            user,
            password,
            mfa_code: code,
            source_ip: ip(from),
        },
        now,
    )
}

/// Enrol TOTP for `user` at `now`; returns (secret, recovery codes).
pub fn enrol(
    svc: &mut AuthService<MemoryStore>,
    user: &str,
    password: &str,
    now: Timestamp,
) -> (Vec<u8>, Vec<String>) {
    let e = svc
        .begin_totp_enrolment(user, password, ip("127.0.0.1"), now)
        .expect("begin enrolment");
    let secret = totp::base32_decode(&e.secret_base32).expect("base32 secret");
    let code = totp::totp_code(&secret, now).expect("code");
    let codes = svc
        .confirm_totp_enrolment(user, &e.ticket, &code, ip("127.0.0.1"), now)
        .expect("confirm enrolment");
    (secret, codes)
}

/// An admin `boss` with MFA enrolled at t(0) and a logged-in session at t(60).
pub fn admin_session(svc: &mut AuthService<MemoryStore>) -> (Vec<u8>, NewSession) {
    svc.bootstrap_admin("boss", ADMIN_PW, t(0))
        .expect("bootstrap");
    let (secret, _) = enrol(svc, "boss", ADMIN_PW, t(0));
    let code = totp::totp_code(&secret, t(60)).expect("code");
    let s = login(svc, "boss", ADMIN_PW, Some(&code), "127.0.0.1", t(60)).expect("admin login");
    (secret, s)
}
