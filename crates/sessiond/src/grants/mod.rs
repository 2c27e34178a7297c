//! The token endpoint's grant flows (RFC 6749 §4–§6): who may have which
//! tokens. Each flow takes an authenticated client and a typed request and
//! returns a [`TokenResponse`] or a [`GrantError`]; none knows HTTP.
mod authorization_code;
mod client_auth;
mod client_credentials;
mod password;
mod refresh;
mod request;
mod response;

pub use authorization_code::{authorization_code, CodeRequest};
pub use client_auth::{authenticate_client, ClientAuthError, ClientCache, PresentedClient};
pub use client_credentials::client_credentials;
pub use password::{password, PasswordRequest};
pub use refresh::{refresh, RefreshRequest};
pub use request::{exchange, TokenRequest};
pub use response::{GrantError, Refusal, TokenResponse, BAD_CREDENTIALS};

use crate::app::App;
use crate::domain::{Client, ClientId, GrantId, Scope, Session, UnixTime, User};
use crate::tokens::{mint_access_token, AccessTokenSpec, MintedAccessToken};

/// The scope to grant: the requested one if the client may have all of it,
/// else the client's registered scope when none is requested (RFC 6749 §3.3).
fn resolve_scope(requested: Option<&str>, allowed: &Scope) -> Result<Scope, GrantError> {
    match requested {
        None => Ok(allowed.clone()),
        Some(raw) => {
            let scope = Scope::parse(raw).map_err(|_| GrantError::InvalidRequest("malformed scope".into()))?;
            if scope.is_subset_of(allowed) {
                Ok(scope)
            } else {
                Err(GrantError::InvalidScope)
            }
        }
    }
}

/// The access token of a user's session: it names the session and grant
/// (`sid`, `gid`), and its `exp` never passes the session's expiry, so that
/// checking `exp` enforces the session's timeouts on every validation.
/// Every grant that acts for a user mints through here.
fn mint_session_token(
    app: &App,
    now: UnixTime,
    user: &User,
    client: &ClientId,
    scope: &Scope,
    session: &Session,
    grant: &GrantId,
) -> Result<MintedAccessToken, GrantError> {
    let spec = AccessTokenSpec {
        subject: user.id.as_str(),
        client_id: client,
        scope,
        session: Some((&session.id, grant)),
        username: Some(&user.name),
        ttl: app.config.access_token_ttl,
        not_after: Some(session.expires_at()),
    };
    Ok(mint_access_token(&app.keys(), now, spec)?)
}

fn require_grant(client: &Client, grant: crate::domain::GrantType) -> Result<(), GrantError> {
    if client.allows(grant) {
        Ok(())
    } else {
        Err(GrantError::UnauthorizedClient(grant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_resolution() {
        let allowed = Scope::parse("a b").unwrap();
        assert_eq!(resolve_scope(None, &allowed).unwrap(), allowed);
        assert_eq!(resolve_scope(Some("a"), &allowed).unwrap().to_string(), "a");
        assert!(matches!(resolve_scope(Some("c"), &allowed), Err(GrantError::InvalidScope)));
        assert!(matches!(resolve_scope(Some("\"x"), &allowed), Err(GrantError::InvalidRequest(_))));
    }
}
