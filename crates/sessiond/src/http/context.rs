//! Where a request came from, as recorded on sessions and in the audit trail.
use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, request::Parts};

use crate::domain::SignInContext;

/// Longest User-Agent kept.
const MAX_USER_AGENT: usize = 256;

/// The peer address and User-Agent of a request.
pub struct RequestContext(pub SignInContext);

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Ok(Self(SignInContext { ip, user_agent }))
    }
}
