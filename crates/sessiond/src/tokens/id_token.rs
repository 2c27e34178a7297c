//! ID tokens (OpenID Connect Core §2, §3.1.3.6): who signed in, when, in
//! which session, for which client; signed with the key ring like access
//! tokens, but typed `JWT` so that neither can pass for the other
//! (RFC 9068 §4).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sessiond_guard::{SigningAlgorithm, VerifyError};
use sha2::{Digest, Sha256, Sha512};

use super::{jws, KeyRing, SigningKeyError};
use crate::domain::{ClientId, SessionId, UnixTime};

/// The `typ` of ID tokens.
pub const ID_TOKEN_TYPE: &str = "JWT";

/// The claims of an ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// The user's id.
    pub sub: String,
    /// The client it was issued to (§2: `aud` contains its `client_id`).
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// When the user last entered their password in this session.
    pub auth_time: i64,
    /// The authorization request's `nonce`, echoed (§3.1.3.7 step 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The session (Front- and Back-Channel Logout `sid`).
    pub sid: String,
    /// Half the hash of the access token issued with it (§3.1.3.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Authorized party: the client (§2; sent since `aud` is one value).
    pub azp: String,
}

/// What an ID token says.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenSpec<'a> {
    /// The user's id.
    pub subject: &'a str,
    /// The client.
    pub client_id: &'a ClientId,
    /// The session.
    pub session: &'a SessionId,
    /// When the user signed in.
    pub auth_time: UnixTime,
    /// `nonce` from the authorization request.
    pub nonce: Option<&'a str>,
    /// The access token issued with it.
    pub access_token: &'a str,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// Signs an ID token with the ring's current key.
pub fn mint_id_token(ring: &KeyRing, now: UnixTime, spec: IdTokenSpec<'_>) -> Result<String, SigningKeyError> {
    let key = ring.signing_key();
    let claims = IdClaims {
        iss: ring.audience().issuer.clone(),
        sub: spec.subject.to_owned(),
        aud: spec.client_id.to_string(),
        exp: spec.expires_at.0,
        iat: now.0,
        auth_time: spec.auth_time.0,
        nonce: spec.nonce.map(str::to_owned),
        sid: spec.session.to_string(),
        at_hash: Some(at_hash(key.alg(), spec.access_token)),
        azp: spec.client_id.to_string(),
    };
    jws::encode(key, ID_TOKEN_TYPE, &claims)
}

/// §3.1.3.6: the base64url of the left half of the hash of the access
/// token, with the hash of the signing algorithm: SHA-256 for ES256 and
/// RS256, SHA-512 for EdDSA (Ed25519 signs with SHA-512).
pub fn at_hash(alg: SigningAlgorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlgorithm::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        SigningAlgorithm::ES256 | SigningAlgorithm::RS256 => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Verifies an ID token this server issued to `client` (or to any client
/// when `None`: the hint itself then says whose it is), whatever its
/// lifetime: RP-Initiated Logout §2 accepts an expired `id_token_hint`, but
/// only one signed by a key of ours.
pub fn verify_id_token_hint(ring: &KeyRing, token: &str, client: Option<&ClientId>) -> Result<IdClaims, VerifyError> {
    let verifier = ring.verifier();
    match client {
        Some(client) => verifier.verify_other(token, ID_TOKEN_TYPE, client.as_str()),
        None => {
            // Read the audience first (unverified), then verify against it:
            // nothing read here is trusted until the signature checks.
            let payload = token.split('.').nth(1).ok_or(VerifyError::Malformed)?;
            let raw = URL_SAFE_NO_PAD.decode(payload).map_err(|_| VerifyError::Malformed)?;
            let unverified: IdClaims = serde_json::from_slice(&raw).map_err(|_| VerifyError::Malformed)?;
            verifier.verify_other(token, ID_TOKEN_TYPE, &unverified.aud)
        }
    }
}
