//! [`AuthService`]: login, lockout, MFA enrolment, sessions, API tokens, user
//! administration and audit, over an [`AuthStore`].

use std::collections::HashMap;
use std::net::IpAddr;

use mamori_core::{Counters, Timestamp};
use serde::Serialize;

use super::secret::{ct_eq, hex, is_lower_hex, random_bytes, sha256_hex};
use super::*;

/// Credentials presented at login.
#[derive(Clone, Copy)]
pub struct LoginRequest<'a> {
    /// User name as typed.
    pub user: &'a str,
    /// Password.
    pub password: &'a str,
    /// TOTP code (6 digits) or recovery code, if the user has MFA.
    pub mfa_code: Option<&'a str>,
    /// Client address.
    pub source_ip: IpAddr,
}

impl std::fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("user", &self.user)
            .field("source_ip", &self.source_ip)
            .finish_non_exhaustive()
    }
}

/// A freshly created session. The id and CSRF token are shown once (cookie + page).
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Session id (64 hex digits): the cookie value.
    pub id: String,
    /// CSRF token (64 hex digits) to send back in a header on state-changing requests.
    pub csrf_token: String,
    /// The authenticated principal.
    pub principal: Principal,
    /// Absolute expiry.
    pub expires: Timestamp,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("principal", &self.principal)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// A freshly created API token; `token` is shown once and never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Token text: `mamori_<id>_<secret>`.
    pub token: String,
    /// The stored record (no secret).
    pub record: ApiToken,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// TOTP enrolment material: show the URI as a QR code, or the secret for manual entry.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// Base32 secret.
    pub secret_base32: String,
    /// `otpauth://totp/mamori:<user>?secret=…&issuer=mamori…`
    pub uri: String,
    /// Opaque ticket to pass to [`AuthService::confirm_totp_enrolment`].
    pub ticket: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(<redacted>)")
    }
}

/// Request to create an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewTokenRequest<'a> {
    /// Token name (`A-Z a-z 0-9 . _ -`, at most [`MAX_TOKEN_NAME_LEN`] bytes).
    pub name: &'a str,
    /// User the token acts for (must exist and stay enabled).
    pub owner: &'a str,
    /// Role (scope) of the token.
    pub role: Role,
    /// Expiry, if any.
    pub expires: Option<Timestamp>,
}

/// Request to create a user.
#[derive(Clone, Copy)]
pub struct NewUser<'a> {
    /// Name.
    pub name: &'a str,
    /// Role.
    pub role: Role,
    /// Initial password (policy-checked).
    pub password: &'a str,
}

#[derive(Debug, Clone, Copy, Default)]
struct SourceFailures {
    count: u32,
    locked_until: Option<Timestamp>,
    last_failure: Timestamp,
}

/// Grouping key for lockout: IPv4 address, or the /64 of an IPv6 address.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// The auth service: all operations over an [`AuthStore`], with time passed in.
#[derive(Debug)]
pub struct AuthService<S: AuthStore> {
    store: S,
    config: AuthConfig,
    counters: Counters,
    failures: HashMap<(String, IpAddr), SourceFailures>,
    dummy_hash: PasswordHash,
    password_verifications: u64,
}

/// Where a password is checked; names counters (`auth_<context>_<reason>`) and audit records.
#[derive(Debug, Clone, Copy)]
enum CredentialContext {
    Login,
    MfaEnrolment,
    PasswordChange,
}

impl CredentialContext {
    fn counter(self, reason: &str) -> String {
        let ctx = match self {
            CredentialContext::Login => "login",
            CredentialContext::MfaEnrolment => "mfa_enrolment",
            CredentialContext::PasswordChange => "password_change",
        };
        format!("auth_{ctx}_{reason}")
    }
    fn audit_action(self) -> AuditAction {
        match self {
            CredentialContext::Login | CredentialContext::MfaEnrolment => AuditAction::LoginFailure,
            CredentialContext::PasswordChange => AuditAction::PasswordChange,
        }
    }
}

/// What a successful MFA check used.
enum MfaUsed {
    Totp(u64),
    Recovery(usize),
}

impl<S: AuthStore> AuthService<S> {
    /// A service over `store`. Computes one dummy hash (used to equalise timing for unknown
    /// user names).
    pub fn new(store: S, config: AuthConfig) -> Result<Self, AuthError> {
        let dummy_password = hex(&random_bytes::<16>()?);
        let dummy_hash = hash_password(&dummy_password, &config.hash_params)?;
        Ok(AuthService {
            store,
            config,
            counters: Counters::new(),
            failures: HashMap::new(),
            dummy_hash,
            password_verifications: 0,
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }
    /// The store, mutably.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }
    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }
    /// Rejection counters (stable snake_case reasons, prefixed `auth_`).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// Argon2 verifications run so far, including dummy ones for unknown users.
    pub fn password_verifications(&self) -> u64 {
        self.password_verifications
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "private helper whose arguments are exactly the audit entry fields"
    )]
    fn audit(
        &mut self,
        now: Timestamp,
        actor: &str,
        source_ip: Option<IpAddr>,
        action: AuditAction,
        target: &str,
        outcome: AuditOutcome,
        details: impl Into<String>,
    ) -> Result<(), AuthError> {
        let entry = AuditEntry {
            time: now,
            actor: actor.to_string(),
            source_ip,
            action,
            target: target.to_string(),
            outcome,
            details: details.into(),
        };
        self.store.append_audit(&entry)?;
        Ok(())
    }

