//! Random values, their hashes, and password hashing.
//!
//! Everything a holder presents to prove who they are — refresh tokens,
//! client secrets, session cookies — is a server-generated 256-bit random
//! value, stored only as its SHA-256 (design invariant 6): high entropy makes
//! a slow hash unnecessary, and a leaked table holds nothing presentable.
//! User passwords, which are low-entropy, get Argon2id.
use std::fmt;

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Argon2's working memory (the memory cost, in 1 KiB blocks), kept by a
/// hashing thread and reused by every hash it runs: the allocator never sees
/// the 19 MiB come and go, so it cannot keep copies of it around (see
/// `login::hashing`).
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    /// The first `count` blocks, grown to that size if needed. Argon2 writes
    /// every block before it reads it, so what a previous hash left behind
    /// never enters the next one.
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..count]
    }

    /// Gives back what is beyond `count` blocks (grown by a stored hash of a
    /// higher cost than the configured one).
    pub fn shrink_to(&mut self, count: usize) {
        if self.0.len() > count {
            self.0.truncate(count);
            self.0.shrink_to_fit();
        }
    }
}

/// Hashes and verifies user passwords with Argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random value, verified against when a user does not exist
    /// so that a wrong name costs as long as a wrong password.
    decoy: String,
}

impl PasswordHasher {
    /// A hasher with the given cost.
    pub fn new(cost: PasswordCost) -> Result<Self, PasswordHashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| PasswordHashError(e.to_string()))?;
        let mut hasher = Self { params, decoy: String::new() };
        hasher.decoy = hasher.hash(&random_token(16))?;
        Ok(hasher)
    }

    /// Blocks of working memory one hash at the configured cost uses.
    pub fn block_count(&self) -> usize {
        self.params.block_count()
    }

    /// A PHC string (`$argon2id$v=19$…`) for the password.
    pub fn hash(&self, password: &str) -> Result<String, PasswordHashError> {
        self.hash_in(password, &mut HashMemory::default())
    }

    /// [`hash`](Self::hash) in the given working memory.
    pub fn hash_in(&self, password: &str, memory: &mut HashMemory) -> Result<String, PasswordHashError> {
        let salt = SaltString::generate(&mut OsRng);
        let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
        let phc =
            compute(password.as_bytes(), algorithm, version, &self.params, salt.as_salt(), memory).and_then(|output| {
                Ok(PasswordHash {
                    algorithm: algorithm.ident(),
                    version: Some(version.into()),
                    params: ParamsString::try_from(&self.params)?,
                    salt: Some(salt.as_salt()),
                    hash: Some(output),
                }
                .to_string())
            });
        phc.map_err(|e| PasswordHashError(e.to_string()))
    }

    /// Whether the password matches the stored PHC string. A malformed stored
    /// hash never matches.
    pub fn verify(&self, password: &str, stored: &str) -> bool {
        self.verify_in(password, stored, &mut HashMemory::default())
    }

    /// [`verify`](Self::verify) in the given working memory: the stored
    /// hash's own algorithm, version and cost, compared in constant time
    /// (`Output`'s equality) — what `argon2`'s `verify_password` does.
    pub fn verify_in(&self, password: &str, stored: &str, memory: &mut HashMemory) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else { return false };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
        let algorithm = Algorithm::try_from(parsed.algorithm);
        let version = parsed.version.map_or(Ok(Version::default()), Version::try_from);
        let params = Params::try_from(&parsed);
        let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, params) else { return false };
        compute(password.as_bytes(), algorithm, version, &params, salt, memory).is_ok_and(|output| output == expected)
    }

    /// Spends the time of one verification and answers false; used when the
    /// user does not exist.
    pub fn verify_decoy(&self, password: &str) -> bool {
        self.verify_decoy_in(password, &mut HashMemory::default())
    }

    /// [`verify_decoy`](Self::verify_decoy) in the given working memory.
    pub fn verify_decoy_in(&self, password: &str, memory: &mut HashMemory) -> bool {
        let _ = self.verify_in(password, &self.decoy, memory);
        false
    }
}

/// The Argon2 output for `password` and `salt` at `params`, in `memory`.
fn compute(
    password: &[u8],
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    salt: Salt<'_>,
    memory: &mut HashMemory,
) -> Result<Output, argon2::password_hash::Error> {
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let blocks = memory.blocks(params.block_count());
    Output::init_with(len, |out| {
        argon2.hash_password_into_with_memory(password, salt, out, &mut *blocks).map_err(Into::into)
    })
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
    fn hashes_agree_with_the_argon2_crates_own_in_both_directions() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = cheap();
        let mut memory = HashMemory::default();
        let ours = h.hash_in("correct horse", &mut memory).unwrap();
        let params = Params::new(64, 1, 1, None).unwrap();
        let theirs_hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        assert!(theirs_hasher.verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap()).is_ok());
        assert!(theirs_hasher.verify_password(b"wrong", &PasswordHash::new(&ours).unwrap()).is_err());
        // Theirs at another cost, algorithm and version: verified by its own parameters, in reused memory.
        for (alg, version, m) in [(Algorithm::Argon2id, Version::V0x13, 128), (Algorithm::Argon2i, Version::V0x10, 96)]
        {
            let other = Argon2::new(alg, version, Params::new(m, 2, 2, None).unwrap());
            let theirs = other.hash_password(b"battery staple", &SaltString::generate(&mut OsRng)).unwrap().to_string();
            assert!(h.verify_in("battery staple", &theirs, &mut memory), "{theirs}");
            assert!(!h.verify_in("battery stapler", &theirs, &mut memory));
        }
        assert!(h.verify_in("correct horse", &ours, &mut memory), "memory reused after a larger hash");
        memory.shrink_to(h.block_count());
        assert_eq!(memory.0.len(), 64);
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
