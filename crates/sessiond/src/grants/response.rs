//! The token response (RFC 6749 §5.1) and the errors a grant can end in.
use std::time::Duration;

use serde::Serialize;

use crate::domain::GrantType;
use crate::secrets::Secret;

/// A successful token response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer` (RFC 6750).
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
    /// A new refresh token, if the client may refresh.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose")]
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<Secret>,
    /// Granted scope (§5.1: required when it differs from the request;
    /// always sent, which every client accepts).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The ID token, for a code exchange that asked for `openid`
    /// (OpenID Connect Core §3.1.3.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

fn expose<S: serde::Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose()),
        None => s.serialize_none(),
    }
}

/// Why a grant was refused; mapped to RFC 6749 §5.2 errors by the HTTP layer.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A parameter is missing, repeated or malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// Credentials, refresh token or session are not valid.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// A user name and password were refused. Every reason gets the same
    /// answer ([`BAD_CREDENTIALS`]); the reason goes to the audit trail only.
    #[error("{0}")]
    BadCredentials(Refusal),
    /// Too many password attempts from this address or for this account.
    #[error("too many sign-in attempts")]
    Throttled {
        /// When to try again.
        retry_after: Duration,
    },
    /// Every permit to hash a password stayed taken for the queue wait.
    #[error("password checks are saturated")]
    Overloaded {
        /// When to try again.
        retry_after: Duration,
    },
    /// The client is not registered for this grant type.
    #[error("client is not allowed to use the {0} grant")]
    UnauthorizedClient(GrantType),
    /// The client was removed while the request ran.
    #[error("client authentication failed")]
    ClientRemoved,
    /// The requested scope exceeds what the client or grant allows.
    #[error("requested scope is not allowed")]
    InvalidScope,
    /// The store failed.
    #[error("storage failed")]
    Store(#[from] crate::store::StoreError),
    /// A token could not be signed.
    #[error("signing failed")]
    Signing(#[from] crate::tokens::SigningKeyError),
    /// Password hashing failed.
    #[error("password hashing failed")]
    Hashing(#[source] crate::login::HashingError),
}

/// The one description of a refused user name and password.
pub const BAD_CREDENTIALS: &str = "invalid username or password";

/// Why a user name and password were refused (for the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No user has this name.
    #[error("unknown user")]
    UnknownUser,
    /// The password does not match.
    #[error("wrong password")]
    WrongPassword,
    /// The password matches but the user is disabled.
    #[error("user is disabled")]
    Disabled,
}

impl GrantError {
    /// Refused before any credential was checked, to shed load: not worth
    /// an audit row each (a flood would write them at network speed).
    pub fn is_backpressure(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Overloaded { .. })
    }
}
