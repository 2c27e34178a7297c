//! `POST /oauth2/revoke` (RFC 7009).
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sessiond_guard::MAX_TOKEN_BYTES;

use crate::app::App;
use crate::grants::authenticate_client;
use crate::http::client_auth::presented_client;
use crate::http::context::RequestContext;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::form::OAuthForm;
use crate::revocation::{revoke, RevokeOutcome, TokenHint};
use crate::sessions::Actor;

/// The revocation endpoint. Durable before it answers: the log row is
/// committed, then the index updated, then 200 is sent.
pub async fn revoke_token(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<Response, ApiError> {
    let token = form.required("token")?;
    // §2.1: the hint is optional and may be ignored; a malformed one is
    // tolerated the same way.
    let _hint = form.one("token_type_hint")?.and_then(TokenHint::parse);
    // §2.1: the client authenticates (public clients by id).
    let presented =
        presented_client(&headers, &form)?.ok_or_else(|| ApiError::invalid_client("client authentication required"))?;
    let client = authenticate_client(&app, &presented).await?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ApiError::invalid_request("token too large"));
    }
    let actor = Actor { name: Some(format!("client:{}", client.id)), ip: context.ip, user_agent: context.user_agent };
    match revoke(&app, token, Some(&client), &actor).await? {
        // §2.2: 200 whether or not there was anything to revoke.
        RevokeOutcome::Revoked | RevokeOutcome::NothingToDo => {
            Ok((StatusCode::OK, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]).into_response())
        }
        // §2.1: a token issued to another client is not revoked and the
        // request is refused.
        RevokeOutcome::OtherClient => {
            Err(ApiError::new(ErrorCode::UnauthorizedClient, "the token was issued to another client"))
        }
    }
}
