//! Discovery (OpenID Connect Discovery 1.0 §3, RFC 8414 §2): what this
//! server offers, and nothing it does not.
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::GrantType;

/// Paths of the endpoints, relative to the issuer.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// The JWK Set.
pub const JWKS_PATH: &str = "/jwks.json";
/// RFC 7009 revocation.
pub const REVOKE_PATH: &str = "/oauth2/revoke";
/// RFC 7662 introspection.
pub const INTROSPECT_PATH: &str = "/oauth2/introspect";

/// The metadata document, served at both well-known paths.
pub fn metadata(app: &App) -> Value {
    let issuer = &app.config.issuer;
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOKE_PATH}"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": format!("{issuer}{INTROSPECT_PATH}"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": [
            GrantType::ClientCredentials.as_str(),
            GrantType::Password.as_str(),
            GrantType::RefreshToken.as_str(),
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        // No authorization endpoint yet, so no response type is offered.
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [app.keys().signing_key().alg().as_str()],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "sid"],
    })
}

/// `GET /.well-known/openid-configuration` and
/// `GET /.well-known/oauth-authorization-server`.
pub async fn discovery(State(app): State<Arc<App>>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(metadata(&app)))
}
