//! The login page (`GET`/`POST /login`) and the consent page
//! (`POST /consent`). A sign-in goes through the same gate as the password
//! grant (throttling per IP and account, bounded hashing, one answer for
//! every refusal), opens a fresh session with a fresh cookie (never
//! reusing an earlier one: no fixation), then carries on with the
//! authorization request it interrupted.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::authorize::{parse_request, unavailable};
use super::cookies;
use super::forms::{browser_session, check_csrf, csrf_field, see_other, with_cookies, PageForm};
use super::pages::{error_page, page};
use crate::app::App;
use crate::browser::{issue_code, next_step, refusal, AuthorizeRequest, BrowserSession, Step};
use crate::domain::{name_hint, AuditEvent, AuditKind, ClientId};
use crate::grants::GrantError;
use crate::http::context::RequestContext;
use crate::secrets::Secret;
use crate::sessions::{open_browser_session, OpenError};

/// The client id recorded on a session signed in directly (for the account
/// page), not on behalf of an application.
pub const ACCOUNT_CLIENT: &str = "account";

/// `GET /login`: sign in to the account page.
pub async fn login_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if browser_session(&app, &headers).await.is_some() {
        return see_other("/account");
    }
    login_page_for(&app, &headers, None, "", None, StatusCode::OK)
}

/// The login form, for `request` (carried as `raw`) or for the account page.
pub fn login_page_for(
    app: &App,
    headers: &HeaderMap,
    request: Option<&AuthorizeRequest>,
    raw: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (csrf, set) = csrf_field(app, headers);
    let client_name = request.map(|r| r.client.name.clone());
    let login_hint = request.and_then(|r| r.login_hint.clone()).unwrap_or_default();
    let response = page(status, "login.html", context! { csrf, request => raw, client_name, login_hint, error });
    with_cookies(response, set)
}

