//! A bounded cache of tokens whose signature has been verified.
//!
//! Checking an ECDSA signature costs tens of microseconds, a hash look-up
//! well under one; a resource server sees the same token many times in its
//! short life. A hit needs *byte-for-byte the same token*: the map is keyed
//! by a keyed hash of the token's last characters (its signature, which
//! differs between any two tokens) and every hit compares the whole text, so
//! nothing about a token that was not itself verified can be learned from
//! it. Lifetime and revocation are checked on every use, cached or not.
//!
//! Two generations bound the memory: when the current one is full it
//! becomes the previous one and the oldest generation is dropped.
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::{Arc, RwLock};

use crate::index::PassThrough;
use crate::AccessClaims;

/// How many trailing bytes of a token are hashed: a 256-bit signature is 43
/// base64url characters.
const TAIL: usize = 43;

type Generation = HashMap<u64, (Box<str>, Arc<AccessClaims>), BuildHasherDefault<PassThrough>>;

struct Generations {
    current: Generation,
    previous: Generation,
}

/// Verified tokens, at most `capacity` of them.
pub struct VerifiedCache {
    generations: RwLock<Generations>,
    per_generation: usize,
    hasher: RandomState,
}

impl VerifiedCache {
    /// A cache holding at most `capacity` tokens; 0 disables it.
    pub fn new(capacity: usize) -> Self {
        Self {
            generations: RwLock::new(Generations { current: Generation::default(), previous: Generation::default() }),
            per_generation: capacity / 2,
            hasher: RandomState::new(),
        }
    }

    fn key(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        self.hasher.hash_one(&bytes[bytes.len().saturating_sub(TAIL)..])
    }

    /// The claims of an already verified token.
    pub fn get(&self, token: &str) -> Option<Arc<AccessClaims>> {
        if self.per_generation == 0 {
            return None;
        }
        let key = self.key(token);
        let g = self.generations.read().unwrap_or_else(|e| e.into_inner());
        let hit = |gen: &Generation| gen.get(&key).filter(|(text, _)| &**text == token).map(|(_, c)| Arc::clone(c));
        hit(&g.current).or_else(|| hit(&g.previous))
    }

    /// Remembers a verified token.
    pub fn insert(&self, token: &str, claims: Arc<AccessClaims>) {
        if self.per_generation == 0 {
            return;
        }
        let key = self.key(token);
        let mut g = self.generations.write().unwrap_or_else(|e| e.into_inner());
        if g.current.len() >= self.per_generation {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(key, (token.into(), claims));
    }

    /// Forgets everything (after the trusted keys change).
    pub fn clear(&self) {
        let mut g = self.generations.write().unwrap_or_else(|e| e.into_inner());
        g.current.clear();
        g.previous.clear();
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        let g = self.generations.read().unwrap_or_else(|e| e.into_inner());
        g.current.len() + g.previous.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str) -> Arc<AccessClaims> {
        Arc::new(AccessClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp: 10,
            iat: 0,
            jti: jti.into(),
            client_id: "c".into(),
            scope: None,
            sid: None,
            gid: None,
            username: None,
        })
    }

    #[test]
    fn bounded_and_exact() {
        let cache = VerifiedCache::new(4);
        for i in 0..10 {
            cache.insert(&format!("token{i}"), claims(&i.to_string()));
            assert!(cache.len() <= 4);
        }
        assert_eq!(cache.get("token9").unwrap().jti, "9");
        assert!(cache.get("token0").is_none());
        assert!(cache.get("token9 ").is_none(), "only the exact text hits");
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn same_signature_with_other_claims_misses() {
        let cache = VerifiedCache::new(10);
        let sig = "S".repeat(86);
        let real = format!("header.payload.{sig}");
        cache.insert(&real, claims("real"));
        assert!(cache.get(&real).is_some());
        assert!(cache.get(&format!("header.forged-payload.{sig}")).is_none(), "the whole text must match");
    }

    #[test]
    fn capacity_zero_disables() {
        let cache = VerifiedCache::new(0);
        cache.insert("t", claims("1"));
        assert!(cache.get("t").is_none());
    }
}