    /// Authorize and audit a refusal (the HTTP layer calls this for every request).
    pub fn check(
        &mut self,
        principal: &Principal,
        action: Action,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        if let Err(denied) = authorize(principal, action) {
            self.counters.incr("auth_access_denied");
            self.audit(
                now,
                &principal.audit_name(),
                source_ip,
                AuditAction::AccessDenied,
                action.as_str(),
                AuditOutcome::Failure,
                format!("role {}", principal.role),
            )?;
            return Err(denied.into());
        }
        Ok(())
    }

    fn verify(&mut self, password: &str, hash: &PasswordHash) -> Result<bool, AuthError> {
        self.password_verifications += 1;
        verify_password(password, hash)
    }

    fn user_or_unknown(&self, name: &str) -> Result<User, AuthError> {
        self.store
            .get_user(name)?
            .ok_or_else(|| AuthError::UnknownUser {
                name: truncate(name, MAX_AUDIT_NAME_LEN),
            })
    }

    fn enabled_admins(&self) -> Result<usize, AuthError> {
        Ok(self
            .store
            .list_users()?
            .iter()
            .filter(|u| u.role == Role::Admin && !u.disabled)
            .count())
    }

    // ---- users -------------------------------------------------------------------------

    /// First start: create an admin if there are no users at all (actor `system`).
    pub fn bootstrap_admin(
        &mut self,
        name: &str,
        password: &str,
        now: Timestamp,
    ) -> Result<PublicUser, AuthError> {
        if !self.store.list_users()?.is_empty() {
            return Err(AuthError::UserExists {
                name: truncate(name, MAX_AUDIT_NAME_LEN),
            });
        }
        self.create_user(
            &Principal::system(),
            NewUser {
                name,
                role: Role::Admin,
                password,
            },
            None,
            now,
        )
    }

