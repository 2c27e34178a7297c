//! `GET /authz/forward`: forward authentication for reverse proxies in
//! front of APIs that cannot change (nginx `auth_request`, Traefik
//! ForwardAuth, Envoy `ext_authz` over HTTP). The proxy passes the
//! client's `Authorization` (and cookies); a live token — or a live
//! browser session's SSO cookie — gets 200 with who it is in headers the
//! proxy forwards upstream, anything else 401 (403 when a scope the route
//! requires is missing). Bearer tokens are checked from memory, through the
//! same validation path as introspection.
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer::Bearer;
use super::browser::cookies;
use super::error::ApiError;
use super::openapi::responses::{BadRequest, BearerRejected, Forbidden, Unavailable};
use super::params::QueryParams;
use crate::app::App;

/// Who the request is, as the upstream sees it.
struct Identity {
    sub: String,
    sid: Option<String>,
    client: String,
    scope: String,
}

/// The query of `/authz/forward`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Never built: it documents what `forward` reads.
pub struct ForwardQuery {
    /// Scopes the route requires, space-separated; a token lacking one is
    /// refused (403).
    scope: Option<String>,
}

/// `GET /authz/forward?scope=S`: 200 with `X-Sessiond-Sub`, `-Sid`,
/// `-Client`, `-Scope` for a live token or session, else 401/403.
#[utoipa::path(
    get,
    path = "/authz/forward",
    tag = "ops",
    summary = "Forward authentication for reverse proxies",
    description = "For nginx `auth_request`, Traefik ForwardAuth, Envoy `ext_authz`: the proxy passes \
        the client's `Authorization` (or cookies); a live access token, or a live browser session's \
        SSO cookie, gets 200 with who it is in headers to forward upstream.",
    params(ForwardQuery),
    security(("bearer" = []), ("sso_cookie" = [])),
    responses(
        (status = 200, description = "A live token or session (no body)", headers(
            ("X-Sessiond-Sub" = String, description = "The user (or, for a client's own token, the client)"),
            ("X-Sessiond-Sid" = String, description = "The session, when there is one"),
            ("X-Sessiond-Client" = String, description = "The client the token was issued to"),
            ("X-Sessiond-Scope" = String, description = "The token's scopes, space-separated"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn forward(State(app): State<Arc<App>>, query: QueryParams, mut parts: Parts) -> Result<Response, ApiError> {
    let required = query.only(&["scope"])?.0.one("scope")?.map(str::to_owned);
    let identity = if parts.headers.contains_key(header::AUTHORIZATION) {
        let Bearer(claims) = Bearer::from_request_parts(&mut parts, &app).await?;
        Identity {
            sub: claims.sub.clone(),
            sid: claims.sid.clone(),
            client: claims.client_id.clone(),
            scope: claims.scope.clone().unwrap_or_default(),
        }
    } else {
        let Some(cookie) = cookies::get(&parts.headers, &app.config.cookies.session) else {
            return Err(ApiError::bearer(false, "a Bearer token is required"));
        };
        if !app.is_current() {
            return Err(ApiError::not_current());
        }
        match crate::browser::live_session(&app, cookie).await? {
            Some(b) => Identity {
                sub: b.user.id.to_string(),
                sid: Some(b.session.id.to_string()),
                client: b.session.client_id.to_string(),
                scope: String::new(),
            },
            None => return Err(ApiError::bearer(true, "the session has ended")),
        }
    };
    if let Some(required) = required {
        let granted: Vec<&str> = identity.scope.split(' ').collect();
        if !required.split(' ').filter(|s| !s.is_empty()).all(|s| granted.contains(&s)) {
            return Err(ApiError::forbidden(format!("the token lacks the scope {required}")));
        }
    }
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("x-sessiond-sub", &identity.sub);
    if let Some(sid) = &identity.sid {
        put("x-sessiond-sid", sid);
    }
    put("x-sessiond-client", &identity.client);
    put("x-sessiond-scope", &identity.scope);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
