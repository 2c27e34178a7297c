//! `POST /oauth2/introspect` (RFC 7662).
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sessiond_guard::MAX_TOKEN_BYTES;

use crate::app::App;
use crate::domain::ClientKind;
use crate::grants::authenticate_client;
use crate::http::client_auth::presented_client;
use crate::http::error::ApiError;
use crate::http::form::OAuthForm;
use crate::revocation::{introspect, Asker};

/// The introspection endpoint. For access tokens it reads memory only:
/// client (cached), signature (or the verified-token cache), revocation index.
pub async fn introspect_token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<Response, ApiError> {
    let token = form.required("token")?;
    form.one("token_type_hint")?;
    // §2.1: "the endpoint MUST also require some form of authorization";
    // here, a confidential client's credentials (a resource server).
    let presented =
        presented_client(&headers, &form)?.ok_or_else(|| ApiError::invalid_client("client authentication required"))?;
    let client = authenticate_client(&app, &presented).await?;
    if client.kind != ClientKind::Confidential {
        return Err(ApiError::invalid_client("only confidential clients may introspect tokens"));
    }
    if !app.is_current() {
        return Err(ApiError::not_current());
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ApiError::invalid_request("token too large"));
    }
    let mut response = Json(introspect(&app, token, Asker::Client(&client)).await?).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
