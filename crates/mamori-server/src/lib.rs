//! # mamori-server
//!
//! The always-on runtime. So far it holds [`auth`]: users, passwords, TOTP MFA, sessions,
//! API tokens, roles and the audit trail, independent of any web framework (the HTTP layer
//! calls into it).
//!
//! ```
//! use std::net::IpAddr;
//! use mamori_core::{Duration, Timestamp};
//! use mamori_server::auth::{
//!     totp, Action, AuthConfig, AuthError, AuthService, LoginRequest, MemoryStore,
//! };
//!
//! let now = Timestamp::from_unix_secs(1_700_000_000);
//! let ip: IpAddr = "127.0.0.1".parse()?;
//! let mut auth = AuthService::new(MemoryStore::default(), AuthConfig::for_tests())?;
//!
//! // First start: create the administrator. MFA is required for admins by default.
//! auth.bootstrap_admin("root-admin", "a long passphrase 42", now)?;
//! let login = |code| LoginRequest {
//!     user: "root-admin", password: "a long passphrase 42", mfa_code: code, source_ip: ip,
//! };
//! assert!(matches!(auth.login(login(None), now), Err(AuthError::MfaEnrolmentRequired { .. })));
//!
//! // Enrol TOTP: show `uri` as a QR code, confirm with a first code, keep the recovery codes.
//! let enrolment = auth.begin_totp_enrolment("root-admin", "a long passphrase 42", ip, now)?;
//! let secret = totp::base32_decode(&enrolment.secret_base32)?;
//! let code = totp::totp_code(&secret, now).ok_or("time before epoch")?;
//! let recovery_codes = auth.confirm_totp_enrolment("root-admin", &enrolment.ticket, &code, ip, now)?;
//! assert_eq!(recovery_codes.len(), 10);
//!
//! // Log in (next TOTP step: a code is accepted once), then use the session.
//! let later = now + Duration::from_secs(30);
//! let code = totp::totp_code(&secret, later).ok_or("time before epoch")?;
//! let session = auth.login(login(Some(&code)), later)?;
//! let principal = auth.authenticate_session(&session.id, later)?;
//! auth.verify_csrf(&session.id, &session.csrf_token, later)?;
//! auth.check(&principal, Action::UsersWrite, Some(ip), later)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod auth;
pub mod control;
