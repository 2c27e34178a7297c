//! `POST /logout`: end the caller's session, for APIs and single-page apps.
//!
//! The request carries the access token as `Authorization: Bearer`, or —
//! from a page on an allowed origin — the browser's SSO cookie; a cookie
//! alone is honoured only with an `Origin` header naming this server or a
//! configured CORS origin, so another site cannot log the browser out
//! (CSRF). Parameters may come in the query string or a form body:
//! `revoke=token` and `revoke=token_refresh` ask that the access and refresh
//! tokens be revoked too — ending the session already revokes every token of
//! it (its `sid` enters the revocation index and its grants are revoked), so
//! the parameters are accepted for compatibility and change nothing;
//! `cb=none` (the only callback mode) is accepted likewise. Answers 204.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer::Bearer;
use super::context::RequestContext;
use super::error::ApiError;
use super::form::OAuthForm;
use super::openapi::responses::{BadRequest, BearerRejected, Forbidden, PayloadTooLarge, Unavailable};
use super::params::QueryParams;
use crate::app::App;
use crate::domain::{EndReason, SessionId};
use crate::sessions::{end_session, Actor};

/// The parameters of `/logout`, in the query or a form body; accepted for
/// compatibility, they change nothing (ending the session revokes every
/// token of it).
#[derive(utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Never built: it documents what `check_params` reads.
pub struct LogoutParams {
    /// `token` or `token_refresh`, repeatable.
    #[schema(required = false)]
    #[param(required = false)]
    revoke: Vec<RevokeParam>,
    /// The callback mode: `none`.
    #[schema(required = false)]
    #[param(required = false)]
    cb: CallbackParam,
}

/// A value of `revoke`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Documentation only.
pub enum RevokeParam {
    /// The access token.
    Token,
    /// The refresh token as well.
    TokenRefresh,
}

/// A value of `cb`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Documentation only.
pub enum CallbackParam {
    /// No callback.
    None,
}

/// Ends the session of the presented access token or SSO cookie.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "sessions",
    summary = "End the caller's session",
    description = "Ends the session of the Bearer token or, from a page on this server or an \
        allowed origin (the `Origin` header is required), of the SSO cookie: every token of the \
        session, for every application signed in through it, dies at once. Parameters may come \
        in the query or a form body.",
    params(LogoutParams),
    request_body(
        content = Option<LogoutParams>,
        content_type = "application/x-www-form-urlencoded",
        description = "Optional; the same parameters as the query",
    ),
    security(("bearer" = []), ("sso_cookie" = [])),
    responses(
        (status = 204, description = "The session ended; the SSO cookie is cleared"),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn logout(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    query: QueryParams,
    mut parts: Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Unknown query parameters are refused, as on every JSON API.
    query.only(&["revoke", "cb"])?;
    let form = body_params(&parts.headers, &body)?;
    for params in [&query.0, &form] {
        check_params(params)?;
    }
    let (sid, name) = if parts.headers.contains_key(header::AUTHORIZATION) {
        let Bearer(claims) = Bearer::from_request_parts(&mut parts, &app).await?;
        let sid = claims
            .sid
            .as_deref()
            .ok_or_else(|| ApiError::invalid_request("the token belongs to no session (client_credentials)"))?;
        (SessionId::new(sid), claims.username.clone())
    } else {
        let browser = cookie_session(&app, &parts.headers).await?;
        (browser.session.id, Some(browser.user.name))
    };
    let actor = Actor { name, ip: context.ip, user_agent: context.user_agent };
    end_session(&app, &sid, EndReason::Logout, &actor).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    // The cookie names nothing now; let the browser drop it.
    let clear = super::browser::cookies::set(&app, &app.config.cookies.session, "", "Lax", Some(0));
    response.headers_mut().insert(header::SET_COOKIE, clear);
    Ok(response)
}

/// The browser session of the SSO cookie, for a request whose `Origin` is
/// this server or an allowed one (the CSRF check for a cookie-only call).
async fn cookie_session(app: &App, headers: &HeaderMap) -> Result<crate::browser::BrowserSession, ApiError> {
    let allowed = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).is_some_and(|origin| {
        origin == super::browser::issuer_origin(&app.config.issuer)
            || app.config.cors_allowed_origins.iter().any(|o| o == origin)
    });
    let cookie = super::browser::cookies::get(headers, &app.config.cookies.session);
    match cookie {
        None => Err(ApiError::bearer(false, "a Bearer token or the session cookie is required")),
        Some(_) if !allowed => Err(ApiError::forbidden(
            "a request with the session cookie must come from this server or an allowed origin",
        )),
        Some(cookie) => crate::browser::live_session(app, cookie)
            .await?
            .ok_or_else(|| ApiError::bearer(true, "the session has ended")),
    }
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
