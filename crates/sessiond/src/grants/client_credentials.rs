//! `client_credentials` (RFC 6749 §4.4): a confidential client acting for
//! itself. The token has no session; its `sub` is the client id (RFC 9068
//! §2.2) and it carries no refresh token (§4.4.3).
use super::{require_grant, resolve_scope, GrantError, TokenResponse};
use crate::app::App;
use crate::domain::{Client, ClientKind, GrantType};
use crate::tokens::{mint_access_token, AccessTokenSpec};

/// Issues an access token to the client itself.
pub fn client_credentials(app: &App, client: &Client, scope: Option<&str>) -> Result<TokenResponse, GrantError> {
    require_grant(client, GrantType::ClientCredentials)?;
    // §4.4: "MUST only be used by confidential clients".
    if client.kind != ClientKind::Confidential {
        return Err(GrantError::UnauthorizedClient(GrantType::ClientCredentials));
    }
    let scope = resolve_scope(scope, &client.scope)?;
    let ttl = app.config.access_token_ttl;
    let spec = AccessTokenSpec {
        subject: client.id.as_str(),
        client_id: &client.id,
        scope: &scope,
        session: None,
        username: None,
        ttl,
        not_after: None,
    };
    let minted = mint_access_token(&app.keys(), app.clock.now(), spec)?;
    Ok(TokenResponse {
        expires_in: minted.expires_in(),
        access_token: minted.token,
        token_type: "Bearer",
        refresh_token: None,
        scope: scope.to_string(),
        id_token: None,
    })
}
