//! A token request (RFC 6749 §3.2), parsed once at the edge into one
//! variant per grant type, and the one entry point that runs it.
use super::{
    authorization_code, client_credentials, password, refresh, CodeRequest, GrantError, PasswordRequest,
    RefreshRequest, TokenResponse,
};
use crate::app::App;
use crate::domain::Client;

/// What a client asks the token endpoint for.
#[derive(Debug)]
pub enum TokenRequest {
    /// `client_credentials` (§4.4), with an optional `scope`.
    ClientCredentials {
        /// `scope`.
        scope: Option<String>,
    },
    /// `password` (§4.3).
    Password(PasswordRequest),
    /// `refresh_token` (§6).
    RefreshToken(RefreshRequest),
    /// `authorization_code` (§4.1.3).
    AuthorizationCode(CodeRequest),
}

/// Runs a token request for an authenticated client.
pub async fn exchange(app: &App, client: &Client, request: TokenRequest) -> Result<TokenResponse, GrantError> {
    let (grant_type, issued) = match request {
        TokenRequest::ClientCredentials { scope } => {
            ("client_credentials", client_credentials(app, client, scope.as_deref()))
        }
        TokenRequest::Password(req) => ("password", password(app, client, req).await),
        TokenRequest::RefreshToken(req) => ("refresh_token", refresh(app, client, req).await),
        TokenRequest::AuthorizationCode(req) => ("authorization_code", authorization_code(app, client, req).await),
    };
    if issued.is_ok() {
        crate::observe::token_issued(grant_type);
    }
    issued
}
