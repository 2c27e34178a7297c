//! HTTP: the router (grouped by protocol) and the server loop that enforces
//! request-size, request-time and connection limits.
mod bearer;
mod body_deadline;
mod client_auth;
mod context;
pub mod error;
mod form;
mod log_throttle;
mod logout;
mod oauth;
mod oidc;
mod open_files;
mod ops;
mod params;
mod serve;
mod sessions_api;

use std::sync::Arc;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use serve::{serve, ServeLimits};

use crate::app::App;
use error::{ApiError, ErrorCode};

/// Every route of the server.
pub fn router(app: Arc<App>) -> Router {
    use oidc::discovery::{INTROSPECT_PATH, JWKS_PATH, REVOKE_PATH, TOKEN_PATH};
    use sessions_api::{admin, me};
    let max_body = app.config.max_body_bytes;
    let limits = body_deadline::BodyLimits { timeout: app.config.body_timeout, max_bytes: max_body };
    let cors = cors(&app.config.cors_allowed_origins);
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery::discovery))
        .route("/.well-known/oauth-authorization-server", get(oidc::discovery::discovery))
        .route(JWKS_PATH, get(oidc::jwks::jwks))
        .route(TOKEN_PATH, post(oauth::token::token))
        .route(REVOKE_PATH, post(oauth::revoke::revoke_token))
        .route(INTROSPECT_PATH, post(oauth::introspect::introspect_token))
        .route("/logout", post(logout::logout))
        .route("/api/v1/me/sessions", get(me::list).delete(me::end_all))
        .route("/api/v1/me/sessions/{sid}", delete(me::end_one))
        .route("/api/v1/admin/sessions", get(admin::list_sessions))
        .route("/api/v1/admin/sessions/{sid}", delete(admin::end_session))
        .route("/api/v1/admin/users/{name}/sessions", get(admin::user_sessions).delete(admin::end_user_sessions))
        .route("/api/v1/admin/users/{name}/disable", post(admin::disable_user))
        .route("/api/v1/admin/users/{name}/enable", post(admin::enable_user))
        .route("/api/v1/admin/audit", get(admin::audit))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        // Bodies are read whole here, under the size limit and one deadline,
        // so no handler can be stalled by a slow client. The extractors'
        // own limit stays, for bodies that reach them some other way.
        .layer(axum::middleware::from_fn_with_state(limits, body_deadline::read_body))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// CORS for browser applications on the configured origins, with
/// credentials (cookies, `Authorization`), so never `*` (Fetch standard).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    )
}
