//! HTTP: the router (grouped by protocol) and the server loop that enforces
//! request-size limits.
mod client_auth;
mod context;
pub mod error;
mod form;
mod oauth;
mod oidc;
mod ops;
mod serve;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

pub use serve::serve;

use crate::app::App;
use error::{ApiError, ErrorCode};

/// Every route of the server.
pub fn router(app: Arc<App>) -> Router {
    let max_body = app.config.max_body_bytes;
    Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery::discovery))
        .route("/.well-known/oauth-authorization-server", get(oidc::discovery::discovery))
        .route(oidc::discovery::JWKS_PATH, get(oidc::jwks::jwks))
        .route(oidc::discovery::TOKEN_PATH, post(oauth::token::token))
        .route("/healthz", get(ops::healthz))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}
