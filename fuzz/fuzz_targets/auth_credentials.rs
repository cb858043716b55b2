//! Fuzz target: every credential the auth module accepts from a client — session ids,
//! CSRF tokens, API tokens, user names, passwords, TOTP and recovery codes — against one
//! long-lived service with a user, a session and a token.
#![no_main]

use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use mamori_core::Timestamp;
use mamori_server::auth::{
    classify_credential, validate_user_name, AuthConfig, AuthService, LoginRequest, MemoryStore,
    NewTokenRequest, NewUser, PasswordPolicy, Principal, Role,
};

struct Fixture {
    svc: AuthService<MemoryStore>,
    session_id: String,
}

fn fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let now = Timestamp::from_unix_secs(1_700_000_000);
        let mut svc =
            AuthService::new(MemoryStore::default(), AuthConfig::for_tests()).expect("service");
        let sys = Principal::system();
        let user = NewUser {
            name: "alice",
            role: Role::Analyst,
            password: "fuzzing passphrase 1",
        };
        svc.create_user(&sys, user, None, now).expect("user");
        let token = NewTokenRequest {
            name: "fuzz",
            owner: "alice",
            role: Role::Auditor,
            expires: None,
        };
        svc.create_token(&sys, token, None, now).expect("token");
        let login = LoginRequest {
            user: "alice",
            password: "fuzzing passphrase 1",
            mfa_code: None,
            source_ip: IpAddr::from([127, 0, 0, 1]),
        };
        let session = svc.login(login, now).expect("login");
        Mutex::new(Fixture {
            svc,
            session_id: session.id,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = classify_credential(&text);
    let _ = validate_user_name(&text);
    let _ = PasswordPolicy::default().check("alice", &text);
    let _ = PasswordPolicy { min_len: 0 }.check(&text, &text);

    let Ok(mut fx) = fixture().lock() else {
        return;
    };
    let now = Timestamp::from_unix_secs(1_700_000_100);
    let session_id = fx.session_id.clone();
    let _ = fx.svc.authenticate_session(&text, now);
    let _ = fx.svc.authenticate_token(&text, now);
    let _ = fx.svc.verify_csrf(&session_id, &text, now);
    // Split the input into user / password / code at the first two NULs.
    let mut parts = text.splitn(3, '\0');
    let user = parts.next().unwrap_or_default();
    let password = parts.next().unwrap_or_default();
    let code = parts.next();
    // Vary the source so lockout state does not stop the interesting paths.
    let ip = IpAddr::from([10, data.first().copied().unwrap_or(0), data.len() as u8, 1]);
    let req = LoginRequest {
        user,
        password,
        mfa_code: code,
        source_ip: ip,
    };
    let _ = fx.svc.login(req, now);
    let _ = fx
        .svc
        .confirm_totp_enrolment(user, password, code.unwrap_or_default(), ip, now);
});
