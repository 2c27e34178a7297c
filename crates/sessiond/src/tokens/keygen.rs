//! Generation of new signing keys and their public JWKs.
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sessiond_guard::{Jwk, SigningAlgorithm};
use sha2::{Digest, Sha256};

/// A freshly generated key.
pub struct GeneratedKey {
    /// Private key: PKCS#8 DER. (RS256 keys generated before sessiond
    /// moved to `aws-lc-rs`, which writes no PKCS#1, were stored as PKCS#1;
    /// `SigningKey::from_der` reads both.)
    pub private_der: Vec<u8>,
    /// The public half, with `kid` set to its RFC 7638 thumbprint.
    pub jwk: Jwk,
}

/// Key generation failed (the system's random source is broken).
#[derive(Debug, thiserror::Error)]
#[error("key generation failed: {0}")]
pub struct KeyGenError(String);

/// Generates a key for `alg`.
pub fn generate_key(alg: SigningAlgorithm) -> Result<GeneratedKey, KeyGenError> {
    let rng = SystemRandom::new();
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let fail = |e: &dyn std::fmt::Display| KeyGenError(e.to_string());
    let (private_der, mut jwk) = match alg {
        SigningAlgorithm::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|e| fail(&e))?;
            let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|e| fail(&e))?;
            // Uncompressed point: 0x04 ‖ x ‖ y, 32 bytes each.
            let point = pair.public_key().as_ref();
            let mut jwk = empty_jwk("EC", alg);
            jwk.crv = Some("P-256".into());
            jwk.x = Some(b64(&point[1..33]));
            jwk.y = Some(b64(&point[33..65]));
            (pkcs8.as_ref().to_vec(), jwk)
        }
        SigningAlgorithm::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| fail(&e))?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| fail(&e))?;
            let mut jwk = empty_jwk("OKP", alg);
            jwk.crv = Some("Ed25519".into());
            jwk.x = Some(b64(pair.public_key().as_ref()));
            (pkcs8.as_ref().to_vec(), jwk)
        }
        SigningAlgorithm::RS256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| fail(&e))?;
            let pkcs8: Pkcs8V1Der<'_> = pair.as_der().map_err(|e| fail(&e))?;
            let public = pair.public_key();
            let mut jwk = empty_jwk("RSA", alg);
            jwk.n = Some(b64(public.modulus().big_endian_without_leading_zero()));
            jwk.e = Some(b64(public.exponent().big_endian_without_leading_zero()));
            (pkcs8.as_ref().to_vec(), jwk)
        }
    };
    jwk.kid = thumbprint(&jwk);
    Ok(GeneratedKey { private_der, jwk })
}

fn empty_jwk(kty: &str, alg: SigningAlgorithm) -> Jwk {
    Jwk {
        kty: kty.into(),
        kid: String::new(),
        alg: alg.as_str().into(),
        use_: Some("sig".into()),
        crv: None,
        x: None,
        y: None,
        n: None,
        e: None,
    }
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members, in
/// lexicographic order, without whitespace.
fn thumbprint(jwk: &Jwk) -> String {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let canonical = match jwk.kty.as_str() {
        "EC" => format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, s(&jwk.crv), s(&jwk.x), s(&jwk.y)),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s(&jwk.crv), s(&jwk.x)),
        _ => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s(&jwk.e), s(&jwk.n)),
    };
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::KeyId;
    use crate::tokens::SigningKey;

    #[test]
    fn every_algorithm_generates_a_usable_key() {
        for alg in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA, SigningAlgorithm::RS256] {
            let key = generate_key(alg).unwrap();
            assert_eq!(key.jwk.kid.len(), 43, "{alg}: kid is a SHA-256 thumbprint");
            assert!(key.jwk.to_public_key().is_ok(), "{alg}: public JWK loads");
            let signer = SigningKey::from_der(KeyId::new(key.jwk.kid.clone()), alg, &key.private_der).unwrap();
            assert!(!signer.sign(b"message").unwrap().is_empty());
        }
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let jwk = Jwk {
            kty: "RSA".into(),
            kid: String::new(),
            alg: "RS256".into(),
            use_: None,
            crv: None,
            x: None,
            y: None,
            n: Some("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into()),
            e: Some("AQAB".into()),
        };
        assert_eq!(thumbprint(&jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}
