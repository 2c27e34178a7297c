//! The key ring: which key signs now, which keys are published.
//!
//! Rotation adds a new current key and retires the old one, which stays in
//! `/jwks.json` until every token it could have signed has expired. The ring
//! is rebuilt from the store whenever keys change, so every node (and the
//! CLI) works from the same stored keys.
use std::time::Duration;

use sessiond_guard::{Jwk, KeySet, SigningAlgorithm, Verifier};

use super::{SigningKey, SigningKeyError};
use crate::domain::{KeyId, UnixTime};

/// A key as stored.
#[derive(Clone)]
pub struct StoredKey {
    /// Key id (RFC 7638 thumbprint).
    pub kid: KeyId,
    /// Algorithm.
    pub alg: SigningAlgorithm,
    /// Private key DER.
    pub private_der: Vec<u8>,
    /// Public JWK.
    pub jwk: Jwk,
    /// When it was generated.
    pub created_at: UnixTime,
    /// When a newer key replaced it for signing.
    pub retired_at: Option<UnixTime>,
    /// After this, it is no longer published.
    pub publish_until: Option<UnixTime>,
}

impl StoredKey {
    /// Whether the key is still in the JWK Set at `now`.
    pub fn is_published(&self, now: UnixTime) -> bool {
        self.publish_until.is_none_or(|until| now < until)
    }
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("publish_until", &self.publish_until)
            .finish_non_exhaustive()
    }
}

/// The key ring could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// No unretired key exists.
    #[error("no current signing key")]
    NoCurrentKey,
    /// A key could not be loaded.
    #[error(transparent)]
    Key(#[from] SigningKeyError),
    /// A published key is unusable.
    #[error("published key unusable: {0}")]
    Published(String),
}

/// Who tokens are from and for.
#[derive(Debug, Clone)]
pub struct TokenAudience {
    /// `iss`.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Clock skew tolerated by verifiers.
    pub leeway: Duration,
}

/// The signing key and the published keys, as of one reading of the store.
pub struct KeyRing {
    signing: SigningKey,
    published: Vec<Jwk>,
    jwks_json: String,
    verifier: Verifier,
    audience: TokenAudience,
}

impl KeyRing {
    /// Builds the ring from stored keys at `now`.
    pub fn build(keys: &[StoredKey], now: UnixTime, audience: TokenAudience) -> Result<Self, KeyRingError> {
        let current = keys
            .iter()
            .filter(|k| k.retired_at.is_none())
            .max_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)))
            .ok_or(KeyRingError::NoCurrentKey)?;
        let signing = SigningKey::from_der(current.kid.clone(), current.alg, &current.private_der)?;
        let mut published: Vec<Jwk> =
            keys.iter().filter(|k| k.is_published(now) || k.kid == current.kid).map(|k| k.jwk.clone()).collect();
        published.sort_by(|a, b| a.kid.cmp(&b.kid));
        let key_set = KeySet::from_jwks(&published).map_err(|e| KeyRingError::Published(e.to_string()))?;
        let verifier = Verifier::new(key_set, audience.issuer.clone(), audience.audience.clone())
            .with_leeway(i64::try_from(audience.leeway.as_secs()).unwrap_or(0));
        let jwks_json = serde_json::json!({ "keys": published }).to_string();
        Ok(Self { signing, published, jwks_json, verifier, audience })
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The published public keys.
    pub fn published(&self) -> &[Jwk] {
        &self.published
    }

    /// `/jwks.json`, serialized once per ring.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    /// A verifier trusting exactly the published keys.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Issuer, audience and leeway.
    pub fn audience(&self) -> &TokenAudience {
        &self.audience
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::generate_key;

    fn stored(alg: SigningAlgorithm, created: i64) -> StoredKey {
        let g = generate_key(alg).unwrap();
        StoredKey {
            kid: KeyId::new(g.jwk.kid.clone()),
            alg,
            private_der: g.private_der,
            jwk: g.jwk,
            created_at: UnixTime(created),
            retired_at: None,
            publish_until: None,
        }
    }

    fn audience() -> TokenAudience {
        TokenAudience { issuer: "https://id".into(), audience: "https://api".into(), leeway: Duration::ZERO }
    }

    #[test]
    fn newest_unretired_key_signs_and_retired_keys_stay_published_until_due() {
        let mut old = stored(SigningAlgorithm::ES256, 100);
        let new = stored(SigningAlgorithm::EdDSA, 200);
        old.retired_at = Some(UnixTime(200));
        old.publish_until = Some(UnixTime(500));
        let keys = vec![old.clone(), new.clone()];

        let ring = KeyRing::build(&keys, UnixTime(300), audience()).unwrap();
        assert_eq!(ring.signing_key().kid(), &new.kid);
        assert_eq!(ring.published().len(), 2);

        let later = KeyRing::build(&keys, UnixTime(500), audience()).unwrap();
        assert_eq!(later.published().len(), 1);
        assert_eq!(later.published()[0].kid, new.kid.as_str());
    }

    #[test]
    fn a_ring_needs_a_current_key() {
        let mut only = stored(SigningAlgorithm::ES256, 1);
        only.retired_at = Some(UnixTime(2));
        assert!(matches!(KeyRing::build(&[only], UnixTime(3), audience()), Err(KeyRingError::NoCurrentKey)));
    }
}