    /// Create a user (requires `users.write`).
    pub fn create_user(
        &mut self,
        actor: &Principal,
        new: NewUser<'_>,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<PublicUser, AuthError> {
        self.check(actor, Action::UsersWrite, source_ip, now)?;
        validate_user_name(new.name)?;
        if self.store.get_user(new.name)?.is_some() {
            return Err(AuthError::UserExists {
                name: new.name.to_string(),
            });
        }
        self.config
            .password_policy
            .check(new.name, new.password)
            .map_err(AuthError::WeakPassword)?;
        let user = User {
            name: new.name.to_string(),
            role: new.role,
            password_hash: hash_password(new.password, &self.config.hash_params)?,
            disabled: false,
            created: now,
            updated: now,
            last_login: None,
            failed_logins: 0,
            locked_until: None,
            totp_secret: None,
            totp_pending: None,
            totp_last_step: None,
            recovery_code_hashes: Vec::new(),
        };
        self.store.put_user(&user)?;
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            AuditAction::UserCreate,
            new.name,
            AuditOutcome::Success,
            format!("role {}", new.role),
        )?;
        Ok(user.public())
    }

    /// List users (requires `users.read`).
    pub fn list_users(
        &mut self,
        actor: &Principal,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<Vec<PublicUser>, AuthError> {
        self.check(actor, Action::UsersRead, source_ip, now)?;
        Ok(self.store.list_users()?.iter().map(User::public).collect())
    }

    /// Disable or re-enable a user (requires `users.write`). Disabling revokes all sessions.
    pub fn set_disabled(
        &mut self,
        actor: &Principal,
        name: &str,
        disabled: bool,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        self.check(actor, Action::UsersWrite, source_ip, now)?;
        let mut user = self.user_or_unknown(name)?;
        if disabled && user.role == Role::Admin && !user.disabled && self.enabled_admins()? <= 1 {
            return Err(AuthError::LastAdmin {
                name: name.to_string(),
            });
        }
        user.disabled = disabled;
        user.updated = now;
        self.store.put_user(&user)?;
        let revoked = if disabled {
            self.store.delete_sessions_of_user(name)?
        } else {
            0
        };
        let action = if disabled {
            AuditAction::UserDisable
        } else {
            AuditAction::UserEnable
        };
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            action,
            name,
            AuditOutcome::Success,
            format!("{revoked} sessions revoked"),
        )
    }

    /// Change a user's role (requires `users.write`). Revokes the user's sessions (they are
    /// bound to the old role).
    pub fn set_role(
        &mut self,
        actor: &Principal,
        name: &str,
        role: Role,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        self.check(actor, Action::UsersWrite, source_ip, now)?;
        let mut user = self.user_or_unknown(name)?;
        if user.role == Role::Admin
            && role != Role::Admin
            && !user.disabled
            && self.enabled_admins()? <= 1
        {
            return Err(AuthError::LastAdmin {
                name: name.to_string(),
            });
        }
        let old = user.role;
        user.role = role;
        user.updated = now;
        self.store.put_user(&user)?;
        let revoked = self.store.delete_sessions_of_user(name)?;
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            AuditAction::UserRoleChange,
            name,
            AuditOutcome::Success,
            format!("{old} -> {role}; {revoked} sessions revoked"),
        )
    }

    /// The caller changes their own password (current password required; wrong guesses
    /// count towards lockout like failed logins). Revokes all the user's sessions. API
    /// tokens may not change passwords.
    pub fn change_password(
        &mut self,
        actor: &Principal,
        old_password: &str,
        new_password: &str,
        source_ip: IpAddr,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        if !matches!(actor.kind, PrincipalKind::Session { .. }) {
            self.counters.incr("auth_password_change_not_interactive");
            return Err(AuthError::InteractiveOnly);
        }
        let mut user = self.verify_credentials(
            CredentialContext::PasswordChange,
            &actor.user,
            old_password,
            source_ip,
            now,
        )?;
        self.set_password_inner(&mut user, new_password, now)?;
        self.failures.retain(|(u, _), _| u != &user.name);
        let revoked = self.store.delete_sessions_of_user(&user.name)?;
        self.audit(
            now,
            &user.name,
            Some(source_ip),
            AuditAction::PasswordChange,
            &user.name,
            AuditOutcome::Success,
            format!("by user; {revoked} sessions revoked"),
        )
    }

    /// An administrator sets a user's password (requires `users.write`). Revokes all the
    /// user's sessions and clears lockout.
    pub fn reset_password(
        &mut self,
        actor: &Principal,
        name: &str,
        new_password: &str,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        self.check(actor, Action::UsersWrite, source_ip, now)?;
        let mut user = self.user_or_unknown(name)?;
        self.set_password_inner(&mut user, new_password, now)?;
        let revoked = self.store.delete_sessions_of_user(name)?;
        self.failures.retain(|(u, _), _| u != name);
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            AuditAction::PasswordChange,
            name,
            AuditOutcome::Success,
            format!("by administrator; {revoked} sessions revoked"),
        )
    }

    fn set_password_inner(
        &mut self,
        user: &mut User,
        new_password: &str,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        if let Err(v) = self.config.password_policy.check(&user.name, new_password) {
            self.counters.incr("auth_password_policy_rejected");
            return Err(AuthError::WeakPassword(v));
        }
        user.password_hash = hash_password(new_password, &self.config.hash_params)?;
        user.failed_logins = 0;
        user.locked_until = None;
        user.updated = now;
        self.store.put_user(user)?;
        Ok(())
    }

    // ---- login and lockout -------------------------------------------------------------

    fn source_locked(&self, name: &str, ip: IpAddr, now: Timestamp) -> Option<Timestamp> {
        self.failures
            .get(&(truncate(name, MAX_USER_NAME_LEN), source_key(ip)))
            .and_then(|f| f.locked_until)
            .filter(|&until| until > now)
    }

    /// Record a failure for the pair; returns the lockout end if this failure locked it.
    ///
    /// Failures further apart than the lockout length do not add up (the count restarts),
    /// and such stale entries are the first evicted when the table is full.
    fn note_source_failure(&mut self, name: &str, ip: IpAddr, now: Timestamp) -> Option<Timestamp> {
        let window = self.config.lockout;
        let live = move |f: &SourceFailures| {
            f.locked_until.is_some_and(|until| until > now) || f.last_failure + window > now
        };
        let key = (truncate(name, MAX_USER_NAME_LEN), source_key(ip));
        if !self.failures.contains_key(&key) && self.failures.len() >= MAX_TRACKED_SOURCES {
            self.failures.retain(|_, f| live(f));
            if self.failures.len() >= MAX_TRACKED_SOURCES {
                self.counters.incr("auth_lockout_table_full");
                return None;
            }
        }
        let entry = self.failures.entry(key).or_insert(SourceFailures {
            count: 0,
            locked_until: None,
            last_failure: now,
        });
        if !live(entry) {
            entry.count = 0;
            entry.locked_until = None;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last_failure = now;
        if entry.count >= self.config.max_failures_per_source {
            let until = now + self.config.lockout;
            entry.locked_until = Some(until);
            return Some(until);
        }
        None
    }

    /// Record a failed credential check: counter, audit entry and (when `counts`) the
    /// (user, source) and account failure counters, locking when a threshold is reached.
    #[allow(
        clippy::too_many_arguments,
        reason = "private helper; the arguments are the facts of one failure"
    )]
    fn credential_failure(
        &mut self,
        ctx: CredentialContext,
        name: &str,
        source_ip: IpAddr,
        user: Option<&mut User>,
        reason: &str,
        counts: bool,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        let counter = ctx.counter(reason);
        self.counters.incr(&counter);
        let target = truncate(name, MAX_AUDIT_NAME_LEN);
        let ip = Some(source_ip);
        self.audit(
            now,
            &target,
            ip,
            ctx.audit_action(),
            &target,
            AuditOutcome::Failure,
            counter,
        )?;
        if !counts {
            return Ok(());
        }
        if let Some(until) = self.note_source_failure(name, source_ip, now) {
            self.counters.incr("auth_lockout_source");
            self.audit(
                now,
                &target,
                ip,
                AuditAction::Lockout,
                &target,
                AuditOutcome::Success,
                format!("source locked until {until}"),
            )?;
        }
        if let Some(user) = user {
            user.failed_logins = user.failed_logins.saturating_add(1);
            if user.failed_logins >= self.config.max_failures_per_user {
                let until = now + self.config.lockout;
                user.locked_until = Some(until);
                user.failed_logins = 0;
                self.counters.incr("auth_lockout_account");
                self.audit(
                    now,
                    &target,
                    ip,
                    AuditAction::Lockout,
                    &target,
                    AuditOutcome::Success,
                    format!("account locked until {until}"),
                )?;
            }
            user.updated = now;
            self.store.put_user(user)?;
        }
        Ok(())
    }

    /// Check a user name and password with lockout, equal Argon2 work for unknown names,
    /// and the same answer for unknown user, wrong password and disabled account.
    fn verify_credentials(
        &mut self,
        ctx: CredentialContext,
        name: &str,
        password: &str,
        source_ip: IpAddr,
        now: Timestamp,
    ) -> Result<User, AuthError> {
        if let Some(until) = self.source_locked(name, source_ip, now) {
            self.credential_failure(ctx, name, source_ip, None, "locked_source", false, now)?;
            return Err(AuthError::LockedOut { until });
        }
        let existing = if validate_user_name(name).is_ok() {
            self.store.get_user(name)?
        } else {
            None
        };
        let Some(mut user) = existing else {
            let dummy = self.dummy_hash.clone();
            self.verify(password, &dummy)?;
            self.credential_failure(ctx, name, source_ip, None, "unknown_user", true, now)?;
            return Err(AuthError::InvalidCredentials);
        };
        if let Some(until) = user.locked_until.filter(|&until| until > now) {
            self.credential_failure(ctx, name, source_ip, None, "locked_account", false, now)?;
            return Err(AuthError::LockedOut { until });
        }
        if !self.verify(password, &user.password_hash)? {
            self.credential_failure(
                ctx,
                name,
                source_ip,
                Some(&mut user),
                "bad_password",
                true,
                now,
            )?;
            return Err(AuthError::InvalidCredentials);
        }
        if user.disabled {
            self.credential_failure(ctx, name, source_ip, None, "disabled", false, now)?;
            return Err(AuthError::InvalidCredentials);
        }
        Ok(user)
    }

    /// Log in with password (and MFA code when enrolled). On success a session is created.
    ///
    /// Unknown user, wrong password and disabled account all give
    /// [`AuthError::InvalidCredentials`], after the same Argon2 work. A user with MFA who
    /// sends no code gets [`AuthError::MfaRequired`] (the client asks for the code and
    /// sends both again); a wrong code counts towards lockout.
    pub fn login(
        &mut self,
        req: LoginRequest<'_>,
        now: Timestamp,
    ) -> Result<NewSession, AuthError> {
        let ctx = CredentialContext::Login;
        let mut user = self.verify_credentials(ctx, req.user, req.password, req.source_ip, now)?;
        if let Some(secret) = user.totp_secret.clone() {
            let Some(code) = req.mfa_code else {
                self.counters.incr("auth_login_mfa_missing");
                return Err(AuthError::MfaRequired);
            };
            match self.check_mfa(&user, secret.as_bytes(), code, now) {
                Some(MfaUsed::Totp(step)) => user.totp_last_step = Some(step),
                Some(MfaUsed::Recovery(index)) => {
                    if index < user.recovery_code_hashes.len() {
                        user.recovery_code_hashes.remove(index);
                    }
                    self.audit(
                        now,
                        &user.name,
                        Some(req.source_ip),
                        AuditAction::RecoveryCodeUsed,
                        &user.name,
                        AuditOutcome::Success,
                        format!("{} recovery codes left", user.recovery_code_hashes.len()),
                    )?;
                }
                None => {
                    self.audit(
                        now,
                        &user.name,
                        Some(req.source_ip),
                        AuditAction::MfaVerifyFailure,
                        &user.name,
                        AuditOutcome::Failure,
                        "login",
                    )?;
                    self.credential_failure(
                        ctx,
                        req.user,
                        req.source_ip,
                        Some(&mut user),
                        "bad_mfa",
                        true,
                        now,
                    )?;
                    return Err(AuthError::InvalidMfaCode);
                }
            }
        } else if self.config.mfa_required_roles.contains(&user.role) {
            self.credential_failure(
                ctx,
                req.user,
                req.source_ip,
                None,
                "mfa_not_enrolled",
                false,
                now,
            )?;
            return Err(AuthError::MfaEnrolmentRequired { user: user.name });
        }
        // Success.
        self.failures
            .remove(&(user.name.clone(), source_key(req.source_ip)));
        user.failed_logins = 0;
        user.locked_until = None;
        user.last_login = Some(now);
        self.store.put_user(&user)?;
        let session = self.create_session(&user, Some(req.source_ip), now)?;
        self.audit(
            now,
            &user.name,
            Some(req.source_ip),
            AuditAction::LoginSuccess,
            &user.name,
            AuditOutcome::Success,
            format!("role {}", user.role),
        )?;
        Ok(session)
    }

    fn check_mfa(&self, user: &User, secret: &[u8], code: &str, now: Timestamp) -> Option<MfaUsed> {
        let code = code.trim();
        if let Some(step) = totp::verify_totp(secret, code, now, user.totp_last_step) {
            return Some(MfaUsed::Totp(step));
        }
        let normalised = normalise_recovery_code(code)?;
        let hash = sha256_hex(normalised.as_bytes());
        let mut found = None;
        for (i, stored) in user.recovery_code_hashes.iter().enumerate() {
            if ct_eq(stored.as_bytes(), hash.as_bytes()) && found.is_none() {
                found = Some(i);
            }
        }
        found.map(MfaUsed::Recovery)
    }

    // ---- MFA enrolment -----------------------------------------------------------------

    /// Start TOTP enrolment. Re-verifies the password (so it works both from a session and
    /// straight after [`AuthError::MfaEnrolmentRequired`]); failures count towards lockout.
    /// The returned ticket must accompany the confirmation, within
    /// [`TOTP_ENROLMENT_TTL`].
    pub fn begin_totp_enrolment(
        &mut self,
        name: &str,
        password: &str,
        source_ip: IpAddr,
        now: Timestamp,
    ) -> Result<TotpEnrolment, AuthError> {
        let mut user = self.verify_credentials(
            CredentialContext::MfaEnrolment,
            name,
            password,
            source_ip,
            now,
        )?;
        if user.mfa_enrolled() {
            return Err(AuthError::MfaAlreadyEnrolled { user: user.name });
        }
        let secret = random_bytes::<{ totp::TOTP_SECRET_LEN }>()?;
        let ticket = hex(&random_bytes::<ENROLMENT_TICKET_BYTES>()?);
        user.totp_pending = Some(PendingTotp {
            secret: TotpSecret::from_bytes(secret.to_vec()),
            ticket_hash: sha256_hex(ticket.as_bytes()),
            created: now,
            failed_attempts: 0,
        });
        user.updated = now;
        self.store.put_user(&user)?;
        self.audit(
            now,
            &user.name,
            Some(source_ip),
            AuditAction::MfaEnrolBegin,
            &user.name,
            AuditOutcome::Success,
            "",
        )?;
        Ok(TotpEnrolment {
            secret_base32: totp::base32_encode(&secret),
            uri: totp::otpauth_uri(&user.name, &secret),
            ticket,
        })
    }

    /// Confirm enrolment with the ticket from [`Self::begin_totp_enrolment`] and a first
    /// code; returns the recovery codes (shown once). After
    /// [`MAX_ENROLMENT_CODE_ATTEMPTS`] wrong codes the pending enrolment is discarded.
    pub fn confirm_totp_enrolment(
        &mut self,
        name: &str,
        ticket: &str,
        code: &str,
        source_ip: IpAddr,
        now: Timestamp,
    ) -> Result<Vec<String>, AuthError> {
        let not_pending = || AuthError::MfaNotPending {
            user: truncate(name, MAX_AUDIT_NAME_LEN),
        };
        let existing = if validate_user_name(name).is_ok() {
            self.store.get_user(name)?
        } else {
            None
        };
        let Some(mut user) = existing else {
            self.counters.incr("auth_mfa_enrolment_unknown_user");
            return Err(not_pending());
        };
        let Some(mut pending) = user.totp_pending.clone() else {
            self.counters.incr("auth_mfa_enrolment_not_pending");
            return Err(not_pending());
        };
        let presented = sha256_hex(ticket.as_bytes());
        if !ct_eq(presented.as_bytes(), pending.ticket_hash.as_bytes()) {
            self.counters.incr("auth_mfa_enrolment_bad_ticket");
            self.audit(
                now,
                &user.name,
                Some(source_ip),
                AuditAction::MfaVerifyFailure,
                &user.name,
                AuditOutcome::Failure,
                "enrolment confirmation: wrong ticket",
            )?;
            return Err(not_pending());
        }
        if now - pending.created >= TOTP_ENROLMENT_TTL {
            self.counters.incr("auth_mfa_enrolment_expired");
            user.totp_pending = None;
            self.store.put_user(&user)?;
            return Err(not_pending());
        }
        let Some(step) = totp::verify_totp(pending.secret.as_bytes(), code.trim(), now, None)
        else {
            self.counters.incr("auth_mfa_enrolment_bad_code");
            pending.failed_attempts = pending.failed_attempts.saturating_add(1);
            let discarded = pending.failed_attempts >= MAX_ENROLMENT_CODE_ATTEMPTS;
            user.totp_pending = (!discarded).then_some(pending);
            user.updated = now;
            self.store.put_user(&user)?;
            self.audit(
                now,
                &user.name,
                Some(source_ip),
                AuditAction::MfaVerifyFailure,
                &user.name,
                AuditOutcome::Failure,
                if discarded {
                    "enrolment confirmation: wrong code, enrolment discarded"
                } else {
                    "enrolment confirmation: wrong code"
                },
            )?;
            return Err(AuthError::InvalidMfaCode);
        };
        let n = self.config.recovery_codes.min(MAX_RECOVERY_CODES);
        let mut codes = Vec::with_capacity(n);
        let mut hashes = Vec::with_capacity(n);
        for _ in 0..n {
            let raw = random_bytes::<RECOVERY_CODE_BYTES>()?;
            let text = totp::base32_encode(&raw).to_lowercase();
            hashes.push(sha256_hex(text.as_bytes()));
            codes.push(format_recovery_code(&text));
        }
        user.totp_secret = Some(pending.secret);
        user.totp_pending = None;
        user.totp_last_step = Some(step);
        user.recovery_code_hashes = hashes;
        user.updated = now;
        self.store.put_user(&user)?;
        self.audit(
            now,
            &user.name,
            Some(source_ip),
            AuditAction::MfaEnrol,
            &user.name,
            AuditOutcome::Success,
            format!("{} recovery codes issued", codes.len()),
        )?;
        Ok(codes)
    }

    /// Remove a user's MFA (requires `users.write`); they must enrol again. Revokes sessions.
    pub fn reset_mfa(
        &mut self,
        actor: &Principal,
        name: &str,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        self.check(actor, Action::UsersWrite, source_ip, now)?;
        let mut user = self.user_or_unknown(name)?;
        user.totp_secret = None;
        user.totp_pending = None;
        user.totp_last_step = None;
        user.recovery_code_hashes.clear();
        user.updated = now;
        self.store.put_user(&user)?;
        self.store.delete_sessions_of_user(name)?;
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            AuditAction::MfaReset,
            name,
            AuditOutcome::Success,
            "",
        )
    }

    // ---- sessions ----------------------------------------------------------------------

    fn create_session(
        &mut self,
        user: &User,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<NewSession, AuthError> {
        let id = hex(&random_bytes::<SESSION_ID_BYTES>()?);
        let csrf = hex(&random_bytes::<CSRF_TOKEN_BYTES>()?);
        let id_hash = sha256_hex(id.as_bytes());
        let expires = now + self.config.session_absolute;
        let session = Session {
            id_hash: id_hash.clone(),
            csrf_hash: sha256_hex(csrf.as_bytes()),
            user: user.name.clone(),
            role: user.role,
            created: now,
            last_seen: now,
            expires,
            source_ip,
        };
        self.store.put_session(&session)?;
        Ok(NewSession {
            id,
            csrf_token: csrf,
            principal: Principal {
                user: user.name.clone(),
                role: user.role,
                kind: PrincipalKind::Session { handle: id_hash },
            },
            expires,
        })
    }

    fn live_session(&mut self, session_id: &str, now: Timestamp) -> Result<Session, AuthError> {
        if !is_lower_hex(session_id, SESSION_ID_BYTES * 2) {
            self.counters.incr("auth_session_malformed");
            return Err(AuthError::InvalidSession);
        }
        let id_hash = sha256_hex(session_id.as_bytes());
        let Some(session) = self.store.get_session(&id_hash)? else {
            self.counters.incr("auth_session_unknown");
            return Err(AuthError::InvalidSession);
        };
        if now >= session.expires {
            self.counters.incr("auth_session_expired_absolute");
            self.store.delete_session(&id_hash)?;
            return Err(AuthError::SessionExpired);
        }
        if now - session.last_seen >= self.config.session_idle {
            self.counters.incr("auth_session_expired_idle");
            self.store.delete_session(&id_hash)?;
            return Err(AuthError::SessionExpired);
        }
        Ok(session)
    }

    /// Resolve a session cookie to a principal, enforcing idle and absolute expiry and
    /// refreshing the idle timer. Sessions of disabled or deleted users are revoked.
    pub fn authenticate_session(
        &mut self,
        session_id: &str,
        now: Timestamp,
    ) -> Result<Principal, AuthError> {
        let mut session = self.live_session(session_id, now)?;
        let user = self.store.get_user(&session.user)?;
        if user.is_none_or(|u| u.disabled || u.role != session.role) {
            self.counters.incr("auth_session_user_invalid");
            self.store.delete_session(&session.id_hash)?;
            return Err(AuthError::InvalidSession);
        }
        session.last_seen = now;
        self.store.put_session(&session)?;
        Ok(Principal {
            user: session.user,
            role: session.role,
            kind: PrincipalKind::Session {
                handle: session.id_hash,
            },
        })
    }

    /// Verify the CSRF token sent with a state-changing request on a cookie session
    /// (synchronizer pattern; constant-time comparison of hashes).
    pub fn verify_csrf(
        &mut self,
        session_id: &str,
        csrf_token: &str,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        let session = self.live_session(session_id, now)?;
        let presented = sha256_hex(csrf_token.as_bytes());
        if is_lower_hex(csrf_token, CSRF_TOKEN_BYTES * 2)
            && ct_eq(presented.as_bytes(), session.csrf_hash.as_bytes())
        {
            Ok(())
        } else {
            self.counters.incr("auth_csrf_mismatch");
            Err(AuthError::CsrfMismatch)
        }
    }

    /// Log out: revoke the caller's own session.
    pub fn logout(
        &mut self,
        session_id: &str,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        if !is_lower_hex(session_id, SESSION_ID_BYTES * 2) {
            return Err(AuthError::InvalidSession);
        }
        let id_hash = sha256_hex(session_id.as_bytes());
        let Some(session) = self.store.get_session(&id_hash)? else {
            return Err(AuthError::InvalidSession);
        };
        self.store.delete_session(&id_hash)?;
        self.audit(
            now,
            &session.user,
            source_ip,
            AuditAction::SessionRevoke,
            &session.user,
            AuditOutcome::Success,
            "logout",
        )
    }

    /// Revoke a session by handle: one's own, or anyone's with `users.write`.
    pub fn revoke_session(
        &mut self,
        actor: &Principal,
        handle: &str,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        let session = self
            .store
            .get_session(handle)?
            .ok_or(AuthError::InvalidSession)?;
        if session.user != actor.user || matches!(actor.kind, PrincipalKind::Token { .. }) {
            self.check(actor, Action::UsersWrite, source_ip, now)?;
        }
        self.store.delete_session(handle)?;
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            AuditAction::SessionRevoke,
            &session.user,
            AuditOutcome::Success,
            "revoked by handle",
        )
    }

    // ---- API tokens --------------------------------------------------------------------

    /// Create an API token acting for `owner` with `role` (requires `users.write`).
    pub fn create_token(
        &mut self,
        actor: &Principal,
        request: NewTokenRequest<'_>,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<NewToken, AuthError> {
        let NewTokenRequest {
            name,
            owner,
            role,
            expires,
        } = request;
        self.check(actor, Action::UsersWrite, source_ip, now)?;
        validate_token_name(name)?;
        self.user_or_unknown(owner)?;
        let id = hex(&random_bytes::<TOKEN_ID_BYTES>()?);
        let secret = hex(&random_bytes::<TOKEN_SECRET_BYTES>()?);
        let record = ApiToken {
            id: id.clone(),
            secret_hash: sha256_hex(secret.as_bytes()),
            name: name.to_string(),
            owner: owner.to_string(),
            role,
            created: now,
            expires,
            last_used: None,
            revoked: None,
        };
        self.store.put_token(&record)?;
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            AuditAction::TokenCreate,
            &id,
            AuditOutcome::Success,
            format!("name {name}, owner {owner}, role {role}"),
        )?;
        Ok(NewToken {
            token: format!("{TOKEN_PREFIX}{id}_{secret}"),
            record,
        })
    }

    /// Revoke an API token (requires `users.write`).
    pub fn revoke_token(
        &mut self,
        actor: &Principal,
        id: &str,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        self.check(actor, Action::UsersWrite, source_ip, now)?;
        let mut token = self
            .store
            .get_token(id)?
            .ok_or_else(|| AuthError::UnknownToken {
                id: truncate(id, MAX_AUDIT_NAME_LEN),
            })?;
        if token.revoked.is_none() {
            token.revoked = Some(now);
            self.store.put_token(&token)?;
        }
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            AuditAction::TokenRevoke,
            id,
            AuditOutcome::Success,
            format!("name {}", token.name),
        )
    }

    /// List API tokens without secrets (requires `users.read`).
    pub fn list_tokens(
        &mut self,
        actor: &Principal,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<Vec<ApiToken>, AuthError> {
        self.check(actor, Action::UsersRead, source_ip, now)?;
        Ok(self.store.list_tokens()?)
    }

    /// Resolve a bearer token to a principal; records last use.
    pub fn authenticate_token(
        &mut self,
        token: &str,
        now: Timestamp,
    ) -> Result<Principal, AuthError> {
        let Some((id, secret)) = parse_token(token) else {
            self.counters.incr("auth_token_malformed");
            return Err(AuthError::InvalidToken);
        };
        let Some(mut record) = self.store.get_token(id)? else {
            self.counters.incr("auth_token_unknown");
            return Err(AuthError::InvalidToken);
        };
        let presented = sha256_hex(secret.as_bytes());
        if !ct_eq(presented.as_bytes(), record.secret_hash.as_bytes()) {
            self.counters.incr("auth_token_bad_secret");
            return Err(AuthError::InvalidToken);
        }
        if record.revoked.is_some() {
            self.counters.incr("auth_token_revoked");
            return Err(AuthError::InvalidToken);
        }
        if record.expires.is_some_and(|e| now >= e) {
            self.counters.incr("auth_token_expired");
            return Err(AuthError::InvalidToken);
        }
        if self
            .store
            .get_user(&record.owner)?
            .is_none_or(|u| u.disabled)
        {
            self.counters.incr("auth_token_owner_invalid");
            return Err(AuthError::InvalidToken);
        }
        record.last_used = Some(now);
        self.store.put_token(&record)?;
        Ok(Principal {
            user: record.owner,
            role: record.role,
            kind: PrincipalKind::Token {
                id: record.id,
                name: record.name,
            },
        })
    }

    // ---- audit -------------------------------------------------------------------------

    /// Read the audit log (requires `audit.read`; the read itself is recorded first).
    pub fn read_audit(
        &mut self,
        actor: &Principal,
        since: Option<Timestamp>,
        limit: usize,
        source_ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<Vec<AuditEntry>, AuthError> {
        self.check(actor, Action::AuditRead, source_ip, now)?;
        let limit = limit.min(MAX_AUDIT_READ);
        self.audit(
            now,
            &actor.audit_name(),
            source_ip,
            AuditAction::AuditRead,
            "audit",
            AuditOutcome::Success,
            format!("limit {limit}"),
        )?;
        Ok(self.store.read_audit(since, limit)?)
    }
}

/// Split `mamori_<16 hex>_<64 hex>` into (id, secret).
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (is_lower_hex(id, TOKEN_ID_BYTES * 2) && is_lower_hex(secret, TOKEN_SECRET_BYTES * 2))
        .then_some((id, secret))
}

