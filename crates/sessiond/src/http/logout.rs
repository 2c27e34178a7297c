//! `POST /logout`: end the caller's session, for APIs and single-page apps.
//!
//! The request carries the access token as `Authorization: Bearer`;
//! parameters may come in the query string or a form body:
//! `revoke=token` and `revoke=token_refresh` ask that the access and refresh
//! tokens be revoked too — ending the session already revokes every token of
//! it (its `sid` enters the revocation index and its grants are revoked), so
//! the parameters are accepted for compatibility and change nothing;
//! `cb=none` (the only callback mode) is accepted likewise. Answers 204.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer::Bearer;
use super::context::RequestContext;
use super::error::ApiError;
use super::form::OAuthForm;
use super::params::QueryParams;
use crate::app::App;
use crate::domain::{EndReason, SessionId};
use crate::sessions::{end_session, Actor};

/// Ends the session of the presented access token.
pub async fn logout(
    State(app): State<Arc<App>>,
    Bearer(claims): Bearer,
    RequestContext(context): RequestContext,
    QueryParams(query): QueryParams,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = body_params(&headers, &body)?;
    for params in [&query, &form] {
        check_params(params)?;
    }
    let sid = claims
        .sid
        .as_deref()
        .ok_or_else(|| ApiError::invalid_request("the token belongs to no session (client_credentials)"))?;
    let actor = Actor { name: claims.username.clone(), ip: context.ip, user_agent: context.user_agent };
    end_session(&app, &SessionId::new(sid), EndReason::Logout, &actor).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A form body if one was sent; an empty body is no parameters.
fn body_params(headers: &HeaderMap, body: &[u8]) -> Result<OAuthForm, ApiError> {
    if body.is_empty() {
        return Ok(OAuthForm::default());
    }
    let is_form = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !is_form {
        return Err(ApiError::invalid_request("a body must be application/x-www-form-urlencoded"));
    }
    OAuthForm::parse(body)
}

fn check_params(params: &OAuthForm) -> Result<(), ApiError> {
    for value in params.all("revoke") {
        if !matches!(value, "token" | "token_refresh") {
            return Err(ApiError::invalid_request("revoke must be token or token_refresh"));
        }
    }
    match params.one("cb")? {
        None | Some("none") => Ok(()),
        Some(_) => Err(ApiError::invalid_request("cb must be none")),
    }
}
