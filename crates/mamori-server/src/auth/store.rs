//! Persistent records and the [`AuthStore`] trait, with an in-memory implementation.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use mamori_core::Timestamp;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::password::PasswordHash;
use super::rbac::Role;

/// A TOTP shared secret. `Debug` is redacted; not `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// Wrap raw secret bytes (e.g. loaded from storage).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        TotpSecret(bytes)
    }
    /// The raw bytes, for persisting and computing codes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// A TOTP enrolment awaiting confirmation. `Debug` is redacted; not `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingTotp {
    /// The new secret.
    pub secret: TotpSecret,
    /// SHA-256 hex of the enrolment ticket handed to the enrolling client.
    pub ticket_hash: String,
    /// When enrolment started.
    pub created: Timestamp,
    /// Wrong confirmation codes so far.
    pub failed_attempts: u32,
}

impl fmt::Debug for PendingTotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingTotp")
            .field("created", &self.created)
            .field("failed_attempts", &self.failed_attempts)
            .finish_non_exhaustive()
    }
}

/// A stored user. `Debug` and `Serialize` omit the password hash, TOTP secrets and recovery
/// code hashes; use [`PublicUser`] for API output.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Validated user name (see [`super::validate_user_name`]).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: PasswordHash,
    /// Disabled users cannot log in; their tokens stop working.
    pub disabled: bool,
    /// Creation time.
    pub created: Timestamp,
    /// Last change.
    pub updated: Timestamp,
    /// Last successful login.
    pub last_login: Option<Timestamp>,
    /// Consecutive failed logins from all sources since the last success.
    pub failed_logins: u32,
    /// Account-wide lockout (all sources) until this time.
    pub locked_until: Option<Timestamp>,
    /// Confirmed TOTP secret (MFA enrolled).
    pub totp_secret: Option<TotpSecret>,
    /// Enrolment awaiting confirmation with a first code.
    pub totp_pending: Option<PendingTotp>,
    /// Highest TOTP step accepted so far (replay protection).
    pub totp_last_step: Option<u64>,
    /// SHA-256 hex of unused recovery codes.
    pub recovery_code_hashes: Vec<String>,
}

impl User {
    /// True once TOTP is confirmed.
    pub fn mfa_enrolled(&self) -> bool {
        self.totp_secret.is_some()
    }
    /// The public view.
    pub fn public(&self) -> PublicUser {
        PublicUser {
            name: self.name.clone(),
            role: self.role,
            disabled: self.disabled,
            mfa_enrolled: self.mfa_enrolled(),
            recovery_codes_left: self.recovery_code_hashes.len(),
            created: self.created,
            updated: self.updated,
            last_login: self.last_login,
            locked_until: self.locked_until,
        }
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .field("last_login", &self.last_login)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .field("mfa_enrolled", &self.mfa_enrolled())
            .field("mfa_pending", &self.totp_pending.is_some())
            .field("recovery_codes_left", &self.recovery_code_hashes.len())
            .finish_non_exhaustive()
    }
}

impl Serialize for User {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.public().serialize(s)
    }
}

/// A user as the API shows it: no secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicUser {
    /// User name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Disabled flag.
    pub disabled: bool,
    /// TOTP confirmed.
    pub mfa_enrolled: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: usize,
    /// Creation time.
    pub created: Timestamp,
    /// Last change.
    pub updated: Timestamp,
    /// Last successful login.
    pub last_login: Option<Timestamp>,
    /// Account-wide lockout end, if locked.
    pub locked_until: Option<Timestamp>,
}

