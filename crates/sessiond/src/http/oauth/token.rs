//! `POST /oauth2/token` (RFC 6749 §3.2): parse, authenticate the client,
//! hand the typed request to its grant flow, answer §5.1 or §5.2.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::App;
use crate::domain::GrantType;
use crate::grants::{self, authenticate_client, PasswordRequest, RefreshRequest, TokenResponse};
use crate::http::client_auth::presented_client;
use crate::http::context::RequestContext;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::form::OAuthForm;
use crate::secrets::Secret;

/// The token endpoint.
pub async fn token(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<Response, ApiError> {
    let grant_type = parse_grant_type(form.required("grant_type")?)?;
    // Fail closed, as validation does: a node that cannot confirm it has
    // heard of every revocation (a removed client, a disabled user, an
    // ended session) issues nothing.
    if !app.is_current() {
        return Err(ApiError::not_current());
    }
    let presented =
        presented_client(&headers, &form)?.ok_or_else(|| ApiError::invalid_client("client authentication required"))?;
    let client = authenticate_client(&app, &presented).await?;
    let scope = form.one("scope")?;
    let response = match grant_type {
        GrantType::ClientCredentials => grants::client_credentials(&app, &client, scope)?,
        GrantType::Password => {
            let request = PasswordRequest {
                username: form.required("username")?.to_owned(),
                password: Secret::new(form.required("password")?),
                scope: scope.map(str::to_owned),
                context,
            };
            grants::password(&app, &client, request).await?
        }
        GrantType::RefreshToken => {
            let request = RefreshRequest {
                refresh_token: Secret::new(form.required("refresh_token")?),
                scope: scope.map(str::to_owned),
                context,
            };
            grants::refresh(&app, &client, request).await?
        }
        GrantType::AuthorizationCode => return Err(unsupported(GrantType::AuthorizationCode.as_str())),
    };
    Ok(token_response(response))
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
