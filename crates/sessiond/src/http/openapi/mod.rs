//! The API contract: an OpenAPI 3.1 document generated from the code — the
//! `#[utoipa::path]` attribute on each handler, the `ToSchema` types the
//! handlers serialize, the reusable error answers (`responses`) — and
//! served at `GET /api/openapi.json`.
//!
//! It covers every JSON and form endpoint: the OAuth and OpenID Connect
//! protocol endpoints, logout, the session APIs, the revocation feed (its
//! stream as `text/event-stream`), forward authentication and the
//! operations endpoints. It leaves out the pages a person meets in a
//! browser — `/oauth2/authorize`, `/login`, `/consent`, `/oauth2/logout`
//! (RP-Initiated Logout), `/account…`, `/admin…` and the stylesheet: HTML in,
//! HTML out, forms with CSRF tokens, not an API (README "Pages"). The
//! integration test `openapi` checks that every route of the router is in
//! the contract or in that list, and that every operation of the contract
//! is routed.
//!
//! Transport-level answers any request may get are not repeated per
//! operation: 408 for a body not sent within `body_timeout`, 413 for one
//! over `max_body_bytes` (listed where a body is expected), 431 for an
//! oversized head.
pub mod responses;
pub mod schemas;

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi};

use super::error::{ErrorBody, ErrorCode};
use super::oidc::discovery::{AUTHORIZATION_SERVER_PATH, OPENID_CONFIGURATION_PATH};
use super::{feed, forward_auth, logout, oauth, oidc, ops, sessions_api};
use crate::app::App;
use crate::config::CookiePolicy;

/// Where the contract is served.
pub const PATH: &str = "/api/openapi.json";

/// Names of the security schemes, as operations refer to them.
pub const CLIENT_SECRET_BASIC: &str = "client_secret_basic";
/// An access token in `Authorization: Bearer`.
pub const BEARER: &str = "bearer";
/// The browser's SSO cookie.
pub const SSO_COOKIE: &str = "sso_cookie";

/// The document, as the macros assemble it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sessiond",
        description = "OAuth 2.0 / OpenID Connect sessions and tokens that really end. Errors are \
            RFC 6749 §5.2 bodies (`ErrorBody`) with `Cache-Control: no-store`; Bearer endpoints send \
            RFC 6750 challenges; unknown query parameters are refused with 400 `invalid_request`.",
    ),
    paths(
        oidc::discovery::discovery,
        oidc::jwks::jwks,
        oauth::token::token,
        oauth::revoke::revoke_token,
        oauth::introspect::introspect_token,
        oidc::userinfo::userinfo,
        logout::logout,
        sessions_api::me::list,
        sessions_api::me::end_all,
        sessions_api::me::end_one,
        sessions_api::admin::list_sessions,
        sessions_api::admin::end_session,
        sessions_api::admin::user_sessions,
        sessions_api::admin::end_user_sessions,
        sessions_api::admin::disable_user,
        sessions_api::admin::enable_user,
        sessions_api::admin::audit,
        sessions_api::admin::logout_deliveries,
        feed::snapshot,
        feed::stream,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        forward_auth::forward,
        serve,
    ),
    // The error answers are shared by reference, and their schemas are not
    // collected from the operations: listed here.
    components(schemas(ErrorBody, ErrorCode), responses(
        responses::BadRequest,
        responses::ClientAuthFailed,
        responses::BearerRejected,
        responses::Forbidden,
        responses::NotFound,
        responses::PayloadTooLarge,
        responses::TooManyRequests,
        responses::Unavailable,
    )),
    modifiers(&SecuritySchemes, &Aliases, &FormsHaveNoNull),
    tags(
        (name = "oauth", description = "OAuth 2.0: tokens, revocation, introspection"),
        (name = "oidc", description = "OpenID Connect: discovery, keys, UserInfo"),
        (name = "sessions", description = "The caller's own sessions, and logout"),
        (name = "admin", description = "Every user's sessions, users, the audit trail (administrators)"),
        (name = "feed", description = "The revocation feed, for resource servers"),
        (name = "ops", description = "Health, readiness, forward authentication, this contract"),
    ),
)]
pub struct ApiDoc;

