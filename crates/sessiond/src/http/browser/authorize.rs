//! `GET`/`POST /oauth2/authorize` (RFC 6749 §3.1, OpenID Connect Core
//! §3.1.2): validate, then the login page, the consent page, or straight
//! back to the application with a code when the browser's session allows.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::forms::{browser_session, redirect, PageForm};
use super::login::{consent_page, login_page_for};
use super::pages::error_page;
use crate::app::App;
use crate::browser::{self, next_step, AuthorizeError, AuthorizeParams, AuthorizeRequest, Step};
use crate::http::form::OAuthForm;

/// `GET`: the parameters in the query string.
pub async fn authorize_get(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    authorize(&app, &headers, uri.query().unwrap_or("")).await
}

/// `POST`: the parameters in a form body (§3.1.2.1 allows both).
pub async fn authorize_post(State(app): State<Arc<App>>, headers: HeaderMap, PageForm(form): PageForm) -> Response {
    authorize(&app, &headers, &form.encode()).await
}

async fn authorize(app: &App, headers: &HeaderMap, raw: &str) -> Response {
    let request = match parse_request(app, raw).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let browser = browser_session(app, headers).await;
    match next_step(app, &request, browser.as_ref(), false).await {
        Ok(Step::Login) => login_page_for(app, headers, Some(&request), raw, None, StatusCode::OK),
        Ok(Step::Consent) => consent_page(app, headers, &request, raw, browser.as_ref(), None),
        Ok(Step::Redirect(to)) => redirect(StatusCode::FOUND, &to),
        Err(e) => unavailable(&e),
    }
}

/// The authorization request carried as `raw` (a query string or the
/// login form's hidden field), validated; or the response that refuses it.
pub async fn parse_request(app: &App, raw: &str) -> Result<AuthorizeRequest, Response> {
    let bad = |m: &str| error_page(StatusCode::BAD_REQUEST, "Cannot continue", m);
    let form = OAuthForm::parse(raw.as_bytes()).map_err(|_| bad("The request is malformed."))?;
    let params = params(&form).map_err(|m| bad(&m))?;
    browser::validate(app, params).await.map_err(|e| match e {
        AuthorizeError::Page(message) => bad(&message),
        AuthorizeError::Redirect(r) => redirect(StatusCode::FOUND, &browser::error_url(app, &r)),
    })
}

/// Each parameter at most once (RFC 6749 §3.1).
fn params(form: &OAuthForm) -> Result<AuthorizeParams, String> {
    let one = |name: &str| {
        form.one(name).map(|v| v.map(str::to_owned)).map_err(|_| format!("The parameter {name} is repeated."))
    };
    Ok(AuthorizeParams {
        response_type: one("response_type")?,
        client_id: one("client_id")?,
        redirect_uri: one("redirect_uri")?,
        scope: one("scope")?,
        state: one("state")?,
        nonce: one("nonce")?,
        code_challenge: one("code_challenge")?,
        code_challenge_method: one("code_challenge_method")?,
        prompt: one("prompt")?,
        max_age: one("max_age")?,
        login_hint: one("login_hint")?,
        response_mode: one("response_mode")?,
        request_object: one("request")?.is_some() || one("request_uri")?.is_some(),
    })
}

/// A storage failure while signing someone in: a page, logged once by the
/// request log.
pub fn unavailable(e: &crate::store::StoreError) -> Response {
    tracing::error!(error = %e, "browser sign-in failed");
    error_page(StatusCode::SERVICE_UNAVAILABLE, "Try again", "The server could not complete this step; try again.")
}
