//! A private key parsed once and kept in memory for signing.
//!
//! `jsonwebtoken` re-parses the private key on every signature (for RSA a full
//! key validation costing milliseconds), so sessiond holds `ring` key pairs
//! and builds the JWS itself (see `jws.rs`).
//!
//! ES256 signatures leave here in low-S form (`sessiond_guard::low_s`): the
//! verifier refuses the other half, so each token has exactly one text.
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use sessiond_guard::{low_s, SigningAlgorithm};

use crate::domain::KeyId;

enum Pair {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A signing key ready to use.
pub struct SigningKey {
    kid: KeyId,
    alg: SigningAlgorithm,
    pair: Pair,
    rng: SystemRandom,
}

/// The stored key material could not be loaded or used.
#[derive(Debug, thiserror::Error)]
#[error("signing key {kid}: {reason}")]
pub struct SigningKeyError {
    kid: String,
    reason: String,
}

impl SigningKey {
    /// Parses stored private key material: PKCS#8 for ES256 and EdDSA,
    /// PKCS#1 for RS256.
    pub fn from_der(kid: KeyId, alg: SigningAlgorithm, der: &[u8]) -> Result<Self, SigningKeyError> {
        let rng = SystemRandom::new();
        let err = |reason: String| SigningKeyError { kid: kid.to_string(), reason };
        let pair = match alg {
            SigningAlgorithm::ES256 => EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                .map(Pair::Ec)
                .map_err(|e| err(e.to_string()))?,
            SigningAlgorithm::EdDSA => {
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map(Pair::Ed).map_err(|e| err(e.to_string()))?
            }
            SigningAlgorithm::RS256 => RsaKeyPair::from_der(der).map(Pair::Rsa).map_err(|e| err(e.to_string()))?,
        };
        Ok(Self { kid, alg, pair, rng })
    }

    /// The key id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The algorithm.
    pub fn alg(&self) -> SigningAlgorithm {
        self.alg
    }

    /// Signs a JWS signing input, returning the raw signature (for ES256 the
    /// fixed-width r‖s form that RFC 7518 §3.4 requires, with s ≤ n/2).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningKeyError> {
        let fail = |reason: &str| SigningKeyError { kid: self.kid.to_string(), reason: reason.into() };
        let err = |_| fail("signing failed");
        match &self.pair {
            Pair::Ec(pair) => {
                let sig = pair.sign(&self.rng, message).map_err(err)?;
                let mut fixed: [u8; low_s::SIGNATURE_LEN] =
                    sig.as_ref().try_into().map_err(|_| fail("unexpected ECDSA signature length"))?;
                // ring returns whichever of s and n − s its nonce gave.
                low_s::normalize(&mut fixed);
                Ok(fixed.to_vec())
            }
            Pair::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig).map_err(err)?;
                Ok(sig)
            }
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    use super::*;
    use crate::tokens::generate_key;

    #[test]
    fn es256_signatures_are_low_s_and_verify() {
        let generated = generate_key(SigningAlgorithm::ES256).unwrap();
        let key = SigningKey::from_der(KeyId::new("k"), SigningAlgorithm::ES256, &generated.private_der).unwrap();
        let Pair::Ec(pair) = &key.pair else { panic!("an ECDSA pair") };
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, ring::signature::KeyPair::public_key(pair));
        // About half of ring's raw signatures are high-S: 64 in a row low
        // without normalising would happen once in 2^64 runs.
        for i in 0..64u8 {
            let message = [i; 16];
            let sig = key.sign(&message).unwrap();
            assert!(low_s::is_low_s(&sig), "signature {i} is high-S");
            assert!(public.verify(&message, &sig).is_ok(), "signature {i} does not verify");
        }
    }
}
