//! Argon2id password hashing (PHC strings) and the password policy.

use std::fmt;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use super::secret::random_bytes;
use super::AuthError;

/// Default minimum password length in characters (NIST SP 800-63B allows 8; we ask for 12).
pub const DEFAULT_MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted, in bytes (bounds hashing work on hostile input).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Fewest distinct characters a password must contain (rejects `aaaaaaaaaaaa`).
pub const MIN_DISTINCT_CHARS: usize = 4;
/// Salt length in bytes.
pub const SALT_LEN: usize = 16;
/// OWASP Password Storage Cheat Sheet: Argon2id, m = 19 MiB.
pub const OWASP_M_COST_KIB: u32 = 19 * 1024;
/// OWASP Password Storage Cheat Sheet: Argon2id, t = 2.
pub const OWASP_T_COST: u32 = 2;
/// OWASP Password Storage Cheat Sheet: Argon2id, p = 1.
pub const OWASP_P_COST: u32 = 1;
/// Largest memory cost accepted in configuration (KiB, 1 GiB).
pub const MAX_M_COST_KIB: u32 = 1024 * 1024;

/// Frequently used passwords (lower case); compared case-insensitively. Short ones are kept
/// because the minimum length is configurable.
const COMMON_PASSWORDS: &[&str] = &[
    "123456",
    "123456789",
    "12345678",
    "1234567890",
    "123456789012",
    "1234567890123",
    "12345678901234",
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "password12345",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "p@ssw0rd123",
    "passwordpassword",
    "qwerty",
    "qwerty123",
    "qwertyuiop",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwerty123456",
    "qwertyuiopasdfgh",
    "1q2w3e4r5t6y",
    "1q2w3e4r5t6y7u",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "zaq12wsxcde3",
    "asdfghjkl",
    "asdfghjkl123",
    "zxcvbnm123456",
    "abc123",
    "abcd1234",
    "abcdefghijkl",
    "abcdefg12345",
    "abc123456789",
    "111111",
    "111111111111",
    "000000000000",
    "123123123123",
    "123412341234",
    "987654321",
    "987654321098",
    "iloveyou",
    "iloveyou1234",
    "letmein",
    "letmein12345",
    "letmeinplease",
    "welcome",
    "welcome1",
    "welcome123",
    "welcome12345",
    "welcometo2024",
    "admin",
    "admin123",
    "admin1234567",
    "administrator",
    "administrator1",
    "changeme",
    "changeme123",
    "changemenow!",
    "secret",
    "secret123456",
    "trustno1",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "superman",
    "starwars",
    "master",
    "shadow",
    "whatever",
    "mamori",
    "mamori123456",
    "mamoripassword",
    "root",
    "toor",
    "default",
    "guest",
    "test",
    "test12345678",
    "testtesttest",
    "summer2024!",
    "winter2024!",
    "spring2025!",
    "autumn2025!",
    "password2024",
    "password2025",
    "password2026",
    "p@ssw0rd2024",
    "p@ssw0rd2025",
    "correcthorsebatterystaple",
    "iloveyou123456",
    "qazwsxedcrfv",
    "q1w2e3r4t5y6",
];

/// A password policy violation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Fewer characters than the policy minimum.
    #[error("password too short: {actual} characters, at least {min} required")]
    TooShort {
        /// Policy minimum.
        min: usize,
        /// Characters supplied.
        actual: usize,
    },
    /// More bytes than [`MAX_PASSWORD_BYTES`].
    #[error("password too long: {actual} bytes, at most {MAX_PASSWORD_BYTES} allowed")]
    TooLong {
        /// Bytes supplied.
        actual: usize,
    },
    /// The password equals the user name (case-insensitive).
    #[error("password must not equal the user name")]
    EqualsUserName,
    /// The password is on the embedded list of common passwords.
    #[error("password is too common")]
    Common,
    /// Fewer than [`MIN_DISTINCT_CHARS`] distinct characters.
    #[error("password uses fewer than {MIN_DISTINCT_CHARS} distinct characters")]
    Repetitive,
}

/// Password policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values).
    pub min_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_len: DEFAULT_MIN_PASSWORD_LEN,
        }
    }
}

impl PasswordPolicy {
    /// Check `password` for `user`.
    pub fn check(&self, user: &str, password: &str) -> Result<(), PolicyViolation> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PolicyViolation::TooLong {
                actual: password.len(),
            });
        }
        let chars = password.chars().count();
        if chars < self.min_len {
            return Err(PolicyViolation::TooShort {
                min: self.min_len,
                actual: chars,
            });
        }
        let lower = password.to_lowercase();
        if lower == user.to_lowercase() {
            return Err(PolicyViolation::EqualsUserName);
        }
        if COMMON_PASSWORDS.contains(&lower.as_str()) {
            return Err(PolicyViolation::Common);
        }
        let mut distinct: Vec<char> = password.chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < MIN_DISTINCT_CHARS {
            return Err(PolicyViolation::Repetitive);
        }
        Ok(())
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory cost in KiB.
    pub m_cost_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
}

impl Default for HashParams {
    /// The OWASP recommendation (Argon2id, 19 MiB, 2 iterations, 1 lane).
    fn default() -> Self {
        HashParams {
            m_cost_kib: OWASP_M_COST_KIB,
            t_cost: OWASP_T_COST,
            p_cost: OWASP_P_COST,
        }
    }
}

impl HashParams {
    fn hasher(&self) -> Result<Argon2<'static>, AuthError> {
        if self.m_cost_kib > MAX_M_COST_KIB {
            return Err(AuthError::PasswordHash(format!(
                "argon2 memory cost {} KiB above limit {MAX_M_COST_KIB}",
                self.m_cost_kib
            )));
        }
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None)
            .map_err(|e| AuthError::PasswordHash(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// An Argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). Its `Debug` output is
/// redacted and it does not implement `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

impl PasswordHash {
    /// Wrap a PHC string loaded from storage.
    pub fn from_phc(phc: String) -> Self {
        PasswordHash(phc)
    }
    /// The PHC string, for persisting.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

/// Hash `password` with a fresh random salt.
pub fn hash_password(password: &str, params: &HashParams) -> Result<PasswordHash, AuthError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::WeakPassword(PolicyViolation::TooLong {
            actual: password.len(),
        }));
    }
    let salt = random_bytes::<SALT_LEN>()?;
    let hash = params
        .hasher()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| AuthError::PasswordHash(format!("argon2 hashing: {e}")))?;
    Ok(PasswordHash(hash.to_string()))
}

/// Verify `password` against `hash`; the final comparison is constant time (argon2 crate).
/// Parameters come from the PHC string. A malformed stored hash is an error, not a mismatch.
pub fn verify_password(password: &str, hash: &PasswordHash) -> Result<bool, AuthError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    let phc = argon2::password_hash::phc::PasswordHash::new(&hash.0)
        .map_err(|e| AuthError::PasswordHash(format!("stored hash is not a phc string: {e}")))?;
    if phc.algorithm.as_str() != "argon2id" {
        return Err(AuthError::PasswordHash(format!(
            "stored hash uses {} instead of argon2id",
            phc.algorithm
        )));
    }
    if phc.hash.is_none() || phc.salt.is_none() {
        return Err(AuthError::PasswordHash(
            "stored hash has no salt or output".to_string(),
        ));
    }
    match Argon2::default().verify_password(password.as_bytes(), &phc) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(AuthError::PasswordHash(format!("argon2 verification: {e}"))),
    }
}
