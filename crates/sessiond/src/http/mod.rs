//! HTTP: the router (grouped by protocol, each group with its own layers),
//! the request log, and the server loop that enforces request-size,
//! request-time and connection limits.
mod bearer;
mod body_deadline;
mod browser;
mod client_auth;
mod context;
mod drain;
pub mod error;
mod feed;
mod form;
mod forward_auth;
mod log_throttle;
mod logout;
mod oauth;
mod oidc;
mod open_files;
mod ops;
mod params;
mod serve;
mod sessions_api;
mod trace;

use std::sync::Arc;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

pub use serve::{serve, ServeLimits};

use crate::app::App;
use error::{ApiError, ErrorCode};

/// Every route of the server, in groups that each get the layers that
/// belong to them: the OAuth/OIDC protocol endpoints and the JSON APIs are
/// open to the configured browser origins (CORS); the JSON APIs, which
/// carry personal data, are never cached; operations endpoints get neither.
/// Every response says `nosniff`, and every request runs in the request
/// span (`trace`).
pub fn router(app: Arc<App>) -> Router {
    let max_body = app.config.max_body_bytes;
    let limits = body_deadline::BodyLimits { timeout: app.config.body_timeout, max_bytes: max_body };
    // Bodies are read whole first, under the size limit and one deadline, so
    // no handler can be stalled by a slow client. The extractors' own limit
    // stays, for bodies that reach them some other way.
    let read_bodies = axum::middleware::from_fn_with_state(limits, body_deadline::read_body);
    let cors = cors(&app.config.cors_allowed_origins);
    // CORS outside the body deadline, so its errors carry CORS headers too.
    let open_to_browsers = |routes: Router<Arc<App>>| match &cors {
        Some(cors) => routes.layer(read_bodies.clone()).layer(cors.clone()),
        None => routes.layer(read_bodies.clone()),
    };
    let routes = Router::new()
        .merge(open_to_browsers(protocol_routes()))
        .merge(open_to_browsers(api_routes()))
        .merge(ops_routes(app.config.metrics_listen.is_none()).layer(read_bodies.clone()))
        .merge(browser::routes().layer(read_bodies.clone()))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(axum::middleware::map_response_with_state(Arc::clone(&app), drain::close_when_draining));
    trace::traced(routes).with_state(app)
}

/// OAuth 2.0 and OpenID Connect endpoints (discovery says where they are).
fn protocol_routes() -> Router<Arc<App>> {
    use oidc::discovery::{INTROSPECT_PATH, JWKS_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH};
    Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery::discovery))
        .route("/.well-known/oauth-authorization-server", get(oidc::discovery::discovery))
        .route(JWKS_PATH, get(oidc::jwks::jwks))
        .route(TOKEN_PATH, post(oauth::token::token))
        .route(REVOKE_PATH, post(oauth::revoke::revoke_token))
        .route(INTROSPECT_PATH, post(oauth::introspect::introspect_token))
        .route(USERINFO_PATH, get(oidc::userinfo::userinfo).post(oidc::userinfo::userinfo))
}

/// The JSON APIs: logout and the session APIs. Personal data: never cached.
fn api_routes() -> Router<Arc<App>> {
    use sessions_api::{admin, me};
    Router::new()
        .route("/logout", post(logout::logout))
        .route("/api/v1/me/sessions", get(me::list).delete(me::end_all))
        .route("/api/v1/me/sessions/{sid}", delete(me::end_one))
        .route("/api/v1/admin/sessions", get(admin::list_sessions))
        .route("/api/v1/admin/sessions/{sid}", delete(admin::end_session))
        .route("/api/v1/admin/users/{name}/sessions", get(admin::user_sessions).delete(admin::end_user_sessions))
        .route("/api/v1/admin/users/{name}/disable", post(admin::disable_user))
        .route("/api/v1/admin/users/{name}/enable", post(admin::enable_user))
        .route("/api/v1/admin/audit", get(admin::audit))
        .route("/api/v1/admin/logout-deliveries", get(admin::logout_deliveries))
        .route("/api/v1/revocations", get(feed::snapshot))
        .route("/api/v1/revocations/stream", get(feed::stream))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// Liveness and readiness, for load balancers; forward authentication,
/// for reverse proxies (neither is called by browsers: no CORS).
fn ops_routes(with_metrics: bool) -> Router<Arc<App>> {
    let routes = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/authz/forward", get(forward_auth::forward));
    if with_metrics {
        routes.route("/metrics", get(ops::metrics))
    } else {
        routes
    }
}

/// `/metrics` alone, for its own listener (`metrics_listen`).
pub fn metrics_router(app: Arc<App>) -> Router {
    Router::new().route("/metrics", get(ops::metrics)).with_state(app)
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
