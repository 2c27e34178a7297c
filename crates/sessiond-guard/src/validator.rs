//! The one validation path: signature (or the verified-token cache), then
//! lifetime, then the revocation index. Memory only; no I/O.
use std::sync::{Arc, RwLock};

use crate::{AccessClaims, Revocation, RevocationIndex, RevocationKind, VerifiedCache, Verifier, VerifyError};

/// Why a token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Malformed, badly signed, expired or for someone else.
    #[error(transparent)]
    Invalid(#[from] VerifyError),
    /// Valid, but revoked.
    #[error("revoked")]
    Revoked,
}

/// Default number of verified tokens remembered.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// Validates access tokens against the trusted keys and the revocations.
pub struct Validator {
    verifier: RwLock<Arc<Verifier>>,
    cache: VerifiedCache,
    index: RwLock<RevocationIndex>,
}

impl Validator {
    /// A validator trusting `verifier`'s keys, with an empty index.
    pub fn new(verifier: Verifier) -> Self {
        Self::with_cache_capacity(verifier, DEFAULT_CACHE_CAPACITY)
    }

    /// The same, remembering at most `capacity` verified tokens.
    pub fn with_cache_capacity(verifier: Verifier, capacity: usize) -> Self {
        Self {
            verifier: RwLock::new(Arc::new(verifier)),
            cache: VerifiedCache::new(capacity),
            index: RwLock::new(RevocationIndex::new()),
        }
    }

    /// Accepts the token if it is well-formed, signed by a trusted key,
    /// within its lifetime at `now`, and not revoked.
    pub fn validate(&self, token: &str, now: i64) -> Result<Arc<AccessClaims>, Rejection> {
        let claims = match self.cache.get(token) {
            Some(claims) => {
                self.verifier().check_lifetime(&claims, now)?;
                claims
            }
            None => {
                let claims = Arc::new(self.verifier().verify(token, now)?);
                self.cache.insert(token, Arc::clone(&claims));
                claims
            }
        };
        if self.read_index().is_revoked(&claims) {
            return Err(Rejection::Revoked);
        }
        Ok(claims)
    }

    /// Verifies signature and claims but ignores lifetime and revocation: to
    /// learn whom an expired or revoked token was issued to.
    pub fn inspect(&self, token: &str) -> Result<Arc<AccessClaims>, VerifyError> {
        if let Some(claims) = self.cache.get(token) {
            return Ok(claims);
        }
        let claims = Arc::new(self.verifier().verify_ignoring_lifetime(token)?);
        self.cache.insert(token, Arc::clone(&claims));
        Ok(claims)
    }

    /// Verifies only that a trusted key signed the token (form, signature,
    /// `typ`), whatever its issuer, audience, lifetime or revocation: to
    /// revoke any token the keys signed. Never for accepting a token, so
    /// nothing is added to the verified-token cache.
    pub fn inspect_signed(&self, token: &str) -> Result<Arc<AccessClaims>, VerifyError> {
        match self.cache.get(token) {
            Some(claims) => Ok(claims),
            None => self.verifier().verify_signature_only(token).map(Arc::new),
        }
    }

    /// Whether a token's claims are revoked.
    pub fn is_revoked(&self, claims: &AccessClaims) -> bool {
        self.read_index().is_revoked(claims)
    }

    /// Whether one id of a kind is revoked.
    pub fn is_id_revoked(&self, kind: RevocationKind, id: &str) -> bool {
        self.read_index().contains(kind, id)
    }

    /// Trusts a new set of keys; forgets every cached verification.
    pub fn set_verifier(&self, verifier: Verifier) {
        *self.verifier.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(verifier);
        self.cache.clear();
    }

    /// Applies revocations from the log.
    pub fn apply(&self, revocations: &[Revocation]) {
        if revocations.is_empty() {
            return;
        }
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        for r in revocations {
            index.apply(r);
        }
    }

    /// Drops index entries that can no longer matter; returns how many.
    pub fn prune(&self, now: i64) -> usize {
        self.index.write().unwrap_or_else(|e| e.into_inner()).prune(now)
    }

    /// Highest log sequence number applied.
    pub fn last_seq(&self) -> i64 {
        self.read_index().last_seq()
    }

    /// Number of live index entries.
    pub fn index_len(&self) -> usize {
        self.read_index().len()
    }

    fn verifier(&self) -> Arc<Verifier> {
        Arc::clone(&self.verifier.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, RevocationIndex> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }
}
