//! OAuth 2.0 endpoints.
pub mod introspect;
pub mod revoke;
pub mod token;

use sessiond_guard::MAX_TOKEN_BYTES;

use super::error::ApiError;
use super::form::OAuthForm;

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
