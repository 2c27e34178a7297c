//! What every browser form shares: its body parsed with page errors, the
//! signed double-submit CSRF token and the `Origin` check, the browser's
//! session from its SSO cookie, and redirects.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::cookies;
use super::pages::error_page;
use crate::app::App;
use crate::browser::{csrf, live_session, BrowserSession};
use crate::http::form::OAuthForm;
use crate::secrets;

/// A form body, or an error page.
pub struct PageForm(pub OAuthForm);

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bad = || error_page(StatusCode::BAD_REQUEST, "Cannot continue", "The form could not be read.");
        let body = Bytes::from_request(req, state).await.map_err(|_| bad())?;
        OAuthForm::parse(&body).map(PageForm).map_err(|_| bad())
    }
}

/// A state-changing form from a signed-in browser: its CSRF token and
/// `Origin` checked, its session live (else the login page). Every action
/// of the account and admin pages starts here.
pub struct SignedInForm {
    /// The browser's session and user.
    pub browser: BrowserSession,
    /// The form.
    pub form: OAuthForm,
    /// The request's headers (to render the answer page).
    pub headers: HeaderMap,
}

impl FromRequest<Arc<App>> for SignedInForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let PageForm(form) = PageForm::from_request(req, app).await?;
        check_csrf(app, &headers, &form)?;
        let browser = browser_session(app, &headers).await.ok_or_else(|| see_other("/login"))?;
        Ok(Self { browser, form, headers })
    }
}

/// The CSRF form field for this browser, and the cookie to set when the
/// browser has none yet.
pub fn csrf_field(app: &App, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    let name = &app.config.cookies.csrf;
    match cookies::get(headers, name).filter(|v| !v.is_empty() && v.len() <= 128) {
        Some(value) => (csrf::token(&app.browser_key, value), None),
        None => {
            let value = secrets::random_token(16);
            let cookie = cookies::set(app, name, &value, "Strict", None);
            (csrf::token(&app.browser_key, &value), Some(cookie))
        }
    }
}

/// Refuses a state-changing form that did not come from our own page: the
/// `Origin` (sent by every current browser on a POST) must be this
/// server's, and the form's token must match the CSRF cookie.
pub fn check_csrf(app: &App, headers: &HeaderMap, form: &OAuthForm) -> Result<(), Response> {
    let forged = || {
        error_page(
            StatusCode::FORBIDDEN,
            "Cannot continue",
            "The form expired or did not come from this site. Go back, reload the page and try again.",
        )
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        if origin.as_bytes() != issuer_origin(&app.config.issuer).as_bytes() {
            return Err(forged());
        }
    }
    let cookie = cookies::get(headers, &app.config.cookies.csrf).unwrap_or("");
    let field = form.one("csrf").ok().flatten().unwrap_or("");
    if csrf::verify(&app.browser_key, cookie, field) {
        Ok(())
    } else {
        Err(forged())
    }
}

/// `scheme://host[:port]` of the issuer, as browsers send it in `Origin`.
pub fn issuer_origin(issuer: &str) -> String {
    match url::Url::parse(issuer) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => issuer.to_owned(),
    }
}

/// The browser's live session, if its SSO cookie names one. A store
/// failure counts as no session (the user is asked to sign in again).
pub async fn browser_session(app: &App, headers: &HeaderMap) -> Option<BrowserSession> {
    let cookie = cookies::get(headers, &app.config.cookies.session)?;
    match live_session(app, cookie).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "could not read the browser's session");
            None
        }
    }
}

/// A redirect (303 after a form, so the browser follows with GET).
pub fn see_other(location: &str) -> Response {
    redirect(StatusCode::SEE_OTHER, location)
}

/// A redirect with the given status.
pub fn redirect(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut r = status.into_response();
            r.headers_mut().insert(header::LOCATION, value);
            super::pages::with_page_headers(r)
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "Cannot continue", "The redirect address is not valid."),
    }
}

/// Adds `Set-Cookie` headers to a response.
pub fn with_cookies(mut response: Response, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}