/// Recovery codes are 16 base32 characters shown as `xxxx-xxxx-xxxx-xxxx`.
fn format_recovery_code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Lower-case, drop dashes and spaces; `None` unless 16 base32 characters remain.
fn normalise_recovery_code(code: &str) -> Option<String> {
    if code.len() > 64 {
        return None;
    }
    let s: String = code
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)))
    .then_some(s)
}

/// Parsed form of a presented credential, for the HTTP layer's `Authorization` handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CredentialKind {
    /// Looks like an API token (`mamori_…`).
    Token,
    /// Looks like a session id (64 hex digits).
    Session,
    /// Neither.
    Unknown,
}

/// Classify a presented credential without looking anything up (fuzzed entry point).
pub fn classify_credential(text: &str) -> CredentialKind {
    if parse_token(text).is_some() {
        CredentialKind::Token
    } else if is_lower_hex(text, SESSION_ID_BYTES * 2) {
        CredentialKind::Session
    } else {
        CredentialKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_code_format_round_trip() {
        let text = "abcdefgh234567ab";
        let shown = format_recovery_code(text);
        assert_eq!(shown, "abcd-efgh-2345-67ab");
        assert_eq!(
            normalise_recovery_code(&shown.to_uppercase()).as_deref(),
            Some(text)
        );
        assert_eq!(normalise_recovery_code("abcd-efgh-2345"), None);
        assert_eq!(normalise_recovery_code("abcd-efgh-2345-67a1"), None);
    }

    #[test]
    fn ipv6_sources_grouped_by_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            source_key(mapped),
            "192.0.2.7".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn token_parsing() {
        let id = "0123456789abcdef";
        let secret = "ab".repeat(32);
        let t = format!("mamori_{id}_{secret}");
        assert_eq!(parse_token(&t), Some((id, secret.as_str())));
        assert_eq!(parse_token("mamori_x_y"), None);
        assert_eq!(parse_token(&t.to_uppercase()), None);
        assert_eq!(classify_credential(&t), CredentialKind::Token);
        assert_eq!(
            classify_credential(&"a".repeat(64)),
            CredentialKind::Session
        );
        assert_eq!(classify_credential("garbage"), CredentialKind::Unknown);
    }
}
