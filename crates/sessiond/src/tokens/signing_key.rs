//! A private key parsed once and kept in memory for signing.
//!
//! A JOSE library re-parses the private key on every signature (for RSA a
//! full key validation costing milliseconds), so sessiond holds `aws-lc-rs`
//! key pairs and builds the JWS itself (see `jws.rs`). The verifier uses
//! `aws-lc-rs` too (why: BENCHMARKS.md, "ES256 against OpenSSL").
//!
//! ES256 signatures leave here in low-S form (`sessiond_guard::low_s`): the
//! verifier refuses the other half, so each token has exactly one text.
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
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
    /// Parses stored private key material: PKCS#8, or for RS256 keys
    /// generated before sessiond moved to `aws-lc-rs`, PKCS#1.
    pub fn from_der(kid: KeyId, alg: SigningAlgorithm, der: &[u8]) -> Result<Self, SigningKeyError> {
        let err = |reason: String| SigningKeyError { kid: kid.to_string(), reason };
        let pair = match alg {
            SigningAlgorithm::ES256 => EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map(Pair::Ec)
                .map_err(|e| err(e.to_string()))?,
            SigningAlgorithm::EdDSA => {
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map(Pair::Ed).map_err(|e| err(e.to_string()))?
            }
            SigningAlgorithm::RS256 => RsaKeyPair::from_pkcs8(der)
                .or_else(|_| RsaKeyPair::from_der(der))
                .map(Pair::Rsa)
                .map_err(|e| err(e.to_string()))?,
        };
        Ok(Self { kid, alg, pair, rng: SystemRandom::new() })
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
                // ECDSA gives whichever of s and n − s its nonce led to.
                low_s::normalize(&mut fixed);
                Ok(fixed.to_vec())
            }
            Pair::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
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
    use aws_lc_rs::signature::{KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256};

    use super::*;
    use crate::tokens::generate_key;

    #[test]
    fn es256_signatures_are_low_s_and_verify() {
        let generated = generate_key(SigningAlgorithm::ES256).unwrap();
        let key = SigningKey::from_der(KeyId::new("k"), SigningAlgorithm::ES256, &generated.private_der).unwrap();
        let Pair::Ec(pair) = &key.pair else { panic!("an ECDSA pair") };
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref());
        // About half of raw ECDSA signatures are high-S: 64 in a row low
        // without normalising would happen once in 2^64 runs.
        for i in 0..64u8 {
            let message = [i; 16];
            let sig = key.sign(&message).unwrap();
            assert!(low_s::is_low_s(&sig), "signature {i} is high-S");
            assert!(public.verify(&message, &sig).is_ok(), "signature {i} does not verify");
        }
    }

    /// The `RSAPrivateKey` (PKCS#1) inside a PKCS#8 `PrivateKeyInfo`
    /// (RFC 5208 §5): SEQUENCE { INTEGER, AlgorithmIdentifier, OCTET STRING }.
    fn pkcs1_inside(pkcs8: &[u8]) -> Vec<u8> {
        // One DER element: (tag, contents, rest).
        fn element(der: &[u8]) -> (u8, &[u8], &[u8]) {
            let (tag, first) = (der[0], der[1]);
            let (len, header) = if first < 0x80 {
                (usize::from(first), 2)
            } else {
                let n = usize::from(first & 0x7f);
                (der[2..2 + n].iter().fold(0, |acc, b| acc << 8 | usize::from(*b)), 2 + n)
            };
            (tag, &der[header..header + len], &der[header + len..])
        }
        let (tag, info, _) = element(pkcs8);
        assert_eq!(tag, 0x30);
        let (_, _, rest) = element(info); // version
        let (_, _, rest) = element(rest); // algorithm
        let (tag, key, _) = element(rest);
        assert_eq!(tag, 0x04);
        key.to_vec()
    }

    #[test]
    fn rs256_keys_stored_as_pkcs1_still_sign() {
        let generated = generate_key(SigningAlgorithm::RS256).unwrap();
        let pkcs1 = pkcs1_inside(&generated.private_der);
        assert_ne!(pkcs1, generated.private_der);
        let old = SigningKey::from_der(KeyId::new("k"), SigningAlgorithm::RS256, &pkcs1).unwrap();
        let new = SigningKey::from_der(KeyId::new("k"), SigningAlgorithm::RS256, &generated.private_der).unwrap();
        let Pair::Rsa(pair) = &new.pair else { panic!("an RSA pair") };
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref());
        // PKCS#1 v1.5 signatures are deterministic: one key, one signature.
        let sig = old.sign(b"message").unwrap();
        assert_eq!(sig, new.sign(b"message").unwrap());
        assert!(public.verify(b"message", &sig).is_ok());
    }
}
