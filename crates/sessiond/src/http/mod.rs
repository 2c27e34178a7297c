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
pub mod openapi;
mod ops;
mod params;
mod routes;
mod serve;
mod sessions_api;
mod trace;

use std::sync::Arc;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

pub use routes::Route;
pub use serve::{serve, ServeLimits};
pub use trace::REQUEST_LOG;

use crate::app::App;
use error::{ApiError, ErrorCode};
use routes::Routes;

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
    let open_to_browsers = |routes: Routes| {
        let routes = routes.into_router().layer(read_bodies.clone());
        match &cors {
            Some(cors) => routes.layer(cors.clone()),
            None => routes,
        }
    };
    let routes = Router::new()
        .merge(open_to_browsers(protocol_routes()))
        .merge(open_to_browsers(api_routes()))
        .merge(
            ops_routes(app.config.metrics && app.config.metrics_listen.is_none())
                .into_router()
                .layer(read_bodies.clone()),
        )
        .merge(browser::routes().into_router().layer(read_bodies.clone()))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(axum::middleware::map_response_with_state(Arc::clone(&app), drain::close_when_draining));
    trace::traced(routes).with_state(app)
}

/// Every route the server answers, method by method, from the same
/// functions that build the router (the OpenAPI contract is checked
/// against it).
pub fn route_table() -> Vec<Route> {
    [protocol_routes(), api_routes(), ops_routes(true), browser::routes()]
        .into_iter()
        .flat_map(Routes::into_table)
        .collect()
}

/// OAuth 2.0 and OpenID Connect endpoints (discovery says where they are).
fn protocol_routes() -> Routes {
    use oidc::discovery::{INTROSPECT_PATH, JWKS_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH};
    Routes::new()
        .get(oidc::discovery::OPENID_CONFIGURATION_PATH, oidc::discovery::discovery)
        .get(oidc::discovery::AUTHORIZATION_SERVER_PATH, oidc::discovery::discovery)
        .get(JWKS_PATH, oidc::jwks::jwks)
        .post(TOKEN_PATH, oauth::token::token)
        .post(REVOKE_PATH, oauth::revoke::revoke_token)
        .post(INTROSPECT_PATH, oauth::introspect::introspect_token)
        .get(USERINFO_PATH, oidc::userinfo::userinfo)
        .post(USERINFO_PATH, oidc::userinfo::userinfo)
}

/// The JSON APIs: logout and the session APIs. Personal data: never cached.
fn api_routes() -> Routes {
    use sessions_api::{admin, me};
    Routes::new()
        .post("/logout", logout::logout)
        .get("/api/v1/me/sessions", me::list)
        .delete("/api/v1/me/sessions", me::end_all)
        .delete("/api/v1/me/sessions/{sid}", me::end_one)
        .get("/api/v1/admin/sessions", admin::list_sessions)
        .delete("/api/v1/admin/sessions/{sid}", admin::end_session)
        .get("/api/v1/admin/users/{name}/sessions", admin::user_sessions)
        .delete("/api/v1/admin/users/{name}/sessions", admin::end_user_sessions)
        .post("/api/v1/admin/users/{name}/disable", admin::disable_user)
        .post("/api/v1/admin/users/{name}/enable", admin::enable_user)
        .get("/api/v1/admin/audit", admin::audit)
        .get("/api/v1/admin/logout-deliveries", admin::logout_deliveries)
        .get("/api/v1/revocations", feed::snapshot)
        .get("/api/v1/revocations/stream", feed::stream)
        .map(|routes| {
            routes.layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
        })
}

/// Liveness and readiness, for load balancers; forward authentication,
/// for reverse proxies; the API contract; the metrics, unless they have a
/// listener of their own (none is called by browsers: no CORS).
fn ops_routes(with_metrics: bool) -> Routes {
    let routes = Routes::new()
        .get("/healthz", ops::healthz)
        .get("/readyz", ops::readyz)
        .get("/authz/forward", forward_auth::forward)
        .get(openapi::PATH, openapi::serve);
    if with_metrics {
        routes.get("/metrics", ops::metrics)
    } else {
        routes
    }
}

/// `/metrics` alone, for its own listener (`metrics_listen`).
pub fn metrics_router(app: Arc<App>) -> Router {
    Router::new().route("/metrics", axum::routing::get(ops::metrics)).with_state(app)
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
