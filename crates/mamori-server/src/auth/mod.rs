//! Authentication, authorization and audit for the mamori API.
//!
//! * **Users** with Argon2id password hashes ([`password`]), a password policy, a disabled
//!   flag and lockout after repeated failures.
//! * **TOTP MFA** (RFC 6238, [`totp`]) with replay protection and single-use recovery codes;
//!   required for admins by default.
//! * **Sessions**: 256-bit random ids stored only as SHA-256, idle and absolute expiry, a
//!   CSRF token per session (synchronizer pattern, [`AuthService::verify_csrf`]).
//! * **API tokens**: `mamori_<id>_<secret>`, shown once, stored as SHA-256 of the secret.
//! * **RBAC**: one table in [`rbac`] ([`Action::allowed_roles`]); [`authorize`].
//! * **Audit**: every state-changing auth action appends an [`AuditEntry`] through the
//!   [`AuthStore`]; reading the audit log is itself audited.
//!
//! No wall clock is read: every operation takes `now`.
//!
//! ## Lockout model
//!
//! Failed credential checks (login password, wrong MFA code, the current password at a
//! password change, the password at MFA enrolment) are counted per *(user name, source
//! address)* pair — IPv6 sources are grouped by /64 — and the pair is locked for
//! [`AuthConfig::lockout`] after [`AuthConfig::max_failures_per_source`] failures, each less
//! than one lockout length after the previous one. An attacker guessing from one address
//! therefore cannot lock the real user out from theirs (the trivial DoS of per-account
//! lockout). To bound guessing distributed over many addresses, the account itself is also
//! locked after [`AuthConfig::max_failures_per_user`] consecutive failures from all sources
//! (a much higher threshold, reset by a successful login). Unknown user names are tracked
//! like real ones so lockout behaviour does not reveal which names exist. Pair state lives
//! in memory (bounded by [`MAX_TRACKED_SOURCES`], stale entries evicted first; when full of
//! live entries new pairs go untracked, counted as `auth_lockout_table_full`, and only the
//! account threshold applies) and is lost on restart; the account counter is stored in the
//! [`User`] record.

pub mod password;
pub mod rbac;
pub mod secret;
pub mod store;
pub mod totp;

mod service;

use mamori_core::{Duration, Timestamp};

pub use password::{
    hash_password, verify_password, HashParams, PasswordHash, PasswordPolicy, PolicyViolation,
};
pub use rbac::{authorize, role_allows, Action, Denied, Principal, PrincipalKind, Role};
pub use store::{
    ApiToken, AuditAction, AuditEntry, AuditOutcome, AuthStore, MemoryStore, PendingTotp,
    PublicUser, Session, StoreError, TotpSecret, User,
};

pub use service::{
    classify_credential, AuthService, CredentialKind, LoginRequest, NewSession, NewToken,
    NewTokenRequest, NewUser, TotpEnrolment,
};

/// Longest user name, in bytes.
pub const MAX_USER_NAME_LEN: usize = 64;
/// Longest API token name, in bytes.
pub const MAX_TOKEN_NAME_LEN: usize = 64;
/// Longest name copied into an audit entry for a failed login with an invalid name.
pub const MAX_AUDIT_NAME_LEN: usize = 64;
/// (user, source) pairs tracked for lockout at most.
pub const MAX_TRACKED_SOURCES: usize = 100_000;
/// Session id length in bytes (256 bits).
pub const SESSION_ID_BYTES: usize = 32;
/// CSRF token length in bytes.
pub const CSRF_TOKEN_BYTES: usize = 32;
/// API token id length in bytes.
pub const TOKEN_ID_BYTES: usize = 8;
/// API token secret length in bytes (256 bits).
pub const TOKEN_SECRET_BYTES: usize = 32;
/// Prefix of API token text (lets secret scanners recognise leaked tokens).
pub const TOKEN_PREFIX: &str = "mamori_";
/// Recovery code length in bytes (80 bits; high enough entropy for SHA-256 storage).
pub const RECOVERY_CODE_BYTES: usize = 10;
/// Enrolment ticket length in bytes.
pub const ENROLMENT_TICKET_BYTES: usize = 32;
/// How long a TOTP enrolment may stay unconfirmed.
pub const TOTP_ENROLMENT_TTL: Duration = Duration::from_mins(10);
/// Wrong confirmation codes before a pending enrolment is discarded.
pub const MAX_ENROLMENT_CODE_ATTEMPTS: u32 = 5;
/// Most audit entries returned by one read.
pub const MAX_AUDIT_READ: usize = 10_000;
/// Default failures from one source before the (user, source) pair is locked.
pub const DEFAULT_MAX_FAILURES_PER_SOURCE: u32 = 5;
/// Default consecutive failures from all sources before the account is locked.
pub const DEFAULT_MAX_FAILURES_PER_USER: u32 = 50;
/// Default lockout length.
pub const DEFAULT_LOCKOUT: Duration = Duration::from_mins(15);
/// Default session idle expiry.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_mins(30);
/// Default session absolute expiry.
pub const DEFAULT_SESSION_ABSOLUTE: Duration = Duration::from_mins(12 * 60);
/// Most recovery codes issued at once, whatever the configuration says.
pub const MAX_RECOVERY_CODES: usize = 100;
/// Default number of recovery codes issued at MFA enrolment.
pub const DEFAULT_RECOVERY_CODES: usize = 10;

