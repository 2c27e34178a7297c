//! `POST /oauth2/revoke` (RFC 7009).
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{PresentedToken, PresentedTokenForm};
use crate::app::App;
use crate::http::client_auth::ClientRequest;
use crate::http::context::RequestContext;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::openapi::responses::{BadRequest, ClientAuthFailed, PayloadTooLarge, Unavailable};
use crate::revocation::{revoke, RevokeOutcome};
use crate::sessions::Actor;

/// The revocation endpoint. Durable before it answers: the log row is
/// committed, then the index updated, then 200 is sent.
#[utoipa::path(
    post,
    path = crate::http::oidc::discovery::REVOKE_PATH,
    tag = "oauth",
    summary = "Revocation (RFC 7009)",
    description = "Revokes an access token, or a refresh token together with its whole grant. \
        Answers 200 whether or not the token was known; a token issued to another client is \
        refused (`unauthorized_client`).",
    request_body(content = PresentedTokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_secret_basic" = [])),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke (no body)"),
        (status = 400, response = BadRequest),
        (status = 401, response = ClientAuthFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn revoke_token(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    ClientRequest { client, form }: ClientRequest,
) -> Result<Response, ApiError> {
    // §2.1: the client authenticated (public clients by id) before this.
    let presented = PresentedToken::parse(&form)?;
    let actor = Actor { name: Some(format!("client:{}", client.id)), ip: context.ip, user_agent: context.user_agent };
    match revoke(&app, presented.token, Some(&client), &actor).await? {
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
