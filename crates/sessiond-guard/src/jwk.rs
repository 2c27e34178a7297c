//! Public keys as JSON Web Keys (RFC 7517) and the set a verifier trusts.
use std::collections::HashMap;
use std::fmt;

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The signature algorithms sessiond signs with (RFC 7518 §3.1, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// ECDSA on P-256 with SHA-256: the default, small and fast.
    ES256,
    /// Ed25519.
    EdDSA,
    /// RSASSA-PKCS1-v1_5 with SHA-256, for peers that know nothing else.
    RS256,
}

impl SigningAlgorithm {
    /// The JOSE name (`alg` value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
            Self::RS256 => "RS256",
        }
    }

    /// Parses a JOSE `alg` name; `None` for anything sessiond does not sign with.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            "RS256" => Some(Self::RS256),
            _ => None,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A public signing key as published in a JWK Set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `EC`, `OKP` or `RSA`.
    pub kty: String,
    /// Key id, matched against the JWT header's `kid`.
    pub kid: String,
    /// The one algorithm this key may be used with.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Curve (`P-256`, `Ed25519`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC / OKP x coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// Why a JWK could not be turned into a verification key.
#[derive(Debug, thiserror::Error)]
pub enum JwkError {
    /// The JWK Set document is not valid JSON of the expected shape.
    #[error("malformed JWK Set: {0}")]
    Malformed(String),
    /// The key's `alg` is not one sessiond signs with.
    #[error("key {kid}: unsupported algorithm {alg}")]
    UnsupportedAlgorithm {
        /// The key's id.
        kid: String,
        /// The algorithm it named.
        alg: String,
    },
    /// A required member is missing or the key type does not fit the algorithm.
    #[error("key {0}: members do not match its algorithm")]
    Inconsistent(String),
}

impl Jwk {
    /// Builds the verification key, pinned to the JWK's own `alg`. The key
    /// is parsed and checked here, once (an EC point must lie on the curve),
    /// not on every verification.
    pub fn to_public_key(&self) -> Result<PublicKey, JwkError> {
        let alg = SigningAlgorithm::parse(&self.alg)
            .ok_or_else(|| JwkError::UnsupportedAlgorithm { kid: self.kid.clone(), alg: self.alg.clone() })?;
        let bad = || JwkError::Inconsistent(self.kid.clone());
        let member = |value: &Option<String>| -> Result<Vec<u8>, JwkError> {
            URL_SAFE_NO_PAD.decode(value.as_deref().ok_or_else(bad)?).map_err(|_| bad())
        };
        let key = match (alg, self.kty.as_str(), self.crv.as_deref()) {
            (SigningAlgorithm::ES256, "EC", Some("P-256")) => {
                let (x, y) = (member(&self.x)?, member(&self.y)?);
                // RFC 7518 §6.2.1.2: each coordinate is the full 32 bytes.
                if x.len() != 32 || y.len() != 32 {
                    return Err(bad());
                }
                // SEC 1 uncompressed point: 0x04 ‖ x ‖ y.
                let point = [&[0x04][..], &x, &y].concat();
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(|_| bad())?
            }
            (SigningAlgorithm::EdDSA, "OKP", Some("Ed25519")) => {
                let x = member(&self.x)?;
                if x.len() != 32 {
                    return Err(bad());
                }
                ParsedPublicKey::new(&ED25519, x).map_err(|_| bad())?
            }
            (SigningAlgorithm::RS256, "RSA", _) => {
                let components = RsaPublicKeyComponents { n: member(&self.n)?, e: member(&self.e)? };
                // The 2048-bit minimum is enforced when verifying.
                components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256).map_err(|_| bad())?
            }
            _ => return Err(bad()),
        };
        Ok(PublicKey { alg, key })
    }
}

/// A verification key and the only algorithm it accepts.
#[derive(Clone)]
pub struct PublicKey {
    pub(crate) alg: SigningAlgorithm,
    pub(crate) key: ParsedPublicKey,
}

/// The keys a verifier trusts, by `kid`.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, PublicKey>,
}

#[derive(Deserialize)]
struct JwkSetDocument {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Builds a key set from JWKs; any key that cannot be used is an error.
    pub fn from_jwks<'a>(jwks: impl IntoIterator<Item = &'a Jwk>) -> Result<Self, JwkError> {
        let mut keys = HashMap::new();
        for jwk in jwks {
            keys.insert(jwk.kid.clone(), jwk.to_public_key()?);
        }
        Ok(Self { keys })
    }

    /// Parses a JWK Set document (`{"keys":[…]}`). Keys of other types or
    /// algorithms are skipped, as RFC 7517 §5 asks of implementations that
    /// meet members they do not understand.
    pub fn from_jwks_json(document: &str) -> Result<Self, JwkError> {
        let doc: JwkSetDocument = serde_json::from_str(document).map_err(|e| JwkError::Malformed(e.to_string()))?;
        let mut keys = HashMap::new();
        for value in doc.keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else { continue };
            if let Ok(key) = jwk.to_public_key() {
                keys.insert(jwk.kid, key);
            }
        }
        Ok(Self { keys })
    }

    /// The key for a `kid`, if trusted.
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.get(kid)
    }

    /// How many keys are trusted.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.keys.iter().map(|(kid, k)| (kid, k.alg))).finish()
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    use super::*;

    fn p256_jwk(x: &[u8], y: &[u8]) -> Jwk {
        Jwk {
            kty: "EC".into(),
            kid: "k1".into(),
            alg: "ES256".into(),
            use_: Some("sig".into()),
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(x)),
            y: Some(URL_SAFE_NO_PAD.encode(y)),
            n: None,
            e: None,
        }
    }

    #[test]
    fn a_p256_key_is_checked_when_loaded() {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        assert!(p256_jwk(x, y).to_public_key().is_ok());
        let mut off_curve = y.to_vec();
        off_curve[31] ^= 1;
        for (what, jwk) in [
            ("off the curve", p256_jwk(x, &off_curve)),
            ("short x", p256_jwk(&x[1..], y)),
            ("long y", p256_jwk(x, &[y, &[0]].concat())),
            ("as EdDSA", Jwk { alg: "EdDSA".into(), ..p256_jwk(x, y) }),
            ("no y", Jwk { y: None, ..p256_jwk(x, y) }),
        ] {
            assert!(matches!(jwk.to_public_key(), Err(JwkError::Inconsistent(_))), "{what}");
        }
        let hs = Jwk { alg: "HS256".into(), ..p256_jwk(x, y) };
        assert!(matches!(hs.to_public_key(), Err(JwkError::UnsupportedAlgorithm { .. })));
        // In a JWK Set document, a key that cannot be used is skipped.
        let document =
            serde_json::json!({"keys": [p256_jwk(x, &off_curve), Jwk { kid: "k2".into(), ..p256_jwk(x, y) }]});
        let keys = KeySet::from_jwks_json(&document.to_string()).unwrap();
        assert_eq!((keys.len(), keys.get("k2").is_some()), (1, true));
    }
}