/// Errors from the auth module. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// User name rejected.
    #[error("invalid user name {name:?}: {reason}")]
    InvalidUserName {
        /// The name (truncated).
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Token name rejected.
    #[error("invalid token name {name:?}: {reason}")]
    InvalidTokenName {
        /// The name (truncated).
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Password policy violation.
    #[error("password rejected: {0}")]
    WeakPassword(PolicyViolation),
    /// Unknown user, wrong password or disabled account (deliberately not distinguished).
    #[error("invalid user name or password")]
    InvalidCredentials,
    /// Too many failures; retry after `until`.
    #[error("login locked until {until}")]
    LockedOut {
        /// End of the lockout.
        until: Timestamp,
    },
    /// Password correct, a TOTP or recovery code is needed too.
    #[error("mfa code required")]
    MfaRequired,
    /// Password correct, but the role requires MFA and none is enrolled: enrol first.
    #[error("mfa enrolment required for user {user:?}")]
    MfaEnrolmentRequired {
        /// The user.
        user: String,
    },
    /// Enrolment asked for while MFA is already enrolled.
    #[error("mfa already enrolled for user {user:?}")]
    MfaAlreadyEnrolled {
        /// The user.
        user: String,
    },
    /// Confirmation without a pending, unexpired enrolment, or with the wrong ticket.
    #[error("no mfa enrolment pending for user {user:?}")]
    MfaNotPending {
        /// The user.
        user: String,
    },
    /// Wrong, malformed or replayed TOTP / recovery code.
    #[error("invalid mfa code")]
    InvalidMfaCode,
    /// A user with that name exists.
    #[error("user {name:?} already exists")]
    UserExists {
        /// The name.
        name: String,
    },
    /// No such user (administrative operations only; login says `InvalidCredentials`).
    #[error("unknown user {name:?}")]
    UnknownUser {
        /// The name.
        name: String,
    },
    /// Refusing to disable or demote the last enabled admin.
    #[error("refusing to remove the last enabled admin {name:?}")]
    LastAdmin {
        /// The admin.
        name: String,
    },
    /// The action needs an interactive session (not an API token or the system principal).
    #[error("action requires an interactive session")]
    InteractiveOnly,
    /// Session id unknown, malformed or revoked.
    #[error("invalid session")]
    InvalidSession,
    /// Session idle or absolute expiry passed.
    #[error("session expired")]
    SessionExpired,
    /// CSRF token missing or wrong.
    #[error("csrf token mismatch")]
    CsrfMismatch,
    /// API token unknown, malformed, wrong, revoked or expired.
    #[error("invalid api token")]
    InvalidToken,
    /// No such token id.
    #[error("unknown api token {id:?}")]
    UnknownToken {
        /// The id.
        id: String,
    },
    /// Authorization refused.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The OS random generator failed.
    #[error("random generator: {0}")]
    Random(String),
    /// Hashing failed or a stored hash is malformed.
    #[error("password hash: {0}")]
    PasswordHash(String),
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validate a user name: 1..=[`MAX_USER_NAME_LEN`] bytes of `a-z 0-9 . _ - @`, starting with
/// a letter or digit. Lower case only, so `Alice` and `alice` cannot coexist.
pub fn validate_user_name(name: &str) -> Result<(), AuthError> {
    let err = |reason| AuthError::InvalidUserName {
        name: truncate(name, MAX_AUDIT_NAME_LEN),
        reason,
    };
    if name.is_empty() {
        return Err(err("empty"));
    }
    if name.len() > MAX_USER_NAME_LEN {
        return Err(err("longer than 64 bytes"));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err(err("must start with a lower-case letter or digit"));
    }
    if !name.bytes().all(|b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'@')
    }) {
        return Err(err("only a-z, 0-9, '.', '_', '-' and '@' are allowed"));
    }
    Ok(())
}

pub(crate) fn validate_token_name(name: &str) -> Result<(), AuthError> {
    let err = |reason| AuthError::InvalidTokenName {
        name: truncate(name, MAX_AUDIT_NAME_LEN),
        reason,
    };
    if name.is_empty() {
        return Err(err("empty"));
    }
    if name.len() > MAX_TOKEN_NAME_LEN {
        return Err(err("longer than 64 bytes"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(err("only A-Z, a-z, 0-9, '.', '_' and '-' are allowed"));
    }
    Ok(())
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

/// Auth configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Password policy.
    pub password_policy: PasswordPolicy,
    /// Argon2id costs for new hashes.
    pub hash_params: HashParams,
    /// Failures from one source before the (user, source) pair is locked.
    pub max_failures_per_source: u32,
    /// Consecutive failures from all sources before the account is locked.
    pub max_failures_per_user: u32,
    /// Lockout length.
    pub lockout: Duration,
    /// Roles that must use MFA (default: admin).
    pub mfa_required_roles: Vec<Role>,
    /// Session idle expiry.
    pub session_idle: Duration,
    /// Session absolute expiry.
    pub session_absolute: Duration,
    /// Recovery codes issued at enrolment.
    pub recovery_codes: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            password_policy: PasswordPolicy::default(),
            hash_params: HashParams::default(),
            max_failures_per_source: DEFAULT_MAX_FAILURES_PER_SOURCE,
            max_failures_per_user: DEFAULT_MAX_FAILURES_PER_USER,
            lockout: DEFAULT_LOCKOUT,
            mfa_required_roles: vec![Role::Admin],
            session_idle: DEFAULT_SESSION_IDLE,
            session_absolute: DEFAULT_SESSION_ABSOLUTE,
            recovery_codes: DEFAULT_RECOVERY_CODES,
        }
    }
}

impl AuthConfig {
    /// Defaults with cheap Argon2id costs (m = 1 MiB, t = 1) so tests and examples run fast.
    /// Never use in production.
    pub fn for_tests() -> Self {
        AuthConfig {
            hash_params: HashParams {
                m_cost_kib: 1024,
                t_cost: 1,
                p_cost: 1,
            },
            ..AuthConfig::default()
        }
    }
}
