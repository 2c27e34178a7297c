//! Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): a JWT
//! typed `logout+jwt` that tells a client a session ended.
use serde::Serialize;
use serde_json::json;

use super::{jws, KeyRing, SigningKeyError};
use crate::domain::UnixTime;
use crate::secrets;

/// The `typ` of logout tokens (§2.4, RFC 8725 §3.11).
pub const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";
/// How long a logout token is valid: long enough to arrive, short enough
/// that a captured one is useless (§2.4 suggests a short lifetime).
pub const LOGOUT_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(120);
/// The event that makes a JWT a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    sid: &'a str,
    events: serde_json::Value,
}

/// Signs a logout token for `client` about `sid` of `sub`, never with a
/// `nonce` (§2.4: forbidden, so it cannot pass for an ID token).
pub fn mint_logout_token(
    ring: &KeyRing,
    now: UnixTime,
    client: &str,
    sub: &str,
    sid: &str,
) -> Result<String, SigningKeyError> {
    let claims = LogoutClaims {
        iss: &ring.audience().issuer,
        aud: client,
        iat: now.0,
        exp: now.plus(LOGOUT_TOKEN_LIFETIME).0,
        jti: secrets::new_id(),
        sub,
        sid,
        events: json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
    };
    jws::encode(ring.signing_key(), LOGOUT_TOKEN_TYPE, &claims)
}