/// A stored session, keyed by the SHA-256 of its id (the id itself is never stored).
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 hex of the session id; also the handle used to revoke it.
    pub id_hash: String,
    /// SHA-256 hex of the session's CSRF token.
    pub csrf_hash: String,
    /// User name.
    pub user: String,
    /// Role at creation.
    pub role: Role,
    /// Creation time.
    pub created: Timestamp,
    /// Last use (idle expiry counts from here).
    pub last_seen: Timestamp,
    /// Absolute expiry.
    pub expires: Timestamp,
    /// Address that logged in.
    pub source_ip: Option<IpAddr>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("role", &self.role)
            .field("created", &self.created)
            .field("last_seen", &self.last_seen)
            .field("expires", &self.expires)
            .field("source_ip", &self.source_ip)
            .finish_non_exhaustive()
    }
}

/// A stored API token; the secret part is kept only as a SHA-256 hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Public id (16 hex digits), part of the token text.
    pub id: String,
    /// SHA-256 hex of the secret part.
    pub secret_hash: String,
    /// Human name, e.g. `ci-export`.
    pub name: String,
    /// User the token acts for.
    pub owner: String,
    /// Role (scope) of the token.
    pub role: Role,
    /// Creation time.
    pub created: Timestamp,
    /// Expiry, if any.
    pub expires: Option<Timestamp>,
    /// Last successful use.
    pub last_used: Option<Timestamp>,
    /// Revocation time, if revoked.
    pub revoked: Option<Timestamp>,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("role", &self.role)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .field("last_used", &self.last_used)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

impl Serialize for ApiToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ApiToken", 8)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("owner", &self.owner)?;
        st.serialize_field("role", &self.role)?;
        st.serialize_field("created", &self.created)?;
        st.serialize_field("expires", &self.expires)?;
        st.serialize_field("last_used", &self.last_used)?;
        st.serialize_field("revoked", &self.revoked)?;
        st.end()
    }
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Successful login.
    LoginSuccess,
    /// Failed login (bad credentials, disabled, locked, MFA missing).
    LoginFailure,
    /// A user/source pair or a whole account was locked.
    Lockout,
    /// TOTP enrolment started.
    MfaEnrolBegin,
    /// TOTP enrolment confirmed.
    MfaEnrol,
    /// A TOTP or recovery code was wrong.
    MfaVerifyFailure,
    /// A recovery code was used.
    RecoveryCodeUsed,
    /// MFA was reset by an administrator.
    MfaReset,
    /// Password changed (by the user or an administrator).
    PasswordChange,
    /// User created.
    UserCreate,
    /// User disabled.
    UserDisable,
    /// User enabled again.
    UserEnable,
    /// Role changed.
    UserRoleChange,
    /// API token created.
    TokenCreate,
    /// API token revoked.
    TokenRevoke,
    /// Session revoked (logout, administrator, password change).
    SessionRevoke,
    /// The audit log was read.
    AuditRead,
    /// Authorization refused.
    AccessDenied,
}

impl AuditAction {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::LoginSuccess => "login_success",
            AuditAction::LoginFailure => "login_failure",
            AuditAction::Lockout => "lockout",
            AuditAction::MfaEnrolBegin => "mfa_enrol_begin",
            AuditAction::MfaEnrol => "mfa_enrol",
            AuditAction::MfaVerifyFailure => "mfa_verify_failure",
            AuditAction::RecoveryCodeUsed => "recovery_code_used",
            AuditAction::MfaReset => "mfa_reset",
            AuditAction::PasswordChange => "password_change",
            AuditAction::UserCreate => "user_create",
            AuditAction::UserDisable => "user_disable",
            AuditAction::UserEnable => "user_enable",
            AuditAction::UserRoleChange => "user_role_change",
            AuditAction::TokenCreate => "token_create",
            AuditAction::TokenRevoke => "token_revoke",
            AuditAction::SessionRevoke => "session_revoke",
            AuditAction::AuditRead => "audit_read",
            AuditAction::AccessDenied => "access_denied",
        }
    }
}

/// Result of an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Done.
    Success,
    /// Refused or failed.
    Failure,
}

