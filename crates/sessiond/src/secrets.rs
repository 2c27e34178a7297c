//! Random values, their hashes, and password hashing.
//!
//! Everything a holder presents to prove who they are — refresh tokens,
//! client secrets, session cookies — is a server-generated 256-bit random
//! value, stored only as its SHA-256 (design invariant 6): high entropy makes
//! a slow hash unnecessary, and a leaked table holds nothing presentable.
//! User passwords, which are low-entropy, get Argon2id.
use std::fmt;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `n` random bytes from the operating system's CSPRNG, base64url-encoded.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new session id: 128 random bits.
pub fn new_session_id() -> crate::domain::SessionId {
    crate::domain::SessionId::new(random_token(16))
}

/// A new `jti`, grant id or other internal id: 128 random bits.
pub fn new_id() -> String {
    random_token(16)
}

/// SHA-256 of a presented secret.
pub fn sha256(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Constant-time comparison of a presented secret with a stored hash.
pub fn matches_hash(presented: &str, stored: &[u8; 32]) -> bool {
    sha256(presented).ct_eq(stored).into()
}

/// A secret value that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A new 256-bit random secret (client secrets, refresh tokens).
    pub fn generate() -> Self {
        Self(random_token(32))
    }

    /// The secret itself; call only where it must leave the process.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256, the only form that is stored.
    pub fn hash(&self) -> [u8; 32] {
        sha256(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordCost {
    /// OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordHashError(String);

/// Hashes and verifies user passwords with Argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    /// A hash of a random value, verified against when a user does not exist
    /// so that a wrong name costs as long as a wrong password.
    decoy: String,
}

impl PasswordHasher {
    /// A hasher with the given cost.
    pub fn new(cost: PasswordCost) -> Result<Self, PasswordHashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| PasswordHashError(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut hasher = Self { argon2, decoy: String::new() };
        hasher.decoy = hasher.hash(&random_token(16))?;
        Ok(hasher)
    }

    /// A PHC string (`$argon2id$v=19$…`) for the password.
    pub fn hash(&self, password: &str) -> Result<String, PasswordHashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordHashError(e.to_string()))
    }

    /// Whether the password matches the stored PHC string. A malformed stored
    /// hash never matches.
    pub fn verify(&self, password: &str, stored: &str) -> bool {
        PasswordHash::new(stored)
            .map(|parsed| self.argon2.verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    }

    /// Spends the time of one verification and answers false; used when the
    /// user does not exist.
    pub fn verify_decoy(&self, password: &str) -> bool {
        let _ = self.verify(password, &self.decoy);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordCost { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap()
    }

    #[test]
    fn passwords_verify_only_when_equal() {
        let h = cheap();
        let stored = h.hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify("correct horse", &stored));
        assert!(!h.verify("wrong", &stored));
        assert!(!h.verify("correct horse", "not a phc string"));
        assert!(!h.verify_decoy("anything"));
    }

    #[test]
    fn secrets_are_random_and_hidden() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(format!("{a:?}"), "Secret(***)");
        assert!(matches_hash(a.expose(), &a.hash()));
        assert!(!matches_hash(b.expose(), &a.hash()));
    }
}