/// `POST /login`.
pub async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RequestContext(context): RequestContext,
    PageForm(form): PageForm,
) -> Response {
    if let Err(forged) = check_csrf(&app, &headers, &form) {
        return forged;
    }
    let raw = form.one("request").ok().flatten().unwrap_or("").to_owned();
    let request = if raw.is_empty() {
        None
    } else {
        match parse_request(&app, &raw).await {
            Ok(r) => Some(r),
            Err(response) => return response,
        }
    };
    let retry = |message: &str, status| login_page_for(&app, &headers, request.as_ref(), &raw, Some(message), status);
    let (Ok(Some(username)), Ok(Some(password))) = (form.one("username"), form.one("password")) else {
        return retry("Enter your user name and password.", StatusCode::BAD_REQUEST);
    };
    let failed = AuditEvent {
        kind: Some(AuditKind::SignInFailed),
        ip: context.ip.clone(),
        user_agent: context.user_agent.clone(),
        client_id: request.as_ref().map(|r| r.client.id.to_string()),
        ..AuditEvent::new(AuditKind::SignInFailed, app.clock.now())
    };
    let ip = context.ip.clone();
    let user = match crate::login::check_credentials(&app, username, Secret::new(password), ip.as_deref()).await {
        Ok(user) => user,
        Err(GrantError::BadCredentials(refusal)) => {
            let known = !matches!(refusal, crate::grants::Refusal::UnknownUser);
            let user_name = Some(if known { username.to_owned() } else { name_hint(username) });
            app.audit(AuditEvent { user_name, detail: Some(refusal.to_string()), ..failed }).await;
            return retry("Invalid user name or password.", StatusCode::BAD_REQUEST);
        }
        Err(GrantError::Throttled { retry_after }) | Err(GrantError::Overloaded { retry_after }) => {
            let secs = retry_after.as_secs().max(1);
            let mut r = retry(
                &format!("Too many sign-in attempts. Wait {secs} seconds, then try again."),
                StatusCode::TOO_MANY_REQUESTS,
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
        Err(GrantError::InvalidRequest(m)) => return retry(&m, StatusCode::BAD_REQUEST),
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            return retry("The server could not check your password; try again.", StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    // A fresh session and a fresh cookie at every sign-in: whatever cookie
    // the browser had before (perhaps planted) names nothing now.
    let cookie = crate::browser::new_cookie();
    let client = request.as_ref().map_or_else(|| ClientId::new(ACCOUNT_CLIENT), |r| r.client.id.clone());
    let signed_in = AuditEvent { kind: Some(AuditKind::SignIn), detail: Some("browser".into()), ..failed };
    let session = match open_browser_session(&app, &user, &client, cookie.hash(), context.clone(), signed_in).await {
        Ok(session) => session,
        Err(OpenError::LimitReached) => {
            return retry("You are signed in on too many devices. Sign out elsewhere first.", StatusCode::FORBIDDEN)
        }
        Err(OpenError::UserDisabled | OpenError::ClientRemoved) => {
            return retry("Invalid user name or password.", StatusCode::BAD_REQUEST)
        }
        Err(OpenError::Store(e)) => return unavailable(&e),
    };
    let max_age = app.session_policy().absolute_timeout.as_secs();
    let set = cookies::set(&app, &app.config.cookies.session, cookie.expose(), "Lax", Some(max_age));
    let browser = BrowserSession { session, user };
    let response = match &request {
        None => see_other("/account"),
        Some(request) => match next_step(&app, request, Some(&browser), true).await {
            Ok(Step::Consent) => consent_page(&app, &headers, request, &raw, Some(&browser), None),
            Ok(Step::Redirect(to)) => see_other(&to),
            Ok(Step::Login) => see_other("/login"),
            Err(e) => unavailable(&e),
        },
    };
    with_cookies(response, [set])
}

/// The consent page for `request`.
pub fn consent_page(
    app: &App,
    headers: &HeaderMap,
    request: &AuthorizeRequest,
    raw: &str,
    browser: Option<&BrowserSession>,
    status: Option<StatusCode>,
) -> Response {
    let (csrf, set) = csrf_field(app, headers);
    let scopes: Vec<&str> = request.scope.iter().collect();
    let user_name = browser.map(|b| b.user.name.clone());
    let ctx = context! { csrf, request => raw, client_name => request.client.name.clone(), scopes, user_name };
    with_cookies(page(status.unwrap_or(StatusCode::OK), "consent.html", ctx), set)
}

/// `POST /consent`: allow (remember it, then issue the code) or deny.
pub async fn consent(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RequestContext(context): RequestContext,
    PageForm(form): PageForm,
) -> Response {
    if let Err(forged) = check_csrf(&app, &headers, &form) {
        return forged;
    }
    let raw = form.one("request").ok().flatten().unwrap_or("").to_owned();
    let request = match parse_request(&app, &raw).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    // The session may have ended since the page was shown.
    let Some(browser) = browser_session(&app, &headers).await else {
        return login_page_for(&app, &headers, Some(&request), &raw, None, StatusCode::OK);
    };
    match form.one("decision").ok().flatten() {
        Some("allow") => {}
        Some("deny") => return see_other(&crate::browser::error_url(&app, &refusal(&request, "access_denied"))),
        _ => return error_page(StatusCode::BAD_REQUEST, "Cannot continue", "Choose Allow or Deny."),
    }
    let now = app.clock.now();
    if let Err(e) = app.store.grant_consent(&browser.user.id, &request.client.id, &request.scope, now).await {
        return unavailable(&e);
    }
    app.audit(AuditEvent {
        actor: Some(browser.user.name.clone()),
        user_id: Some(browser.user.id.to_string()),
        user_name: Some(browser.user.name.clone()),
        client_id: Some(request.client.id.to_string()),
        ip: context.ip,
        user_agent: context.user_agent,
        detail: Some(request.scope.to_string()),
        ..AuditEvent::new(AuditKind::ConsentGranted, now)
    })
    .await;
    match issue_code(&app, &request, &browser).await {
        Ok(to) => see_other(&to),
        Err(e) => unavailable(&e),
    }
}
