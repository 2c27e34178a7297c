//! `POST /oauth2/introspect` (RFC 7662).
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::PresentedToken;
use crate::app::App;
use crate::domain::ClientKind;
use crate::http::client_auth::ClientRequest;
use crate::http::error::ApiError;
use crate::revocation::{introspect, Asker};

/// The introspection endpoint. For access tokens it reads memory only:
/// client (cached), signature (or the verified-token cache), revocation index.
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
