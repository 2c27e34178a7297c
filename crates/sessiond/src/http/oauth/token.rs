//! `POST /oauth2/token` (RFC 6749 §3.2): the authenticated client's form
//! parsed once into a typed request, handed to its grant flow, answered
//! per §5.1 or §5.2.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::App;
use crate::domain::{GrantType, SignInContext};
use crate::grants::{self, CodeRequest, PasswordRequest, RefreshRequest, TokenRequest, TokenResponse};
use crate::http::client_auth::ClientRequest;
use crate::http::context::RequestContext;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::form::OAuthForm;
use crate::http::openapi::responses::{BadRequest, ClientAuthFailed, PayloadTooLarge, TooManyRequests, Unavailable};
use crate::secrets::Secret;

/// The token endpoint.
#[utoipa::path(
    post,
    path = crate::http::oidc::discovery::TOKEN_PATH,
    tag = "oauth",
    summary = "Token endpoint (RFC 6749 §3.2)",
    description = "Trades a grant for tokens: `authorization_code` (with PKCE), `client_credentials`, \
        `password` or `refresh_token`. The client authenticates with `Authorization: Basic` or with \
        `client_id` and `client_secret` in the body, never both; a public client sends `client_id` alone.",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_secret_basic" = [])),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1)", body = TokenResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = ClientAuthFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn token(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    ClientRequest { client, form }: ClientRequest,
) -> Result<Response, ApiError> {
    let request = parse(&form, context)?;
    // Fail closed, as validation does: a node that cannot confirm it has
    // heard of every revocation (a removed client, a disabled user, an
    // ended session) issues nothing.
    if !app.is_current() {
        return Err(ApiError::not_current());
    }
    Ok(token_response(grants::exchange(&app, &client, request).await?))
}

/// The token request's form, for the contract; the handler reads the form
/// itself (`parse`), once, with the checks `OAuthForm` makes. Which
/// parameters a grant needs: `code` (and `redirect_uri`, `code_verifier`)
/// for `authorization_code`; `username` and `password` for `password`;
/// `refresh_token` for `refresh_token`; `scope` is optional for all but
/// `authorization_code`, which takes the scope of the code. Optional
/// parameters are absent or empty, never null: a form has no null.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Never built: it documents the form `parse` reads.
pub struct TokenForm {
    grant_type: GrantType,
    /// `authorization_code`: the code from the redirect.
    #[schema(required = false)]
    code: String,
    /// `authorization_code`: the `redirect_uri` of the authorization request.
    #[schema(required = false)]
    redirect_uri: String,
    /// `authorization_code`: the PKCE verifier (RFC 7636).
    #[schema(required = false)]
    code_verifier: String,
    /// `password`: the user's name.
    #[schema(required = false)]
    username: String,
    /// `password`: the user's password.
    #[schema(required = false)]
    password: String,
    /// `refresh_token`: the refresh token.
    #[schema(required = false)]
    refresh_token: String,
    /// Space-separated scopes asked for.
    #[schema(required = false)]
    scope: String,
    /// The client (`client_secret_post`, or a public client).
    #[schema(required = false)]
    client_id: String,
    /// The client's secret (`client_secret_post`).
    #[schema(required = false)]
    client_secret: String,
}

/// The form as a typed request: each grant's parameters, checked once.
fn parse(form: &OAuthForm, context: SignInContext) -> Result<TokenRequest, ApiError> {
    let scope = form.one("scope")?.map(str::to_owned);
    match parse_grant_type(form.required("grant_type")?)? {
        GrantType::ClientCredentials => Ok(TokenRequest::ClientCredentials { scope }),
        GrantType::Password => Ok(TokenRequest::Password(PasswordRequest {
            username: form.required("username")?.to_owned(),
            password: Secret::new(form.required("password")?),
            scope,
            context,
        })),
        GrantType::RefreshToken => Ok(TokenRequest::RefreshToken(RefreshRequest {
            refresh_token: Secret::new(form.required("refresh_token")?),
            scope,
            context,
        })),
        GrantType::AuthorizationCode => Ok(TokenRequest::AuthorizationCode(CodeRequest {
            code: Secret::new(form.required("code")?),
            redirect_uri: form.one("redirect_uri")?.map(str::to_owned),
            code_verifier: form.one("code_verifier")?.map(str::to_owned),
            context,
        })),
    }
}

fn parse_grant_type(raw: &str) -> Result<GrantType, ApiError> {
    GrantType::parse(raw).ok_or_else(|| unsupported(raw))
}

fn unsupported(raw: &str) -> ApiError {
    let shown: String = raw.chars().take(64).collect();
    ApiError::new(ErrorCode::UnsupportedGrantType, format!("grant type {shown:?} is not supported"))
}

/// §5.1: "Cache-Control: no-store" and "Pragma: no-cache" on every response
/// that carries tokens.
fn token_response(body: TokenResponse) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
