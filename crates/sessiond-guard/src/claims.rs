//! The claims of a sessiond access token (RFC 9068 §2.2).
use serde::{Deserialize, Serialize};

/// Claims of an access token.
///
/// RFC 9068 §2.2 makes `iss`, `exp`, `aud`, `sub`, `client_id`, `iat` and
/// `jti` required; sessiond adds `sid` to every token issued inside a user's
/// session (none for `client_credentials`, whose `sub` is the client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer URL of the sessiond that minted the token.
    pub iss: String,
    /// The user's id, or the client id for `client_credentials` tokens.
    pub sub: String,
    /// The resource (audience) the token is meant for.
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// The token's own id: the key for revoking just this token.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Space-separated scopes granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The session the token belongs to; absent for `client_credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The grant (one client inside one session) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// The user's sign-in name, for RFC 7662 `username` without a look-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}
