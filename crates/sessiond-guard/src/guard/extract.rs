//! The claims of the request's token, as [`GuardLayer`](super::GuardLayer)
//! leaves them in the request's extensions, and the axum extractor that
//! hands them to a handler.
//!
//! The extractor implements `FromRequestParts` of `axum-core`, the trait
//! crate axum re-exports, so handlers take [`Claims`] directly without this
//! crate depending on axum itself.
use std::ops::Deref;
use std::sync::Arc;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::AccessClaims;

/// The verified claims of the request's access token.
///
/// [`GuardLayer`](super::GuardLayer) inserts one into the extensions of
/// every request it lets through; in an axum handler, take it as an
/// argument:
///
/// ```no_run
/// use sessiond_guard::Claims;
/// async fn whoami(claims: Claims) -> String {
///     format!("{} in session {:?}", claims.sub, claims.sid)
/// }
/// ```
///
/// Outside axum, read it with `request.extensions().get::<Claims>()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims(pub Arc<AccessClaims>);

impl Deref for Claims {
    type Target = AccessClaims;

    fn deref(&self) -> &AccessClaims {
        &self.0
    }
}

/// The extractor found no [`Claims`]: the route is not behind a
/// [`GuardLayer`](super::GuardLayer). A mistake in the application, so it
/// answers 500 rather than pretend the client is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no verified claims on the request: is the route behind GuardLayer?")]
pub struct MissingClaims;

impl IntoResponse for MissingClaims {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, "the route is not guarded").into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = MissingClaims;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Claims>().cloned().ok_or(MissingClaims)
    }
}