/// One audit log entry. Never contains secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When.
    pub time: Timestamp,
    /// Who (user name, `token:<name>(<owner>)`, `system`, or the name tried at login).
    pub actor: String,
    /// From where, if known.
    pub source_ip: Option<IpAddr>,
    /// What.
    pub action: AuditAction,
    /// On what (user name, token id, session handle prefix, action name).
    pub target: String,
    /// Outcome.
    pub outcome: AuditOutcome,
    /// Free text (reason), never secret.
    pub details: String,
}

/// Storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("auth store: {0}")]
pub struct StoreError(pub String);

/// Persistence for the auth module. Implemented in memory here and on SQLite by the store.
pub trait AuthStore {
    /// A user by name.
    fn get_user(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// Insert or replace a user.
    fn put_user(&mut self, user: &User) -> Result<(), StoreError>;
    /// All users, ordered by name.
    fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// A session by id hash.
    fn get_session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;
    /// Insert or replace a session.
    fn put_session(&mut self, session: &Session) -> Result<(), StoreError>;
    /// Delete a session; true if it existed.
    fn delete_session(&mut self, id_hash: &str) -> Result<bool, StoreError>;
    /// Sessions of one user.
    fn list_sessions(&self, user: &str) -> Result<Vec<Session>, StoreError>;
    /// Delete every session of `user`; returns how many.
    fn delete_sessions_of_user(&mut self, user: &str) -> Result<usize, StoreError>;
    /// A token by public id.
    fn get_token(&self, id: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Insert or replace a token.
    fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError>;
    /// All tokens.
    fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    /// Append an audit entry (append-only).
    fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The newest `limit` audit entries at or after `since`, oldest first.
    fn read_audit(
        &self,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// In-memory [`AuthStore`] for tests and ephemeral runs.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    users: BTreeMap<String, User>,
    sessions: BTreeMap<String, Session>,
    tokens: BTreeMap<String, ApiToken>,
    audit: Vec<AuditEntry>,
}

impl MemoryStore {
    /// Every audit entry, oldest first.
    pub fn audit_entries(&self) -> &[AuditEntry] {
        &self.audit
    }
}

impl AuthStore for MemoryStore {
    fn get_user(&self, name: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.get(name).cloned())
    }
    fn put_user(&mut self, user: &User) -> Result<(), StoreError> {
        self.users.insert(user.name.clone(), user.clone());
        Ok(())
    }
    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        Ok(self.users.values().cloned().collect())
    }
    fn get_session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.sessions.get(id_hash).cloned())
    }
    fn put_session(&mut self, session: &Session) -> Result<(), StoreError> {
        self.sessions
            .insert(session.id_hash.clone(), session.clone());
        Ok(())
    }
    fn delete_session(&mut self, id_hash: &str) -> Result<bool, StoreError> {
        Ok(self.sessions.remove(id_hash).is_some())
    }
    fn list_sessions(&self, user: &str) -> Result<Vec<Session>, StoreError> {
        Ok(self
            .sessions
            .values()
            .filter(|s| s.user == user)
            .cloned()
            .collect())
    }
    fn delete_sessions_of_user(&mut self, user: &str) -> Result<usize, StoreError> {
        let before = self.sessions.len();
        self.sessions.retain(|_, s| s.user != user);
        Ok(before - self.sessions.len())
    }
    fn get_token(&self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        Ok(self.tokens.get(id).cloned())
    }
    fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError> {
        self.tokens.insert(token.id.clone(), token.clone());
        Ok(())
    }
    fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        Ok(self.tokens.values().cloned().collect())
    }
    fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.audit.push(entry.clone());
        Ok(())
    }
    fn read_audit(
        &self,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let matching: Vec<&AuditEntry> = self
            .audit
            .iter()
            .filter(|e| since.is_none_or(|s| e.time >= s))
            .collect();
        let skip = matching.len().saturating_sub(limit);
        Ok(matching.into_iter().skip(skip).cloned().collect())
    }
}
