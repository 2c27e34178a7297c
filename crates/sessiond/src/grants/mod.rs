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

use crate::domain::{Client, Scope};

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
