//! Access-token verification: one code path for every validator.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Validation};

use crate::{low_s, AccessClaims, KeySet, SigningAlgorithm};

/// The JWT `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Longest token accepted before any parsing. sessiond's tokens are well
/// under 1 KiB; anything far larger is an attack on the parser.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was not accepted. Callers answer all of them the same way
/// (`active: false`, 401); the variants are for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token too large")]
    TooLarge,
    /// Not a JWS compact serialization, or claims of the wrong shape.
    #[error("malformed token")]
    Malformed,
    /// The header names no key, or one not in the key set.
    #[error("unknown signing key")]
    UnknownKey,
    /// The header's `alg` is not the one the key is pinned to (this covers
    /// `alg: none` and HMAC-with-the-public-key confusion).
    #[error("algorithm not allowed for this key")]
    AlgorithmMismatch,
    /// `typ` is not `at+jwt` (RFC 9068 §4: an ID token is not an access token).
    #[error("not an access token")]
    WrongType,
    /// The signature does not verify, or is an ES256 signature whose `s`
    /// is above half the group order: the malleated twin of a valid one,
    /// refused so that every token has one accepted text (see `low_s`).
    #[error("bad signature")]
    BadSignature,
    /// `iss` or `aud` is not this deployment's.
    #[error("wrong issuer or audience")]
    WrongIssuerOrAudience,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `iat` lies in the future beyond the allowed skew.
    #[error("issued in the future")]
    IssuedInFuture,
}

/// Verifies sessiond access tokens against a trusted [`KeySet`].
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: KeySet,
    issuer: String,
    audience: String,
    leeway_secs: i64,
}

impl Verifier {
    /// A verifier for tokens from `issuer` meant for `audience`.
    pub fn new(keys: KeySet, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self { keys, issuer: issuer.into(), audience: audience.into(), leeway_secs: 0 }
    }

    /// Tolerates this much clock difference between issuer and verifier.
    pub fn with_leeway(mut self, seconds: i64) -> Self {
        self.leeway_secs = seconds.max(0);
        self
    }

    /// The trusted keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Checks a token's form, signature and claims at time `now` (Unix
    /// seconds). It says nothing of revocation: that is the index's job.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, VerifyError> {
        let claims = self.verify_ignoring_lifetime(token)?;
        self.check_lifetime(&claims, now)?;
        Ok(claims)
    }

    /// Checks form, signature, `typ`, `iss` and `aud`, not `exp`/`iat`.
    pub fn verify_ignoring_lifetime(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.decode(token, ACCESS_TOKEN_TYPE, Some((&self.issuer, &self.audience)))
    }

    /// Checks form, signature, `iss`, that `typ` (when present) is
    /// `typ`, and that `aud` names `audience`, not lifetime; for the other
    /// JWTs sessiond signs with the same keys (an ID token presented back as
    /// `id_token_hint`, OpenID Connect RP-Initiated Logout §2). `typ` may be
    /// absent, as OpenID Connect does not require it.
    pub fn verify_other<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        audience: &str,
    ) -> Result<C, VerifyError> {
        self.decode_as(token, Some(typ), true, Some((&self.issuer, audience)))
    }

    /// Checks form, signature and `typ` only: whether one of the trusted
    /// keys signed this access token, whatever issuer or audience it names.
    /// For revocation, which must reach every token the keys signed even
    /// after the issuer or audience setting changed; never for accepting a
    /// token.
    pub fn verify_signature_only(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.decode(token, ACCESS_TOKEN_TYPE, None)
    }

    fn decode(&self, token: &str, typ: &str, iss_aud: Option<(&str, &str)>) -> Result<AccessClaims, VerifyError> {
        self.decode_as(token, Some(typ), false, iss_aud)
    }

    fn decode_as<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: Option<&str>,
        typ_optional: bool,
        iss_aud: Option<(&str, &str)>,
    ) -> Result<C, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
        let key = self.keys.get(kid).ok_or(VerifyError::UnknownKey)?;
        if header.alg != key.alg.to_jsonwebtoken() {
            return Err(VerifyError::AlgorithmMismatch);
        }
        let typ_ok = match (header.typ.as_deref(), typ) {
            (Some(found), Some(wanted)) => found.eq_ignore_ascii_case(wanted),
            (None, _) => typ_optional,
            (Some(_), None) => true,
        };
        if !typ_ok {
            return Err(VerifyError::WrongType);
        }
        let claims =
            decode::<C>(token, &key.key, &validation(key.alg, iss_aud)).map(|d| d.claims).map_err(map_decode_error)?;
        // The library accepts both (r, s) and (r, n − s); only the low-S
        // form, the one sessiond signs, is the token.
        if key.alg == SigningAlgorithm::ES256 && !es256_signature_is_low_s(token) {
            return Err(VerifyError::BadSignature);
        }
        Ok(claims)
    }

    /// Checks `exp` and `iat` against `now` (Unix seconds), with the leeway.
    pub fn check_lifetime(&self, claims: &AccessClaims, now: i64) -> Result<(), VerifyError> {
        if claims.exp + self.leeway_secs <= now {
            return Err(VerifyError::Expired);
        }
        if claims.iat - self.leeway_secs > now {
            return Err(VerifyError::IssuedInFuture);
        }
        Ok(())
    }
}

