//! A bounded cache of tokens whose signature has been verified.
//!
//! Checking an ECDSA signature costs tens of microseconds, a hash look-up
//! well under one; a resource server sees the same token many times in its
//! short life. The cache maps the *whole* token text to its verified claims,
//! so a hit needs byte-for-byte the same token: nothing about a token that
//! was not itself verified can be learned from it. Lifetime and revocation
//! are checked on every use, cached or not.
//!
//! Two generations bound the memory: when the current one is full it
//! becomes the previous one and the oldest generation is dropped.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::AccessClaims;

struct Generations {
    current: HashMap<Box<str>, Arc<AccessClaims>>,
    previous: HashMap<Box<str>, Arc<AccessClaims>>,
}

/// Verified tokens, at most `capacity` of them.
pub struct VerifiedCache {
    generations: RwLock<Generations>,
    per_generation: usize,
}

impl VerifiedCache {
    /// A cache holding at most `capacity` tokens; 0 disables it.
    pub fn new(capacity: usize) -> Self {
        let empty = || HashMap::new();
        Self {
            generations: RwLock::new(Generations { current: empty(), previous: empty() }),
            per_generation: capacity / 2,
        }
    }

    /// The claims of an already verified token.
    pub fn get(&self, token: &str) -> Option<Arc<AccessClaims>> {
        if self.per_generation == 0 {
            return None;
        }
        let g = self.generations.read().unwrap_or_else(|e| e.into_inner());
        g.current.get(token).or_else(|| g.previous.get(token)).cloned()
    }

    /// Remembers a verified token.
    pub fn insert(&self, token: &str, claims: Arc<AccessClaims>) {
        if self.per_generation == 0 {
            return;
        }
        let mut g = self.generations.write().unwrap_or_else(|e| e.into_inner());
        if g.current.len() >= self.per_generation {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(token.into(), claims);
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
    fn capacity_zero_disables() {
        let cache = VerifiedCache::new(0);
        cache.insert("t", claims("1"));
        assert!(cache.get("t").is_none());
    }
}