/// The contract as a server with this issuer and cookie policy serves it:
/// the issuer as its server, the SSO cookie under its configured name.
pub fn document(issuer: &str, cookies: &CookiePolicy) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![Server::new(issuer)]);
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(SSO_COOKIE, sso_cookie(&cookies.session));
    }
    doc
}

/// `GET /api/openapi.json`.
#[utoipa::path(
    get,
    path = PATH,
    tag = "ops",
    summary = "This contract (OpenAPI 3.1)",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")),
)]
pub async fn serve(State(app): State<Arc<App>>) -> impl IntoResponse {
    let doc = document(&app.config.issuer, &app.config.cookies);
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(doc))
}

/// The ways to authenticate: `client_secret_basic` (RFC 6749 §2.3.1; the
/// same credentials may instead come in the form body, `client_secret_post`,
/// which OpenAPI has no scheme for), Bearer access tokens (RFC 6750), and
/// the browser's SSO cookie.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let basic = HttpBuilder::new()
            .scheme(HttpAuthScheme::Basic)
            .description(Some("The client's id and secret, each form-urlencoded (RFC 6749 §2.3.1)"))
            .build();
        components.add_security_scheme(CLIENT_SECRET_BASIC, SecurityScheme::Http(basic));
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some("An access token from the token endpoint (RFC 9068)"))
            .build();
        components.add_security_scheme(BEARER, SecurityScheme::Http(bearer));
        // The default name for an https issuer; `document` puts the
        // configured one.
        components.add_security_scheme(SSO_COOKIE, sso_cookie(&CookiePolicy::new("https://", None).session));
    }
}

fn sso_cookie(name: &str) -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
        name,
        "The browser's SSO cookie; honoured only with an `Origin` of this server or an allowed one",
    )))
}

/// What one handler serves at two paths or two methods, listed for each,
/// with operation ids kept unique: discovery at RFC 8414's path too, and
/// UserInfo's GET and POST.
struct Aliases;

impl Modify for Aliases {
    fn modify(&self, doc: &mut Document) {
        let paths = &mut doc.paths.paths;
        if let Some(mut item) = paths.get(OPENID_CONFIGURATION_PATH).cloned() {
            if let Some(get) = item.get.as_mut() {
                get.operation_id = Some("oauth_authorization_server_metadata".to_owned());
            }
            paths.insert(AUTHORIZATION_SERVER_PATH.to_owned(), item);
        }
        // An operation listed under several methods keeps its id under the
        // first and gets `<id>_<method>` under the others.
        let mut seen = std::collections::HashSet::new();
        for item in paths.values_mut() {
            for (method, operation) in operations(item) {
                if let Some(id) = operation.operation_id.as_mut() {
                    if !seen.insert(id.clone()) {
                        *id = format!("{id}_{method}");
                        seen.insert(id.clone());
                    }
                }
            }
        }
    }
}

/// A form has no null: an optional form body (`Option<Form>` in a path
/// attribute) is listed as the form, not required, rather than as "null or
/// the form".
struct FormsHaveNoNull;

impl Modify for FormsHaveNoNull {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            for (_, operation) in operations(item) {
                let Some(body) = operation.request_body.as_mut() else { continue };
                let Some(form) = body.content.get_mut("application/x-www-form-urlencoded") else { continue };
                if let Some(RefOr::T(Schema::OneOf(one_of))) = &form.schema {
                    if let [only] = one_of.items.iter().filter(|s| !is_null(s)).collect::<Vec<_>>().as_slice() {
                        form.schema = Some((*only).clone());
                    }
                }
            }
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
}

/// The operations of a path item, with their methods' names.
fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
    .collect()
}

/// Every `(method, path)` the contract documents, methods upper-case.
pub fn operations_of(doc: &Document) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let mut item = item.clone();
        for (method, _) in operations(&mut item) {
            out.push((method.to_ascii_uppercase(), path.clone()));
        }
    }
    out
}