fn validation(alg: crate::SigningAlgorithm, iss_aud: Option<(&str, &str)>) -> Validation {
    let mut v = Validation::new(alg.to_jsonwebtoken());
    // Lifetime is checked above against the caller's clock, not the
    // library's own reading of the system time.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.required_spec_claims.clear();
    match iss_aud {
        Some((issuer, audience)) => {
            v.set_issuer(&[issuer]);
            v.set_audience(&[audience]);
        }
        None => v.validate_aud = false,
    }
    v
}

/// Whether the third segment of a JWS compact serialization is a 64-byte
/// ES256 signature (base64url without padding, RFC 7515 §2) in low-S form.
fn es256_signature_is_low_s(token: &str) -> bool {
    let Some(encoded) = token.rsplit('.').next() else { return false };
    let mut raw = [0u8; low_s::SIGNATURE_LEN];
    // A longer value fails to fit; a shorter one decodes to fewer bytes.
    matches!(URL_SAFE_NO_PAD.decode_slice(encoded, &mut raw), Ok(low_s::SIGNATURE_LEN)) && low_s::is_low_s(&raw)
}

fn map_decode_error(e: jsonwebtoken::errors::Error) -> VerifyError {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => VerifyError::WrongIssuerOrAudience,
        ErrorKind::InvalidAlgorithm => VerifyError::AlgorithmMismatch,
        _ => VerifyError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use ring::rand::SystemRandom;
    use ring::signature::{
        EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
    };

    use super::*;
    use crate::{low_s, Jwk, Validator};

    const ISSUER: &str = "https://id.example";
    const AUDIENCE: &str = "https://api.example";
    const NOW: i64 = 1_700_000_000;

    /// A real ES256 key: its verifier, its signer, and its raw public point.
    fn es256() -> (Verifier, EncodingKey, Vec<u8>) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let jwk = Jwk {
            kty: "EC".into(),
            kid: "k1".into(),
            alg: "ES256".into(),
            use_: Some("sig".into()),
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&point[33..65])),
            n: None,
            e: None,
        };
        let keys = KeySet::from_jwks([&jwk]).unwrap();
        (Verifier::new(keys, ISSUER, AUDIENCE), EncodingKey::from_ec_der(pkcs8.as_ref()), point)
    }

    fn signed(key: &EncodingKey) -> String {
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "u1", "aud": AUDIENCE, "exp": NOW + 300, "iat": NOW,
            "jti": "j1", "client_id": "c1", "sid": "s1", "gid": "g1",
        });
        let header =
            Header { typ: Some(ACCESS_TOKEN_TYPE.into()), kid: Some("k1".into()), ..Header::new(Algorithm::ES256) };
        jsonwebtoken::encode(&header, &claims, key).unwrap()
    }

    /// The token with its signature's `s` replaced: normalised to low-S, or
    /// flipped to `n − s`.
    fn with_signature(token: &str, change: impl FnOnce(&mut [u8; 64])) -> String {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut raw: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).unwrap().try_into().unwrap();
        change(&mut raw);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(raw))
    }

    fn flip_s(sig: &mut [u8; 64]) {
        let s: [u8; 32] = sig[32..].try_into().unwrap();
        sig[32..].copy_from_slice(&low_s::order_minus(&s));
    }

    /// Plain ECDSA verification (SEC 1), as any JOSE library does it.
    fn plain_ecdsa_accepts(token: &str, point: &[u8]) -> bool {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(input.as_bytes(), &sig).is_ok()
    }

    #[test]
    fn the_high_s_twin_of_an_es256_token_is_refused() {
        let (verifier, key, point) = es256();
        for _ in 0..8 {
            // The library signs either form; take the low one and its twin.
            let low = with_signature(&signed(&key), |sig| {
                low_s::normalize(sig);
            });
            let high = with_signature(&low, flip_s);
            assert_ne!(low, high);
            assert!(plain_ecdsa_accepts(&low, &point));
            assert!(plain_ecdsa_accepts(&high, &point), "the twin is a valid ECDSA signature");
            assert!(verifier.verify(&low, NOW).is_ok());
            assert_eq!(verifier.verify(&high, NOW), Err(VerifyError::BadSignature));
            assert_eq!(verifier.verify_ignoring_lifetime(&high), Err(VerifyError::BadSignature));
        }
    }

    #[test]
    fn the_validator_and_its_cache_refuse_the_twin_of_a_cached_token() {
        let (verifier, key, _) = es256();
        let validator = Validator::new(verifier);
        let low = with_signature(&signed(&key), |sig| {
            low_s::normalize(sig);
        });
        let high = with_signature(&low, flip_s);
        assert!(validator.validate(&low, NOW).is_ok());
        assert!(validator.validate(&high, NOW).is_err(), "validate");
        assert!(validator.inspect(&high).is_err(), "inspect");
        assert!(validator.validate(&low, NOW).is_ok(), "the original stays valid");
    }

    #[test]
    fn a_signature_segment_of_the_wrong_size_is_not_low_s() {
        assert!(!es256_signature_is_low_s("a.b."));
        assert!(!es256_signature_is_low_s(&format!("a.b.{}", URL_SAFE_NO_PAD.encode([0u8; 63]))));
        assert!(!es256_signature_is_low_s(&format!("a.b.{}", URL_SAFE_NO_PAD.encode([0u8; 65]))));
        assert!(es256_signature_is_low_s(&format!("a.b.{}", URL_SAFE_NO_PAD.encode([1u8; 64]))));
    }
}
