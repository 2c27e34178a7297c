//! Discovery (OpenID Connect Discovery 1.0 §3, RFC 8414 §2): what this
//! server offers, and nothing it does not.
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use crate::app::App;
use crate::domain::GrantType;

/// OpenID Connect Discovery's metadata document.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
/// RFC 8414's metadata document (the same one).
pub const AUTHORIZATION_SERVER_PATH: &str = "/.well-known/oauth-authorization-server";

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

/// The metadata document, served at both well-known paths. Every field is
/// always present: this is what the server offers, whatever its
/// configuration, apart from the issuer and the signing algorithm.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Metadata {
    /// The issuer (`iss` of every token).
    pub issuer: String,
    /// RFC 6749 token endpoint.
    pub token_endpoint: String,
    /// The JWK Set.
    pub jwks_uri: String,
    /// RFC 7009 revocation endpoint.
    pub revocation_endpoint: String,
    /// How clients authenticate there.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 7662 introspection endpoint.
    pub introspection_endpoint: String,
    /// How clients authenticate there.
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 6749 authorization endpoint.
    pub authorization_endpoint: String,
    /// OpenID Connect UserInfo endpoint.
    pub userinfo_endpoint: String,
    /// RP-Initiated Logout endpoint.
    pub end_session_endpoint: String,
    /// Grant types.
    pub grant_types_supported: Vec<&'static str>,
    /// How clients authenticate at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Always `code`.
    pub response_types_supported: Vec<&'static str>,
    /// Always `query`.
    pub response_modes_supported: Vec<&'static str>,
    /// PKCE methods: `S256`.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `prompt` values.
    pub prompt_values_supported: Vec<&'static str>,
    /// Scopes every client may ask for (clients may be given more).
    pub scopes_supported: Vec<&'static str>,
    /// Always `public`.
    pub subject_types_supported: Vec<&'static str>,
    /// The algorithm of the current signing key.
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// Claims sessiond can put in ID tokens and UserInfo answers.
    pub claims_supported: Vec<&'static str>,
    /// `false`.
    pub claims_parameter_supported: bool,
    /// `false`.
    pub request_parameter_supported: bool,
    /// `false`.
    pub request_uri_parameter_supported: bool,
    /// RFC 9207: every authorization response names its issuer.
    pub authorization_response_iss_parameter_supported: bool,
    /// Back-Channel Logout 1.0 §2.1.
    pub backchannel_logout_supported: bool,
    /// Logout tokens always carry `sid`.
    pub backchannel_logout_session_supported: bool,
}

/// The metadata document of this server.
pub fn metadata(app: &App) -> Metadata {
    let issuer = &app.config.issuer;
    Metadata {
        issuer: issuer.clone(),
        token_endpoint: format!("{issuer}{TOKEN_PATH}"),
        jwks_uri: format!("{issuer}{JWKS_PATH}"),
        revocation_endpoint: format!("{issuer}{REVOKE_PATH}"),
        revocation_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "none"],
        introspection_endpoint: format!("{issuer}{INTROSPECT_PATH}"),
        introspection_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
        authorization_endpoint: format!("{issuer}{AUTHORIZE_PATH}"),
        userinfo_endpoint: format!("{issuer}{USERINFO_PATH}"),
        end_session_endpoint: format!("{issuer}{END_SESSION_PATH}"),
        grant_types_supported: vec![
            GrantType::AuthorizationCode.as_str(),
            GrantType::ClientCredentials.as_str(),
            GrantType::Password.as_str(),
            GrantType::RefreshToken.as_str(),
        ],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "none"],
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query"],
        code_challenge_methods_supported: vec!["S256"],
        prompt_values_supported: vec!["none", "login", "consent", "select_account"],
        scopes_supported: crate::browser::authorize::STANDARD_SCOPES.to_vec(),
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: vec![app.keys().signing_key().alg().as_str()],
        claims_supported: CLAIMS_SUPPORTED.to_vec(),
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        authorization_response_iss_parameter_supported: true,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
    }
}

/// `GET /.well-known/openid-configuration` and
/// `GET /.well-known/oauth-authorization-server` (the contract lists the
/// second as a copy of the first: `openapi::Aliases`).
#[utoipa::path(
    get,
    path = OPENID_CONFIGURATION_PATH,
    tag = "oidc",
    summary = "Discovery (OpenID Connect Discovery 1.0 §3, RFC 8414 §2)",
    description = "What this server offers and where: endpoints, grant types, scopes, algorithms.",
    responses((status = 200, description = "The metadata document", body = Metadata)),
)]
pub async fn discovery(State(app): State<Arc<App>>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(metadata(&app)))
}
