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
/// The authorization endpoint (RFC 6749 §3.1).
pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";
/// The UserInfo endpoint (OpenID Connect Core §5.3).
pub const USERINFO_PATH: &str = "/oauth2/userinfo";
/// RP-Initiated Logout's end_session_endpoint.
pub const END_SESSION_PATH: &str = "/oauth2/logout";

/// Claims sessiond can put in ID tokens and UserInfo answers.
pub const CLAIMS_SUPPORTED: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "at_hash",
    "azp",
    "name",
    "preferred_username",
    "updated_at",
];

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
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "end_session_endpoint": format!("{issuer}{END_SESSION_PATH}"),
        "grant_types_supported": [
            GrantType::AuthorizationCode.as_str(),
            GrantType::ClientCredentials.as_str(),
            GrantType::Password.as_str(),
            GrantType::RefreshToken.as_str(),
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "scopes_supported": crate::browser::authorize::STANDARD_SCOPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [app.keys().signing_key().alg().as_str()],
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        // RFC 9207: every authorization response names its issuer.
        "authorization_response_iss_parameter_supported": true,
        // Back-Channel Logout 1.0 §2.1; logout tokens always carry `sid`.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}

/// `GET /.well-known/openid-configuration` and
/// `GET /.well-known/oauth-authorization-server`.
pub async fn discovery(State(app): State<Arc<App>>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(metadata(&app)))
}
