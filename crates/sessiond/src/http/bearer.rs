//! Bearer-token authentication for the JSON APIs (RFC 6750 §2.1), checked
//! from memory by the validator.
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use sessiond_guard::{AccessClaims, Rejection};

use super::error::ApiError;
use crate::app::App;

/// The validated claims of the request's access token.
pub struct Bearer(pub Arc<AccessClaims>);

impl Bearer {
    /// The raw token in an `Authorization: Bearer` header, if any.
    pub fn token(parts: &Parts) -> Result<Option<&str>, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else { return Ok(None) };
        let value = value.to_str().map_err(|_| ApiError::bearer(true, "malformed Authorization header"))?;
        match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                Ok(Some(token.trim()))
            }
            // Another scheme: as if no bearer token were present (§3).
            _ => Err(ApiError::bearer(false, "a Bearer token is required")),
        }
    }
}

impl FromRequestParts<Arc<App>> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let token = Self::token(parts)?.ok_or_else(|| ApiError::bearer(false, "a Bearer token is required"))?;
        if !app.is_current() {
            return Err(ApiError::not_current());
        }
        match app.validator.validate(token, app.clock.now().0) {
            Ok(claims) => {
                if let Some(actors) = super::trace::Actors::of(&parts.extensions) {
                    actors.client(&claims.client_id);
                    if let Some(sid) = &claims.sid {
                        actors.session(sid);
                    }
                }
                Ok(Bearer(claims))
            }
            Err(Rejection::Revoked) => Err(ApiError::bearer(true, "the token has been revoked")),
            Err(Rejection::Invalid(e)) => Err(ApiError::bearer(true, &format!("the token is not valid ({e})"))),
        }
    }
}
