//! `POST /oauth2/introspect` (RFC 7662).
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{PresentedToken, PresentedTokenForm};
use crate::app::App;
use crate::domain::ClientKind;
use crate::http::client_auth::ClientRequest;
use crate::http::error::ApiError;
use crate::http::openapi::responses::{BadRequest, ClientAuthFailed, PayloadTooLarge, Unavailable};
use crate::revocation::Introspection;
use crate::revocation::{introspect, Asker};

/// The introspection endpoint. For access tokens it reads memory only:
/// client (cached), signature (or the verified-token cache), revocation index.
#[utoipa::path(
    post,
    path = crate::http::oidc::discovery::INTROSPECT_PATH,
    tag = "oauth",
    summary = "Introspection (RFC 7662)",
    description = "Whether a token is live, and its metadata if it is. Confidential clients only; a \
        client learns of its own tokens, a resource server of every client's (others are answered \
        `{\"active\": false}`).",
    request_body(content = PresentedTokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_secret_basic" = [])),
    responses(
        (status = 200, description = "The token's state (RFC 7662 §2.2)", body = Introspection),
        (status = 400, response = BadRequest),
        (status = 401, response = ClientAuthFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn introspect_token(
    State(app): State<Arc<App>>,
    ClientRequest { client, form }: ClientRequest,
) -> Result<Response, ApiError> {
    let presented = PresentedToken::parse(&form)?;
    // §2.1: "the endpoint MUST also require some form of authorization";
    // here, a confidential client's credentials. Which tokens it may learn
    // about is §4's concern (`Asker`).
    if client.kind != ClientKind::Confidential {
        return Err(ApiError::invalid_client("only confidential clients may introspect tokens"));
    }
    if !app.is_current() {
        return Err(ApiError::not_current());
    }
    let mut response = Json(introspect(&app, presented.token, Asker::Client(&client)).await?).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
