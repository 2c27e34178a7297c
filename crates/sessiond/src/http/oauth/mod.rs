//! OAuth 2.0 endpoints.
pub mod introspect;
pub mod revoke;
pub mod token;

use sessiond_guard::MAX_TOKEN_BYTES;

use super::error::ApiError;
use super::form::OAuthForm;

/// The form of a revocation or introspection request, for the contract
/// (the handlers read it with [`PresentedToken::parse`]). Optional
/// parameters are absent or empty, never null: a form has no null.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Never built: it documents the form `PresentedToken::parse` reads.
pub struct PresentedTokenForm {
    /// The token: an access token (a JWT) or a refresh token; at most
    /// `MAX_TOKEN_BYTES` (8 KiB). An empty value counts as absent (RFC
    /// 6749 §3.1).
    #[schema(min_length = 1)]
    token: String,
    /// `access_token` or `refresh_token`; accepted and not needed (the
    /// token's own form says which it is).
    #[schema(required = false)]
    token_type_hint: String,
    /// The client (`client_secret_post`, or a public client).
    #[schema(required = false)]
    client_id: String,
    /// The client's secret (`client_secret_post`).
    #[schema(required = false)]
    client_secret: String,
}

/// The token a revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1)
/// request names.
pub struct PresentedToken<'a> {
    /// `token`.
    pub token: &'a str,
}

impl<'a> PresentedToken<'a> {
    /// Reads `token` from the form, and checks `token_type_hint` is given at
    /// most once. The hint only helps a server find a token (§2.1: one that
    /// cannot find it by the hint must search every type anyway); sessiond
    /// needs no help: its access tokens are JWTs and its refresh tokens never
    /// contain a dot, so the token's own form says which it is
    /// (`revocation::is_jwt`), and any hint, known or not, changes nothing.
    pub fn parse(form: &'a OAuthForm) -> Result<Self, ApiError> {
        let token = form.required("token")?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(ApiError::invalid_request("token too large"));
        }
        form.one("token_type_hint")?;
        Ok(Self { token })
    }
}
