//! Access-token verification: one code path for every validator.
use jsonwebtoken::{decode, decode_header, Validation};

use crate::{AccessClaims, KeySet};

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
    /// The signature does not verify.
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
        self.decode(token, Some((&self.issuer, &self.audience)))
    }

    /// Checks form, signature and `typ` only: whether one of the trusted
    /// keys signed this access token, whatever issuer or audience it names.
    /// For revocation, which must reach every token the keys signed even
    /// after the issuer or audience setting changed; never for accepting a
    /// token.
    pub fn verify_signature_only(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.decode(token, None)
    }

    fn decode(&self, token: &str, iss_aud: Option<(&str, &str)>) -> Result<AccessClaims, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
        let key = self.keys.get(kid).ok_or(VerifyError::UnknownKey)?;
        if header.alg != key.alg.to_jsonwebtoken() {
            return Err(VerifyError::AlgorithmMismatch);
        }
        if header.typ.as_deref().map(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)) != Some(true) {
            return Err(VerifyError::WrongType);
        }
        let validation = validation(key.alg, iss_aud);
        decode::<AccessClaims>(token, &key.key, &validation).map(|d| d.claims).map_err(map_decode_error)
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

fn map_decode_error(e: jsonwebtoken::errors::Error) -> VerifyError {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => VerifyError::WrongIssuerOrAudience,
        ErrorKind::InvalidAlgorithm => VerifyError::AlgorithmMismatch,
        _ => VerifyError::Malformed,
    }
}
